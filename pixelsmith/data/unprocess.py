"""Unprocessing: sRGB photos -> realistic camera raw, and raw -> short, noisy exposures.

Brooks et al., "Unprocessing Images for Learned Raw Denoising" (CVPR 2019) invert a simple
camera pipeline to make raw training data from ordinary photos:

    sRGB --inverse tone curve--> --sRGB EOTF--> linear sRGB --CCM--> camera RGB --1/gains--> raw

:func:`unprocess` runs that chain on a batch with randomly drawn camera parameters
(:class:`CameraParams`) and :func:`process` is its exact inverse (the forward camera pipeline).
Mosaicking is a separate step, :func:`pixelsmith.data.bayer.mosaic`.

For "Learning to See in the Dark" (Chen et al., CVPR 2018) :func:`darken` turns a clean linear
signal into the integer codes of a short exposure: divide by the exposure ratio, add
Poisson-Gaussian sensor noise (Brooks' noise model), add the black level, quantise;
:func:`darken_raw` does the same to a real raw file's mosaic, with its own levels.

Conventions: images are ``(N, C, H, W)`` float with the batch first; a linear signal is
normalised so that 0 is black and 1 the sensor's white; every random draw comes from the
``torch.Generator`` passed in, so a fixed seed gives identical results.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

import torch

from pixelsmith.color import linear_to_srgb, srgb_to_linear

if TYPE_CHECKING:
    from pixelsmith.io.raw import RawImage

__all__ = [
    "CAMERA_FROM_XYZ",
    "XYZ_FROM_LINEAR_SRGB",
    "SHOT_NOISE_RANGE",
    "CameraParams",
    "DarkExposure",
    "smoothstep",
    "inverse_smoothstep",
    "random_ccm",
    "random_gains",
    "random_camera_params",
    "unprocess",
    "process",
    "random_noise_levels",
    "add_noise",
    "darken",
    "to_normalised",
    "darken_raw",
]

#: XYZ -> camera matrices (the DNG ColorMatrix / dcraw ``adobe_coeff`` entries, divided by
#: 10000) of full-frame cameras: Brooks et al. mix several real cameras' matrices; these are the
#: Canon EOS 5D, 5D Mark II, 5D Mark III, Nikon D700 and the Sony ILCE-7S (also the A7S II on
#: which the SID Sony set was shot), as listed in dcraw's / LibRaw's ``adobe_coeff`` table.
CAMERA_FROM_XYZ: dict[str, tuple[tuple[float, float, float], ...]] = {
    "Canon EOS 5D": (
        (0.6347, -0.0479, -0.0972),
        (-0.8297, 1.5954, 0.2480),
        (-0.1968, 0.2131, 0.7649),
    ),
    "Canon EOS 5D Mark II": (
        (0.4716, 0.0603, -0.0830),
        (-0.7798, 1.5474, 0.2480),
        (-0.1496, 0.1937, 0.6651),
    ),
    "Canon EOS 5D Mark III": (
        (0.6722, -0.0635, -0.0963),
        (-0.4287, 1.2460, 0.2028),
        (-0.0908, 0.2162, 0.5668),
    ),
    "Nikon D700": (
        (0.8139, -0.2171, -0.0663),
        (-0.8747, 1.6541, 0.2295),
        (-0.1925, 0.2008, 0.8093),
    ),
    "Sony ILCE-7S": (
        (0.5838, -0.1430, -0.0246),
        (-0.3497, 1.1477, 0.2297),
        (-0.0748, 0.1885, 0.5778),
    ),
}

#: Linear sRGB -> CIE XYZ, D65 white (IEC 61966-2-1).
XYZ_FROM_LINEAR_SRGB: tuple[tuple[float, float, float], ...] = (
    (0.4124564, 0.3575761, 0.1804375),
    (0.2126729, 0.7151522, 0.0721750),
    (0.0193339, 0.1191920, 0.9503041),
)

#: Brooks et al.'s range of the shot-noise parameter (normalised units): ``1e-4 .. 1.2e-2``.
SHOT_NOISE_RANGE: tuple[float, float] = (1e-4, 1.2e-2)

# Brooks et al.: log(read) = 2.18 log(shot) + 1.20 + N(0, 0.26), fitted to real sensors.
_READ_SLOPE, _READ_OFFSET, _READ_SIGMA = 2.18, 1.20, 0.26
# Safe white-balance inversion: pixels greyer than this keep their highlights.
_HIGHLIGHT_KNEE = 0.9


@dataclass
class CameraParams:
    """A batch of random cameras, everything :func:`process` needs to invert :func:`unprocess`.

    The white-balance gains that the forward pipeline applies are
    ``rgb_gain * (red_gain, 1, blue_gain)`` per image.
    """

    ccm: torch.Tensor
    """``(N, 3, 3)`` camera RGB from linear sRGB, rows summing to 1 (white stays white)."""
    rgb_gain: torch.Tensor
    """``(N,)`` overall brightness gain (Brooks: ``1 / N(0.8, 0.1)``)."""
    red_gain: torch.Tensor
    """``(N,)`` white-balance gain of red, ``U(1.9, 2.4)``."""
    blue_gain: torch.Tensor
    """``(N,)`` white-balance gain of blue, ``U(1.5, 1.9)``."""

    @property
    def srgb_from_camera(self) -> torch.Tensor:
        """``(N, 3, 3)`` linear sRGB from camera RGB: the inverse of :attr:`ccm`."""
        return torch.linalg.inv(self.ccm.double()).to(self.ccm.dtype)

    @property
    def gains(self) -> torch.Tensor:
        """``(N, 3)`` the per-channel gains ``rgb_gain * (red_gain, 1, blue_gain)``."""
        ones = torch.ones_like(self.red_gain)
        return self.rgb_gain[:, None] * torch.stack([self.red_gain, ones, self.blue_gain], 1)

    def __len__(self) -> int:
        return self.ccm.shape[0]


class DarkExposure(NamedTuple):
    """The sensor codes of a simulated short exposure and the levels to normalise them."""

    codes: torch.Tensor
    """Integer-valued float tensor in ``[0, white_level]``, the shape of the input."""
    black_level: float
    white_level: float
    shot: torch.Tensor
    """``(N,)`` shot-noise parameter used (normalised units)."""
    read: torch.Tensor
    """``(N,)`` read-noise variance used (normalised units squared)."""


def smoothstep(x: torch.Tensor) -> torch.Tensor:
    """The tone curve of Brooks et al., :math:`3x^2 - 2x^3`, on ``x`` clamped to ``[0, 1]``."""
    x = x.clamp(0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def inverse_smoothstep(y: torch.Tensor) -> torch.Tensor:
    r"""The inverse of :func:`smoothstep` on ``[0, 1]``:
    :math:`\tfrac12 - \sin(\arcsin(1 - 2y) / 3)`, on ``y`` clamped to ``[0, 1]``."""
    y = y.clamp(0.0, 1.0)
    return 0.5 - torch.sin(torch.asin(1.0 - 2.0 * y) / 3.0)


def _per_image(v: torch.Tensor | float, x: torch.Tensor) -> torch.Tensor:
    """``v`` (a number or ``(N,)``) shaped to broadcast over ``x`` ``(N, ...)``."""
    v = torch.as_tensor(v, dtype=x.dtype, device=x.device)
    return v.reshape(-1, *([1] * (x.ndim - 1))) if v.ndim else v


def _check_batch(x: torch.Tensor, channels: int | None = 3) -> None:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"expected a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"expected a floating-point tensor, got {x.dtype}")
    if channels is not None and (x.ndim != 4 or x.shape[1] != channels):
        raise ValueError(f"expected a batch of shape (N, {channels}, H, W), got {tuple(x.shape)}")


def random_ccm(n: int, g: torch.Generator) -> torch.Tensor:
    """``n`` random camera-from-linear-sRGB matrices ``(n, 3, 3)``, rows summing to 1.

    Each is a random convex combination (weights uniform, normalised to sum 1) of
    :data:`CAMERA_FROM_XYZ`, times :data:`XYZ_FROM_LINEAR_SRGB`, each row then divided by its
    sum so that sRGB white maps to camera white (Brooks et al., section 3.2).
    """
    cams = torch.tensor(list(CAMERA_FROM_XYZ.values()), dtype=torch.float64)  # (K, 3, 3)
    weights = torch.rand(n, len(cams), generator=g, device=g.device).double().cpu() + 1e-8
    weights = weights / weights.sum(1, keepdim=True)
    xyz = torch.einsum("nk,kij->nij", weights, cams)
    ccm = xyz @ torch.tensor(XYZ_FROM_LINEAR_SRGB, dtype=torch.float64)
    return (ccm / ccm.sum(2, keepdim=True)).float()


def random_gains(n: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Brooks et al.'s random gains, each ``(n,)``: ``rgb_gain = 1 / N(0.8, 0.1)``,
    ``red_gain ~ U(1.9, 2.4)``, ``blue_gain ~ U(1.5, 1.9)``.

    The normal draw is clamped to at least 0.1 (a 7-sigma event) so the gain stays finite and
    positive.
    """
    rand = torch.rand(2, n, generator=g, device=g.device).cpu()
    rgb_gain = 1.0 / (0.8 + 0.1 * torch.randn(n, generator=g, device=g.device).cpu()).clamp(min=0.1)
    return rgb_gain, 1.9 + 0.5 * rand[0], 1.5 + 0.4 * rand[1]


