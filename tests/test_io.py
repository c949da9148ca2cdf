"""Tests for pixelsmith.io, checked against Pillow, numpy and tifffile used directly."""

from __future__ import annotations

import errno
import io
import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import tifffile
import torch
from PIL import Image, ImageCms, ImageFile, ImageOps

from pixelsmith import io as pio
from pixelsmith.errors import PixelsmithError
from pixelsmith.io import (
    ImageMeta,
    from_uint8,
    list_images,
    read_image,
    read_raw,
    to_uint8,
    write_image,
)
from pixelsmith.paths import data_dir

H, W = 24, 40


def _rgb(seed: int = 0, shape: tuple[int, ...] = (H, W, 3)) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def _u16(seed: int, shape: tuple[int, ...]) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 65536, shape, dtype=np.uint16)


def _chw(arr: np.ndarray, peak: float) -> torch.Tensor:
    """HxW[xC] integer array -> (C, H, W) float tensor, the layout read_image returns."""
    a = arr if arr.ndim == 3 else arr[:, :, None]
    return torch.from_numpy(a.transpose(2, 0, 1).astype(np.float64) / peak).float()


def _as_int(t: torch.Tensor, peak: int) -> np.ndarray:
    """(C, H, W) float tensor -> HxWxC (HxW for C = 1) integers."""
    a = np.rint(t.numpy().transpose(1, 2, 0).astype(np.float64) * peak).astype(np.int64)
    return a[..., 0] if a.shape[2] == 1 else a


def _pil_array(path: Path, mode: str | None = None) -> np.ndarray:
    """The pixels as Pillow decodes them (the independent reference), file closed afterwards."""
    with Image.open(path) as im:
        return np.asarray(im.convert(mode) if mode else im)


def _one_line_naming(err: pytest.ExceptionInfo[PixelsmithError], path: Path) -> str:
    msg = str(err.value)
    assert "\n" not in msg
    assert str(path) in msg
    return msg


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png16_reference(path: Path, arr: np.ndarray, chunks: bytes = b"") -> None:
    """A 16-bit PNG written by hand (filter 0 on every row), independent of pixelsmith/Pillow."""
    h, w, c = arr.shape
    colour_type = {1: 0, 2: 4, 3: 2, 4: 6}[c]
    rows = arr.astype(">u2").reshape(h, w * c).view(np.uint8)
    raw = np.hstack([np.zeros((h, 1), np.uint8), rows]).tobytes()
    ihdr = struct.pack(">IIBBBBB", w, h, 16, colour_type, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + chunks
        + _png_chunk(b"IDAT", zlib.compress(raw))
        + _png_chunk(b"IEND", b"")
    )


# --------------------------------------------------------------------------------------------------
# Reading: formats, modes, bit depths


