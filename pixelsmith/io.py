"""Read and write images and camera raw files: the one place in pixelsmith that knows file formats.

Everything returned here is a float32 tensor in [0, 1], sRGB, laid out ``C x H x W`` with
``C = 1`` (grey) or ``C = 3`` (colour); alpha travels beside the pixels in :class:`ImageMeta` and
is put back on write. Raw camera files give the undemosaiced Bayer mosaic as an ``H x W`` tensor of
sensor values.

Every problem with the user's files (missing, empty, corrupt, too large, unwritable folder,
refusing to overwrite) raises :class:`~pixelsmith.errors.PixelsmithError` with a one-line message
naming the file.
Misuse by the calling code (a tensor of the wrong shape) raises ``ValueError``/``TypeError``.
"""

from __future__ import annotations

import errno
import functools
import glob
import io
import os
import struct
import sys
import tempfile
import threading
import warnings
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import torch
from PIL import Image, ImageCms, ImageFile, UnidentifiedImageError

from .errors import PixelsmithError

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "IMAGE_EXTENSIONS",
    "RAW_EXTENSIONS",
    "WRITE_FORMATS",
    "ImageMeta",
    "RawImage",
    "from_uint8",
    "list_images",
    "read_image",
    "read_raw",
    "to_uint8",
    "write_image",
]

DEFAULT_MAX_PIXELS = 256_000_000
"""Largest width x height :func:`read_image` decodes; ``$PIXELSMITH_MAX_PIXELS`` overrides it."""

MAX_PIXELS_ENV = "PIXELSMITH_MAX_PIXELS"

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

_ORIENTATION_TAG = 0x0112
_ICC_TAG = 34675
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Pillow decodes these 16-bit colour layouts to 8 bits; _load_wide reads them at full depth.
_WIDE_RAWMODES = frozenset(
    {"RGB;16B", "RGB;16L", "RGB;16N", "RGBA;16B", "RGBA;16L", "RGBA;16N", "LA;16B"}
)
_PIL_LIMIT_LOCK = threading.Lock()


# --------------------------------------------------------------------------------------------------
# Metadata


@dataclass
class ImageMeta:
    """What :func:`read_image` learned about a file besides its pixels.

    ``alpha`` is ``(1, H, W)`` float32 in [0, 1] with the same orientation as the returned image, or
    ``None``; :func:`write_image` writes it back to formats that hold alpha (PNG, TIFF).
    """

    path: Path
    format: str
    """Pillow's format name: ``"PNG"``, ``"JPEG"``, ``"TIFF"``, ``"BMP"``, ``"WEBP"``, ``"GIF"``."""
    mode: str
    """Pillow's mode as stored (``"L"``, ``"RGB"``, ``"P"``, ``"CMYK"``, ``"I;16"``, ...)."""
    bit_depth: int
    """Bits per sample as stored in the file (1, 2, 4, 8, 16 or 32)."""
    size: tuple[int, int]
    """``(width, height)`` as stored, before the EXIF orientation is applied."""
    channels: int
    """Channels of the returned tensor: 1 (grey) or 3 (colour)."""
    alpha: torch.Tensor | None = None
    icc_profile: bytes | None = None
    """The embedded ICC profile, as found in the file."""
    icc_converted: bool = False
    """True when the pixels were converted from ``icc_profile`` to sRGB."""
    orientation: int = 1
    """EXIF orientation tag found in the file (1 = upright)."""
    orientation_applied: bool = False
    n_frames: int = 1
    """Frames in the file (GIF, multi-page TIFF); only the first is read."""