def random_camera_params(n: int, g: torch.Generator) -> CameraParams:
    """``n`` random cameras: :func:`random_ccm` and :func:`random_gains`."""
    ccm = random_ccm(n, g)
    rgb_gain, red_gain, blue_gain = random_gains(n, g)
    return CameraParams(ccm=ccm, rgb_gain=rgb_gain, red_gain=red_gain, blue_gain=blue_gain)


def _apply_ccm(x: torch.Tensor, ccm: torch.Tensor) -> torch.Tensor:
    return torch.einsum("nij,njhw->nihw", ccm.to(x), x)


def unprocess(
    srgb: torch.Tensor,
    g: torch.Generator | None = None,
    params: CameraParams | None = None,
    *,
    safe: bool = True,
) -> tuple[torch.Tensor, CameraParams]:
    """Turn sRGB photos into linear camera RGB, as a random camera would have recorded them.

    Inverse tone curve (:func:`inverse_smoothstep`), the exact sRGB EOTF
    (:func:`pixelsmith.color.srgb_to_linear`; Brooks approximate it with ``x ** 2.2``), camera
    RGB from linear sRGB (``params.ccm``), then division by the white-balance gains.

    Args:
        srgb: ``(N, 3, H, W)`` sRGB in ``[0, 1]``.
        g: draws ``params`` when they are not given.
        params: the cameras to use (e.g. to unprocess a second batch the same way).
        safe: Brooks' highlight-preserving inversion of the gains: near-white pixels (mean over
            channels above 0.9) are blended towards a gain of 1 so that they stay saturated
            instead of turning into coloured highlights, and the result is clipped to
            ``[0, 1]`` as a sensor records it. Realistic for training, but not invertible in
            the highlights; ``safe=False`` divides by the gains exactly and does not clip, so
            that :func:`process` inverts it.

    Returns:
        ``(linear camera RGB (N, 3, H, W), params)``; ``[0, 1]`` when ``safe``.
    """
    _check_batch(srgb)
    if params is None:
        if g is None:
            raise ValueError("unprocess needs either a generator or the camera params")
        params = random_camera_params(srgb.shape[0], g)
    if len(params) != srgb.shape[0]:
        raise ValueError(f"{len(params)} camera params for a batch of {srgb.shape[0]} images")
    linear = srgb_to_linear(inverse_smoothstep(srgb))
    camera = _apply_ccm(linear, params.ccm)
    inverse_gains = (1.0 / params.gains).to(camera)[:, :, None, None]  # (N, 3, 1, 1)
    if not safe:
        return camera * inverse_gains, params
    grey = camera.mean(1, keepdim=True)
    highlight = ((grey - _HIGHLIGHT_KNEE).clamp(min=0.0) / (1.0 - _HIGHLIGHT_KNEE)) ** 2
    gains = torch.maximum(highlight + (1.0 - highlight) * inverse_gains, inverse_gains)
    return (camera * gains).clamp(0.0, 1.0), params


