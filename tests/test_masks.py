"""Hole masks: generated ranges, margins and determinism; reading, writing; NVIDIA's test masks."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from pixelsmith.data.masks import (
    BUCKETS,
    NVIDIA_MARGIN,
    bucket_name,
    hole_ratio,
    mask_from_alpha,
    nvidia_bucket,
    nvidia_masks,
    parse_ratio,
    random_mask,
    random_masks,
    read_mask,
    write_masks,
)
from pixelsmith.errors import PixelsmithError


def _holes(mask: torch.Tensor) -> np.ndarray:
    """Hole pixels of a known-mask, counted without the module's own helpers."""
    return mask.numpy() == 0


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("size", [(128, 128), (96, 160)])
@pytest.mark.parametrize("bucket", range(len(BUCKETS)))
def test_random_mask_lands_in_its_bucket(size, bucket):
    lo, hi = BUCKETS[bucket]
    h, w = size
    for seed in range(8):
        m = random_mask(h, w, _gen(seed), (lo, hi))
        assert m.shape == (1, h, w) and m.dtype == torch.float32
        assert set(np.unique(m.numpy())) <= {0.0, 1.0}
        ratio = _holes(m).sum() / (h * w)
        assert lo <= ratio <= hi, (seed, ratio)
        assert hole_ratio(m) == pytest.approx(ratio, abs=1e-12)


@pytest.mark.parametrize("bucket", [0, 3, 5])
def test_margin_keeps_holes_off_the_border(bucket):
    lo, hi = BUCKETS[bucket]
    for seed, margin in [(0, 5), (1, 12), (2, 15)]:  # 15: the inside is 0.59 of 128x128
        m = random_mask(128, 128, _gen(seed), (lo, hi), margin=margin)
        holes = _holes(m)[0]
        assert not holes[:margin].any() and not holes[-margin:].any()
        assert not holes[:, :margin].any() and not holes[:, -margin:].any()
        assert lo <= holes.mean() <= hi


def test_impossible_ratio_is_refused():
    with pytest.raises(ValueError, match="margin"):
        random_mask(64, 64, _gen(0), (0.5, 0.6), margin=10)  # the inside is 0.39 of the image
    with pytest.raises(ValueError):
        random_mask(64, 64, _gen(0), (0.3, 0.2))
    with pytest.raises(ValueError):
        random_mask(4, 4, _gen(0), (0.01, 0.05))  # 1/16 > 0.05: no count of pixels fits


def test_same_generator_state_same_mask():
    a = random_mask(96, 160, _gen(3), (0.2, 0.3))
    b = random_mask(96, 160, _gen(3), (0.2, 0.3))
    assert torch.equal(a, b)
    assert not torch.equal(a, random_mask(96, 160, _gen(4), (0.2, 0.3)))
    g = _gen(3)
    first, second = random_mask(96, 160, g, (0.2, 0.3)), random_mask(96, 160, g, (0.2, 0.3))
    assert torch.equal(first, a) and not torch.equal(first, second)


def test_shapes_scale_with_the_image():
    """Edge pixels per hole pixel, times the side, is the same at 128 and 512 when the shapes
    grow with the image (it would be 4 times larger at 512 if they kept their size in pixels)."""

    def edges_per_hole(m: torch.Tensor) -> float:
        h = _holes(m)[0]
        edge = np.zeros_like(h)
        edge[1:] |= h[1:] != h[:-1]
        edge[:, 1:] |= h[:, 1:] != h[:, :-1]
        return edge.sum() / h.sum()

    small, large = (
        np.mean([edges_per_hole(random_mask(n, n, _gen(s), (0.2, 0.3))) * n for s in range(10)])
        for n in (128, 512)
    )
    assert 1 / 1.5 < large / small < 1.5


def test_unconstrained_mask_has_holes_and_known_pixels():
    m = random_mask(128, 128, _gen(0))
    assert 0 < _holes(m).mean() < 1


