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

Each axis is a banded gather: output ``i`` is ``sum_k w[k, i] * x[idx[k, i]]`` over its few taps
(4 when upscaling, about ``4 / scale`` when shrinking with antialiasing), the mirrored indices folded
into ``idx``. The tables are computed in float64 and cached (a few, by lengths, scale and
antialiasing, and per device and dtype); both axes are done a chunk of output lines at a time, so the
cost is ``O(taps)`` per output pixel and the memory is the input, the output and a few MB. The
operation is linear, hence differentiable in the image.
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
_CHUNK_ELEMENTS = 1 << 20
"""Output values computed per chunk: bounds the temporaries to a few MB whatever the image size."""


def cubic(x: np.ndarray) -> np.ndarray:
    """Keys' cubic convolution kernel, ``a = -0.5`` (MATLAB's ``cubic``); support ``[-2, 2]``."""
    ax = np.abs(x)
    ax2 = ax * ax
    ax3 = ax2 * ax
    inner = (1.5 * ax3 - 2.5 * ax2 + 1.0) * (ax <= 1)
    outer = (-0.5 * ax3 + 2.5 * ax2 - 4.0 * ax + 2.0) * ((ax > 1) & (ax <= 2))
    return inner + outer


@lru_cache(maxsize=64)
def _taps(
    in_len: int, out_len: int, scale: float, antialias: bool
) -> tuple[np.ndarray, np.ndarray]:
    """MATLAB's ``contributions`` for one axis: ``(taps, out_len)`` input indices and weights.

    Indices are 0-based with the symmetric padding folded in; weights are float64 and sum to 1
    over ``taps`` for each output. Taps whose weight is zero for every output are dropped, so
    ``taps`` is 4 when upscaling and about ``4 / scale`` when shrinking with ``antialias``.
    """
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
    indices = left[None, :] + np.arange(taps, dtype=np.float64)[:, None]  # 1-based
    weights = kernel(u[None, :] - indices)
    weights = weights / weights.sum(axis=0, keepdims=True)
    mirror = np.concatenate([np.arange(in_len), np.arange(in_len - 1, -1, -1)])  # 0-based
    cols = mirror[np.mod(indices.astype(np.int64) - 1, 2 * in_len)]
    used = np.any(weights != 0, axis=1)
    cols, weights = np.ascontiguousarray(cols[used]), np.ascontiguousarray(weights[used])
    cols.setflags(write=False)
    weights.setflags(write=False)
    return cols, weights


@lru_cache(maxsize=32)
def _taps_on(
    in_len: int,
    out_len: int,
    scale: float,
    antialias: bool,
    device: torch.device,
    dtype: torch.dtype,
) -> tuple[torch.Tensor, torch.Tensor]:
    cols, weights = _taps(in_len, out_len, scale, antialias)
    return (
        torch.from_numpy(cols.copy()).to(device),
        torch.from_numpy(weights.copy()).to(device=device, dtype=dtype),
    )


