"""ImageMeta: what :func:`~pixelsmith.io.read_image` learned about a file besides its pixels."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch


@dataclass
class ImageMeta:
    """What :func:`read_image` learned about a file besides its pixels.

    ``alpha`` is ``(1, H, W)`` float32 in [0, 1] with the same orientation as the returned image, or
    ``None``; :func:`write_image` writes it back to formats that hold alpha (PNG, TIFF).
    """

    path: Path
    format: str
    """Pillow's format name: ``"PNG"``, ``"JPEG"``, ``"TIFF"``, ``"BMP"``, ``"WEBP"``, ``"GIF"``."""
    mode: str
    """Pillow's mode as stored (``"L"``, ``"RGB"``, ``"P"``, ``"CMYK"``, ``"I;16"``, ...)."""
    bit_depth: int
    """Bits per sample as stored in the file (1, 2, 4, 8, 16 or 32)."""
    size: tuple[int, int]
    """``(width, height)`` as stored, before the EXIF orientation is applied."""
    channels: int
    """Channels of the returned tensor: 1 (grey) or 3 (colour)."""
    alpha: torch.Tensor | None = None
    icc_profile: bytes | None = None
    """The embedded ICC profile, as found in the file."""
    icc_converted: bool = False
    """True when the pixels were converted from ``icc_profile`` to sRGB."""
    orientation: int = 1
    """EXIF orientation tag found in the file (1 = upright)."""
    orientation_applied: bool = False
    n_frames: int = 1
    """Frames in the file (GIF, multi-page TIFF); only the first is read."""
