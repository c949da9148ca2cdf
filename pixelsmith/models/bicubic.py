"""Bicubic interpolation as a model: the baseline every SR table starts from."""

from __future__ import annotations

import torch
from torch import nn

from pixelsmith.models._registry import ModelSpec, register_model
from pixelsmith.resize import imresize


class Bicubic(nn.Module):
    """MATLAB-compatible bicubic upscaling, ``(B, C, h, w) -> (B, C, scale*h, scale*w)``; no parameters."""

    receptive_field = 5

    def __init__(self, scale: int = 3, channels: int = 1) -> None:
        super().__init__()
        self.scale = scale
        self.channels = channels

    @property
    def spec(self) -> ModelSpec:
        return ModelSpec(self.channels, self.channels, self.scale, self.receptive_field)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return imresize(x, self.scale)


@register_model(tasks=("superres",))
def bicubic(scale: int = 3, **kw) -> Bicubic:
    """MATLAB bicubic (the SR baseline)."""
    return Bicubic(scale, **kw)
