"""The plan of a tree run, the same on every rank: what to read, where its result goes, which
rank takes it, and whether it is done already.

    IN_DIR/a/b.jpg -> OUT_DIR/a/b<task suffix>.png     (b_x3.png, as ``pixelsmith upscale`` names it)
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from pixelsmith.errors import PixelsmithError

#: What :func:`~pixelsmith.batch.run_tree` writes into OUT_DIR (counts and failures); a folder
#: holding one is an earlier run's results, which a later listing does not take for inputs.
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
    """``a/b.jpg`` -> ``OUT_DIR/a/b<suffix>.png``, the naming of :func:`pixelsmith.files.plan_outputs`."""
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
    in_dir: str | Path, out_dir: str | Path, suffix: str, extensions: Iterable[str]
) -> Plan:
    """Every input below ``in_dir`` and its mirrored output in ``out_dir``; refuses, before any
    work, an ``out_dir`` that is ``in_dir`` and two inputs with one output (``b.jpg``, ``b.png``).
    An input that is another input's output (from an earlier run with OUT_DIR inside IN_DIR) is a
    result, not an input, and is left out."""
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
        if j.source.resolve() in targets or any(d in earlier for d in j.source.parents)
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
    return Plan(jobs, left_out)


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


def is_complete(path: Path) -> bool:
    """Whether ``path`` is a finished output: a regular file whose image header reads.

    Atomic writes make a half-written pixelsmith output impossible, so this only guards against a
    file put there by something else (an empty file, a copy cut short before its header)."""
    from PIL import Image

    try:
        if not path.is_file() or path.stat().st_size == 0:
            return False
        with Image.open(path) as im:
            w, h = im.size
    except Exception:  # whatever PIL makes of a foreign file: not one of ours
        return False
    return w > 0 and h > 0


def summary_path(out_dir: Path, rank: int, world_size: int) -> Path:
    """``OUT_DIR/pixelsmith-run.json``, or ``pixelsmith-run.rank-R-of-N.json`` for one rank of N."""
    if world_size == 1:
        return out_dir / SUMMARY_NAME
    return out_dir / SUMMARY_NAME.replace(".json", f".rank-{rank}-of-{world_size}.json")