@dataclass
class RawImage:
    """A camera raw file's Bayer mosaic and the numbers needed to develop it.

    ``bayer`` is ``(H, W)`` float32 holding the sensor values as recorded (``black_level`` ..
    ``white_level``, not normalised); :meth:`normalised` maps them to [0, 1].
    ``cfa_pattern[i, j]`` is the colour index (into ``cfa_desc``) of pixel ``(i, j)`` of ``bayer``,
    repeating every 2 pixels.
    """

    path: Path
    bayer: torch.Tensor
    cfa_pattern: np.ndarray
    """``(2, 2)`` int: colour index per position, as LibRaw's ``raw_pattern``."""
    cfa_desc: str
    """Colour names for the indices, e.g. ``"RGBG"`` (index 3 is the second green)."""
    pattern_string: str
    """The 2x2 top-left colours read row by row, e.g. ``"RGGB"``."""
    black_level_per_channel: list[int]
    """Black level per colour index (0..3)."""
    black_level: float
    """Mean of ``black_level_per_channel``."""
    white_level: int
    camera_wb: list[float]
    """As-shot white-balance multipliers per colour index (LibRaw ``cam_mul``)."""
    daylight_wb: list[float]
    rgb_xyz_matrix: np.ndarray
    """``(4, 3)`` camera-from-XYZ matrix (LibRaw ``cam_xyz``); zeros when the file has none."""
    color_matrix: np.ndarray
    """``(3, 4)`` camera-to-sRGB matrix (LibRaw ``rgb_cam``)."""
    raw_type: str
    """LibRaw's raw type: always ``"Flat"`` here (stacked files are refused)."""
    flip: int = 0
    """LibRaw orientation code (0 none, 3 rotate 180, 5 rotate 90 CCW, 6 rotate 90 CW)."""
    crop: tuple[int, int, int, int] | None = None
    """Default crop ``(top, left, height, width)`` recorded in the file, or ``None``."""

    @property
    def black_map(self) -> torch.Tensor:
        """``(H, W)`` float32 black level of each pixel, from its colour."""
        h, w = self.bayer.shape
        tile = torch.tensor(
            [[float(self.black_level_per_channel[int(c)]) for c in row] for row in self.cfa_pattern]
        )
        return tile.repeat((h + 1) // 2, (w + 1) // 2)[:h, :w]

    def normalised(self) -> torch.Tensor:
        """``(bayer - black) / (white - black)`` clipped to [0, 1]: ``(H, W)`` float32."""
        black = self.black_map
        scale = (float(self.white_level) - black).clamp_min(1.0)
        return ((self.bayer - black) / scale).clamp_(0.0, 1.0)


# --------------------------------------------------------------------------------------------------
# Small conversions


def to_uint8(image: torch.Tensor) -> np.ndarray:
    """``(C, H, W)`` float in [0, 1] -> ``(H, W, C)`` uint8 (``(H, W)`` if C = 1), rounded."""
    arr = _quantise(_as_chw(image), 8)
    return arr[..., 0] if arr.shape[2] == 1 else arr


def from_uint8(array: np.ndarray) -> torch.Tensor:
    """``(H, W)`` or ``(H, W, C)`` uint8 -> ``(C, H, W)`` float32 in [0, 1]."""
    array = np.asarray(array)
    if array.dtype != np.uint8:
        raise TypeError(f"expected a uint8 array, got {array.dtype}")
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3:
        raise ValueError(f"expected an (H, W) or (H, W, C) array, got shape {array.shape}")
    return torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1))).float().div_(255.0)


def _as_chw(image: torch.Tensor) -> torch.Tensor:
    """Check ``image`` is float ``(C, H, W)`` or ``(1, C, H, W)``, C in {1, 3}; -> ``(C, H, W)``."""
    if not isinstance(image, torch.Tensor):
        raise TypeError(f"expected a torch.Tensor, got {type(image).__name__}")
    if image.ndim == 4 and image.shape[0] == 1:
        image = image[0]
    if image.ndim != 3 or image.shape[0] not in (1, 3):
        raise ValueError(
            f"expected a (C, H, W) image with C = 1 or 3, got shape {tuple(image.shape)}"
        )
    if not image.is_floating_point():
        raise TypeError(f"expected a floating-point image in [0, 1], got {image.dtype}")
    if image.shape[1] == 0 or image.shape[2] == 0:
        raise ValueError(f"image is empty: shape {tuple(image.shape)}")
    return image


def _quantise(image: torch.Tensor, bit_depth: int) -> np.ndarray:
    """``(C, H, W)`` float in [0, 1] -> ``(H, W, C)`` uint8/uint16; clamped, round half to even."""
    t = image.detach().to("cpu", torch.float32, copy=True)
    if torch.isnan(t).any():
        raise ValueError("image contains NaN")
    t.clamp_(0.0, 1.0).mul_((1 << bit_depth) - 1).round_()
    arr = t.numpy().transpose(1, 2, 0)
    return np.ascontiguousarray(arr.astype(np.uint8 if bit_depth == 8 else np.uint16))


# --------------------------------------------------------------------------------------------------
# Reading


