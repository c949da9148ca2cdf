"""The files engine: every run of files through a Pipeline, reading and writing beside the model.

    restore_files  photos named (files, folders, globs) -> results beside them or in --out
    run_tree       a folder tree -> the mirrored tree OUT_DIR; one rank's share; resumable

    reader threads: pipe.read(next files)  ->  main thread: pipe.run  ->  writer threads: pipe.write

At most ``prefetch`` decoded inputs wait for the model and ``prefetch`` results wait to be
written, so memory stays bounded whatever the tree's size; events are reported in the calling
thread. Resuming is safe because every output is written atomically (:mod:`pixelsmith.io.atomic`:
a temporary ``.NAME.PID-HOST.RANDOM.tmp`` beside the target, fsynced, then linked onto the name),
so a killed run leaves at most temporary files, which never carry an output's name and are swept
from every output folder before the work starts. Every result carries a mark
(:mod:`pixelsmith.batch.marks`): a file at an output's name is replaced only if it carries one;
``run_tree`` skips it only if its mark matches this run's model, options and input and it decodes
fully, and redoes it otherwise.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pixelsmith.batch import marks
from pixelsmith.batch.plan import (
    Job,
    Plan,
    plan_files,
    plan_tree,
    run_stamp,
    shard_of,
    summary_path,
)
from pixelsmith.errors import PixelsmithError

if TYPE_CHECKING:  # the engine loads torch only when a run starts (``pixelsmith --help`` does not)
    from pixelsmith.pipeline import Pipeline


@dataclass(frozen=True)
class RunEvent:
    """What happened to one file: ``kind`` is ``"done"``, ``"skipped"`` (its output was already
    complete) or ``"failed"`` (``message`` says why, in one line naming the file)."""

    kind: str
    source: Path
    target: Path
    message: str = ""


@dataclass
class RunReport:
    """What a run did: ``done`` (outputs written), ``skipped`` (outputs an earlier run made
    already), ``failed`` (inputs, each with its one-line reason), ``left_out`` (earlier results
    found among the inputs); for one rank of :func:`run_tree`, ``share``: the files it was
    given; ``record``: the summary file written (a tree run)."""

    rank: int = 0
    world_size: int = 1
    share: int = 0
    done: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)
    left_out: list[Path] = field(default_factory=list)
    seconds: float = 0.0
    finished: bool = False
    record: Path | None = None

    @property
    def ok(self) -> bool:
        return not self.failed

    def counts(self) -> dict[str, Any]:
        """The JSON-ready summary: counts, seconds and every failure."""
        return {
            "rank": self.rank,
            "world_size": self.world_size,
            "share": self.share,
            "done": len(self.done),
            "skipped": len(self.skipped),
            "failed": len(self.failed),
            "left_out": len(self.left_out),
            "seconds": round(self.seconds, 3),
            "finished": self.finished,
            "failures": [{"path": str(p), "message": m} for p, m in self.failed],
        }


class RunInterrupted(KeyboardInterrupt):
    """A :func:`run_tree` stopped by Ctrl-C (or an ``on_event`` that raised KeyboardInterrupt);
    ``report`` holds what was finished. Results already computed were written first."""

    def __init__(self, report: RunReport) -> None:
        super().__init__("interrupted")
        self.report = report


def check_rank(rank: int, world_size: int) -> None:
    if world_size < 1 or not 0 <= rank < world_size:
        raise PixelsmithError(
            f"rank {rank} of world size {world_size}: the rank must be 0 .. world size - 1"
        )


def _make_out_dir(out_dir: Path) -> None:
    """Create OUT_DIR if the folder above it exists (a mistyped path above it is an error)."""
    from pixelsmith.io.reasons import _os_reason

    if out_dir.is_dir():
        return
    if out_dir.exists():
        raise PixelsmithError("OUT_DIR is not a folder", out_dir)
    if not out_dir.parent.is_dir():
        raise PixelsmithError(f"the folder above OUT_DIR does not exist: {out_dir.parent}", out_dir)
    try:
        out_dir.mkdir(exist_ok=True)
    except OSError as e:
        raise PixelsmithError(f"cannot create the output folder: {_os_reason(e)}", out_dir) from e


def _ready_folders(share: list[Job], todo: list[Job]) -> None:
    """Sweep the temporary files of killed runs from every output folder of ``share``; create
    the folders of ``todo`` and check that each takes a file now (an unwritable OUT_DIR fails
    before the model runs)."""
    from pixelsmith.io import check_writable, remove_stale_temps
    from pixelsmith.io.reasons import _os_reason

    for folder in dict.fromkeys(j.target.parent for j in share):
        remove_stale_temps(folder)  # a folder that does not exist yet: nothing to do
    for folder in dict.fromkeys(j.target.parent for j in todo):
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise PixelsmithError(
                f"cannot create the output folder: {_os_reason(e)}", folder
            ) from e
        # the folder, not a file: a folder at one output's name is that file's failure
        check_writable(folder / "pixelsmith-probe.png", overwrite=True)


def failure_message(src: Path, e: BaseException) -> str | None:
    """The one-line report of a file that failed with ``e``, or ``None`` if ``e`` is a bug (it
    keeps its traceback): a :class:`PixelsmithError`, or running out of memory on any device."""
    if isinstance(e, PixelsmithError):
        return str(e) if e.path else f"{src}: {e}"
    if isinstance(e, MemoryError):
        return f"{src}: out of memory (try a smaller --tile)"
    if isinstance(e, RuntimeError):  # torch's out-of-memory errors on any device
        text = str(e).lower()
        if "out of memory" in text or "alloc" in text:
            return f"{src}: out of memory (try a smaller --tile)"
    return None


def _pipeline_of(task: Any, model: Any, inputs: dict[str, Any] | None, **load: Any) -> Pipeline:
    """``task`` if it is a Pipeline already (``model`` and the loading settings must not be
    given then), else one loaded; its per-photo ``inputs`` are checked by name."""
    from pixelsmith.pipeline import Pipeline

    if isinstance(task, Pipeline):
        if model is not None or load.get("options"):
            raise ValueError("give the model and the options to Pipeline.load, not beside it")
        pipe = task
    else:
        options = load.pop("options")
        pipe = Pipeline.load(task, model, **load, **options)
    pipe.check_inputs(inputs or {})
    return pipe


FOREIGN_MESSAGE = "exists and was not written by pixelsmith (it has no mark); it is never replaced"
UNREADABLE = "unreadable"  # a job whose input cannot be read for its fingerprint


@contextmanager
def _pools(workers: int) -> Iterator[tuple[ThreadPoolExecutor, ThreadPoolExecutor]]:
    """Reader and writer threads; on the way out, reads not started are cancelled and writes
    under way are finished (a computed result is never thrown away)."""
    readers = ThreadPoolExecutor(workers, thread_name_prefix="pixelsmith-read")
    writers = ThreadPoolExecutor(workers, thread_name_prefix="pixelsmith-write")
    try:
        yield readers, writers
    finally:
        readers.shutdown(wait=True, cancel_futures=True)
        writers.shutdown(wait=True)


def restore_files(
    paths: str | Path | list[str | Path],
    task: str | Any,
    model: Any = None,
    *,
    inputs: dict[str, Any] | None = None,
    out: str | Path | None = None,
    overwrite: bool = False,
    tile: int | None = None,
    device: str = "auto",
    bf16: bool = False,
    max_output_pixels: int | None = None,
    backend: str | None = None,
    workers: int = 2,
    progress: bool | None = None,
    on_event: Callable[[RunEvent], None] | None = None,
    **options: Any,
) -> RunReport:
    """Run ``task`` on every image named by ``paths`` (a file, folder or glob, or a list of
    them); results beside them (``NAME<suffix>.png``) or in ``out`` (a folder, or a file for
    one input).

    Args:
        task: a task name (with its ``options``), a task, or a :class:`~pixelsmith.pipeline.Pipeline`.
        inputs: the other per-photo inputs the task declares, the same for every photo
            (``{"mask": "hole.png"}``), read once before any work.
        overwrite: replace results already there (only files pixelsmith wrote: a file without
            a mark is never replaced); without it an existing output is refused before any work.
        progress: a progress bar on stderr (``None``: when stderr is a terminal).
        on_event: called with a :class:`RunEvent` per file, in this thread.
        model, tile, device, bf16, max_output_pixels, backend: as :meth:`Pipeline.load`.

    Alpha is carried by the task, grey stays grey, 16-bit inputs give 16-bit PNG/TIFF outputs.
    Problems with the run as a whole (no inputs, a clash, an output that exists, the model)
    raise :class:`PixelsmithError` before any work; a problem with one file is an event.
    """
    from pixelsmith.io import check_writable, list_images

    pipe = _pipeline_of(
        task, model, inputs, options=options, tile=tile, device=device, bf16=bf16,
        max_output_pixels=max_output_pixels, backend=backend,
    )  # fmt: skip
    listed = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    files = list_images([os.fspath(p) for p in listed], extensions=pipe.task.input_extensions)
    protect = _named_files(inputs)
    plan = plan_files(files, out, pipe.task.output_suffix(), pipe.task.name, protect)
    for job in plan.jobs:
        state = marks.target_state(job.target)
        if state == marks.FOREIGN and overwrite:
            raise PixelsmithError(FOREIGN_MESSAGE, job.target)
        check_writable(job.target, overwrite=overwrite, inputs=(job.source, *protect))
    read_inputs = pipe.read_inputs(**(inputs or {}))
    report = RunReport(share=len(plan.jobs), left_out=plan.left_out)
    t0 = time.perf_counter()
    _run_jobs(
        pipe, plan.jobs, report, read_inputs, inputs or {}, protect,
        replace=overwrite, workers=workers, progress=progress, on_event=on_event,
    )  # fmt: skip
    report.seconds, report.finished = time.perf_counter() - t0, True
    return report


def run_tree(
    task: str | Any,
    in_dir: str | Path,
    out_dir: str | Path,
    model: Any = None,
    *,
    inputs: dict[str, Any] | None = None,
    tile: int | None = None,
    device: str = "auto",
    bf16: bool = False,
    backend: str | None = None,
    max_output_pixels: int | None = None,
    overwrite: bool = False,
    workers: int = 2,
    prefetch: int | None = None,
    rank: int = 0,
    world_size: int = 1,
    progress: bool | None = None,
    on_event: Callable[[RunEvent], None] | None = None,
    **options: Any,
) -> RunReport:
    """Run ``task`` on every image below ``in_dir``; results in the mirrored tree ``out_dir``.

    Args:
        task: a task name (with its ``options``), a task, or a :class:`~pixelsmith.pipeline.Pipeline`.
        inputs: the other per-photo inputs the task declares (``{"mask": "hole.png"}``).
        overwrite: redo every file; by default a result whose mark matches this run (model,
            weights, options, input) and that decodes fully is skipped, and any other result
            pixelsmith wrote there is redone. A file without a mark is never replaced (that
            file fails, in one line).
        workers: reader threads and writer threads (each).
        prefetch: decoded inputs waiting for the model, and results waiting to be written, at
            most (default ``2 * workers``): memory stays bounded whatever the tree's size.
        rank, world_size: this process takes the files :func:`shard_of` gives ``rank``.
        progress: a progress bar with ETA on stderr (``None``: when stderr is a terminal).
        on_event: called in this thread with a :class:`RunEvent` per file.
        model, tile, device, bf16, max_output_pixels, backend: as :meth:`Pipeline.load`.

    Problems with the run as a whole (the folders, a clash, the model, the options) raise
    :class:`PixelsmithError` before any work; a problem with one file is an event, and the next
    file follows. Ctrl-C raises :class:`RunInterrupted` after writing the results computed. The
    run's record (counts and every failure) is ``OUT_DIR/pixelsmith-run.<time>.json``, one per
    run.
    """
    t0 = time.perf_counter()
    check_rank(rank, world_size)
    if workers < 1:
        raise ValueError(f"workers must be at least 1, not {workers}")
    pipe = _pipeline_of(
        task, model, inputs, options=options, tile=tile, device=device, bf16=bf16,
        max_output_pixels=max_output_pixels, backend=backend,
    )  # fmt: skip
    protect = _named_files(inputs)
    read_inputs = pipe.read_inputs(**(inputs or {}))
    t = pipe.task
    plan: Plan = plan_tree(in_dir, out_dir, t.output_suffix(), t.input_extensions, t.name)
    _make_out_dir(Path(out_dir))
    share = [j for j in plan.jobs if shard_of(j.rel, world_size) == rank]
    report = RunReport(rank, world_size, len(share), left_out=plan.left_out)
    report.record = summary_path(Path(out_dir), rank, world_size, run_stamp())
    write_summary(report.record, report.counts())  # also marks OUT_DIR as results for listings
    try:
        _run_jobs(
            pipe, share, report, read_inputs, inputs or {}, protect,
            replace=overwrite, resume=not overwrite, workers=workers, prefetch=prefetch,
            progress=progress, on_event=on_event,
        )  # fmt: skip
    except KeyboardInterrupt:
        report.seconds = time.perf_counter() - t0
        write_summary(report.record, report.counts())
        raise RunInterrupted(report) from None
    report.seconds, report.finished = time.perf_counter() - t0, True
    write_summary(report.record, report.counts())
    return report


def _named_files(inputs: dict[str, Any] | None) -> tuple[Path, ...]:
    """The files among the per-photo inputs (a mask's path): inputs, never outputs."""
    return tuple(Path(v) for v in (inputs or {}).values() if isinstance(v, (str, os.PathLike)))


def _run_jobs(
    pipe: Pipeline,
    jobs: list[Job],
    report: RunReport,
    read_inputs: dict[str, Any],
    given_inputs: dict[str, Any],
    protect: tuple[Path, ...],
    *,
    replace: bool,
    resume: bool = False,
    workers: int = 2,
    prefetch: int | None = None,
    progress: bool | None = None,
    on_event: Callable[[RunEvent], None] | None = None,
) -> None:
    """``jobs`` through ``pipe``, into ``report``: with ``resume``, a result whose mark matches
    is skipped; a file without a mark at an output's name fails; every other one is (re)done."""
    from tqdm import tqdm

    from pixelsmith.io.mark import fingerprint
    from pixelsmith.io.reasons import _os_reason

    prefetch = 2 * workers if prefetch is None else prefetch
    if prefetch < 1:
        raise ValueError(f"prefetch must be at least 1, not {prefetch}")
    bar = tqdm(
        total=0,
        unit="image",
        dynamic_ncols=True,
        disable=not (sys.stderr.isatty() if progress is None else progress) or len(jobs) < 2,
        file=sys.stderr,
    )

    def emit(kind: str, job: Job, message: str = "", tell: bool = True) -> None:
        if kind == "failed":
            report.failed.append((job.source, message))
        else:
            (report.done if kind == "done" else report.skipped).append(job.target)
        bar.update(1)
        if on_event and tell:
            with tqdm.external_write_mode(file=sys.stderr):  # lines go above the bar
                on_event(RunEvent(kind, job.source, job.target, message))

    def state(job: Job) -> tuple[str, str]:
        try:
            fp = fingerprint(job.source, given_inputs) if resume else ""
        except OSError as e:  # an input that cannot be read: that file fails, the run goes on
            return UNREADABLE, f"{job.source}: cannot read this file ({_os_reason(e)})"
        expected = pipe.mark(fp) if resume else None
        return marks.target_state(job.target, expected, pipe.max_output_pixels), fp

    with bar, _pools(workers) as (readers, writers):
        states = _states(readers, jobs, state)
        todo = []
        for job, (kind, fp) in zip(jobs, states, strict=True):
            if kind == marks.DONE:
                emit("skipped", job)
            elif kind == marks.FOREIGN:
                emit("failed", job, f"{job.target}: {FOREIGN_MESSAGE}")
            elif kind == UNREADABLE:
                emit("failed", job, fp)
            else:
                todo.append((job, fp, kind == marks.STALE or replace))
        _ready_folders(jobs, [j for j, _, _ in todo])
        bar.reset(total=len(todo))
        _flow(pipe, todo, readers, writers, emit, read_inputs, given_inputs, protect, prefetch)


def _states(readers: ThreadPoolExecutor, jobs: list[Job], state: Callable, chunk: int = 1024):
    """``state(job)`` of every job, on the reader threads, ``chunk`` at a time (a million
    outputs are not a million futures at once)."""
    found: list[tuple[str, str]] = []
    for i in range(0, len(jobs), chunk):
        found.extend(readers.map(state, jobs[i : i + chunk]))
    return found


def _flow(
    pipe: Pipeline,
    todo: list[tuple[Job, str, bool]],
    readers: ThreadPoolExecutor,
    writers: ThreadPoolExecutor,
    emit: Callable[..., None],
    read_inputs: dict[str, Any],
    given_inputs: dict[str, Any],
    protect: tuple[Path, ...],
    prefetch: int,
) -> None:
    """Read ahead, run the model here, write behind; events in this thread, in file order per
    side. Each todo is ``(job, its input's fingerprint or "", whether to replace its output)``."""
    from pixelsmith.io.mark import fingerprint
    from pixelsmith.io.reasons import ALREADY_EXISTS

    reads: deque[tuple[Job, bool, Future]] = deque()
    writes: deque[tuple[Job, Future]] = deque()
    queue = iter(todo)

    def read(job: Job, fp: str) -> tuple[Any, Any, str]:
        image, meta = pipe.read(job.source, **read_inputs)
        return image, meta, fp or fingerprint(job.source, given_inputs)

    def read_ahead() -> None:
        while len(reads) < prefetch:
            item = next(queue, None)
            if item is None:
                return
            job, fp, over = item
            reads.append((job, over, readers.submit(read, job, fp)))

    def collect(keep: int, tell: bool = True) -> None:
        """Report finished writes in order; wait while more than ``keep`` are under way."""
        while writes and (len(writes) > keep or writes[0][1].done()):
            job, fut = writes.popleft()
            try:
                fut.result()
            except Exception as e:
                if isinstance(e, PixelsmithError) and e.reason == ALREADY_EXISTS:
                    emit("skipped", job, tell=tell)  # another process wrote it meanwhile
                    continue
                message = failure_message(job.source, e)
                if message is None:
                    raise
                emit("failed", job, message, tell=tell)
            else:
                emit("done", job, tell=tell)

    def write(job: Job, over: bool, result: Any, meta: Any, fp: str) -> Future:
        return writers.submit(
            pipe.write, job.target, result, meta, mark=pipe.mark(fp), overwrite=over,
            protect=(job.source, *protect),
        )  # fmt: skip

    try:
        read_ahead()
        while reads:
            job, over, fut = reads.popleft()
            read_ahead()
            try:
                image, meta, fp = fut.result()
                result = pipe.run(image)
            except Exception as e:
                message = failure_message(job.source, e)
                if message is None:
                    raise
                emit("failed", job, message)
                collect(prefetch)
                continue
            del image
            collect(prefetch - 1)  # room for one more result
            writes.append((job, write(job, over, result, meta, fp)))
            del result
            collect(prefetch)
        collect(0)
    except KeyboardInterrupt:
        collect(0, tell=False)  # the results computed are written, and counted
        raise


def write_summary(path: Path, summary: dict[str, Any]) -> None:
    from pixelsmith.io import atomic_write

    data = json.dumps(summary, indent=1, ensure_ascii=False).encode("utf-8", "surrogateescape")
    atomic_write(path, data + b"\n", overwrite=True)