def resize_weights(in_len: int, out_len: int, scale: float, antialias: bool = True) -> torch.Tensor:
    """The ``(out_len, in_len)`` float64 matrix that resizes one axis (MATLAB's ``contributions``).

    Row ``i`` holds the weights of output sample ``i`` (rows sum to 1), with taps beyond the border
    mirrored back inside. ``resized = weights @ signal``. :func:`imresize` applies the same
    weights without building this matrix.

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
    cols, weights = _taps(int(in_len), int(out_len), float(scale), bool(antialias))
    matrix = np.zeros((int(out_len), int(in_len)), dtype=np.float64)
    rows = np.broadcast_to(np.arange(int(out_len))[None, :], cols.shape)
    np.add.at(matrix, (rows, cols), weights)
    return torch.from_numpy(matrix)


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


def _work_dtype(x: torch.Tensor) -> torch.dtype:
    """float64 for float64 and uint8 images (MATLAB's rounding needs it), float32 otherwise."""
    if x.dtype == torch.float64 or not x.is_floating_point():
        return torch.float32 if x.device.type == "mps" else torch.float64
    return torch.float32


def _resize_along(
    x: torch.Tensor, dim: int, cols: torch.Tensor, weights: torch.Tensor, start: int, stop: int
) -> torch.Tensor:
    """Outputs ``start:stop`` of ``x`` resized along ``dim`` (1 or 2).

    ``x`` is ``(B, H, W)``, contiguous; ``cols`` (int64) and ``weights`` are ``(taps, out)``. The
    result has ``stop - start`` samples along ``dim`` and the dtype of ``weights``:
    ``sum_k x.index_select(dim, cols[k]) * weights[k]``, accumulated in place.
    """
    if dim == 2:  # a gather along the rows of a matrix is much faster than along a 3-D tensor's
        src, shape = x.reshape(-1, x.shape[2]), (-1,)
    else:
        src, shape = x, (-1, 1)
    acc = None
    for index, weight in zip(cols[:, start:stop], weights[:, start:stop], strict=True):
        gathered = src.index_select(1, index).to(weight.dtype)
        if acc is None:
            acc = gathered * weight.view(shape)
        else:
            acc.addcmul_(gathered, weight.view(shape))
    return acc.view(*x.shape[:2], -1) if dim == 2 else acc


def _round_saturate(y: torch.Tensor) -> torch.Tensor:
    return torch.floor(y + 0.5).clamp_(0, 255)


def _resize(
    x: torch.Tensor,
    scale: float | Sequence[float] | None,
    size: Sequence[int] | None,
    antialias: bool,
    round_each_pass: bool,
) -> torch.Tensor:
    """Both passes, in chunks of the first-resized axis: no full-size intermediate is kept."""
    if x.ndim < 2:
        raise PixelsmithError(f"imresize needs a tensor of shape (*, H, W), got {tuple(x.shape)}")
    if min(x.shape[-2:]) < 1:
        raise PixelsmithError(f"imresize needs a non-empty image, got {tuple(x.shape)}")
    out, scales = _plan(x.shape, scale, size)
    work = _work_dtype(x)
    first, second = sorted((0, 1), key=lambda axis: scales[axis])  # stable: height first on ties
    tables = [
        _taps_on(x.shape[-2 + axis], out[axis], scales[axis], antialias, x.device, work)
        for axis in (0, 1)
    ]
    lead, (height, width) = x.shape[:-2], x.shape[-2:]
    x = x.reshape(-1, height, width).contiguous()
    across = max(x.shape[1 + second], out[second])
    step = max(1, _CHUNK_ELEMENTS // max(1, x.shape[0] * across))
    result = None
    for start in range(0, out[first], step):
        stop = min(start + step, out[first])
        y = _resize_along(x, first + 1, *tables[first], start, stop)
        if round_each_pass:
            y = _round_saturate(y)
        y = _resize_along(y, second + 1, *tables[second], 0, out[second])
        if round_each_pass:
            y = _round_saturate(y)
        if stop - start == out[first]:
            return y.to(x.dtype).reshape(*lead, *out)
        if result is None:
            result = x.new_empty((x.shape[0], *out))
        result.narrow(first + 1, start, stop - start).copy_(y)
    return result.reshape(*lead, *out)


def imresize(
    x: torch.Tensor,
    scale: float | Sequence[float] | None = None,
    *,
    size: Sequence[int] | None = None,
    antialias: bool = True,
) -> torch.Tensor:
    r"""Resize like MATLAB's ``imresize(x, scale, 'bicubic')`` (antialiased when shrinking).

    Computed in float64 for float64 input and in float32 otherwise (the weights are float64,
    rounded to the working dtype), returned in the input dtype; differentiable in ``x``.
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
    return _resize(x, scale, size, antialias, round_each_pass=False)


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
    return _resize(x, scale, size, antialias, round_each_pass=True)


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
