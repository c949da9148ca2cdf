"""A fixed train / validation split of any folder of photos, by file name.

``"imagenet_sample1000@val"`` names the held-out tenth of a folder, ``"...@train"`` the rest. A
photo is held out when the SHA-1 of its file name, read as a number, is divisible by 10: the split
needs no list on disk, does not depend on which other files the folder holds, and is the same on
every machine. Training reads ``@train`` and benchmarks read ``@val`` (or another folder), so no
figure is measured on a photo the model trained on.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

PARTS = ("train", "val")
HOLDOUT_MODULUS = 10


def is_held_out(path: str | Path) -> bool:
    """Whether ``path`` is in the validation part (depends on its file name only)."""
    digest = hashlib.sha1(Path(path).name.encode()).hexdigest()
    return int(digest, 16) % HOLDOUT_MODULUS == 0


def split_source(source: str) -> tuple[str, str | None]:
    """``"dir@val"`` -> ``("dir", "val")``; a source without a part -> ``(source, None)``."""
    base, sep, part = str(source).rpartition("@")
    if sep and part in PARTS:
        return base, part
    return str(source), None


def list_split(sources: Iterable[str | Path]) -> list[Path]:
    """The images of ``sources`` (files, folders, globs), each optionally ``@train``/``@val``."""
    from pixelsmith.io import list_images

    out: list[Path] = []
    for source in sources:
        base, part = split_source(str(source))
        for p in list_images([base]):
            if part is None or is_held_out(p) == (part == "val"):
                out.append(p)
    return list(dict.fromkeys(out))
