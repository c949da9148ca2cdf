"""Filter grids: a convolution's kernels as small images, as in the SRCNN paper's figure of its 9x9
first-layer filters (Dong et al., TPAMI 2016, Fig. 5) or AlexNet's colour filters.

Each filter is stretched to [0, 1] by its own minimum and maximum (over all its input channels
together, so a colour filter keeps its hue). A filter over 1 or 3 input channels is one grey or
colour tile; a filter over other channel counts (deeper layers, image + mask inputs) is one grey
tile per input channel, a filter per row.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from pixelsmith.errors import PixelsmithError
from pixelsmith.viz.grid import auto_zoom, make_grid, normalise_tiles, save_image
from pixelsmith.viz.layers import conv_layer_names, get_layer


def conv_weight(model: nn.Module, layer: str | None = None) -> torch.Tensor:
    """The kernels of convolution ``layer`` (default: the first one) as ``(out, in, kh, kw)``.

    Transposed convolutions are returned in the same ``(out, in, kh, kw)`` order.

    Raises:
        PixelsmithError: unknown layer, a layer that is not a 2-D convolution, or a model without
            one.
    """
    if layer is None:
        names = conv_layer_names(model)
        if not names:
            raise PixelsmithError(f"{type(model).__name__} has no convolution layer")
        layer = names[0]
    module = get_layer(model, layer)
    if not isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        raise PixelsmithError(
            f"layer {layer!r} is a {type(module).__name__}, not a 2-D convolution; convolutions: "
            f"{', '.join(conv_layer_names(model)) or '(none)'}"
        )
    w = module.weight.detach().float().cpu()
    if isinstance(module, nn.ConvTranspose2d):
        w = w.transpose(0, 1)
    return w


def normalise_filters(weight: torch.Tensor, symmetric: bool = False) -> torch.Tensor:
    """Map each filter of ``(N, C, kh, kw)`` to [0, 1] on its own.

    ``symmetric=False``: its minimum -> 0 and maximum -> 1. ``symmetric=True``: zero -> 0.5 and the
    largest magnitude -> 0 or 1, so the sign of each weight can be read off the grey level.
    """
    if not symmetric:
        return normalise_tiles(weight)
    peak = weight.flatten(1).abs().max(1).values.clamp(min=1e-12).view(-1, 1, 1, 1)
    return 0.5 + 0.5 * weight / peak


def filter_tiles(weight: torch.Tensor, symmetric: bool = False) -> tuple[torch.Tensor, int]:
    """``(N, C, kh, kw)`` kernels -> tiles ``(T, 1 or 3, kh, kw)`` in [0, 1], and a row length.

    C = 1 or 3: one tile per filter. Otherwise ``N * C`` grey tiles, one row of C per filter.
    """
    n, c = weight.shape[:2]
    tiles = normalise_filters(weight, symmetric)
    if c in (1, 3):
        return tiles, 0
    return tiles.reshape(n * c, 1, *weight.shape[2:]), c


def filter_grid(
    model: nn.Module,
    layer: str | None = None,
    *,
    ncol: int | None = None,
    zoom: int | None = None,
    pad: int = 1,
    symmetric: bool = False,
    sort: bool = False,
) -> torch.Tensor:
    """The kernels of convolution ``layer`` (default: the first) as a grid, each normalised alone.

    Args:
        model: any ``nn.Module`` with a ``Conv2d`` (or ``ConvTranspose2d``) named ``layer``.
        ncol: tiles per row (default: square grid; one filter per row when each filter spans
            several grey tiles).
        zoom: nearest-neighbour magnification of each kernel (default: about 48 pixels per tile).
        pad: white pixels between tiles.
        symmetric: grey 0.5 is weight zero (see :func:`normalise_filters`).
        sort: order the filters by decreasing variance of their weights, as the SRCNN paper does.

    Returns:
        ``(1 or 3, H, W)`` in [0, 1]; for 64 9x9 grey filters at ``zoom=4``, ``pad=1``:
        ``(1, 297, 297)``.
    """
    w = conv_weight(model, layer)
    if sort:
        w = w[w.flatten(1).var(1).argsort(descending=True, stable=True)]
    tiles, per_row = filter_tiles(w, symmetric)
    zoom = zoom or auto_zoom(*w.shape[2:])
    return make_grid(tiles, ncol or per_row or None, pad=pad, zoom=zoom)


def save_filter_grid(
    model: nn.Module, path: str | Path, layer: str | None = None, **kwargs
) -> Path:
    """Write :func:`filter_grid` (same keyword arguments) to ``path`` as PNG; returns the path."""
    return save_image(path, filter_grid(model, layer, **kwargs))