def test_random_masks_batch():
    batch = random_masks(12, (96, 160), _gen(0))
    assert batch.shape == (12, 1, 96, 160) and batch.dtype == torch.float32
    ratios = _holes(batch).reshape(12, -1).mean(axis=1)
    assert all(any(lo <= r <= hi for lo, hi in BUCKETS) for r in ratios)
    assert torch.equal(batch, random_masks(12, (96, 160), _gen(0)))
    one = random_masks(4, 64, _gen(1), ratios=[(0.3, 0.4)], margin=4)
    assert one.shape == (4, 1, 64, 64)
    r = _holes(one).reshape(4, -1).mean(axis=1)
    assert ((r >= 0.3) & (r <= 0.4)).all()
    assert not _holes(one)[..., :4, :].any() and not _holes(one)[..., :, -4:].any()


def test_bucket_names_and_parse_ratio():
    assert bucket_name(0) == "0.01-0.1"
    assert bucket_name(2) == "0.2-0.3"
    assert [parse_ratio(bucket_name(i)) for i in range(len(BUCKETS))] == list(BUCKETS)
    assert parse_ratio(" 0.25-0.5 ") == (0.25, 0.5)
    with pytest.raises(ValueError):
        bucket_name(len(BUCKETS))


@pytest.mark.parametrize(
    "text", ["0.2", "0.2-", "a-b", "0.1-0.2-0.3", "0.3-0.2", "0.2-0.2", "0-0.5", "0.5-1", "nan-0.5"]
)
def test_parse_ratio_refuses(text):
    with pytest.raises(PixelsmithError, match="hole ratio"):
        parse_ratio(text)


def test_hole_ratio_by_hand():
    m = torch.ones(1, 4, 4)
    m[0, 0, :3] = 0
    assert hole_ratio(m) == 3 / 16


def test_mask_from_alpha():
    alpha = torch.tensor([[[0.0, 0.2, 0.5, 1.0]]])
    assert mask_from_alpha(alpha).tolist() == [[[0.0, 0.0, 1.0, 1.0]]]
    assert mask_from_alpha(alpha[None]).shape == (1, 1, 1, 4)
    with pytest.raises(ValueError):
        mask_from_alpha(torch.ones(3, 4, 4))


def test_read_mask_white_is_hole(tmp_path):
    pixels = np.zeros((10, 12), np.uint8)
    pixels[2:5, 3:7] = 255
    Image.fromarray(pixels).save(tmp_path / "m.png")
    m = read_mask(tmp_path / "m.png")
    assert m.shape == (1, 10, 12) and m.dtype == torch.float32
    assert (m[0, 2:5, 3:7] == 0).all()
    assert m.sum() == 10 * 12 - 12


def test_read_mask_colour_uses_luminance_and_ignores_alpha(tmp_path):
    rgba = np.zeros((2, 3, 4), np.uint8)
    rgba[0, 0] = (255, 255, 255, 0)  # white, transparent: a hole (alpha ignored)
    rgba[0, 1] = (255, 0, 0, 255)  # red: luma 76, known
    rgba[0, 2] = (200, 200, 0, 255)  # yellow: luma 177, hole
    rgba[1, :] = (0, 255, 0, 255)  # green: luma 150, hole
    Image.fromarray(rgba, "RGBA").save(tmp_path / "rgba.png")
    Image.fromarray(rgba[..., :3], "RGB").save(tmp_path / "rgb.png")
    expected = [[[0.0, 1.0, 0.0], [0.0, 0.0, 0.0]]]
    assert read_mask(tmp_path / "rgba.png").tolist() == expected
    assert read_mask(tmp_path / "rgb.png").tolist() == expected


def test_read_mask_resizes_like_pil_nearest(tmp_path):
    pixels = (np.random.default_rng(0).random((37, 53)) > 0.5).astype(np.uint8) * 255
    im = Image.fromarray(pixels)
    im.save(tmp_path / "m.png")
    for h, w in [(20, 90), (74, 26), (37, 53)]:
        reference = np.asarray(im.resize((w, h), Image.Resampling.NEAREST)) < 128
        got = read_mask(tmp_path / "m.png", size=(h, w))
        assert got.shape == (1, h, w)
        np.testing.assert_array_equal(got[0].numpy() == 1, reference)


def test_read_mask_bad_files(tmp_path):
    missing = tmp_path / "nope.png"
    with pytest.raises(PixelsmithError, match="nope.png"):
        read_mask(missing)
    junk = tmp_path / "junk.png"
    junk.write_text("not an image")
    with pytest.raises(PixelsmithError, match="junk.png"):
        read_mask(junk)


