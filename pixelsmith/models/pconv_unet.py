"""The partial-convolution U-Net of Liu et al. (ECCV 2018), fitted to what a CPU trains.

    image (B, 3, H, W) in [0, 1], mask (B, 1, H, W) (1 = known, 0 = hole)
      encoder: PartialConv2d, stride 2, kernels 7, 5, 5, 3, 3, ... ; batch norm but on the first;
               ReLU                                            -> 1/2, 1/4, ..., 1/2**L
      decoder: nearest 2x upsampling of features and mask, concatenated with the encoder's level
               (features beside features, masks beside masks: a per-channel mask),
               PartialConv2d 3x3, batch norm, leaky ReLU (0.2); the last level concatenates the
               input image and mask and has neither batch norm nor activation
      -> image (B, 3, H, W)

The paper's network has 8 levels of 64-512 channels for 512 px training crops (32.9M parameters).
``pconv_unet_s`` has 6 levels of 32-192 channels: its bottleneck is 2x2 on the 128 px crops two
CPU cores train on, and each of its 6 decoder levels costs about the same arithmetic. It is fully
convolutional, so it runs at any size that is a multiple of ``2 ** levels`` (tasks pad to it), and
tiles with the mask cut alongside the image.

``freeze_encoder_bn`` keeps the encoder's batch norm in evaluation mode while training: the paper's
fine-tuning phase, where the holes' zeros would otherwise skew the encoder's statistics.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from pixelsmith.models._registry import ModelSpec, register_model
from pixelsmith.nn.partial_conv import PartialConv2d

PAPER_WIDTHS = (64, 128, 256, 512, 512, 512, 512, 512)
PAPER_KERNELS = (7, 5, 5, 3, 3, 3, 3, 3)


class _PConvBlock(nn.Module):
    """PartialConv2d -> optional batch norm -> optional activation, on ``(x, mask)``."""

    def __init__(self, c_in: int, c_out: int, k: int, stride: int, bn: bool, act: nn.Module | None):
        super().__init__()
        self.conv = PartialConv2d(c_in, c_out, k, stride=stride, padding=k // 2, bias=not bn)
        self.bn = nn.BatchNorm2d(c_out) if bn else None
        self.act = act

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x, mask = self.conv(x, mask)
        if self.bn is not None:
            x = self.bn(x)
        if self.act is not None:
            x = self.act(x)
        return x, mask[:, :1]  # every channel of an updated mask is the same


class PConvUNet(nn.Module):
    """``forward(image, mask) -> image``; see the module docstring."""

    objective = "inpaint"

    def __init__(
        self,
        widths: tuple[int, ...] = PAPER_WIDTHS,
        kernels: tuple[int, ...] = PAPER_KERNELS,
        channels: int = 3,
        freeze_encoder_bn: bool = False,
    ) -> None:
        super().__init__()
        if len(widths) != len(kernels) or len(widths) < 2:
            raise ValueError("give one kernel size per level, at least two levels")
        self.widths, self.kernels = tuple(widths), tuple(kernels)
        self.channels, self.freeze_encoder_bn = channels, freeze_encoder_bn
        self.encoder = nn.ModuleList()
        c = channels
        for i, (w, k) in enumerate(zip(widths, kernels, strict=True)):
            self.encoder.append(_PConvBlock(c, w, k, 2, bn=i > 0, act=nn.ReLU()))
            c = w
        self.decoder = nn.ModuleList()
        skips = (channels, *widths[:-1])  # what each decoder level concatenates, top first
        for level in range(len(widths) - 1, -1, -1):
            last = level == 0
            out = channels if last else skips[level]
            act = None if last else nn.LeakyReLU(0.2)
            self.decoder.append(_PConvBlock(c + skips[level], out, 3, 1, bn=not last, act=act))
            c = out

    @property
    def levels(self) -> int:
        return len(self.widths)

    @property
    def receptive_field(self) -> int:
        """An upper bound of the receptive field's side (tests check that it bounds): encoder
        level ``i`` (input stride ``2**i``) reaches ``k_i // 2`` of its input pixels and the stride
        adds one; each decoder level reaches one pixel of its grid and the nearest upsampling
        into it one more."""
        enc = sum((k // 2 + 1) * 2**i for i, k in enumerate(self.kernels))
        dec = sum(2 * 2**i for i in range(self.levels))
        return 2 * (enc + dec) + 1

    @property
    def spec(self) -> ModelSpec:
        return ModelSpec(self.channels, self.channels, 1, self.receptive_field, 2**self.levels)

    def train(self, mode: bool = True) -> PConvUNet:
        super().train(mode)
        if mode and self.freeze_encoder_bn:
            for block in self.encoder:
                if block.bn is not None:
                    block.bn.eval()
        return self

    def forward(self, image: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """``mask`` ``None``: every pixel is known (how the inspection tools look inside)."""
        if mask is None:
            mask = torch.ones_like(image[:, :1])
        x, m = image, mask[:, :1].to(image.dtype)
        skips = [(x, m)]
        for block in self.encoder:
            x, m = block(x, m)
            skips.append((x, m))
        skips.pop()
        for block in self.decoder:
            skip_x, skip_m = skips.pop()
            x = F.interpolate(x, scale_factor=2.0, mode="nearest")
            m = F.interpolate(m, scale_factor=2.0, mode="nearest")
            masks = torch.cat(
                [m.expand(-1, x.shape[1], -1, -1), skip_m.expand(-1, skip_x.shape[1], -1, -1)], 1
            )
            x, m = block(torch.cat([x, skip_x], 1), masks)
        return x


@register_model(tasks=("inpaint",))
def pconv_unet(**kw) -> PConvUNet:
    """The paper's network: 8 levels, 64-512 channels, kernels 7-5-5-3-... (32.9M parameters)."""
    return PConvUNet(PAPER_WIDTHS, PAPER_KERNELS, **kw)


@register_model(tasks=("inpaint",))
def pconv_unet_s(**kw) -> PConvUNet:
    """6 levels, 32-64-128-192-192-192 channels (2.7M parameters): what pixelsmith trains on
    128 px crops and ships."""
    return PConvUNet((32, 64, 128, 192, 192, 192), (7, 5, 5, 3, 3, 3), **kw)
