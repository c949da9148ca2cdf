"""Tiled inference for any fully convolutional model: any image size, bounded memory, and the same
result as whole-image inference.

The image stays on the CPU; only batches of windows move to the device. ``run_tiled`` cuts every
tensor of a :class:`~pixelsmith.tasks.base.Prepared` (the model's inputs and the task's guides)
with one set of windows, runs the model on each batch of windows and the task's ``decode`` on its
outputs, and blends the decoded windows into the one output buffer. So a task's intermediates (a
colorizer's 313 bins, SR's upscaled chroma) only ever exist window by window.

Windows have one fixed size (so they batch), with ``pad`` pixels of real context around each core;
a window at the image border is shifted inward instead of being padded, so the network sees exactly
what it would see on the whole image. Window sides and offsets are multiples of the model's
``size_multiple`` (where a U-Net's pooling grids line up) and of the task's ``align`` (2 keeps a
Bayer mosaic's phase); the image is grown by reflection to a multiple of them first, as it is for
whole-image inference. Neighbouring tiles overlap by ``2 * blend`` pixels and are cross-faded with
linear ramps that sum to one, so the output needs no weight buffer beside it. When the receptive
radius of model and decode is at most ``pad - blend``, the output equals whole-image inference up to
float rounding. A model with global context (``ModelSpec.receptive_field is None``) runs whole.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from contextlib import nullcontext
from typing import TYPE_CHECKING

import torch
from torch import nn

from pixelsmith.errors import PixelsmithError
from pixelsmith.models import ModelSpec, model_device, model_dtype, model_spec

if TYPE_CHECKING:
    from pixelsmith.tasks.base import Prepared, Task

Progress = Callable[[int, int], None]
"""A progress callback: ``progress(windows_done, windows_total)``."""


def check_tile(tile: int | None) -> int | None:
    """``tile`` is 0 (the whole image), a side of at least 16 pixels, or ``None`` (the default:
    256, or four receptive radii where larger, for a tileable model; the whole image for one
    with global context)."""
    if tile is None:
        return None
    if not isinstance(tile, int) or isinstance(tile, bool):
        raise TypeError(f"tile must be an int, got {type(tile).__name__}")
    if tile < 0 or 0 < tile < MIN_TILE:
        raise PixelsmithError(
            f"tile must be 0 (whole image) or at least {MIN_TILE} pixels, not {tile}"
        )
    return tile


MIN_TILE = 16
DEFAULT_TILE = 256
"""The smallest core tile side: below it the context around each tile costs more than the tile."""


def _axis_plan(size: int, tile: int, pad: int, blend: int, align: int):
    """Per-axis windows: (window start, window length, take start, take end, weights over take).

    ``size`` and the returned window length are multiples of ``align``, and so are window starts.
    """
    win = min(size, -(-(tile + 2 * pad) // align) * align + (align if align > 1 else 0))
    n = max(1, math.ceil(size / tile))
    plan = []
    for k in range(n):
        c0, c1 = k * tile, min(size, (k + 1) * tile)
        ws = min(max(0, c0 - pad) // align * align, size - win)
        t0, t1 = max(0, c0 - blend), min(size, c1 + blend)
        pos = torch.arange(t0, t1, dtype=torch.float64) + 0.5
        w = torch.ones(t1 - t0, dtype=torch.float64)
        if blend and c0 > 0:  # fade in over the overlap with the previous tile
            w = torch.minimum(w, ((pos - (c0 - blend)) / (2 * blend)).clamp(0, 1))
        if blend and c1 < size:  # and out over the overlap with the next one
            w = torch.minimum(w, (((c1 + blend) - pos) / (2 * blend)).clamp(0, 1))
        plan.append((ws, win, t0, t1, w))
    return plan


@torch.no_grad()
def run_tiled(
    model: nn.Module,
    prepared: Prepared | torch.Tensor,
    task: Task | None = None,
    *,
    tile: int | None = None,
    pad: int | None = None,
    blend: int = 4,
    batch_size: int = 0,
    device: str | torch.device | None = None,
    autocast: torch.dtype | None = None,
    out_dtype: torch.dtype | None = None,
    progress: bool | Progress = False,
) -> torch.Tensor:
    """Apply ``model`` (and ``task.decode``) to a prepared image window by window.

    Args:
        model: a registered model (it declares a :class:`~pixelsmith.models.ModelSpec`).
        prepared: the task's :class:`~pixelsmith.tasks.base.Prepared`, or a plain image
            ``(C, H, W)`` / ``(1, C, H, W)`` that is the model's one input (decoded as is).
        task: whose ``decode``, ``finish``, ``decode_radius`` and ``align`` apply; ``None``
            returns the model's output as it is.
        tile: core tile side in grid pixels (0: the whole image at once; at least 16 otherwise;
            None: 256 or four receptive radii, whichever is larger; the whole image for a model
            with global context).
        pad: context around each core; default the receptive radius + ``blend``.
        blend: half-width of the cross-fade between neighbouring tiles.
        batch_size: windows per model call; 0 picks about a megapixel of output per call.
        device: where the model runs (default: where its weights are).
        autocast: a lower precision to run in (``torch.bfloat16``), by ``torch.autocast``.
        out_dtype: dtype of the result (default: the model's, else the input's).
        progress: ``True`` for a progress bar, or a callback ``(done, total)``.

    Returns:
        ``(C', s*H, s*W)`` (with a batch dim if ``prepared`` was a 4-D tensor) on the CPU.
    """
    from pixelsmith.tasks.base import Prepared, Task

    batched = isinstance(prepared, torch.Tensor) and prepared.dim() == 4
    spec = model_spec(model)
    if isinstance(prepared, torch.Tensor):
        x = prepared if batched else prepared[None]
        if x.shape[0] != 1:
            raise ValueError("run_tiled takes one image; loop over a batch")
        prepared = Prepared((x,), scale=spec.scale)
    tile = check_tile(tile)
    device = model_device(model) if device is None else torch.device(device)
    run_dtype = model_dtype(model) or prepared.inputs[0].dtype
    out_dtype = out_dtype or run_dtype
    align = math.lcm(spec.size_multiple, task.align if task else 1)
    prepared = prepared.pad_to(align)
    H, W = prepared.size
    if tile is None:  # 256, or 4 radii where that is larger: a window is at most 2.25 cores
        tile = max(DEFAULT_TILE, -(-4 * spec.radius // align) * align) if spec.tileable else 0
    if not spec.tileable:
        if tile and max(H, W) > tile:
            warnings.warn(
                f"{type(model).__name__} has global context: it runs on the whole image, not tiles",
                stacklevel=2,
            )
        tile = 0
    if tile == 0:
        tile, blend, pad = max(H, W), 0, 0
    blend = min(blend, tile // 4)
    radius = max(spec.radius, task.decode_radius if task else 0) if spec.tileable else 0
    pad = radius + blend if pad is None else pad
    if pad < blend:
        raise ValueError("pad must be at least blend")
    rows = _axis_plan(H, tile, pad, blend, align)
    cols = _axis_plan(W, tile, pad, blend, align)
    jobs = [(r, c) for r in rows for c in cols]
    s = prepared.scale
    if batch_size <= 0:  # about a megapixel of output per call (SRCNN works at output size)
        batch_size = max(1, 2**20 // (rows[0][1] * cols[0][1] * s * s))
    amp = (
        torch.autocast(device.type, dtype=autocast)
        if autocast is not None and autocast != run_dtype
        else nullcontext()
    )
    report = _progress_reporter(progress, len(jobs))
    out = None
    for b0 in range(0, len(jobs), batch_size):
        batch = jobs[b0 : b0 + batch_size]
        boxes = [(r[0], r[0] + r[1], c[0], c[0] + c[1]) for r, c in batch]
        win = _to(prepared.windows(boxes), device, run_dtype)
        with amp:
            y = model(*win.inputs)
        y = y.to(run_dtype)  # decode runs at full precision, outside autocast
        y = task.decode(y, win) if task else y
        y = y.to("cpu", out_dtype)
        if out is None:
            out = torch.zeros(1, y.shape[1], H * s, W * s, dtype=out_dtype)
        for k, (r, c) in enumerate(batch):
            (ry, _, t0y, t1y, wy), (cx, _, t0x, t1x, wx) = r, c
            piece = y[k, :, (t0y - ry) * s : (t1y - ry) * s, (t0x - cx) * s : (t1x - cx) * s]
            w = torch.outer(wy.repeat_interleave(s), wx.repeat_interleave(s)).to(out_dtype)
            out[0, :, t0y * s : t1y * s, t0x * s : t1x * s] += piece * w
        report(min(b0 + batch_size, len(jobs)))
    report(None)
    out = (task or Task()).finish(out, prepared)  # the base finish crops what pad_to grew
    return out if batched else out[0]


def _to(p: Prepared, device: torch.device, dtype: torch.dtype) -> Prepared:
    from dataclasses import replace

    def move(t: torch.Tensor) -> torch.Tensor:
        return t.to(device, dtype) if t.is_floating_point() else t.to(device)

    return replace(
        p,
        inputs=tuple(move(t) for t in p.inputs),
        guides={n: move(g) for n, g in p.guides.items()},
    )


def _progress_reporter(progress: bool | Progress, total: int) -> Callable[[int | None], None]:
    """``report(done)`` per batch and ``report(None)`` at the end."""
    if callable(progress):
        return lambda done: progress(total if done is None else done, total)
    if not progress:
        return lambda done: None
    from tqdm import tqdm

    bar = tqdm(total=total, unit="tile", leave=False)

    def report(done: int | None) -> None:
        if done is None:
            bar.close()
        else:
            bar.update(done - bar.n)

    return report


__all__ = ["MIN_TILE", "ModelSpec", "check_tile", "run_tiled"]
