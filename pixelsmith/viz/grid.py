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
    grid = torch.full((c, nrow * (h + pad) + pad, ncol * (w + pad) + pad), float(pad_value),
                      dtype=tiles.dtype, device=tiles.device)
    for i in range(n):
        r, q = divmod(i, ncol)
        top, left = pad + r * (h + pad), pad + q * (w + pad)
        grid[:, top : top + h, left : left + w] = tiles[i]
    return grid


def colormap(values: torch.Tensor, cmap: str = "viridis", vmin: float | None = None,
             vmax: float | None = None) -> torch.Tensor:
    """Map ``(*, H, W)`` values through matplotlib colour map ``cmap``: ``(*, 3, H, W)`` in [0, 1].

    ``vmin``/``vmax`` default to the values' min and max.
    """
    import matplotlib

    lo = float(values.min()) if vmin is None else vmin
    hi = float(values.max()) if vmax is None else vmax
    t = ((values.detach().float().cpu() - lo) / max(hi - lo, 1e-12)).clamp(0, 1)
    lut = torch.tensor(matplotlib.colormaps[cmap](torch.linspace(0, 1, 256).numpy())[:, :3],
                       dtype=torch.float32)
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


def titled(images: Sequence[torch.Tensor], titles: Sequence[str], *, scale: float = 1.0,
           dpi: int = 100) -> torch.Tensor:
    """Images side by side with a title above each, rendered by matplotlib: ``(3, H, W)`` in [0, 1].

    Each ``(C, H, W)`` image (C = 1 or 3) is shown at ``scale`` screen pixels per image pixel.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from pixelsmith.viz.figures import figure_to_tensor

    widths = [im.shape[2] * scale / dpi for im in images]
    height = max(im.shape[1] for im in images) * scale / dpi
    fig = Figure(figsize=(sum(widths) + 0.15 * (len(images) + 1), height + 0.4))
    FigureCanvasAgg(fig)
    fig.patch.set_facecolor("white")
    gs = fig.add_gridspec(1, len(images), width_ratios=widths, left=0.01, right=0.99, bottom=0.01,
                          top=1 - 0.35 / (height + 0.4), wspace=0.05)
    for i, (im, title) in enumerate(zip(images, titles, strict=True)):
        ax = fig.add_subplot(gs[0, i])
        arr = im.detach().float().cpu().clamp(0, 1)
        if arr.shape[0] == 1:
            ax.imshow(arr[0].numpy(), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        else:
            ax.imshow(arr.permute(1, 2, 0).numpy(), interpolation="nearest")
        ax.set_title(title, fontsize=9)
        ax.axis("off")
    return figure_to_tensor(fig, dpi=dpi)


def save_image(path: str | Path, image: torch.Tensor) -> Path:
    """Write a ``(C, H, W)`` image in [0, 1] (C = 1 or 3) to ``path`` (made folder, overwritten)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_image(path, image.detach().float().cpu().clamp(0, 1).contiguous(), overwrite=True)
