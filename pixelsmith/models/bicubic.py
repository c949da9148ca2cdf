"""Bicubic interpolation as a model: the baseline every SR table starts from."""

from __future__ import annotations

import torch
from torch import nn

from pixelsmith.models._registry import register_model
from pixelsmith.resize import imresize


class Bicubic(nn.Module):
    """MATLAB-compatible bicubic upscaling, ``(B, C, h, w) -> (B, C, scale*h, scale*w)``; no parameters."""

    receptive_field = 5

    def __init__(self, scale: int = 3, channels: int = 1) -> None:
        super().__init__()
        self.scale = scale
        self.in_channels = self.out_channels = channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return imresize(x, self.scale)


@register_model(task="superres")
def bicubic(scale: int = 3, **kw) -> Bicubic:
    """MATLAB bicubic (the SR baseline)."""
    return Bicubic(scale, **kw)
