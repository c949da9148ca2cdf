"""Colorization as classification (Zhang, Isola, Efros, ECCV 2016): the quantised ab space.

The pieces of the method that do not depend on a network, as pure functions on tensors:

- :func:`soft_encode`: each target ab -> its ``k = 5`` nearest bins, Gaussian weights
  (``sigma = 5``), summing to 1 (the paper's :math:`Z = H^{-1}_{gt}(Y)`);
- :func:`empirical_prior`: the distribution of nearest bins over training photos;
- :func:`rebalance_weights`: :math:`w \\propto ((1 - \\lambda) \\tilde p + \\lambda / Q)^{-1}`
  with :math:`\\tilde p` the prior smoothed by a Gaussian (``sigma = 5`` ab units) and
  ``lambda = 1/2``, normalised so that :math:`\\sum_q \\tilde p_q w_q = 1`;
- :func:`rebalanced_cross_entropy`: the multinomial cross-entropy of the soft targets, each pixel
  weighted by the weight of its nearest bin;
- :func:`decode_ab`: mode, mean or annealed mean,
  :math:`f_T(z) = \\exp(\\log z / T) / \\sum_q \\exp(\\log z_q / T)`, then the expectation;
- :func:`undo_rebalancing`: ``z_q w_q^{-beta}`` (pixelsmith's addition, not the paper's): a net
  trained with weights ``w`` predicts the posterior tilted by ``w`` (the weighted cross-entropy is
  minimised by ``z ∝ w p``), so ``beta = 1`` recovers the untilted posterior and ``beta = 0``
  keeps the paper's vivid decoding; :func:`retilt` does the same for a net trained with other
  weights (or none), aiming at the same ``p w^{1 - beta}``.

``bins`` is a ``(Q, 2)`` tensor of ab bin centres (the paper's ``Q = 313``; the official ordering
is ``pts_in_hull.npy``, which official weights decode with). Shapes: ab images ``(N, 2, H, W)``,
bin distributions ``(N, Q, H, W)``.
"""

from __future__ import annotations

from functools import lru_cache

import torch
from torch.nn import functional as F

SIGMA = 5.0
NEIGHBOURS = 5
LAMBDA = 0.5
TEMPERATURE = 0.38
GRID = 10