def read_image(
    path: str | os.PathLike[str], *, max_pixels: int | None = None
) -> tuple[torch.Tensor, ImageMeta]:
    """Read an image file as a ``(C, H, W)`` float32 tensor in [0, 1], sRGB, and its metadata.

    Reads PNG, JPEG, TIFF, BMP, WebP and GIF (first frame), 8 and 16 bits per sample (16-bit values
    are kept at full precision, including 16-bit RGB/RGBA PNG and TIFF). ``C`` is 1 for grey files
    and 3 otherwise: palette, CMYK, and grey/colour with alpha become grey or RGB, and alpha goes to
    ``meta.alpha``. The EXIF orientation is applied, and an embedded ICC profile other than sRGB is
    converted to sRGB (8-bit images; 16-bit colour keeps its values, ``meta.icc_converted`` False).

    ``max_pixels`` (default ``$PIXELSMITH_MAX_PIXELS`` or :data:`DEFAULT_MAX_PIXELS`) bounds
    width x height, checked from the header before any pixel is decoded.

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
        f = open(path, "rb")  # noqa: SIM115 - closed below; Pillow reads lazily from it
    except OSError as e:
        raise PixelsmithError(f"cannot open file: {_os_reason(e)}", path) from e
    try:
        with f:
            return _read_open_file(path, f, limit)
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
        alpha = _key_alpha(_pixels(im), im.info["transparency"])
    icc_converted = False
    if icc is not None and im.mode in ("L", "RGB", "CMYK") and not _is_srgb(icc):
        converted = _icc_to_srgb(path, im, icc)
        if converted is not None:
            im, icc_converted = converted, True
    if im.mode == "CMYK":
        im = im.convert("RGB")
    if im.mode not in ("L", "RGB", "I", "F") and not im.mode.startswith("I;16"):
        raise PixelsmithError(f"unsupported image mode {im.mode}", path)
    return _pixels(im), alpha, icc_converted


def _pixels(im: Image.Image) -> np.ndarray:
    """Pixels of an L/RGB/I;16/I/F image: uint8, uint16 (``I`` clipped) or float32 in [0, 1]."""
    arr = np.asarray(im)
    if im.mode == "I":
        return np.clip(arr, 0, 65535).astype(np.uint16)
    if im.mode == "F":
        return np.clip(np.nan_to_num(arr), 0.0, 1.0).astype(np.float32)
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


def _squeeze_grey(colour: np.ndarray) -> np.ndarray:
    return colour[..., 0] if colour.ndim == 3 and colour.shape[2] == 1 else colour


def _to_chw_float(arr: np.ndarray) -> torch.Tensor:
    """HxW or HxWxC uint8/uint16/float array -> ``(C, H, W)`` float32 in [0, 1]."""
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.dtype == np.uint8:
        scale = 255.0
    elif arr.dtype == np.uint16:
        scale = 65535.0
    else:
        scale = 1.0
    out = torch.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1)).astype(np.float32))
    return out.div_(scale) if scale != 1.0 else out


def _wide_rawmode(im: Image.Image) -> str | None:
    """The rawmode of a 16-bit colour PNG/TIFF that Pillow would reduce to 8 bits, else None."""
    if im.format not in ("PNG", "TIFF") or not im.tile:
        return None
    modes = {t.args if isinstance(t.args, str) else t.args[0] for t in im.tile}
    if len(modes) != 1:
        return None
    mode = modes.pop()
    return mode if mode in _WIDE_RAWMODES else None


def _load_wide(path: Path, im: Image.Image, rawmode: str) -> np.ndarray:
    """Decode a 16-bit colour PNG/TIFF to ``(H, W, C)`` uint16 with Pillow's own decoders.

    Pillow's unpackers for 48/64-bit pixels keep only the high byte of each sample. Decoding
    twice, once with the file's rawmode (high bytes) and once with the opposite byte order (low
    bytes), recovers every bit; both rawmodes have the same bits per pixel, so PNG filtering, TIFF
    strips and compression are undone identically. 16-bit grey+alpha PNG is decoded once as 8-bit
    RGBA, whose four bytes are L-high, L-low, A-high, A-low.
    """
    if rawmode == "LA;16B":
        b = _load_with_rawmode(path, im, "RGBA").astype(np.uint16)
        return np.stack([b[..., 0] << 8 | b[..., 1], b[..., 2] << 8 | b[..., 3]], axis=2)
    native = "B" if sys.byteorder == "big" else "L"
    order = rawmode[-1].replace("N", native)
    swapped = rawmode[:-1] + ("L" if order == "B" else "B")
    hi = _load_with_rawmode(path, im, rawmode).astype(np.uint16)
    lo = _load_with_rawmode(path, im, swapped).astype(np.uint16)
    return hi << 8 | lo


def _load_with_rawmode(path: Path, template: Image.Image, rawmode: str) -> np.ndarray:
    with _pil_pixel_limit(None):
        im = Image.open(path)
    with im:
        if im.size != template.size or len(im.tile) != len(template.tile):
            raise ValueError("file changed while reading")
        tiles = []
        for t in im.tile:
            args = rawmode if isinstance(t.args, str) else (rawmode, *t.args[1:])
            tiles.append(ImageFile._Tile(t.codec_name, t.extents, t.offset, args))
        im.tile = tiles
        im.load()
        return np.array(im)


def _is_planar_deep_tiff(im: Image.Image) -> bool:
    """A TIFF with more than 8 bits per sample stored plane by plane (PlanarConfiguration 2)."""
    if im.format != "TIFF":
        return False
    tags = getattr(im, "tag_v2", {})
    bits = tags.get(258, 8)
    deep = max(bits) > 8 if isinstance(bits, tuple) else bits > 8
    return deep and tags.get(284, 1) == 2 and tags.get(277, 1) > 1


def _read_tiff_fallback(
    path: Path, limit: int, cause: Exception | None
) -> tuple[torch.Tensor, ImageMeta]:
    """Read a TIFF that Pillow cannot read or misreads (16-bit grey+alpha, planar) with tifffile."""
    try:
        import tifffile
    except ImportError:  # pragma: no cover - tifffile comes with scikit-image
        raise PixelsmithError("not an image file (or an unsupported format)", path) from cause
    try:
        tif = tifffile.TiffFile(path)
    except Exception as e:
        raise PixelsmithError("not an image file (or an unsupported format)", path) from e
    with tif:
        page = tif.pages[0]
        _check_pixel_limit(path, (int(page.imagewidth), int(page.imagelength)), limit)
        try:
            arr = page.asarray()
        except Exception as e:
            raise PixelsmithError(f"unsupported TIFF variant ({_one_line(e)})", path) from e
        tags = page.tags
        icc = tags[_ICC_TAG].value if _ICC_TAG in tags else None
        orientation = int(tags[274].value) if 274 in tags else 1
        n_frames = len(tif.pages)
        bits = int(page.bitspersample)
        photometric = int(page.photometric)
        planar = int(page.planarconfig) == 2
    if arr.ndim == 3 and planar:
        arr = np.moveaxis(arr, 0, -1)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    supported = photometric in (0, 1, 2) and arr.dtype.kind in "uf"  # min-is-white/black, RGB
    if not supported or arr.ndim != 3 or arr.shape[2] not in (1, 2, 3, 4):
        raise PixelsmithError(
            f"unsupported TIFF layout (shape {arr.shape}, {arr.dtype}, photometric {photometric})",
            path,
        )
    if arr.dtype.kind == "f":
        arr = np.clip(np.nan_to_num(arr), 0.0, 1.0).astype(np.float32)
    elif arr.dtype.itemsize > 2:
        arr = (arr >> (8 * arr.dtype.itemsize - 16)).astype(np.uint16)
    if photometric == 0:  # min-is-white
        arr = arr.copy()
        arr[..., 0] = (1.0 if arr.dtype.kind == "f" else np.iinfo(arr.dtype).max) - arr[..., 0]
    n_colour = 1 if arr.shape[2] <= 2 else 3
    colour, alpha = arr[..., :n_colour], None
    if arr.shape[2] in (2, 4):
        alpha = arr[..., n_colour]
    orientation = orientation if 1 <= orientation <= 8 else 1
    image = _to_chw_float(_orient(_squeeze_grey(colour), orientation))
    meta = ImageMeta(
        path=path,
        format="TIFF",
        mode=f"{'L' if n_colour == 1 else 'RGB'}{'A' if alpha is not None else ''};{bits}",
        bit_depth=bits,
        size=(arr.shape[1], arr.shape[0]),
        channels=n_colour,
        alpha=None if alpha is None else _to_chw_float(_orient(alpha, orientation)),
        icc_profile=bytes(icc) if icc else None,
        icc_converted=False,
        orientation=orientation,
        orientation_applied=orientation != 1,
        n_frames=n_frames,
    )
    return image, meta


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


def _exif_orientation(im: Image.Image) -> int:
    try:
        value = im.getexif().get(_ORIENTATION_TAG, 1)
    except Exception:  # a broken EXIF block must not make the image unreadable
        return 1
    return int(value) if isinstance(value, int) and 1 <= value <= 8 else 1


def _orient(arr: np.ndarray, orientation: int) -> np.ndarray:
    """Apply an EXIF orientation to an HxW[xC] array, as ``PIL.ImageOps.exif_transpose`` does."""
    ops = {
        1: lambda a: a,
        2: lambda a: a[:, ::-1],  # mirror left-right
        3: lambda a: a[::-1, ::-1],  # rotate 180
        4: lambda a: a[::-1],  # mirror top-bottom
        5: lambda a: a.swapaxes(0, 1),  # transpose
        6: lambda a: np.rot90(a, -1),  # rotate 90 clockwise
        7: lambda a: a.swapaxes(0, 1)[::-1, ::-1],  # transverse
        8: lambda a: np.rot90(a, 1),  # rotate 90 counter-clockwise
    }
    return np.ascontiguousarray(ops[orientation](arr))


_SRGB_PROFILE: ImageCms.ImageCmsProfile | None = None


def _srgb() -> ImageCms.ImageCmsProfile:
    global _SRGB_PROFILE
    if _SRGB_PROFILE is None:
        _SRGB_PROFILE = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
    return _SRGB_PROFILE


@functools.lru_cache(maxsize=64)
def _is_srgb(icc: bytes) -> bool:
    """True for an RGB profile that maps every 8-bit value to sRGB within 1 (sRGB in all but name).

    Decided by converting a 16^3 grid of colours rather than by the profile's description, so an
    "sRGB" profile by another maker is left alone and a "linear sRGB" one is converted.
    """
    try:
        src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if src.profile.xcolor_space.strip() != "RGB":
            return False
        levels = np.linspace(0, 255, 16).round().astype(np.uint8)
        grid = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), -1).reshape(64, 64, 3)
        out = ImageCms.profileToProfile(Image.fromarray(grid), src, _srgb(), outputMode="RGB")
    except (ImageCms.PyCMSError, OSError, TypeError, ValueError, AttributeError):
        return False
    return out is not None and int(np.abs(np.asarray(out, np.int16) - grid).max()) <= 1


def _icc_to_srgb(path: Path, im: Image.Image, icc: bytes) -> Image.Image | None:
    """Convert an L/RGB/CMYK image from its embedded profile to sRGB (grey stays grey)."""
    try:
        src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        rgb = ImageCms.profileToProfile(im, src, _srgb(), outputMode="RGB")
    except (ImageCms.PyCMSError, OSError, TypeError, ValueError) as e:
        warnings.warn(f"{path}: ignored an unusable ICC profile ({_one_line(e)})", stacklevel=5)
        return None
    if rgb is None:  # pragma: no cover - profileToProfile returns None only with inPlace=True
        return None
    if im.mode == "L":
        mean = np.asarray(rgb, dtype=np.float32).mean(axis=2)
        return Image.fromarray(np.clip(np.round(mean), 0, 255).astype(np.uint8))
    return rgb


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


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split()) or type(e).__name__


def _os_reason(e: OSError) -> str:
    reasons = {
        errno.ENOSPC: "disk full (no space left on device)",
        errno.EDQUOT: "disk quota exceeded",
        errno.EACCES: "permission denied",
        errno.EPERM: "permission denied",
        errno.EROFS: "read-only file system",
    }
    return reasons.get(e.errno or 0) or e.strerror or _one_line(e)


# --------------------------------------------------------------------------------------------------
# Listing


def list_images(
    paths_or_globs: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    *,
    extensions: Iterable[str] = IMAGE_EXTENSIONS,
) -> list[Path]:
    """Expand files, folders and glob patterns into a list of image paths.

    A file is taken as named; a folder gives its files whose suffix is in ``extensions`` (not
    recursive, sorted by name); a pattern (``*``, ``?``, ``[``; ``**`` recurses) gives the matching
    files with such a suffix, sorted. Duplicates are dropped, first occurrence kept.

    Raises:
        PixelsmithError: a named path does not exist, or a folder or pattern holds no image.
    """
    if isinstance(paths_or_globs, (str, os.PathLike)):
        paths_or_globs = [paths_or_globs]
    exts = {e.lower() if e.startswith(".") else f".{e.lower()}" for e in extensions}
    found: list[Path] = []
    for item in paths_or_globs:
        p = Path(item)
        text = os.fspath(item)
        if p.is_dir():
            files = sorted(c for c in p.iterdir() if c.is_file() and c.suffix.lower() in exts)
            if not files:
                raise PixelsmithError("no image files in this folder", p)
            found.extend(files)
        elif p.exists():
            found.append(p)
        elif glob.has_magic(text):
            matches = sorted(
                Path(m)
                for m in glob.glob(text, recursive=True)
                if Path(m).is_file() and Path(m).suffix.lower() in exts
            )
            if not matches:
                raise PixelsmithError(f"no image files match the pattern {text!r}")
            found.extend(matches)
        else:
            raise PixelsmithError("file not found", p)
    if not found:
        raise PixelsmithError("no input images given")
    seen: set[Path] = set()
    unique = []
    for p in found:
        key = p.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(p)
    return unique


# --------------------------------------------------------------------------------------------------
# Writing


def write_image(
    path: str | os.PathLike[str],
    image: torch.Tensor,
    *,
    meta: ImageMeta | None = None,
    bit_depth: int = 8,
    quality: int = 95,
    overwrite: bool = False,
    inputs: Iterable[str | os.PathLike[str]] = (),
) -> Path:
    """Write a ``(C, H, W)`` (or ``(1, C, H, W)``) float image in [0, 1], C in {1, 3}, atomically.

    The format comes from the suffix: ``.png``, ``.jpg``/``.jpeg`` or ``.tif``/``.tiff``. Values are
    clamped to [0, 1] and rounded to ``bit_depth`` (8, or 16 for PNG and TIFF). ``meta.alpha``,
    when present, is written as an alpha channel to PNG and TIFF and dropped for JPEG. An ICC
    profile that ``read_image`` did not convert (``meta.icc_converted`` False) is embedded again,
    so colours keep their meaning; otherwise the file is plain sRGB. ``quality`` (1..100) is JPEG's.

    The file is written to a temporary name in the same folder, flushed to disk, then renamed onto
    ``path``, so a failure never leaves a partial file. An existing file is replaced only with
    ``overwrite=True``; a file listed in ``inputs`` is never replaced without it either.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Raises:
        PixelsmithError: unknown suffix, bit depth the format lacks, alpha of another size,
            missing or unwritable output folder, existing file, disk full or other write failure.
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
        icc = meta.icc_profile
    _check_target(path, overwrite=overwrite, inputs=inputs)
    try:
        data = _encode(fmt, pixels, quality=quality, icc=icc)
    except (OSError, ValueError, KeyError) as e:
        raise PixelsmithError(f"cannot encode the image as {fmt} ({_one_line(e)})", path) from e
    _atomic_write(path, data, overwrite=overwrite)
    return path


def _check_target(path: Path, *, overwrite: bool, inputs: Iterable[str | os.PathLike[str]]) -> None:
    folder = path.parent
    if not folder.exists():
        raise PixelsmithError(f"output folder does not exist: {folder}", path)
    if not folder.is_dir():
        raise PixelsmithError(f"output folder is not a folder: {folder}", path)
    if path.is_dir():
        raise PixelsmithError("is a folder, not a file", path)
    if not overwrite:
        target = path.resolve()
        for inp in inputs:
            q = Path(inp)
            same = q.resolve() == target
            if not same and q.exists() and path.exists():
                with suppress(OSError):
                    same = os.path.samefile(q, path)
            if same:
                raise PixelsmithError(
                    "refusing to overwrite an input file (pass overwrite=True to allow it)", path
                )
        if path.exists() or path.is_symlink():
            raise PixelsmithError("file already exists (pass overwrite=True to replace it)", path)
    if not os.access(folder, os.W_OK | os.X_OK):
        raise PixelsmithError(f"output folder is not writable: {folder}", path)


def _atomic_write(path: Path, data: bytes, *, overwrite: bool) -> None:
    """Write ``data`` to a temporary file beside ``path``, fsync it, and move it onto ``path``."""
    folder = path.parent
    try:
        mode = os.stat(path).st_mode & 0o7777 if overwrite and path.exists() else _new_file_mode()
        fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=f".{path.name[:100]}.", suffix=".tmp")
    except OSError as e:
        raise PixelsmithError(f"cannot write image: {_os_reason(e)}", path) from e
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
            with suppress(OSError):  # some file systems (FAT, SMB) refuse; the data is what matters
                os.fchmod(f.fileno(), mode)
        if overwrite:
            os.replace(tmp_name, path)
        else:
            _link_no_replace(tmp_name, path)
    except BaseException as e:
        with suppress(OSError):
            os.unlink(tmp_name)
        if isinstance(e, FileExistsError):
            raise PixelsmithError(
                "file already exists (pass overwrite=True to replace it)", path
            ) from e
        if isinstance(e, OSError):
            raise PixelsmithError(f"cannot write image: {_os_reason(e)}", path) from e
        raise
    _fsync_folder(folder)


