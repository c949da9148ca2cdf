"""ICC colour profiles: recognise sRGB, and convert other profiles to sRGB."""

from __future__ import annotations

import functools
import io
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageCms

from .reasons import _one_line

_SRGB_PROFILE: ImageCms.ImageCmsProfile | None = None


def _srgb() -> ImageCms.ImageCmsProfile:
    global _SRGB_PROFILE
    if _SRGB_PROFILE is None:
        _SRGB_PROFILE = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
    return _SRGB_PROFILE


@functools.lru_cache(maxsize=64)
def _is_srgb(icc: bytes) -> bool:
    """True for an RGB profile that maps every 8-bit value to sRGB within 1 (sRGB in all but name).

    Decided by converting a 16^3 grid of colours rather than by the profile's description, so an
    "sRGB" profile by another maker is left alone and a "linear sRGB" one is converted.
    """
    try:
        src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if src.profile.xcolor_space.strip() != "RGB":
            return False
        levels = np.linspace(0, 255, 16).round().astype(np.uint8)
        grid = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), -1).reshape(64, 64, 3)
        out = ImageCms.profileToProfile(Image.fromarray(grid), src, _srgb(), outputMode="RGB")
    except (ImageCms.PyCMSError, OSError, TypeError, ValueError, AttributeError):
        return False
    return out is not None and int(np.abs(np.asarray(out, np.int16) - grid).max()) <= 1


def _icc_to_srgb(path: Path, im: Image.Image, icc: bytes) -> Image.Image | None:
    """Convert an L/RGB/CMYK image from its embedded profile to sRGB (grey stays grey)."""
    try:
        src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        rgb = ImageCms.profileToProfile(im, src, _srgb(), outputMode="RGB")
    except (ImageCms.PyCMSError, OSError, TypeError, ValueError) as e:
        warnings.warn(f"{path}: ignored an unusable ICC profile ({_one_line(e)})", stacklevel=5)
        return None
    if rgb is None:  # pragma: no cover - profileToProfile returns None only with inPlace=True
        return None
    if im.mode == "L":
        mean = np.asarray(rgb, dtype=np.float32).mean(axis=2)
        return Image.fromarray(np.clip(np.round(mean), 0, 255).astype(np.uint8))
    return rgb
