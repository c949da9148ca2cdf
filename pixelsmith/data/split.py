"""A fixed train / validation split of any folder of photos, by file name.

``"imagenet_sample1000@val"`` names the held-out tenth of a folder, ``"...@train"`` the rest. A
photo is held out when the SHA-1 of its file name, read as a number, is divisible by 10: the split
needs no list on disk, does not depend on which other files the folder holds, and is the same on
every machine. Training reads ``@train`` and benchmarks read ``@val`` (or another folder), so no
figure is measured on a photo the model trained on.

A run that tunes something on the folder's own kind of photos (which checkpoint to keep, a
decoding setting) splits ``@train`` once more: ``@tune`` is the tenth of it whose SHA-1 leaves a
remainder of 1, ``@fit`` the other eight tenths. Training reads ``@fit``, tuning ``@tune``, and the
figures are still measured on ``@val``, which neither saw.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

PARTS = ("train", "val", "fit", "tune")
HOLDOUT_MODULUS = 10
_REMAINDERS = {"val": {0}, "tune": {1}}  # "train": every other remainder; "fit": train - tune


def _remainder(path: str | Path) -> int:
    return int(hashlib.sha1(Path(path).name.encode()).hexdigest(), 16) % HOLDOUT_MODULUS


def is_held_out(path: str | Path) -> bool:
    """Whether ``path`` is in the validation part (depends on its file name only)."""
    return _remainder(path) in _REMAINDERS["val"]


def in_part(path: str | Path, part: str) -> bool:
    """Whether ``path`` is in ``part`` (:data:`PARTS`): ``val`` and ``tune`` are disjoint tenths,
    ``train`` is all but ``val``, ``fit`` is ``train`` without ``tune``."""
    r = _remainder(path)
    if part in _REMAINDERS:
        return r in _REMAINDERS[part]
    if part == "train":
        return r not in _REMAINDERS["val"]
    if part == "fit":
        return r not in _REMAINDERS["val"] | _REMAINDERS["tune"]
    raise ValueError(f"a split part is one of {PARTS}, not {part!r}")


def split_source(source: str) -> tuple[str, str | None]:
    """``"dir@val"`` -> ``("dir", "val")``; a source without a part -> ``(source, None)``."""
    base, sep, part = str(source).rpartition("@")
    if sep and part in PARTS:
        return base, part
    return str(source), None


def list_split(sources: Iterable[str | Path]) -> list[Path]:
    """The images of ``sources`` (files, folders, globs), each optionally ``@part``
    (:data:`PARTS`)."""
    from pixelsmith.io import list_images

    out: list[Path] = []
    for source in sources:
        base, part = split_source(str(source))
        for p in list_images([base]):
            if part is None or in_part(p, part):
                out.append(p)
    return list(dict.fromkeys(out))
