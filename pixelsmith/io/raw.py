"""Camera raw files: RawImage and read_raw, the undemosaiced Bayer mosaic read with LibRaw."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import PixelsmithError
from .checks import _check_input_file, _check_pixel_limit, _resolve_max_pixels
from .reasons import _one_line


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
    def shape(self) -> tuple[int, int, int]:
        """``(1, H, W)``: the mosaic as a one-channel image (what size checks read)."""
        return (1, *self.bayer.shape)

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
