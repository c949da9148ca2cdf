"""Layers of CNNs 101: fully-connected, locally-connected, maxout, and pooling.

Three ways to connect an image ``(C, H, W)`` to a layer of hidden units, most weights first:

* fully connected (:class:`FullyConnected`): every unit sees every pixel, ``C*H*W`` weights each;
* locally connected (:class:`LocallyConnected2d`): every unit sees a ``k x k`` window, and each
  output position has its *own* filter (``C*k*k`` weights per unit, unshared);
* convolutional (:class:`torch.nn.Conv2d`): the same window, one filter *shared* by all positions.

PyTorch has the first and the last; the locally-connected layer is written here with ``F.unfold``
(im2col) and one batched matrix product, and checked against a naive loop in the tests.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.modules.utils import _pair

from pixelsmith.nn.activations import maxout
from pixelsmith.nn.shapes import conv_output_size


class FullyConnected(nn.Module):
    """A dense layer on images: ``(B, C, H, W)`` -> flatten -> ``(B, out_features)``.

    ``C*H*W*out_features`` weights: a 200x200 grey image into 40,000 hidden units needs 1.6 billion
    (build it on ``device="meta"`` to count them without allocating 6.4 GB).
    """

    def __init__(
        self,
        in_shape: tuple[int, int, int],
        out_features: int,
        bias: bool = True,
        device: torch.device | str | None = None,
    ) -> None:
        super().__init__()
        self.in_shape = tuple(in_shape)
        self.linear = nn.Linear(math.prod(self.in_shape), out_features, bias=bias, device=device)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if tuple(x.shape[1:]) != self.in_shape:
            raise ValueError(f"FullyConnected expects (B, {self.in_shape}), got {tuple(x.shape)}")
        return self.linear(x.flatten(1))


def locally_connected2d(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    dilation: int | tuple[int, int] = 1,
) -> torch.Tensor:
    """Correlate ``x`` with a different filter at every output position (zero padding).

    Args:
        x: ``(B, C, H, W)``.
        weight: ``(oh, ow, O, C, kh, kw)``: at each output position ``(i, j)`` a Conv2d-shaped
            filter bank ``weight[i, j]``.
        bias: ``(O, oh, ow)`` (one per output unit) or ``None``.
        stride, padding, dilation: as for :func:`torch.nn.functional.conv2d`.

    Returns:
        ``(B, O, oh, ow)`` with ``out[b, o, i, j] = sum_{c,u,v} weight[i, j, o, c, u, v] *
        xpad[b, c, i*sh + u*dh, j*sw + v*dw] + bias[o, i, j]``.
    """
    oh, ow, o, c, kh, kw = weight.shape
    if x.ndim != 4 or x.shape[1] != c:
        raise ValueError(f"locally_connected2d: expected (B, {c}, H, W), got {tuple(x.shape)}")
    cols = F.unfold(x, (kh, kw), dilation=dilation, padding=padding, stride=stride)  # (B, K, L)
    if cols.shape[-1] != oh * ow:
        raise ValueError(
            f"locally_connected2d: input {tuple(x.shape[-2:])} gives "
            f"{cols.shape[-1]} output positions, the weights have {oh}x{ow}"
        )
    out = torch.einsum("bkl,lok->bol", cols, weight.reshape(oh * ow, o, c * kh * kw))
    out = out.reshape(x.shape[0], o, oh, ow)
    return out if bias is None else out + bias


class LocallyConnected2d(nn.Module):
    """Convolution-shaped layer with unshared weights: each output position has its own filters.

    Input ``(B, in_channels, H, W)`` with ``(H, W) == input_size``; output
    ``(B, out_channels, oh, ow)`` with ``oh = conv_output_size(H, kh, stride, padding, dilation)``
    (likewise ``ow``).

    Parameters: ``weight`` ``(oh, ow, out_channels, in_channels, kh, kw)`` and ``bias``
    ``(out_channels, oh, ow)``, that is ``oh*ow`` times a Conv2d's weights plus one bias per output
    unit. Setting every ``weight[i, j]`` to one Conv2d filter and every ``bias[:, i, j]`` to its
    bias gives exactly that Conv2d. Initialised like ``nn.Conv2d`` (uniform, ``+-1/sqrt(fan_in)``).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        input_size: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] = 0,
        dilation: int | tuple[int, int] = 1,
        bias: bool = True,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.input_size = _pair(kernel_size), _pair(input_size)
        self.stride, self.padding, self.dilation = _pair(stride), _pair(padding), _pair(dilation)
        self.output_size = tuple(
            conv_output_size(n, k, s, p, d)
            for n, k, s, p, d in zip(
                self.input_size,
                self.kernel_size,
                self.stride,
                self.padding,
                self.dilation,
                strict=True,
            )
        )
        kw = {"device": device, "dtype": dtype}
        self.weight = nn.Parameter(
            torch.empty(*self.output_size, out_channels, in_channels, *self.kernel_size, **kw)
        )
        self.bias = (
            nn.Parameter(torch.empty(out_channels, *self.output_size, **kw)) if bias else None
        )
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1 / math.sqrt(self.in_channels * self.kernel_size[0] * self.kernel_size[1])
        nn.init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if tuple(x.shape[-2:]) != self.input_size:
            raise ValueError(
                f"LocallyConnected2d built for {self.input_size} inputs, got {tuple(x.shape[-2:])}"
            )
        return locally_connected2d(
            x, self.weight, self.bias, self.stride, self.padding, self.dilation
        )

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"input_size={self.input_size}, stride={self.stride}, padding={self.padding}, "
            f"dilation={self.dilation}, bias={self.bias is not None}"
        )


