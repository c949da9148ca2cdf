"""Image-quality metrics (MSE, PSNR, SSIM), free of any task.

Metrics take images ``(*, C, H, W)`` and return one value per image, shape ``(*)``: a batch
``(B, C, H, W)`` gives ``(B,)``, a single ``(C, H, W)`` gives a 0-d tensor. ``peak`` is the largest
possible pixel value (1 for images in ``[0, 1]``, 255 for 8-bit levels). Integer inputs are
converted to float64. All metrics are differentiable in float inputs.

The super-resolution protocol built on them lives with its task, in
:mod:`pixelsmith.tasks.sr_protocol`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from pixelsmith.errors import PixelsmithError

__all__ = [
    "mse",
    "psnr",
    "ssim",
    "shave",
    "modcrop",
    "quantize_uint8",
    "colorfulness",
    "cumulative_auc",
    "PSNR",
    "SSIM",
]


def _as_float(x: torch.Tensor) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"expected a torch.Tensor, got {type(x).__name__}")
    return x if x.is_floating_point() else x.to(torch.float64)


def _check_pair(a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    a, b = _as_float(a), _as_float(b)
    if a.shape != b.shape:
        raise PixelsmithError(f"images differ in shape: {tuple(a.shape)} vs {tuple(b.shape)}")
    if a.ndim < 3:
        raise PixelsmithError(f"expected images of shape (*, C, H, W), got {tuple(a.shape)}")
    return a, b


def mse(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Mean squared error per image.

    Args:
        a, b: images ``(*, C, H, W)`` of the same shape.

    Returns:
        ``mean((a - b) ** 2)`` over ``C, H, W``, shape ``(*)``.
    """
    a, b = _check_pair(a, b)
    return (a - b).pow(2).mean(dim=(-3, -2, -1))


def psnr(a: torch.Tensor, b: torch.Tensor, peak: float = 1.0) -> torch.Tensor:
    r"""Peak signal-to-noise ratio per image, :math:`10 \log_{10}(R^2 / \mathrm{MSE})` in dB.

    Args:
        a, b: images ``(*, C, H, W)`` of the same shape, values in ``[0, peak]``.
        peak: ``R``, the largest possible pixel value.

    Returns:
        PSNR in dB, shape ``(*)``; ``inf`` where the images are identical.
    """
    return 10.0 * torch.log10(peak**2 / mse(a, b))


def _gaussian_window(sigma: float, radius: int, dtype: torch.dtype, device: torch.device):
    x = torch.arange(-radius, radius + 1, dtype=torch.float64)
    g = torch.exp(-0.5 * (x / sigma) ** 2)
    return (g / g.sum()).to(dtype=dtype, device=device)


def ssim(
    a: torch.Tensor,
    b: torch.Tensor,
    peak: float = 1.0,
    *,
    sigma: float = 1.5,
    k1: float = 0.01,
    k2: float = 0.03,
) -> torch.Tensor:
    r"""Structural similarity (Wang et al. 2004) per image, Gaussian-weighted.

    Local statistics use an 11x11 Gaussian window (``sigma = 1.5``, radius
    ``int(3.5 * sigma + 0.5)``) and population (co)variances; the SSIM map is averaged over the
    valid region only (no padding), i.e. ``(win - 1) // 2 = 5`` pixels are left out at every
    border; channels are averaged. This equals
    ``skimage.metrics.structural_similarity(a, b, gaussian_weights=True, sigma=1.5,
    use_sample_covariance=False, data_range=peak)`` and the authors' ``ssim.m``.
    Compute in float64 for reference-grade numbers.

    Args:
        a, b: images ``(*, C, H, W)`` of the same shape, ``H, W >= 11``, values in ``[0, peak]``.
        peak: the data range ``R``; ``C1 = (k1 R)^2``, ``C2 = (k2 R)^2``.
        sigma: Gaussian standard deviation of the window.
        k1, k2: the stabilising constants.

    Returns:
        Mean SSIM, shape ``(*)``, in ``[-1, 1]`` (1 for identical images).
    """
    a, b = _check_pair(a, b)
    radius = int(3.5 * sigma + 0.5)
    win = 2 * radius + 1
    height, width = a.shape[-2:]
    if height < win or width < win:
        raise PixelsmithError(f"ssim needs images of at least {win}x{win}, got {height}x{width}")
    lead = a.shape[:-2]
    x = a.reshape(-1, 1, height, width)
    y = b.reshape(-1, 1, height, width)
    g = _gaussian_window(sigma, radius, a.dtype, a.device)
    stack = torch.cat([x, y, x * x, y * y, x * y], dim=1)  # (N, 5, H, W)
    n = stack.shape[0]
    stack = stack.reshape(n * 5, 1, height, width)
    stack = F.conv2d(stack, g.view(1, 1, win, 1))
    stack = F.conv2d(stack, g.view(1, 1, 1, win))
    mu_x, mu_y, e_xx, e_yy, e_xy = stack.reshape(n, 5, *stack.shape[-2:]).unbind(1)
    var_x = e_xx - mu_x * mu_x
    var_y = e_yy - mu_y * mu_y
    cov = e_xy - mu_x * mu_y
    c1 = (k1 * peak) ** 2
    c2 = (k2 * peak) ** 2
    ssim_map = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / (
        (mu_x * mu_x + mu_y * mu_y + c1) * (var_x + var_y + c2)
    )
    return ssim_map.reshape(*lead, -1).mean(dim=(-2, -1))


