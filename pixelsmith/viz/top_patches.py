"""What excites a unit (Zeiler & Fergus, ECCV 2014): the input patches that drive a channel most.

For each image, the channel's strongest response (spatial argmax) is found; the k strongest over
all images are kept, and for each the input patch that the response depends on is cropped. That
patch is the *receptive field* of the unit at that location, found numerically (see
:func:`receptive_field`: by where NaN input pixels reach the unit, or by the support of the unit's
gradient). This works for any network: stride-1 "same" nets, pooled or strided nets, and nets that
first upsample (SRCNN) alike.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from pixelsmith.errors import PixelsmithError
from pixelsmith.io import read_image
from pixelsmith.models import model_device
from pixelsmith.viz.grid import auto_zoom, make_grid, save_image
from pixelsmith.viz.layers import layer_outputs, model_in_channels, to_model_input

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp", ".gif"}

Images = str | Path | Sequence[torch.Tensor] | Mapping[str, torch.Tensor]
"""A folder of image files, or ``(C, H, W)`` tensors in a sequence or by name."""

Box = tuple[int, int, int, int]
"""``(top, left, height, width)`` in input pixels."""


@dataclass
class Patch:
    """One of the top patches for a unit."""

    pixels: torch.Tensor
    """``(C, h, w)`` in [0, 1]: the receptive field in the model's input (``pad_value`` outside)."""
    score: float
    """The channel's activation at ``location``."""
    source: str
    """The image it came from: a file name, a mapping key, or the index in a sequence."""
    location: tuple[int, int]
    """``(y, x)`` of the response in the layer's output."""
    box: Box
    """Where ``pixels`` lies in the input image; may reach outside the image at its border."""


def receptive_field(
    model: nn.Module,
    layer: str,
    shape: tuple[int, int, int],
    y: int,
    x: int,
    *,
    method: str = "gradient",
    samples: int = 16,
    seed: int = 0,
    call: int = 0,
) -> Box:
    """The input pixels that ``layer``'s output at ``(y, x)`` depends on, as a bounding box.

    ``method="gradient"`` (default): the support of the gradient of ``sum_c out[c, y, x]`` with
    respect to the input, united over ``samples`` standard-normal noise inputs of ``shape = (C, H,
    W)`` (run 8 at a time). One input is not enough: a ReLU that is off, or a max-pool that routes
    the gradient to one pixel of its window, hides part of the field on any one input; zero-mean
    noise (rather than images in [0, 1]) keeps about half of the ReLUs on, even in untrained nets.
    A unit whose gradient is zero everywhere (zero weights) gets the ``"nan"`` field instead.

    ``method="nan"``: a band of NaN input rows (or columns) grown from each side of a grey image,
    binary-searched for where the NaN first reaches the output at ``(y, x)`` (``4 log2(max(H, W))``
    images, four at a time). NaN passes through every convolution tap (even a zero weight), ReLU
    and max-pool, so for nets of such layers it gives the exact structural field whatever the
    weights; but a step computed as a dense matrix product (pixelsmith's bicubic
    :func:`~pixelsmith.resize.imresize`, so SRCNN) spreads NaN everywhere: the whole image.

    The box is clipped to the image.

    Raises:
        PixelsmithError: unknown layer, a layer without spatial output, ``(y, x)`` outside it, or
            an output that does not depend on the input.
    """
    if method == "gradient":
        return _gradient_field(model, layer, shape, y, x, samples, seed, call)
    if method != "nan":
        raise PixelsmithError(f"receptive field method must be 'nan' or 'gradient', not {method!r}")
    c, h, w = shape
    device = model_device(model)

    def reached(bands: list[tuple[int, int, int, int]]) -> list[bool]:
        batch = torch.full((len(bands), c, h, w), 0.5, device=device)
        for b, (y0, y1, x0, x1) in enumerate(bands):
            batch[b, :, y0:y1, x0:x1] = float("nan")
        out = layer_outputs(model, batch, [layer], call=call)[layer]
        _check_location(out, layer, y, x)
        return out[:, :, y, x].isnan().flatten(1).any(1).tolist()

    if not reached([(0, h, 0, w)])[0]:
        raise PixelsmithError(f"layer {layer!r} at ({y}, {x}) does not depend on the input")
    # smallest r with NaN in rows [0, r) reaching the unit is top + 1; largest r with NaN in rows
    # [r, H) reaching it is the bottom row; the same for columns
    lo, hi = [1, 0, 1, 0], [h, h - 1, w, w - 1]
    while any(a < b for a, b in zip(lo, hi, strict=True)):
        mid = [
            (lo[0] + hi[0]) // 2,
            (lo[1] + hi[1] + 1) // 2,
            (lo[2] + hi[2]) // 2,
            (lo[3] + hi[3] + 1) // 2,
        ]
        hit = reached([(0, mid[0], 0, w), (mid[1], h, 0, w), (0, h, 0, mid[2]), (0, h, mid[3], w)])
        for i in range(4):
            if lo[i] >= hi[i]:
                continue
            if i % 2 == 0:  # band [0, mid): find the smallest mid that reaches
                lo[i], hi[i] = (lo[i], mid[i]) if hit[i] else (mid[i] + 1, hi[i])
            else:  # band [mid, end): find the largest mid that reaches
                lo[i], hi[i] = (mid[i], hi[i]) if hit[i] else (lo[i], mid[i] - 1)
    top, bottom, left, right = lo[0] - 1, lo[1], lo[2] - 1, lo[3]
    return top, left, bottom - top + 1, right - left + 1