@pytest.mark.parametrize(
    ("suffix", "options"),
    [
        (".png", {}),
        (".bmp", {}),
        (".tif", {}),
        (".webp", {"lossless": True}),
        (".jpg", {"quality": 90}),
        (".gif", {}),
    ],
)
def test_read_matches_pillow(tmp_path: Path, suffix: str, options: dict) -> None:
    path = tmp_path / f"img{suffix}"
    Image.fromarray(_rgb()).save(path, **options)
    image, meta = read_image(path)
    ref = _pil_array(path, "RGB")
    assert image.dtype == torch.float32 and image.shape == (3, H, W)
    assert 0.0 <= image.min() and image.max() <= 1.0
    np.testing.assert_array_equal(_as_int(image, 255), ref)
    assert meta.path == path and meta.size == (W, H) and meta.channels == 3
    assert meta.alpha is None and meta.bit_depth == 8
    with Image.open(path) as im:
        assert meta.format == im.format


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".tif", ".bmp"])
def test_grey_stays_one_channel(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"grey{suffix}"
    Image.fromarray(_rgb(shape=(H, W))).save(path)
    image, meta = read_image(path)
    assert image.shape == (1, H, W) and meta.channels == 1 and meta.mode == "L"
    np.testing.assert_array_equal(_as_int(image, 255), _pil_array(path))


def test_one_bit_image_is_grey(tmp_path: Path) -> None:
    path = tmp_path / "bits.png"
    Image.fromarray(_rgb(shape=(H, W)) > 128).save(path)
    image, meta = read_image(path)
    assert image.shape == (1, H, W) and meta.bit_depth == 1
    assert set(np.unique(image.numpy())) <= {0.0, 1.0}


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
def test_read_16bit_png_written_by_hand(tmp_path: Path, channels: int) -> None:
    """Pillow alone truncates 16-bit colour PNG to 8 bits; read_image keeps all 16."""
    arr = _u16(channels, (H, W, channels))
    path = tmp_path / "deep.png"
    _png16_reference(path, arr)
    image, meta = read_image(path)
    n_colour = 1 if channels <= 2 else 3
    assert meta.bit_depth == 16 and image.shape == (n_colour, H, W)
    np.testing.assert_array_equal(
        _as_int(image, 65535),
        np.squeeze(arr[..., :n_colour], axis=2) if n_colour == 1 else arr[..., :3],
    )
    if channels in (2, 4):
        np.testing.assert_array_equal(_as_int(meta.alpha, 65535), arr[..., -1])
    else:
        assert meta.alpha is None


def test_16bit_png_orientation_and_key(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[0x0112] = 8
    arr = _u16(24, (H, W, 3))
    arr[0, :5] = (1, 2, 3)
    key = _png_chunk(b"tRNS", struct.pack(">HHH", 1, 2, 3))
    path = tmp_path / "turned16.png"
    _png16_reference(path, arr, _png_chunk(b"eXIf", exif.tobytes()[6:]) + key)
    image, meta = read_image(path)
    assert meta.orientation == 8 and meta.bit_depth == 16 and image.shape == (3, W, H)
    np.testing.assert_array_equal(_as_int(image, 65535), np.rot90(arr, 1))
    alpha = np.where((arr == (1, 2, 3)).all(axis=2), 0, 65535)
    np.testing.assert_array_equal(_as_int(meta.alpha, 65535), np.rot90(alpha, 1))


@pytest.mark.parametrize("byteorder", ["<", ">"])
@pytest.mark.parametrize("compression", [None, "zlib"])
def test_read_16bit_rgb_tiff_written_by_tifffile(
    tmp_path: Path, byteorder: str, compression: str | None
) -> None:
    arr = _u16(5, (H, W, 3))
    path = tmp_path / "deep.tif"
    tifffile.imwrite(
        path, arr, photometric="rgb", byteorder=byteorder, compression=compression, rowsperstrip=5
    )
    image, meta = read_image(path)
    assert meta.bit_depth == 16 and meta.format == "TIFF"
    np.testing.assert_array_equal(_as_int(image, 65535), arr)


@pytest.mark.parametrize("compression", [None, "zlib"])
def test_read_planar_16bit_tiff(tmp_path: Path, compression: str | None) -> None:
    """Pillow misreads 16-bit colour stored plane by plane; read_image must not."""
    rgb, la = _u16(20, (3, H, W)), _u16(21, (2, H, W))
    tifffile.imwrite(
        tmp_path / "rgb.tif",
        rgb,
        photometric="rgb",
        planarconfig="separate",
        compression=compression,
    )
    image, meta = read_image(tmp_path / "rgb.tif")
    assert meta.alpha is None and meta.bit_depth == 16
    np.testing.assert_array_equal(_as_int(image, 65535), rgb.transpose(1, 2, 0))
    tifffile.imwrite(
        tmp_path / "la.tif",
        la,
        photometric="minisblack",
        planarconfig="separate",
        extrasamples=["unassalpha"],
        compression=compression,
    )
    image, meta = read_image(tmp_path / "la.tif")
    np.testing.assert_array_equal(_as_int(image, 65535), la[0])
    np.testing.assert_array_equal(_as_int(meta.alpha, 65535), la[1])


def test_read_float_and_min_is_white_tiff(tmp_path: Path) -> None:
    values = np.random.default_rng(22).random((H, W, 3)).astype(np.float32)
    tifffile.imwrite(tmp_path / "f.tif", values, photometric="rgb")
    image, meta = read_image(tmp_path / "f.tif")
    assert meta.bit_depth == 32
    np.testing.assert_array_equal(image.numpy().transpose(1, 2, 0), values)
    grey = _u16(23, (H, W))
    tifffile.imwrite(
        tmp_path / "w.tif",
        np.stack([grey, grey]),
        photometric="miniswhite",
        planarconfig="separate",
        extrasamples=["unassalpha"],
    )
    image, _ = read_image(tmp_path / "w.tif")
    np.testing.assert_array_equal(_as_int(image, 65535), 65535 - grey)


def test_read_16bit_grey_png_and_tiff_from_pillow(tmp_path: Path) -> None:
    arr = _u16(6, (H, W))
    for suffix in (".png", ".tif"):
        path = tmp_path / f"g16{suffix}"
        Image.fromarray(arr).save(path)
        image, meta = read_image(path)
        assert image.shape == (1, H, W) and meta.bit_depth == 16
        np.testing.assert_array_equal(_as_int(image, 65535), arr)


def test_rgba_alpha_kept_aside(tmp_path: Path) -> None:
    rgba = _rgb(1, (H, W, 4))
    path = tmp_path / "rgba.png"
    Image.fromarray(rgba).save(path)
    image, meta = read_image(path)
    assert image.shape == (3, H, W)
    np.testing.assert_array_equal(_as_int(image, 255), rgba[..., :3])
    assert meta.alpha is not None and meta.alpha.shape == (1, H, W)
    assert meta.alpha.dtype == torch.float32
    np.testing.assert_array_equal(_as_int(meta.alpha, 255), rgba[..., 3])


def test_grey_alpha(tmp_path: Path) -> None:
    la = _rgb(2, (H, W, 2))
    path = tmp_path / "la.png"
    Image.fromarray(la).save(path)
    image, meta = read_image(path)
    assert image.shape == (1, H, W)
    np.testing.assert_array_equal(_as_int(image, 255), la[..., 0])
    np.testing.assert_array_equal(_as_int(meta.alpha, 255), la[..., 1])


def test_colour_key_transparency_becomes_alpha(tmp_path: Path) -> None:
    grey = _rgb(3, (H, W))
    path = tmp_path / "key.png"
    Image.fromarray(grey).save(path, transparency=int(grey[0, 0]))
    image, meta = read_image(path)
    np.testing.assert_array_equal(_as_int(image, 255), grey)
    np.testing.assert_array_equal(_as_int(meta.alpha, 255), np.where(grey == grey[0, 0], 0, 255))


def test_palette_becomes_rgb(tmp_path: Path) -> None:
    pal = Image.fromarray(_rgb(4)).quantize(colors=16)
    path = tmp_path / "pal.png"
    pal.save(path)
    image, meta = read_image(path)
    assert meta.mode == "P" and image.shape == (3, H, W) and meta.alpha is None
    np.testing.assert_array_equal(_as_int(image, 255), _pil_array(path, "RGB"))


def test_palette_with_transparency_gives_alpha(tmp_path: Path) -> None:
    pal = Image.fromarray(_rgb(5)).quantize(colors=16)
    path = tmp_path / "palt.png"
    pal.save(path, transparency=3)
    image, meta = read_image(path)
    ref = _pil_array(path, "RGBA")
    assert image.shape == (3, H, W)
    np.testing.assert_array_equal(_as_int(image, 255), ref[..., :3])
    np.testing.assert_array_equal(_as_int(meta.alpha, 255), ref[..., 3])
    assert (ref[..., 3] == 0).any()


@pytest.mark.parametrize("suffix", [".jpg", ".tif"])
def test_cmyk_becomes_rgb(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"cmyk{suffix}"
    Image.fromarray(_rgb(6)).convert("CMYK").save(path)
    image, meta = read_image(path)
    assert meta.mode == "CMYK" and image.shape == (3, H, W)
    np.testing.assert_array_equal(_as_int(image, 255), _pil_array(path, "RGB"))


def test_gif_first_frame(tmp_path: Path) -> None:
    frames = [Image.new("RGB", (W, H), c) for c in ((255, 0, 0), (0, 0, 255))]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:])
    image, meta = read_image(path)
    assert meta.n_frames == 2 and meta.format == "GIF"
    np.testing.assert_array_equal(_as_int(image, 255), np.asarray(frames[0]))


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_matches_pillow(tmp_path: Path, orientation: int) -> None:
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / "turned.png"
    Image.fromarray(_rgb(7)).save(path, exif=exif)
    image, meta = read_image(path)
    with Image.open(path) as im:
        ref = np.asarray(ImageOps.exif_transpose(im).convert("RGB"))
    np.testing.assert_array_equal(_as_int(image, 255), ref)
    assert meta.orientation == orientation and meta.orientation_applied == (orientation != 1)
    assert meta.size == (W, H)


def test_exif_orientation_6_jpeg_is_transposed(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6
    rgba = _rgb(8, (H, W, 4))
    path = tmp_path / "portrait.jpg"
    Image.fromarray(rgba[..., :3]).save(path, exif=exif, quality=95)
    image, meta = read_image(path)
    assert image.shape == (3, W, H) and meta.orientation == 6
    with Image.open(path) as im:
        ref = np.asarray(ImageOps.exif_transpose(im))
    np.testing.assert_array_equal(_as_int(image, 255), ref)
    # alpha is turned with the pixels
    png = tmp_path / "portrait.png"
    Image.fromarray(rgba).save(png, exif=exif)
    _, meta_png = read_image(png)
    np.testing.assert_array_equal(_as_int(meta_png.alpha, 255), np.rot90(rgba[..., 3], -1))


def _s15(v: float) -> bytes:
    return struct.pack(">i", round(v * 65536))


def _xyz(x: float, y: float, z: float) -> bytes:
    return b"XYZ \0\0\0\0" + _s15(x) + _s15(y) + _s15(z)


def _linear_srgb_profile() -> bytes:
    """An ICC v2 display profile with sRGB primaries (D50-adapted) and a linear (gamma 1) curve."""
    text = b"Linear RGB, sRGB primaries (pixelsmith test)\0"
    desc = b"desc\0\0\0\0" + struct.pack(">I", len(text)) + text + bytes(4 + 4 + 3 + 67)
    curve = b"curv\0\0\0\0" + struct.pack(">IH", 1, 0x0100) + b"\0\0"
    tags = [
        (b"desc", desc),
        (b"wtpt", _xyz(0.9642, 1.0, 0.8249)),
        (b"rXYZ", _xyz(0.4361, 0.2225, 0.0139)),
        (b"gXYZ", _xyz(0.3851, 0.7169, 0.0971)),
        (b"bXYZ", _xyz(0.1431, 0.0606, 0.7141)),
        (b"rTRC", curve),
        (b"gTRC", curve),
        (b"bTRC", curve),
    ]
    start = 128 + 4 + 12 * len(tags)
    table, body = struct.pack(">I", len(tags)), b""
    for sig, data in tags:
        table += sig + struct.pack(">II", start + len(body), len(data))
        body += data + bytes(-len(data) % 4)
    header = (
        struct.pack(">I", start + len(body))
        + bytes(4)
        + struct.pack(">I", 0x02100000)
        + b"mntrRGB XYZ "
        + bytes(12)
        + b"acsp"
        + bytes(24)
        + bytes(4)
        + _s15(0.9642)
        + _s15(1.0)
        + _s15(0.8249)
        + bytes(48)
    )
    assert len(header) == 128
    return header + table + body


def _srgb_encode(x: np.ndarray) -> np.ndarray:
    return np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(x, 1 / 2.4) - 0.055)


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".tif"])
def test_icc_profile_converted_to_srgb(tmp_path: Path, suffix: str) -> None:
    icc = _linear_srgb_profile()
    values = np.array([0, 10, 32, 64, 128, 200, 255], np.uint8)
    arr = np.stack(np.meshgrid(values, values, values, indexing="ij"), -1).reshape(49, 7, 3)
    path = tmp_path / f"linear{suffix}"
    Image.fromarray(arr).save(
        path, icc_profile=icc, **({"quality": 100} if suffix == ".jpg" else {})
    )
    image, meta = read_image(path)
    assert meta.icc_converted and meta.icc_profile == icc
    decoded = _pil_array(path).astype(np.float64) / 255  # linear values as stored
    expected = _srgb_encode(decoded)
    got = image.numpy().transpose(1, 2, 0)
    assert np.abs(got - expected).max() <= 2.5 / 255
    assert np.abs(got - decoded).max() > 0.2  # the conversion really changed the values


