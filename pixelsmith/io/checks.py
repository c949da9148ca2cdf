"""Checks before decoding anything: the input file (a regular, non-empty file), and the pixel limit."""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from PIL import Image

from ..errors import PixelsmithError
from .reasons import _os_reason

DEFAULT_MAX_PIXELS = 256_000_000
"""Largest width x height :func:`read_image` decodes; ``$PIXELSMITH_MAX_PIXELS`` overrides it."""

MAX_PIXELS_ENV = "PIXELSMITH_MAX_PIXELS"

_PIL_LIMIT_LOCK = threading.Lock()


def _check_input_file(path: Path) -> None:
    """Refuse, before opening anything, a missing, empty or non-regular file (pipe, device...)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise PixelsmithError("file not found", path) from None
    except OSError as e:
        raise PixelsmithError(f"cannot open file: {_os_reason(e)}", path) from e
    if stat.S_ISDIR(st.st_mode):
        raise PixelsmithError("is a folder, not a file", path)
    if not stat.S_ISREG(st.st_mode):
        raise PixelsmithError(f"not a regular file ({_file_kind(st.st_mode)})", path)
    if st.st_size == 0:
        raise PixelsmithError("cannot read image: file is empty", path)


def _open_regular(path: Path) -> BinaryIO:
    """Open ``path`` for reading, refusing (without blocking) anything but a regular file.

    Opening a named pipe blocks until someone writes to it, so the file is opened non-blocking
    and checked before it is read; this also covers a file swapped after :func:`_check_input_file`.
    """
    nonblock = getattr(os, "O_NONBLOCK", 0)
    fd = os.open(path, os.O_RDONLY | nonblock | getattr(os, "O_BINARY", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = "a folder" if stat.S_ISDIR(mode) else _file_kind(mode)
            raise PixelsmithError(f"not a regular file ({kind})", path)
        if nonblock:
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _file_kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    return "not a file"


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
