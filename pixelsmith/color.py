"""Colour conversions on tensors: sRGB <-> linear, RGB <-> YCbCr (BT.601, MATLAB), RGB <-> Lab.

Every function takes a float tensor with the channel dimension at ``-3`` and any number of
leading dimensions, ``(*, 3, H, W)``: ``(3, H, W)`` and ``(B, 3, H, W)`` both work. RGB means
non-linear sRGB in ``[0, 1]`` unless a name says ``linear``. All functions are differentiable and
keep the input's dtype and device; each has an ``nn.Module`` twin for ``nn.Sequential``.

References, matched by the tests:

- sRGB transfer curve: IEC 61966-2-1:1999 (the piecewise curve with the 0.04045 / 0.0031308 knees).
- YCbCr: ITU-R BT.601 with the ranges of MATLAB's ``rgb2ycbcr`` (Y in [16, 235] / 255, Cb and Cr in
  [16, 240] / 255), which is what super-resolution papers mean by "the Y channel";
  ``skimage.color.rgb2ycbcr`` uses the same matrix but returns 0..255 units.
- Two lumas, one per purpose: :func:`rgb_to_y` is BT.601 *studio range* (Y in [16, 235] / 255), the
  super-resolution protocol's channel; :func:`rgb_to_grey` is BT.601 *full range*
  (``0.299 R + 0.587 G + 0.114 B``, what PIL's ``convert("L")`` computes), for showing a colour
  photo to a grey model (the face classifier, the inspection tools).
- Lab: CIE 1976 L*a*b* under D65 / 2 degree observer, as ``skimage.color.rgb2lab``; computed by
  :mod:`kornia.color` (a port of scikit-image's code with the same white point and constants).
"""

from __future__ import annotations

import kornia.color
import torch
from torch import nn

from pixelsmith.errors import PixelsmithError

__all__ = [
    "srgb_to_linear",
    "linear_to_srgb",
    "rgb_to_ycbcr",
    "ycbcr_to_rgb",
    "rgb_to_y",
    "rgb_to_grey",
    "rgb_to_lab",
    "lab_to_rgb",
    "lab_to_rgb_in_gamut",
    "has_colour",
    "SrgbToLinear",
    "LinearToSrgb",
    "RgbToYcbcr",
    "YcbcrToRgb",
    "RgbToY",
    "RgbToGrey",
    "RgbToLab",
    "LabToRgb",
    "YCBCR_FROM_RGB",
    "YCBCR_OFFSET",
]

# MATLAB rgb2ycbcr: ycbcr = (YCBCR_FROM_RGB @ rgb + YCBCR_OFFSET) / 255 for rgb in [0, 1].
YCBCR_FROM_RGB: tuple[tuple[float, float, float], ...] = (
    (65.481, 128.553, 24.966),
    (-37.797, -74.203, 112.0),
    (112.0, -93.786, -18.214),
)
YCBCR_OFFSET: tuple[float, float, float] = (16.0, 128.0, 128.0)

_SRGB_KNEE = 0.04045
_LINEAR_KNEE = 0.0031308


def _check_image(image: torch.Tensor, channels: int = 3) -> None:
    if not isinstance(image, torch.Tensor):
        raise TypeError(f"expected a torch.Tensor, got {type(image).__name__}")
    if image.ndim < 3 or image.shape[-3] != channels:
        raise PixelsmithError(
            f"expected an image of shape (*, {channels}, H, W), got {tuple(image.shape)}"
        )
    if not image.is_floating_point():
        raise TypeError(f"expected a floating-point tensor, got {image.dtype}")


def _apply_matrix(image: torch.Tensor, matrix: torch.Tensor) -> torch.Tensor:
    """``matrix @ pixel`` for every pixel of a ``(*, 3, H, W)`` tensor."""
    return torch.einsum("ij,...jhw->...ihw", matrix, image)


def srgb_to_linear(image: torch.Tensor) -> torch.Tensor:
    r"""Undo the sRGB transfer curve (IEC 61966-2-1).

    :math:`c / 12.92` for :math:`c \le 0.04045`, else :math:`((c + 0.055) / 1.055)^{2.4}`.
    Works on any number of channels; the linear segment extends to negative inputs.

    Args:
        image: sRGB values, usually in ``[0, 1]``, any shape (e.g. ``(*, 3, H, W)``).

    Returns:
        Linear-light values, same shape, ``[0, 1]`` for inputs in ``[0, 1]``.
    """
    if not image.is_floating_point():
        raise TypeError(f"expected a floating-point tensor, got {image.dtype}")
    curve = ((image.clamp(min=_SRGB_KNEE) + 0.055) / 1.055) ** 2.4
    return torch.where(image > _SRGB_KNEE, curve, image / 12.92)


