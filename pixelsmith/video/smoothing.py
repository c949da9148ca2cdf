"""Temporal smoothing of chroma: colours that stay put from frame to frame, lightness untouched.

A colorizer sees each frame alone, so sensor noise and small changes move its predicted ab from one
frame to the next, and colours flicker on a still scene. :class:`ChromaSmoother` is a per-frame hook
on the result: it keeps an exponential moving average of ab (CIE Lab) and puts it beside each
frame's own L, so the lightness of every frame is exactly what the task gave. Two gates keep it
from smearing colour across time:

- a **scene cut** (the mean change of L between two frames' thumbnails over ``scene_cut``) forgets
  the previous frame, so the first frame of a new scene keeps its own colours;
- a **motion gate** per pixel: where the local mean L changed by ``d``, the previous frame's weight
  is ``strength * exp(-(d / motion)^2)``, so what moves follows the fresh prediction.

:func:`chroma_flicker` measures what the smoothing is for: the mean frame-to-frame change of ab.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

import torch
from torch.nn import functional as F

from pixelsmith.color import lab_to_rgb_in_gamut, rgb_to_lab
from pixelsmith.video.defaults import MOTION, SCENE_CUT, SMOOTH_STRENGTH

THUMBNAIL = 32  # long side, in pixels, of the frames compared for a scene cut
MOTION_WINDOW = 5  # side of the box over which L is averaged before the motion gate


def check_strength(strength: float) -> float:
    """``strength`` in ``[0, 1)``: 1 would freeze the first frame's colours for ever."""
    if not 0 <= strength < 1:
        raise ValueError(f"the smoothing strength is in [0, 1), not {strength}")
    return float(strength)


def thumbnail(L: torch.Tensor) -> torch.Tensor:
    """Lightness ``(1, 1, H, W)`` averaged down to a long side of at most ``THUMBNAIL`` pixels."""
    h, w = L.shape[-2:]
    k = max(1, math.ceil(max(h, w) / THUMBNAIL))
    return F.adaptive_avg_pool2d(L, (max(1, round(h / k)), max(1, round(w / k))))


def scene_change(L: torch.Tensor, previous: torch.Tensor) -> float:
    """Mean absolute change of L (0-100) between the thumbnails of two frames ``(1, 1, H, W)``."""
    return float((thumbnail(L) - thumbnail(previous)).abs().mean())


def local_change(L: torch.Tensor, previous: torch.Tensor) -> torch.Tensor:
    """Per-pixel change of L averaged over ``MOTION_WINDOW`` pixels (sensor noise averages out,
    motion does not): ``(1, 1, H, W)``, in L units."""
    box = lambda x: F.avg_pool2d(  # noqa: E731
        x, MOTION_WINDOW, stride=1, padding=MOTION_WINDOW // 2, count_include_pad=False
    )
    return (box(L) - box(previous)).abs()


@dataclass
class ChromaSmoother:
    """Smooths the chroma of a stream of colour frames; call it on each result in order.

    ``smoother(rgb)`` takes a frame ``(3, H, W)`` in [0, 1] (sRGB) and returns it with ab
    replaced by ``ab + w * (ab_prev - ab)``, where ``ab_prev`` is the smoothed ab of the previous
    frame and ``w = strength * exp(-(d / motion)^2)`` (``d``: :func:`local_change`; ``motion = 0``
    gives ``w = strength``); L is kept, out-of-gamut colours lose chroma, not lightness
    (:func:`~pixelsmith.color.lab_to_rgb_in_gamut`). The first frame, the first after a scene cut
    or a change of size, and grey frames ``(1, H, W)`` come back as they are.

    Attributes:
        strength: weight of the past, in ``[0, 1)`` (0: off).
        scene_cut: mean thumbnail change of L that starts a new scene (``inf``: never).
        motion: L change at which a pixel keeps ``exp(-1)`` of its weight (0: no motion gate).
        cuts: frame indices where a scene cut reset the smoothing (filled as frames pass).
    """

    strength: float = SMOOTH_STRENGTH
    scene_cut: float = SCENE_CUT
    motion: float = MOTION
    cuts: list[int] = field(default_factory=list)
    _L: torch.Tensor | None = field(default=None, repr=False)
    _ab: torch.Tensor | None = field(default=None, repr=False)
    _frame: int = field(default=0, repr=False)

    def __post_init__(self) -> None:
        check_strength(self.strength)
        if not self.scene_cut > 0:
            raise ValueError(f"scene_cut is a positive change of L, not {self.scene_cut}")
        if self.motion < 0:
            raise ValueError(f"motion is 0 (off) or a positive change of L, not {self.motion}")

    def reset(self) -> None:
        """Forget the past: the next frame comes back as it is."""
        self._L = self._ab = None

    def __call__(self, rgb: torch.Tensor) -> torch.Tensor:
        if rgb.dim() != 3:
            raise ValueError(f"a frame is (C, H, W), got {tuple(rgb.shape)}")
        index, self._frame = self._frame, self._frame + 1
        if rgb.shape[0] != 3 or not self.strength:
            return rgb
        lab = rgb_to_lab(rgb[None].float())
        L, ab = lab[:, :1], lab[:, 1:]
        previous, past = self._L, self._ab
        self._L, self._ab = L, ab
        if previous is None or previous.shape != L.shape:
            return rgb
        if scene_change(L, previous) > self.scene_cut:
            self.cuts.append(index)
            return rgb
        weight = torch.full_like(L, self.strength)
        if self.motion:
            weight = weight * torch.exp(-((local_change(L, previous) / self.motion) ** 2))
        self._ab = ab = ab + weight * (past - ab)
        return lab_to_rgb_in_gamut(torch.cat([L, ab], 1))[0].to(rgb.dtype)


def ab_change(rgb: torch.Tensor, previous: torch.Tensor) -> float:
    """Mean over pixels of the Euclidean distance in ab between two frames ``(3, H, W)`` sRGB in
    [0, 1] (one unit is one step of CIE a* or b*)."""
    a = rgb_to_lab(rgb[None].float())[:, 1:]
    b = rgb_to_lab(previous[None].float())[:, 1:]
    return float((a - b).square().sum(1).sqrt().mean())


def chroma_flicker(frames: Iterable[torch.Tensor]) -> float:
    """The flicker of a clip: :func:`ab_change` between consecutive frames ``(3, H, W)``, averaged
    over the clip (on a still scene, what a viewer sees as colours that shimmer)."""
    changes, previous = [], None
    for frame in frames:
        if previous is not None:
            changes.append(ab_change(frame, previous))
        previous = frame
    if not changes:
        raise ValueError("the flicker needs at least two frames")
    return sum(changes) / len(changes)
