"""Tests for pixelsmith.data.bayer against hand-built mosaics and a naive-loop bilinear demosaic."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from pixelsmith.data.bayer import (
    PATTERNS,
    crop_to_even,
    demosaic_bilinear,
    mosaic,
    pack,
    pattern_at,
    pattern_of,
    unpack,
)
from pixelsmith.errors import PixelsmithError

# The 2x2 tile of each pattern written out by hand, with R = 1, G on red rows = 2, B = 3,
# G on blue rows = 4.
TILES = {
    "RGGB": [[1, 2], [4, 3]],
    "BGGR": [[3, 4], [2, 1]],
    "GRBG": [[2, 1], [3, 4]],
    "GBRG": [[4, 3], [1, 2]],
}
# (row, col) in the tile of R, G1, B, G2, by hand.
SITES = {
    "RGGB": [(0, 0), (0, 1), (1, 1), (1, 0)],
    "BGGR": [(1, 1), (1, 0), (0, 0), (0, 1)],
    "GRBG": [(0, 1), (0, 0), (1, 0), (1, 1)],
    "GBRG": [(1, 0), (1, 1), (0, 1), (0, 0)],
}


@pytest.mark.parametrize("pattern", PATTERNS)
def test_pack_known_colours(pattern: str) -> None:
    m = torch.tensor(TILES[pattern], dtype=torch.float32).repeat(3, 4)  # (6, 8)
    packed = pack(m, pattern)
    assert packed.shape == (4, 3, 4)
    for k in range(4):
        assert torch.all(packed[k] == k + 1), (pattern, k)


@pytest.mark.parametrize("pattern", PATTERNS)
def test_unpack_inverts_pack(pattern: str) -> None:
    x = torch.rand(2, 3, 6, 8, generator=torch.Generator().manual_seed(0))
    packed = pack(x, pattern)
    assert packed.shape == (2, 3, 4, 3, 4)
    assert torch.equal(unpack(packed, pattern), x)
    p = torch.rand(5, 4, 2, 3)
    assert torch.equal(pack(unpack(p, pattern), pattern), p)


@pytest.mark.parametrize("pattern", PATTERNS)
def test_mosaic_then_pack_gives_colour_planes(pattern: str) -> None:
    rgb = torch.rand(2, 3, 4, 6, generator=torch.Generator().manual_seed(1))
    packed = pack(mosaic(rgb, pattern), pattern)
    for k, (channel, (i, j)) in enumerate(zip((0, 1, 2, 1), SITES[pattern], strict=True)):
        assert torch.equal(packed[:, k], rgb[:, channel, i::2, j::2])


def _naive_demosaic(m: np.ndarray, pattern: str) -> np.ndarray:
    """Per pixel and colour: the recorded value, else the mean of the same-colour pixels at the
    smallest distance among the 8 neighbours, indices mirrored at the border (reflect)."""
    h, w = m.shape
    colour = np.empty((h, w), dtype=int)
    for i in range(h):
        for j in range(w):
            colour[i, j] = "RGB".index(pattern[2 * (i % 2) + j % 2])

    def mirror(k: int, n: int) -> int:
        return -k if k < 0 else (2 * (n - 1) - k if k >= n else k)

    out = np.zeros((3, h, w))
    for c in range(3):
        for i in range(h):
            for j in range(w):
                if colour[i, j] == c:
                    out[c, i, j] = m[i, j]
                    continue
                for ring in (
                    [(-1, 0), (1, 0), (0, -1), (0, 1)],
                    [(-1, -1), (-1, 1), (1, -1), (1, 1)],
                ):
                    vals = [
                        m[mirror(i + di, h), mirror(j + dj, w)]
                        for di, dj in ring
                        if colour[mirror(i + di, h), mirror(j + dj, w)] == c
                    ]
                    if vals:
                        out[c, i, j] = np.mean(vals)
                        break
    return out


@pytest.mark.parametrize("pattern", PATTERNS)
def test_demosaic_matches_naive_loop(pattern: str) -> None:
    m = torch.rand(6, 8, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    expected = _naive_demosaic(m.numpy(), pattern)
    np.testing.assert_allclose(demosaic_bilinear(m, pattern).numpy(), expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("pattern", PATTERNS)
def test_demosaic_constant_colour_exact(pattern: str) -> None:
    colour = torch.tensor([0.2, 0.5, 0.7])
    rgb = colour[:, None, None].expand(3, 8, 10).repeat(2, 1, 1, 1)
    out = demosaic_bilinear(mosaic(rgb, pattern), pattern)
    assert out.shape == (2, 3, 8, 10)
    torch.testing.assert_close(out, rgb, rtol=0, atol=1e-7)


@pytest.mark.parametrize("pattern", PATTERNS)
def test_demosaic_linear_ramp_exact_inside(pattern: str) -> None:
    y, x = torch.meshgrid(
        torch.arange(10, dtype=torch.float64), torch.arange(12, dtype=torch.float64), indexing="ij"
    )
    rgb = torch.stack(
        [0.1 + 0.03 * y + 0.02 * x, 0.5 - 0.01 * y + 0.04 * x, 0.2 + 0.05 * y - 0.01 * x]
    )
    out = demosaic_bilinear(mosaic(rgb, pattern), pattern)
    torch.testing.assert_close(out[:, 1:-1, 1:-1], rgb[:, 1:-1, 1:-1], rtol=0, atol=1e-12)
    assert not torch.allclose(out, rgb, atol=1e-6)  # reflection bends the ramp at the border


def test_demosaic_keeps_recorded_values_and_gradients() -> None:
    m = torch.rand(1, 4, 6, requires_grad=True)
    out = demosaic_bilinear(m, "RGGB")
    assert torch.equal(out[0, 0, 0::2, 0::2], m[0, 0::2, 0::2])
    assert torch.equal(out[0, 2, 1::2, 1::2], m[0, 1::2, 1::2])
    out.sum().backward()
    assert m.grad is not None and torch.isfinite(m.grad).all()


def test_invalid_pattern_and_sizes() -> None:
    m = torch.zeros(4, 4)
    for bad in ("RGBG", "RGGG", "RBGG", "", 3):
        with pytest.raises(PixelsmithError, match="unknown Bayer pattern"):
            pack(m, bad)  # type: ignore[arg-type]
    assert torch.equal(pack(m, "rggb"), pack(m, "RGGB"))
    for shape in ((5, 4), (4, 7)):
        with pytest.raises(PixelsmithError, match="even height and width"):
            pack(torch.zeros(shape), "RGGB")
        with pytest.raises(PixelsmithError, match="even height and width"):
            demosaic_bilinear(torch.zeros(shape), "RGGB")
    with pytest.raises(ValueError):
        unpack(torch.zeros(3, 2, 2), "RGGB")
    with pytest.raises(ValueError):
        mosaic(torch.zeros(4, 4, 4), "RGGB")


def test_crop_helpers() -> None:
    assert crop_to_even(torch.zeros(2, 5, 7)).shape == (2, 4, 6)
    assert crop_to_even(torch.zeros(4, 6)).shape == (4, 6)
    assert pattern_at("RGGB", 0, 0) == "RGGB"
    assert pattern_at("RGGB", 0, 1) == "GRBG"
    assert pattern_at("RGGB", 1, 0) == "GBRG"
    assert pattern_at("RGGB", 1, 1) == "BGGR"
    assert pattern_at("GRBG", 3, 2) == "BGGR"
    # a mosaic cropped at an odd offset, packed with the shifted pattern, gives the same planes
    rgb = torch.rand(3, 8, 8, generator=torch.Generator().manual_seed(3))
    m = mosaic(rgb, "GBRG")
    assert pattern_at("GBRG", 1, 1) == "GRBG"
    cropped = pack(m[1:7, 1:7], pattern_at("GBRG", 1, 1))
    assert torch.equal(cropped, pack(mosaic(rgb[:, 1:7, 1:7], "GRBG"), "GRBG"))


def test_pattern_of_libraw_fields() -> None:
    raw = SimpleNamespace(cfa_pattern=np.array([[1, 0], [2, 3]]), cfa_desc="RGBG", path=None)
    assert pattern_of(raw) == "GRBG"
    raw = SimpleNamespace(cfa_pattern=np.array([[0, 1], [3, 2]]), cfa_desc="RGBG", path=None)
    assert pattern_of(raw) == "RGGB"
    raw = SimpleNamespace(cfa_pattern=np.array([[0, 1], [2, 3]]), cfa_desc="RGBG", path="x.dng")
    with pytest.raises(PixelsmithError, match="not an RGB Bayer mosaic"):
        pattern_of(raw)  # "RGBG" read row by row: greens side by side


@pytest.mark.data
def test_pattern_of_real_raw(shared_data) -> None:
    path = shared_data / "raw" / "RAW_KODAK_DC50.KDC"
    if not path.exists():
        pytest.skip(f"needs ../shared/data: {path} is missing")
    from pixelsmith.io import read_raw

    raw = read_raw(path)
    assert pattern_of(raw) == "GRBG" == raw.pattern_string
    packed = pack(raw.bayer, pattern_of(raw))
    assert packed.shape == (4, 256, 384)