def _check_location(out: torch.Tensor, layer: str, y: int, x: int) -> None:
    if out.dim() != 4:
        raise PixelsmithError(f"layer {layer!r} has no spatial output (shape {tuple(out.shape)})")
    if not (0 <= y < out.shape[2] and 0 <= x < out.shape[3]):
        raise PixelsmithError(
            f"({y}, {x}) is outside layer {layer!r}'s {tuple(out.shape[2:])} output"
        )


def _gradient_field(
    model: nn.Module,
    layer: str,
    shape: tuple[int, int, int],
    y: int,
    x: int,
    samples: int,
    seed: int,
    call: int,
) -> Box:
    g = torch.Generator().manual_seed(seed)
    support = torch.zeros(shape[1:], dtype=torch.bool)
    for n in range(0, samples, 8):
        noise = torch.randn(min(8, samples - n), *shape, generator=g)
        noise = noise.to(model_device(model)).requires_grad_()
        out = layer_outputs(model, noise, [layer], call=call, grad=True)[layer]
        _check_location(out, layer, y, x)
        (grad,) = torch.autograd.grad(out[:, :, y, x].sum(), noise)
        support |= (grad.abs().sum((0, 1)) > 0).cpu()
    rows, cols = support.any(1).nonzero()[:, 0], support.any(0).nonzero()[:, 0]
    if rows.numel() == 0:  # zero weights (an untrained layer): fall back to the structural field
        return receptive_field(model, layer, shape, y, x, method="nan", call=call)
    top, left = int(rows[0]), int(cols[0])
    return top, left, int(rows[-1]) - top + 1, int(cols[-1]) - left + 1


def _extend(start: int, length: int, size: int, want: int) -> int:
    """Start of a window of ``want`` pixels containing ``[start, start+length)``, grown on the side
    where the image border cut the receptive field (evenly when neither or both)."""
    missing = want - length
    cut_before, cut_after = start == 0, start + length == size
    if cut_before and not cut_after:
        return start - missing
    if cut_after and not cut_before:
        return start
    return start - missing // 2


def _crop(image: torch.Tensor, box: Box, pad_value: float) -> torch.Tensor:
    top, left, h, w = box
    out = torch.full((image.shape[0], h, w), pad_value, dtype=image.dtype)
    y0, x0 = max(top, 0), max(left, 0)
    y1, x1 = min(top + h, image.shape[1]), min(left + w, image.shape[2])
    if y1 > y0 and x1 > x0:
        out[:, y0 - top : y1 - top, x0 - left : x1 - left] = image[:, y0:y1, x0:x1]
    return out


def image_files(folder: str | Path) -> list[Path]:
    """The image files directly in ``folder``, sorted by name."""
    folder = Path(folder)
    if not folder.is_dir():
        raise PixelsmithError("not a folder", folder)
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise PixelsmithError("no image files in folder", folder)
    return files


