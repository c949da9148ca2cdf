"""Read and write images and camera raw files: the one place in pixelsmith that knows file formats.

Everything returned here is a float32 tensor in [0, 1], sRGB, laid out ``C x H x W`` with
``C = 1`` (grey) or ``C = 3`` (colour); alpha travels beside the pixels in :class:`ImageMeta` and
is put back on write. Raw camera files give the undemosaiced Bayer mosaic as an ``H x W`` tensor of
sensor values.

Every problem with the user's files (missing, empty, not a regular file, corrupt, too large,
unwritable folder, name too long, refusing to overwrite) raises :class:`~pixelsmith.errors.PixelsmithError` with a one-line message
naming the file.
Misuse by the calling code (a tensor of the wrong shape) raises ``ValueError``/``TypeError``.
:func:`check_writable` asks, before the expensive work, whether an output file can be written;
:func:`remove_stale_temps` clears the temporary files of writers that were killed.
"""

from __future__ import annotations

from .atomic import atomic_write, remove_stale_temps
from .checks import DEFAULT_MAX_PIXELS
from .checks import MAX_PIXELS_ENV as MAX_PIXELS_ENV
from .convert import from_uint8, to_uint8
from .formats import IMAGE_EXTENSIONS, RAW_EXTENSIONS, WRITE_FORMATS
from .listing import list_images
from .meta import ImageMeta
from .raw import RawImage, read_raw
from .read import FirstFrameOnlyWarning, read_image
from .target import check_writable
from .write import write_image

__all__ = [
    "atomic_write",
    "check_writable",
    "DEFAULT_MAX_PIXELS",
    "IMAGE_EXTENSIONS",
    "RAW_EXTENSIONS",
    "WRITE_FORMATS",
    "FirstFrameOnlyWarning",
    "ImageMeta",
    "RawImage",
    "from_uint8",
    "list_images",
    "read_image",
    "read_raw",
    "remove_stale_temps",
    "to_uint8",
    "write_image",
]