def linear_to_srgb(image: torch.Tensor) -> torch.Tensor:
    r"""Apply the sRGB transfer curve (IEC 61966-2-1); the inverse of :func:`srgb_to_linear`.

    :math:`12.92\,c` for :math:`c \le 0.0031308`, else :math:`1.055\,c^{1/2.4} - 0.055`.
    No clipping.

    Args:
        image: linear-light values, usually in ``[0, 1]``, any shape (e.g. ``(*, 3, H, W)``).

    Returns:
        sRGB values, same shape, ``[0, 1]`` for inputs in ``[0, 1]``.
    """
    if not image.is_floating_point():
        raise TypeError(f"expected a floating-point tensor, got {image.dtype}")
    curve = 1.055 * image.clamp(min=_LINEAR_KNEE) ** (1 / 2.4) - 0.055
    return torch.where(image > _LINEAR_KNEE, curve, 12.92 * image)


def rgb_to_ycbcr(image: torch.Tensor) -> torch.Tensor:
    r"""Convert sRGB to YCbCr, BT.601 with MATLAB ``rgb2ycbcr`` ranges.

    .. math::
        [Y, C_b, C_r]^T = (M \, [R, G, B]^T + [16, 128, 128]^T) / 255,
        \quad M = \begin{bmatrix} 65.481 & 128.553 & 24.966 \\
                                 -37.797 & -74.203 & 112 \\
                                 112 & -93.786 & -18.214 \end{bmatrix}

    Args:
        image: RGB in ``[0, 1]``, shape ``(*, 3, H, W)``.

    Returns:
        YCbCr, shape ``(*, 3, H, W)``: Y in ``[16, 235] / 255``, Cb and Cr in ``[16, 240] / 255``.
        Multiply by 255 to get MATLAB's / scikit-image's units for float input.
    """
    _check_image(image)
    matrix = torch.tensor(YCBCR_FROM_RGB, dtype=image.dtype, device=image.device) / 255.0
    offset = torch.tensor(YCBCR_OFFSET, dtype=image.dtype, device=image.device) / 255.0
    return _apply_matrix(image, matrix) + offset[:, None, None]


def ycbcr_to_rgb(image: torch.Tensor) -> torch.Tensor:
    r"""Convert YCbCr (BT.601, MATLAB ranges) to sRGB; the exact inverse of :func:`rgb_to_ycbcr`.

    Args:
        image: YCbCr as produced by :func:`rgb_to_ycbcr`, shape ``(*, 3, H, W)``
            (Y in ``[16, 235] / 255``, Cb and Cr in ``[16, 240] / 255``).

    Returns:
        RGB, shape ``(*, 3, H, W)``; in ``[0, 1]`` for in-gamut input. Not clipped.
    """
    _check_image(image)
    forward = torch.tensor(YCBCR_FROM_RGB, dtype=torch.float64)
    inverse = torch.linalg.inv(forward).to(dtype=image.dtype, device=image.device)
    offset = torch.tensor(YCBCR_OFFSET, dtype=image.dtype, device=image.device)
    return _apply_matrix(image * 255.0 - offset[:, None, None], inverse)


def rgb_to_y(image: torch.Tensor) -> torch.Tensor:
    r"""The Y (luma) channel of :func:`rgb_to_ycbcr`, as used by the super-resolution protocol.

    :math:`Y = (16 + 65.481 R + 128.553 G + 24.966 B) / 255`.

    Args:
        image: RGB in ``[0, 1]``, shape ``(*, 3, H, W)``.

    Returns:
        Y in ``[16, 235] / 255``, shape ``(*, 1, H, W)``.
    """
    _check_image(image)
    weights = torch.tensor(YCBCR_FROM_RGB[0], dtype=image.dtype, device=image.device) / 255.0
    y = _apply_matrix(image, weights[None, :])
    return y + YCBCR_OFFSET[0] / 255.0


#: Full-range BT.601 luma weights (ITU-R BT.601, as PIL's ``convert("L")``).
GREY_FROM_RGB = (0.299, 0.587, 0.114)


def rgb_to_grey(image: torch.Tensor) -> torch.Tensor:
    r"""Full-range BT.601 luma, :math:`0.299 R + 0.587 G + 0.114 B`: a colour photo as grey.

    Args:
        image: RGB in ``[0, 1]``, shape ``(*, 3, H, W)``.

    Returns:
        Grey in ``[0, 1]``, shape ``(*, 1, H, W)``.
    """
    _check_image(image)
    weights = torch.tensor(GREY_FROM_RGB, dtype=image.dtype, device=image.device)
    return _apply_matrix(image, weights[None, :])


def rgb_to_lab(image: torch.Tensor) -> torch.Tensor:
    r"""Convert sRGB to CIE Lab (D65 white, 2 degree observer), as ``skimage.color.rgb2lab``.

    Args:
        image: sRGB in ``[0, 1]``, shape ``(*, 3, H, W)``.

    Returns:
        Lab, shape ``(*, 3, H, W)``: L in ``[0, 100]``, a and b roughly in ``[-128, 127]``
        (about ``[-86, 98]`` and ``[-108, 95]`` for sRGB input).
    """
    _check_image(image)
    return kornia.color.rgb_to_lab(image)


