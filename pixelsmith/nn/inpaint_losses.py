"""The partial-convolution paper's loss (Liu et al., ECCV 2018, section 3.3), term by term.

    L = L_valid + 6 L_hole + 0.05 L_perceptual + 120 (L_style_out + L_style_comp) + 0.1 L_tv

with ``I_out`` the network's output, ``I_gt`` the photo, ``M`` the mask (1 = known) and
``I_comp = M I_gt + (1 - M) I_out`` (the output in the hole, the photo elsewhere):

- ``L_hole = ||(1 - M)(I_out - I_gt)||_1 / N``, ``L_valid = ||M (I_out - I_gt)||_1 / N`` with
  ``N = C H W`` (so both are means over all pixels, not over the hole);
- ``L_perceptual = sum_p ||Psi_p(I_out) - Psi_p(I_gt)||_1 / N_p + ||Psi_p(I_comp) -
  Psi_p(I_gt)||_1 / N_p`` over a feature network's tapped layers ``p``;
- ``L_style = sum_p ||K_p (Psi_p^T Psi_p)(I) - K_p (Psi_p^T Psi_p)(I_gt)||_1 / C_p^2`` with
  ``K_p = 1 / (C_p H_p W_p)``: the Gram matrices of the features, for ``I_out`` and ``I_comp``;
- ``L_tv``: the total variation of ``I_comp`` on the hole grown by one pixel, per pixel of the
  image.

The feature network is VGG16 from a local file (sRGB in) or pixelsmith's colorization encoder,
which sees lightness (``L`` of Lab, as it was trained): :func:`image_features` gives either one an
sRGB image.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F


@dataclass(frozen=True)
class InpaintLossWeights:
    """The weights of the loss terms; the defaults are the paper's."""

    valid: float = 1.0
    hole: float = 6.0
    perceptual: float = 0.05
    style: float = 120.0
    tv: float = 0.1

    @property
    def needs_features(self) -> bool:
        return bool(self.perceptual or self.style)


def composite(output: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``M target + (1 - M) output``: the output in the hole, the photo elsewhere."""
    return mask * target + (1 - mask) * output


def hole_and_valid_l1(
    output: torch.Tensor, target: torch.Tensor, mask: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(L_hole, L_valid)``: L1 distances inside and outside the hole, per element of the image."""
    diff = (output - target).abs()
    mask = mask.expand_as(diff)
    return ((1 - mask) * diff).mean(), (mask * diff).mean()


def gram(features: torch.Tensor) -> torch.Tensor:
    """``K (Psi^T Psi)``: ``(B, C, H, W) -> (B, C, C)``, normalised by ``C H W``."""
    b, c, h, w = features.shape
    f = features.reshape(b, c, h * w)
    return f @ f.transpose(1, 2) / (c * h * w)


def perceptual_and_style(
    out_features: list[torch.Tensor],
    comp_features: list[torch.Tensor],
    gt_features: list[torch.Tensor],
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(L_perceptual, L_style_out + L_style_comp)`` from the tapped features of the three
    images."""
    perceptual = out_features[0].new_zeros(())
    style = out_features[0].new_zeros(())
    for fo, fc, fg in zip(out_features, comp_features, gt_features, strict=True):
        perceptual = perceptual + F.l1_loss(fo, fg) + F.l1_loss(fc, fg)
        g_gt = gram(fg)  # the paper's ||.||_1 / C^2: the mean over the C x C entries
        style = style + F.l1_loss(gram(fo), g_gt) + F.l1_loss(gram(fc), g_gt)
    return perceptual, style


def hole_total_variation(comp: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Total variation of ``comp`` on the hole grown by one pixel, ``P``: the L1 differences
    ``comp[i, j + 1] - comp[i, j]`` and ``comp[i + 1, j] - comp[i, j]`` for ``(i, j)`` in ``P``,
    summed and divided by the number of elements of ``comp``."""
    hole = 1 - mask[:, :1]
    grown = F.max_pool2d(hole, 3, stride=1, padding=1)
    dx = (comp[..., :, 1:] - comp[..., :, :-1]).abs()
    dy = (comp[..., 1:, :] - comp[..., :-1, :]).abs()
    return ((dx * grown[..., :, :-1]).sum() + (dy * grown[..., :-1, :]).sum()) / comp.numel()


class ImageFeatures(nn.Module):
    """A frozen feature network for sRGB images ``(B, 3, H, W)`` in [0, 1]: VGG16 (``kind
    "vgg16"``) or a colorization encoder (``"colornet"``, which sees the lightness L in [0, 100])."""

    def __init__(self, net: nn.Module, kind: str) -> None:
        super().__init__()
        if kind not in ("vgg16", "colornet"):
            raise ValueError(f"unknown feature network kind {kind!r}")
        self.net = net.eval().requires_grad_(False)
        self.kind = kind

    def train(self, mode: bool = True) -> ImageFeatures:  # stays in evaluation mode
        return self

    def forward(self, rgb: torch.Tensor) -> list[torch.Tensor]:
        if self.kind == "vgg16":
            return self.net(rgb)
        from pixelsmith.color import rgb_to_lab

        return self.net(rgb_to_lab(rgb.clamp(0, 1))[:, :1])


def inpaint_loss(
    output: torch.Tensor,
    target: torch.Tensor,
    mask: torch.Tensor,
    weights: InpaintLossWeights = InpaintLossWeights(),
    features: ImageFeatures | None = None,
) -> torch.Tensor:
    """The paper's total loss of ``output`` ``(B, 3, H, W)`` against ``target`` under ``mask``
    ``(B, 1, H, W)`` (1 = known); ``features`` is needed when the perceptual or style weight is
    not zero."""
    comp = composite(output, target, mask)
    hole, valid = hole_and_valid_l1(output, target, mask)
    loss = weights.valid * valid + weights.hole * hole
    if weights.tv:
        loss = loss + weights.tv * hole_total_variation(comp, mask)
    if weights.needs_features:
        if features is None:
            raise ValueError("the perceptual and style terms need a feature network")
        n = output.shape[0]
        with torch.no_grad():
            f_gt = features(target)
        f_both = features(torch.cat([output, comp]))
        perceptual, style = perceptual_and_style(
            [f[:n] for f in f_both], [f[n:] for f in f_both], f_gt
        )
        loss = loss + weights.perceptual * perceptual + weights.style * style
    return loss
