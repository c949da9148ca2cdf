"""write_image: a float tensor to PNG, JPEG or TIFF (8 or 16 bits, alpha, ICC), atomically."""

from __future__ import annotations

import io
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from ..errors import PixelsmithError
from .atomic import atomic_write
from .convert import _as_chw, _quantise
from .formats import WRITE_FORMATS
from .mark import KEY, mark_text
from .meta import ImageMeta
from .png16 import _png16_bytes
from .reasons import _one_line
from .target import check_writable


def write_image(
    path: str | os.PathLike[str],
    image: torch.Tensor,
    *,
    meta: ImageMeta | None = None,
    bit_depth: int = 8,
    quality: int = 95,
    overwrite: bool = False,
    inputs: Iterable[str | os.PathLike[str]] = (),
    mark: dict[str, Any] | None = None,
) -> Path:
    """Write a ``(C, H, W)`` (or ``(1, C, H, W)``) float image in [0, 1], C in {1, 3}, atomically.

    The format comes from the suffix: ``.png``, ``.jpg``/``.jpeg`` or ``.tif``/``.tiff``. Values are
    clamped to [0, 1] and rounded to ``bit_depth`` (8, or 16 for PNG and TIFF). ``meta.alpha``,
    when present, is written as an alpha channel to PNG and TIFF and dropped for JPEG. An ICC
    profile that ``read_image`` did not convert (``meta.icc_converted`` False) is embedded again,
    so colours keep their meaning; otherwise the file is plain sRGB. ``quality`` (1..100) is JPEG's.

    The file is written to a temporary name in the same folder, flushed to disk, then renamed onto
    ``path``, so a failure never leaves a partial file. An existing file is replaced only with
    ``overwrite=True``; a file listed in ``inputs`` is never replaced without it either. These
    checks (see :func:`check_writable`) run before encoding; call that function yourself to check
    before the work that makes the image. ``mark`` (:mod:`pixelsmith.io.mark`) is stored in the
    file's text (PNG iTXt before the pixels, TIFF ImageDescription, JPEG comment).

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Raises:
        PixelsmithError: unknown suffix, bit depth the format lacks, alpha of another size,
            missing or unwritable output folder, file name too long, existing file, disk full or
            other write failure.
        ValueError, TypeError: ``image`` is not a float ``(C, H, W)`` tensor (C = 1, 3) or has NaN.
    """
    path = Path(path)
    fmt = WRITE_FORMATS.get(path.suffix.lower())
    if fmt is None:
        known = ", ".join(sorted(WRITE_FORMATS))
        raise PixelsmithError(
            f"unknown output format {path.suffix or '(no suffix)'!r} (use {known})", path
        )
    if bit_depth not in (8, 16):
        raise PixelsmithError(f"bit depth must be 8 or 16, not {bit_depth}", path)
    if fmt == "JPEG" and bit_depth != 8:
        raise PixelsmithError("JPEG holds 8 bits per channel; write .png or .tif for 16 bits", path)
    if fmt == "JPEG" and not 1 <= quality <= 100:
        raise PixelsmithError(f"JPEG quality must be 1..100, not {quality}", path)
    image = _as_chw(image)
    pixels = _quantise(image, bit_depth)
    alpha = None if meta is None else meta.alpha
    if alpha is not None and fmt != "JPEG":
        alpha = alpha.reshape(-1, *alpha.shape[-2:]) if alpha.ndim >= 2 else alpha
        if alpha.ndim != 3 or alpha.shape[0] != 1 or alpha.shape[-2:] != image.shape[-2:]:
            raise PixelsmithError(
                f"alpha is {tuple(alpha.shape)} but the image is {tuple(image.shape)}: resize "
                "meta.alpha to the image's height and width (or set it to None)",
                path,
            )
        pixels = np.concatenate([pixels, _quantise(alpha.float(), bit_depth)], axis=2)
    icc = None
    if meta is not None and meta.icc_profile and not meta.icc_converted:
        icc = meta.icc_profile if _icc_fits(meta.icc_profile, image.shape[-3]) else None
    check_writable(path, overwrite=overwrite, inputs=inputs)
    try:
        text = None if mark is None else mark_text(mark)
        data = _encode(fmt, pixels, quality=quality, icc=icc, text=text)
    except (OSError, ValueError, KeyError) as e:
        raise PixelsmithError(f"cannot encode the image as {fmt} ({_one_line(e)})", path) from e
    atomic_write(path, data, overwrite=overwrite)
    return path


def _icc_fits(icc: bytes, channels: int) -> bool:
    """Whether a profile's colour space (header bytes 16..20) is that of the image written: a
    grey input's profile does not describe its colorized result."""
    space = icc[16:20]
    if space == b"GRAY":
        return channels == 1
    if space == b"RGB ":
        return channels == 3
    return True


def _encode(
    fmt: str, pixels: np.ndarray, *, quality: int, icc: bytes | None, text: str | None = None
) -> bytes:
    """``(H, W, C)`` uint8/uint16 pixels, C in 1..4 (grey, grey+alpha, RGB, RGBA) -> file bytes,
    with the mark's ``text`` where the format keeps text."""
    channels = pixels.shape[2]
    if fmt == "JPEG":
        pixels = pixels[..., :1] if channels <= 2 else pixels[..., :3]
        channels = pixels.shape[2]
    buf = io.BytesIO()
    if pixels.dtype == np.uint16 and fmt == "PNG":
        return _png16_bytes(pixels, icc, {KEY: text} if text else None)
    if pixels.dtype == np.uint16 and fmt == "TIFF":
        import tifffile  # comes with scikit-image; Pillow cannot write 16-bit colour

        tifffile.imwrite(
            buf,
            pixels[..., 0] if channels == 1 else pixels,
            photometric="minisblack" if channels <= 2 else "rgb",
            extrasamples=["unassalpha"] if channels in (2, 4) else None,
            compression="zlib",
            predictor=True,
            iccprofile=icc,
            description=text,
            metadata=None,
        )
        return buf.getvalue()
    mode = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}[channels]
    im = Image.fromarray(pixels[..., 0] if channels == 1 else pixels)
    if im.mode != mode:  # pragma: no cover - Pillow infers the mode from the shape
        im = im.convert(mode)
    options: dict[str, Any] = {}
    if icc:
        options["icc_profile"] = icc
    if fmt == "JPEG":
        options.update(quality=quality, optimize=True, subsampling=0 if quality >= 90 else 2)
        if text:
            options["comment"] = text.encode("utf-8")
    elif fmt == "TIFF":
        options.update(compression="tiff_adobe_deflate")
        if text:
            options["description"] = text
    elif text:
        from PIL.PngImagePlugin import PngInfo

        info = PngInfo()
        info.add_itxt(KEY, text, zip=False)
        options["pnginfo"] = info
    im.save(buf, format=fmt, **options)
    return buf.getvalue()
