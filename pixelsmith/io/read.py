"""read_image: any image file Pillow (or tifffile) reads, as a float tensor and its metadata."""

from __future__ import annotations

import os
import struct
import warnings
import zlib
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import torch
from PIL import Image, ImageCms, ImageFile, UnidentifiedImageError

from ..errors import PixelsmithError
from .checks import (
    _check_input_file,
    _check_pixel_limit,
    _open_regular,
    _pil_pixel_limit,
    _resolve_max_pixels,
)
from .convert import _float_unit, _squeeze_grey, _to_chw_float
from .formats import _PNG_SIGNATURE, RAW_EXTENSIONS
from .icc import _icc_to_srgb, _is_srgb, _srgb
from .meta import ImageMeta
from .orientation import _exif_orientation, _orient
from .reasons import _one_line, _os_reason
from .tiff_fallback import _is_planar_deep_tiff, _read_tiff_fallback
from .wide import _load_wide, _wide_rawmode


class FirstFrameOnlyWarning(UserWarning):
    """:func:`read_image` read only the first frame of an animated (GIF, WebP, PNG) or multi-page
    (TIFF) file; the others are dropped. Silence it with ``warnings.simplefilter("ignore", ...)``."""


# more than one frame, but the others are not pictures of their own: MPO is a JPEG with a preview
_STILL_FORMATS = frozenset({"MPO"})


def read_image(
    path: str | os.PathLike[str], *, max_pixels: int | None = None
) -> tuple[torch.Tensor, ImageMeta]:
    """Read an image file as a ``(C, H, W)`` float32 tensor in [0, 1], sRGB, and its metadata.

    Reads PNG, JPEG, TIFF, BMP, WebP and GIF, 8 and 16 bits per sample (16-bit values
    are kept at full precision, including 16-bit RGB/RGBA PNG and TIFF). ``C`` is 1 for grey files
    and 3 otherwise: palette, CMYK, and grey/colour with alpha become grey or RGB, and alpha goes to
    ``meta.alpha``. The EXIF orientation is applied, and an embedded ICC profile other than sRGB is
    converted to sRGB (8-bit images; 16-bit colour keeps its values, ``meta.icc_converted`` False).

    ``max_pixels`` (default ``$PIXELSMITH_MAX_PIXELS`` or :data:`DEFAULT_MAX_PIXELS`) bounds
    width x height, checked from the header before any pixel is decoded.

    Of an animated or multi-page file only the first frame is read (``meta.n_frames`` counts
    them), with a :class:`FirstFrameOnlyWarning`.

    Raises:
        PixelsmithError: missing, empty, unreadable, corrupt or truncated file, not an image, a
            camera raw file (use :func:`read_raw`), or an image over the pixel limit.
    """
    path = Path(path)
    _check_input_file(path)
    if path.suffix.lower() in RAW_EXTENSIONS:
        raise PixelsmithError("is a camera raw file; read it with read_raw() instead", path)
    limit = _resolve_max_pixels(max_pixels)
    try:
        f = _open_regular(path)  # closed below; Pillow reads lazily from it
    except OSError as e:
        raise PixelsmithError(f"cannot open file: {_os_reason(e)}", path) from e
    try:
        with f:
            image, meta = _read_open_file(path, f, limit)
    except PixelsmithError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise PixelsmithError(
            f"image is too large to decode safely ({_one_line(e)}); decompression bomb guard", path
        ) from e
    except (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error) as e:
        if ImageFile.LOAD_TRUNCATED_IMAGES:  # pragma: no cover - someone changed Pillow's global
            warnings.warn("PIL.ImageFile.LOAD_TRUNCATED_IMAGES is True", stacklevel=2)
        raise PixelsmithError(f"image data is truncated or corrupt ({_one_line(e)})", path) from e
    except (MemoryError, RuntimeError):  # out of memory (torch's is a RuntimeError): not the file
        raise
    except Exception as e:  # noqa: BLE001 - a decoder fed corrupt data can raise anything
        raise PixelsmithError(
            f"image data is corrupt ({type(e).__name__}: {_one_line(e)})", path
        ) from e
    if meta.n_frames > 1 and meta.format not in _STILL_FORMATS:
        n = meta.n_frames
        what = (
            f"multi-page image with {n} pages"
            if meta.format == "TIFF"
            else f"animated image with {n} frames"
        )
        warnings.warn(
            f"{path}: {what}; only the first is used",
            FirstFrameOnlyWarning,
            stacklevel=2,
        )
    return image, meta


def _read_open_file(path: Path, f: BinaryIO, limit: int) -> tuple[torch.Tensor, ImageMeta]:
    try:
        with _pil_pixel_limit(None):  # our own check below, with our limit and a clearer message
            im = Image.open(f)
    except UnidentifiedImageError as e:
        if path.suffix.lower() in (".tif", ".tiff"):
            return _read_tiff_fallback(path, limit, e)
        raise PixelsmithError("not an image file (or an unsupported format)", path) from e
    with im:
        _check_pixel_limit(path, im.size, limit)
        if _is_planar_deep_tiff(im):  # Pillow misreads these; tifffile does not
            return _read_tiff_fallback(path, limit, None)
        fmt, mode, size = im.format or "?", im.mode, im.size
        icc = im.info.get("icc_profile") or None
        bit_depth = _stored_bit_depth(im, f)
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            n_frames = int(getattr(im, "n_frames", 1))
            colour, alpha, icc_converted = _decode(path, im, icc)
        orientation = _exif_orientation(im)
    colour = _orient(colour, orientation)
    alpha = None if alpha is None else _orient(alpha, orientation)
    image = _to_chw_float(colour)
    meta = ImageMeta(
        path=path,
        format=fmt,
        mode=mode,
        bit_depth=bit_depth,
        size=size,
        channels=image.shape[0],
        alpha=None if alpha is None else _to_chw_float(alpha),
        icc_profile=icc,
        icc_converted=icc_converted,
        orientation=orientation,
        orientation_applied=orientation != 1,
        n_frames=n_frames,
    )
    return image, meta


