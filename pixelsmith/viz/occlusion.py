"""Occlusion sensitivity (Zeiler & Fergus, ECCV 2014): cover part of the image with a grey patch and
see how much a chosen output drops.

The patch (``patch x patch`` pixels of value ``fill``) is centred on a grid of positions ``stride``
apart: cell ``(i, j)`` of the map is centred on pixel ``(i*stride + stride//2, j*stride +
stride//2)`` and holds ``score(image) - score(occluded image)``, positive where hiding the pixels
lowers the score, i.e. where the model looks. Patches at the border are clipped to the image. The
occluded copies are run in batches.

The score is one number per image, chosen by a *target*: a class logit for a classifier
(:func:`class_target`), or a pixel (:func:`pixel_target`) or a region's mean (:func:`region_target`)
of an image-to-image model's output (in output pixels: an x3 super-resolution model's output is
three times the input's size).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from pixelsmith.errors import PixelsmithError
from pixelsmith.models import model_device
from pixelsmith.viz.grid import auto_zoom, colormap, hstack, overlay, save_image
from pixelsmith.viz.layers import eval_mode, model_in_channels, to_model_input

Target = Callable[[torch.Tensor], torch.Tensor]


def class_target(index: int) -> Target:
    """Score = output unit ``index``: ``out[:, index]`` for ``(B, K)`` logits, its spatial mean for
    ``(B, K, H, W)``."""

    def score(out: torch.Tensor) -> torch.Tensor:
        if not 0 <= index < out.shape[1]:
            raise PixelsmithError(f"output unit {index} out of range; the model has {out.shape[1]}")
        v = out[:, index]
        return v.flatten(1).mean(1) if v.dim() > 1 else v

    return score


def pixel_target(y: int, x: int, channel: int = 0) -> Target:
    """Score = output pixel ``(channel, y, x)`` of a ``(B, C, H, W)`` output."""

    def score(out: torch.Tensor) -> torch.Tensor:
        _check_inside(out, y, x, 1, 1)
        return out[:, channel, y, x]

    return score


def region_target(
    top: int, left: int, height: int, width: int, channel: int | None = None
) -> Target:
    """Score = mean of the output over rows ``top:top+height``, columns ``left:left+width`` (all
    channels, or one)."""

    def score(out: torch.Tensor) -> torch.Tensor:
        _check_inside(out, top, left, height, width)
        region = out[:, :, top : top + height, left : left + width]
        if channel is not None:
            region = region[:, channel]
        return region.flatten(1).mean(1)

    return score


def _check_inside(out: torch.Tensor, top: int, left: int, height: int, width: int) -> None:
    if out.dim() != 4:
        raise PixelsmithError(
            f"a pixel/region target needs an image output, got {tuple(out.shape)}"
        )
    h, w = out.shape[-2:]
    if height < 1 or width < 1 or top < 0 or left < 0 or top + height > h or left + width > w:
        raise PixelsmithError(
            f"target region rows {top}:{top + height}, columns {left}:{left + width} is not inside "
            f"the {h}x{w} output"
        )


def parse_target(spec: str) -> Target:
    """A target from text: ``"class:K"``, ``"pixel:Y,X[,C]"`` or ``"region:TOP,LEFT,H,W[,C]"``."""
    kind, _, rest = spec.partition(":")
    try:
        nums = [int(v) for v in rest.split(",")] if rest else []
    except ValueError:
        nums = None
    makers = {
        "class": (class_target, (1,)),
        "pixel": (pixel_target, (2, 3)),
        "region": (region_target, (4, 5)),
    }
    if kind not in makers or nums is None or len(nums) not in makers[kind][1]:
        raise PixelsmithError(
            f"bad occlusion target {spec!r}; use class:K, pixel:Y,X[,C] or region:TOP,LEFT,H,W[,C]"
        )
    return makers[kind][0](*nums)


def _spans(size: int, patch: int, stride: int) -> list[tuple[int, int]]:
    starts = [i * stride + stride // 2 - patch // 2 for i in range(-(-size // stride))]
    return [(max(0, s), min(size, s + patch)) for s in starts]


def occlusion_map(
    model: nn.Module,
    image: torch.Tensor,
    target: Target | int,
    *,
    patch: int = 8,
    stride: int = 4,
    fill: float | torch.Tensor = 0.5,
    batch_size: int | None = None,
) -> torch.Tensor:
    """The drop of ``target``'s score as a grey patch slides over ``image``.

    Args:
        model: any ``nn.Module`` (run in eval mode, without gradients).
        image: ``(C, H, W)`` or ``(1, C, H, W)`` in [0, 1]; converted to the model's input channels.
        target: a score function ``(B, ...) output -> (B,)`` (see :func:`class_target`,
            :func:`pixel_target`, :func:`region_target`, :func:`parse_target`), or an int, read as
            ``class_target(int)``.
        patch: side of the square patch, in input pixels.
        stride: distance between patch centres, in input pixels.
        fill: the patch's value (grey 0.5 by default), or a ``(C,)`` colour.
        batch_size: occluded copies per forward pass (default: 64, fewer for large images, about
            2**18 input pixels per batch).

    Returns:
        ``(ceil(H/stride), ceil(W/stride))``: ``score(image) - score(occluded)`` per patch position
        (float32, on the CPU). :func:`to_pixels` spreads it over the image's pixels.
    """
    if patch < 1 or stride < 1 or (batch_size is not None and batch_size < 1):
        raise PixelsmithError("patch, stride and batch_size must be at least 1")
    score = class_target(target) if isinstance(target, int) else target
    x = to_model_input(image, model_in_channels(model)).to(model_device(model))
    if x.shape[0] != 1:
        raise PixelsmithError("occlusion_map takes one image, not a batch")
    _, c, h, w = x.shape
    batch_size = batch_size or max(1, min(64, 2**18 // (h * w)))
    fill_t = torch.as_tensor(fill, dtype=x.dtype, device=x.device).reshape(-1, 1, 1)
    rows, cols = _spans(h, patch, stride), _spans(w, patch, stride)
    boxes = [(r, q) for r in rows for q in cols]
    drops = []
    with eval_mode(model), torch.no_grad():
        base = score(model(x)).float()
        for i in range(0, len(boxes), batch_size):
            chunk = boxes[i : i + batch_size]
            batch = x.repeat(len(chunk), 1, 1, 1)
            for b, ((y0, y1), (x0, x1)) in enumerate(chunk):
                batch[b, :, y0:y1, x0:x1] = fill_t
            drops.append(base - score(model(batch)).float())
    return torch.cat(drops).cpu().reshape(len(rows), len(cols))


def to_pixels(cells: torch.Tensor, stride: int, size: tuple[int, int]) -> torch.Tensor:
    """Spread an :func:`occlusion_map` ``(ny, nx)`` over the image: ``(H, W)``, each pixel taking
    the value of the patch position whose ``stride x stride`` cell it lies in."""
    full = cells.repeat_interleave(stride, 0).repeat_interleave(stride, 1)
    return full[: size[0], : size[1]]


def occlusion_figure(
    image: torch.Tensor,
    cells: torch.Tensor,
    stride: int,
    *,
    cmap: str = "RdBu_r",
    alpha: float = 0.6,
    zoom: int | None = None,
) -> torch.Tensor:
    """The image, the heat map and the heat map over the image, side by side.

    ``image`` is ``(C, H, W)`` in [0, 1]; returns ``(3, zoom*H + 8, 3*zoom*W + 16)`` with ``zoom``
    (nearest neighbour) by default making small images about 128 pixels tall. The colour map is
    centred on zero (white for ``cmap="RdBu_r"``: red, the score drops when the region is hidden;
    blue, it rises).
    """
    img = image[0] if image.dim() == 4 else image
    img = img.detach().float().cpu()
    heat_vals = to_pixels(cells, stride, img.shape[-2:])
    m = float(heat_vals.abs().max()) or 1.0
    heat = colormap(heat_vals, cmap, -m, m)
    panels = [img.expand(3, -1, -1), heat, overlay(img, heat, alpha)]
    zoom = zoom or auto_zoom(*img.shape[-2:], target=128)
    if zoom > 1:
        panels = [p.repeat_interleave(zoom, 1).repeat_interleave(zoom, 2) for p in panels]
    return hstack(panels)


def save_occlusion(
    model: nn.Module,
    image: torch.Tensor,
    target: Target | int | str,
    path: str | Path,
    *,
    patch: int = 8,
    stride: int = 4,
    fill: float = 0.5,
    batch_size: int | None = None,
) -> tuple[Path, torch.Tensor]:
    """Compute :func:`occlusion_map` (``target`` may be a :func:`parse_target` string) and write
    :func:`occlusion_figure` to ``path`` (PNG). Returns the path and the ``(ny, nx)`` map."""
    if isinstance(target, str):
        target = parse_target(target)
    cells = occlusion_map(
        model, image, target, patch=patch, stride=stride, fill=fill, batch_size=batch_size
    )
    return save_image(path, occlusion_figure(image, cells, stride)), cells
