"""LRNet: a small residual network that works in low-resolution space and upsamples at the end.

The successor to SRCNN in pixelsmith. Like ESPCN and FSRCNN it convolves the *low-resolution* image,
so every layer costs 1/scale^2 of what it would on the output grid, and it ends in a sub-pixel
convolution (``PixelShuffle``). Unlike them it learns a residual over nearest-neighbour upsampling
of the input, which makes training start from a sensible image and converge faster.

    LR (B, C, h, w) -> conv3x3 -> [conv3x3 -> ReLU -> conv3x3 + skip] x blocks -> conv3x3 (C*s^2)
                    -> PixelShuffle(s) -> + nearest(LR) -> HR (B, C, s*h, s*w)
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from pixelsmith.models._registry import ModelSpec, register_model


class ResidualBlock(nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(width, width, 3, padding=1)
        self.conv2 = nn.Conv2d(width, width, 3, padding=1)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(self.act(self.conv1(x)))


class LRNet(nn.Module):
    """Input ``(B, C, h, w)`` low-resolution image in [0, 1]; output ``(B, C, scale*h, scale*w)``."""

    def __init__(self, scale: int = 3, width: int = 32, blocks: int = 3, channels: int = 1) -> None:
        super().__init__()
        self.scale = scale
        self.channels = channels
        self.head = nn.Conv2d(channels, width, 3, padding=1)
        self.body = nn.Sequential(*[ResidualBlock(width) for _ in range(blocks)])
        self.body_act = nn.ReLU(inplace=True)
        self.tail = nn.Conv2d(width, channels * scale * scale, 3, padding=1)
        self.shuffle = nn.PixelShuffle(scale)
        nn.init.zeros_(self.tail.weight)
        nn.init.zeros_(self.tail.bias)

    @property
    def receptive_field(self) -> int:
        """Receptive field in *input* pixels."""
        return 2 * (2 + 2 * len(self.body)) + 1

    @property
    def spec(self) -> ModelSpec:
        return ModelSpec(self.channels, self.channels, self.scale, self.receptive_field)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feat = self.head(x)
        feat = self.body_act(self.body(feat))
        out = self.shuffle(self.tail(feat))
        return out + F.interpolate(x, scale_factor=self.scale, mode="nearest")


@register_model(tasks=("superres",))
def lrnet_s(scale: int = 3, **kw) -> LRNet:
    """LRNet small: width 32, 3 residual blocks (about 60k parameters)."""
    return LRNet(scale, width=kw.pop("width", 32), blocks=kw.pop("blocks", 3), **kw)


@register_model(tasks=("superres",))
def lrnet_m(scale: int = 3, **kw) -> LRNet:
    """LRNet medium: width 48, 4 residual blocks (about 170k parameters)."""
    return LRNet(scale, width=kw.pop("width", 48), blocks=kw.pop("blocks", 4), **kw)
