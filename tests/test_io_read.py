"""Tests for read_image on good files: formats, modes, bit depths, alpha, orientation, ICC.

Checked against Pillow, numpy and tifffile used directly.
"""

from __future__ import annotations

import struct
import warnings
from pathlib import Path

import numpy as np
import pytest
import tifffile
import torch
from io_helpers import (
    H,
    W,
    _as_int,
    _linear_srgb_profile,
    _pil_array,
    _png16_reference,
    _png_chunk,
    _rgb,
    _u16,
)
from PIL import Image, ImageCms, ImageFile, ImageOps

from pixelsmith.io import FirstFrameOnlyWarning, read_image


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
    with pytest.warns(FirstFrameOnlyWarning, match="2 frames"):
        image, meta = read_image(path)
    assert meta.n_frames == 2 and meta.format == "GIF"
    np.testing.assert_array_equal(_as_int(image, 255), np.asarray(frames[0]))


@pytest.mark.parametrize("suffix", [".gif", ".webp", ".png"])
def test_animated_image_warns_once(tmp_path: Path, suffix: str) -> None:
    colours = ((255, 0, 0), (0, 255, 0), (0, 0, 255))
    frames = [Image.new("RGB", (W, H), c) for c in colours]
    path = tmp_path / f"anim{suffix}"
    lossless = {"lossless": True} if suffix == ".webp" else {}
    frames[0].save(path, save_all=True, append_images=frames[1:], **lossless)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        image, meta = read_image(path)
    assert [str(w.message) for w in caught] == [
        f"{path}: animated image with 3 frames; only the first is used"
    ]
    assert caught[0].category is FirstFrameOnlyWarning and caught[0].filename == __file__
    assert meta.n_frames == 3
    np.testing.assert_array_equal(_as_int(image, 255), np.asarray(frames[0]))


def test_multi_page_tiff_warns(tmp_path: Path) -> None:
    path = tmp_path / "pages.tif"
    with tifffile.TiffWriter(path) as tif:
        for seed in (1, 2):
            tif.write(_rgb(seed), photometric="rgb")
    with pytest.warns(FirstFrameOnlyWarning, match="multi-page image with 2 pages; only the first"):
        image, _ = read_image(path)
    np.testing.assert_array_equal(_as_int(image, 255), _rgb(1))


def test_single_frame_does_not_warn(tmp_path: Path) -> None:
    for suffix in (".gif", ".tif", ".png"):
        path = tmp_path / f"still{suffix}"
        Image.fromarray(_rgb(3)).save(path)
        with warnings.catch_warnings():
            warnings.simplefilter("error", FirstFrameOnlyWarning)
            read_image(path)


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
