"""SRCNN (Dong, Loy, He, Tang; ECCV 2014 / TPAMI 2016).

Three convolutions on the bicubic-upsampled luminance (the upsampling is the first step of
``forward``, so every SR model in pixelsmith maps the low-resolution image to the high-resolution one): patch extraction (f1 x f1, n1 = 64), non-linear
mapping (f2 x f2, n2 = 32), reconstruction (f3 x f3, 1). The variants are named by their kernel sizes:
9-1-5 (ECCV), 9-3-5 and 9-5-5 (TPAMI). Convolutions pad by replication so the output has the input's
size, as the authors' MATLAB demo (``imfilter(..., 'same', 'replicate')``) does.
"""

from __future__ import annotations

import torch
from torch import nn

from pixelsmith.models._registry import ModelSpec, register_model
from pixelsmith.resize import imresize


class SRCNN(nn.Module):
    """SRCNN on one channel.

    Input ``(B, C, h, w)``: the low-resolution image in [0, 1]; it is upscaled by MATLAB bicubic to
    ``(scale*h, scale*w)`` first (``scale = 1`` takes an input that is already upscaled).
    Output ``(B, C, scale*h, scale*w)``: the restored image (not clamped).
    """

    def __init__(
        self,
        scale: int = 3,
        f1: int = 9,
        f2: int = 5,
        f3: int = 5,
        n1: int = 64,
        n2: int = 32,
        channels: int = 1,
    ) -> None:
        super().__init__()
        self.scale = scale
        self.channels = channels
        self.conv1 = nn.Conv2d(channels, n1, f1, padding=f1 // 2, padding_mode="replicate")
        self.conv2 = nn.Conv2d(n1, n2, f2, padding=f2 // 2, padding_mode="replicate")
        self.conv3 = nn.Conv2d(n2, channels, f3, padding=f3 // 2, padding_mode="replicate")
        self.relu = nn.ReLU(inplace=True)
        # The paper's initialisation: zero-mean Gaussians, std 1e-3 (1e-3 also for the last layer);
        # with Adam this is slow to start, so use a scaled init for the hidden layers instead.
        for conv in (self.conv1, self.conv2):
            nn.init.kaiming_normal_(conv.weight, nonlinearity="relu")
            nn.init.zeros_(conv.bias)
        nn.init.normal_(self.conv3.weight, std=1e-3)
        nn.init.zeros_(self.conv3.bias)

    @property
    def receptive_field(self) -> int:
        """Receptive field in *input* (low-resolution) pixels, the bicubic step included.

        The convolutions see ``r`` high-resolution pixels each side. An output pixel inside LR
        pixel ``m`` sits within ``(s-1)/(2s)`` of ``m``'s centre in LR coordinates, so it reaches
        LR coordinates up to ``a = ((s-1)/2 + r) / s`` away, and the 4-tap cubic kernel adds
        ``floor(a) + 2`` LR pixels on the far side (``ceil(a) + 1`` on the near one).
        """
        r = sum(c.kernel_size[0] - 1 for c in (self.conv1, self.conv2, self.conv3)) // 2
        s = self.scale
        radius = r if s <= 1 else (s - 1 + 2 * r) // (2 * s) + 2
        return 2 * radius + 1

    @property
    def spec(self) -> ModelSpec:
        return ModelSpec(self.channels, self.channels, self.scale, self.receptive_field)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.scale > 1:
            x = imresize(x, self.scale)
        x = self.relu(self.conv1(x))
        x = self.relu(self.conv2(x))
        return self.conv3(x)


@register_model(tasks=("superres",))
def srcnn_915(scale: int = 3, **kw) -> SRCNN:
    """SRCNN 9-1-5 (ECCV 2014)."""
    return SRCNN(scale, 9, 1, 5, **kw)


@register_model(tasks=("superres",))
def srcnn_935(scale: int = 3, **kw) -> SRCNN:
    """SRCNN 9-3-5 (TPAMI 2016)."""
    return SRCNN(scale, 9, 3, 5, **kw)


@register_model(tasks=("superres",))
def srcnn_955(scale: int = 3, **kw) -> SRCNN:
    """SRCNN 9-5-5 (TPAMI 2016), the paper's best speed/quality trade-off."""
    return SRCNN(scale, 9, 5, 5, **kw)
