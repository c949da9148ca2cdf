"""Export-friendly forms of what the models compute with shape-dependent Python.

An exported graph must work at any height and width, but a few steps compute tables from the
input's size in Python (NumPy tap tables, pooling bins), which an exporter records as constants
of the traced size. :func:`traceable` gives a copy of a model in which those steps are computed
from the input's shape by tensor operations instead, with the same result:

- MATLAB bicubic upscaling by an integer factor (:func:`pixelsmith.resize.imresize`, the first
  step of SRCNN) is a fixed 5-tap polyphase filter after a 2-pixel symmetric pad
  (:func:`bicubic_upscale`);
- adaptive average pooling to a fixed size is two pooling matrices built from the input's size
  (:func:`adaptive_avg_pool2d`);
- weight parametrizations (spectral normalisation) are baked into plain weights;
- for the TorchScript-based tracer, tensor-factory sizes taken from shapes (a partial
  convolution's kernel of ones, ``(1, C, k, k)``) are frozen at their traced values, so that the
  kernel's shape is known; a size that really varied would be caught by the export's own check
  at other sizes (:func:`pixelsmith.export.convert.export_model`).

Every rewrite is checked against the original in ``tests/test_export.py``.
"""

from __future__ import annotations

import copy
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn
from torch.nn import functional as F
from torch.overrides import TorchFunctionMode

from pixelsmith import resize
from pixelsmith.resize import resize_weights

#: Taps each side of an input pixel that bicubic upscaling reads (the kernel's support is 2).
_BICUBIC_REACH = 2


def bicubic_phases(scale: int) -> torch.Tensor:
    """The ``(scale, 5)`` float64 weights of MATLAB bicubic upscaling by an integer ``scale``:
    output ``scale * m + p`` is ``sum_j w[p, j] * x[m + j - 2]``, taken from
    :func:`pixelsmith.resize.resize_weights` away from the border."""
    n = 2 * _BICUBIC_REACH + 3  # an interior input pixel, m = reach + 1, has 2 taps each side
    m = _BICUBIC_REACH + 1
    matrix = resize_weights(n, scale * n, float(scale), antialias=True)
    rows = matrix[scale * m : scale * (m + 1)]
    return rows[:, m - _BICUBIC_REACH : m + _BICUBIC_REACH + 1].contiguous()


def _symmetric_pad(x: torch.Tensor, dim: int) -> torch.Tensor:
    """``x`` grown by 2 mirrored samples (edge included, MATLAB's ``symmetric``) on both ends of
    ``dim``; by slices, so that it traces at any length >= 2."""
    first, second = x.narrow(dim, 0, 1), x.narrow(dim, 1, 1)
    n = x.shape[dim]
    last, before = x.narrow(dim, n - 1, 1), x.narrow(dim, n - 2, 1)
    return torch.cat([second, first, x, last, before], dim)


def bicubic_upscale(x: torch.Tensor, scale: int) -> torch.Tensor:
    """``imresize(x, scale)`` for an integer ``scale >= 1`` as convolutions: ``(N, C, H, W)``
    -> ``(N, C, scale*H, scale*W)``, sides at least 2. Height first, then width, as MATLAB."""
    if scale == 1:
        return x
    w = bicubic_phases(scale).to(x.dtype)
    n, c = x.shape[0], x.shape[1]
    y = x.reshape(-1, 1, x.shape[2], x.shape[3])
    y = F.conv2d(_symmetric_pad(y, 2), w.view(scale, 1, -1, 1).to(y.device))  # (NC, s, H, W+0)
    y = y.transpose(1, 2).reshape(y.shape[0], 1, -1, y.shape[3])  # (NC, 1, sH, W)
    y = F.conv2d(_symmetric_pad(y, 3), w.view(scale, 1, 1, -1).to(y.device))  # (NC, s, sH, W)
    y = y.permute(0, 2, 3, 1).reshape(y.shape[0], y.shape[2], -1)  # (NC, sH, sW)
    return y.reshape(n, c, y.shape[1], y.shape[2])


def _pool_matrix(n: torch.Tensor | int, size: int, dtype: torch.dtype, device) -> torch.Tensor:
    """``(size, n)``: row ``i`` averages inputs ``floor(i n / size) .. ceil((i + 1) n / size) - 1``,
    PyTorch's adaptive-pooling bins; ``n`` may be a traced size."""
    i = torch.arange(size, device=device)
    start = torch.div(i * n, size, rounding_mode="floor")
    end = torch.div((i + 1) * n + size - 1, size, rounding_mode="floor")
    j = torch.arange(n, device=device)
    inside = (j[None, :] >= start[:, None]) & (j[None, :] < end[:, None])
    return inside.to(dtype) / (end - start).to(dtype)[:, None]


