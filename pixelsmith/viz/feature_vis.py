"""Feature visualisation by optimisation (Olah, Mordvintsev & Schubert, Distill 2017).

Start from a nearly flat image and follow the gradient that raises one channel's mean activation.
Done naively, on the pixels themselves, the result is high-frequency noise that the network happens
to like. Three things from the article (and its library, lucid) turn it into a texture:

* **Fourier parameterisation**: optimise the image's 2-D spectrum, scaled by 1/frequency, so every
  frequency moves at a similar rate instead of the high ones dominating (:class:`FourierImage`);
* **decorrelated colour**: optimise in a colour basis where the channels are uncorrelated, through
  a fixed 3x3 matrix, the square root of ImageNet's colour covariance (1-channel models skip it);
* **transformation robustness**: jitter, scale and rotate the image randomly at every step, so only
  patterns that survive small transformations are kept (:func:`random_transform`).

``visualize_feature(..., fourier=False, decorrelate=False, transforms=False)`` is the naive method;
:func:`compare_feature_vis` draws both side by side.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from pixelsmith.errors import PixelsmithError
from pixelsmith.models import model_device
from pixelsmith.viz.grid import auto_zoom, make_grid, save_image
from pixelsmith.viz.layers import layer_outputs, model_in_channels

COLOR_CORRELATION_SVD_SQRT = torch.tensor(
    [[0.26, 0.09, 0.02], [0.27, 0.00, -0.05], [0.27, -0.09, 0.03]]
)
"""Square root of ImageNet's RGB colour covariance (lucid's ``color_correlation_svd_sqrt``)."""

COLOR_CORRELATION = COLOR_CORRELATION_SVD_SQRT / COLOR_CORRELATION_SVD_SQRT.norm(dim=0).max()
"""The matrix above scaled so its largest column has unit norm: decorrelated -> RGB, pre-sigmoid."""


def _to_valid(image: torch.Tensor, decorrelate: bool) -> torch.Tensor:
    if decorrelate and image.shape[1] == 3:
        image = torch.einsum("ij,bjhw->bihw", COLOR_CORRELATION.to(image), image)
    return torch.sigmoid(image)


class PixelImage(nn.Module):
    """Plain parameterisation: one free value per pixel, ``sigmoid`` to [0, 1].

    ``forward()`` -> ``(batch, channels, height, width)`` in (0, 1).
    """

    def __init__(
        self,
        channels: int,
        height: int,
        width: int,
        *,
        batch: int = 1,
        sd: float = 0.01,
        decorrelate: bool = False,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        self.decorrelate = decorrelate
        start = torch.randn(batch, channels, height, width, generator=generator) * sd
        self.pixels = nn.Parameter(start)

    def forward(self) -> torch.Tensor:
        return _to_valid(self.pixels, self.decorrelate)


def fft_frequencies(height: int, width: int) -> torch.Tensor:
    """``(height, width // 2 + 1)``: spatial frequency (cycles per pixel) of each ``rfft2`` bin."""
    fy = torch.fft.fftfreq(height)[:, None]
    fx = torch.fft.rfftfreq(width)[None, :]
    return (fy * fy + fx * fx).sqrt()


class FourierImage(nn.Module):
    """Fourier parameterisation: the image's spectrum, scaled by ``1 / frequency ** decay_power``.

    The spectrum (real and imaginary parts, ``sd``-scaled Gaussian at the start) is scaled, inverted
    by ``irfft2`` (orthonormal), divided by 4, optionally mapped through :data:`COLOR_CORRELATION`
    (3 channels only) and squashed by ``sigmoid``, as in lucid's ``param.image(fft=True)``.

    ``forward()`` -> ``(batch, channels, height, width)`` in (0, 1).
    """

    def __init__(
        self,
        channels: int,
        height: int,
        width: int,
        *,
        batch: int = 1,
        sd: float = 0.01,
        decay_power: float = 1.0,
        decorrelate: bool = True,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        self.size = (height, width)
        self.decorrelate = decorrelate
        freqs = fft_frequencies(height, width)
        scale = 1.0 / freqs.clamp(min=1.0 / max(height, width)) ** decay_power
        self.register_buffer("scale", scale)
        shape = (batch, channels, *freqs.shape, 2)
        self.spectrum = nn.Parameter(torch.randn(shape, generator=generator) * sd)

    def forward(self) -> torch.Tensor:
        spectrum = torch.view_as_complex(self.spectrum) * self.scale
        image = torch.fft.irfft2(spectrum, s=self.size, norm="ortho") / 4
        return _to_valid(image, self.decorrelate)


def random_transform(
    images: torch.Tensor,
    *,
    jitter: float,
    scales: tuple[float, float] = (0.9, 1.1),
    degrees: float = 10.0,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Shift each image by up to ``jitter`` pixels, scale it by a factor in ``scales`` and rotate it
    by up to ``degrees``, all drawn at random per image (bilinear, borders reflected).

    ``(B, C, H, W)`` -> ``(B, C, H, W)``; differentiable with respect to ``images``.
    """
    b, _, h, w = images.shape

    def uniform(lo: float, hi: float) -> torch.Tensor:
        return lo + (hi - lo) * torch.rand(b, generator=generator)

    angle = uniform(-degrees, degrees) * math.pi / 180
    inv_scale = 1.0 / uniform(*scales)
    tx, ty = uniform(-jitter, jitter) * 2 / w, uniform(-jitter, jitter) * 2 / h
    cos, sin = angle.cos() * inv_scale, angle.sin() * inv_scale
    theta = torch.stack([torch.stack([cos, -sin, tx], 1), torch.stack([sin, cos, ty], 1)], 1)
    grid = F.affine_grid(theta.to(images), list(images.shape), align_corners=False)
    return F.grid_sample(
        images, grid, mode="bilinear", padding_mode="reflection", align_corners=False
    )


def channel_activation(
    model: nn.Module, layer: str, channel: int, images: torch.Tensor, *, call: int = 0
) -> float:
    """Mean activation of ``channel`` of ``layer`` over ``(B, C, H, W)`` images (no gradient)."""
    out = layer_outputs(model, images.to(model_device(model)), [layer], call=call)[layer]
    return float(_objective(out, channel, layer))


def _objective(out: torch.Tensor, channel: int, layer: str) -> torch.Tensor:
    if out.dim() < 2 or not 0 <= channel < out.shape[1]:
        raise PixelsmithError(
            f"channel {channel} out of range for layer {layer!r} (output {tuple(out.shape)})"
        )
    return out[:, channel].mean()


def input_size(model: nn.Module, default: tuple[int, int] = (64, 64)) -> tuple[int, int]:
    """``(H, W)`` from ``model.input_size`` (an int, or a shape ending in H, W), or ``default``
    rounded up to the model's ``size_multiple`` (a U-Net's skips need whole multiples)."""
    size = getattr(model, "input_size", None)
    if isinstance(size, int):
        return size, size
    if isinstance(size, (tuple, list, torch.Size)) and len(size) >= 2:
        return int(size[-2]), int(size[-1])
    spec = getattr(model, "spec", None)
    m = getattr(spec, "size_multiple", 1) or 1
    return tuple(-(-d // m) * m for d in default)


@dataclass
class FeatureVis:
    """The result of :func:`visualize_feature`."""

    image: torch.Tensor
    """``(C, H, W)`` in [0, 1]: the optimised input."""
    activation: float
    """The channel's mean activation on ``image``."""
    start_activation: float
    """The same on the starting image (the parameterisation before optimisation)."""
    history: list[float] = field(default_factory=list)
    """The objective at each step (on the transformed copies)."""


def visualize_feature(
    model: nn.Module,
    layer: str,
    channel: int,
    *,
    size: tuple[int, int] | None = None,
    steps: int = 256,
    lr: float = 0.05,
    fourier: bool = True,
    decorrelate: bool = True,
    transforms: bool = True,
    jitter: float | None = None,
    scales: tuple[float, float] = (0.9, 1.1),
    degrees: float = 10.0,
    copies: int = 4,
    decay_power: float = 1.0,
    sd: float = 0.01,
    seed: int = 0,
    call: int = 0,
) -> FeatureVis:
    """Optimise an input image to maximise the mean activation of ``channel`` in ``layer``.

    Args:
        model: any ``nn.Module`` taking images in [0, 1] (its weights are not changed).
        layer: a ``named_modules()`` name; channel: the unit (channel) of its output.
        size: ``(H, W)`` of the image (default: :func:`input_size`).
        steps, lr: Adam steps and learning rate.
        fourier: Fourier (1/f) parameterisation (:class:`FourierImage`), else plain pixels.
        decorrelate: decorrelated colour (3-channel models only).
        transforms: random jitter/scale/rotation each step (:func:`random_transform`), on ``copies``
            transformed copies per step; ``jitter`` defaults to ``max(1, min(H, W) / 16)`` pixels.
        decay_power: exponent of the 1/frequency scaling.
        sd: standard deviation of the starting parameters (0.01: a nearly flat grey image).
        seed: seeds the start and the transforms.

    Returns:
        :class:`FeatureVis` with the image and its activation before and after.
    """
    h, w = size or input_size(model)
    c = model_in_channels(model) or 3
    g = torch.Generator().manual_seed(seed)
    device = model_device(model)
    if fourier:
        param = FourierImage(
            c, h, w, sd=sd, decay_power=decay_power, decorrelate=decorrelate, generator=g
        )
    else:
        param = PixelImage(c, h, w, sd=sd, decorrelate=decorrelate, generator=g)
    param = param.to(device)
    jitter = max(1.0, min(h, w) / 16) if jitter is None else jitter
    with torch.no_grad():
        start = param()
    start_activation = channel_activation(model, layer, channel, start, call=call)
    params = list(param.parameters())
    opt = torch.optim.Adam(params, lr=lr)
    history = []
    for _ in range(steps):
        image = param()
        if transforms:
            image = random_transform(
                image.expand(copies, -1, -1, -1),
                jitter=jitter,
                scales=scales,
                degrees=degrees,
                generator=g,
            )
        out = layer_outputs(model, image, [layer], call=call, grad=True)[layer]
        objective = _objective(out, channel, layer)
        grads = torch.autograd.grad(-objective, params)
        for p, grad in zip(params, grads, strict=True):
            p.grad = grad
        opt.step()
        history.append(float(objective.detach()))
    with torch.no_grad():
        final = param()
    activation = channel_activation(model, layer, channel, final, call=call)
    return FeatureVis(final[0].cpu(), activation, start_activation, history)


NAIVE = {"fourier": False, "decorrelate": False, "transforms": False}
"""Keyword arguments of :func:`visualize_feature` for the naive method (pixels, no transforms)."""


def compare_feature_vis(
    model: nn.Module, layer: str, channels: Sequence[int], *, zoom: int | None = None, **kwargs
) -> tuple[torch.Tensor, list[FeatureVis]]:
    """Naive and full feature visualisation of each channel, side by side.

    ``kwargs`` go to :func:`visualize_feature`. Returns a grid ``(C, H', W')`` with a column per
    channel: naive (plain pixels, no transforms) on the top row, Fourier + decorrelated colour +
    transforms below; and the :class:`FeatureVis` results in that order (all naive, then all full).
    """
    naive = [visualize_feature(model, layer, ch, **{**kwargs, **NAIVE}) for ch in channels]
    full = [visualize_feature(model, layer, ch, **kwargs) for ch in channels]
    results = naive + full
    tiles = torch.stack([r.image for r in results])
    zoom = zoom or auto_zoom(*tiles.shape[-2:], target=96)
    return make_grid(tiles, len(channels), pad=2, zoom=zoom), results


def feature_grid(
    model: nn.Module,
    layer: str,
    channels: Sequence[int],
    *,
    ncol: int | None = None,
    zoom: int | None = None,
    **kwargs,
) -> tuple[torch.Tensor, list[FeatureVis]]:
    """:func:`visualize_feature` for each channel (``kwargs`` passed on), tiled: ``(C, H', W')``."""
    results = [visualize_feature(model, layer, ch, **kwargs) for ch in channels]
    tiles = torch.stack([r.image for r in results])
    zoom = zoom or auto_zoom(*tiles.shape[-2:], target=96)
    return make_grid(tiles, ncol, pad=2, zoom=zoom), results


def save_feature_vis(
    model: nn.Module,
    layer: str,
    channels: Sequence[int],
    path: str | Path,
    *,
    compare: bool = False,
    **kwargs,
) -> tuple[Path, list[FeatureVis]]:
    """Write :func:`feature_grid`, or :func:`compare_feature_vis` if ``compare``, to ``path``."""
    draw = compare_feature_vis if compare else feature_grid
    grid, results = draw(model, layer, channels, **kwargs)
    return save_image(path, grid), results
