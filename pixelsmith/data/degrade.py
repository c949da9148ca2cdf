"""Degradations that turn clean photos into realistic low-quality ones (for blind models).

Each function takes a batch ``(N, C, H, W)`` in [0, 1] and a ``torch.Generator`` and applies an
independently drawn degradation to every image. :func:`real_world_degrade` chains them in two
rounds, as Real-ESRGAN's second-order model (Wang et al., 2021): blur (isotropic, anisotropic
Gaussian or camera-shake/motion) -> resize -> sensor noise (Gaussian or Poisson) -> JPEG, twice,
then a final resize to the low-resolution size.
"""

from __future__ import annotations

import io
import math

import kornia.filters
import numpy as np
import torch
from PIL import Image
from torch.nn import functional as F

from pixelsmith.resize import imresize


def _u(g: torch.Generator, lo: float, hi: float) -> float:
    return lo + (hi - lo) * float(torch.rand((), generator=g))


def gaussian_kernel(size: int, sigma_x: float, sigma_y: float, theta: float) -> torch.Tensor:
    """Anisotropic Gaussian ``(size, size)`` with axis sigmas and rotation ``theta`` (radians), sum 1."""
    r = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    yy, xx = torch.meshgrid(r, r, indexing="ij")
    c, s = math.cos(theta), math.sin(theta)
    u, v = c * xx + s * yy, -s * xx + c * yy
    k = torch.exp(-0.5 * ((u / sigma_x) ** 2 + (v / sigma_y) ** 2))
    return (k / k.sum()).float()


def random_blur_kernel(g: torch.Generator, size: int = 15) -> torch.Tensor:
    """A kernel drawn from: isotropic Gaussian, anisotropic Gaussian, or motion blur (camera shake)."""
    kind = float(torch.rand((), generator=g))
    if kind < 0.4:
        s = _u(g, 0.2, 2.0)
        return gaussian_kernel(size, s, s, 0.0)
    if kind < 0.8:
        return gaussian_kernel(size, _u(g, 0.2, 2.5), _u(g, 0.2, 2.5), _u(g, 0, math.pi))
    length = 2 * int(_u(g, 1, 4)) + 1  # odd, 3..9
    k = kornia.filters.get_motion_kernel2d(length, _u(g, 0, 180), _u(g, -1, 1))[0]
    return F.pad(k, [(size - length) // 2] * 4)


def blur_with(x: torch.Tensor, kernels: torch.Tensor) -> torch.Tensor:
    """Correlate each image of ``x`` ``(N, C, H, W)`` with its kernel ``(N, k, k)`` (or one ``(k, k)``)."""
    if kernels.dim() == 2:
        kernels = kernels.expand(x.shape[0], -1, -1)
    return kornia.filters.filter2d(x, kernels, border_type="reflect")


def blur(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """A random blur (:func:`random_blur_kernel`) per image."""
    return blur_with(x, torch.stack([random_blur_kernel(g) for _ in range(x.shape[0])]))


def add_noise(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Gaussian (sigma 1..15 of 255) or Poisson shot noise (100..1000 photons at white), colour or grey."""
    out = []
    for img in x:
        grey = float(torch.rand((), generator=g)) < 0.4
        shape = (1, *img.shape[1:]) if grey else img.shape
        if float(torch.rand((), generator=g)) < 0.6:
            n = torch.randn(shape, generator=g) * _u(g, 1, 15) / 255
        else:
            scale = 10 ** _u(g, math.log10(100 / 255), math.log10(1000 / 255))
            lam = (img.clamp(0, 1) * 255).mean(0, keepdim=True) if grey else img.clamp(0, 1) * 255
            n = (torch.poisson(lam * scale, generator=g) / scale - lam) / 255
        out.append(img + n)
    return torch.stack(out)


def jpeg_compress(img: torch.Tensor, quality: int) -> torch.Tensor:
    """One image ``(C, H, W)`` through real JPEG (Pillow, 4:2:0 chroma) at ``quality``."""
    arr = (img.clamp(0, 1) * 255).round().byte().permute(1, 2, 0).squeeze(-1).numpy()
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="JPEG", quality=quality)
    dec = torch.from_numpy(np.asarray(Image.open(buf), dtype=np.float32) / 255)
    return dec[None] if dec.ndim == 2 else dec.permute(2, 0, 1)


def jpeg(x: torch.Tensor, g: torch.Generator, quality: tuple[int, int] = (40, 95)) -> torch.Tensor:
    """JPEG compression at a random quality per image."""
    return torch.stack([jpeg_compress(img, int(_u(g, *quality))) for img in x])


def random_resize(
    x: torch.Tensor, g: torch.Generator, lo: float = 0.5, hi: float = 1.5
) -> torch.Tensor:
    f = _u(g, lo, hi)
    size = (max(8, round(x.shape[-2] * f)), max(8, round(x.shape[-1] * f)))
    mode = ["bicubic", "bilinear", "area"][int(torch.randint(0, 3, (), generator=g))]
    if mode == "bicubic":
        return imresize(x, size=size)
    return F.interpolate(
        x, size=size, mode=mode, **({} if mode == "area" else {"align_corners": False})
    )


def real_world_degrade(hr: torch.Tensor, scale: int, g: torch.Generator) -> torch.Tensor:
    """Two rounds of blur/resize/noise/JPEG, then resize to ``(H/scale, W/scale)``: ``(N, C, h, w)``."""
    h, w = hr.shape[-2] // scale, hr.shape[-1] // scale
    x = blur(hr, g)
    x = random_resize(x, g, 0.75 / scale, 1.5 / scale) if scale > 1 else x
    x = jpeg(add_noise(x, g), g)
    if float(torch.rand((), generator=g)) < 0.5:  # the second round, milder
        if float(torch.rand((), generator=g)) < 0.5:
            x = blur(x, g)
        x = random_resize(x, g, 0.8, 1.2)
        x = add_noise(x, g)
    # final resize to the LR grid, then JPEG last or before the resize (Real-ESRGAN's two orders)
    if float(torch.rand((), generator=g)) < 0.5:
        x = jpeg(imresize(x.clamp(0, 1), size=(h, w)), g)
    else:
        x = imresize(jpeg(x, g), size=(h, w))
    return x.clamp(0, 1)
