"""A result's mark: what pixelsmith records inside every file it writes, and reads back.

The mark is a small JSON object (pixelsmith's version, the task, the model and its weights'
digest, the options, a fingerprint of the inputs) stored where each format keeps text: a PNG
``iTXt`` chunk before the pixels, a TIFF ``ImageDescription`` tag, a JPEG comment. The files
engine (:mod:`pixelsmith.batch`) replaces only a file that carries one: a file without it is not
pixelsmith's, however it is named, and is never written over.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

#: The PNG keyword, and the key of the JSON object in TIFF and JPEG text.
KEY = "pixelsmith"


def mark_text(mark: dict[str, Any]) -> str:
    """The mark as stored: ``{"pixelsmith": {...}}`` in compact JSON, keys sorted."""
    return json.dumps({KEY: mark}, sort_keys=True, separators=(",", ":"), default=str)


def read_mark(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The mark of the image file at ``path``, or ``None`` when it has none (or is no image
    Pillow can open). Reads the header only."""
    from PIL import Image

    try:
        with Image.open(Path(path)) as im:
            text = _stored_text(im)
    except Exception:  # whatever a foreign or damaged file makes of Pillow: no mark
        return None
    if not text:
        return None
    try:
        found = json.loads(text)
    except ValueError:
        return None
    mark = found.get(KEY) if isinstance(found, dict) else None
    return mark if isinstance(mark, dict) else None


def _stored_text(im: Any) -> str | None:
    if im.format == "PNG":
        return im.info.get(KEY)  # read from the chunks before the pixels (im.text decodes all)
    if im.format == "TIFF":
        value = im.tag_v2.get(270)
        return value if isinstance(value, str) else None
    if im.format == "JPEG":
        comment = im.info.get("comment")
        return comment.decode("utf-8", "replace") if isinstance(comment, bytes) else comment
    return None


def file_digest(path: str | os.PathLike[str]) -> str:
    """The SHA-256 of a file's bytes, first 16 hex digits."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:16]


def _value_digest(value: Any) -> str:
    import numpy as np
    import torch

    if isinstance(value, (str, os.PathLike)) and Path(value).is_file():
        return file_digest(value)
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    if isinstance(value, np.ndarray):
        return hashlib.sha256(np.ascontiguousarray(value).tobytes()).hexdigest()[:16]
    return hashlib.sha256(repr(value).encode()).hexdigest()[:16]


def fingerprint(source: str | os.PathLike[str], inputs: dict[str, Any] | None = None) -> str:
    """What a result's mark records of its inputs: the digest of the photo's file and of each
    other per-photo input (a file's bytes, a tensor's values), by name."""
    parts = [file_digest(source)]
    for name in sorted(inputs or {}):
        if inputs[name] is not None:
            parts.append(f"{name}={_value_digest(inputs[name])}")
    if len(parts) == 1:
        return parts[0]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]