def _link_no_replace(tmp_name: str, path: Path) -> None:
    """Move ``tmp_name`` to ``path`` unless ``path`` appeared meanwhile (FileExistsError)."""
    try:
        os.link(tmp_name, path)
    except FileExistsError:
        raise
    except OSError:  # no hard links on this file system: fall back to a checked rename
        if path.exists():
            raise FileExistsError(errno.EEXIST, "file exists", str(path)) from None
        os.replace(tmp_name, path)
        return
    os.unlink(tmp_name)


def _new_file_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def _fsync_folder(folder: Path) -> None:
    with suppress(OSError, AttributeError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _encode(fmt: str, pixels: np.ndarray, *, quality: int, icc: bytes | None) -> bytes:
    """``(H, W, C)`` uint8/uint16 pixels, C in 1..4 (grey, grey+alpha, RGB, RGBA) -> file bytes."""
    channels = pixels.shape[2]
    if fmt == "JPEG":
        pixels = pixels[..., :1] if channels <= 2 else pixels[..., :3]
        channels = pixels.shape[2]
    buf = io.BytesIO()
    if pixels.dtype == np.uint16 and fmt == "PNG":
        return _png16_bytes(pixels, icc)
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
    elif fmt == "TIFF":
        options.update(compression="tiff_adobe_deflate")
    im.save(buf, format=fmt, **options)
    return buf.getvalue()


def _png16_bytes(pixels: np.ndarray, icc: bytes | None) -> bytes:
    """A 16-bit PNG (grey, grey+alpha, RGB, RGBA) from ``(H, W, C)`` uint16; Paeth-filtered rows."""
    h, w, c = pixels.shape
    colour_type = {1: 0, 2: 4, 3: 2, 4: 6}[c]
    rows = pixels.astype(">u2").reshape(h, w * c).view(np.uint8)
    compressor = zlib.compressobj(6)
    idat = []
    previous = np.zeros(rows.shape[1], np.uint8)
    for r0 in range(0, h, 256):
        block = rows[r0 : r0 + 256]
        idat.append(compressor.compress(_paeth_filter(block, previous, bpp=2 * c).tobytes()))
        previous = block[-1]
    idat.append(compressor.flush())

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    out = [_PNG_SIGNATURE, chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, colour_type, 0, 0, 0))]
    if icc:
        out.append(chunk(b"iCCP", b"ICC profile\x00\x00" + zlib.compress(icc)))
    data = b"".join(idat)
    step = 1 << 20
    out.extend(chunk(b"IDAT", data[i : i + step]) for i in range(0, max(len(data), 1), step))
    out.append(chunk(b"IEND", b""))
    return b"".join(out)


