"""Zhang et al.'s quantised ab space: soft encoding, prior, rebalancing, decoding, against
brute-force loops and the paper's formulas."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from pixelsmith.models.ab_bins import (
    decode_ab,
    empirical_prior,
    nearest_bin,
    rebalance_weights,
    rebalanced_cross_entropy,
    retilt,
    smooth_prior,
    soft_encode,
    undo_rebalancing,
)


def _grid_bins() -> torch.Tensor:
    """A stand-in bin set: the ab grid of 10 within a disc of radius 80 (no data needed)."""
    g = torch.arange(-80, 90, 10, dtype=torch.float64)
    a, b = torch.meshgrid(g, g, indexing="ij")
    keep = a**2 + b**2 <= 80**2
    return torch.stack([a[keep], b[keep]], 1)


BINS = _grid_bins()


def _random_ab(n=2, h=3, w=4, seed=0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(n, 2, h, w, generator=g, dtype=torch.float64) - 0.5) * 140


def test_soft_encoding_is_five_gaussian_weights_that_sum_to_one():
    ab = _random_ab()
    z = soft_encode(ab, BINS)
    assert z.shape == (2, len(BINS), 3, 4)
    assert torch.allclose(z.sum(1), torch.ones(2, 3, 4, dtype=torch.float64), atol=1e-12)
    assert ((z > 0).sum(1) == 5).all()
    # brute force for one pixel: the 5 nearest bins, weights exp(-d^2 / 50), normalised
    p = ab[1, :, 2, 3].numpy()
    d = np.sqrt(((BINS.numpy() - p) ** 2).sum(1))
    near = np.argsort(d)[:5]
    w = np.exp(-(d[near] ** 2) / (2 * 5.0**2))
    ref = np.zeros(len(BINS))
    ref[near] = w / w.sum()
    assert np.abs(z[1, :, 2, 3].numpy() - ref).max() < 1e-12


def test_nearest_bin_is_the_argmin_of_the_distance():
    ab = _random_ab(seed=1)
    got = nearest_bin(ab, BINS)
    for n, y, x in [(0, 0, 0), (1, 2, 3), (0, 1, 2)]:
        d = ((BINS - ab[n, :, y, x]) ** 2).sum(1)
        assert got[n, y, x] == d.argmin()


def test_prior_counts_nearest_bins():
    one = torch.zeros(1, 2, 5, 5, dtype=torch.float64)
    one[:, 0], one[:, 1] = 21.0, -9.0  # nearest bin (20, -10)
    p = empirical_prior([one, one], BINS)
    (q,) = torch.nonzero(p).flatten().tolist()
    assert BINS[q].tolist() == [20.0, -10.0] and p[q] == 1


def test_rebalancing_weights_have_expectation_one_under_the_smoothed_prior():
    g = torch.Generator().manual_seed(0)
    prior = torch.rand(len(BINS), generator=g, dtype=torch.float64) ** 4
    prior /= prior.sum()
    w = rebalance_weights(prior, BINS)
    p = smooth_prior(prior, BINS)
    assert abs(float((p * w).sum()) - 1) < 1e-12
    assert abs(float(p.sum()) - 1) < 1e-12
    # the formula: w proportional to 1 / ((1 - lambda) p + lambda / Q)
    ref = 1 / (0.5 * p + 0.5 / len(p))
    assert torch.allclose(w / w[0], ref / ref[0], rtol=1e-12)
    # rarer colours weigh more; lambda = 1 (all uniform) weighs every bin 1
    assert w[p.argmin()] > w[p.argmax()]
    assert torch.allclose(rebalance_weights(prior, BINS, lam=1.0), torch.ones_like(w))


def test_smoothing_is_a_gaussian_of_sigma_5_that_keeps_the_mass():
    prior = torch.zeros(len(BINS), dtype=torch.float64)
    centre = int(((BINS**2).sum(1)).argmin())  # the bin (0, 0)
    prior[centre] = 1
    p = smooth_prior(prior, BINS)
    # neighbours at distance 10 get exp(-100 / 50) of the centre's share
    right = int(((BINS - torch.tensor([10.0, 0.0], dtype=torch.float64)) ** 2).sum(1).argmin())
    assert abs(float(p[right] / p[centre]) - math.exp(-2)) < 1e-12


def test_annealed_mean_is_the_mean_at_t1_and_tends_to_the_mode():
    g = torch.Generator().manual_seed(3)
    logits = torch.randn(2, len(BINS), 3, 3, generator=g, dtype=torch.float64) * 3
    z = logits.softmax(1)
    mean = torch.einsum("nqhw,qc->nchw", z, BINS)
    assert torch.allclose(decode_ab(logits, BINS, "annealed", temperature=1.0), mean, atol=1e-12)
    assert torch.allclose(decode_ab(logits, BINS, "mean"), mean, atol=1e-12)
    mode = BINS[logits.argmax(1)].permute(0, 3, 1, 2)
    assert torch.equal(decode_ab(logits, BINS, "mode"), mode)
    assert (decode_ab(logits, BINS, "annealed", temperature=1e-3) - mode).abs().max() < 1e-6
    # the paper's formula on z itself: f_T(z) = exp(log z / T) / sum exp(log z / T)
    t = 0.38
    f = torch.exp(torch.log(z) / t)
    f = f / f.sum(1, keepdim=True)
    ref = torch.einsum("nqhw,qc->nchw", f, BINS)
    assert torch.allclose(decode_ab(logits, BINS, temperature=t), ref, atol=1e-10)
    with pytest.raises(ValueError):
        decode_ab(logits, BINS, "median")


def test_rebalanced_cross_entropy_by_hand():
    g = torch.Generator().manual_seed(4)
    logits = torch.randn(1, len(BINS), 2, 2, generator=g, dtype=torch.float64)
    labels = torch.randint(len(BINS), (1, 2, 2), generator=g)
    onehot = F.one_hot(labels, len(BINS)).permute(0, 3, 1, 2).double()
    assert torch.allclose(rebalanced_cross_entropy(logits, onehot), F.cross_entropy(logits, labels))
    w = torch.tensor([[[1.0, 2.0], [0.5, 4.0]]], dtype=torch.float64)
    per_pixel = F.cross_entropy(logits, labels, reduction="none")
    assert torch.allclose(rebalanced_cross_entropy(logits, onehot, w), (per_pixel * w).mean())


def test_official_bins_encode_and_decode(shared_data):
    bins = torch.from_numpy(
        np.load(shared_data / "weights/colorization_zhang2016/pts_in_hull.npy")
    ).double()
    assert bins.shape == (313, 2)
    ab = _random_ab(seed=5) * 0.5
    z = soft_encode(ab, bins)
    assert torch.allclose(z.sum(1), torch.ones_like(z.sum(1)), atol=1e-12)
    # the soft-encoded target decodes (mean) to within a bin of the true ab
    back = torch.einsum("nqhw,qc->nchw", z, bins)
    assert (back - ab).abs().max() < 10


def test_undoing_the_rebalancing_recovers_the_posterior_the_weighted_loss_tilted():
    # The rebalanced loss, in expectation over labels y ~ p at a pixel, is
    # -sum_q p_q w_q log softmax(l)_q; find its minimiser numerically, without the formula.
    g = torch.Generator().manual_seed(5)
    q = 7
    p = torch.rand(q, generator=g, dtype=torch.float64) ** 3
    p /= p.sum()
    w = 0.2 + 5 * torch.rand(q, generator=g, dtype=torch.float64)
    logits = torch.zeros(1, q, 1, 1, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS(
        [logits],
        lr=1,
        max_iter=2000,
        tolerance_grad=1e-12,
        tolerance_change=1e-16,
        line_search_fn="strong_wolfe",
    )

    def closure():
        opt.zero_grad()
        loss = -(p * w * F.log_softmax(logits, 1)[0, :, 0, 0]).sum()
        loss.backward()
        return loss

    opt.step(closure)
    trained = logits.detach()
    tilted = trained.softmax(1).flatten()
    assert torch.allclose(tilted, p * w / (p * w).sum(), atol=1e-8)  # the net learns p tilted by w
    assert torch.allclose(undo_rebalancing(trained, w, 1.0).softmax(1).flatten(), p, atol=1e-8)
    half = undo_rebalancing(trained, w, 0.5).softmax(1).flatten()
    ref = p * w.sqrt()
    assert torch.allclose(half, ref / ref.sum(), atol=1e-8)
    assert torch.equal(undo_rebalancing(trained, w, 0.0), trained)  # the paper's decoding
    # uniform weights (a model without a prior) change nothing
    flat = undo_rebalancing(trained, torch.full((q,), 3.0, dtype=torch.float64), 1.0)
    assert torch.allclose(flat.softmax(1), trained.softmax(1), atol=1e-12)
    with pytest.raises(ValueError):
        undo_rebalancing(trained, w, 1.5)


def test_retilt_aims_at_the_same_odds_whatever_the_training_weights():
    """A net trained with weights ``w`` predicts ``w p``, one trained without them ``p``: retilting
    either to ``keep`` of a target ``t`` gives ``p t^keep`` (normalised), written out by hand; with
    ``w = t`` it is undo_rebalancing with beta = 1 - keep."""
    g = torch.Generator().manual_seed(3)
    q = 7
    p = torch.rand(q, generator=g, dtype=torch.float64)
    p /= p.sum()
    w = torch.rand(q, generator=g, dtype=torch.float64) * 3 + 0.2
    t = torch.rand(q, generator=g, dtype=torch.float64) * 3 + 0.2
    as_logits = lambda z: z.log().view(1, q, 1, 1)  # noqa: E731
    for keep in (0.0, 0.3, 1.0):
        want = p * t**keep
        want /= want.sum()
        for trained, predicted in ((w, w * p), (torch.ones(q, dtype=torch.float64), p)):
            got = retilt(as_logits(predicted), trained, t, keep).softmax(1).flatten()
            assert torch.allclose(got, want, atol=1e-12)
        same = retilt(as_logits(w * p), w, w, keep)
        assert torch.allclose(same, undo_rebalancing(as_logits(w * p), w, 1 - keep), atol=1e-12)
    with pytest.raises(ValueError, match="kept"):
        retilt(as_logits(p), w, t, 1.5)
