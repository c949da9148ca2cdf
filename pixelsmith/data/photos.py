"""A folder (or several) of clean photos, held in RAM as uint8, sampled as random crops.

Sampling is *stateless*: the crops of a step are a function of ``(seed, step, rank)`` only, so a
resumed run sees exactly the batches an uninterrupted one would, with no sampler state to save.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import torch

from pixelsmith.errors import PixelsmithError
from pixelsmith.io import list_images, read_image


def step_generator(seed: int, step: int, rank: int = 0) -> torch.Generator:
    """A generator whose stream depends only on ``(seed, step, rank)``."""
    g = torch.Generator()
    g.manual_seed((seed * 1_000_003 + step) * 1_009 + rank)
    return g


class PhotoFolder:
    """Clean RGB photos from files, folders or globs, as uint8 ``(3, H, W)``.

    With ``cache`` (the default) every photo is decoded once and kept in RAM; without it only the
    paths and sizes are kept and each crop decodes its photo again (slow, for folders that do not
    fit in memory). Grey photos are replicated to three channels; photos smaller than
    ``min_size`` on either side are skipped (they cannot give a crop).
    """

    def __init__(
        self, sources: Iterable[str | Path], min_size: int = 0, cache: bool = True
    ) -> None:
        self.cache = cache
        self.paths: list[Path] = []
        self.sizes: list[tuple[int, int]] = []
        self.images: list[torch.Tensor] = []
        for p in list_images(list(sources)):
            img = _load_uint8(p)
            if min(img.shape[-2:]) < min_size:
                continue
            self.paths.append(p)
            self.sizes.append((img.shape[-2], img.shape[-1]))
            if cache:
                self.images.append(img)
        if not self.paths:
            raise PixelsmithError(
                f"no usable training images (need sides >= {min_size} px) in {sources}"
            )

    def __len__(self) -> int:
        return len(self.paths)

    @property
    def pixels(self) -> int:
        return sum(h * w for h, w in self.sizes)

    def image(self, i: int) -> torch.Tensor:
        """Photo ``i`` as uint8 ``(3, H, W)``."""
        return self.images[i] if self.cache else _load_uint8(self.paths[i])

    def random_crops(
        self, n: int, size: int, generator: torch.Generator, augment: bool = True
    ) -> torch.Tensor:
        """``n`` random ``size x size`` crops as float32 ``(n, 3, size, size)`` in [0, 1].

        Images are drawn in proportion to their area, then flipped/transposed at random (the 8
        symmetries of the square) when ``augment``.
        """
        areas = torch.tensor([h * w for h, w in self.sizes], dtype=torch.float64)
        idx = torch.multinomial(areas, n, replacement=True, generator=generator)
        out = torch.empty(n, 3, size, size, dtype=torch.uint8)
        for k, i in enumerate(idx.tolist()):
            im = self.image(i)
            h, w = im.shape[-2:]
            y = int(torch.randint(0, h - size + 1, (1,), generator=generator))
            x = int(torch.randint(0, w - size + 1, (1,), generator=generator))
            crop = im[:, y : y + size, x : x + size]
            if augment:
                flips = torch.randint(0, 2, (3,), generator=generator).tolist()
                if flips[0]:
                    crop = crop.flip(-1)
                if flips[1]:
                    crop = crop.flip(-2)
                if flips[2]:
                    crop = crop.transpose(-1, -2)
            out[k] = crop
        return out.float().div_(255)


def _load_uint8(path: Path) -> torch.Tensor:
    img, _ = read_image(path)
    if img.shape[0] == 1:
        img = img.expand(3, -1, -1)
    return (img * 255).round().to(torch.uint8).contiguous()
