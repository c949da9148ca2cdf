"""run_tree: one rank's share of a tree, resumable; reading and writing beside the model.

    reader threads: read_input(next files)  ->  main thread: the model  ->  writer threads: write_result

At most ``prefetch`` decoded inputs wait for the model and ``prefetch`` results wait to be
written, so memory stays bounded whatever the tree's size; events are reported in the calling
thread. Resuming is safe because every output is written atomically (:mod:`pixelsmith.io.atomic`:
a temporary ``.NAME.PID-HOST.RANDOM.tmp`` beside the target, fsynced, then linked onto the name),
so an output that exists is whole; a killed run leaves at most temporary files, which never carry
an output's name and are swept from every output folder before the work starts.
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
from typing import Any

from pixelsmith.batch.plan import Job, is_complete, plan_tree, shard_of, summary_path
from pixelsmith.errors import PixelsmithError


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
    """What one rank's :func:`run_tree` did (``share``: the files this rank was given)."""

    rank: int = 0
    world_size: int = 1
    share: int = 0
    done: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)
    left_out: list[Path] = field(default_factory=list)
    seconds: float = 0.0
    finished: bool = False

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


def _restores_images(task: Any) -> bool:
    from pixelsmith.tasks import Task

    return type(task).prepare is not Task.prepare


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


def _completed(readers: ThreadPoolExecutor, jobs: list[Job], chunk: int = 1024) -> list[bool]:
    """:func:`is_complete` of every job's output, on the reader threads, ``chunk`` at a time
    (a million outputs are not a million futures at once)."""
    found: list[bool] = []
    for i in range(0, len(jobs), chunk):
        found.extend(readers.map(is_complete, [j.target for j in jobs[i : i + chunk]]))
    return found


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


def run_tree(
    task: Any,
    in_dir: str | Path,
    out_dir: str | Path,
    model: Any = None,
    *,
    tile: int | None = None,
    device: str = "cpu",
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
        task: a task name (``"superres"``) or a :class:`~pixelsmith.tasks.base.Task`.
        model: as :func:`pixelsmith.restore` takes it; ``None``: the task's default.
        backend: ``"torch"``, ``"onnxruntime"``, ``"torchscript"`` or ``"auto"``, as
            :func:`pixelsmith.restore` takes it.
        overwrite: redo every file; by default an output that is already complete is skipped.
        workers: reader threads and writer threads (each).
        prefetch: decoded inputs waiting for the model, and results waiting to be written, at
            most (default ``2 * workers``): memory stays bounded whatever the tree's size.
        rank, world_size: this process takes the files :func:`shard_of` gives ``rank``.
        progress: a progress bar with ETA on stderr (``None``: when stderr is a terminal).
        on_event: called in this thread with a :class:`RunEvent` per file.
        tile, device, bf16, max_output_pixels, options: as :func:`pixelsmith.restore`.

    Problems with the run as a whole (the folders, a clash, the model, the options) raise
    :class:`PixelsmithError` before any work; a problem with one file is an event, and the next
    file follows. Ctrl-C raises :class:`RunInterrupted` after writing the results computed.
    """
    from tqdm import tqdm

    from pixelsmith.api import check_limit, resolve
    from pixelsmith.infer import check_tile, pick_device
    from pixelsmith.tasks import get_task

    t0 = time.perf_counter()
    task = get_task(task, **options)
    if not _restores_images(task):
        raise PixelsmithError(f"the {task.name} task does not restore images")
    check_tile(tile)
    limit = check_limit(max_output_pixels)
    check_rank(rank, world_size)
    if workers < 1:
        raise ValueError(f"workers must be at least 1, not {workers}")
    prefetch = 2 * workers if prefetch is None else prefetch
    if prefetch < 1:
        raise ValueError(f"prefetch must be at least 1, not {prefetch}")

    plan = plan_tree(in_dir, out_dir, task.output_suffix(), task.input_extensions)
    dev = pick_device(device)
    net, _ = resolve(model, task, dev, backend, bf16)
    _make_out_dir(Path(out_dir))
    share = [j for j in plan.jobs if shard_of(j.rel, world_size) == rank]
    report = RunReport(rank, world_size, len(share), left_out=plan.left_out)
    record = summary_path(Path(out_dir), rank, world_size)
    write_summary(record, report.counts())  # also marks OUT_DIR as results for later listings
    bar = tqdm(
        total=0,
        unit="image",
        dynamic_ncols=True,
        disable=not (sys.stderr.isatty() if progress is None else progress),
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

    with bar, _pools(workers) as (readers, writers):
        try:
            complete = [False] * len(share) if overwrite else _completed(readers, share)
            todo = [j for j, c in zip(share, complete, strict=True) if not c]
            # there but not complete: a foreign file at an output's name, replaced
            foreign = set() if overwrite else {j.target for j in todo if os.path.lexists(j.target)}
            _ready_folders(share, todo)
            for j, c in zip(share, complete, strict=True):
                if c:
                    emit("skipped", j)
            bar.reset(total=len(todo))
            _pipeline(
                todo, net, task, readers, writers, emit,
                tile=tile, device=dev, bf16=bf16, limit=limit, prefetch=prefetch,
                replace=overwrite, foreign=foreign,
            )  # fmt: skip
        except KeyboardInterrupt:
            report.seconds = time.perf_counter() - t0
            write_summary(record, report.counts())
            raise RunInterrupted(report) from None
    report.seconds, report.finished = time.perf_counter() - t0, True
    write_summary(record, report.counts())
    return report


def _pipeline(
    todo: list[Job],
    net: Any,
    task: Any,
    readers: ThreadPoolExecutor,
    writers: ThreadPoolExecutor,
    emit: Callable[..., None],
    *,
    tile: int | None,
    device: Any,
    bf16: bool,
    limit: int,
    prefetch: int,
    replace: bool,
    foreign: set[Path],
) -> None:
    """Read ahead, run the model here, write behind; events in this thread, in file order per
    side. ``foreign``: outputs there but not complete (not pixelsmith's), replaced."""
    from pixelsmith.api import restore_tensor
    from pixelsmith.files import failure_message, read_input, write_result
    from pixelsmith.io.reasons import ALREADY_EXISTS

    reads: deque[tuple[Job, Future]] = deque()
    writes: deque[tuple[Job, Future]] = deque()
    jobs = iter(todo)

    def read_ahead() -> None:
        while len(reads) < prefetch:
            job = next(jobs, None)
            if job is None:
                return
            reads.append((job, readers.submit(read_input, task, job.source, limit)))

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

    def write(job: Job, result: Any, meta: Any) -> Future:
        over = replace or job.target in foreign
        return writers.submit(
            write_result, task, job.target, result, meta, inputs=(job.source,), overwrite=over
        )

    try:
        read_ahead()
        while reads:
            job, fut = reads.popleft()
            read_ahead()
            try:
                image, meta = fut.result()
                result = restore_tensor(net, task, image, tile=tile, device=device, bf16=bf16)
            except Exception as e:
                message = failure_message(job.source, e)
                if message is None:
                    raise
                emit("failed", job, message)
                collect(prefetch)
                continue
            del image
            collect(prefetch - 1)  # room for one more result
            writes.append((job, write(job, result, meta)))
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
