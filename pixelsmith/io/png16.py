"""A small 16-bit PNG writer (grey, grey+alpha, RGB, RGBA); Pillow cannot write 16-bit colour."""

from __future__ import annotations

import struct
import zlib

import numpy as np

from .formats import _PNG_SIGNATURE


def _png16_bytes(
    pixels: np.ndarray, icc: bytes | None, text: dict[str, str] | None = None
) -> bytes:
    """A 16-bit PNG (grey, grey+alpha, RGB, RGBA) from ``(H, W, C)`` uint16; Paeth-filtered rows;
    ``text`` as uncompressed iTXt chunks before the pixels."""
    h, w, c = pixels.shape
    colour_type = {1: 0, 2: 4, 3: 2, 4: 6}[c]
    rows = pixels.astype(">u2").reshape(h, w * c).view(np.uint8)
    compressor = zlib.compressobj(6)
    idat = []
    previous = np.zeros(rows.shape[1], np.uint8)
    for r0 in range(0, h, 256):
        block = rows[r0 : r0 + 256]
        idat.append(compressor.compress(_paeth_filter(block, previous, bpp=2 * c).tobytes()))
        previous = block[-1]
    idat.append(compressor.flush())

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    out = [_PNG_SIGNATURE, chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, colour_type, 0, 0, 0))]
    if icc:
        out.append(chunk(b"iCCP", b"ICC profile\x00\x00" + zlib.compress(icc)))
    for key, value in (text or {}).items():
        body = key.encode("latin-1") + b"\x00\x00\x00\x00\x00" + value.encode("utf-8")
        out.append(chunk(b"iTXt", body))
    data = b"".join(idat)
    step = 1 << 20
    out.extend(chunk(b"IDAT", data[i : i + step]) for i in range(0, max(len(data), 1), step))
    out.append(chunk(b"IEND", b""))
    return b"".join(out)


def _paeth_filter(block: np.ndarray, previous: np.ndarray, *, bpp: int) -> np.ndarray:
    """PNG filter type 4 for rows ``block`` (uint8, n x stride) given the row above the block."""
    x = block.astype(np.int16)
    up = np.vstack([previous[None].astype(np.int16), x[:-1]])
    left = np.zeros_like(x)
    left[:, bpp:] = x[:, :-bpp]
    up_left = np.zeros_like(x)
    up_left[:, bpp:] = up[:, :-bpp]
    p = left + up - up_left
    pa, pb, pc = np.abs(p - left), np.abs(p - up), np.abs(p - up_left)
    pred = np.where((pa <= pb) & (pa <= pc), left, np.where(pb <= pc, up, up_left))
    filtered = ((x - pred) & 0xFF).astype(np.uint8)
    return np.hstack([np.full((x.shape[0], 1), 4, np.uint8), filtered])