def top_patches(
    model: nn.Module,
    images: Images,
    layer: str,
    channel: int,
    k: int = 9,
    *,
    call: int = 0,
    method: str = "gradient",
    pad_value: float = 0.5,
) -> list[Patch]:
    """The ``k`` input patches, one per image at most, that excite ``channel`` of ``layer`` most.

    Args:
        model: any ``nn.Module`` (run in eval mode).
        images: a folder, a sequence or a mapping of ``(C, H, W)`` images in [0, 1] (any sizes;
            converted to the model's input channels). The forward stops at ``layer``, so a
            classifier's convolutional layers accept images of any size.
        layer: a ``named_modules()`` name with ``(B, K, h, w)`` output.
        channel: the unit (channel) of that layer.
        k: how many patches.
        method: how :func:`receptive_field` finds the patch (``"gradient"`` or ``"nan"``).
        pad_value: fill for the part of a receptive field outside the image.

    Returns:
        Up to ``k`` patches, strongest first, all of one size (the receptive field of an interior
        unit; fields cut by the image border are padded with ``pad_value``).
    """
    if isinstance(images, (str, Path)):
        items = ((p.name, read_image(p)[0]) for p in image_files(images))
    elif isinstance(images, Mapping):
        items = iter(images.items())
    else:
        items = ((str(i), im) for i, im in enumerate(images))
    channels, device = model_in_channels(model), model_device(model)
    best: list[tuple[float, int, str, torch.Tensor, tuple[int, int], tuple[int, int]]] = []
    for order, (name, image) in enumerate(items):
        x = to_model_input(image, channels)
        act = layer_outputs(model, x.to(device), [layer], call=call)[layer]
        if act.dim() != 4:
            raise PixelsmithError(
                f"layer {layer!r} has no spatial output (shape {tuple(act.shape)})"
            )
        if not 0 <= channel < act.shape[1]:
            raise PixelsmithError(
                f"channel {channel} out of range; layer {layer!r} has {act.shape[1]}"
            )
        a = act[0, channel]
        i = int(a.argmax())
        loc = divmod(i, a.shape[1])
        entry = (float(a.flatten()[i]), -order, name, x[0].cpu(), loc, tuple(a.shape))
        if len(best) < k:
            heapq.heappush(best, entry)
        elif entry[:2] > best[0][:2]:
            heapq.heapreplace(best, entry)
    best.sort(key=lambda e: e[:2], reverse=True)
    if not best:
        return []

    def field(img: torch.Tensor, loc: tuple[int, int]) -> Box:
        return receptive_field(model, layer, tuple(img.shape), *loc, method=method, call=call)

    boxes = [field(img, loc) for _, _, _, img, loc, _ in best]
    img0, shape0 = best[0][3], best[0][5]
    ref = field(img0, (shape0[0] // 2, shape0[1] // 2))
    want_h, want_w = max(ref[2], *(b[2] for b in boxes)), max(ref[3], *(b[3] for b in boxes))
    patches = []
    for (score, _, name, img, loc, _), (top, left, h, w) in zip(best, boxes, strict=True):
        box = (
            _extend(top, h, img.shape[1], want_h),
            _extend(left, w, img.shape[2], want_w),
            want_h,
            want_w,
        )
        patches.append(Patch(_crop(img, box, pad_value), score, name, loc, box))
    return patches


def patch_grid(
    patches: Sequence[Patch], *, ncol: int | None = None, zoom: int | None = None, pad: int = 1
) -> torch.Tensor:
    """The patches' pixels as a grid, strongest first: ``(C, H, W)`` in [0, 1]."""
    if not patches:
        raise PixelsmithError("no patches to draw")
    tiles = torch.stack([p.pixels for p in patches]).clamp(0, 1)
    return make_grid(tiles, ncol, pad=pad, zoom=zoom or auto_zoom(*tiles.shape[-2:]))


def save_top_patches(
    model: nn.Module,
    images: Images,
    layer: str,
    channel: int,
    path: str | Path,
    k: int = 9,
    **kwargs,
) -> tuple[Path, list[Patch]]:
    """Find :func:`top_patches` and write their :func:`patch_grid` to ``path`` (PNG)."""
    patches = top_patches(model, images, layer, channel, k, **kwargs)
    return save_image(path, patch_grid(patches)), patches