def process(linear: torch.Tensor, params: CameraParams) -> torch.Tensor:
    """The forward camera pipeline: the inverse of ``unprocess(..., safe=False)``.

    White-balance gains (:attr:`CameraParams.gains`), linear sRGB from camera RGB
    (:attr:`CameraParams.srgb_from_camera`), clamp to ``[0, 1]``, the sRGB OETF
    (:func:`pixelsmith.color.linear_to_srgb`), then the :func:`smoothstep` tone curve.

    Args:
        linear: ``(N, 3, H, W)`` linear camera RGB (demosaic a mosaic first).
        params: the cameras, one per image.

    Returns:
        ``(N, 3, H, W)`` sRGB in ``[0, 1]``. Differentiable in ``linear``.
    """
    _check_batch(linear)
    if len(params) != linear.shape[0]:
        raise ValueError(f"{len(params)} camera params for a batch of {linear.shape[0]} images")
    balanced = linear * params.gains.to(linear)[:, :, None, None]
    srgb_linear = _apply_ccm(balanced, params.srgb_from_camera).clamp(0.0, 1.0)
    return smoothstep(linear_to_srgb(srgb_linear))


def random_noise_levels(
    n: int, g: torch.Generator, shot_range: tuple[float, float] = SHOT_NOISE_RANGE
) -> tuple[torch.Tensor, torch.Tensor]:
    """Brooks et al.'s random sensor noise levels, ``(shot, read)`` each ``(n,)``.

    ``log(shot)`` is uniform on ``log(shot_range)`` (Brooks: ``1e-4 .. 1.2e-2``, the default),
    and ``log(read) = 2.18 log(shot) + 1.20 + N(0, 0.26)``, the relation they fitted to real
    sensors. Both are in normalised units (white = 1): a pixel of value ``x`` gets noise of
    variance ``shot * x + read``.

    The default range is kept for the SID setting as well: :func:`darken` adds the noise at
    the sensor's level *after* dividing by the exposure ratio, so brightening the result by the
    ratio amplifies the noise by it; the ratio, not a wider range, makes the image dark and noisy.
    """
    lo, hi = math.log(shot_range[0]), math.log(shot_range[1])
    log_shot = lo + (hi - lo) * torch.rand(n, generator=g, device=g.device).cpu()
    jitter = _READ_SIGMA * torch.randn(n, generator=g, device=g.device).cpu()
    log_read = _READ_SLOPE * log_shot + _READ_OFFSET + jitter
    return log_shot.exp(), log_read.exp()


