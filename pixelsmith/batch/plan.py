"""The plan of a run, before any work: what to read, where its result goes, which rank takes it.

    photo.jpg      -> photo<task suffix>.png beside it, or in --out   (plan_files: the verbs)
    IN_DIR/a/b.jpg -> OUT_DIR/a/b<task suffix>.png                    (plan_tree: pixelsmith run)

Both leave out earlier results found among the inputs: files that carry a mark of this task
(:mod:`pixelsmith.batch.marks`) at another input's output name, or in an earlier run's OUT_DIR.
A file without a mark is a photo, whatever its name. Every clash (an output that is an input,
two inputs with one output) is refused here.
"""

from __future__ import annotations

import hashlib
import itertools
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from pixelsmith.batch.marks import is_result
from pixelsmith.errors import PixelsmithError

#: What :func:`~pixelsmith.batch.run_tree` writes into OUT_DIR (counts and failures), one per run
#: (``pixelsmith-run.<UTC time>.json``, kept); a folder holding one is an earlier run's results.
SUMMARY_NAME = "pixelsmith-run.json"


@dataclass(frozen=True)
class Job:
    """One input and its output; ``rel`` is the input's path below IN_DIR, POSIX-style."""

    source: Path
    target: Path
    rel: str


@dataclass(frozen=True)
class Plan:
    """The whole tree's work, the same on every rank: ``jobs`` sorted by input path;
    ``left_out``: files that are results, not photos (at another input's output path, or in an
    earlier run's OUT_DIR below IN_DIR)."""

    jobs: list[Job]
    left_out: list[Path]


def mirror(rel: str | Path, out_dir: Path, suffix: str) -> Path:
    """``a/b.jpg`` -> ``OUT_DIR/a/b<suffix>.png``, the naming of :func:`plan_files`."""
    rel = Path(rel)
    return out_dir / rel.parent / f"{rel.stem}{suffix}.png"


def list_tree(in_dir: Path, extensions: Iterable[str], exclude: Path | None = None) -> list[Path]:
    """Every file below ``in_dir`` with a suffix in ``extensions``, sorted; hidden files and
    folders (``.name``) are not listed, nor anything below the folder ``exclude``."""
    import glob

    from pixelsmith.io import list_images

    if not in_dir.exists():
        raise PixelsmithError("input folder not found", in_dir)
    if not in_dir.is_dir():
        raise PixelsmithError("is not a folder (pixelsmith run takes a folder of images)", in_dir)
    pattern = os.path.join(glob.escape(str(in_dir)), "**", "*")
    try:
        files = list_images([pattern], extensions=extensions)
    except PixelsmithError:
        raise PixelsmithError("no image files in this folder or below it", in_dir) from None
    if exclude is not None:
        files = [p for p in files if exclude not in p.resolve().parents]
    return files


def plan_tree(
    in_dir: str | Path,
    out_dir: str | Path,
    suffix: str,
    extensions: Iterable[str],
    task: str | None = None,
) -> Plan:
    """Every input below ``in_dir`` and its mirrored output in ``out_dir``; refuses, before any
    work, an ``out_dir`` that is ``in_dir`` and two inputs with one output (``b.jpg``, ``b.png``).
    An input that is another input's output (from an earlier run with OUT_DIR inside IN_DIR) is a
    result, not an input, and is left out, as is one in an earlier run's OUT_DIR, where it
    carries a mark (of ``task``, when given)."""
    in_dir, out_dir = Path(in_dir), Path(out_dir)
    if out_dir.resolve() == in_dir.resolve():
        raise PixelsmithError(
            "OUT_DIR is IN_DIR; give another folder for the results "
            "(pixelsmith upscale and the other verbs write beside their inputs)",
            out_dir,
        )
    out_key = out_dir.resolve()
    inside = in_dir.resolve() in out_key.parents
    files = list_tree(in_dir, extensions, exclude=out_key if inside else None)
    jobs = []
    for p in files:
        rel = p.relative_to(in_dir).as_posix()
        jobs.append(Job(p, mirror(rel, out_dir, suffix), rel))
    targets = {j.target.resolve() for j in jobs}
    earlier = _earlier_out_dirs(in_dir, {j.source.parent for j in jobs})
    left_out = [
        j.source
        for j in jobs
        if (j.source.resolve() in targets or any(d in earlier for d in j.source.parents))
        and is_result(j.source, task)
    ]
    if left_out:
        gone = set(left_out)
        jobs = [j for j in jobs if j.source not in gone]
    seen: dict[Path, Job] = {}
    clashes = []
    for j in jobs:
        first = seen.setdefault(j.target, j)
        if first is not j:
            clashes.append((first, j))
    if clashes:
        a, b = clashes[0]
        more = f" (and {len(clashes) - 1} more such pairs)" if len(clashes) > 1 else ""
        raise PixelsmithError(
            f"{a.rel} and {b.rel} would both be written here{more}; rename one", a.target
        )
    _check_clashes(jobs)
    return Plan(jobs, left_out)


def _check_clashes(jobs: list[Job], protect: Iterable[Path] = ()) -> None:
    sources = {j.source.resolve(): j.source for j in jobs}
    sources.update({Path(p).resolve(): Path(p) for p in protect})
    for j in jobs:
        if j.target.resolve() in sources:
            raise PixelsmithError("is an input; pixelsmith never overwrites its inputs", j.target)


