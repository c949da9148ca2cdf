"""PhotoFolder: 16-bit sources keep their levels; without the cache, sizes come from the headers."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

import pixelsmith.data.photos as photos
from pixelsmith.data.photos import PhotoFolder, step_generator
from pixelsmith.errors import PixelsmithError
from pixelsmith.io import read_image, write_image


def _random_rgb(h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_16_bit_png_keeps_levels_that_8_bits_would_lose(tmp_path):
    levels = (np.arange(32 * 32, dtype=np.uint16) * 64).reshape(32, 32)  # 1024 levels
    Image.fromarray(levels).save(tmp_path / "a_grey16.png")  # mode I;16
    rgb = np.stack([levels, levels.T, 65535 - levels]).astype(np.float64)
    write_image(tmp_path / "b_rgb16.png", torch.from_numpy(rgb / 65535).float(), bit_depth=16)
    data = PhotoFolder([tmp_path])
    for i, expected in enumerate((np.broadcast_to(levels, (3, 32, 32)), rgb)):
        img = data.image(i)
        assert img.dtype == torch.uint16
        np.testing.assert_array_equal(img.to(torch.int32).numpy(), expected)
        crop = PhotoFolder([data.paths[i]]).random_crops(1, 32, step_generator(0, 0), False)[0]
        assert crop.dtype == torch.float32
        np.testing.assert_allclose(crop.numpy(), expected / 65535, rtol=0, atol=1e-7)
        assert len(torch.unique(crop)) > 256 >= len(torch.unique((crop * 255).round()))


def test_8_bit_photo_stays_uint8(tmp_path):
    Image.fromarray(_random_rgb(20, 30)).save(tmp_path / "a.png")
    img = PhotoFolder([tmp_path]).image(0)
    assert img.dtype == torch.uint8 and img.shape == (3, 20, 30)
    assert torch.equal(img, torch.from_numpy(_random_rgb(20, 30)).permute(2, 0, 1))


def test_uncached_folder_does_not_decode_at_construction(tmp_path, monkeypatch):
    for k in range(3):
        Image.fromarray(_random_rgb(24 + k, 40, seed=k)).save(tmp_path / f"{k}.png")
    calls = []
    decode = photos.read_image

    def counting_read_image(path, **kwargs):
        calls.append(path)
        return decode(path, **kwargs)

    monkeypatch.setattr(photos, "read_image", counting_read_image)
    lazy = PhotoFolder([tmp_path], cache=False)
    assert calls == []
    assert lazy.sizes == [(24, 40), (25, 40), (26, 40)]
    lazy.random_crops(2, 16, step_generator(0, 0))
    assert len(calls) == 2


def test_uncached_folder_reads_only_the_header(tmp_path):
    """A file whose header is valid but whose pixel data is cut off: only decoding finds out."""
    Image.fromarray(_random_rgb(50, 60)).save(tmp_path / "cut.png")
    data = (tmp_path / "cut.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 3])
    lazy = PhotoFolder([tmp_path], cache=False)
    assert lazy.sizes == [(50, 60)]
    with pytest.raises(PixelsmithError):
        lazy.random_crops(1, 8, step_generator(0, 0))
    with pytest.raises(PixelsmithError):
        PhotoFolder([tmp_path])


@pytest.mark.parametrize("orientation", range(1, 9))
def test_orientation_tagged_jpeg_has_the_same_size_both_ways(tmp_path, orientation):
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / "tagged.jpg"
    Image.fromarray(_random_rgb(24, 40)).save(path, exif=exif, quality=95)
    upright = tuple(read_image(path)[0].shape[-2:])
    assert upright == ((40, 24) if orientation >= 5 else (24, 40))
    cached, lazy = PhotoFolder([path]), PhotoFolder([path], cache=False)
    assert cached.sizes == lazy.sizes == [upright]
    assert torch.equal(
        cached.random_crops(3, 20, step_generator(3, 4)),
        lazy.random_crops(3, 20, step_generator(3, 4)),
    )