def test_srgb_profile_left_alone(tmp_path: Path) -> None:
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    arr = _rgb(9)
    path = tmp_path / "srgb.png"
    Image.fromarray(arr).save(path, icc_profile=srgb)
    image, meta = read_image(path)
    assert not meta.icc_converted and meta.icc_profile == srgb
    np.testing.assert_array_equal(_as_int(image, 255), arr)


def test_loading_truncated_images_stays_off() -> None:
    import pixelsmith.io  # noqa: F401 - importing must not change Pillow's global

    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


# --------------------------------------------------------------------------------------------------
# Reading: bad files


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.png"
    with pytest.raises(PixelsmithError, match="file not found") as err:
        read_image(path)
    _one_line_naming(err, path)


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(PixelsmithError, match="folder") as err:
        read_image(tmp_path)
    _one_line_naming(err, tmp_path)


def test_zero_byte_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.png"
    path.touch()
    with pytest.raises(PixelsmithError, match="file is empty") as err:
        read_image(path)
    _one_line_naming(err, path)


def test_text_file_is_not_an_image(tmp_path: Path) -> None:
    for name in ("notes.png", "notes.tif", "notes.txt"):
        path = tmp_path / name
        path.write_text("hello, this is not a picture\n")
        with pytest.raises(PixelsmithError, match="not an image file") as err:
            read_image(path)
        _one_line_naming(err, path)


