"""Classical low-light enhancement as parameter-free models: the baselines of every low-light table.

Each takes an sRGB photo ``(B, 3, H, W)`` in [0, 1] and returns the enhanced photo; they have
global context (image statistics), so they run on the whole image.

- ``gamma``: ``x ** (1 / 2.2)``, the fixed brightening curve;
- ``global_gain``: one gain per photo, so that its mean becomes ``0.45`` (clipped at 1);
- ``clahe``: contrast-limited adaptive histogram equalisation (scikit-image's
  ``equalize_adapthist``, clip limit 0.01) of the lightness L*, colour (a*, b*) kept;
- ``msrcr``: multi-scale Retinex with colour restoration (Jobson, Rahman, Woodell, IEEE TIP
  1997), as the IPOL description of Petro, Sbert and Morel (2014) gives it: Gaussian surrounds
  of sigma 15, 80 and 250 px weighted equally, colour restoration ``46 (log(125 I_c) -
  log(sum I))``, then the "simplest colour balance" (1 % clipped at each end, per channel).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from pixelsmith.models._registry import ModelSpec, register_model

MSR_SIGMAS = (15.0, 80.0, 250.0)
MSRCR_ALPHA, MSRCR_BETA = 125.0, 46.0
BALANCE_CLIP = 0.01


class ClassicalEnhancer(nn.Module):
    """A fixed function of the photo, as a model (no parameters; NumPy and SciPy inside, so it
    is neither differentiable nor exportable)."""

    differentiable = False

    def __init__(self, fn) -> None:
        super().__init__()
        self.fn = fn

    @property
    def spec(self) -> ModelSpec:
        return ModelSpec(3, 3, 1, None, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.stack([self.fn(img.detach().float().cpu()).to(x) for img in x])


def gamma_curve(img: torch.Tensor, gamma: float = 2.2) -> torch.Tensor:
    return img.clamp(0, 1) ** (1 / gamma)


def gain_to_mean(img: torch.Tensor, mean: float = 0.45) -> torch.Tensor:
    return (img * (mean / img.mean().clamp(min=1e-6))).clamp(0, 1)


def clahe_lightness(img: torch.Tensor, clip_limit: float = 0.01) -> torch.Tensor:
    from skimage.exposure import equalize_adapthist

    from pixelsmith.color import lab_to_rgb, rgb_to_lab

    lab = rgb_to_lab(img[None])[0]
    L = equalize_adapthist(lab[0].numpy().astype(np.float64) / 100.0, clip_limit=clip_limit)
    lab[0] = torch.from_numpy(L).float() * 100.0
    return lab_to_rgb(lab[None])[0].clamp(0, 1)


def simplest_colour_balance(x: np.ndarray, clip: float = BALANCE_CLIP) -> np.ndarray:
    """Each channel ``(C, H, W)`` stretched so its ``clip`` and ``1 - clip`` quantiles are 0 and 1."""
    out = np.empty_like(x)
    for c in range(x.shape[0]):
        lo, hi = np.quantile(x[c], [clip, 1 - clip])
        out[c] = np.clip((x[c] - lo) / max(hi - lo, 1e-12), 0, 1)
    return out


def msrcr(img: torch.Tensor) -> torch.Tensor:
    from scipy.ndimage import gaussian_filter

    x = img.double().numpy() * 255.0 + 1.0  # 8-bit levels, +1 keeps the logarithms finite
    log_x = np.log(x)
    msr = np.zeros_like(x)
    for sigma in MSR_SIGMAS:
        for c in range(3):
            msr[c] += (log_x[c] - np.log(gaussian_filter(x[c], sigma, mode="reflect"))) / len(
                MSR_SIGMAS
            )
    restoration = MSRCR_BETA * (np.log(MSRCR_ALPHA * x) - np.log(x.sum(0, keepdims=True)))
    return torch.from_numpy(simplest_colour_balance(msr * restoration)).float()


@register_model(tasks=("lowlight",))
def gamma(**kw) -> ClassicalEnhancer:
    """``x ** (1 / 2.2)`` (no parameters)."""
    return ClassicalEnhancer(gamma_curve)


@register_model(tasks=("lowlight",))
def global_gain(**kw) -> ClassicalEnhancer:
    """One gain per photo, to a mean of 0.45 (no parameters)."""
    return ClassicalEnhancer(gain_to_mean)


@register_model(tasks=("lowlight",))
def clahe(**kw) -> ClassicalEnhancer:
    """CLAHE of the lightness L* (scikit-image; no parameters)."""
    return ClassicalEnhancer(clahe_lightness)


@register_model(tasks=("lowlight",))
def msrcr_retinex(**kw) -> ClassicalEnhancer:
    """Multi-scale Retinex with colour restoration (no parameters)."""
    return ClassicalEnhancer(msrcr)
