"""MATLAB-compatible bicubic ``imresize`` on tensors: the resize behind every SR number.

Follows MATLAB's ``imresize(x, scale, 'bicubic')`` (Image Processing Toolbox):

- cubic convolution kernel with ``a = -0.5`` (Keys), 4 taps;
- when shrinking (``scale < 1``) and ``antialias`` is true, the kernel is stretched by ``1 / scale``
  (``h(x) = scale * cubic(scale * x)``, width ``4 / scale``), so it also low-pass filters;
- output pixel ``i`` (1-based) samples the input at ``u = i / scale + 0.5 * (1 - 1 / scale)``;
  weights are normalised to sum to 1 per output pixel;
- out-of-range taps are mirrored (``[1..n, n..1]`` repeated), MATLAB's symmetric padding;
- output size ``ceil(scale * in)`` given a scale; given a size, ``scale = out / in`` per axis;
- axes are resized in order of increasing scale, height first on ties.

Each axis is one multiplication by a dense ``(out, in)`` weight matrix with the mirrored taps folded
in, computed in float64 and cached. The operation is linear, hence differentiable in the image.
Tensors only; convert numpy arrays with ``torch.from_numpy``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import torch
from torch import nn

from pixelsmith.errors import PixelsmithError

__all__ = ["cubic", "resize_weights", "imresize", "imresize_uint8", "Imresize"]

_KERNEL_WIDTH = 4.0


def cubic(x: np.ndarray) -> np.ndarray:
    """Keys' cubic convolution kernel, ``a = -0.5`` (MATLAB's ``cubic``); support ``[-2, 2]``."""
    ax = np.abs(x)
    ax2 = ax * ax
    ax3 = ax2 * ax
    inner = (1.5 * ax3 - 2.5 * ax2 + 1.0) * (ax <= 1)
    outer = (-0.5 * ax3 + 2.5 * ax2 - 4.0 * ax + 2.0) * ((ax > 1) & (ax <= 2))
    return inner + outer


@lru_cache(maxsize=128)
def _weight_matrix(in_len: int, out_len: int, scale: float, antialias: bool) -> torch.Tensor:
    if scale < 1 and antialias:
        width = _KERNEL_WIDTH / scale

        def kernel(d: np.ndarray) -> np.ndarray:
            return scale * cubic(scale * d)
    else:
        width = _KERNEL_WIDTH
        kernel = cubic
    x = np.arange(1, out_len + 1, dtype=np.float64)
    u = x / scale + 0.5 * (1.0 - 1.0 / scale)
    left = np.floor(u - width / 2.0)
    taps = int(math.ceil(width)) + 2
    indices = left[:, None] + np.arange(taps, dtype=np.float64)[None, :]  # 1-based
    weights = kernel(u[:, None] - indices)
    weights = weights / weights.sum(axis=1, keepdims=True)
    mirror = np.concatenate([np.arange(in_len), np.arange(in_len - 1, -1, -1)])  # 0-based
    cols = mirror[np.mod(indices.astype(np.int64) - 1, 2 * in_len)]
    rows = np.broadcast_to(np.arange(out_len)[:, None], cols.shape)
    matrix = np.zeros((out_len, in_len), dtype=np.float64)
    np.add.at(matrix, (rows, cols), weights)
    return torch.from_numpy(matrix)


@lru_cache(maxsize=32)
def _weight_matrix_on(
    in_len: int,
    out_len: int,
    scale: float,
    antialias: bool,
    device: torch.device,
    dtype: torch.dtype,
) -> torch.Tensor:
    return _weight_matrix(in_len, out_len, scale, antialias).to(device=device, dtype=dtype)


def resize_weights(in_len: int, out_len: int, scale: float, antialias: bool = True) -> torch.Tensor:
    """The ``(out_len, in_len)`` float64 matrix that resizes one axis (MATLAB's ``contributions``).

    Row ``i`` holds the weights of output sample ``i`` (rows sum to 1), with taps beyond the border
    mirrored back inside. ``resized = weights @ signal``.

    Args:
        in_len: input length along the axis, >= 1.
        out_len: output length, >= 1.
        scale: the scale factor MATLAB uses for this axis (the one given, or ``out_len / in_len``).
        antialias: stretch the kernel by ``1 / scale`` when ``scale < 1``.
    """
    if in_len < 1 or out_len < 1:
        raise PixelsmithError(f"resize lengths must be >= 1, got {in_len} -> {out_len}")
    if not scale > 0 or not math.isfinite(scale):
        raise PixelsmithError(f"resize scale must be a positive number, got {scale}")
    return _weight_matrix(int(in_len), int(out_len), float(scale), bool(antialias)).clone()


def _plan(
    shape: Sequence[int], scale: float | Sequence[float] | None, size: Sequence[int] | None
) -> tuple[tuple[int, int], tuple[float, float]]:
    """Output size and per-axis scale, as MATLAB derives them."""
    height, width = int(shape[-2]), int(shape[-1])
    if (scale is None) == (size is None):
        raise PixelsmithError("imresize needs exactly one of scale= or size=")
    if size is not None:
        if len(size) != 2:
            raise PixelsmithError(f"size must be (height, width), got {size!r}")
        out = (int(size[0]), int(size[1]))
        if min(out) < 1:
            raise PixelsmithError(f"output size must be positive, got {out}")
        scales = (out[0] / height, out[1] / width)
    else:
        pair = (scale, scale) if isinstance(scale, (int, float)) else tuple(scale)
        if len(pair) != 2:
            raise PixelsmithError(f"scale must be a number or (sy, sx), got {scale!r}")
        scales = (float(pair[0]), float(pair[1]))
        if not all(s > 0 and math.isfinite(s) for s in scales):
            raise PixelsmithError(f"scale must be positive, got {scale!r}")
        out = (math.ceil(scales[0] * height), math.ceil(scales[1] * width))
        if min(out) < 1:
            raise PixelsmithError(f"scale {scale!r} leaves no pixels of a {height}x{width} image")
    return out, scales


def _resize(
    x: torch.Tensor,
    scale: float | Sequence[float] | None,
    size: Sequence[int] | None,
    antialias: bool,
    round_each_pass: bool,
) -> torch.Tensor:
    if x.ndim < 2:
        raise PixelsmithError(f"imresize needs a tensor of shape (*, H, W), got {tuple(x.shape)}")
    if min(x.shape[-2:]) < 1:
        raise PixelsmithError(f"imresize needs a non-empty image, got {tuple(x.shape)}")
    out, scales = _plan(x.shape, scale, size)
    work = torch.float32 if x.device.type == "mps" else torch.float64
    y = x.to(work)
    order = sorted((0, 1), key=lambda axis: scales[axis])  # stable: height first on ties
    for axis in order:
        in_len = y.shape[-2 + axis]
        weights = _weight_matrix_on(in_len, out[axis], scales[axis], antialias, x.device, work)
        y = weights @ y if axis == 0 else y @ weights.T
        if round_each_pass:
            y = torch.floor(y + 0.5).clamp_(0, 255)
    return y


def imresize(
    x: torch.Tensor,
    scale: float | Sequence[float] | None = None,
    *,
    size: Sequence[int] | None = None,
    antialias: bool = True,
) -> torch.Tensor:
    r"""Resize like MATLAB's ``imresize(x, scale, 'bicubic')`` (antialiased when shrinking).

    Computed in float64 (float32 on MPS) and returned in the input dtype; differentiable in ``x``.
    Values are not clipped: bicubic overshoots a little at edges. For MATLAB's behaviour on
    ``uint8`` images (rounding after each axis) use :func:`imresize_uint8`.

    Args:
        x: float tensor ``(*, H, W)``: ``(B, C, H, W)``,
            ``(C, H, W)`` or ``(H, W)``; any range.
        scale: a factor for both axes, or ``(sy, sx)``; the output is ``ceil(scale * size)``.
            Downscaling by an integer ``s`` is ``scale=1 / s``.
        size: output ``(height, width)`` instead of ``scale``.
        antialias: widen the kernel when shrinking, as MATLAB does by default.

    Returns:
        The resized tensor ``(*, H_out, W_out)``, same dtype and device as ``x``.

    Example:
        >>> lr = imresize(torch.rand(1, 1, 12, 12), 1 / 3)  # (1, 1, 4, 4)
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"imresize takes a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(
            f"imresize takes a float tensor (use imresize_uint8 for uint8), got {x.dtype}"
        )
    return _resize(x, scale, size, antialias, round_each_pass=False).to(x.dtype)


