"""Activation functions of CNNs 101, each beside its closed-form derivative.

Every function takes a tensor of any shape and returns one of the same shape (``maxout`` divides one
dimension by its number of pieces). The ``*_grad`` functions give ``df/dx`` elementwise, by formula
rather than by autograd, so tests can hold autograd to them:

    sigmoid(x)    = 1 / (1 + e^-x)                 sigmoid'(x) = s (1 - s)        in (0, 1/4]
    tanh(x)                                        tanh'(x)    = 1 - tanh(x)^2    in (0, 1]
    relu(x)       = max(0, x)                      relu'(x)    = 1 if x > 0 else 0
    leaky_relu(x) = x if x > 0 else a x  (a = 0.1) leaky'(x)   = 1 if x > 0 else a
    elu(x)        = x if x > 0 else alpha (e^x - 1) elu'(x)    = 1 if x > 0 else alpha e^x
    maxout(z_1..z_k) = max_i z_i                   d/dz_i      = 1 for the (first) largest, else 0

At the kinks (x = 0) the derivatives follow PyTorch's autograd: relu' = 0, leaky' = a, elu' = alpha.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from pixelsmith.errors import PixelsmithError

LEAKY_SLOPE = 0.1
"""The leaky-ReLU slope the lecture uses (PyTorch's default is 0.01)."""


def sigmoid(x: torch.Tensor) -> torch.Tensor:
    """Logistic function ``1 / (1 + e^-x)``, values in (0, 1); saturates for large ``|x|``."""
    return torch.sigmoid(x)


def sigmoid_grad(x: torch.Tensor) -> torch.Tensor:
    """``sigmoid'(x) = s (1 - s)``: at most 1/4 (at 0), about ``e^-|x|`` far from it."""
    s = torch.sigmoid(x)
    return s * (1 - s)


def tanh(x: torch.Tensor) -> torch.Tensor:
    """Hyperbolic tangent, values in (-1, 1), zero-centred; ``tanh(x) = 2 sigmoid(2x) - 1``."""
    return torch.tanh(x)


def tanh_grad(x: torch.Tensor) -> torch.Tensor:
    """``tanh'(x) = 1 - tanh(x)^2``: 1 at 0, vanishing for large ``|x|``."""
    return 1 - torch.tanh(x) ** 2


def relu(x: torch.Tensor) -> torch.Tensor:
    """Rectified linear unit ``max(0, x)``."""
    return torch.relu(x)


def relu_grad(x: torch.Tensor) -> torch.Tensor:
    """``1`` where ``x > 0``, else ``0``: a unit whose input is always negative never learns."""
    return (x > 0).to(x.dtype)


def leaky_relu(x: torch.Tensor, slope: float = LEAKY_SLOPE) -> torch.Tensor:
    """``x`` for ``x > 0``, ``slope * x`` otherwise (slope 0.1 as in the lecture)."""
    return torch.where(x > 0, x, slope * x)


def leaky_relu_grad(x: torch.Tensor, slope: float = LEAKY_SLOPE) -> torch.Tensor:
    """``1`` where ``x > 0``, else ``slope``: never exactly zero, so no unit dies."""
    return torch.where(x > 0, torch.ones_like(x), torch.full_like(x, slope))


def elu(x: torch.Tensor, alpha: float = 1.0) -> torch.Tensor:
    """Exponential linear unit: ``x`` for ``x > 0``, else ``alpha (e^x - 1)`` (floor ``-alpha``)."""
    return torch.where(x > 0, x, alpha * torch.expm1(torch.clamp(x, max=0)))


def elu_grad(x: torch.Tensor, alpha: float = 1.0) -> torch.Tensor:
    """``1`` where ``x > 0``, else ``alpha e^x``."""
    return torch.where(x > 0, torch.ones_like(x), alpha * torch.exp(torch.clamp(x, max=0)))


def _split_pieces(z: torch.Tensor, pieces: int, dim: int) -> tuple[torch.Tensor, int]:
    dim = dim % z.ndim
    if pieces < 1 or z.shape[dim] % pieces:
        raise PixelsmithError(
            f"maxout: dimension {dim} of size {z.shape[dim]} is not a multiple of pieces={pieces}"
        )
    shape = (*z.shape[:dim], z.shape[dim] // pieces, pieces, *z.shape[dim + 1 :])
    return z.reshape(shape), dim + 1


def maxout(z: torch.Tensor, pieces: int, dim: int = 1) -> torch.Tensor:
    """Maximum over groups of ``pieces`` consecutive entries of ``dim``.

    ``z`` ``(..., k * n, ...)`` -> ``(..., n, ...)``; output ``j`` is
    ``max(z[j k], ..., z[j k + k - 1])``.
    With ``z`` the outputs of ``k`` linear (or conv) pieces this is Goodfellow et al.'s maxout unit,
    a learned convex piecewise-linear activation (ReLU is maxout of ``(x, 0)``).
    """
    grouped, d = _split_pieces(z, pieces, dim)
    return grouped.amax(dim=d)


def maxout_grad(z: torch.Tensor, pieces: int, dim: int = 1) -> torch.Tensor:
    """``d maxout / d z``, same shape as ``z``: 1 at each group's (first) maximum, 0 elsewhere."""
    grouped, d = _split_pieces(z, pieces, dim)
    onehot = torch.zeros_like(grouped).scatter_(d, grouped.argmax(dim=d, keepdim=True), 1.0)
    return onehot.reshape(z.shape)


class LeakyReLU(nn.LeakyReLU):
    """:class:`torch.nn.LeakyReLU` with the lecture's slope 0.1 as its default."""

    def __init__(self, negative_slope: float = LEAKY_SLOPE, inplace: bool = False) -> None:
        super().__init__(negative_slope, inplace)


ACTIVATIONS: dict[
    str, tuple[Callable[[torch.Tensor], torch.Tensor], Callable[[torch.Tensor], torch.Tensor]]
] = {
    "sigmoid": (sigmoid, sigmoid_grad),
    "tanh": (tanh, tanh_grad),
    "relu": (relu, relu_grad),
    "leaky_relu": (leaky_relu, leaky_relu_grad),
    "elu": (elu, elu_grad),
}
"""Elementwise activations by name: ``(function, closed-form derivative)``, default parameters."""
