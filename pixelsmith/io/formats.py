"""File formats pixelsmith knows by suffix, for reading, listing and writing."""

from __future__ import annotations

IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp", ".gif"})
"""Suffixes (lower case) that :func:`list_images` picks out of folders."""

RAW_EXTENSIONS = frozenset(
    {
        ".dng",
        ".nef",
        ".nrw",
        ".cr2",
        ".cr3",
        ".crw",
        ".arw",
        ".srf",
        ".sr2",
        ".raf",
        ".orf",
        ".rw2",
        ".pef",
        ".kdc",
        ".dcr",
        ".mrw",
        ".3fr",
        ".erf",
        ".mef",
        ".mos",
        ".x3f",
        ".srw",
        ".rwl",
        ".iiq",
    }
)
"""Suffixes of camera raw files: :func:`read_image` sends these to :func:`read_raw`."""

WRITE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".tif": "TIFF", ".tiff": "TIFF"}
"""Output suffix -> format written by :func:`write_image`."""

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
