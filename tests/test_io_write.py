"""Tests for write_image (formats, bit depths, alpha, ICC, atomic writes) and the uint8 helpers."""

from __future__ import annotations

import errno
import io
import os
from pathlib import Path

import numpy as np
import pytest
import tifffile
import torch
from io_helpers import (
    H,
    W,
    _as_int,
    _chw,
    _linear_srgb_profile,
    _one_line_naming,
    _pil_array,
    _rgb,
    _u16,
)
from PIL import Image

import pixelsmith.io.atomic as atomic_module
import pixelsmith.io.write as write_module
from pixelsmith.errors import PixelsmithError
from pixelsmith.io import ImageMeta, from_uint8, read_image, to_uint8, write_image


@pytest.mark.parametrize("suffix", [".png", ".tif", ".tiff"])
@pytest.mark.parametrize("channels", [1, 3])
def test_8bit_round_trip_exact(tmp_path: Path, suffix: str, channels: int) -> None:
    arr = _rgb(12, (H, W, channels))
    path = write_image(tmp_path / f"out{suffix}", _chw(arr, 255))
    assert path == tmp_path / f"out{suffix}"
    ref = _pil_array(path)
    np.testing.assert_array_equal(ref, arr[..., 0] if channels == 1 else arr)
    image, meta = read_image(path)
    assert image.shape == (channels, H, W) and meta.bit_depth == 8
    np.testing.assert_array_equal(_as_int(image, 255), ref)


@pytest.mark.parametrize("suffix", [".png", ".tif"])
@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("with_alpha", [False, True])
def test_16bit_round_trip_exact(
    tmp_path: Path, suffix: str, channels: int, with_alpha: bool
) -> None:
    arr = _u16(13, (H, W, channels))
    alpha = _u16(14, (H, W))
    meta = None
    if with_alpha:
        meta = ImageMeta(
            path=Path("x"),
            format="PNG",
            mode="RGBA",
            bit_depth=16,
            size=(W, H),
            channels=channels,
            alpha=_chw(alpha, 65535),
        )
    path = write_image(tmp_path / f"deep{suffix}", _chw(arr, 65535), meta=meta, bit_depth=16)
    image, meta_back = read_image(path)
    assert meta_back.bit_depth == 16 and image.shape == (channels, H, W)
    np.testing.assert_array_equal(_as_int(image, 65535), arr[..., 0] if channels == 1 else arr)
    if with_alpha:
        np.testing.assert_array_equal(_as_int(meta_back.alpha, 65535), alpha)
    else:
        assert meta_back.alpha is None
    # independent decoders agree
    stacked = np.dstack([arr, alpha]) if with_alpha else arr
    if suffix == ".tif":
        np.testing.assert_array_equal(np.atleast_3d(tifffile.imread(path)), stacked)
    else:
        with Image.open(path) as pil:
            mode, pixels = pil.mode, np.atleast_3d(np.asarray(pil))
        if mode == "RGBA" and stacked.shape[2] == 2:  # Pillow reads 16-bit grey+alpha as RGBA
            pixels = pixels[..., [0, 3]]
        # Pillow keeps 16-bit grey whole, and only the high byte of 16-bit colour
        np.testing.assert_array_equal(pixels, stacked if mode.startswith("I") else stacked >> 8)


def test_16bit_png_is_compressed(tmp_path: Path) -> None:
    ramp = np.tile(np.linspace(0, 65535, 256).astype(np.uint16)[None, :, None], (64, 1, 3))
    path = write_image(tmp_path / "ramp.png", _chw(ramp, 65535), bit_depth=16)
    assert path.stat().st_size < ramp.nbytes / 20
    np.testing.assert_array_equal(_as_int(read_image(path)[0], 65535), ramp)


def test_rounding_and_clamping(tmp_path: Path) -> None:
    t = torch.tensor([[[-0.5, 0.0, 0.4 / 255, 0.6 / 255, 1.0, 7.0]]])
    path = write_image(tmp_path / "r.png", t)
    np.testing.assert_array_equal(_pil_array(path), [[0, 0, 0, 1, 255, 255]])
    np.testing.assert_array_equal(to_uint8(t), [[0, 0, 0, 1, 255, 255]])