def _decode(path: Path, im: Image.Image, icc: bytes | None) -> tuple[np.ndarray, Any, bool]:
    """Decode ``im`` to ``(colour HxW[x3], alpha HxW or None, icc_converted)`` numpy arrays."""
    wide = _wide_rawmode(im)
    if wide is not None:
        try:
            arr = _load_wide(path, im, wide)
        except Exception:  # Pillow internals differ, or corrupt data: the plain load below decides
            arr = None
        if arr is not None:
            n = arr.shape[2]
            colour = arr[..., : 1 if n == 2 else 3]
            if n in (2, 4):
                alpha = arr[..., -1]
            else:
                alpha = _key_alpha(colour, im.info.get("transparency"))
            if icc is not None and not _is_srgb(icc):
                warnings.warn(
                    f"{path}: 16-bit colour with an ICC profile is read without colour conversion",
                    stacklevel=4,
                )
            return _squeeze_grey(colour), alpha, False
    im.load()
    if wide is not None:
        warnings.warn(f"{path}: 16-bit colour read at 8 bits per channel", stacklevel=4)
    return _pil_to_arrays(path, im, icc)


def _pil_to_arrays(path: Path, im: Image.Image, icc: bytes | None) -> tuple[np.ndarray, Any, bool]:
    """A loaded Pillow image -> ``(colour, alpha or None, icc_converted)``; colour HxW or HxWx3."""
    mode = im.mode
    if mode in ("P", "PA"):
        has_alpha = mode == "PA" or "transparency" in im.info
        im = im.convert("RGBA" if has_alpha else "RGB")
    elif mode == "1":
        im = im.convert("L")
    elif mode == "La":
        im = im.convert("LA")
    elif mode in ("RGBa", "RGBX"):
        im = im.convert("RGBA" if mode == "RGBa" else "RGB")
    elif mode in ("YCbCr", "HSV"):
        im = im.convert("RGB")
    elif mode == "LAB":
        im = ImageCms.profileToProfile(im, ImageCms.createProfile("LAB"), _srgb(), outputMode="RGB")
    alpha = None
    if im.mode in ("LA", "RGBA"):
        alpha = np.asarray(im.getchannel("A"))
        im = im.convert("L" if im.mode == "LA" else "RGB")
    elif "transparency" in im.info:
        alpha = _key_alpha(_pixels(path, im), im.info["transparency"])
    icc_converted = False
    if icc is not None and im.mode in ("L", "RGB", "CMYK") and not _is_srgb(icc):
        converted = _icc_to_srgb(path, im, icc)
        if converted is not None:
            im, icc_converted = converted, True
    if im.mode == "CMYK":
        im = im.convert("RGB")
    if im.mode not in ("L", "RGB", "I", "F") and not im.mode.startswith("I;16"):
        raise PixelsmithError(f"unsupported image mode {im.mode}", path)
    return _pixels(path, im), alpha, icc_converted


def _pixels(path: Path, im: Image.Image) -> np.ndarray:
    """Pixels of an L/RGB/I;16/I/F image: uint8, uint16 (``I`` clipped) or float32 in [0, 1]
    (``F`` outside it refused)."""
    arr = np.asarray(im)
    if im.mode == "I":
        return np.clip(arr, 0, 65535).astype(np.uint16)
    if im.mode == "F":
        return _float_unit(arr, path)
    return arr


def _key_alpha(colour: np.ndarray, key: Any) -> np.ndarray | None:
    """Alpha from a colour key (PNG ``tRNS``, grey/RGB): opaque except where ``colour == key``."""
    if key is None or isinstance(key, bytes) or colour.dtype.kind not in "ui":
        return None
    c = colour if colour.ndim == 3 else colour[:, :, None]
    key_arr = np.asarray(key if isinstance(key, tuple) else (key,) * c.shape[2])
    if key_arr.shape != (c.shape[2],):
        return None
    peak = np.iinfo(c.dtype).max
    return np.where(np.all(c == key_arr, axis=2), 0, peak).astype(c.dtype)


def _stored_bit_depth(im: Image.Image, f: BinaryIO) -> int:
    if im.format == "PNG":
        pos = f.tell()
        f.seek(0)
        head = f.read(26)
        f.seek(pos)
        if len(head) == 26 and head.startswith(_PNG_SIGNATURE):
            return head[24]
    if im.format == "TIFF":
        bits = getattr(im, "tag_v2", {}).get(258)
        if bits:
            return int(max(bits) if isinstance(bits, tuple) else bits)
    if im.mode == "1":
        return 1
    if im.mode.startswith("I;16"):
        return 16
    return 32 if im.mode in ("I", "F") else 8