def adaptive_avg_pool2d(x: torch.Tensor, output_size) -> torch.Tensor:
    """:func:`torch.nn.functional.adaptive_avg_pool2d` to a fixed ``output_size`` as two matrix
    products whose matrices are built from ``x``'s size: ``(N, C, H, W)`` -> ``(N, C, h, w)``."""
    oh, ow = (output_size, output_size) if isinstance(output_size, int) else output_size
    rows = _pool_matrix(x.shape[-2], int(oh), x.dtype, x.device)
    cols = _pool_matrix(x.shape[-1], int(ow), x.dtype, x.device)
    return rows @ x @ cols.transpose(0, 1)


def _traceable_imresize(x: torch.Tensor, scale=None, *args, **kwargs) -> torch.Tensor:
    """:func:`~pixelsmith.resize.imresize`, as convolutions where it is an integer upscale."""
    if (
        not args
        and not kwargs.get("size")
        and isinstance(scale, (int, float))
        and scale >= 1
        and float(scale).is_integer()
        and x.dim() == 4
    ):
        return bicubic_upscale(x, int(scale))
    return resize.imresize(x, scale, *args, **kwargs)


_FACTORIES = frozenset({torch.ones, torch.zeros, torch.empty, torch.full})


class _ExportOps(TorchFunctionMode):
    """Routes the operations above to their export-friendly forms while a model is traced."""

    def __init__(self, freeze_sizes: bool) -> None:
        super().__init__()
        self.freeze_sizes = freeze_sizes

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func is F.adaptive_avg_pool2d:
            size = args[1] if len(args) > 1 else kwargs.get("output_size")
            sizes = (size,) if isinstance(size, int) else tuple(size)
            if all(isinstance(s, int) for s in sizes):
                return adaptive_avg_pool2d(args[0], size)
        if self.freeze_sizes and func in _FACTORIES and torch.jit.is_tracing():
            args = tuple(_frozen(a) for a in args)
        return func(*args, **kwargs)


def _frozen(arg):
    if isinstance(arg, torch.Tensor) and arg.dim() == 0 and not arg.is_floating_point():
        return int(arg)
    if isinstance(arg, (tuple, list)):
        return type(arg)(_frozen(a) for a in arg)
    return arg


def _bake_parametrizations(model: nn.Module) -> None:
    """Replace parametrized weights (spectral norm) by their current values, in place."""
    from torch.nn.utils import parametrize

    for module in list(model.modules()):
        if parametrize.is_parametrized(module):
            # a deep copy shares its parametrized class with the original, and removing a
            # parametrization edits that class: give this module a class of its own first
            cls = module.__class__
            module.__class__ = type(cls.__name__, cls.__bases__, dict(cls.__dict__))
            for name in list(module.parametrizations):
                parametrize.remove_parametrizations(module, name, leave_parametrized=True)


@contextmanager
def _patched_imresize() -> Iterator[None]:
    """The ``imresize`` name of every pixelsmith module that imported it (not
    :mod:`pixelsmith.resize` itself, whose function the rewrite falls back on), pointed at
    :func:`_traceable_imresize`, and put back as it was."""
    original = resize.imresize
    patched = [
        module
        for name, module in list(sys.modules.items())
        if name.startswith("pixelsmith.")
        and module not in (resize, sys.modules[__name__])
        and getattr(module, "imresize", None) is original
    ]
    for module in patched:
        module.imresize = _traceable_imresize
    try:
        yield
    finally:
        for module in patched:
            module.imresize = original


@contextmanager
def traceable(model: nn.Module, *, freeze_sizes: bool = False) -> Iterator[nn.Module]:
    """A float32 eval-mode copy of ``model`` and, while the block runs, the export-friendly
    forms of its shape-dependent steps (see the module doc). ``freeze_sizes`` is for the
    TorchScript tracer, which records sizes read from shapes as graph values."""
    net = copy.deepcopy(model).float().eval()
    _bake_parametrizations(net)
    for p in net.parameters():
        p.requires_grad_(False)
    with _patched_imresize(), _ExportOps(freeze_sizes), torch.no_grad():
        yield net


__all__ = ["adaptive_avg_pool2d", "bicubic_phases", "bicubic_upscale", "traceable"]
