"""Helpers shared by the test_io_* files: random images, exact comparisons, hand-made files.

The references are independent of pixelsmith: Pillow, numpy and hand-written bytes.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from pixelsmith.errors import PixelsmithError

H, W = 24, 40


def _rgb(seed: int = 0, shape: tuple[int, ...] = (H, W, 3)) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def _u16(seed: int, shape: tuple[int, ...]) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 65536, shape, dtype=np.uint16)


def _chw(arr: np.ndarray, peak: float) -> torch.Tensor:
    """HxW[xC] integer array -> (C, H, W) float tensor, the layout read_image returns."""
    a = arr if arr.ndim == 3 else arr[:, :, None]
    return torch.from_numpy(a.transpose(2, 0, 1).astype(np.float64) / peak).float()


def _as_int(t: torch.Tensor, peak: int) -> np.ndarray:
    """(C, H, W) float tensor -> HxWxC (HxW for C = 1) integers."""
    a = np.rint(t.numpy().transpose(1, 2, 0).astype(np.float64) * peak).astype(np.int64)
    return a[..., 0] if a.shape[2] == 1 else a


def _pil_array(path: Path, mode: str | None = None) -> np.ndarray:
    """The pixels as Pillow decodes them (the independent reference), file closed afterwards."""
    with Image.open(path) as im:
        return np.asarray(im.convert(mode) if mode else im)


def _one_line_naming(err: pytest.ExceptionInfo[PixelsmithError], path: Path) -> str:
    msg = str(err.value)
    assert "\n" not in msg
    assert str(path) in msg
    return msg


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png16_reference(path: Path, arr: np.ndarray, chunks: bytes = b"") -> None:
    """A 16-bit PNG written by hand (filter 0 on every row), independent of pixelsmith/Pillow."""
    h, w, c = arr.shape
    colour_type = {1: 0, 2: 4, 3: 2, 4: 6}[c]
    rows = arr.astype(">u2").reshape(h, w * c).view(np.uint8)
    raw = np.hstack([np.zeros((h, 1), np.uint8), rows]).tobytes()
    ihdr = struct.pack(">IIBBBBB", w, h, 16, colour_type, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + chunks
        + _png_chunk(b"IDAT", zlib.compress(raw))
        + _png_chunk(b"IEND", b"")
    )


def _s15(v: float) -> bytes:
    return struct.pack(">i", round(v * 65536))


def _xyz(x: float, y: float, z: float) -> bytes:
    return b"XYZ \0\0\0\0" + _s15(x) + _s15(y) + _s15(z)


def _linear_srgb_profile() -> bytes:
    """An ICC v2 display profile with sRGB primaries (D50-adapted) and a linear (gamma 1) curve."""
    text = b"Linear RGB, sRGB primaries (pixelsmith test)\0"
    desc = b"desc\0\0\0\0" + struct.pack(">I", len(text)) + text + bytes(4 + 4 + 3 + 67)
    curve = b"curv\0\0\0\0" + struct.pack(">IH", 1, 0x0100) + b"\0\0"
    tags = [
        (b"desc", desc),
        (b"wtpt", _xyz(0.9642, 1.0, 0.8249)),
        (b"rXYZ", _xyz(0.4361, 0.2225, 0.0139)),
        (b"gXYZ", _xyz(0.3851, 0.7169, 0.0971)),
        (b"bXYZ", _xyz(0.1431, 0.0606, 0.7141)),
        (b"rTRC", curve),
        (b"gTRC", curve),
        (b"bTRC", curve),
    ]
    start = 128 + 4 + 12 * len(tags)
    table, body = struct.pack(">I", len(tags)), b""
    for sig, data in tags:
        table += sig + struct.pack(">II", start + len(body), len(data))
        body += data + bytes(-len(data) % 4)
    header = (
        struct.pack(">I", start + len(body))
        + bytes(4)
        + struct.pack(">I", 0x02100000)
        + b"mntrRGB XYZ "
        + bytes(12)
        + b"acsp"
        + bytes(24)
        + bytes(4)
        + _s15(0.9642)
        + _s15(1.0)
        + _s15(0.8249)
        + bytes(48)
    )
    assert len(header) == 128
    return header + table + body