def imresize_uint8(
    x: torch.Tensor,
    scale: float | Sequence[float] | None = None,
    *,
    size: Sequence[int] | None = None,
    antialias: bool = True,
) -> torch.Tensor:
    """MATLAB ``imresize`` on ``uint8``: rounds (half away from zero) and saturates after each axis.

    Args:
        x: ``uint8`` tensor ``(*, H, W)``, values ``0..255``.
        scale, size, antialias: as :func:`imresize`.

    Returns:
        ``uint8`` tensor ``(*, H_out, W_out)``. Not differentiable.
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"imresize_uint8 takes a torch.Tensor, got {type(x).__name__}")
    if x.dtype != torch.uint8:
        raise TypeError(f"imresize_uint8 takes a uint8 tensor, got {x.dtype}")
    return _resize(x, scale, size, antialias, round_each_pass=True).to(torch.uint8)


class Imresize(nn.Module):
    """Module form of :func:`imresize`. Shape: ``(*, H, W)`` -> ``(*, H_out, W_out)``.

    Args:
        scale: factor for both axes or ``(sy, sx)``; or give ``size``.
        size: output ``(height, width)``.
        antialias: widen the kernel when shrinking.
    """

    def __init__(
        self,
        scale: float | Sequence[float] | None = None,
        *,
        size: Sequence[int] | None = None,
        antialias: bool = True,
    ) -> None:
        super().__init__()
        if (scale is None) == (size is None):
            raise PixelsmithError("Imresize needs exactly one of scale= or size=")
        self.scale = scale
        self.size = None if size is None else tuple(size)
        self.antialias = antialias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return imresize(x, self.scale, size=self.size, antialias=self.antialias)

    def extra_repr(self) -> str:
        what = f"size={self.size}" if self.size is not None else f"scale={self.scale}"
        return f"{what}, antialias={self.antialias}"
