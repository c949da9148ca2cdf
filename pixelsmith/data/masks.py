"""Hole masks for inpainting: random irregular masks for training, and NVIDIA's test masks.

In memory a mask is a float32 tensor ``(1, H, W)`` (a batch: ``(N, 1, H, W)``) with **1 = known
pixel, 0 = hole**, the ``M`` of partial convolutions (Liu et al., "Image Inpainting for Irregular
Holes Using Partial Convolutions", ECCV 2018). On disk (PNG) it is the other way round, as in
NVIDIA's irregular-mask test set: **white = hole**.

The paper reports its numbers per hole-ratio bucket, :data:`BUCKETS`. :func:`random_mask` draws
a mask of free-form strokes (random walks of random width with round joints, as the free-form
masks of Yu et al., ICCV 2019), rotated ellipses and blobs (thresholded smooth noise), mixed at
random and sized in proportion to the image (OpenCV draws them), until the hole ratio reaches a
target inside the requested range; a shape that would overshoot is redrawn smaller. The only
source of randomness is the ``torch.Generator`` passed in, so the same generator state gives the
same mask.

Measured (CPU, one thread, 2-core machine shared with another job, OpenCV 5.0; medians of two
runs): 16 masks of 128x128 over :data:`BUCKETS` in 11-16 ms (90th percentile 21 ms), 16 of 96x160
in 14-17 ms; one 512x512 mask in 1.1 ms (bucket 0.01-0.1) to 3 ms (0.5-0.6), 3-5 ms (90th
percentile 9 ms) with a 50-pixel margin at 0.5-0.6.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path

import cv2
import numpy as np
import torch

from pixelsmith.errors import PixelsmithError

#: The paper's hole-ratio buckets ``(lo, hi)``, as fractions of the image's pixels.
BUCKETS: tuple[tuple[float, float], ...] = (
    (0.01, 0.1),
    (0.1, 0.2),
    (0.2, 0.3),
    (0.3, 0.4),
    (0.4, 0.5),
    (0.5, 0.6),
)

#: NVIDIA test masks: 2000 file numbers per bucket; the first 1000 of each keep holes this many
#: pixels from the border, the second 1000 touch it.
NVIDIA_PER_BUCKET = 2000
NVIDIA_MARGIN = 50

_NVIDIA_NAME = re.compile(r"^(\d{5})\.png$")
_MAX_SHAPES = 64  # then the last pixels are grown exactly (rare for BUCKETS)
_MAX_SHRINKS = 8  # a shape that overshoots the range is redrawn at half the size, this often


def bucket_name(i: int) -> str:
    """The label of ``BUCKETS[i]``: ``bucket_name(2) == "0.2-0.3"``."""
    if not 0 <= i < len(BUCKETS):
        raise ValueError(f"bucket index must be 0..{len(BUCKETS) - 1}, not {i}")
    lo, hi = BUCKETS[i]
    return f"{lo:g}-{hi:g}"


def parse_ratio(text: str) -> tuple[float, float]:
    """``"0.2-0.3"`` -> ``(0.2, 0.3)``: a hole-ratio range given by a user (0 < lo < hi < 1).

    Raises:
        PixelsmithError: not two numbers joined by ``-``, a bound outside (0, 1), or lo >= hi.
    """
    parts = text.strip().split("-")
    try:
        if len(parts) != 2:
            raise ValueError
        lo, hi = float(parts[0]), float(parts[1])
    except ValueError:
        raise PixelsmithError(
            f"hole ratio {text!r} is not a range like 0.2-0.3 (two fractions joined by '-')"
        ) from None
    if not (0 < lo < 1 and 0 < hi < 1):
        raise PixelsmithError(f"hole ratio {text!r}: both bounds must lie strictly between 0 and 1")
    if lo >= hi:
        raise PixelsmithError(f"hole ratio {text!r}: the lower bound must be below the upper one")
    return lo, hi


def hole_ratio(mask: torch.Tensor) -> float:
    """The fraction of hole pixels (value < 0.5) of a known-mask ``(1, H, W)``, in [0, 1].

    Of a batch ``(N, 1, H, W)`` it is the fraction over all its pixels; index it for one mask's.
    """
    if not isinstance(mask, torch.Tensor) or mask.ndim < 2 or mask.numel() == 0:
        raise ValueError("mask must be a non-empty tensor (1, H, W) or (N, 1, H, W)")
    return int((mask < 0.5).sum()) / mask.numel()


def random_mask(
    height: int,
    width: int,
    generator: torch.Generator,
    ratio: tuple[float, float] | None = None,
    margin: int = 0,
    unit: float | None = None,
) -> torch.Tensor:
    """A random irregular known-mask ``(1, H, W)``, float32, 1 = known, 0 = hole.

    Strokes, ellipses and blobs, sized in proportion to ``sqrt(height * width)``, are added until
    the hole ratio (over all ``height * width`` pixels) reaches a target drawn uniformly in
    ``ratio = (lo, hi)``; a shape that would push it above ``hi`` is redrawn smaller, so the
    result always lies in ``[lo, hi]`` (if 64 shapes fall short, as a range near 1 or a margin
    that leaves little room can make them, the holes are dilated to the exact count). With ``ratio=None`` 1 to 8 shapes are drawn and the ratio
    is whatever they make. No hole pixel lies within ``margin`` pixels of the border. ``unit``
    sizes the shapes as for an image of ``unit x unit`` pixels instead (a 128 px training crop
    with ``unit=512`` gets strokes as wide as a 512 px mask's, where NVIDIA's test masks are).

    One number is drawn from ``generator`` (it seeds a NumPy generator for the rest), so the
    same generator state gives the same mask and the generator moves on by the same step.

    Raises:
        ValueError: a size below 1, a negative margin, or a ratio outside ``0 <= lo <= hi <= 1``
            or that no count of pixels inside the margin can meet.
    """
    if height < 1 or width < 1:
        raise ValueError(f"mask size must be at least 1x1, not {height}x{width}")
    if margin < 0:
        raise ValueError(f"margin must be >= 0, not {margin}")
    counts = None if ratio is None else _hole_counts(height, width, ratio, margin)
    seed = int(torch.randint(2**31, (1,), generator=generator))
    rng = np.random.default_rng(seed)
    ih, iw = max(height - 2 * margin, 0), max(width - 2 * margin, 0)
    holes = np.zeros((height, width), dtype=bool)
    if ih and iw:
        unit = math.sqrt(height * width) if unit is None else float(unit)
        holes[margin : margin + ih, margin : margin + iw] = _draw_holes(ih, iw, unit, rng, counts)
    return torch.from_numpy(~holes).float()[None]


def random_masks(
    n: int,
    size: int | tuple[int, int],
    generator: torch.Generator,
    ratios: Sequence[tuple[float, float]] = BUCKETS,
    margin: int = 0,
    unit: float | None = None,
) -> torch.Tensor:
    """``n`` random known-masks ``(n, 1, H, W)`` for a training batch.

    Each mask's range is drawn uniformly from ``ratios`` (default: the paper's :data:`BUCKETS`)
    with ``generator``, then the mask by :func:`random_mask`; ``size`` is ``(H, W)`` or one side
    of a square. The same generator state gives the same batch.
    """
    if not ratios:
        raise ValueError("ratios must name at least one (lo, hi) range")
    h, w = (size, size) if isinstance(size, int) else size
    out = torch.empty(n, 1, h, w)
    for i in range(n):
        out[i] = _mask_from(ratios, h, w, generator, margin, unit)
    return out


def nvidia_bucket(path: str | os.PathLike[str]) -> int:
    """The hole-ratio bucket (index into :data:`BUCKETS`) of an NVIDIA test mask, by its name.

    ``00000.png`` .. ``01999.png`` -> 0 (0.01-0.1), ..., ``10000.png`` .. ``11999.png`` -> 5.

    Raises:
        PixelsmithError: the name is not one of ``00000.png`` .. ``11999.png``.
    """
    number = _nvidia_number(Path(path))
    if number is None:
        raise PixelsmithError(
            "is not an NVIDIA test-mask name (00000.png .. 11999.png: the number gives the bucket)",
            path,
        )
    return number // NVIDIA_PER_BUCKET


def nvidia_masks(
    folder: str | os.PathLike[str], bucket: int | None = None, border: bool | None = None
) -> list[Path]:
    """The NVIDIA test masks (``00000.png`` .. ``11999.png``) in ``folder``, sorted by number.

    ``bucket`` keeps one hole-ratio bucket (index into :data:`BUCKETS`); ``border=False`` keeps
    the half whose holes stay :data:`NVIDIA_MARGIN` pixels from the border (numbers 0..999 of
    each bucket), ``border=True`` the half whose holes touch it (1000..1999). Other files are
    ignored. (In the 3000 masks of the shared set every hole ratio lies inside its bucket, the
    first halves keep exactly 50 pixels clear, and of the second halves all touch the border but
    8 of 250 in bucket 0 and 2 of 250 in bucket 1, which come within 36 pixels.)

    Raises:
        PixelsmithError: the folder is missing, or holds no file named like an NVIDIA test mask.
        ValueError: ``bucket`` outside 0..5.
    """
    if bucket is not None and not 0 <= bucket < len(BUCKETS):
        raise ValueError(f"bucket must be 0..{len(BUCKETS) - 1} or None, not {bucket}")
    folder = Path(folder)
    if not folder.is_dir():
        raise PixelsmithError(
            "mask folder not found" if not folder.exists() else "is not a folder", folder
        )
    numbered = [(n, p) for p in folder.iterdir() if (n := _nvidia_number(p)) is not None]
    if not numbered:
        raise PixelsmithError("holds no NVIDIA test masks (files 00000.png .. 11999.png)", folder)
    kept = [
        (n, p)
        for n, p in numbered
        if (bucket is None or n // NVIDIA_PER_BUCKET == bucket)
        and (border is None or (n % NVIDIA_PER_BUCKET >= NVIDIA_PER_BUCKET // 2) == border)
    ]
    return [p for _, p in sorted(kept)]


def read_mask(path: str | os.PathLike[str], size: tuple[int, int] | None = None) -> torch.Tensor:
    """A known-mask ``(1, H, W)`` (float32, 1 = known, 0 = hole) from an image file, white = hole.

    Any mode Pillow reads: a pixel is a hole where its luminance (BT.601 luma for colour) is
    above 127 of 255; an alpha channel is ignored. ``size=(H, W)`` resizes with nearest neighbour.

    Raises:
        PixelsmithError: the file is missing, unreadable or not an image.
    """
    from pixelsmith.color import rgb_to_grey
    from pixelsmith.io import read_image

    image, _ = read_image(path)
    grey = rgb_to_grey(image) if image.shape[0] == 3 else image
    known = (grey <= 0.5).float()
    if size is not None:
        h, w = size
        if h < 1 or w < 1:
            raise ValueError(f"size must be (H, W) with H, W >= 1, not {size}")
        if (h, w) != tuple(known.shape[-2:]):
            resize = torch.nn.functional.interpolate
            known = resize(known[None], size=(h, w), mode="nearest-exact")[0]
    return known


def mask_from_alpha(alpha: torch.Tensor) -> torch.Tensor:
    """Alpha ``(1, H, W)`` or ``(N, 1, H, W)`` in [0, 1] -> known-mask: transparent (< 0.5) = hole."""
    if not isinstance(alpha, torch.Tensor) or alpha.ndim not in (3, 4) or alpha.shape[-3] != 1:
        raise ValueError("alpha must be a tensor (1, H, W) or (N, 1, H, W)")
    if not torch.isfinite(alpha).all():
        raise ValueError("alpha has NaN or inf")
    return (alpha >= 0.5).float()


def write_masks(
    out_dir: str | os.PathLike[str],
    count: int,
    size: tuple[int, int] = (512, 512),
    ratio: tuple[float, float] | None = None,
    seed: int = 0,
    margin: int = 0,
) -> list[Path]:
    """Write ``count`` random masks as ``mask_00000.png``, ... (greyscale, 0/255, white = hole).

    Each file's mask is that of ``random_masks(count, size, torch.Generator().manual_seed(seed),
    [ratio] if ratio else BUCKETS, margin)``, made one at a time. Files are written atomically;
    every name is checked before the first is written.

    Returns:
        The paths written, in order.

    Raises:
        PixelsmithError: ``out_dir`` is missing or not a folder, one of the files exists already,
            the ratio cannot be met at this size and margin, or a write fails.
    """
    from pixelsmith.io import write_image

    out = Path(out_dir)
    if not out.is_dir():
        raise PixelsmithError(
            "output folder not found" if not out.exists() else "is not a folder", out
        )
    h, w = size
    if h < 1 or w < 1 or margin < 0:
        raise PixelsmithError(f"masks of {h}x{w} with a margin of {margin} cannot be made", out)
    ratios = BUCKETS if ratio is None else (ratio,)
    try:
        for r in ratios:
            _hole_counts(h, w, r, margin)
    except ValueError as e:
        raise PixelsmithError(str(e), out) from None
    paths = [out / f"mask_{i:05d}.png" for i in range(count)]
    for p in paths:
        if p.exists() or p.is_symlink():
            raise PixelsmithError("exists already; refusing to overwrite it", p)
    g = torch.Generator().manual_seed(seed)
    for p in paths:
        write_image(p, 1 - _mask_from(ratios, h, w, g, margin))
    return paths


def _mask_from(
    ratios: Sequence[tuple[float, float]],
    h: int,
    w: int,
    g: torch.Generator,
    margin: int,
    unit: float | None = None,
) -> torch.Tensor:
    """One mask of :func:`random_masks`: a range drawn from ``ratios``, then the mask."""
    k = int(torch.randint(len(ratios), (1,), generator=g)) if len(ratios) > 1 else 0
    return random_mask(h, w, g, tuple(ratios[k]), margin, unit)


def _nvidia_number(path: Path) -> int | None:
    """The number of an NVIDIA test-mask file name (``04000.png`` -> 4000), or ``None``."""
    match = _NVIDIA_NAME.match(path.name)
    if match is None:
        return None
    number = int(match.group(1))
    return number if number < NVIDIA_PER_BUCKET * len(BUCKETS) else None


def _hole_counts(
    height: int, width: int, ratio: tuple[float, float], margin: int
) -> tuple[int, int]:
    """The least and the most hole pixels whose ratio lies in ``ratio = (lo, hi)`` and that fit
    inside the margin; ValueError if there are none."""
    lo, hi = (float(r) for r in ratio)
    if not 0 <= lo <= hi <= 1:
        raise ValueError(f"hole ratio must satisfy 0 <= lo <= hi <= 1, not {ratio}")
    total = height * width
    c_lo = math.ceil(lo * total)
    while c_lo / total < lo:
        c_lo += 1
    while c_lo > 0 and (c_lo - 1) / total >= lo:
        c_lo -= 1
    c_hi = math.floor(hi * total)
    while c_hi / total > hi:
        c_hi -= 1
    while c_hi < total and (c_hi + 1) / total <= hi:
        c_hi += 1
    inside = max(height - 2 * margin, 0) * max(width - 2 * margin, 0)
    if c_lo > c_hi:
        raise ValueError(f"no {height}x{width} mask has a hole ratio in {lo:g}-{hi:g}")
    if c_lo > inside:
        raise ValueError(
            f"a {height}x{width} mask with a {margin}-pixel margin cannot reach a hole ratio of {lo:g}"
        )
    return c_lo, min(c_hi, inside)


def _draw_holes(
    h: int, w: int, unit: float, rng: np.random.Generator, counts: tuple[int, int] | None
) -> np.ndarray:
    """Boolean holes ``(h, w)``, shapes sized by ``unit`` pixels; ``counts`` from
    :func:`_hole_counts` (``None``: 1 to 8 shapes, whatever ratio they make)."""
    canvas = np.zeros((h, w), np.uint8)
    if counts is None:
        for _ in range(int(rng.integers(1, 9))):
            _shape(rng, h, w, unit)[1](canvas)
        return canvas > 0
    c_lo, c_hi = counts
    target = int(rng.integers(c_lo, c_hi + 1))
    size = 0.7 + 1.8 * (target / (h * w)) ** 0.75  # bigger shapes for denser holes
    area = unit * unit
    count, shrink = 0, 1.0
    for _ in range(_MAX_SHAPES):
        if count >= target:
            break
        room = (c_hi - count) / area
        scale = min(size, math.sqrt(room / 0.05)) * shrink  # a shape at scale 1 covers < 5 %
        (left, top, right, bottom), paint = _shape(rng, h, w, unit * scale)
        region = canvas[max(top, 0) : max(bottom, 0), max(left, 0) : max(right, 0)]
        if region.size == 0:
            continue
        before = region.copy()
        paint(canvas)
        added = cv2.countNonZero(region) - cv2.countNonZero(before)
        if count + added > c_hi:
            region[...] = before
            shrink *= 0.5
            if shrink < 0.5**_MAX_SHRINKS:
                break
            continue
        count, shrink = count + added, 1.0
    holes = canvas > 0
    count = int(np.count_nonzero(holes))  # exact, whatever a box missed
    if count < target:
        holes = _grow(holes, target - count, rng)
    elif count > c_hi:
        holes = ~_grow(~holes, count - c_hi, rng)
    return holes


_Box = tuple[int, int, int, int]
_SHIFT = 4  # OpenCV draws at 1/16 pixel: coordinates are passed times 16


def _shape(
    rng: np.random.Generator, h: int, w: int, s: float
) -> tuple[_Box, Callable[[np.ndarray], None]]:
    """One stroke (60 %), ellipse (25 %) or blob (15 %) of size ``s`` pixels, somewhere in an
    ``h x w`` image: its box ``(left, top, right, bottom)``, which may stick out of the image, and
    a function that paints it (255) on a ``uint8`` canvas ``(h, w)``."""
    kind = rng.random()
    if kind < 0.6:
        return _stroke(rng, h, w, s)
    if kind < 0.85:
        return _ellipse(rng, h, w, s)
    return _blob(rng, h, w, s)


def _box(xs: np.ndarray, ys: np.ndarray, pad: float) -> _Box:
    """The pixel box around points ``(xs, ys)``, ``pad`` plus 2 pixels wider on every side."""
    return (
        math.floor(xs.min() - pad) - 2,
        math.floor(ys.min() - pad) - 2,
        math.ceil(xs.max() + pad) + 3,
        math.ceil(ys.max() + pad) + 3,
    )


def _stroke(
    rng: np.random.Generator, h: int, w: int, s: float
) -> tuple[_Box, Callable[[np.ndarray], None]]:
    """A free-form brush stroke: a random walk of 5..16 vertices that bounces off the image's
    edges, drawn with round joints and ends."""
    width = max(1, round(s * rng.uniform(0.015, 0.06)))
    n = int(rng.integers(5, 17))
    u = rng.random((3, n))
    angles = 2 * math.pi * u[0, 0] + np.cumsum(1.8 * u[0] - 0.9 + np.pi * (u[1] < 0.15))
    steps = s * (0.03 + 0.09 * u[2])
    steps[0] = 0.0
    xs = _bounce(rng.uniform(0, w) + np.cumsum(steps * np.cos(angles)), w - 1.0)
    ys = _bounce(rng.uniform(0, h) + np.cumsum(steps * np.sin(angles)), h - 1.0)
    points = np.round(np.stack([xs, ys], axis=1) * 2**_SHIFT).astype(np.int32)

    def paint(canvas: np.ndarray) -> None:
        cv2.polylines(canvas, [points], False, 255, thickness=width, shift=_SHIFT)

    return _box(xs, ys, width / 2), paint


def _bounce(x: np.ndarray, top: float) -> np.ndarray:
    """``x`` folded into ``[0, top]`` as a ball bouncing between walls at 0 and ``top``."""
    if top <= 0:
        return np.zeros_like(x)
    x = np.mod(x, 2 * top)
    return top - np.abs(x - top)


def _ellipse(
    rng: np.random.Generator, h: int, w: int, s: float
) -> tuple[_Box, Callable[[np.ndarray], None]]:
    """A filled ellipse, semi-axes 0.02..0.12 of ``s``, at a random angle."""
    a, b, cx, cy, angle = rng.random(5) * (0.1 * s, 0.1 * s, w, h, 180.0)
    a, b = a + 0.02 * s, b + 0.02 * s
    one = 2**_SHIFT
    centre = (round(cx * one), round(cy * one))
    axes = (round(a * one), round(b * one))

    def paint(canvas: np.ndarray) -> None:
        cv2.ellipse(canvas, centre, axes, angle, 0, 360, 255, thickness=-1, shift=_SHIFT)

    r = max(a, b)
    return _box(np.array([cx]), np.array([cy]), r), paint


def _blob(
    rng: np.random.Generator, h: int, w: int, s: float
) -> tuple[_Box, Callable[[np.ndarray], None]]:
    """An irregular blob: smooth noise on a 5x5 grid, upsampled, under a round window, thresholded."""
    side = max(2, round(s * rng.uniform(0.08, 0.3)))
    noise = rng.standard_normal((5, 5)).astype(np.float32)
    field = cv2.resize(noise, (side, side), interpolation=cv2.INTER_CUBIC)
    r = np.linspace(-1, 1, side, dtype=np.float32) ** 2
    shape = (1 - (r[:, None] + r[None, :]) + 0.35 * field) > 0.45
    x0 = int(rng.integers(-(side // 2), w - side // 2 + 1))
    y0 = int(rng.integers(-(side // 2), h - side // 2 + 1))
    box = (x0, y0, x0 + side, y0 + side)

    def paint(canvas: np.ndarray) -> None:
        top, left = max(y0, 0), max(x0, 0)
        bottom, right = min(y0 + side, h), min(x0 + side, w)
        if bottom > top and right > left:
            patch = shape[top - y0 : bottom - y0, left - x0 : right - x0]
            canvas[top:bottom, left:right][patch] = 255

    return box, paint


def _grow(holes: np.ndarray, m: int, rng: np.random.Generator) -> np.ndarray:
    """``holes`` with exactly ``m`` more: rings of known pixels around the holes (3x3 dilations),
    the last ring only in part, at random pixels. ``m`` must not exceed the known pixels."""
    holes = holes.copy()
    if not holes.any():
        holes[int(rng.integers(holes.shape[0])), int(rng.integers(holes.shape[1]))] = True
        m -= 1
    while m > 0:
        grown = holes.copy()
        grown[1:] |= holes[:-1]
        grown[:-1] |= holes[1:]
        wide = grown.copy()
        grown[:, 1:] |= wide[:, :-1]
        grown[:, :-1] |= wide[:, 1:]
        ring = np.flatnonzero(grown & ~holes)
        if len(ring) > m:
            ring = rng.choice(ring, m, replace=False)
        holes.ravel()[ring] = True
        m -= len(ring)
    return holes
