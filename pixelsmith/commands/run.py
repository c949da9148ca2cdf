"""The click command ``pixelsmith run TASK IN_DIR OUT_DIR``: arguments, lines, exit status.

A subcommand per registered task, by its name or its verb (``run upscale`` is ``run superres``),
with the same flags as the task's verb (:mod:`pixelsmith.commands.restore`).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from pixelsmith.batch.plan import run_stamp, summary_path
from pixelsmith.batch.ranks import combine, meeting, rank_device, ranks_from_env
from pixelsmith.batch.run import RunEvent, RunInterrupted, check_rank, run_tree, write_summary
from pixelsmith.commands.tasks import TaskGroup, summary
from pixelsmith.errors import PixelsmithError
from pixelsmith.options import add_params, parse_options, run_flags


def _line(s: dict[str, Any]) -> str:
    return f"{s['done']} done, {s['skipped']} skipped, {s['failed']} failed in {s['seconds']:.1f} s"


def opt_option(fn):
    """``--opt KEY=VALUE``: the deprecated spelling of a task option's flag."""
    return click.option(
        "--opt",
        "opts",
        multiple=True,
        metavar="KEY=VALUE",
        help="A task option as KEY=VALUE (repeatable; deprecated: the flags above say the same).",
    )(fn)


def task_options_given(ctx: click.Context, task: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(options, inputs)`` from the task's flags and ``--opt`` (a key given both ways is a
    usage error)."""
    from pixelsmith.commands.restore import split_given
    from pixelsmith.tasks import task_class

    options, inputs = split_given(ctx, task)
    old = parse_options(task_class(task), ctx.params.get("opts", ()))
    twice = sorted(set(old) & set(options))
    if twice:
        raise click.BadParameter(f"{twice[0]} is given twice", param_hint="--opt")
    return {**options, **old}, inputs


def _shared_params() -> list[click.Parameter]:
    @click.command()
    @click.argument("in_dir", type=click.Path(path_type=Path))
    @click.argument("out_dir", type=click.Path(path_type=Path))
    @opt_option
    @run_flags(what="a file's result")
    @click.option(
        "--overwrite",
        is_flag=True,
        help="Redo every file (default: skip outputs already complete).",
    )
    @click.option(
        "--workers",
        type=click.IntRange(min=1),
        default=2,
        show_default=True,
        help="Threads that decode inputs, and threads that encode results, beside the model.",
    )
    @click.option(
        "--distributed",
        is_flag=True,
        help="Take this rank's share of the files: RANK and WORLD_SIZE from torchrun's environment.",
    )
    @click.option("--rank", type=click.IntRange(min=0), default=None, help="This rank (0 .. N-1).")
    @click.option(
        "--world-size", type=click.IntRange(min=1), default=None, help="The number of ranks N."
    )
    def shared(**kwargs: Any) -> None:
        pass

    return shared.params


def run_task_command(task: str, name: str) -> click.Command:
    """``pixelsmith run TASK IN_DIR OUT_DIR`` for the registered task ``task``."""
    from pixelsmith.commands.restore import model_help, task_params

    @click.pass_context
    def callback(ctx: click.Context, **_: Any) -> None:
        options, inputs = task_options_given(ctx, task)
        run_files(task, options, inputs, **{k: ctx.params[k] for k in _RUN_KEYS})

    command = click.Command(
        name,
        callback=callback,
        params=_shared_params(),
        help=f"Run {task} on every image below IN_DIR, writing the mirrored tree OUT_DIR.\n\n"
        f"{summary(task)}\n\n" + _TREE_HELP,
        short_help=f"Run {task} on a folder tree.",
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    next(p for p in command.params if p.name == "model").help = model_help(task)
    return add_params(command, task_params(task))


_RUN_KEYS = (
    "in_dir", "out_dir", "model", "weights", "distributed", "rank", "world_size", "quiet",
    "device", "tile", "bf16", "backend", "max_output_pixels", "overwrite", "workers",
)  # fmt: skip

_TREE_HELP = """IN_DIR/a/b.jpg becomes OUT_DIR/a/b<suffix>.png (b_x3.png for x3 super-resolution).
OUT_DIR is created if the folder above it exists. Outputs that an earlier run made with the same
model, options and input are skipped, so rerunning the command after a kill or a crash finishes
the job without redoing a file; results of another model or options, or of an input since
replaced, are redone. A file at an output's name that pixelsmith did not write is never replaced.
A bad file is reported and the run goes on; the exit status is 1 if any file failed. Each run's
record (counts and every failure) is kept in OUT_DIR/pixelsmith-run.TIME.json.

