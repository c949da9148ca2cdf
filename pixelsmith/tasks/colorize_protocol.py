"""How a colorizer is measured (Zhang, Isola, Efros 2016, Table 1, plus PSNR and colourfulness).

Per held-out colour photo: shrink it so that its shorter side is 256 (the paper's scale), give the
colorizer its L only, and compare the colour result with the photo:

- **AuC**: the fraction of pixels whose ab error ``||ab_pred - ab_true||_2`` is within ``t``,
  for ``t = 0..150``, and the area under that curve (1 = every pixel exact). *Raw* counts every
  pixel of the set alike; *rebalanced* averages the curve over the ground truth's ab bins (each
  bin that occurs counts equally), which rewards getting rare, saturated colours right;
- **PSNR** of the sRGB result (peak 1);
- **colourfulness** (Hasler and Suesstrunk 2003), the set's mean for the results over the set's
  mean for the photos (1 = as colourful as the truth, 0 = grey);
- **floor margin**: the grayscale result (ab = 0) is measured on the same pixels, and the margin
  is the smaller of ``raw - grey_raw - RAW_FLOOR`` and ``rebalanced - grey_rebalanced -
  REBALANCED_FLOOR`` (AuC points): positive when a colorizer is at least as often right as
  grey *and* clearly better on rare colours, the two floors pixelsmith's issue sets. A
  training run can keep its checkpoint by it (``--keep-best floor_margin``).

The bins that rebalance are :func:`~pixelsmith.models.ab_bins.gamut_bins`, the same for every
method, whatever bins a model predicts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from pixelsmith.color import rgb_to_lab
from pixelsmith.errors import PixelsmithError
from pixelsmith.metrics import colorfulness, cumulative_auc, psnr
from pixelsmith.models import ab_bins

EVAL_SHORT_SIDE = 256
MAX_ERROR = 150
RAW_FLOOR = 0.0  # AuC points over grayscale, raw
REBALANCED_FLOOR = 5.0  # AuC points over grayscale, rebalanced


@dataclass
class ColorizationScores:
    """Accumulates the protocol over photos; :meth:`means` gives the figures."""

    bins: torch.Tensor
    counts: torch.Tensor = None  # (Q, MAX_ERROR + 2) error counts per ground-truth bin
    grey_counts: torch.Tensor = None  # the same for ab = 0
    psnrs: list[float] = field(default_factory=list)
    colourfulness_pred: list[float] = field(default_factory=list)
    colourfulness_true: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.counts is None:
            self.counts = torch.zeros(len(self.bins), MAX_ERROR + 2, dtype=torch.float64)
        if self.grey_counts is None:
            self.grey_counts = torch.zeros_like(self.counts)

    def add(self, pred_rgb: torch.Tensor, true_rgb: torch.Tensor) -> None:
        """One photo: the result and the truth, ``(3, H, W)`` in [0, 1]."""
        pred_ab = rgb_to_lab(pred_rgb[None].float())[:, 1:]
        true_ab = rgb_to_lab(true_rgb[None].float())[:, 1:]
        gt_bin = ab_bins.nearest_bin(true_ab, self.bins).flatten()
        for counts, err in (
            (self.counts, (pred_ab - true_ab).double().norm(dim=1).flatten()),
            (self.grey_counts, true_ab.double().norm(dim=1).flatten()),
        ):
            flat = gt_bin * (MAX_ERROR + 2) + err.ceil().clamp_(max=MAX_ERROR + 1).long()
            counts += torch.bincount(flat, minlength=counts.numel()).view_as(counts)
        self.psnrs.append(float(psnr(pred_rgb.double(), true_rgb.double())))
        self.colourfulness_pred.append(float(colorfulness(pred_rgb)))
        self.colourfulness_true.append(float(colorfulness(true_rgb)))

    def means(self) -> dict[str, float]:
        if not self.psnrs:
            raise PixelsmithError("no photos were measured")
        occupied = self.counts.sum(1) > 0

        def aucs(counts: torch.Tensor) -> tuple[float, float]:
            raw = cumulative_auc(counts.sum(0))
            return 100 * float(raw), 100 * float(cumulative_auc(counts[occupied]).mean())

        (raw, rebalanced), (grey_raw, grey_rebalanced) = aucs(self.counts), aucs(self.grey_counts)
        return {
            "auc_raw": raw,
            "auc_rebalanced": rebalanced,
            "psnr": sum(self.psnrs) / len(self.psnrs),
            "colourfulness": sum(self.colourfulness_pred) / sum(self.colourfulness_true),
            "floor_margin": min(
                raw - grey_raw - RAW_FLOOR, rebalanced - grey_rebalanced - REBALANCED_FLOOR
            ),
        }


def eval_photo(path: Path) -> torch.Tensor:
    """A photo as the protocol sees it: RGB ``(3, h, w)``, shorter side 256 (never enlarged)."""
    from pixelsmith.io import read_image
    from pixelsmith.resize import imresize

    img, _ = read_image(path)
    if img.shape[0] == 1:  # a grey file: measured as grey RGB (and then skipped: no colour)
        img = img.expand(3, -1, -1).contiguous()
    h, w = img.shape[-2:]
    if min(h, w) > EVAL_SHORT_SIDE:
        k = EVAL_SHORT_SIDE / min(h, w)
        img = imresize(
            img, size=(max(EVAL_SHORT_SIDE, round(h * k)), max(EVAL_SHORT_SIDE, round(w * k)))
        )
    return img.clamp_(0, 1)


@torch.no_grad()
def evaluate_colorizer(task, model: nn.Module, paths: list[Path]) -> ColorizationScores:
    """Run ``model`` as ``task`` (its decode and temperature; the whole photo at once) on every
    photo of ``paths``; grey photos are skipped (they have no colour to measure)."""
    from dataclasses import replace

    from pixelsmith.color import has_colour
    from pixelsmith.models import model_spec
    from pixelsmith.tasks.base import run_whole

    task = replace(task, render_factor=0)
    spec = model_spec(model)
    was_training = model.training
    model.eval()
    scores = ColorizationScores(ab_bins.gamut_bins())
    try:
        for path in paths:
            truth = eval_photo(path)
            if not has_colour(truth):
                continue
            grey = _grey_rgb(rgb_to_lab(truth[None])[:, :1])[0]
            result = run_whole(task, model, task.prepare(grey, spec))  # the whole photo
            scores.add(result, truth)
    finally:
        model.train(was_training)
    return scores


def _grey_rgb(lightness: torch.Tensor) -> torch.Tensor:
    """L ``(1, 1, H, W)`` -> the grey sRGB photo of that lightness ``(1, 1, H, W)``."""
    from pixelsmith.color import lab_to_rgb

    lab = torch.cat([lightness, torch.zeros_like(lightness).expand(-1, 2, -1, -1)], 1)
    return lab_to_rgb(lab)[:, :1]