@lru_cache(maxsize=4)
def _gamut_bins(step: int, samples: int) -> torch.Tensor:
    from pixelsmith.color import rgb_to_lab

    v = torch.linspace(0, 1, samples, dtype=torch.float64)
    a, b = torch.meshgrid(v, v, indexing="ij")
    faces = []
    for axis in range(3):  # the cube's six faces: one channel at 0 or 1, the others free
        for side in (0.0, 1.0):
            chans = [a, b]
            chans.insert(axis, torch.full_like(a, side))
            faces.append(torch.stack(chans))
    rgb = torch.stack(faces)  # (6, 3, s, s)
    ab = rgb_to_lab(rgb.float())[:, 1:]
    cells = (ab / step).round().long()
    codes = torch.unique((cells[:, 0] + 1000) * 4096 + cells[:, 1] + 1000)  # a-major order
    return torch.stack([codes // 4096 - 1000, codes % 4096 - 1000], 1).float() * step


def gamut_bins(step: int = GRID, samples: int = 512) -> torch.Tensor:
    """The ab bins of the sRGB gamut: the centres ``(Q, 2)`` of the ``step x step`` grid cells
    that some sRGB colour falls in (its ab rounds to the cell's centre), sorted by a then b.

    How: the ab projection of the RGB cube (over every L) is the projection of the cube's
    surface, so the six faces sampled on a ``samples x samples`` grid, converted to Lab with
    :func:`pixelsmith.color.rgb_to_lab` (D65), give every occupied cell. At ``step = 10`` this is
    262 bins (stable from 512 samples a side up), all of them among the paper's 313
    (``pts_in_hull.npy``); the paper's other 51 hold no sRGB colour, and no rule of distance to the
    gamut reproduces them (docs/research/colorize.md).
    """
    return _gamut_bins(step, samples).clone()


def _pixels(ab: torch.Tensor) -> torch.Tensor:
    """``(N, 2, H, W)`` -> ``(N*H*W, 2)``."""
    if ab.dim() != 4 or ab.shape[1] != 2:
        raise ValueError(f"expected ab images (N, 2, H, W), got {tuple(ab.shape)}")
    return ab.permute(0, 2, 3, 1).reshape(-1, 2)


def nearest_bin(ab: torch.Tensor, bins: torch.Tensor) -> torch.Tensor:
    """Index of the nearest bin of each pixel: ``(N, 2, H, W)`` -> ``(N, H, W)`` int64."""
    n, _, h, w = ab.shape
    d = torch.cdist(_pixels(ab).to(bins.dtype), bins)
    return d.argmin(1).reshape(n, h, w)


def soft_encode(
    ab: torch.Tensor, bins: torch.Tensor, k: int = NEIGHBOURS, sigma: float = SIGMA
) -> torch.Tensor:
    """Soft targets: the ``k`` nearest bins of each pixel, Gaussian-weighted by distance.

    Args:
        ab: ``(N, 2, H, W)`` in Lab units.
        bins: ``(Q, 2)`` bin centres.

    Returns:
        ``(N, Q, H, W)``, each pixel's weights summing to 1, ``k`` of them non-zero.
    """
    n, _, h, w = ab.shape
    d = torch.cdist(_pixels(ab).to(bins.dtype), bins)  # (P, Q)
    dist, idx = d.topk(k, dim=1, largest=False)
    wts = torch.exp(-(dist**2) / (2 * sigma**2))
    wts = wts / wts.sum(1, keepdim=True)
    z = torch.zeros_like(d).scatter_(1, idx, wts)
    return z.reshape(n, h, w, -1).permute(0, 3, 1, 2)


def empirical_prior(ab_images, bins: torch.Tensor) -> torch.Tensor:
    """The distribution ``(Q,)`` of nearest bins over an iterable of ab batches ``(N, 2, H, W)``."""
    counts = torch.zeros(len(bins), dtype=torch.float64)
    for ab in ab_images:
        counts += torch.bincount(nearest_bin(ab, bins).flatten(), minlength=len(bins)).double()
    if counts.sum() == 0:
        raise ValueError("no pixels to count")
    return counts / counts.sum()


def smooth_prior(prior: torch.Tensor, bins: torch.Tensor, sigma: float = SIGMA) -> torch.Tensor:
    """The prior smoothed by a Gaussian of ``sigma`` ab units over the bin positions, sum 1."""
    k = torch.exp(-(torch.cdist(bins.double(), bins.double()) ** 2) / (2 * sigma**2))
    k = k / k.sum(0, keepdim=True)  # each bin spreads its mass, which is kept
    p = k @ prior.double()
    return p / p.sum()


def rebalance_weights(
    prior: torch.Tensor, bins: torch.Tensor, lam: float = LAMBDA, sigma: float = SIGMA
) -> torch.Tensor:
    """Class-rebalancing weights ``(Q,)``: inverse of the smoothed prior mixed with a uniform,
    normalised to expectation 1 under the smoothed prior."""
    p = smooth_prior(prior, bins, sigma)
    w = 1.0 / ((1 - lam) * p + lam / len(p))
    return w / (p * w).sum()


def rebalanced_cross_entropy(
    logits: torch.Tensor, target: torch.Tensor, pixel_weights: torch.Tensor | None = None
) -> torch.Tensor:
    """``-sum_q z_q log softmax(logits)_q``, weighted per pixel, averaged over pixels.

    Args:
        logits: ``(N, Q, H, W)``; target: soft targets of the same shape;
        pixel_weights: ``(N, H, W)`` (the weight of each pixel's nearest bin), or ``None``.
    """
    ce = -(target * F.log_softmax(logits, 1)).sum(1)
    if pixel_weights is not None:
        ce = ce * pixel_weights
    return ce.mean()


def undo_rebalancing(logits: torch.Tensor, weights: torch.Tensor, beta: float) -> torch.Tensor:
    """Bin logits ``(N, Q, H, W)`` -> the logits of ``z_q w_q^{-beta}`` for rebalancing weights
    ``w`` ``(Q,)``: ``beta`` of the tilt that training with ``w`` gave the prediction is undone
    (0: none, the paper's decoding; 1: all of it). Uniform weights change nothing."""
    if not 0 <= beta <= 1:
        raise ValueError(f"the share of rebalancing undone is in [0, 1], not {beta}")
    if beta == 0:
        return logits
    log_w = weights.to(device=logits.device, dtype=torch.float64).log().to(logits.dtype)
    return logits - beta * log_w[None, :, None, None]


def retilt(
    logits: torch.Tensor, trained: torch.Tensor, target: torch.Tensor, keep: float
) -> torch.Tensor:
    """Bin logits ``(N, Q, H, W)`` of a net trained with rebalancing weights ``trained`` ``(Q,)``
    -> the logits of ``p_q target_q^keep``: the tilt training gave the prediction removed (its
    posterior ``p``), then a share ``keep`` of the ``target`` rebalancing applied. With
    ``trained = target`` this is :func:`undo_rebalancing` with ``beta = 1 - keep``; a net trained
    without rebalancing (uniform ``trained``) gets ``keep`` of the target's tilt."""
    if not 0 <= keep <= 1:
        raise ValueError(f"the share of the rebalancing kept is in [0, 1], not {keep}")

    def log(w: torch.Tensor) -> torch.Tensor:
        return w.to(device=logits.device, dtype=torch.float64).log()

    offset = (keep * log(target) - log(trained)).to(logits.dtype)
    return logits + offset[None, :, None, None]


def decode_ab(
    logits: torch.Tensor,
    bins: torch.Tensor,
    method: str = "annealed",
    temperature: float = TEMPERATURE,
) -> torch.Tensor:
    """Bin scores ``(N, Q, H, W)`` (logits, i.e. log z up to a constant) -> ab ``(N, 2, H, W)``.

    ``mode``: the most likely bin; ``mean``: the expectation under z; ``annealed``: the
    expectation under ``f_T(z)``, which is the mean at T = 1 and tends to the mode as T -> 0.
    """
    b = bins.to(logits.dtype)
    if method == "mode":
        return b[logits.argmax(1)].permute(0, 3, 1, 2)
    if method == "mean":
        temperature = 1.0
    elif method != "annealed":
        raise ValueError(f"decode method is annealed, mode or mean, not {method!r}")
    if temperature <= 0:
        raise ValueError(f"temperature must be positive, not {temperature}")
    q = F.softmax(logits / temperature, 1)  # exp(log z / T), normalised: z's constant cancels
    return torch.einsum("nqhw,qc->nchw", q, b)
