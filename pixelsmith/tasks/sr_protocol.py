"""The super-resolution evaluation protocol (SRCNN's ``demo_SR.m``; it reproduces the bicubic table).

1. HR RGB ``uint8`` -> :func:`~pixelsmith.metrics.modcrop` to a multiple of the scale;
2. Y by MATLAB ``rgb2ycbcr`` on ``uint8`` (rounded to ``uint8``), then ``/ 255``
   (:func:`sr_y_from_rgb_uint8`);
3. LR = MATLAB-bicubic ``imresize(Y, 1 / scale)`` (:func:`make_lr`); the bicubic baseline is
   ``imresize(LR, scale)``;
4. :func:`evaluate_sr_pair`: both images rounded to ``uint8`` levels (``uint8(x * 255)``), ``scale``
   pixels shaved from every border, then PSNR (and SSIM) on Y.

Only super-resolution measures this way; the metrics themselves (:mod:`pixelsmith.metrics`) know
nothing of tasks.
"""

from __future__ import annotations

import math

import torch

from pixelsmith.color import YCBCR_FROM_RGB, YCBCR_OFFSET
from pixelsmith.errors import PixelsmithError
from pixelsmith.metrics import psnr, quantize_uint8, shave, ssim
from pixelsmith.resize import imresize

__all__ = ["sr_y_from_rgb_uint8", "sr_y", "make_lr", "evaluate_sr_pair"]


def sr_y_from_rgb_uint8(rgb: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """The Y channel the SR protocol works on: MATLAB ``rgb2ycbcr`` of a ``uint8`` image, ``/ 255``.

    MATLAB computes ``16 + (65.481 R + 128.553 G + 24.966 B) / 255`` on ``0..255`` values and
    rounds to ``uint8``; the result is then divided by 255, as ``demo_SR.m`` does.

    Args:
        rgb: ``uint8`` RGB, shape ``(*, 3, H, W)``, values ``0..255``.
        dtype: floating dtype of the result (the SRCNN demo used single precision).

    Returns:
        Y on 8-bit levels in ``[16, 235] / 255``, shape ``(*, 1, H, W)``.
    """
    if not isinstance(rgb, torch.Tensor) or rgb.dtype != torch.uint8:
        raise TypeError("sr_y_from_rgb_uint8 takes a uint8 torch.Tensor")
    if rgb.ndim < 3 or rgb.shape[-3] != 3:
        raise ValueError(f"expected RGB of shape (*, 3, H, W), got {tuple(rgb.shape)}")
    c = rgb.to(torch.float64)
    w = [(1.0 / 255.0) * v for v in YCBCR_FROM_RGB[0]]  # MATLAB: T = (1/255) * origT
    y = w[0] * c[..., 0:1, :, :] + w[1] * c[..., 1:2, :, :] + w[2] * c[..., 2:3, :, :]
    y = torch.floor(y + YCBCR_OFFSET[0] + 0.5).clamp(0.0, 255.0)
    return (y / 255.0).to(dtype)


def sr_y(image: torch.Tensor) -> torch.Tensor:
    """The protocol's ground-truth Y of a decoded image ``(*, C, H, W)`` in [0, 1] (C = 1 or 3):
    ``(*, 1, H, W)`` on 8-bit levels. A grey image is its own Y."""
    u8 = quantize_uint8(image).to(torch.uint8)
    return sr_y_from_rgb_uint8(u8) if image.shape[-3] == 3 else u8.float() / 255


def make_lr(hr: torch.Tensor, scale: int) -> torch.Tensor:
    """The low-resolution input of the SR protocol: MATLAB-bicubic ``imresize(hr, 1 / scale)``.

    Args:
        hr: float image ``(*, H, W)``, ``H`` and ``W`` multiples of ``scale`` (see ``modcrop``).
        scale: integer downscaling factor.

    Returns:
        ``(*, H / scale, W / scale)``, same dtype. Upscale back with ``imresize(lr, scale)`` for the
        bicubic baseline.
    """
    if int(scale) != scale or scale < 1:
        raise ValueError(f"scale must be a positive integer, got {scale}")
    height, width = hr.shape[-2:]
    if height % scale or width % scale:
        raise PixelsmithError(
            f"a {height}x{width} image is not a multiple of {scale}; modcrop it first"
        )
    return imresize(hr, 1.0 / int(scale))


def evaluate_sr_pair(
    sr: torch.Tensor, hr: torch.Tensor, scale: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """PSNR and SSIM of a super-resolved Y channel against the ground truth, by the SR protocol.

    Both images are rounded to 8-bit levels (MATLAB ``uint8(x * 255)``), ``scale`` pixels are shaved
    from every border, then PSNR (peak 255) and SSIM (Gaussian, as :func:`~pixelsmith.metrics.ssim`)
    are computed in float64.

    Args:
        sr: the restored Y channel in ``[0, 1]``, shape ``(H, W)`` or ``(*, 1, H, W)``.
        hr: the ground-truth Y channel, same shape (e.g. from :func:`sr_y_from_rgb_uint8`).
        scale: the upscaling factor, used as the border to shave.

    Returns:
        ``(psnr_db, ssim)``, each of shape ``(*)`` (0-d for a single image).
    """
    if sr.shape != hr.shape:
        raise PixelsmithError(f"images differ in shape: {tuple(sr.shape)} vs {tuple(hr.shape)}")
    if sr.ndim == 2:
        sr, hr = sr[None], hr[None]
    if sr.shape[-3] != 1:
        raise PixelsmithError(f"expected a Y channel (*, 1, H, W), got {tuple(sr.shape)}")
    border = int(math.ceil(scale))
    sr8 = shave(quantize_uint8(sr.to(torch.float64)), border)
    hr8 = shave(quantize_uint8(hr.to(torch.float64)), border)
    return psnr(sr8, hr8, peak=255.0), ssim(sr8, hr8, peak=255.0)
