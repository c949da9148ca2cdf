"""Bayer colour-filter-array mosaics: pack to 4 planes, unpack, sample (mosaic), bilinear demosaic.

A *mosaic* is a float tensor ``(*, H, W)`` with ``H`` and ``W`` even: one colour per pixel.
A *pattern* names the colours of its top-left 2x2 tile, read row by row: ``"RGGB"``,
``"BGGR"``, ``"GRBG"`` or ``"GBRG"`` (:data:`PATTERNS`). It is not LibRaw's ``cfa_desc``
(``"RGBG"`` lists colour names by index); :func:`pattern_of` reads the pattern of a
:class:`~pixelsmith.io.raw.RawImage`.

*Packed* planes are ``(*, 4, H/2, W/2)`` in the canonical order **R, G1, B, G2** whatever the
pattern: G1 is the green on the rows that hold red, G2 the green on the rows that hold blue.
So channel ``k`` of every packed raw means the same thing, and a network trained on one pattern
sees the same input layout from another.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch.nn import functional as F

from pixelsmith.errors import PixelsmithError

if TYPE_CHECKING:
    from pixelsmith.io.raw import RawImage

__all__ = [
    "PATTERNS",
    "CHANNELS",
    "check_pattern",
    "pattern_of",
    "pattern_at",
    "crop_to_even",
    "pack",
    "unpack",
    "mosaic",
    "demosaic_bilinear",
]

PATTERNS: tuple[str, ...] = ("RGGB", "BGGR", "GRBG", "GBRG")
#: The packed channel order.
CHANNELS: tuple[str, ...] = ("R", "G1", "B", "G2")
_RGB_CHANNEL = (0, 1, 2, 1)  # the RGB channel of each packed channel


def check_pattern(pattern: str) -> str:
    """``pattern`` in upper case if it is one of :data:`PATTERNS`, else a :class:`PixelsmithError`."""
    if not isinstance(pattern, str) or pattern.upper() not in PATTERNS:
        raise PixelsmithError(
            f"unknown Bayer pattern {pattern!r}: expected one of {', '.join(PATTERNS)} "
            "(the top-left 2x2 colours read row by row)"
        )
    return pattern.upper()


def _sites(pattern: str) -> list[tuple[int, int]]:
    """``(row, col)`` inside the 2x2 tile of R, G1, B, G2 for ``pattern``."""
    p = check_pattern(pattern)
    r = p.index("R")
    b = p.index("B")
    g1 = 2 * (r // 2) + (1 - r % 2)  # the other pixel of the red row
    g2 = 2 * (b // 2) + (1 - b % 2)
    return [divmod(i, 2) for i in (r, g1, b, g2)]


def _check_mosaic(x: torch.Tensor, name: str = "mosaic") -> None:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"expected a torch.Tensor, got {type(x).__name__}")
    if x.ndim < 2:
        raise ValueError(f"expected a {name} of shape (*, H, W), got {tuple(x.shape)}")
    h, w = x.shape[-2:]
    if h % 2 or w % 2:
        raise PixelsmithError(
            f"a Bayer {name} needs an even height and width, got {h}x{w} "
            "(crop it first, e.g. with pixelsmith.data.bayer.crop_to_even)"
        )


def pattern_of(raw: RawImage) -> str:
    """The pattern (one of :data:`PATTERNS`) of a :class:`~pixelsmith.io.raw.RawImage`'s ``bayer``.

    Read from ``cfa_pattern`` (colour index per pixel of the 2x2 tile) and ``cfa_desc`` (the
    colour name of each index, e.g. LibRaw's ``"RGBG"``, whose index 3 is the second green).
    """
    letters = "".join(raw.cfa_desc[int(i)] for i in raw.cfa_pattern.ravel())
    if letters not in PATTERNS:
        raise PixelsmithError(
            f"not an RGB Bayer mosaic (colour filter {letters!r}, LibRaw colours {raw.cfa_desc!r})",
            getattr(raw, "path", None),
        )
    return letters


def pattern_at(pattern: str, top: int, left: int) -> str:
    """The pattern of a mosaic cropped to start at ``(top, left)`` of one with ``pattern``.

    Only the parities matter: ``pattern_at("RGGB", 0, 1) == "GRBG"``,
    ``pattern_at("RGGB", 1, 1) == "BGGR"``.
    """
    p = check_pattern(pattern)
    return "".join(p[2 * ((i + top) % 2) + (j + left) % 2] for i in (0, 1) for j in (0, 1))


def crop_to_even(x: torch.Tensor) -> torch.Tensor:
    """Drop the last row and/or column of ``x`` ``(*, H, W)`` to make both sizes even.

    Cropping at the bottom and right keeps the top-left tile, so the pattern is unchanged.
    Returns a view.
    """
    h, w = x.shape[-2:]
    return x[..., : h - h % 2, : w - w % 2]


def pack(mosaic: torch.Tensor, pattern: str) -> torch.Tensor:
    """Split a mosaic into its four colour planes, in the order R, G1, B, G2.

    Args:
        mosaic: ``(*, H, W)``, ``H`` and ``W`` even.
        pattern: the mosaic's CFA pattern (:data:`PATTERNS`).

    Returns:
        ``(*, 4, H/2, W/2)``: R, the green on red rows, B, the green on blue rows.

    Raises:
        PixelsmithError: unknown pattern, odd height or width.
    """
    sites = _sites(pattern)
    _check_mosaic(mosaic)
    return torch.stack([mosaic[..., i::2, j::2] for i, j in sites], dim=-3)


def unpack(packed: torch.Tensor, pattern: str) -> torch.Tensor:
    """Interleave four planes R, G1, B, G2 into a mosaic: the exact inverse of :func:`pack`.

    Args:
        packed: ``(*, 4, h, w)``.
        pattern: the CFA pattern of the mosaic to build.

    Returns:
        ``(*, 2h, 2w)``.
    """
    sites = _sites(pattern)
    if not isinstance(packed, torch.Tensor):
        raise TypeError(f"expected a torch.Tensor, got {type(packed).__name__}")
    if packed.ndim < 3 or packed.shape[-3] != 4:
        raise ValueError(f"expected packed planes of shape (*, 4, h, w), got {tuple(packed.shape)}")
    h, w = packed.shape[-2:]
    out = packed.new_empty((*packed.shape[:-3], 2 * h, 2 * w))
    for k, (i, j) in enumerate(sites):
        out[..., i::2, j::2] = packed[..., k, :, :]
    return out


def mosaic(rgb: torch.Tensor, pattern: str) -> torch.Tensor:
    """Sample a full-colour image through the colour filter array: what the sensor records.

    Args:
        rgb: ``(*, 3, H, W)`` (linear camera RGB), ``H`` and ``W`` even.
        pattern: the CFA pattern.

    Returns:
        ``(*, H, W)``: each pixel keeps the one channel its filter passes.
    """
    if not isinstance(rgb, torch.Tensor) or rgb.ndim < 3 or rgb.shape[-3] != 3:
        shape = tuple(rgb.shape) if isinstance(rgb, torch.Tensor) else type(rgb).__name__
        raise ValueError(f"expected an image of shape (*, 3, H, W), got {shape}")
    sites = _sites(pattern)
    _check_mosaic(rgb, "image")
    planes = [rgb[..., c, i::2, j::2] for c, (i, j) in zip(_RGB_CHANNEL, sites, strict=True)]
    return unpack(torch.stack(planes, dim=-3), pattern)


# Bilinear interpolation as convolutions of each colour's sparse plane (zeros off its sites):
# green has a site in every 4-neighbourhood, red and blue in every 3x3 window.
_GREEN_KERNEL = ((0.0, 0.25, 0.0), (0.25, 1.0, 0.25), (0.0, 0.25, 0.0))
_RED_BLUE_KERNEL = ((0.25, 0.5, 0.25), (0.5, 1.0, 0.5), (0.25, 0.5, 0.25))


def demosaic_bilinear(mosaic: torch.Tensor, pattern: str) -> torch.Tensor:
    """Classical bilinear demosaicking: each missing colour is the mean of its nearest
    same-colour neighbours (2 or 4 of them); recorded values are kept as they are.

    Computed as fixed 3x3 convolutions with reflect padding; reflecting by one pixel keeps the
    CFA phase (row ``-1`` mirrors row ``1``), so the borders are interpolated the same way.
    A constant-colour image is reproduced exactly, a linear ramp exactly away from the
    one-pixel border. Differentiable.

    Args:
        mosaic: ``(*, H, W)`` float, ``H`` and ``W`` even (at least 2).
        pattern: the CFA pattern.

    Returns:
        ``(*, 3, H, W)`` RGB in the mosaic's units.
    """
    sites = _sites(pattern)
    _check_mosaic(mosaic)
    if not mosaic.is_floating_point():
        raise TypeError(f"expected a floating-point tensor, got {mosaic.dtype}")
    lead, (h, w) = mosaic.shape[:-2], mosaic.shape[-2:]
    x = mosaic.reshape(-1, 1, h, w)
    masks = torch.zeros(3, 1, h, w, dtype=x.dtype, device=x.device)
    for c, (i, j) in zip(_RGB_CHANNEL, sites, strict=True):
        masks[c, 0, i::2, j::2] = 1.0
    sparse = F.pad(x * masks.transpose(0, 1), (1, 1, 1, 1), mode="reflect")  # (B, 3, H+2, W+2)
    kernels = torch.tensor(
        (_RED_BLUE_KERNEL, _GREEN_KERNEL, _RED_BLUE_KERNEL), dtype=x.dtype, device=x.device
    )
    rgb = F.conv2d(sparse, kernels[:, None], groups=3)
    return rgb.reshape(*lead, 3, h, w)
