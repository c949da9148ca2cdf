"""Partial convolution with mask update (Liu, Reda, Shih, Wang, Tao, Catanzaro, ECCV 2018).

A convolution that sees only the known pixels of its window and renormalises for how many it saw:

    x' = W^T (X * M) * sum(1) / sum(M) + b     where sum(M) > 0, else 0
    m' = 1                                      where sum(M) > 0, else 0

``X`` is the window of the input ``(C_in, k, k)``, ``M`` the same window of the mask (1 = known,
0 = hole), ``sum(1)`` the number of mask entries in a window (``k * k``, times ``C_in`` for a
per-channel mask). Each layer's output mask grows into the hole by the kernel's reach, so enough
layers fill any hole; and on a constant image the renormalised sum is the same whatever part of
the window is known, so a constant image stays constant under any mask.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


def partial_conv2d(
    x: torch.Tensor,
    mask: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    dilation: int | tuple[int, int] = 1,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Partial convolution of ``x`` ``(B, C_in, H, W)`` under ``mask`` ``(B, 1 or C_in, H, W)``
    (1 = known, 0 = hole) with ``weight`` ``(C_out, C_in, kh, kw)``.

    Returns ``(x', m')``: ``x'`` ``(B, C_out, H', W')``, zero where the window saw no known pixel;
    ``m'`` ``(B, 1, H', W')`` for a one-channel mask, ``(B, C_out, H', W')`` (all channels equal)
    for a per-channel one, so that it can be concatenated beside other masks.
    """
    if mask.shape[1] not in (1, x.shape[1]) or mask.shape[-2:] != x.shape[-2:]:
        raise ValueError(f"mask {tuple(mask.shape)} does not fit the input {tuple(x.shape)}")
    mask = mask.to(x.dtype)
    kh, kw = weight.shape[-2:]
    with torch.no_grad():
        ones = torch.ones(1, mask.shape[1], kh, kw, dtype=x.dtype, device=x.device)
        seen = F.conv2d(mask, ones, None, stride, padding, dilation)  # sum(M) per window
        valid = (seen > 0).to(x.dtype)
        ratio = (mask.shape[1] * kh * kw) / seen.clamp(min=1.0) * valid  # sum(1) / sum(M)
    out = F.conv2d(x * mask, weight, None, stride, padding, dilation) * ratio
    if bias is not None:
        out = out + bias.view(1, -1, 1, 1) * valid
    new_mask = valid if mask.shape[1] == 1 else valid.expand(-1, weight.shape[0], -1, -1)
    return out, new_mask


class PartialConv2d(nn.Conv2d):
    """:class:`torch.nn.Conv2d` as a partial convolution: ``forward(x, mask) -> (x', m')``
    (see :func:`partial_conv2d`). ``groups`` other than 1 and padding modes other than zeros are
    not supported."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.groups != 1 or self.padding_mode != "zeros":
            raise ValueError("PartialConv2d supports groups=1 and zero padding only")
        if isinstance(self.padding, str):
            raise ValueError("PartialConv2d takes a numeric padding")

    def forward(  # type: ignore[override]
        self, x: torch.Tensor, mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        return partial_conv2d(
            x, mask, self.weight, self.bias, self.stride, self.padding, self.dilation
        )
