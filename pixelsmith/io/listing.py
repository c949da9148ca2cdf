"""list_images: expand files, folders and glob patterns into image paths."""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable
from pathlib import Path

from ..errors import PixelsmithError
from .formats import IMAGE_EXTENSIONS


def list_images(
    paths_or_globs: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    *,
    extensions: Iterable[str] = IMAGE_EXTENSIONS,
) -> list[Path]:
    """Expand files, folders and glob patterns into a list of image paths.

    A file is taken as named; a folder gives its files whose suffix is in ``extensions`` (not
    recursive, sorted by name); a pattern (``*``, ``?``, ``[``; ``**`` recurses) gives the matching
    files with such a suffix, sorted. Duplicates are dropped, first occurrence kept.

    Raises:
        PixelsmithError: a named path does not exist, or a folder or pattern holds no image.
    """
    if isinstance(paths_or_globs, (str, os.PathLike)):
        paths_or_globs = [paths_or_globs]
    exts = {e.lower() if e.startswith(".") else f".{e.lower()}" for e in extensions}
    found: list[Path] = []
    for item in paths_or_globs:
        p = Path(item)
        text = os.fspath(item)
        if p.is_dir():
            files = sorted(c for c in p.iterdir() if c.is_file() and c.suffix.lower() in exts)
            if not files:
                raise PixelsmithError("no image files in this folder", p)
            found.extend(files)
        elif p.exists():
            found.append(p)
        elif glob.has_magic(text):
            matches = sorted(
                Path(m)
                for m in glob.glob(text, recursive=True)
                if Path(m).is_file() and Path(m).suffix.lower() in exts
            )
            if not matches:
                raise PixelsmithError(f"no image files match the pattern {text!r}")
            found.extend(matches)
        else:
            raise PixelsmithError("file not found", p)
    if not found:
        raise PixelsmithError("no input images given")
    seen: set[Path] = set()
    unique = []
    for p in found:
        key = p.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(p)
    return unique