def add_noise(
    linear: torch.Tensor,
    shot: torch.Tensor | float,
    read: torch.Tensor | float,
    g: torch.Generator,
    *,
    poisson: bool = False,
) -> torch.Tensor:
    """Add heteroscedastic sensor noise of variance ``shot * x + read`` to ``linear``.

    ``poisson=False`` (Brooks et al.): one Gaussian of that variance, the usual approximation.
    ``poisson=True``: the Poisson-Gaussian model itself, ``shot * Poisson(x / shot)`` (photon
    counting, ``1 / shot`` photons at white) plus a Gaussian of variance ``read``; same mean
    and variance, but discrete and skewed at a handful of photons, as in very dark shots.
    Negative ``x`` counts as 0 for the shot noise.

    Args:
        linear: ``(N, ...)`` normalised linear signal.
        shot: shot-noise parameter, one number or ``(N,)``.
        read: read-noise variance, one number or ``(N,)``.
        g: the generator, on ``linear``'s device.

    Returns:
        The noisy signal, same shape (not clipped).
    """
    _check_batch(linear, channels=None)
    shot_t, read_t = _per_image(shot, linear), _per_image(read, linear)
    if bool((shot_t <= 0).any()) or bool((read_t < 0).any()):
        raise ValueError("noise levels must be positive (shot) and non-negative (read)")
    x = linear.clamp(min=0.0)
    if poisson:
        photons = torch.poisson(x / shot_t, generator=g)
        gauss = torch.randn(linear.shape, generator=g, device=linear.device, dtype=linear.dtype)
        return linear + (photons * shot_t - x) + read_t.sqrt() * gauss
    gauss = torch.randn(linear.shape, generator=g, device=linear.device, dtype=linear.dtype)
    return linear + (shot_t * x + read_t).sqrt() * gauss