@pytest.mark.parametrize("suffix", [".jpg", ".png", ".tif", ".gif", ".webp"])
@pytest.mark.parametrize("keep", [0.5, 0.9])
def test_truncated_file_raises(tmp_path: Path, suffix: str, keep: float) -> None:
    full = tmp_path / f"full{suffix}"
    Image.fromarray(_rgb(10, (96, 128, 3))).save(full)
    data = full.read_bytes()
    path = tmp_path / f"cut{suffix}"
    path.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(PixelsmithError, match="truncated or corrupt|not an image") as err:
        read_image(path)
    _one_line_naming(err, path)


def test_truncated_16bit_png_raises(tmp_path: Path) -> None:
    full = tmp_path / "full.png"
    _png16_reference(full, _u16(11, (64, 64, 3)))
    path = tmp_path / "cut.png"
    path.write_bytes(full.read_bytes()[:3000])
    with pytest.raises(PixelsmithError, match="truncated or corrupt"):
        read_image(path)


def test_raw_file_sent_to_read_raw(tmp_path: Path) -> None:
    path = tmp_path / "photo.dng"
    path.write_bytes(b"II*\0" + bytes(100))
    with pytest.raises(PixelsmithError, match="read_raw"):
        read_image(path)


def test_pixel_limit_from_argument_and_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "img.png"
    Image.fromarray(_rgb()).save(path)
    with pytest.raises(PixelsmithError, match="over the limit of 100") as err:
        read_image(path, max_pixels=100)
    _one_line_naming(err, path)
    assert read_image(path, max_pixels=H * W)[0].shape == (3, H, W)
    monkeypatch.setenv("PIXELSMITH_MAX_PIXELS", "500")
    with pytest.raises(PixelsmithError, match="over the limit of 500"):
        read_image(path)
    assert read_image(path, max_pixels=H * W)[0].shape == (3, H, W)  # the argument wins
    monkeypatch.setenv("PIXELSMITH_MAX_PIXELS", "lots")
    with pytest.raises(PixelsmithError, match="PIXELSMITH_MAX_PIXELS"):
        read_image(path)


