"""A folder (or several) of clean photos, held in RAM as uint8 or uint16, sampled as random crops.

Sampling is *stateless*: the crops of a step are a function of ``(seed, step, rank)`` only, so a
resumed run sees exactly the batches an uninterrupted one would, with no sampler state to save.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from pathlib import Path

import torch
from PIL import Image
from torch.nn import functional as F

from pixelsmith.errors import PixelsmithError
from pixelsmith.io import RAW_EXTENSIONS, list_images, read_image
from pixelsmith.io.orientation import _exif_orientation

_TRANSPOSING_ORIENTATIONS = frozenset({5, 6, 7, 8})


def step_generator(seed: int, step: int, rank: int = 0) -> torch.Generator:
    """A generator whose stream depends only on ``(seed, step, rank)``."""
    g = torch.Generator()
    g.manual_seed((seed * 1_000_003 + step) * 1_009 + rank)
    return g


class PhotoFolder:
    """Clean RGB photos from files, folders or globs, as integer ``(3, H, W)`` tensors.

    Photos stored with more than 8 bits per sample are kept as uint16 (``0..65535``), the others
    as uint8 (``0..255``). With ``cache`` (the default) every photo is decoded once and kept in
    RAM; without it only the paths and sizes are kept (sizes read from the file headers, with the
    EXIF orientation applied as :func:`~pixelsmith.io.read_image` does) and each crop decodes its
    photo again (slow, for folders that do not fit in memory). Grey photos are replicated to three
    channels; photos smaller than ``min_size`` on either side are skipped (they cannot give a crop).
    With ``short_side``, larger photos are first shrunk (MATLAB bicubic, antialiased) so that
    their shorter side is ``short_side`` (a crop then holds more of the scene; needs ``cache``).
    """

    def __init__(
        self,
        sources: Iterable[str | Path],
        min_size: int = 0,
        cache: bool = True,
        short_side: int | None = None,
    ) -> None:
        if short_side and not cache:
            raise ValueError("short_side needs cache=True (photos are shrunk once, when loaded)")
        self.cache = cache
        self.paths: list[Path] = []
        self.sizes: list[tuple[int, int]] = []
        self.images: list[torch.Tensor] = []
        for p in list_images(list(sources)):
            img = _load(p) if cache else None
            if img is not None and short_side and min(img.shape[-2:]) > short_side:
                img = _shrink(img, short_side)
            size = tuple(img.shape[-2:]) if img is not None else _header_size(p)
            if min(size) < min_size:
                continue
            self.paths.append(p)
            self.sizes.append(size)
            if img is not None:
                self.images.append(img)
        if not self.paths:
            raise PixelsmithError(
                f"no usable training images (need sides >= {min_size} px) in {sources}"
            )

    @classmethod
    def from_images(cls, images: list[torch.Tensor], paths: list[Path]) -> PhotoFolder:
        """A folder of images already decoded (integer ``(C, H, W)``, any ``C``: a low/high pair
        stacked as 6 channels is cropped alike)."""
        if not images:
            raise PixelsmithError("no usable training images")
        folder = cls.__new__(cls)
        folder.cache = True
        folder.paths = list(paths)
        folder.images = list(images)
        folder.sizes = [tuple(im.shape[-2:]) for im in images]
        return folder

    def __len__(self) -> int:
        return len(self.paths)

    def keep(self, keep) -> list[Path]:
        """Keep the photos for which ``keep(image)`` is true (``image``: integer ``(3, H, W)``);
        returns the paths dropped."""
        kept = [i for i in range(len(self)) if keep(self.image(i))]
        dropped = [p for i, p in enumerate(self.paths) if i not in set(kept)]
        self.paths = [self.paths[i] for i in kept]
        self.sizes = [self.sizes[i] for i in kept]
        if self.cache:
            self.images = [self.images[i] for i in kept]
        if not self.paths:
            raise PixelsmithError("no usable training images left after filtering")
        return dropped

    def image(self, i: int) -> torch.Tensor:
        """Photo ``i`` as uint8 or uint16 ``(3, H, W)``."""
        return self.images[i] if self.cache else _load(self.paths[i])

    def random_crops(
        self,
        n: int,
        size: int,
        generator: torch.Generator,
        augment: bool = True,
        return_index: bool = False,
        short_sides: tuple[int, int] | None = None,
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """``n`` random ``size x size`` crops as float32 ``(n, C, size, size)`` in [0, 1]; with
        ``return_index``, ``(crops, index)``: the photo each crop came from, int64 ``(n,)``.

        Images are drawn in proportion to their area, then flipped/transposed at random (the 8
        symmetries of the square) when ``augment``. With ``short_sides = (lo, hi)`` each crop
        is cut from its photo as if shrunk to a random short side in ``[lo, hi]`` (never
        enlarged): a square of ``size x short / side`` px, shrunk to ``size`` (bilinear,
        antialiased), so one photo gives crops at many scales.
        """
        areas = torch.tensor([h * w for h, w in self.sizes], dtype=torch.float64)
        idx = torch.multinomial(areas, n, replacement=True, generator=generator)
        out: list[torch.Tensor] = []
        for i in idx.tolist():
            im = self.image(i)
            h, w = im.shape[-2:]
            side = size
            if short_sides is not None:
                lo, hi = short_sides
                target = lo + (hi - lo) * float(torch.rand((), generator=generator))
                side = max(size, min(h, w, round(size * min(h, w) / target)))
            y = int(torch.randint(0, h - side + 1, (1,), generator=generator))
            x = int(torch.randint(0, w - side + 1, (1,), generator=generator))
            crop = im[:, y : y + side, x : x + side].float()
            if side != size:
                crop = F.interpolate(
                    crop[None], size=(size, size), mode="bilinear", antialias=True
                )[0].clamp_(0, _peak(im.dtype))
            if augment:
                flips = torch.randint(0, 2, (3,), generator=generator).tolist()
                if flips[0]:
                    crop = crop.flip(-1)
                if flips[1]:
                    crop = crop.flip(-2)
                if flips[2]:
                    crop = crop.transpose(-1, -2)
            out.append(crop.div_(_peak(im.dtype)))
        return (torch.stack(out), idx) if return_index else torch.stack(out)


def _shrink(img: torch.Tensor, short_side: int) -> torch.Tensor:
    from pixelsmith.resize import imresize

    h, w = img.shape[-2:]
    k = short_side / min(h, w)
    size = (max(short_side, round(h * k)), max(short_side, round(w * k)))
    peak = _peak(img.dtype)
    out = imresize(img.float() / peak, size=size).clamp_(0, 1).mul_(peak).round_()
    return out.to(img.dtype)


def _peak(dtype: torch.dtype) -> float:
    return 65535.0 if dtype == torch.uint16 else 255.0


def _load(path: Path) -> torch.Tensor:
    """Decode ``path`` to ``(3, H, W)``: uint16 when stored with more than 8 bits, else uint8."""
    img, meta = read_image(path)
    if meta.bit_depth > 8:
        img = (img * 65535).round().to(torch.uint16)
    else:
        img = (img * 255).round().to(torch.uint8)
    return img.expand(3, -1, -1).contiguous()


def _header_size(path: Path) -> tuple[int, int]:
    """``(H, W)`` of ``path`` as :func:`read_image` would return it, from the header alone.

    Camera raw files, and files Pillow cannot open (read_image then decides: another decoder, or
    its error naming the file), are decoded.
    """
    if path.suffix.lower() not in RAW_EXTENSIONS:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                with Image.open(path) as im:
                    width, height = im.size
                    orientation = _exif_orientation(im)
        except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError):
            pass
        else:
            if orientation in _TRANSPOSING_ORIENTATIONS:
                return width, height
            return height, width
    h, w = _load(path).shape[-2:]
    return h, w
