"""16-bit colour PNG and TIFF at full depth, which Pillow alone reduces to 8 bits."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageFile

from .checks import _pil_pixel_limit

# Pillow decodes these 16-bit colour layouts to 8 bits; _load_wide reads them at full depth.
_WIDE_RAWMODES = frozenset(
    {"RGB;16B", "RGB;16L", "RGB;16N", "RGBA;16B", "RGBA;16L", "RGBA;16N", "LA;16B"}
)


def _wide_rawmode(im: Image.Image) -> str | None:
    """The rawmode of a 16-bit colour PNG/TIFF that Pillow would reduce to 8 bits, else None."""
    if im.format not in ("PNG", "TIFF") or not im.tile:
        return None
    modes = {t.args if isinstance(t.args, str) else t.args[0] for t in im.tile}
    if len(modes) != 1:
        return None
    mode = modes.pop()
    return mode if mode in _WIDE_RAWMODES else None


def _load_wide(path: Path, im: Image.Image, rawmode: str) -> np.ndarray:
    """Decode a 16-bit colour PNG/TIFF to ``(H, W, C)`` uint16 with Pillow's own decoders.

    Pillow's unpackers for 48/64-bit pixels keep only the high byte of each sample. Decoding
    twice, once with the file's rawmode (high bytes) and once with the opposite byte order (low
    bytes), recovers every bit; both rawmodes have the same bits per pixel, so PNG filtering, TIFF
    strips and compression are undone identically. 16-bit grey+alpha PNG is decoded once as 8-bit
    RGBA, whose four bytes are L-high, L-low, A-high, A-low.
    """
    if rawmode == "LA;16B":
        b = _load_with_rawmode(path, im, "RGBA").astype(np.uint16)
        return np.stack([b[..., 0] << 8 | b[..., 1], b[..., 2] << 8 | b[..., 3]], axis=2)
    native = "B" if sys.byteorder == "big" else "L"
    order = rawmode[-1].replace("N", native)
    swapped = rawmode[:-1] + ("L" if order == "B" else "B")
    hi = _load_with_rawmode(path, im, rawmode).astype(np.uint16)
    lo = _load_with_rawmode(path, im, swapped).astype(np.uint16)
    return hi << 8 | lo


def _load_with_rawmode(path: Path, template: Image.Image, rawmode: str) -> np.ndarray:
    with _pil_pixel_limit(None):
        im = Image.open(path)
    with im:
        if im.size != template.size or len(im.tile) != len(template.tile):
            raise ValueError("file changed while reading")
        tiles = []
        for t in im.tile:
            args = rawmode if isinstance(t.args, str) else (rawmode, *t.args[1:])
            tiles.append(ImageFile._Tile(t.codec_name, t.extents, t.offset, args))
        im.tile = tiles
        im.load()
        return np.array(im)
