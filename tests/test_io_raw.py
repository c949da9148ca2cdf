"""Tests for read_raw on camera raw files from ../shared/data (and on files that are not raw)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from io_helpers import _one_line_naming, _rgb
from PIL import Image

from pixelsmith.errors import PixelsmithError
from pixelsmith.io import read_raw
from pixelsmith.paths import data_dir


def _raw_file(name: str) -> Path:
    root = data_dir()
    if root is None:
        pytest.skip("../shared/data not found: set PIXELSMITH_DATA to run the raw-file tests")
    path = root / "raw" / name
    if not path.exists():
        pytest.skip(f"../shared/data not found: {path} is missing")
    return path


@pytest.mark.data
def test_read_raw_dng() -> None:
    raw = read_raw(_raw_file("Blackmagic.dng"))
    assert raw.bayer.shape == (2176, 4128) and raw.bayer.dtype == torch.float32
    np.testing.assert_array_equal(raw.cfa_pattern, [[0, 1], [3, 2]])
    assert raw.cfa_desc == "RGBG" and raw.pattern_string == "RGGB" and raw.raw_type == "Flat"
    assert raw.black_level_per_channel == [512] * 4 and raw.black_level == 512
    assert raw.white_level == 65535
    assert raw.camera_wb[1] == 1.0 and raw.color_matrix.shape == (3, 4)
    assert raw.crop == (8, 16, 2160, 4096)
    assert 0 <= raw.bayer.min() and raw.bayer.max() <= 65535
    norm = raw.normalised()
    assert norm.shape == raw.bayer.shape and 0 <= norm.min() and norm.max() <= 1
    expected = ((raw.bayer[100:104, 200:204] - 512) / (65535 - 512)).clamp(0, 1)
    torch.testing.assert_close(norm[100:104, 200:204], expected)


@pytest.mark.data
def test_read_raw_kdc() -> None:
    raw = read_raw(_raw_file("RAW_KODAK_DC50.KDC"))
    assert raw.bayer.shape == (512, 768) and raw.white_level == 16383
    np.testing.assert_array_equal(raw.cfa_pattern, [[1, 0], [2, 3]])
    assert raw.pattern_string == "GRBG" and raw.black_level == 0
    assert raw.bayer.max() <= 16383


@pytest.mark.data
def test_read_raw_stacked_nef_refused() -> None:
    path = _raw_file("Nikon_uncompressed.nef")
    with pytest.raises(PixelsmithError, match=r"not a Bayer mosaic \(LibRaw raw_type Stack") as err:
        read_raw(path)
    _one_line_naming(err, path)


@pytest.mark.data
def test_read_raw_truncated(tmp_path: Path) -> None:
    data = _raw_file("RAW_KODAK_DC50.KDC").read_bytes()
    path = tmp_path / "cut.kdc"
    path.write_bytes(data[:4000])
    with pytest.raises(PixelsmithError, match="truncated, corrupt") as err:
        read_raw(path)
    _one_line_naming(err, path)


def test_read_raw_bad_files(tmp_path: Path) -> None:
    png = tmp_path / "photo.png"
    Image.fromarray(_rgb()).save(png)
    text = tmp_path / "notes.nef"
    text.write_text("not a raw file")
    empty = tmp_path / "empty.dng"
    empty.touch()
    for path, pattern in [
        (png, "not a camera raw file"),
        (text, "not a (camera )?raw file"),
        (empty, "file is empty"),
        (tmp_path / "gone.dng", "file not found"),
    ]:
        with pytest.raises(PixelsmithError, match=pattern) as err:
            read_raw(path)
        _one_line_naming(err, path)