def plan_files(
    inputs: list[Path],
    out: str | Path | None,
    suffix: str,
    task: str | None = None,
    protect: Iterable[Path] = (),
) -> Plan:
    """Each input's result: ``NAME<suffix>.png`` beside it or in the folder ``out``, or ``out``
    itself for one input (a name with an image suffix, not an existing folder nor written with
    a trailing ``/``).

    An input that carries a mark of ``task`` at another input's output name (``photo_x3.png``
    beside ``photo.png``, from an earlier run in place) is a result and is left out; one
    without a mark is a photo. Refused here: an output that is an input or one of ``protect``
    (the run's other files: a mask, weights), two inputs with one output, an output folder
    whose parent does not exist (the folder itself is created, as ``pixelsmith run`` creates
    OUT_DIR), a format pixelsmith does not write.
    """
    from pixelsmith.io import WRITE_FORMATS

    if out is None:
        targets = [p.with_name(f"{p.stem}{suffix}.png") for p in inputs]
    elif Path(out).suffix and not _is_dir(Path(out)) and not _names_folder(out):
        o = Path(out)
        if o.suffix.lower() not in WRITE_FORMATS:
            raise PixelsmithError(
                f"cannot write {o.suffix} files (use {', '.join(WRITE_FORMATS)})", o
            )
        if len(inputs) > 1:
            raise PixelsmithError(
                "--out names one file but there are several inputs; give a folder", o
            )
        targets = [o]
    else:
        if not _is_dir(Path(out)):
            make_folder(Path(out))
        targets = [Path(out) / f"{p.stem}{suffix}.png" for p in inputs]
    jobs = [Job(p, t, p.name) for p, t in zip(inputs, targets, strict=True)]
    left_out: list[Path] = []
    if len(jobs) > 1:
        # results: this run's targets, and what a run in place would have written beside an input
        results = {j.target.resolve() for j in jobs}
        if suffix:
            results |= {p.with_name(f"{p.stem}{suffix}.png").resolve() for p in inputs}
        left_out = [
            j.source
            for j in jobs
            if j.source.resolve() in results
            and j.source.resolve() != j.target.resolve()
            and is_result(j.source, task)
        ]
        jobs = [j for j in jobs if j.source not in set(left_out)]
    _check_clashes(jobs, protect)
    seen: dict[Path, Job] = {}
    for j in jobs:
        first = seen.setdefault(j.target.resolve(), j)
        if first is not j:
            raise PixelsmithError(
                f"{first.source.name} and {j.source.name} would both be written here", j.target
            )
    return Plan(jobs, left_out)


def make_folder(out: Path) -> None:
    """Create the output folder ``out`` if the folder above it exists (a mistyped path above it
    is an error, as it is for ``pixelsmith run``'s OUT_DIR)."""
    from pixelsmith.io.reasons import _os_reason

    if out.exists():
        raise PixelsmithError("--out is not a folder", out)
    if not _is_dir(out.parent):
        raise PixelsmithError(
            f"the folder above the output folder does not exist: {out.parent}", out
        )
    try:
        out.mkdir()
    except OSError as e:
        raise PixelsmithError(f"cannot create the output folder: {_os_reason(e)}", out) from e


def _is_dir(p: Path) -> bool:
    try:
        return p.is_dir()
    except OSError:  # a name too long to stat: check_writable says so in one line
        return False


def _names_folder(out: str | Path) -> bool:
    """``out`` written with a trailing separator (``results.png/``) means a folder."""
    text = str(out)
    return text.endswith("/") or (os.sep != "/" and text.endswith(os.sep))


def _earlier_out_dirs(in_dir: Path, folders: set[Path]) -> set[Path]:
    """The folders among ``folders`` (and those between them and ``in_dir``) that hold the
    summary of an earlier ``pixelsmith run``: its OUT_DIR, whose images are results."""
    seen: set[Path] = set()
    for folder in folders:
        for d in (folder, *folder.parents):
            if d in seen or d == in_dir or in_dir not in d.parents:
                break
            seen.add(d)
    return {d for d in seen if any(d.glob(SUMMARY_NAME.replace(".json", "*.json")))}


def shard_of(rel: str, world_size: int) -> int:
    """The rank (``0 .. world_size - 1``) that processes the input at ``rel`` (below IN_DIR).

    A stable hash of the relative path, not a position in a list: each file's rank depends on its
    name alone, so ranks that listed the tree a moment apart (files still arriving) still agree on
    every file both saw, adding or removing files moves no other file, and a tree mounted at
    different paths on different machines splits the same way. Shares differ from ``n / N`` by
    about ``sqrt(n / N)`` files.
    """
    digest = hashlib.sha1(rel.encode("utf-8", "surrogateescape")).digest()
    return int.from_bytes(digest[:8], "big") % world_size


_RUNS = itertools.count(1)


def run_stamp() -> str:
    """This run's name in its records: the UTC time to the second, the process id and the
    run's number in this process (names sort by time, and two runs never share one)."""
    import time

    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + f"-{os.getpid()}-{next(_RUNS)}"


def summary_path(out_dir: Path, rank: int, world_size: int, stamp: str = "") -> Path:
    """``OUT_DIR/pixelsmith-run.STAMP.json``, or ``pixelsmith-run.STAMP.rank-R-of-N.json`` for
    one rank of N: each run keeps its own record."""
    name = SUMMARY_NAME.replace(".json", f".{stamp}.json" if stamp else ".json")
    if world_size == 1:
        return out_dir / name
    return out_dir / name.replace(".json", f".rank-{rank}-of-{world_size}.json")
