"""The files engine: photos through a Pipeline, files in, files out; ``pixelsmith run TASK IN_DIR
OUT_DIR``: every image of a folder tree, resumable, on one or N ranks.

    IN_DIR/a/b.jpg -> task.read_file -> model -> task.decode -> OUT_DIR/a/b<task suffix>.png

:func:`plan_tree` lists the tree (:func:`~pixelsmith.io.list_images`), mirrors every name into
OUT_DIR with the suffix ``pixelsmith upscale`` appends (``b_x3.png``), leaves out earlier results
found among the inputs and refuses clashes before any work. :func:`run_tree` takes this rank's
share (:func:`shard_of`), skips every output already there and complete, loads the model once and
restores the rest, decoding and encoding on threads beside the model. A bad file is reported as a
:class:`RunEvent` and the run goes on; what was done, skipped and failed comes back in a
:class:`RunReport` and goes to the run's own record ``OUT_DIR/pixelsmith-run.TIME.json``. The
click command ``pixelsmith run`` is :mod:`pixelsmith.commands.run` (under torchrun:
``python -m pixelsmith.cli run``, docs/batch.md).

plan.py     names, listing, shares (plan_files for the verbs, plan_tree for a tree)
marks.py    which files are pixelsmith's results, and whether one stands for this run
run.py      restore_files and run_tree: one engine, threads, events, the report
ranks.py    torchrun's ranks, their devices, the combined summary
command.py  the click command (a subcommand per task; the flags: pixelsmith.options)
"""

from __future__ import annotations

from pixelsmith.batch.plan import SUMMARY_NAME, Job, Plan, mirror, plan_files, plan_tree, shard_of
from pixelsmith.batch.run import RunEvent, RunInterrupted, RunReport, restore_files, run_tree

__all__ = [
    "SUMMARY_NAME",
    "Job",
    "Plan",
    "RunEvent",
    "RunInterrupted",
    "RunReport",
    "mirror",
    "plan_files",
    "plan_tree",
    "restore_files",
    "run_tree",
    "shard_of",
]
