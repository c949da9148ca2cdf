"""Under-exposed photos from well-exposed ones: the degradation of sRGB low-light enhancement.

For a batch of clean sRGB photos ``(N, 3, H, W)``, each photo independently (DeepUPE's recipe of
exposure, gamma, noise and JPEG, done in linear light where a camera does it):

1. sRGB -> linear; multiplied by an **exposure** ``e`` drawn log-uniformly in ``EXPOSURE``
   (1/40 .. 1/3: LOL's dark frames sit near 1/10 to 1/20) and a small per-channel colour cast;
2. sensor **noise** in linear light, Gaussian with variance ``shot * x + read`` (the shot-noise
   level log-uniform in ``NOISE``, the read noise ``(shot / 20) ** 1.2``);
3. a **gamma** ``x ** k`` with ``k`` uniform in ``GAMMA``, then the sRGB curve (cameras
   tone-map dark frames differently);
4. **JPEG** at a random quality for half of the photos.
"""

from __future__ import annotations

import math

import torch

from pixelsmith.color import linear_to_srgb, srgb_to_linear
from pixelsmith.data.degrade import jpeg_compress

EXPOSURE = (1 / 40, 1 / 3)
CAST = 0.08  # per-channel gain in [1 - CAST, 1 + CAST]
NOISE = (1e-4, 3e-3)  # log-uniform shot-noise level (variance per unit of linear signal)
GAMMA = (0.85, 1.15)
JPEG = (0.5, (60, 95))  # probability, quality range


def _u(g: torch.Generator, lo: float, hi: float, n: int = 1) -> torch.Tensor:
    return lo + (hi - lo) * torch.rand(n, generator=g, dtype=torch.float64)


def underexpose(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """``(N, 3, H, W)`` clean sRGB in [0, 1] -> the same photos under-exposed, in [0, 1]."""
    out = torch.empty_like(x)
    for i, img in enumerate(x):
        e = math.exp(float(_u(g, math.log(EXPOSURE[0]), math.log(EXPOSURE[1]))))
        cast = _u(g, 1 - CAST, 1 + CAST, 3).float().view(3, 1, 1)
        lin = srgb_to_linear(img[None])[0] * (e * cast)
        shot = math.exp(float(_u(g, math.log(NOISE[0]), math.log(NOISE[1]))))
        read = (shot / 20) ** 1.2
        lin = lin + torch.randn(lin.shape, generator=g) * (shot * lin.clamp(min=0) + read).sqrt()
        lin = lin.clamp(0, 1)
        k = float(_u(g, *GAMMA))
        low = linear_to_srgb(lin[None] ** k)[0] if k != 1 else linear_to_srgb(lin[None])[0]
        if float(torch.rand((), generator=g)) < JPEG[0]:
            low = jpeg_compress(low, int(_u(g, *JPEG[1])))
        out[i] = low.clamp(0, 1)
    return out
