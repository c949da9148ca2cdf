"""The inpainting protocol of the partial-convolution paper's Table 1: L1, PSNR and SSIM of the
composite (the method's fill in the hole, the photo elsewhere) per hole-ratio bucket.

Every photo is centre-cropped to a square (the mask's side, 512 px for NVIDIA's test masks, or
less where the photo is smaller, the mask then scaled to it by nearest neighbour) and measured once
per bucket:

- with a folder of masks (``masks_nvidia_test``, numbered by bucket): photo ``i`` of ``n`` takes
  the bucket's mask at ``i / n`` of its list, so both halves of a bucket (holes kept 50 px from
  the border, holes touching it) are used;
- without one (validation while training): each photo gets one bucket (``i mod 6``) and a mask
  generated from a fixed seed, at a side of at most 256 px.

Metrics are on the 8-bit results in float64: PSNR and SSIM over RGB (:mod:`pixelsmith.metrics`),
L1 the mean absolute error in [0, 1] over the whole image, as the paper's Table 1 gives it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from pixelsmith.errors import PixelsmithError

NVIDIA_SIDE = 512
GENERATED_SIDE = 256


@dataclass(frozen=True)
class Case:
    """One measurement: a photo, a bucket, and its mask file (or the seed of a generated one)."""

    photo: Path
    bucket: int
    mask: Path | None = None
    seed: int = 0


def eval_cases(source: str | Path, masks: str | Path = "") -> list[Case]:
    """The cases of the protocol for the photos of ``source`` (a folder, optionally ``@val``)."""
    from pixelsmith.data.masks import BUCKETS, nvidia_masks
    from pixelsmith.data.split import list_split, split_source

    if not Path(split_source(str(source))[0]).exists():
        raise PixelsmithError("evaluation data not found", source)
    photos = sorted(list_split([str(source)]))
    if not photos:
        raise PixelsmithError("no photos to evaluate on", source)
    if not masks:
        return [Case(p, i % len(BUCKETS), None, 7919 * i + 1) for i, p in enumerate(photos)]
    if not Path(masks).is_dir():
        raise PixelsmithError("mask folder not found", masks)
    cases = []
    for b in range(len(BUCKETS)):
        files = nvidia_masks(masks, bucket=b)
        if not files:
            raise PixelsmithError(f"no masks of bucket {b} (numbered as NVIDIA's) found", masks)
        for i, p in enumerate(photos):
            cases.append(Case(p, b, files[i * len(files) // len(photos)]))
    return cases


def case_input(case: Case, unit: int = NVIDIA_SIDE) -> tuple[torch.Tensor, torch.Tensor]:
    """``(photo (3, s, s), known (1, s, s))`` of a case: the centre crop and its mask."""
    from pixelsmith.data.masks import BUCKETS, random_mask, read_mask
    from pixelsmith.io import read_image

    img, _ = read_image(case.photo)
    img = img[:3].expand(3, -1, -1) if img.shape[0] < 3 else img[:3]
    h, w = img.shape[-2:]
    side = min(h, w, NVIDIA_SIDE if case.mask else GENERATED_SIDE)
    y0, x0 = (h - side) // 2, (w - side) // 2
    photo = img[:, y0 : y0 + side, x0 : x0 + side].contiguous()
    if case.mask is not None:
        known = read_mask(case.mask, size=(side, side))
    else:
        g = torch.Generator().manual_seed(case.seed)
        known = random_mask(side, side, g, ratio=BUCKETS[case.bucket], unit=unit)
    return photo, known


@torch.no_grad()
def evaluate_inpainter(task: Any, model: nn.Module, cases: list[Case]) -> list[dict[str, Any]]:
    """``[{"image", "bucket", "hole", "l1", "psnr", "ssim"}, ...]``, one row per case."""
    from pixelsmith.data.masks import hole_ratio
    from pixelsmith.images import MaskedImage
    from pixelsmith.metrics import psnr, quantize_uint8, ssim
    from pixelsmith.models import model_spec
    from pixelsmith.tasks.base import run_whole

    task = task.bind(model)
    was_training = model.training
    model.eval()
    rows = []
    try:
        for case in cases:
            photo, known = case_input(case, task.mask_unit)
            prepared = task.prepare(MaskedImage(photo, known), model_spec(model))
            out = quantize_uint8(run_whole(task, model, prepared)).double() / 255.0
            gt = photo.double()
            rows.append(
                {
                    "image": case.photo.name,
                    "bucket": case.bucket,
                    "hole": hole_ratio(known),
                    "l1": float((out - gt).abs().mean()),
                    "psnr": float(psnr(out, gt)),
                    "ssim": float(ssim(out[None], gt[None])),
                }
            )
    finally:
        model.train(was_training)
    return rows


def summarise(rows: list[dict[str, Any]]) -> dict[str, float]:
    """Means over all rows (``l1``, ``psnr``, ``ssim``) and per bucket (``psnr@0.2-0.3``, ...)."""
    from pixelsmith.data.masks import bucket_name

    out: dict[str, float] = {}
    for k in ("psnr", "ssim", "l1"):
        out[k] = sum(r[k] for r in rows) / len(rows)
    for b in sorted({r["bucket"] for r in rows}):
        mine = [r for r in rows if r["bucket"] == b]
        for k in ("psnr", "ssim", "l1"):
            out[f"{k}@{bucket_name(b)}"] = sum(r[k] for r in mine) / len(mine)
    return out
