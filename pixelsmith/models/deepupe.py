"""An illumination-estimation enhancer after DeepUPE (Wang, Zhang, Fu, Shen, Zheng, Jia, CVPR 2019).

Retinex: an under-exposed photo is the well-exposed one times an illumination map, ``I = F * S``.
The network estimates ``S`` rather than the image, at low resolution, and the result is
``F = I / S``:

    I (B, 3, H, W) -> average-pooled by ``down`` -> folded U-Net -> S_low = I_low + (1 - I_low) sigmoid
      -> guided upsampling to H x W, with I's luminance as the guide (He et al.'s guided filter,
         its linear coefficients computed at low resolution and upsampled: edges of S follow I's)
      -> S = max(S, I) -> F = I / S

``S >= I`` keeps ``F`` in [0, 1]. DeepUPE fits a bilateral grid of affine colour transforms; the
guided filter is the simpler edge-aware upsampler of the same family (one affine map per channel
and neighbourhood) and is what pixelsmith uses. The losses (reconstruction, illumination
smoothness weighted by the input's gradients, colour angle) are in
:mod:`pixelsmith.nn.lowlight_losses`.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from pixelsmith.models._registry import ModelSpec, register_model
from pixelsmith.models.unet import SIDUNet

LUMA = (0.299, 0.587, 0.114)


def box_mean(x: torch.Tensor, radius: int) -> torch.Tensor:
    """Mean over the ``(2r+1)^2`` window around each pixel (fewer at the border)."""
    return F.avg_pool2d(x, 2 * radius + 1, 1, radius, count_include_pad=False)


def guided_upsample(
    guide_low: torch.Tensor,
    target_low: torch.Tensor,
    guide: torch.Tensor,
    radius: int = 2,
    eps: float = 1e-3,
) -> torch.Tensor:
    """The guided filter's output at the guide's full size: ``a * guide + b`` with the local
    linear coefficients ``a = cov(g, p) / (var(g) + eps)``, ``b = mean(p) - a mean(g)`` fitted at
    low resolution (``guide_low (B, 1, h, w)``, ``target_low (B, C, h, w)``), box-averaged and
    upsampled bilinearly to ``guide (B, 1, H, W)``."""
    mg = box_mean(guide_low, radius)
    mp = box_mean(target_low, radius)
    cov = box_mean(guide_low * target_low, radius) - mg * mp
    var = box_mean(guide_low * guide_low, radius) - mg * mg
    a = cov / (var + eps)
    b = mp - a * mg
    size = guide.shape[-2:]

    def up(t: torch.Tensor) -> torch.Tensor:
        return F.interpolate(box_mean(t, radius), size=size, mode="bilinear", align_corners=False)

    return up(a) * guide + up(b)


def luminance(x: torch.Tensor) -> torch.Tensor:
    w = torch.tensor(LUMA, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return (x * w).sum(1, keepdim=True)


class IlluminationNet(nn.Module):
    """Input an sRGB photo ``(B, 3, H, W)`` in [0, 1], sides multiples of ``spec.size_multiple``;
    output the enhanced photo (``aux=True``: and the illumination map ``S``, both ``(B, 3, H, W)``)."""

    objective = "retinex"  # the lowlight task's loss: reconstruction + smoothness + colour

    def __init__(
        self,
        widths: tuple[int, ...] = (16, 32, 64, 128),
        down: int = 4,
        radius: int = 2,
        eps: float = 1e-3,
    ) -> None:
        super().__init__()
        self.down, self.radius, self.eps = down, radius, eps
        self.net = SIDUNet(3, 3, widths, fold=True)
        nn.init.zeros_(self.net.head.weight)
        nn.init.zeros_(self.net.head.bias)

    @property
    def spec(self) -> ModelSpec:
        # the low-resolution branch sees hundreds of pixels around each one: run whole
        return ModelSpec(3, 3, 1, None, self.down * self.net.spec.size_multiple)

    def illumination(self, x: torch.Tensor) -> torch.Tensor:
        """The illumination map ``S (B, 3, H, W)``, ``x <= S <= 1``."""
        low = F.avg_pool2d(x, self.down)
        s_low = low + (1 - low) * torch.sigmoid(self.net(low) - 2.0)
        s = guided_upsample(luminance(low), s_low, luminance(x), self.radius, self.eps)
        return torch.maximum(s.clamp(max=1.0), x.clamp(min=1e-3))

    def forward(self, x: torch.Tensor, aux: bool = False):
        s = self.illumination(x)
        out = x / s
        return (out, s) if aux else out


@register_model(tasks=("lowlight",))
def deepupe_s(**kw) -> IlluminationNet:
    """Illumination estimation at 1/4 size by a folded U-Net of widths 16..128 (0.5M parameters),
    guided upsampling, ``I / S``."""
    return IlluminationNet(**kw)
