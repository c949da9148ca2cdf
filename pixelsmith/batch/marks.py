"""Which files are pixelsmith's results: the mark a result carries, checked against a run.

A file at an output's name is in one of four states for a run (:func:`target_state`):

    missing   nothing there: write it
    done      its mark matches this run's (model, weights, options, input fingerprint) and it
              decodes fully: an earlier run made exactly this result
    stale     it carries a mark, but another model, options or input made it, or it does not
              decode (cut short): pixelsmith's own, so it is redone
    foreign   no mark: not pixelsmith's, whatever its name; it is never written over

Fingerprints (:func:`pixelsmith.io.mark.fingerprint`) hash the bytes of the input files (and of the other per-photo inputs, a mask), so
an input replaced by another photo of the same name makes its result stale.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

MISSING, DONE, STALE, FOREIGN = "missing", "done", "stale", "foreign"

#: Mark fields that must be equal for a result to stand (pixelsmith's version need not).
MATCHED = ("task", "model", "weights", "precision", "options", "input")


def matches(found: dict[str, Any] | None, expected: dict[str, Any]) -> bool:
    """Whether a file's mark ``found`` says it was made as ``expected`` says."""
    return found is not None and all(found.get(k) == expected.get(k) for k in MATCHED)


def decodes(path: Path, max_pixels: int | None = None) -> bool:
    """Whether the image at ``path`` decodes to its last pixel (a copy cut short does not);
    ``max_pixels``: the largest result the run makes (a result may be larger than the default
    read limit)."""
    from pixelsmith.errors import PixelsmithError
    from pixelsmith.io import read_image

    try:
        read_image(path, max_pixels=max_pixels)
    except (PixelsmithError, OSError, ValueError):
        return False
    return True


def target_state(
    target: Path, expected: dict[str, Any] | None = None, max_pixels: int | None = None
) -> str:
    """:data:`MISSING`, :data:`DONE`, :data:`STALE` or :data:`FOREIGN` for the file at an
    output's name; without ``expected`` (a run that redoes everything) a marked file is
    :data:`STALE`."""
    from pixelsmith.io.mark import read_mark

    if not os.path.lexists(target):
        return MISSING
    if target.is_symlink() or not target.is_file():
        return FOREIGN
    found = read_mark(target)
    if found is None:
        return FOREIGN
    if expected is not None and matches(found, expected) and decodes(target, max_pixels):
        return DONE
    return STALE


def is_result(path: Path, task: str | None = None) -> bool:
    """Whether ``path`` carries a pixelsmith mark (of ``task``, when given): an earlier result."""
    from pixelsmith.io.mark import read_mark

    found = read_mark(path)
    return found is not None and (task is None or found.get("task") == task)
