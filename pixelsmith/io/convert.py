"""Conversions between tensors and pixel arrays: uint8 helpers, quantisation, layout checks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..errors import PixelsmithError

#: How far outside [0, 1] a float image given in Python may stray (rounding) before it is
#: refused; it is clamped.
RANGE_SLACK = 0.01
#: The same for a float image file: 32-bit exports carry some ringing and highlight overshoot.
FILE_RANGE_SLACK = 0.1


def to_uint8(image: torch.Tensor) -> np.ndarray:
    """``(C, H, W)`` float in [0, 1] -> ``(H, W, C)`` uint8 (``(H, W)`` if C = 1), rounded."""
    arr = _quantise(_as_chw(image), 8)
    return arr[..., 0] if arr.shape[2] == 1 else arr


def from_uint8(array: np.ndarray) -> torch.Tensor:
    """``(H, W)`` or ``(H, W, C)`` uint8 -> ``(C, H, W)`` float32 in [0, 1]."""
    array = np.asarray(array)
    if array.dtype != np.uint8:
        raise TypeError(f"expected a uint8 array, got {array.dtype}")
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3:
        raise ValueError(f"expected an (H, W) or (H, W, C) array, got shape {array.shape}")
    return torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1))).float().div_(255.0)


def _as_chw(image: torch.Tensor) -> torch.Tensor:
    """Check ``image`` is float ``(C, H, W)`` or ``(1, C, H, W)``, C in {1, 3}; -> ``(C, H, W)``."""
    if not isinstance(image, torch.Tensor):
        raise TypeError(f"expected a torch.Tensor, got {type(image).__name__}")
    if image.ndim == 4 and image.shape[0] == 1:
        image = image[0]
    if image.ndim != 3 or image.shape[0] not in (1, 3):
        raise ValueError(
            f"expected a (C, H, W) image with C = 1 or 3, got shape {tuple(image.shape)}"
        )
    if not image.is_floating_point():
        raise TypeError(f"expected a floating-point image in [0, 1], got {image.dtype}")
    if image.shape[1] == 0 or image.shape[2] == 0:
        raise ValueError(f"image is empty: shape {tuple(image.shape)}")
    return image


def _quantise(image: torch.Tensor, bit_depth: int) -> np.ndarray:
    """``(C, H, W)`` float in [0, 1] -> ``(H, W, C)`` uint8/uint16; clamped, round half to even.

    Works in bands of rows, so a 50-megapixel image needs no full-size float copy.
    """
    image = image.detach()
    if torch.isnan(image).any():
        raise ValueError("image contains NaN")
    c, h, w = image.shape
    dtype = np.uint8 if bit_depth == 8 else np.uint16
    out = np.empty((h, w, c), dtype=dtype)
    band = max(1, 2**22 // max(1, w * c))
    for r in range(0, h, band):
        t = image[:, r : r + band].to("cpu", torch.float32, copy=True)
        t.clamp_(0.0, 1.0).mul_((1 << bit_depth) - 1).round_()
        out[r : r + band] = t.permute(1, 2, 0).numpy().astype(dtype)
    return out


def _to_chw_float(arr: np.ndarray) -> torch.Tensor:
    """HxW or HxWxC uint8/uint16/float array -> ``(C, H, W)`` float32 in [0, 1]."""
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.dtype == np.uint8:
        scale = 255.0
    elif arr.dtype == np.uint16:
        scale = 65535.0
    else:
        scale = 1.0
    out = torch.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1)).astype(np.float32))
    return out.div_(scale) if scale != 1.0 else out


def unit_range_problem(values: np.ndarray, slack: float) -> str | None:
    """Why float pixels ``values`` are not an image in [0, 1] (NaN or inf; values beyond
    ``slack`` outside it, with a hint for 0..255 levels), or ``None``."""
    bad = int(values.size - np.count_nonzero(np.isfinite(values)))
    if bad:
        return f"the image has {bad} NaN or infinite values; fix or mask them first"
    lo, hi = (float(values.min()), float(values.max())) if values.size else (0.0, 0.0)
    if lo < -slack or hi > 1 + slack:
        hint = " (8-bit levels? divide by 255)" if hi > 1.5 and lo >= 0 else ""
        return f"float image values must lie in [0, 1], these span [{lo:g}, {hi:g}]{hint}"
    return None


def _float_unit(arr: np.ndarray, path: Path) -> np.ndarray:
    """A float file's pixels as float32 in [0, 1], the range pixelsmith reads float images in:
    NaN, inf and values far outside it (an HDR or a 0..255 float file) are refused rather than
    clipped, which would turn the photo white or black without a word."""
    problem = unit_range_problem(arr, FILE_RANGE_SLACK)
    if problem:
        raise PixelsmithError(
            f"{problem}; an HDR or rescaled file must be mapped to it first", path
        )
    return np.clip(arr, 0.0, 1.0).astype(np.float32)


def _squeeze_grey(colour: np.ndarray) -> np.ndarray:
    return colour[..., 0] if colour.ndim == 3 and colour.shape[2] == 1 else colour
