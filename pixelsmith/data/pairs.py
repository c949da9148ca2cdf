"""Folders of aligned image pairs: ``DIR/low/NAME`` and ``DIR/high/NAME`` (the LOL layout).

A low-light pair is an under-exposed photo and the well-exposed photo of the same scene; the same
layout serves any paired task (``low`` the degraded input, ``high`` the target). ``DIR@train`` and
``DIR@val`` split the pairs by file name, as :mod:`pixelsmith.data.split` splits photos.
"""

from __future__ import annotations

from pathlib import Path

import torch

from pixelsmith.errors import PixelsmithError

LOW, HIGH = "low", "high"


def is_pair_folder(path: str | Path) -> bool:
    """Whether ``path`` (``DIR``, ``DIR@train``, ``DIR@val``) is a folder of pairs."""
    from pixelsmith.data.split import split_source

    p = Path(split_source(str(path))[0])
    return (p / LOW).is_dir() and (p / HIGH).is_dir()


def list_pairs(root: str | Path) -> list[tuple[Path, Path]]:
    """``[(low, high), ...]`` of ``root``, matched by file name, sorted.

    Raises:
        PixelsmithError: ``root`` has no ``low/`` and ``high/``, no pairs, or a file on one side
            only (a half pair is a mistake worth hearing about, not a file to skip).
    """
    from pixelsmith.data.split import in_part, split_source
    from pixelsmith.io import list_images

    base, part = split_source(str(root))
    root = Path(base)
    if not is_pair_folder(root):
        raise PixelsmithError(f"a folder of pairs holds {LOW}/ and {HIGH}/", root)
    low = {p.name: p for p in list_images([root / LOW])}
    high = {p.name: p for p in list_images([root / HIGH])}
    if set(low) != set(high):
        odd = sorted(set(low) ^ set(high))
        raise PixelsmithError(f"files without their pair: {', '.join(odd[:5])}", root)
    names = [n for n in sorted(low) if part is None or in_part(n, part)]
    return [(low[n], high[n]) for n in names]


def read_pair(low: Path, high: Path) -> tuple[torch.Tensor, torch.Tensor]:
    """Both images as float32 RGB ``(3, H, W)`` in [0, 1], checked to be the same size."""
    from pixelsmith.io import read_image

    a, _ = read_image(low)
    b, _ = read_image(high)
    a, b = a.expand(3, -1, -1), b.expand(3, -1, -1)
    if a.shape != b.shape:
        raise PixelsmithError(
            f"the pair differs in size ({tuple(a.shape[-2:])} vs {tuple(b.shape[-2:])})", low
        )
    return a.contiguous(), b.contiguous()


def load_pairs(root: str | Path, min_size: int = 0):
    """The pairs of ``root`` as a :class:`~pixelsmith.data.photos.PhotoFolder` of 6-channel
    uint8 images (low RGB, then high RGB), so that random crops cut both alike."""
    from pixelsmith.data.photos import PhotoFolder

    images, paths = [], []
    for low, high in list_pairs(root):
        a, b = read_pair(low, high)
        if min(a.shape[-2:]) < min_size:
            continue
        images.append((torch.cat([a, b]) * 255).round().to(torch.uint8))
        paths.append(low)
    return PhotoFolder.from_images(images, paths)