def _paeth_filter(block: np.ndarray, previous: np.ndarray, *, bpp: int) -> np.ndarray:
    """PNG filter type 4 for rows ``block`` (uint8, n x stride) given the row above the block."""
    x = block.astype(np.int16)
    up = np.vstack([previous[None].astype(np.int16), x[:-1]])
    left = np.zeros_like(x)
    left[:, bpp:] = x[:, :-bpp]
    up_left = np.zeros_like(x)
    up_left[:, bpp:] = up[:, :-bpp]
    p = left + up - up_left
    pa, pb, pc = np.abs(p - left), np.abs(p - up), np.abs(p - up_left)
    pred = np.where((pa <= pb) & (pa <= pc), left, np.where(pb <= pc, up, up_left))
    filtered = ((x - pred) & 0xFF).astype(np.uint8)
    return np.hstack([np.full((x.shape[0], 1), 4, np.uint8), filtered])


# --------------------------------------------------------------------------------------------------
# Camera raw


def read_raw(path: str | os.PathLike[str], *, max_pixels: int | None = None) -> RawImage:
    """Read a camera raw file's Bayer mosaic with LibRaw (rawpy), undemosaiced and unscaled.

    ``bayer`` is the visible sensor area (LibRaw's ``raw_image_visible``), ``(H, W)`` float32 in
    sensor units; see :class:`RawImage` for the pattern, levels and matrices.

    Raises:
        PixelsmithError: missing/empty file, not a raw file LibRaw reads, corrupt data, a sensor
            that is not a 2x2 Bayer mosaic (stacked/linear DNG, Foveon, X-Trans), or over
            ``max_pixels``.
    """
    import rawpy

    path = Path(path)
    _check_input_file(path)
    limit = _resolve_max_pixels(max_pixels)
    try:
        raw = rawpy.imread(str(path))
    except rawpy.LibRawFileUnsupportedError as e:
        raise PixelsmithError("not a camera raw file that LibRaw can read", path) from e
    except (rawpy.LibRawIOError, rawpy.LibRawDataError) as e:
        raise PixelsmithError(_RAW_CORRUPT.format(_libraw_reason(e)), path) from e
    except (rawpy.LibRawError, OSError) as e:
        raise PixelsmithError(f"cannot read raw file (LibRaw: {_libraw_reason(e)})", path) from e
    with raw:
        try:
            return _raw_image(path, raw, limit)
        except PixelsmithError:
            raise
        except (rawpy.LibRawIOError, rawpy.LibRawDataError) as e:
            raise PixelsmithError(_RAW_CORRUPT.format(_libraw_reason(e)), path) from e
        except (rawpy.LibRawError, OSError, RuntimeError) as e:
            raise PixelsmithError(
                f"cannot decode raw file (LibRaw: {_libraw_reason(e)})", path
            ) from e


