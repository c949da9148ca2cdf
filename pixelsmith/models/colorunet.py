"""ColorUNet: Zhang et al.'s classification colorizer on a residual U-Net that learns in a CPU's budget.

The same task as :mod:`pixelsmith.models.colornet` (313-style ab bins, class rebalancing,
annealed-mean decoding, output at 1/4 resolution), with another body. ColorNet is the paper's
plain stack of convolutions, batch norm only at the end of each block; it learns slowly: after
5,000 steps on 2 cores a 4.6M-parameter ColorNet predicts the colours of its own training photos
only about 0.17 nats better than the best constant prediction (``python benchmarks/colorize.py
--information``). This body is built to learn fast:

    L (B, 1, H, W) in [0, 100] -> (L - 50) / 100
      encoder: a stride-2 stem, then stages of (stride-2 conv + residual blocks), batch norm after
               every convolution, at 1/4, 1/8 and 1/16 of the input (the DeOldify generator's);
      context: the 1/16 features averaged over the whole image, through a two-layer MLP, added at
               every position (a global-context branch, after Iizuka et al. 2016);
      decoder: pixel-shuffle upsampling to 1/8 and 1/4 with the encoder's skips;
      -> (B, Q, H/4, W/4) bin logits (``head="classes"``), or ab / 110 (``head="regression"``,
         the L2 baseline on this body)

Like ColorNet it carries its ab ``bins`` (Q, 2), the training photos' ``prior`` (Q,) and the
``rebalance`` lambda it is trained with, so the colorize task treats both alike.
"""

from __future__ import annotations

import torch
from torch import nn

from pixelsmith.models._registry import ModelSpec, register_model
from pixelsmith.models.ab_bins import LAMBDA as REBALANCE
from pixelsmith.models.colornet import L_CENT, L_NORM, check_head, hold_bins
from pixelsmith.models.unet_gan import ResBlock, residual_encoder


def _conv_bn(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(True)
    )


class _Up(nn.Module):
    """x2 by pixel shuffle, joined with the encoder's skip, a conv and ``blocks`` residual blocks."""

    def __init__(self, c_in: int, c_skip: int, c_out: int, blocks: int) -> None:
        super().__init__()
        self.up = nn.Sequential(nn.Conv2d(c_in, 4 * c_skip, 1), nn.PixelShuffle(2), nn.ReLU(True))
        self.mix = nn.Sequential(
            _conv_bn(2 * c_skip, c_out), *[ResBlock(c_out) for _ in range(blocks)]
        )

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return self.mix(torch.cat([self.up(x), skip], 1))


class ColorUNet(nn.Module):
    """Input L ``(B, 1, H, W)`` in Lab units [0, 100], ``H, W`` multiples of 16; output at
    ``(H/4, W/4)``: ``Q`` bin logits (``head="classes"``) or ab / 110 (``head="regression"``)."""

    def __init__(
        self,
        width: int = 32,
        blocks: int = 2,
        bins: torch.Tensor | None = None,
        rebalance: float = REBALANCE,
        correction: float | None = None,
        temperature: float | None = None,
        head: str = "classes",
    ) -> None:
        super().__init__()
        check_head(head)
        bins = hold_bins(self, bins, rebalance, correction, temperature)
        self.head = head
        w = width
        self.stem, self.enc1, self.enc2, self.enc3 = residual_encoder(w, blocks)  # 1/2 .. 1/16
        self.context = nn.Sequential(
            nn.Linear(8 * w, 8 * w), nn.ReLU(True), nn.Linear(8 * w, 8 * w)
        )
        self.up2 = _Up(8 * w, 4 * w, 4 * w, 1)  # 1/8
        self.up1 = _Up(4 * w, 2 * w, 4 * w, 0)  # 1/4
        self.out = nn.Conv2d(4 * w, len(bins) if head == "classes" else 2, 1)

    @property
    def spec(self) -> ModelSpec:
        # the context branch sees the whole image: run whole (at the render size), not tiled
        return ModelSpec(1, self.out.out_channels, 1, None, size_multiple=16)

    def forward(self, lightness: torch.Tensor) -> torch.Tensor:
        x = (lightness - L_CENT) / L_NORM
        s1 = self.enc1(self.stem(x))
        s2 = self.enc2(s1)
        s3 = self.enc3(s2)
        s3 = s3 + self.context(s3.mean((2, 3)))[:, :, None, None]
        return self.out(self.up1(self.up2(s3, s2), s1))


@register_model(tasks=("colorize",))
def colorunet_s(
    width: int = 32,
    blocks: int = 2,
    n_bins: int | None = None,
    rebalance: float = REBALANCE,
    correction: float | None = None,
    temperature: float | None = None,
    head: str = "classes",
) -> ColorUNet:
    """Width 32, two residual blocks a stage (about 4.6M parameters); ``rebalance``: the lambda
    of the class rebalancing it is trained with; ``correction``, ``temperature``: its decoding
    defaults (:func:`~pixelsmith.models.colornet.hold_bins`); ``head="regression"``: the L2
    baseline on this body (2 outputs, ab / 110)."""
    bins = None if n_bins is None else torch.zeros(n_bins, 2)  # a shape to load weights into
    return ColorUNet(width, blocks, bins, rebalance, correction, temperature, head)