def lab_to_rgb(image: torch.Tensor, clip: bool = True) -> torch.Tensor:
    r"""Convert CIE Lab (D65, 2 degree) to sRGB, as ``skimage.color.lab2rgb``.

    Out-of-gamut colours are clipped to ``[0, 1]`` when ``clip`` is true (scikit-image always
    clips); negative Z after the Lab -> XYZ step is set to 0, as scikit-image does.

    Args:
        image: Lab, shape ``(*, 3, H, W)``, L in ``[0, 100]``.
        clip: clamp the result to ``[0, 1]``.

    Returns:
        sRGB, shape ``(*, 3, H, W)``, in ``[0, 1]`` when ``clip``.
    """
    _check_image(image)
    return kornia.color.lab_to_rgb(image, clip=clip)


def has_colour(image: torch.Tensor, tolerance: float = 2 / 255) -> bool:
    """Whether an image ``(C, H, W)`` (float in [0, 1], or uint8 / uint16 levels) has any colour:
    the mean over its pixels of ``max(R, G, B) - min(R, G, B)`` is above ``tolerance`` (a grey
    photo stored as RGB, JPEG noise and all, is not in colour)."""
    if image.shape[0] == 1:
        return False
    peak = {torch.uint8: 255.0, torch.uint16: 65535.0}.get(image.dtype, 1.0)
    x = image.float() / peak
    return float((x.amax(0) - x.amin(0)).mean()) > tolerance


def lab_to_rgb_in_gamut(image: torch.Tensor, steps: int = 12) -> torch.Tensor:
    r"""Lab to sRGB keeping each pixel's lightness: an out-of-gamut colour loses chroma instead of
    being clipped channel by channel (which changes its lightness and hue).

    For each pixel whose RGB falls outside ``[0, 1]``, ab is scaled by the largest
    :math:`s \in [0, 1]` that brings it inside, found by ``steps`` rounds of bisection (``s`` to
    within ``2^-steps``); ``s = 0`` is the grey of the same L, always in gamut. What bisection leaves
    over (below ``2^-steps`` of the chroma) is clipped.

    Args:
        image: Lab ``(*, 3, H, W)``, L in ``[0, 100]``.

    Returns:
        sRGB ``(*, 3, H, W)`` in ``[0, 1]``.
    """
    _check_image(image)
    rgb = kornia.color.lab_to_rgb(image, clip=False)
    out = ((rgb < 0) | (rgb > 1)).any(-3)  # (*, H, W)
    if not out.any():
        return rgb
    lab = image.movedim(-3, -1)[out]  # (K, 3)
    lo = torch.zeros(len(lab), 1, dtype=lab.dtype, device=lab.device)
    hi = torch.ones_like(lo)

    def to_rgb(scale: torch.Tensor) -> torch.Tensor:
        x = torch.cat([lab[:, :1], lab[:, 1:] * scale], 1)
        return kornia.color.lab_to_rgb(x.t()[:, None, :], clip=False)[:, 0, :].t()  # (K, 3)

    for _ in range(steps):
        mid = (lo + hi) / 2
        c = to_rgb(mid)
        inside = ((c >= 0) & (c <= 1)).all(1, keepdim=True)
        lo = torch.where(inside, mid, lo)
        hi = torch.where(inside, hi, mid)
    rgb.movedim(-3, -1)[out] = to_rgb(lo)
    return rgb.clamp_(0, 1)


class SrgbToLinear(nn.Module):
    """Module form of :func:`srgb_to_linear`. Shape: any -> same."""

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return srgb_to_linear(image)


class LinearToSrgb(nn.Module):
    """Module form of :func:`linear_to_srgb`. Shape: any -> same."""

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return linear_to_srgb(image)


class RgbToYcbcr(nn.Module):
    """Module form of :func:`rgb_to_ycbcr`. Shape: ``(*, 3, H, W)`` -> ``(*, 3, H, W)``."""

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return rgb_to_ycbcr(image)


class YcbcrToRgb(nn.Module):
    """Module form of :func:`ycbcr_to_rgb`. Shape: ``(*, 3, H, W)`` -> ``(*, 3, H, W)``."""

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return ycbcr_to_rgb(image)


class RgbToY(nn.Module):
    """Module form of :func:`rgb_to_y`. Shape: ``(*, 3, H, W)`` -> ``(*, 1, H, W)``."""

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return rgb_to_y(image)


class RgbToGrey(nn.Module):
    """Module form of :func:`rgb_to_grey`. Shape: ``(*, 3, H, W)`` -> ``(*, 1, H, W)``."""

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return rgb_to_grey(image)


class RgbToLab(nn.Module):
    """Module form of :func:`rgb_to_lab`. Shape: ``(*, 3, H, W)`` -> ``(*, 3, H, W)``."""

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return rgb_to_lab(image)


class LabToRgb(nn.Module):
    """Module form of :func:`lab_to_rgb`. Shape: ``(*, 3, H, W)`` -> ``(*, 3, H, W)``."""

    def __init__(self, clip: bool = True) -> None:
        super().__init__()
        self.clip = clip

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return lab_to_rgb(image, clip=self.clip)