With --distributed (or --rank and --world-size) each of N ranks takes about 1/N of the files;
launch it with torchrun on one or several machines (docs/batch.md)."""


@click.group(
    "run",
    cls=TaskGroup,
    make=run_task_command,
    subcommand_metavar="TASK IN_DIR OUT_DIR [OPTIONS]",
    context_settings={"help_option_names": ["-h", "--help"]},
)
def run_command() -> None:
    """Run TASK (a task's name or its verb: superres or upscale) on every image below IN_DIR,
    writing the mirrored tree OUT_DIR; resumable, on one or N ranks. The options are the task
    verb's: pixelsmith run TASK --help."""


def run_files(
    task: str,
    options: dict[str, Any],
    inputs: dict[str, Any],
    *,
    in_dir: Path,
    out_dir: Path,
    model: str | None,
    weights: str | None,
    distributed: bool,
    rank: int | None,
    world_size: int | None,
    quiet: bool,
    device: str,
    **kwargs: Any,
) -> None:
    """The run once its arguments are parsed: ranks, devices, then :func:`_run`."""
    from pixelsmith.resolver import with_weights

    if (rank is None) != (world_size is None):
        raise click.UsageError("give --rank and --world-size together")
    try:
        model = with_weights(model, weights)
        local_rank, from_env = 0, rank is None
        if rank is None and distributed:
            rank, world_size, local_rank = ranks_from_env()
        elif rank is None:
            rank, world_size = 0, 1
        check_rank(rank, world_size)
        if world_size > 1:
            device = rank_device(device, local_rank)
        meet = distributed and world_size > 1 and from_env
        kwargs = {**kwargs, "inputs": inputs or None}
        _run(task, in_dir, out_dir, model, options, rank, world_size, quiet, device, meet, kwargs)
    except PixelsmithError as e:
        click.echo(f"pixelsmith: error: {e}", err=True)
        sys.exit(1)


def _run(
    task: str,
    in_dir: Path,
    out_dir: Path,
    model: str | None,
    options: dict[str, Any],
    rank: int,
    world_size: int,
    quiet: bool,
    device: str,
    meet: bool,
    kwargs: dict[str, Any],
) -> None:
    """``run_command`` once the arguments are checked: the run, its lines, the combined summary
    (``meet``: the ranks came from torchrun, whose store they meet at)."""
    who = f" (rank {rank} of {world_size})" if world_size > 1 else ""

    def said(event: RunEvent) -> None:
        if event.kind == "failed":
            click.echo(f"pixelsmith: error: {event.message}", err=True)

    try:
        report = run_tree(
            task, in_dir, out_dir, model,
            device=device, rank=rank, world_size=world_size,
            progress=False if quiet else None, on_event=said, **kwargs, **options,
        )  # fmt: skip
    except RunInterrupted as e:
        r = e.report
        click.echo(
            f"pixelsmith run{who}: interrupted after {len(r.done)} done, {len(r.skipped)} "
            f"skipped, {len(r.failed)} failed; run the same command again to finish",
            err=True,
        )
        sys.exit(130)
    for p in report.left_out[:1]:
        click.echo(
            f"pixelsmith: note: {len(report.left_out)} results of earlier runs are in IN_DIR "
            f"and were left out ({p}, ...)",
            err=True,
        )
    mine = report.counts()
    click.echo(f"pixelsmith run{who}: {_line(mine)}", err=True)
    failed = not report.ok
    if meet:
        with meeting(mine, world_size) as everyone:
            if everyone is not None:
                total = combine(everyone)
                failed = total["failed"] > 0  # every rank exits as the whole run did
                if rank == 0:
                    write_summary(summary_path(out_dir, 0, 1, run_stamp()), total)
                    click.echo(f"pixelsmith run (all {world_size} ranks): {_line(total)}", err=True)
    if failed:
        sys.exit(1)