def shave(x: torch.Tensor, border: int) -> torch.Tensor:
    """Drop ``border`` pixels from each side of the last two dimensions (MATLAB ``shave``).

    Args:
        x: tensor ``(*, H, W)``.
        border: pixels to remove on every side, ``>= 0``.

    Returns:
        ``x[..., border:H - border, border:W - border]``.
    """
    if border < 0:
        raise PixelsmithError(f"shave border must be >= 0, got {border}")
    height, width = x.shape[-2:]
    if 2 * border >= min(height, width):
        raise PixelsmithError(f"shaving {border} px leaves nothing of a {height}x{width} image")
    return x[..., border : height - border, border : width - border]


def modcrop(x: torch.Tensor, scale: int) -> torch.Tensor:
    """Crop bottom and right so that height and width divide by ``scale`` (MATLAB ``modcrop``).

    Args:
        x: tensor ``(*, H, W)``.
        scale: the integer upscaling factor.

    Returns:
        ``x[..., :H - H % scale, :W - W % scale]``.
    """
    if int(scale) != scale or scale < 1:
        raise PixelsmithError(f"modcrop scale must be a positive integer, got {scale}")
    scale = int(scale)
    height, width = x.shape[-2:]
    return x[..., : height - height % scale, : width - width % scale]


def quantize_uint8(x: torch.Tensor) -> torch.Tensor:
    """Round ``[0, 1]`` values to 8-bit levels, MATLAB's ``uint8(x * 255)``, as float ``0..255``.

    MATLAB rounds half away from zero and saturates; ``torch.round`` (half to even) would not match.
    Not differentiable (zero gradient).
    """
    return torch.floor(_as_float(x) * 255.0 + 0.5).clamp(0.0, 255.0)


def colorfulness(rgb: torch.Tensor) -> torch.Tensor:
    r"""Colourfulness of Hasler and Suesstrunk (2003), per image.

    With ``rg = R - G`` and ``yb = (R + G) / 2 - B`` on the 0..255 scale,
    :math:`M = \sqrt{\sigma_{rg}^2 + \sigma_{yb}^2} + 0.3 \sqrt{\mu_{rg}^2 + \mu_{yb}^2}`
    (population standard deviations over the pixels). A grey image scores 0; the paper rates
    about 33 "moderately", 59 "quite" and 82 "highly" colourful.

    Args:
        rgb: ``(*, 3, H, W)`` in [0, 1].

    Returns:
        ``(*)``.
    """
    x = _as_float(rgb) * 255.0
    if x.ndim < 3 or x.shape[-3] != 3:
        raise PixelsmithError(f"expected RGB images (*, 3, H, W), got {tuple(x.shape)}")
    r, g, b = x.unbind(-3)
    rg, yb = r - g, 0.5 * (r + g) - b
    dims = (-2, -1)
    std = (rg.var(dims, correction=0) + yb.var(dims, correction=0)).sqrt()
    mean = (rg.mean(dims) ** 2 + yb.mean(dims) ** 2).sqrt()
    return std + 0.3 * mean


def cumulative_auc(counts: torch.Tensor) -> torch.Tensor:
    """Area under the cumulative error curve, from error counts in unit buckets.

    ``counts[..., j]`` is the number of samples whose error ``e`` has ``ceil(e) = j`` for
    ``j = 0..T`` (``counts[..., T + 1]``: larger errors), so the fraction within ``t`` is
    ``sum(counts[..., :t + 1]) / sum(counts)`` for ``t = 0..T``. The area under that curve over
    ``[0, T]`` (trapezoids), divided by ``T``: 1 when every error is 0. Colorization uses
    ``T = 150`` ab units (Zhang et al. 2016, Table 1).

    Returns:
        ``(*)``, in [0, 1]; NaN where there are no samples.
    """
    c = counts.to(torch.float64)
    frac = c[..., :-1].cumsum(-1) / c.sum(-1, keepdim=True)
    t = frac.shape[-1] - 1
    return (frac.sum(-1) - 0.5 * (frac[..., 0] + frac[..., -1])) / t


class PSNR(nn.Module):
    """Module form of :func:`psnr`. Shape: ``(*, C, H, W)`` x 2 -> ``(*)``."""

    def __init__(self, peak: float = 1.0) -> None:
        super().__init__()
        self.peak = peak

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return psnr(a, b, peak=self.peak)


class SSIM(nn.Module):
    """Module form of :func:`ssim`. Shape: ``(*, C, H, W)`` x 2 -> ``(*)``."""

    def __init__(self, peak: float = 1.0, sigma: float = 1.5) -> None:
        super().__init__()
        self.peak = peak
        self.sigma = sigma

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return ssim(a, b, peak=self.peak, sigma=self.sigma)


def lightness_order_error(
    enhanced: torch.Tensor, original: torch.Tensor, side: int = 100
) -> torch.Tensor:
    """Lightness-order error (Wang, Zheng, Hu, Li, IEEE TIP 2013): how often the enhanced photo
    swaps which of two pixels is the lighter.

    The lightness is the max of R, G, B; both images ``(3, H, W)`` are sampled on a
    ``side x side`` grid (the paper's down-sampling, which keeps the count of pairs tractable),
    and ``LOE = mean_x sum_y [L(x) >= L(y)] xor [L'(x) >= L'(y)]``: 0 when the order is kept,
    up to ``side**2``.
    """
    from torch.nn import functional as F

    def grid(img: torch.Tensor) -> torch.Tensor:
        L = _as_float(img).amax(-3, keepdim=True)
        return F.interpolate(L[None], size=(side, side), mode="nearest").flatten()

    a, b = grid(original), grid(enhanced)
    total = torch.zeros((), dtype=torch.float64)
    for chunk in range(0, a.numel(), 1000):  # 1000 x side^2 comparisons at a time
        ua = a[chunk : chunk + 1000, None] >= a[None]
        ub = b[chunk : chunk + 1000, None] >= b[None]
        total += (ua ^ ub).sum()
    return total / a.numel()