_RAW_CORRUPT = "cannot read raw file: truncated, corrupt or not a raw file (LibRaw: {})"


def _libraw_reason(e: BaseException) -> str:
    """LibRaw's message; rawpy passes it as bytes."""
    if e.args and isinstance(e.args[0], bytes):
        return " ".join(e.args[0].decode("utf-8", "replace").split())
    return _one_line(e)


def _raw_image(path: Path, raw: Any, limit: int) -> RawImage:
    sizes = raw.sizes
    _check_pixel_limit(path, (int(sizes.raw_width), int(sizes.raw_height)), limit)
    raw_type = raw.raw_type.name
    if raw_type != "Flat":
        raise PixelsmithError(
            f"not a Bayer mosaic (LibRaw raw_type {raw_type}: {raw.num_colors} colour planes per "
            "pixel, e.g. a linear or demosaiced DNG); pixelsmith needs an undemosaiced Bayer raw",
            path,
        )
    pattern = raw.raw_pattern
    if pattern is None or np.asarray(pattern).shape != (2, 2):
        shape = None if pattern is None else np.asarray(pattern).shape
        raise PixelsmithError(f"not a 2x2 Bayer mosaic (colour filter pattern {shape})", path)
    desc = raw.color_desc.decode("ascii", "replace")
    visible = raw.raw_image_visible
    cfa = np.array(raw.raw_colors_visible[:2, :2], dtype=np.int64)
    pattern_string = "".join(desc[int(i)] for i in cfa.ravel())
    if sorted(pattern_string) != ["B", "G", "G", "R"]:
        raise PixelsmithError(f"not an RGB Bayer mosaic (colour filter {pattern_string})", path)
    bayer = torch.from_numpy(np.array(visible, dtype=np.float32))
    black = [int(b) for b in raw.black_level_per_channel]
    crop = None
    if sizes.crop_width and sizes.crop_height:
        crop = (
            int(sizes.crop_top_margin),
            int(sizes.crop_left_margin),
            int(sizes.crop_height),
            int(sizes.crop_width),
        )
    return RawImage(
        path=path,
        bayer=bayer,
        cfa_pattern=cfa,
        cfa_desc=desc,
        pattern_string=pattern_string,
        black_level_per_channel=black,
        black_level=float(np.mean(black)),
        white_level=int(raw.white_level),
        camera_wb=[float(v) for v in raw.camera_whitebalance],
        daylight_wb=[float(v) for v in raw.daylight_whitebalance],
        rgb_xyz_matrix=np.array(raw.rgb_xyz_matrix, dtype=np.float32),
        color_matrix=np.array(raw.color_matrix, dtype=np.float32),
        raw_type=raw_type,
        flip=int(sizes.flip),
        crop=crop,
    )
