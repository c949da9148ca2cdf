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


def _recentre(k: torch.Tensor) -> torch.Tensor:
    """Translate ``k`` ``(size, size)`` so that its centroid is the centre pixel, ``(size - 1) / 2``.

    Each axis moves by the centroid's offset ``d = i + f`` (integer ``i``, fraction ``f``) as
    ``k'(p) = (1 - f) k(p + i) + f k(p + i + 1)``: linear interpolation keeps the sum and moves the
    centroid by exactly ``-d``. Computed in float64; returned in ``k``'s dtype.
    """
    out = k.double()
    n = out.shape[-1]
    r = torch.arange(n, dtype=torch.float64) - (n - 1) / 2
    for dim in (0, 1):
        profile = out.sum(1 - dim)
        d = float((profile * r).sum() / profile.sum())
        i = math.floor(d)
        f = d - i
        padded = F.pad(out, [n] * 4).narrow(1 - dim, n, n)
        moved = (1 - f) * padded.narrow(dim, n + i, n) + f * padded.narrow(dim, n + i + 1, n)
        if not torch.isclose(moved.sum(), out.sum(), rtol=0, atol=1e-12):
            raise ValueError("the kernel does not fit its grid once centred")
        out = moved
    return out.to(k.dtype)


def random_blur_kernel(g: torch.Generator, size: int = 15) -> torch.Tensor:
    """A ``(size, size)`` kernel, sum 1, its centroid at the centre pixel, drawn from: isotropic
    Gaussian (sigma 0.2..2), anisotropic Gaussian (axis sigmas 0.2..2.5, any rotation), or motion
    blur (camera shake: a line 3, 5 or 7 px long at any angle, its weight ramping along it).

    Kornia's motion kernel puts the line's middle at the centre, so a ramped line's centroid falls
    off it (by up to 1.25 px), which would shift the degraded image against its ground truth: the
    kernel is re-centred (:func:`_recentre`).
    """
    kind = float(torch.rand((), generator=g))
    if kind < 0.4:
        s = _u(g, 0.2, 2.0)
        return gaussian_kernel(size, s, s, 0.0)
    if kind < 0.8:
        return gaussian_kernel(size, _u(g, 0.2, 2.5), _u(g, 0.2, 2.5), _u(g, 0, math.pi))
    length = 2 * int(_u(g, 1, 4)) + 1  # odd: 3, 5 or 7
    k = kornia.filters.get_motion_kernel2d(length, _u(g, 0, 180), _u(g, -1, 1))[0]
    return _recentre(F.pad(k, [(size - length) // 2] * 4))


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


def _area_weights(n_in: int, n_out: int) -> torch.Tensor:
    """``(n_out, n_in)``: output pixel ``i`` averages the input over its footprint
    ``[i r, (i + 1) r)``, ``r = n_in / n_out``, each input pixel weighted by how much of it lies
    inside (OpenCV's ``INTER_AREA`` when shrinking); rows sum to 1."""
    r = n_in / n_out
    edges = torch.arange(n_out + 1, dtype=torch.float64) * r
    j = torch.arange(n_in, dtype=torch.float64)
    overlap = torch.minimum(edges[1:, None], j + 1) - torch.maximum(edges[:-1, None], j)
    return overlap.clamp(min=0) / r


def area_resize(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Resize ``(N, C, H, W)`` to ``size`` by pixel area (fractional coverage), in float64.

    ``F.interpolate(mode="area")`` (adaptive average pooling) widens each window to whole input
    pixels, which for a non-integer ratio moves content locally by up to half an input pixel
    (measured: a blob's centroid by up to 0.26 HR px at x4), putting LR and HR out of register.
    """
    wy = _area_weights(x.shape[-2], size[0]).to(x.device)
    wx = _area_weights(x.shape[-1], size[1]).to(x.device)
    return torch.einsum("ih,nchw,jw->ncij", wy, x.double(), wx).to(x.dtype)


def random_resize(
    x: torch.Tensor, g: torch.Generator, lo: float = 0.5, hi: float = 1.5
) -> torch.Tensor:
    """Resize the batch by one factor drawn from ``lo..hi`` (at least 8 px a side), by MATLAB
    bicubic, bilinear or pixel area, drawn with equal chances; pixel centres stay in register."""
    f = _u(g, lo, hi)
    size = (max(8, round(x.shape[-2] * f)), max(8, round(x.shape[-1] * f)))
    mode = ["bicubic", "bilinear", "area"][int(torch.randint(0, 3, (), generator=g))]
    if mode == "bicubic":
        return imresize(x, size=size)
    if mode == "area":
        return area_resize(x, size)
    return F.interpolate(x, size=size, mode=mode, align_corners=False)


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
