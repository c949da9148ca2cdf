"""Image grids as tensors, colour maps, and writing them as PNG.

Every viz tool returns a ``(C, H, W)`` float tensor in [0, 1] (C = 1 or 3) built here, and writes it
with :func:`save_image`, which goes through :func:`pixelsmith.io.write_image` (atomic write).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import torch
from torch.nn import functional as F

from pixelsmith.io import write_image


def normalise_tiles(tiles: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """Stretch each tile of ``(N, C, h, w)`` to [0, 1] by its own min and max (flat tile -> 0.5)."""
    flat = tiles.flatten(1)
    lo = flat.min(1).values.view(-1, 1, 1, 1)
    hi = flat.max(1).values.view(-1, 1, 1, 1)
    span = hi - lo
    out = (tiles - lo) / span.clamp(min=eps)
    return torch.where(span > eps, out, torch.full_like(tiles, 0.5))


def auto_zoom(height: int, width: int, target: int = 48) -> int:
    """Integer nearest-neighbour zoom that makes a ``height x width`` tile about ``target`` wide."""
    return max(1, target // max(height, width, 1))


def make_grid(
    tiles: torch.Tensor,
    ncol: int | None = None,
    *,
    pad: int = 1,
    pad_value: float = 1.0,
    zoom: int = 1,
) -> torch.Tensor:
    """Lay out ``(N, C, h, w)`` tiles row by row into one ``(C, H, W)`` image.

    Args:
        tiles: values in [0, 1]; C = 1 or 3.
        ncol: tiles per row (default ``ceil(sqrt(N))``).
        pad: pixels of ``pad_value`` between tiles and around the grid.
        zoom: integer nearest-neighbour magnification of each tile (small filters stay crisp).

    Returns:
        ``(C, rows * (zoom*h + pad) + pad, ncol * (zoom*w + pad) + pad)``.
    """
    if tiles.dim() != 4:
        raise ValueError(f"tiles must be (N, C, h, w), got {tuple(tiles.shape)}")
    n, c, h, w = tiles.shape
    if zoom > 1:
        tiles = tiles.repeat_interleave(zoom, 2).repeat_interleave(zoom, 3)
        h, w = h * zoom, w * zoom
    ncol = max(1, min(ncol or math.ceil(math.sqrt(n)), max(n, 1)))
    nrow = max(1, math.ceil(n / ncol))
    grid = torch.full(
        (c, nrow * (h + pad) + pad, ncol * (w + pad) + pad),
        float(pad_value),
        dtype=tiles.dtype,
        device=tiles.device,
    )
    for i in range(n):
        r, q = divmod(i, ncol)
        top, left = pad + r * (h + pad), pad + q * (w + pad)
        grid[:, top : top + h, left : left + w] = tiles[i]
    return grid


def colormap(
    values: torch.Tensor,
    cmap: str = "viridis",
    vmin: float | None = None,
    vmax: float | None = None,
) -> torch.Tensor:
    """Map ``(*, H, W)`` values through matplotlib colour map ``cmap``: ``(*, 3, H, W)`` in [0, 1].

    ``vmin``/``vmax`` default to the values' min and max.
    """
    import matplotlib

    lo = float(values.min()) if vmin is None else vmin
    hi = float(values.max()) if vmax is None else vmax
    t = ((values.detach().float().cpu() - lo) / max(hi - lo, 1e-12)).clamp(0, 1)
    lut = torch.tensor(
        matplotlib.colormaps[cmap](torch.linspace(0, 1, 256).numpy())[:, :3], dtype=torch.float32
    )
    rgb = lut[(t * 255).round().long()]  # (*, H, W, 3)
    return rgb.movedim(-1, -3).contiguous()


def overlay(image: torch.Tensor, heat: torch.Tensor, alpha: float = 0.6) -> torch.Tensor:
    """Blend a ``(3, H, W)`` colour-mapped heat map over a ``(C, H, W)`` image (C = 1 or 3)."""
    image = image.detach().float().cpu()
    if image.shape[0] == 1:
        image = image.expand(3, -1, -1)
    if heat.shape[-2:] != image.shape[-2:]:
        heat = F.interpolate(heat[None], size=image.shape[-2:], mode="nearest")[0]
    return ((1 - alpha) * image + alpha * heat).clamp(0, 1)


def hstack(images: Sequence[torch.Tensor], pad: int = 4, pad_value: float = 1.0) -> torch.Tensor:
    """Place ``(C, H_i, W_i)`` images side by side, top-aligned (grey -> RGB if any is colour)."""
    c = max(im.shape[0] for im in images)
    h = max(im.shape[1] for im in images)
    w = sum(im.shape[2] for im in images) + pad * (len(images) + 1)
    out = torch.full((c, h + 2 * pad, w), float(pad_value))
    left = pad
    for im in images:
        im = im.detach().float().cpu().expand(c, -1, -1)
        out[:, pad : pad + im.shape[1], left : left + im.shape[2]] = im
        left += im.shape[2] + pad
    return out


def vstack(images: Sequence[torch.Tensor], pad: int = 4, pad_value: float = 1.0) -> torch.Tensor:
    """Place ``(C, H_i, W_i)`` images one below the other, left-aligned (grey -> RGB if needed)."""
    return hstack([im.transpose(1, 2) for im in images], pad, pad_value).transpose(1, 2)


def text_image(text: str, fontsize: float = 9, dpi: int = 100) -> torch.Tensor:
    """``text`` rendered by matplotlib (black on white), cropped to its width: ``(3, h, w)``."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from pixelsmith.viz.figures import figure_to_tensor

    height = 1.8 * fontsize / 72
    fig = Figure(figsize=(0.2 + 0.75 * fontsize / 72 * max(len(text), 1), height))
    FigureCanvasAgg(fig)
    fig.patch.set_facecolor("white")
    fig.text(0.5, 0.5, text, ha="center", va="center", fontsize=fontsize)
    image = figure_to_tensor(fig, dpi=dpi)
    ink = (image < 0.99).any(0).any(0).nonzero()
    if ink.numel() == 0:
        return image[:, :, :1]
    return image[:, :, max(0, int(ink[0]) - 2) : int(ink[-1]) + 3]


def titled(
    images: Sequence[torch.Tensor], titles: Sequence[str], *, pad: int = 8, fontsize: float = 9
) -> torch.Tensor:
    """Images side by side, each with a title above it: ``(3, H, W)`` in [0, 1].

    The ``(C, H, W)`` images (C = 1 or 3) are pasted pixel for pixel (no resampling) and centred
    under their titles; ``pad`` white pixels separate the panels.
    """
    panels = []
    for im, title in zip(images, titles, strict=True):
        im = im.detach().float().cpu().clamp(0, 1).expand(3, -1, -1)
        text = text_image(title, fontsize)
        w = max(im.shape[2], text.shape[2])
        panel = torch.ones(3, text.shape[1] + 2 + im.shape[1], w)
        left = (w - text.shape[2]) // 2
        panel[:, : text.shape[1], left : left + text.shape[2]] = text
        left = (w - im.shape[2]) // 2
        panel[:, text.shape[1] + 2 :, left : left + im.shape[2]] = im
        panels.append(panel)
    return hstack(panels, pad)


def save_image(path: str | Path, image: torch.Tensor) -> Path:
    """Write a ``(C, H, W)`` image in [0, 1] (C = 1 or 3) to ``path`` (made folder, overwritten)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_image(path, image.detach().float().cpu().clamp(0, 1).contiguous(), overwrite=True)
