"""Checks before decoding anything: the input file, and the pixel limit (decompression bombs)."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from PIL import Image

from ..errors import PixelsmithError
from .reasons import _os_reason

DEFAULT_MAX_PIXELS = 256_000_000
"""Largest width x height :func:`read_image` decodes; ``$PIXELSMITH_MAX_PIXELS`` overrides it."""

MAX_PIXELS_ENV = "PIXELSMITH_MAX_PIXELS"

_PIL_LIMIT_LOCK = threading.Lock()


def _check_input_file(path: Path) -> None:
    if not path.exists():
        raise PixelsmithError("file not found", path)
    if path.is_dir():
        raise PixelsmithError("is a folder, not a file", path)
    try:
        size = path.stat().st_size
    except OSError as e:
        raise PixelsmithError(f"cannot open file: {_os_reason(e)}", path) from e
    if size == 0:
        raise PixelsmithError("cannot read image: file is empty", path)


def _resolve_max_pixels(max_pixels: int | None) -> int:
    if max_pixels is None:
        env = os.environ.get(MAX_PIXELS_ENV, "").strip()
        if not env:
            return DEFAULT_MAX_PIXELS
        try:
            max_pixels = int(env.replace("_", ""))
        except ValueError:
            max_pixels = 0
        if max_pixels <= 0:
            raise PixelsmithError(f"${MAX_PIXELS_ENV} must be a positive whole number, not {env!r}")
    if max_pixels <= 0:
        raise PixelsmithError(f"max_pixels must be positive, not {max_pixels}")
    return max_pixels


def _check_pixel_limit(path: Path, size: tuple[int, int], limit: int) -> None:
    w, h = size
    if w * h > limit:
        raise PixelsmithError(
            f"image is {w}x{h} = {w * h:,} pixels, over the limit of {limit:,} "
            f"(decompression bomb guard; raise it with max_pixels= or ${MAX_PIXELS_ENV})",
            path,
        )


@contextmanager
def _pil_pixel_limit(limit: int | None) -> Iterator[None]:
    """Set Pillow's process-wide decompression-bomb limit for the duration of an ``Image.open``."""
    with _PIL_LIMIT_LOCK:
        saved = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = limit
        try:
            yield
        finally:
            Image.MAX_IMAGE_PIXELS = saved
