"""Uploads: byte and pixel limits, content sniffing, and names the server chooses.

An upload is copied to a file the server names (``input.png`` in the job's own folder), counting
bytes as it goes; its format is read from its content (a file called ``.png`` that is not an image
is refused, a JPEG called ``.png`` is stored as ``.jpg``), and its size from its header before any
pixel is decoded. The client's file name is only ever shown back (:func:`display_name`); it never
reaches the file system.
"""

from __future__ import annotations

import re
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from pixelsmith.errors import PixelsmithError

#: Bytes copied per read.
CHUNK = 1 << 20


class UploadError(PixelsmithError):
    """An upload refused, with the HTTP status that says why (400, 413 too large, 415 not an
    image)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Limits:
    """What one upload may be: ``max_bytes`` per file, ``max_pixels`` width x height."""

    max_bytes: int = 25 * 2**20
    max_pixels: int = 40_000_000

    def __post_init__(self) -> None:
        if self.max_bytes <= 0 or self.max_pixels <= 0:
            raise ValueError(f"upload limits must be positive, not {self}")


@dataclass(frozen=True)
class Upload:
    """A stored upload: its file (server-named), format and size ``(width, height)``."""

    path: Path
    format: str
    size: tuple[int, int]
    name: str  # the client's file name, cleaned, for messages and the download's name


def readable_formats() -> dict[str, str]:
    """Pillow format -> the suffix pixelsmith reads it by (``{"PNG": ".png", "JPEG": ".jpg"}``)."""
    from PIL import Image

    from pixelsmith.io import IMAGE_EXTENSIONS

    Image.init()
    formats: dict[str, str] = {}
    for ext, fmt in sorted(Image.registered_extensions().items()):
        if ext in IMAGE_EXTENSIONS:
            formats.setdefault(fmt, ".jpg" if fmt == "JPEG" else ext)
    formats.setdefault("MPO", ".jpg")  # a camera JPEG with a preview frame
    return formats


def display_name(filename: str | None, default: str = "image") -> str:
    """The client's file name as text to show: its last part, safe characters only, short."""
    base = re.split(r"[\\/]", filename or "")[-1]
    clean = re.sub(r"[^\w.\- ]", "_", base).strip(" .")[:80]
    return clean or default


def save_upload(source: BinaryIO, folder: Path, stem: str, name: str, limits: Limits) -> Upload:
    """Copy ``source`` to ``folder/<stem><suffix of its real format>`` within ``limits``.

    Raises :class:`UploadError` (the partial copy removed) for an empty file, more than
    ``limits.max_bytes``, something that is not an image pixelsmith reads, or an image over
    ``limits.max_pixels``.
    """
    raw = folder / f"{stem}.upload"
    try:
        copied = 0
        with open(raw, "xb") as out:
            while chunk := source.read(CHUNK):
                copied += len(chunk)
                if copied > limits.max_bytes:
                    raise UploadError(
                        f"{name} is over the upload limit of {_megabytes(limits.max_bytes)}", 413
                    )
                out.write(chunk)
        if copied == 0:
            raise UploadError(f"{name} is empty", 400)
        fmt, size = sniff(raw, name, limits.max_pixels)
        path = raw.with_suffix(RAW_SUFFIX if fmt == RAW_FORMAT else readable_formats()[fmt])
        raw.rename(path)
    except BaseException:
        raw.unlink(missing_ok=True)
        raise
    return Upload(path, fmt, size, name)


#: The format name of a camera raw upload, and the suffix it is stored with (LibRaw reads a raw
#: file by its content, not its name).
RAW_FORMAT, RAW_SUFFIX = "RAW", ".raw"
#: Formats a browser shows as they are; another upload gets a "before" image made by the server.
BROWSER_FORMATS = frozenset({"PNG", "JPEG", "MPO", "GIF", "WEBP", "BMP"})


def sniff(path: Path, name: str, max_pixels: int) -> tuple[str, tuple[int, int]]:
    """``(format, (width, height))`` of an upload, from its content: a camera raw file LibRaw
    reads (:func:`sniff_raw`, format :data:`RAW_FORMAT`; many are TIFF files to Pillow), else an
    image Pillow reads (:func:`sniff_image`); :class:`UploadError` when it is neither or has
    too many pixels."""
    try:
        fmt, size = sniff_image(path, name, max_pixels)
        if fmt == "TIFF":  # many raw formats (DNG, NEF, KDC...) are TIFF inside: LibRaw decides
            try:
                return RAW_FORMAT, sniff_raw(path, name, max_pixels)
            except UploadError as e:
                if e.status != 415:
                    raise
        return fmt, size
    except UploadError as not_image:
        if not_image.status != 415:
            raise
        try:
            return RAW_FORMAT, sniff_raw(path, name, max_pixels)
        except UploadError as e:
            if e.status != 415:
                raise
        raise not_image from None


def sniff_raw(path: Path, name: str, max_pixels: int) -> tuple[int, int]:
    """The sensor size ``(width, height)`` of a camera raw file from its header (LibRaw opens
    it without unpacking the pixels); :class:`UploadError` 415 when LibRaw does not read it,
    413 when it has too many pixels."""
    import rawpy

    raw = rawpy.RawPy()
    try:
        raw.open_file(str(path))
        sizes = raw.sizes
        w, h = int(sizes.raw_width), int(sizes.raw_height)
    except (rawpy.LibRawError, OSError, ValueError):
        raise UploadError(f"{name} is not a camera raw file LibRaw reads", 415) from None
    finally:
        raw.close()
    if w * h > max_pixels:
        raise UploadError(
            f"{name} is {w}x{h} = {w * h:,} pixels, over this server's limit of {max_pixels:,}",
            413,
        )
    return w, h


def sniff_image(path: Path, name: str, max_pixels: int) -> tuple[str, tuple[int, int]]:
    """``(Pillow format, (width, height))`` of the image file ``path`` from its header alone;
    :class:`UploadError` when it is not an image pixelsmith reads or has too many pixels."""
    from PIL import Image, UnidentifiedImageError

    formats = readable_formats()
    kinds = "PNG, JPEG, TIFF, BMP, WebP, GIF or a camera raw file"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                fmt, size = im.format or "", im.size
    except Image.DecompressionBombError:
        raise UploadError(f"{name} has too many pixels to decode safely", 413) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
        raise UploadError(f"{name} is not an image file ({kinds})", 415) from None
    if fmt not in formats:
        raise UploadError(f"{name} is a {fmt or 'unknown'} file; the page takes {kinds}", 415)
    w, h = size
    if w * h > max_pixels:
        raise UploadError(
            f"{name} is {w}x{h} = {w * h:,} pixels, over this server's limit of {max_pixels:,}",
            413,
        )
    return fmt, size


def remove_folder(folder: Path) -> None:
    """Remove a job's folder and what is in it (nothing else: it is one the server made)."""
    shutil.rmtree(folder, ignore_errors=True)


def _megabytes(n: int) -> str:
    return f"{n / 2**20:g} MB"
