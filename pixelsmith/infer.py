"""Tiled inference: any image size, bounded memory, the same result as whole-image inference.

The image stays on the CPU; only batches of tiles move to the device. Tiles are windows of one fixed
size (so they batch), each with ``pad`` pixels of real context around its core; a window at the
image border is shifted inward instead of being padded, so the network sees exactly what it would
see on the whole image. Neighbouring tiles overlap by ``2 * blend`` pixels and are cross-faded there with linear ramps that
sum to one, so the output needs no weight buffer beside it.
When the network's receptive-field radius is at most ``pad - blend``, the output equals whole-image
inference (up to float rounding).
"""

from __future__ import annotations

import math
from contextlib import nullcontext

import torch
from torch import nn

from pixelsmith.errors import PixelsmithError


def pick_device(name: str = "auto") -> torch.device:
    """``"auto"`` picks CUDA, then Apple MPS, then the CPU; otherwise the named device, checked."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(name)
    except RuntimeError:
        raise PixelsmithError(
            f"unknown device {name!r}; use auto, cpu, cuda, cuda:N or mps"
        ) from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise PixelsmithError("device 'cuda' requested but no CUDA GPU is available")
    if dev.type == "mps" and not (
        getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()
    ):
        raise PixelsmithError("device 'mps' requested but Apple MPS is not available")
    return dev


def receptive_radius(model: nn.Module) -> int:
    """Receptive-field radius of ``model`` in input pixels (its ``receptive_field`` attribute), or 16."""
    rf = getattr(model, "receptive_field", None)
    return (int(rf) - 1) // 2 if rf else 16


def _axis_plan(size: int, tile: int, pad: int, blend: int):
    """Per-axis windows: (window start, window length, [take_start, take_end), weights over take)."""
    win = min(size, tile + 2 * pad)
    n = max(1, math.ceil(size / tile))
    plan = []
    for k in range(n):
        c0, c1 = k * tile, min(size, (k + 1) * tile)
        ws = min(max(0, c0 - pad), size - win)
        t0, t1 = max(0, c0 - blend), min(size, c1 + blend)
        pos = torch.arange(t0, t1, dtype=torch.float32) + 0.5
        w = torch.ones(t1 - t0)
        if blend and c0 > 0:  # fade in over the overlap with the previous tile
            w = torch.minimum(w, ((pos - (c0 - blend)) / (2 * blend)).clamp(0, 1))
        if blend and c1 < size:  # and out over the overlap with the next one
            w = torch.minimum(w, (((c1 + blend) - pos) / (2 * blend)).clamp(0, 1))
        plan.append((ws, win, t0, t1, w))
    return plan


@torch.no_grad()
def run_tiled(
    model: nn.Module,
    image: torch.Tensor,
    *,
    scale: int = 1,
    tile: int = 256,
    pad: int | None = None,
    blend: int = 4,
    batch_size: int = 0,
    device: str | torch.device = "cpu",
    dtype: torch.dtype = torch.float32,
    progress: bool = False,
) -> torch.Tensor:
    """Apply ``model`` to ``image`` tile by tile.

    Args:
        model: maps ``(B, C, h, w)`` to ``(B, C', scale*h, scale*w)``; fully convolutional.
        image: ``(C, H, W)`` or ``(1, C, H, W)`` float tensor, on the CPU.
        scale: output/input size ratio of the model.
        tile: core tile side in input pixels (``tile <= 0`` processes the whole image at once).
        pad: context around each core, input pixels; default the receptive radius + ``blend``.
        blend: half-width of the cross-fade between neighbouring tiles, input pixels.
        batch_size: tiles per model call; 0 picks about a megapixel of output per call.
        device, dtype: where and in what precision the model runs (``torch.bfloat16`` uses autocast).

    Returns:
        ``(C', scale*H, scale*W)`` (or with the batch dim if given one), float32, on the CPU.
    """
    batched = image.dim() == 4
    x = image if batched else image[None]
    if x.shape[0] != 1:
        raise ValueError("run_tiled takes one image; loop over a batch")
    device = torch.device(device)
    H, W = x.shape[-2:]
    if tile <= 0:
        tile = max(H, W)
    blend = min(blend, tile // 4)
    pad = receptive_radius(model) + blend if pad is None else pad
    if pad < blend:
        raise ValueError("pad must be at least blend")
    autocast = torch.autocast(device.type, dtype=dtype) if dtype != torch.float32 else nullcontext()
    s = scale
    rows, cols = _axis_plan(H, tile, pad, blend), _axis_plan(W, tile, pad, blend)
    jobs = [(r, c) for r in rows for c in cols]
    if batch_size <= 0:  # about a megapixel of output per call (SRCNN works at output size)
        batch_size = max(1, 2**20 // (rows[0][1] * cols[0][1] * s * s))
    out = None
    for b0 in _progress(
        range(0, len(jobs), batch_size), progress, total=len(jobs), step=batch_size
    ):
        batch = jobs[b0 : b0 + batch_size]
        tiles = torch.cat([x[..., r[0] : r[0] + r[1], c[0] : c[0] + c[1]] for r, c in batch])
        with autocast:
            y = model(tiles.to(device)).float().cpu()
        if out is None:
            out = torch.zeros(1, y.shape[1], H * s, W * s)
        for k, (r, c) in enumerate(batch):
            (ry, _, t0y, t1y, wy), (cx, _, t0x, t1x, wx) = r, c
            piece = y[k, :, (t0y - ry) * s : (t1y - ry) * s, (t0x - cx) * s : (t1x - cx) * s]
            w = torch.outer(wy.repeat_interleave(s), wx.repeat_interleave(s))
            out[0, :, t0y * s : t1y * s, t0x * s : t1x * s] += piece * w
    return out if batched else out[0]


def _progress(it, enabled: bool, total: int, step: int):
    if not enabled:
        return it
    from tqdm import tqdm

    return tqdm(it, total=math.ceil(total / step), unit="batch", leave=False)
