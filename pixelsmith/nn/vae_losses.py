"""The loss of the feature-consistent VAE (Hou et al., "Deep Feature Consistent Variational
Autoencoder", WACV 2017), which :mod:`pixelsmith.models.inpaint_vae` is trained by.

:func:`vae_loss`: the ELBO of a Gaussian decoder with variance 1/2 per element, divided by the
number of elements ``N = 3 H W`` so that it is on the scale of a mean squared error,
``mean((x_gen - x_gt)^2) + beta KL / N``, plus Hou et al.'s feature-consistency term
``sum_l mean((eta_l(x_gen) - eta_l(x_gt))^2)`` over a frozen feature network's layers, weighted.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """``KL(N(mu, exp(logvar)) || N(0, I))`` per sample: ``(B, Z) -> (B,)``, in nats,
    ``-1/2 sum(1 + logvar - mu^2 - exp(logvar))``."""
    return -0.5 * (1 + logvar - mu.square() - logvar.exp()).sum(1)


def feature_distance(
    gen_features: list[torch.Tensor], gt_features: list[torch.Tensor]
) -> torch.Tensor:
    """Hou et al.'s feature-consistency term, ``sum_l mean((eta_l(gen) - eta_l(gt))^2)`` (each
    layer's squared distance per element, as their ``1 / (C_l H_l W_l)``)."""
    total = gen_features[0].new_zeros(())
    for fo, fg in zip(gen_features, gt_features, strict=True):
        total = total + F.mse_loss(fo, fg)
    return total


def vae_loss(
    output: torch.Tensor,
    mu: torch.Tensor,
    logvar: torch.Tensor,
    target: torch.Tensor,
    kl_weight: float = 1.0,
    perceptual_weight: float = 0.0,
    features: nn.Module | None = None,
) -> torch.Tensor:
    """``mean((output - target)^2) + kl_weight * mean_b KL_b / (3 H W) + perceptual_weight *
    feature_distance``: the ELBO (a Gaussian decoder of variance 1/2 per element: the paper's
    per-pixel sum, here divided by the element count), plus the feature term when
    ``perceptual_weight`` is not 0 (``features``: an image ``(B, 3, H, W) -> list of maps``).

    ``output``, ``target`` ``(B, 3, H, W)``; ``mu``, ``logvar`` ``(B, Z)``."""
    elements = output[0].numel()
    loss = F.mse_loss(output, target) + kl_weight * kl_divergence(mu, logvar).mean() / elements
    if perceptual_weight:
        if features is None:
            raise ValueError("the perceptual term needs a feature network")
        with torch.no_grad():
            f_gt = features(target)
        loss = loss + perceptual_weight * feature_distance(features(output), f_gt)
    return loss
