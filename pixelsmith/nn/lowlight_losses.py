"""Losses for low-light enhancement without (Zero-DCE) and with (DeepUPE) reference images.

Zero-DCE (Guo et al., CVPR 2020) trains on dark photos alone, with four non-reference losses of
the enhanced image ``Y``, the input ``I`` and the curve maps ``A``:

- :func:`spatial_consistency_loss` ``L_spa``: neighbouring 4x4 regions keep their contrast;
- :func:`exposure_loss` ``L_exp``: 16x16 patches' mean intensity is near ``E = 0.6``;
- :func:`colour_constancy_loss` ``L_col``: the channel means agree (grey world);
- :func:`illumination_tv_loss` ``L_tvA``: the curve maps are smooth.

Each follows the authors' code (``Zero-DCE_code/Myloss.py``), which differs from the paper's
equations in small ways noted in each docstring; :func:`zero_dce_loss` weighs them as the
authors' ``lowlight_train.py`` does.

DeepUPE (Wang et al., "Underexposed Photo Enhancement using Deep Illumination Estimation", CVPR
2019) predicts an illumination map ``S`` with ``output = image / S`` and trains against
expert-retouched targets with :func:`colour_angle_loss` and :func:`illumination_smoothness_loss`
(beside a reconstruction loss).

Images are ``(N, C, H, W)`` in [0, 1]; every loss returns a scalar tensor, differentiable.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

#: The weights of ``lowlight_train.py`` (Li-Chongyi/Zero-DCE): ``200 L_tvA + L_spa + 5 L_col +
#: 10 L_exp``. The paper (Eq. 7, Sec. 4) states ``L_spa + L_exp + W_col L_col + W_tvA L_tvA`` with
#: ``W_col = 0.5`` and ``W_tvA = 20``; the code's terms are normalised differently, and the
#: released checkpoint was trained with the code's weights.
ZERO_DCE_WEIGHTS: dict[str, float] = {"spa": 1.0, "exp": 10.0, "col": 5.0, "tv": 200.0}

_TINY = 1e-30  # below this a squared norm counts as zero (keeps sqrt's gradient finite)


def spatial_consistency_loss(
    enhanced: torch.Tensor,
    low: torch.Tensor,
    region: int = 4,
    padding: str = "zeros",
    absolute: bool = False,
) -> torch.Tensor:
    """Zero-DCE's ``L_spa``: the enhanced image keeps the input's differences between regions.

    Both images are averaged over channels and over ``region x region`` blocks (4 in the paper;
    ``avg_pool2d``, a remainder is dropped), giving ``Y_i`` and ``I_i`` for ``K`` regions; with
    ``Omega(i)`` the 4 neighbours (left, right, up, down) of region ``i``:

        L_spa = 1/K sum_i sum_{j in Omega(i)} (D^Y_ij - D^I_ij)^2

    where ``D_ij = Y_i - Y_j`` (the authors' code, default) or ``|Y_i - Y_j|`` (``absolute=True``,
    the paper's Eq. 2). It is 0 when ``enhanced == low``; a constant multiple ``c * low`` gives
    ``(c - 1)^2`` times the input's own sum of squared differences, not 0.

    ``padding="zeros"`` (the authors' code: ``conv2d(..., padding=1)``) counts a neighbour
    outside the image as 0, so a border region also compares ``Y_i`` with ``I_i`` themselves;
    ``"replicate"`` counts only the neighbours inside the image (a border difference is 0).

    Args:
        enhanced, low: ``(N, C, H, W)`` with ``H, W >= region``.
    """
    if enhanced.shape != low.shape:
        raise ValueError(f"shapes differ: {tuple(enhanced.shape)} vs {tuple(low.shape)}")
    if padding not in ("zeros", "replicate"):
        raise ValueError(f"padding is 'zeros' or 'replicate', not {padding!r}")
    if min(low.shape[-2:]) < region:
        raise ValueError(f"images of {tuple(low.shape[-2:])} are smaller than one {region}-region")
    mode = "constant" if padding == "zeros" else "replicate"

    def neighbour_differences(img: torch.Tensor) -> list[torch.Tensor]:
        p = F.avg_pool2d(img.mean(dim=1, keepdim=True), region)
        q = F.pad(p, (1, 1, 1, 1), mode=mode)
        d = [
            p - q[..., 1:-1, :-2],
            p - q[..., 1:-1, 2:],
            p - q[..., :-2, 1:-1],
            p - q[..., 2:, 1:-1],
        ]
        return [t.abs() for t in d] if absolute else d

    e = sum(
        (dy - di).square()
        for dy, di in zip(neighbour_differences(enhanced), neighbour_differences(low), strict=True)
    )
    return e.mean()


def exposure_loss(enhanced: torch.Tensor, level: float = 0.6, patch: int = 16) -> torch.Tensor:
    """Zero-DCE's ``L_exp``: the mean intensity ``Y_k`` of each non-overlapping ``patch x patch``
    region (of the channel mean; 16 in the paper, a remainder is dropped) stays near ``E = level``:

        L_exp = 1/M sum_k (Y_k - E)^2

    squared as in the authors' code; the paper's Eq. 3 writes ``|Y_k - E|``.

    Args:
        enhanced: ``(N, C, H, W)`` with ``H, W >= patch``.
    """
    if min(enhanced.shape[-2:]) < patch:
        raise ValueError(
            f"images of {tuple(enhanced.shape[-2:])} are smaller than one {patch}-patch"
        )
    y = F.avg_pool2d(enhanced.mean(dim=1, keepdim=True), patch)
    return (y - level).square().mean()


def colour_constancy_loss(enhanced: torch.Tensor, sqrt: bool = True) -> torch.Tensor:
    """Zero-DCE's ``L_col`` (grey-world): with ``J^p`` the mean of channel ``p`` over the image
    and ``D_pq = (J^p - J^q)^2`` for the pairs (R, G), (R, B), (G, B):

        sqrt=True  (the authors' code):  L_col = mean over images of sqrt(D_RG^2 + D_RB^2 + D_GB^2)
        sqrt=False (the paper's Eq. 4):  L_col = mean over images of D_RG + D_RB + D_GB

    For channel means (0.5, 0.3, 0.1): D = (0.04, 0.16, 0.04), so sqrt(0.0288) = 0.1697 or 0.24.

    Args:
        enhanced: ``(N, 3, H, W)``.
    """
    if enhanced.ndim != 4 or enhanced.shape[1] != 3:
        raise ValueError(f"expected an RGB batch (N, 3, H, W), got {tuple(enhanced.shape)}")
    r, g, b = enhanced.mean(dim=(2, 3)).unbind(dim=1)
    d = torch.stack([(r - g).square(), (r - b).square(), (g - b).square()], dim=1)
    if not sqrt:
        return d.sum(dim=1).mean()
    s = d.square().sum(dim=1)
    return torch.where(s > 0, s.clamp_min(_TINY).sqrt(), torch.zeros_like(s)).mean()


def illumination_tv_loss(alpha: torch.Tensor) -> torch.Tensor:
    """Zero-DCE's ``L_tvA``: total variation of the curve maps ``A`` ``(N, C, H, W)`` (``C = 3 n``),
    as the authors' ``L_TV`` computes it (squared forward differences, summed over channels):

        L_tvA = 2 / N * ( sum (A[..., i+1, j] - A[..., i, j])^2 / ((H-1) W)
                        + sum (A[..., i, j+1] - A[..., i, j])^2 / (H (W-1)) )

    The paper's Eq. 5 is ``1/n sum_n sum_c (|grad_x A| + |grad_y A|)^2``. Needs ``H, W >= 2``.
    """
    n, _, h, w = alpha.shape
    if h < 2 or w < 2:
        raise ValueError(f"curve maps of {(h, w)} have no neighbours to compare")
    dh = (alpha[..., 1:, :] - alpha[..., :-1, :]).square().sum()
    dw = (alpha[..., :, 1:] - alpha[..., :, :-1]).square().sum()
    return 2 * (dh / ((h - 1) * w) + dw / (h * (w - 1))) / n


def zero_dce_loss_terms(
    enhanced: torch.Tensor, low: torch.Tensor, alpha: torch.Tensor
) -> dict[str, torch.Tensor]:
    """The four unweighted terms ``{"spa", "exp", "col", "tv"}`` of :func:`zero_dce_loss`."""
    return {
        "spa": spatial_consistency_loss(enhanced, low),
        "exp": exposure_loss(enhanced),
        "col": colour_constancy_loss(enhanced),
        "tv": illumination_tv_loss(alpha),
    }


def zero_dce_loss(
    enhanced: torch.Tensor,
    low: torch.Tensor,
    alpha: torch.Tensor,
    weights: dict[str, float] | None = None,
) -> torch.Tensor:
    """Zero-DCE's training loss: ``L_spa + 10 L_exp + 5 L_col + 200 L_tvA`` (``ZERO_DCE_WEIGHTS``,
    the authors' ``lowlight_train.py``), with ``L_exp`` at ``E = 0.6`` on 16x16 patches.

    Args:
        enhanced: the network's output ``(N, 3, H, W)``; ``low``: its input, same shape.
        alpha: the curve maps ``(N, 3n, H, W)`` (either sign: ``L_tvA`` does not see it).
        weights: replaces some or all of ``ZERO_DCE_WEIGHTS`` (keys ``spa, exp, col, tv``).
    """
    w = dict(ZERO_DCE_WEIGHTS)
    if weights:
        unknown = set(weights) - set(w)
        if unknown:
            raise ValueError(f"unknown loss terms {sorted(unknown)}; they are {sorted(w)}")
        w.update(weights)
    terms = zero_dce_loss_terms(enhanced, low, alpha)
    return sum(w[k] * v for k, v in terms.items())


def colour_angle_loss(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """DeepUPE's colour loss: the mean over pixels of the angle, in radians (0 .. pi), between the
    RGB vectors of ``output`` and ``target`` ``(N, 3, H, W)``:

        angle = atan2(|a x b|, a . b)

    (the same as ``arccos(a . b / (|a| |b|))``, but accurate and with a finite gradient near 0).
    Proportional vectors give 0, orthogonal ones pi/2. A pixel where either vector is zero (black)
    has no hue: its angle counts as 0. The paper sums over pixels; the mean keeps the scale
    independent of the image size.
    """
    if output.shape != target.shape or output.ndim != 4 or output.shape[1] != 3:
        raise ValueError(
            f"expected two RGB batches (N, 3, H, W) of one shape, got {tuple(output.shape)} and "
            f"{tuple(target.shape)}"
        )
    cross = torch.linalg.cross(output, target, dim=1).square().sum(dim=1)
    dot = (output * target).sum(dim=1)
    angle = torch.atan2(cross.clamp_min(_TINY).sqrt(), dot)
    black = (output.square().sum(dim=1) <= _TINY) | (target.square().sum(dim=1) <= _TINY)
    return torch.where(black, torch.zeros_like(angle), angle).mean()


def illumination_smoothness_loss(
    S: torch.Tensor,
    image: torch.Tensor,
    lam: float = 1.0,
    eps: float = 1e-4,
    theta: float = 1.2,
    log_floor: float = 1e-4,
) -> torch.Tensor:
    """DeepUPE's smoothness loss on the illumination ``S``: its gradients are penalised where the
    input ``image`` is flat and allowed across the image's edges (Lischinski et al.'s weights):

        L_s = lam * ( mean_{p,c} w_x (d_x S)^2 + mean_{p,c} w_y (d_y S)^2 ),
        w_x = 1 / (|d_x L|^theta + eps),  w_y = 1 / (|d_y L|^theta + eps),  L = log(max(image, log_floor))

    with ``d_x``, ``d_y`` forward differences along width and height, per channel ``c`` (``S`` with
    one channel is compared with each of the image's). DeepUPE uses ``theta = 1.2``,
    ``eps = 1e-4`` and sums over pixels and channels; the means here keep the scale independent
    of the image size (``lam`` scales the whole; DeepUPE weighs the term by 2 in its total).

    Args:
        S: ``(N, C, H, W)`` or ``(N, 1, H, W)`` illumination (positive).
        image: ``(N, C, H, W)`` the (underexposed) input in [0, 1].
    """
    if S.ndim != 4 or image.ndim != 4 or S.shape[-2:] != image.shape[-2:]:
        raise ValueError(
            f"expected S and image (N, C, H, W) of one size, got {tuple(S.shape)} and "
            f"{tuple(image.shape)}"
        )
    if S.shape[1] not in (1, image.shape[1]):
        raise ValueError(f"S has {S.shape[1]} channels; give 1 or the image's {image.shape[1]}")
    log_image = torch.log(image.clamp_min(log_floor))
    total = S.new_zeros(())
    for dim in (-1, -2):
        ds = torch.diff(S, dim=dim)
        dl = torch.diff(log_image, dim=dim)
        weight = 1.0 / (dl.abs().pow(theta) + eps)
        total = total + (weight * ds.square()).mean()
    return lam * total
