"""Filtering an image with a fixed kernel, by the same ``F.conv2d`` the networks use.

A convolutional layer is a bank of learned filters; here the filters are the classic hand-made
ones (the lecture's ``[-1 0 1]`` edge detector, Sobel, Gaussian, box), applied to each channel
on its own.
Like ``nn.Conv2d`` (and ``scipy.ndimage.correlate``) this is *correlation*: the kernel is not
flipped, so ``[-1 0 1]`` answers ``x[j+1] - x[j-1]``, positive where brightness rises to the right.
The output keeps the input's size; the border mode says what lies beyond the edge.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

from pixelsmith.errors import PixelsmithError

BORDERS = ("reflect", "symmetric", "replicate", "circular", "zeros")
"""Border modes, for a row ``a b c d``:

* ``reflect``: ``c b | a b c d | c b`` (NumPy/PyTorch ``reflect``, SciPy ``mirror``, OpenCV default)
* ``symmetric``: ``b a | a b c d | d c`` (SciPy ``reflect``)
* ``replicate``: ``a a | a b c d | d d`` (SciPy ``nearest``)
* ``circular``: ``c d | a b c d | a b`` (SciPy ``wrap``)
* ``zeros``: ``0 0 | a b c d | 0 0`` (SciPy ``constant``)
"""


def _border_index(n: int, before: int, after: int, border: str) -> torch.Tensor:
    i = torch.arange(-before, n + after)
    if border == "replicate":
        return i.clamp(0, n - 1)
    if border == "circular":
        return i % n
    if border == "symmetric":
        i = i % (2 * n)
        return torch.where(i >= n, 2 * n - 1 - i, i)
    if n == 1:  # reflect
        return torch.zeros_like(i)
    i = i % (2 * n - 2)
    return torch.where(i >= n, 2 * n - 2 - i, i)


def pad_image(
    image: torch.Tensor, top: int, bottom: int, left: int, right: int, border: str = "reflect"
) -> torch.Tensor:
    """Pad the last two dims of ``(..., H, W)`` by the given amounts (any size, even beyond the
    image) in one of :data:`BORDERS`."""
    if border not in BORDERS:
        raise PixelsmithError(f"unknown border mode {border!r}; choose from {', '.join(BORDERS)}")
    if border == "zeros":
        return F.pad(image, (left, right, top, bottom))
    h, w = image.shape[-2:]
    rows = _border_index(h, top, bottom, border).to(image.device)
    cols = _border_index(w, left, right, border).to(image.device)
    return image.index_select(-2, rows).index_select(-1, cols)


def filter_image(
    image: torch.Tensor, kernel: torch.Tensor, border: str = "reflect"
) -> torch.Tensor:
    """Correlate every channel of ``image`` with ``kernel``; same size out.

    Args:
        image: ``(C, H, W)`` or ``(B, C, H, W)`` float (any range; outputs are not clamped).
        kernel: ``(kh, kw)``, any size. The output pixel ``(i, j)`` is
            ``sum_{u,v} kernel[u, v] * image[i + u - kh//2, j + v - kw//2]`` (centre ``kh//2``,
            as ``scipy.ndimage.correlate``).
        border: one of :data:`BORDERS`.

    Returns:
        The filtered image, same shape and dtype as ``image``.
    """
    if image.ndim not in (3, 4) or not image.is_floating_point():
        raise PixelsmithError(
            f"filter_image needs a float (C, H, W) or (B, C, H, W) image, got "
            f"{image.dtype} {tuple(image.shape)}"
        )
    kernel = torch.as_tensor(kernel, dtype=image.dtype, device=image.device)
    if kernel.ndim != 2 or kernel.numel() == 0:
        raise PixelsmithError(
            f"the kernel must be a non-empty (kh, kw) matrix, got {tuple(kernel.shape)}"
        )
    batched = image if image.ndim == 4 else image[None]
    c = batched.shape[1]
    kh, kw = kernel.shape
    padded = pad_image(batched, kh // 2, kh - 1 - kh // 2, kw // 2, kw - 1 - kw // 2, border)
    out = F.conv2d(padded, kernel.expand(c, 1, kh, kw), groups=c)
    return out if image.ndim == 4 else out[0]


def edge_kernel() -> torch.Tensor:
    """The lecture's horizontal edge detector ``[[-1, 0, 1]]``, ``(1, 3)``; its transpose finds
    horizontal edges (vertical changes)."""
    return torch.tensor([[-1.0, 0.0, 1.0]])


def sobel_kernels() -> tuple[torch.Tensor, torch.Tensor]:
    """Sobel ``(gx, gy)``, each ``(3, 3)``: ``[-1 0 1]``, smoothed along the edge by ``[1 2 1]``.
    ``gx`` responds to brightness rising to the right, ``gy`` rising downwards."""
    gx = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])
    return gx, gx.T.contiguous()


def gaussian_kernel(size: int, sigma: float) -> torch.Tensor:
    """Sampled Gaussian ``(size, size)`` centred at ``(size - 1) / 2``, normalised to sum 1."""
    if size < 1 or sigma <= 0:
        raise PixelsmithError(f"gaussian_kernel needs size >= 1 and sigma > 0, got {size}, {sigma}")
    x = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-(x**2) / (2 * sigma**2))
    g = g / g.sum()
    return torch.outer(g, g).float()


def box_kernel(size: int) -> torch.Tensor:
    """Moving average ``(size, size)``, every entry ``1 / size^2``."""
    if size < 1:
        raise PixelsmithError(f"box_kernel needs size >= 1, got {size}")
    return torch.full((size, size), 1.0 / size**2)