def darken(
    linear: torch.Tensor,
    ratio: torch.Tensor | float,
    g: torch.Generator,
    *,
    bits: int = 14,
    black_level: float = 512,
    noise: tuple[torch.Tensor | float, torch.Tensor | float] | None = None,
    poisson: bool = True,
) -> DarkExposure:
    """Simulate a short exposure: the sensor codes of ``linear / ratio`` with sensor noise.

    The clean normalised signal is divided by the exposure ratio (SID: 100, 250, 300), gets
    Poisson-Gaussian noise (:func:`add_noise`) at the sensor's level, is scaled to codes
    ``black .. white`` with ``white = 2**bits - 1``, rounded and clipped to ``[0, white]``.
    The defaults are the SID Sony camera's (14 bits, black level 512).

    Args:
        linear: ``(N, ...)`` clean normalised linear signal (a mosaic ``(N, H, W)`` or packed
            planes ``(N, 4, h, w)``), 0 black, 1 white.
        ratio: exposure ratio (long / short), one number or ``(N,)``, at least 1.
        g: the generator.
        bits: the sensor's bit depth.
        black_level: the code of black.
        noise: ``(shot, read)`` per image or for all; drawn by :func:`random_noise_levels`
            when ``None``.
        poisson: true Poisson photon noise; else the Gaussian approximation.

    Returns:
        :class:`DarkExposure`; :func:`to_normalised` maps its codes back to ``[0, 1]``.
    """
    _check_batch(linear, channels=None)
    white = float(2**bits - 1)
    if not 0 <= black_level < white:
        raise ValueError(f"black level {black_level} outside the {bits}-bit range")
    if bool((torch.as_tensor(ratio) < 1).any()):
        raise ValueError(f"the exposure ratio must be at least 1, got {ratio}")
    n = linear.shape[0]
    shot, read = random_noise_levels(n, g) if noise is None else noise
    shot = torch.as_tensor(shot, dtype=torch.float32).expand(n).clone()
    read = torch.as_tensor(read, dtype=torch.float32).expand(n).clone()
    dark = add_noise(linear / _per_image(ratio, linear), shot, read, g, poisson=poisson)
    codes = (dark * (white - black_level) + black_level).round().clamp(0.0, white)
    return DarkExposure(codes, float(black_level), white, shot, read)


def to_normalised(
    codes: torch.Tensor,
    black_level: float | torch.Tensor,
    white_level: float,
    *,
    clip: bool = True,
) -> torch.Tensor:
    """Sensor codes to normalised signal ``(codes - black) / (white - black)``.

    ``black_level`` may be a number or a tensor broadcasting against ``codes`` (a per-pixel
    black map). ``clip`` clamps to ``[0, 1]`` (as SID does); without it the noise below black
    is kept, which keeps the mean unbiased in the darkest shots.
    """
    x = (codes - black_level) / (white_level - black_level)
    return x.clamp(0.0, 1.0) if clip else x


def darken_raw(
    raw: RawImage,
    ratio: float,
    g: torch.Generator,
    *,
    noise: tuple[float, float] | None = None,
    poisson: bool = True,
) -> RawImage:
    """A realistic short exposure of a real raw file, in the file's own sensor codes.

    The file's normalised mosaic (:meth:`RawImage.normalised`) is the long exposure; it is
    divided by ``ratio``, gets sensor noise (:func:`add_noise`; ``noise = (shot, read)`` or
    drawn by :func:`random_noise_levels`), is put back on the file's per-channel black and white
    levels, rounded and clipped to ``[0, white_level]``. The long exposure's own noise, divided
    by the ratio, is small beside the added noise.

    Returns:
        A copy of ``raw`` (:func:`dataclasses.replace`) whose ``bayer`` holds the dark codes;
        ``raw`` itself is unchanged.
    """
    if ratio < 1:
        raise ValueError(f"the exposure ratio must be at least 1, got {ratio}")
    shot, read = random_noise_levels(1, g) if noise is None else noise
    long = raw.normalised()[None]
    dark = add_noise(long / ratio, shot, read, g, poisson=poisson)[0]
    black = raw.black_map
    white = float(raw.white_level)
    codes = (dark * (white - black) + black).round().clamp(0.0, white)
    return dataclasses.replace(raw, bayer=codes.to(raw.bayer.dtype))