def test_crafted_bomb_header_refused_before_decoding(tmp_path: Path) -> None:
    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    path = tmp_path / "bomb.png"
    idat = zlib.compress(bytes(100_000 * 3 + 1) * 4)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )
    pillow_limit = Image.MAX_IMAGE_PIXELS
    with pytest.raises(PixelsmithError, match="100000x100000.*decompression bomb") as err:
        read_image(path)
    _one_line_naming(err, path)
    assert Image.MAX_IMAGE_PIXELS == pillow_limit  # Pillow's own limit is restored


def test_pillow_bomb_errors_become_ours(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "img.png"
    Image.fromarray(_rgb()).save(path)

    def bomb(*args: object) -> None:
        raise Image.DecompressionBombError("Image size (1 pixels) exceeds limit")

    monkeypatch.setattr(pio, "_decode", bomb)
    with pytest.raises(PixelsmithError, match="too large") as err:
        read_image(path)
    _one_line_naming(err, path)


# --------------------------------------------------------------------------------------------------
# Writing


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
    monkeypatch.setattr(pio.os, "access", lambda *a, **k: False)
    with pytest.raises(PixelsmithError, match="not writable") as err:
        write_image(path, torch.rand(3, 4, 4))
    _one_line_naming(err, path)
    monkeypatch.undo()

    def denied(*args: object, **kwargs: object) -> None:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(pio.tempfile, "mkstemp", denied)
    with pytest.raises(PixelsmithError, match="permission denied") as err:
        write_image(path, torch.rand(3, 4, 4))
    _one_line_naming(err, path)
    assert list(tmp_path.iterdir()) == []


def test_existing_file_needs_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "out.png"
    write_image(path, torch.zeros(1, 4, 4))
    with pytest.raises(PixelsmithError, match="already exists") as err:
        write_image(path, torch.ones(1, 4, 4))
    _one_line_naming(err, path)
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
    with pytest.raises(PixelsmithError, match="input file") as err:
        write_image(other_spelling, image, inputs=[src])
    assert "overwrite=True" in str(err.value)
    link = tmp_path / "link.png"
    link.symlink_to(src)
    with pytest.raises(PixelsmithError, match="input file"):
        write_image(src, image, inputs=[link])
    np.testing.assert_array_equal(_pil_array(src), _rgb())
    write_image(src, 1 - image, inputs=[src], overwrite=True)
    np.testing.assert_array_equal(_pil_array(src), 255 - _rgb())


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

    monkeypatch.setattr(pio.os, "fsync", full)
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

    monkeypatch.setattr(pio.os, "replace", broken)
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

    monkeypatch.setattr(pio.os, "fdopen", HalfWriter)
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


# --------------------------------------------------------------------------------------------------
# Listing


def test_list_images(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("b.png", "a.JPG", "c.tif", "notes.txt", "raw.dng"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "d.png").write_bytes(b"x")
    assert [p.name for p in list_images(tmp_path)] == ["a.JPG", "b.png", "c.tif"]
    assert [p.name for p in list_images(str(tmp_path / "*.png"))] == ["b.png"]
    assert [p.name for p in list_images([tmp_path / "**" / "*.png"])] == ["b.png", "d.png"]
    assert [p.name for p in list_images([tmp_path / "notes.txt", tmp_path])] == [
        "notes.txt",
        "a.JPG",
        "b.png",
        "c.tif",
    ]
    assert [p.name for p in list_images([tmp_path / "b.png", tmp_path])] == [
        "b.png",
        "a.JPG",
        "c.tif",
    ]
    assert [p.name for p in list_images(tmp_path, extensions={".dng"})] == ["raw.dng"]
    with pytest.raises(PixelsmithError, match="file not found") as err:
        list_images([tmp_path / "b.png", tmp_path / "gone.png"])
    _one_line_naming(err, tmp_path / "gone.png")
    with pytest.raises(PixelsmithError, match="no image files match"):
        list_images(str(tmp_path / "*.webp"))
    with pytest.raises(PixelsmithError, match="no image files in this folder"):
        list_images(tmp_path / "sub" / "..", extensions={".gif"})
    with pytest.raises(PixelsmithError, match="no input"):
        list_images([])


# --------------------------------------------------------------------------------------------------
# Camera raw


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