def test_write_masks_round_trip(tmp_path):
    paths = write_masks(tmp_path, 3, size=(48, 64), ratio=(0.2, 0.3), seed=5)
    assert [p.name for p in paths] == ["mask_00000.png", "mask_00001.png", "mask_00002.png"]
    expected = random_masks(3, (48, 64), _gen(5), ratios=[(0.2, 0.3)])
    for p, e in zip(paths, expected, strict=True):
        with Image.open(p) as im:
            assert im.mode == "L" and im.size == (64, 48)
            pixels = np.asarray(im)
        assert set(np.unique(pixels)) <= {0, 255}
        assert 0.2 <= (pixels == 255).mean() <= 0.3
        m = read_mask(p)
        np.testing.assert_array_equal(m[0].numpy() == 0, pixels == 255)
        assert torch.equal(m, e)
    assert sorted(tmp_path.iterdir()) == paths  # no temporary files left behind


def test_write_masks_refuses_overwrite_and_missing_folder(tmp_path):
    (tmp_path / "mask_00001.png").write_bytes(b"keep")
    with pytest.raises(PixelsmithError, match="mask_00001.png"):
        write_masks(tmp_path, 3, size=(32, 32), seed=0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mask_00001.png"]  # nothing written
    assert (tmp_path / "mask_00001.png").read_bytes() == b"keep"
    with pytest.raises(PixelsmithError, match="not found"):
        write_masks(tmp_path / "missing", 1, size=(32, 32))
    with pytest.raises(PixelsmithError):
        write_masks(tmp_path, 1, size=(64, 64), ratio=(0.5, 0.6), margin=10)


def test_nvidia_names(tmp_path):
    numbers = ["00000", "00996", "01000", "01996", "02000", "05000", "11996"]
    for n in numbers:
        (tmp_path / f"{n}.png").touch()
    for stray in ["README_NVIDIA.txt", "12000.png", "1234.png", "00004.jpg"]:
        (tmp_path / stray).touch()

    def names(**kw):
        return [p.stem for p in nvidia_masks(tmp_path, **kw)]

    assert names() == numbers
    assert names(bucket=0) == ["00000", "00996", "01000", "01996"]
    assert names(bucket=0, border=False) == ["00000", "00996"]
    assert names(bucket=0, border=True) == ["01000", "01996"]
    assert names(bucket=2) == ["05000"]
    assert names(border=False) == ["00000", "00996", "02000"]  # 05000, 11996: second halves
    assert names(bucket=5, border=True) == ["11996"]
    assert names(bucket=4) == []
    assert [nvidia_bucket(tmp_path / f"{n}.png") for n in numbers] == [0, 0, 0, 0, 1, 2, 5]
    for bad in ["12000.png", "1234.png", "README_NVIDIA.txt"]:
        with pytest.raises(PixelsmithError, match="NVIDIA"):
            nvidia_bucket(tmp_path / bad)
    with pytest.raises(ValueError):
        nvidia_masks(tmp_path, bucket=6)
    with pytest.raises(PixelsmithError, match="not found"):
        nvidia_masks(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(PixelsmithError, match="no NVIDIA"):
        nvidia_masks(tmp_path / "empty")


@pytest.mark.data
@pytest.mark.parametrize("bucket", range(len(BUCKETS)))
def test_nvidia_masks_match_their_buckets(shared_data, bucket):
    """Five masks of each half of each bucket: the hole ratio lies in the bucket (all 3000 do), the
    margin half keeps 50 px clear, the other half comes within 40 px of the border (in buckets 0
    and 1 a few of its masks stop short of touching it)."""
    folder = shared_data / "masks_nvidia_test"
    lo, hi = BUCKETS[bucket]
    for border in (False, True):
        paths = nvidia_masks(folder, bucket, border)
        assert len(paths) == 250  # every 4th of 1000
        for p in paths[::50]:
            assert nvidia_bucket(p) == bucket
            m = read_mask(p)
            assert m.shape == (1, 512, 512)
            holes = _holes(m)[0]
            assert lo <= holes.mean() <= hi, p.name
            ys, xs = np.nonzero(holes)
            gap = min(ys.min(), xs.min(), 511 - ys.max(), 511 - xs.max())
            if border:
                assert gap < 40, p.name
            else:
                assert gap >= NVIDIA_MARGIN, p.name
