"""TIFFs that Pillow cannot read or misreads (16-bit grey+alpha, planar), read with tifffile."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ..errors import PixelsmithError
from .checks import _check_pixel_limit
from .convert import _float_unit, _squeeze_grey, _to_chw_float
from .meta import ImageMeta
from .orientation import _orient
from .reasons import _one_line

_ICC_TAG = 34675


def _is_planar_deep_tiff(im: Image.Image) -> bool:
    """A TIFF with more than 8 bits per sample stored plane by plane (PlanarConfiguration 2)."""
    if im.format != "TIFF":
        return False
    tags = getattr(im, "tag_v2", {})
    bits = tags.get(258, 8)
    deep = max(bits) > 8 if isinstance(bits, tuple) else bits > 8
    return deep and tags.get(284, 1) == 2 and tags.get(277, 1) > 1


class _Quiet(logging.Filter):
    """Drops tifffile's records in the threads reading a file here: tifffile logs each damaged
    tag it meets, and the error pixelsmith raises says it once. Other threads keep their log."""

    def __init__(self) -> None:
        super().__init__()
        self.reading = threading.local()

    def filter(self, record: logging.LogRecord) -> bool:
        return not getattr(self.reading, "on", False)


_QUIET = _Quiet()
logging.getLogger("tifffile").addFilter(_QUIET)


@contextmanager
def _quiet_tifffile() -> Iterator[None]:
    _QUIET.reading.on = True
    try:
        yield
    finally:
        _QUIET.reading.on = False


def _read_tiff_fallback(
    path: Path, limit: int, cause: Exception | None
) -> tuple[torch.Tensor, ImageMeta]:
    """Read a TIFF that Pillow cannot read or misreads (16-bit grey+alpha, planar) with tifffile."""
    try:
        import tifffile
    except ImportError:  # pragma: no cover - tifffile comes with scikit-image
        raise PixelsmithError("not an image file (or an unsupported format)", path) from cause
    with _quiet_tifffile():
        return _read_with(tifffile, path, limit)


def _read_with(tifffile, path: Path, limit: int) -> tuple[torch.Tensor, ImageMeta]:
    """The first page of the TIFF at ``path``, read with the ``tifffile`` module."""
    try:
        tif = tifffile.TiffFile(path)
    except Exception as e:
        raise PixelsmithError("not an image file (or an unsupported format)", path) from e
    with tif:
        if not len(tif.pages):
            raise PixelsmithError("TIFF file holds no readable page", path)
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
        arr = _float_unit(arr, path)
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