def test_jpeg_write_close_and_drops_alpha(tmp_path: Path) -> None:
    smooth = np.tile(np.linspace(0, 255, W).astype(np.uint8)[None, :, None], (H, 1, 3))
    rgba = np.dstack([smooth, _rgb(15, (H, W))])
    src = tmp_path / "rgba.png"
    Image.fromarray(rgba).save(src)
    image, meta = read_image(src)
    for suffix in (".jpg", ".jpeg"):
        path = write_image(tmp_path / f"out{suffix}", image, meta=meta, quality=95)
        back, back_meta = read_image(path)
        assert back_meta.format == "JPEG" and back_meta.alpha is None
        assert (back - image).abs().mean() < 2 / 255


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_alpha_restored_on_write(tmp_path: Path, suffix: str) -> None:
    rgba = _rgb(16, (H, W, 4))
    src = tmp_path / f"in{suffix}"
    Image.fromarray(rgba).save(src)
    image, meta = read_image(src)
    out = write_image(tmp_path / f"out{suffix}", image, meta=meta)
    with Image.open(out) as pil:
        assert pil.mode == "RGBA"
        np.testing.assert_array_equal(np.asarray(pil), rgba)


def test_alpha_of_wrong_size_refused(tmp_path: Path) -> None:
    src = tmp_path / "in.png"
    Image.fromarray(_rgb(17, (H, W, 4))).save(src)
    image, meta = read_image(src)
    path = tmp_path / "out.png"
    with pytest.raises(PixelsmithError, match="alpha") as err:
        write_image(path, image[:, :10], meta=meta)
    _one_line_naming(err, path)
    assert not path.exists()


def test_icc_profile_kept_when_not_converted(tmp_path: Path) -> None:
    icc = _linear_srgb_profile()
    arr = _u16(18, (H, W, 3))
    src = tmp_path / "in.tif"
    tifffile.imwrite(src, arr, photometric="rgb", iccprofile=icc)
    with pytest.warns(UserWarning, match="without colour conversion"):
        image, meta = read_image(src)
    assert not meta.icc_converted and meta.icc_profile == icc
    for suffix in (".png", ".tif"):
        out = write_image(tmp_path / f"out{suffix}", image, meta=meta, bit_depth=16)
        with Image.open(out) as pil:
            assert pil.info.get("icc_profile") == icc


def test_bad_options_and_tensors(tmp_path: Path) -> None:
    img = torch.rand(3, H, W)
    for name, kwargs, pattern in [
        ("a.gif", {}, "unknown output format"),
        ("noext", {}, "unknown output format"),
        ("a.jpg", {"bit_depth": 16}, "8 bits"),
        ("a.png", {"bit_depth": 12}, "8 or 16"),
        ("a.jpg", {"quality": 0}, "quality"),
    ]:
        with pytest.raises(PixelsmithError, match=pattern) as err:
            write_image(tmp_path / name, img, **kwargs)
        _one_line_naming(err, tmp_path / name)
    with pytest.raises(ValueError):
        write_image(tmp_path / "a.png", torch.rand(2, H, W))
    with pytest.raises(TypeError):
        write_image(tmp_path / "a.png", torch.zeros(3, H, W, dtype=torch.uint8))
    with pytest.raises(ValueError, match="NaN"):
        write_image(tmp_path / "a.png", torch.full((1, H, W), float("nan")))
    assert list(tmp_path.iterdir()) == []
    # a batch of one is accepted
    assert read_image(write_image(tmp_path / "b.png", img[None]))[0].shape == (3, H, W)


def test_missing_output_folder_not_created(tmp_path: Path) -> None:
    path = tmp_path / "missing" / "out.png"
    with pytest.raises(PixelsmithError, match="output folder does not exist") as err:
        write_image(path, torch.rand(3, 4, 4))
    _one_line_naming(err, path)
    assert not path.parent.exists()


def test_unwritable_output_folder(tmp_path: Path) -> None:
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        if os.access(folder, os.W_OK):
            pytest.skip("running as root: chmod 0o500 does not stop writes (see the mocked test)")
        with pytest.raises(PixelsmithError, match="not writable"):
            write_image(folder / "out.png", torch.rand(3, 4, 4))
    finally:
        folder.chmod(0o700)