class Maxout(nn.Module):
    """Maxout over ``pieces`` linear maps: ``(..., in_features)`` -> ``(..., out_features)``.

    ``y_j = max_i (W_ij x + b_ij)``: one :class:`torch.nn.Linear` with ``out_features * pieces``
    outputs, then :func:`~pixelsmith.nn.activations.maxout` over consecutive groups of ``pieces``.
    """

    def __init__(
        self, in_features: int, out_features: int, pieces: int = 2, bias: bool = True
    ) -> None:
        super().__init__()
        self.pieces = pieces
        self.linear = nn.Linear(in_features, out_features * pieces, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return maxout(self.linear(x), self.pieces, dim=-1)


class MaxoutConv2d(nn.Module):
    """Maxout of ``pieces`` convolutions: ``(B, in_channels, H, W)`` -> ``(B, out_channels, h, w)``.

    One :class:`torch.nn.Conv2d` with ``out_channels * pieces`` filters (extra keyword arguments go
    to it), then the maximum over each channel's ``pieces`` responses at every pixel.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        pieces: int = 2,
        **conv_kwargs,
    ) -> None:
        super().__init__()
        self.pieces = pieces
        self.conv = nn.Conv2d(in_channels, out_channels * pieces, kernel_size, **conv_kwargs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return maxout(self.conv(x), self.pieces, dim=1)


def max_pool2d(
    x: torch.Tensor,
    size: int | tuple[int, int] = 2,
    stride: int | tuple[int, int] | None = None,
    padding: int | tuple[int, int] = 0,
) -> torch.Tensor:
    """Maximum over ``size`` windows every ``stride`` pixels (default: ``stride = size``).

    ``(B, C, H, W)`` or ``(C, H, W)`` -> same leading dims, ``conv_output_size(H, size, stride,
    padding)`` by the same for ``W``. Padding counts as ``-inf``. The lecture's 2x2 stride-2 pool
    turns ``[[1,1,2,4],[5,6,7,8],[3,2,1,0],[1,2,3,4]]`` into ``[[6,8],[3,4]]``.
    """
    return F.max_pool2d(x, size, stride if stride is not None else size, padding)


def avg_pool2d(
    x: torch.Tensor,
    size: int | tuple[int, int] = 2,
    stride: int | tuple[int, int] | None = None,
    padding: int | tuple[int, int] = 0,
) -> torch.Tensor:
    """Mean over ``size`` windows every ``stride`` pixels (default: ``stride = size``).

    Shapes as :func:`max_pool2d`; padded pixels are left out of each mean (not counted as zeros).
    """
    return F.avg_pool2d(
        x, size, stride if stride is not None else size, padding, count_include_pad=False
    )
