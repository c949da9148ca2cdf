"""Activation maps: what each channel of a chosen layer outputs for one input image.

    maps = activation_maps(model, image, "conv1")  # (C, h, w), read by a forward hook
    grid = activation_grid(maps)  # (1, H, W) in [0, 1], one tile per channel

The layer is picked by its ``named_modules()`` name (``"conv1"``, ``"body.0.conv1"``); the forward
stops once that layer has run.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

from pixelsmith.errors import PixelsmithError
from pixelsmith.models import model_device
from pixelsmith.viz.grid import auto_zoom, colormap, make_grid, normalise_tiles, save_image
from pixelsmith.viz.layers import layer_outputs, model_in_channels, to_model_input


def activation_maps(
    model: nn.Module, image: torch.Tensor, layer: str, *, call: int = 0
) -> torch.Tensor:
    """The output of ``layer`` when ``model`` runs on ``image``.

    Args:
        model: any ``nn.Module`` (run in eval mode, without gradients).
        image: ``(C, H, W)`` or ``(B, C, H, W)`` in [0, 1]; converted to the model's input channels
            (colour -> luma, grey -> repeated) when they differ.
        layer: a ``named_modules()`` name.
        call: for a module that runs several times per forward (a shared ReLU), which call.

    Returns:
        The layer's output without the batch axis for a ``(C, H, W)`` image, e.g. ``(K, h, w)`` for
        a convolution with K channels; ``(B, K, h, w)`` for a batch.

    Raises:
        PixelsmithError: unknown layer (the message lists the valid names).
    """
    x = to_model_input(image, model_in_channels(model)).to(model_device(model))
    out = layer_outputs(model, x, [layer], call=call)[layer]
    return out[0] if image.dim() == 3 else out


def activation_grid(
    maps: torch.Tensor,
    *,
    normalise: str = "map",
    channels: Sequence[int] | None = None,
    cmap: str | None = None,
    ncol: int | None = None,
    zoom: int | None = None,
    pad: int = 1,
) -> torch.Tensor:
    """Tile ``(K, h, w)`` activation maps into one image.

    Args:
        maps: one image's maps (``(K,)`` vectors from a linear layer are drawn as 1x1 tiles).
        normalise: ``"map"`` stretches each map to [0, 1] on its own (shows every channel's
            pattern); ``"layer"`` uses one min/max for all (shows which channels respond most).
        channels: the channels to show, in this order (default: all).
        cmap: a matplotlib colour map name for colour output (default: grey).
        zoom: nearest-neighbour magnification (default: about 48 pixels per tile).

    Returns:
        ``(1, H, W)`` (grey) or ``(3, H, W)`` (``cmap``) in [0, 1].
    """
    if maps.dim() == 1:
        maps = maps[:, None, None]
    if maps.dim() != 3:
        raise PixelsmithError(f"activation maps must be (K, h, w), got {tuple(maps.shape)}")
    maps = maps.detach().float().cpu()
    if channels is not None:
        bad = [c for c in channels if not 0 <= c < maps.shape[0]]
        if bad:
            raise PixelsmithError(f"channel(s) {bad} out of range; the layer has {maps.shape[0]}")
        maps = maps[list(channels)]
    tiles = maps[:, None]
    if normalise == "map":
        tiles = normalise_tiles(tiles)
    elif normalise == "layer":
        tiles = normalise_tiles(tiles.reshape(1, -1, 1, 1)).reshape(tiles.shape)
    else:
        raise PixelsmithError(f"normalise must be 'map' or 'layer', not {normalise!r}")
    if cmap is not None:
        tiles = colormap(tiles[:, 0], cmap, 0.0, 1.0)
    return make_grid(tiles, ncol, pad=pad, zoom=zoom or auto_zoom(*maps.shape[1:]))


def save_activation_grid(
    model: nn.Module, image: torch.Tensor, layer: str, path: str | Path, **kwargs
) -> Path:
    """Write the :func:`activation_grid` of ``layer`` for ``image`` to ``path`` (PNG)."""
    return save_image(path, activation_grid(activation_maps(model, image, layer), **kwargs))