def test_unwritable_output_folder_mocked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Works as root too: the access check, then a permission error from the OS itself."""
    path = tmp_path / "out.png"
    monkeypatch.setattr(write_module.os, "access", lambda *a, **k: False)
    with pytest.raises(PixelsmithError, match="not writable") as err:
        write_image(path, torch.rand(3, 4, 4))
    _one_line_naming(err, path)
    monkeypatch.undo()

    def denied(*args: object, **kwargs: object) -> None:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(atomic_module.os, "open", denied)
    with pytest.raises(PixelsmithError, match="not writable.*permission denied") as err:
        write_image(path, torch.rand(3, 4, 4))  # check_writable's real attempt
    _one_line_naming(err, path)
    with pytest.raises(PixelsmithError, match="cannot write file: permission denied") as err:
        atomic_module.atomic_write(path, b"data", overwrite=False)
    monkeypatch.undo()
    _one_line_naming(err, path)
    assert list(tmp_path.iterdir()) == []


def test_existing_file_needs_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "out.png"
    write_image(path, torch.zeros(1, 4, 4))
    with pytest.raises(PixelsmithError, match="already exists") as err:
        write_image(path, torch.ones(1, 4, 4))
    msg = _one_line_naming(err, path)
    assert "--overwrite" in msg and "overwrite=True" in msg  # right from the CLI and from Python
    with pytest.raises(PixelsmithError, match="already exists") as err:  # the race, past the check
        atomic_module.atomic_write(path, b"new", overwrite=False)
    msg = _one_line_naming(err, path)
    assert "--overwrite" in msg and "overwrite=True" in msg
    assert _pil_array(path).max() == 0
    write_image(path, torch.ones(1, 4, 4), overwrite=True)
    assert _pil_array(path).min() == 255
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.png"]


def test_never_overwrites_an_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = tmp_path / "photo.png"
    Image.fromarray(_rgb()).save(src)
    monkeypatch.chdir(tmp_path)
    other_spelling = Path("sub/../photo.png")
    (tmp_path / "sub").mkdir()
    image, _ = read_image(src)
    with pytest.raises(PixelsmithError, match="is an input; pixelsmith never overwrites"):
        write_image(other_spelling, image, inputs=[src])
    link = tmp_path / "link.png"
    link.symlink_to(src)
    with pytest.raises(PixelsmithError, match="is an input"):
        write_image(src, image, inputs=[link])
    with pytest.raises(PixelsmithError, match="is an input"):  # overwrite does not change that
        write_image(src, 1 - image, inputs=[src], overwrite=True)
    np.testing.assert_array_equal(_pil_array(src), _rgb())


def test_new_file_permissions_follow_umask(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        path = write_image(tmp_path / "out.png", torch.rand(3, 4, 4))
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o640


def _no_temp_files(folder: Path) -> bool:
    return not [p for p in folder.iterdir() if p.name.endswith(".tmp")]


def test_disk_full_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic_module.os, "fsync", full)
    path = tmp_path / "out.png"
    with pytest.raises(PixelsmithError, match="disk full") as err:
        write_image(path, torch.rand(3, H, W))
    _one_line_naming(err, path)
    assert list(tmp_path.iterdir()) == []


def test_failed_overwrite_keeps_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "out.tif"
    write_image(path, torch.zeros(3, H, W))
    before = path.read_bytes()

    def broken(src: str, dst: object) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(atomic_module.os, "replace", broken)
    with pytest.raises(PixelsmithError, match="Input/output error"):
        write_image(path, torch.ones(3, H, W), overwrite=True)
    assert path.read_bytes() == before and _no_temp_files(tmp_path)


def test_interrupted_write_cleans_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_fdopen = os.fdopen

    class Boom(Exception):
        pass

    class HalfWriter(io.RawIOBase):
        def __init__(self, fd: int, mode: str) -> None:
            self.f = real_fdopen(fd, mode)

        def write(self, data: bytes) -> int:
            self.f.write(data[: len(data) // 2])
            self.f.flush()
            raise Boom

        def close(self) -> None:
            self.f.close()
            super().close()

    monkeypatch.setattr(atomic_module.os, "fdopen", HalfWriter)
    with pytest.raises(Boom):
        write_image(tmp_path / "out.png", torch.rand(3, H, W))
    assert list(tmp_path.iterdir()) == []


def test_uint8_helpers() -> None:
    arr = _rgb(19)
    t = from_uint8(arr)
    assert t.shape == (3, H, W) and t.dtype == torch.float32
    np.testing.assert_array_equal(to_uint8(t), arr)
    grey = _rgb(20, (H, W))
    assert from_uint8(grey).shape == (1, H, W)
    np.testing.assert_array_equal(to_uint8(from_uint8(grey)), grey)
    with pytest.raises(TypeError):
        from_uint8(arr.astype(np.float32))
