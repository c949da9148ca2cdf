"""pixelsmith.resize against MATLAB's imresize, written out naively, and hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from pixelsmith.errors import PixelsmithError
from pixelsmith.resize import Imresize, imresize, imresize_uint8, resize_weights


def _cubic(x: float) -> float:
    ax = abs(x)
    if ax <= 1:
        return 1.5 * ax**3 - 2.5 * ax**2 + 1
    if ax <= 2:
        return -0.5 * ax**3 + 2.5 * ax**2 - 4 * ax + 2
    return 0.0


def _contributions(in_len: int, out_len: int, scale: float, antialias: bool):
    """MATLAB imresize.m's ``contributions`` by loops: 0-based indices and weights per output."""
    if scale < 1 and antialias:
        width = 4.0 / scale

        def h(d: float) -> float:
            return scale * _cubic(scale * d)
    else:
        width = 4.0
        h = _cubic
    taps = math.ceil(width) + 2
    result = []
    for i in range(1, out_len + 1):
        u = i / scale + 0.5 * (1 - 1 / scale)
        left = math.floor(u - width / 2)
        idx = [left + p for p in range(taps)]
        w = [h(u - j) for j in idx]
        total = sum(w)
        w = [v / total for v in w]
        aux = list(range(1, in_len + 1)) + list(range(in_len, 0, -1))  # MATLAB's symmetric padding
        idx = [aux[(j - 1) % len(aux)] - 1 for j in idx]
        result.append((idx, w))
    return result


def _naive_imresize(img: np.ndarray, scale=None, size=None, antialias=True, as_uint8=False):
    """imresize.m for a 2-D image: resizeAlongDim per axis in MATLAB's order, sample by sample."""
    h, w = img.shape
    if size is None:
        scales = (scale, scale)
        size = (math.ceil(scale * h), math.ceil(scale * w))
    else:
        scales = (size[0] / h, size[1] / w)
    out = img.astype(np.float64)
    order = [0, 1] if scales[0] <= scales[1] else [1, 0]
    for dim in order:
        contrib = _contributions(out.shape[dim], size[dim], scales[dim], antialias)
        src = out if dim == 0 else out.T
        dst = np.zeros((size[dim], src.shape[1]))
        for i, (idx, wts) in enumerate(contrib):
            for c in range(src.shape[1]):
                acc = 0.0
                for j, wt in zip(idx, wts, strict=True):
                    acc += wt * src[j, c]
                dst[i, c] = acc
        if as_uint8:
            dst = np.clip(np.floor(dst + 0.5), 0, 255)
        out = dst if dim == 0 else dst.T
    return out


def _dense_weights(in_len: int, out_len: int, scale: float, antialias: bool) -> np.ndarray:
    """The previous implementation's ``(out_len, in_len)`` matrix, mirrored taps summed in."""
    width = 4.0 / scale if scale < 1 and antialias else 4.0
    stretch = scale if scale < 1 and antialias else 1.0
    u = np.arange(1, out_len + 1) / scale + 0.5 * (1 - 1 / scale)
    idx = np.floor(u - width / 2)[:, None] + np.arange(math.ceil(width) + 2)[None, :]
    w = stretch * np.vectorize(_cubic)(stretch * (u[:, None] - idx))
    w /= w.sum(axis=1, keepdims=True)
    mirror = np.r_[np.arange(in_len), np.arange(in_len - 1, -1, -1)]
    cols = mirror[(idx.astype(int) - 1) % (2 * in_len)]
    matrix = np.zeros((out_len, in_len))
    np.add.at(matrix, (np.arange(out_len)[:, None], cols), w)
    return matrix


def _dense_imresize(x: torch.Tensor, size: tuple[int, int], scales: tuple[float, float], antialias):
    """``(*, H, W)`` float64 -> ``(*, size)``: one dense matrix product per axis, MATLAB's order."""
    y = x
    for axis in sorted((0, 1), key=lambda a: scales[a]):
        m = torch.from_numpy(_dense_weights(y.shape[axis - 2], size[axis], scales[axis], antialias))
        y = m @ y if axis == 0 else y @ m.T
    return y


def test_hand_computed_upscale_of_a_step():
    # imresize([0 1], [1 4]): u = 0.75, 1.25, 1.75, 2.25 with taps mirrored at both ends;
    # cubic(0.25) = 0.8671875, cubic(0.75) = 0.2265625,
    # cubic(1.25) = -0.0703125, cubic(1.75) = -0.0234375
    x = torch.tensor([[0.0, 1.0]], dtype=torch.float64)
    out = imresize(x, size=(1, 4))
    expected = torch.tensor([[-0.09375, 0.203125, 0.796875, 1.09375]], dtype=torch.float64)
    torch.testing.assert_close(out, expected, rtol=0, atol=1e-15)


def test_matlab_x2_downscale_kernel():
    # The well-known MATLAB bicubic 1/2 antialiasing filter: cubic(d / 2) / 2, d = +-0.5 ... +-3.5.
    kernel = [-0.01171875, -0.03515625, 0.11328125, 0.43359375]
    kernel = kernel + kernel[::-1]
    w = resize_weights(16, 8, 0.5)
    for row in range(2, 6):  # interior rows: no mirrored taps
        expected = torch.zeros(16, dtype=torch.float64)
        expected[2 * row - 3 : 2 * row + 5] = torch.tensor(kernel, dtype=torch.float64)
        torch.testing.assert_close(w[row], expected, rtol=0, atol=1e-15)


@pytest.mark.parametrize(
    "shape,kwargs",
    [
        ((9, 7), {"scale": 2}),
        ((9, 7), {"scale": 3}),
        ((5, 6), {"scale": 4}),
        ((12, 12), {"scale": 1 / 2}),
        ((12, 15), {"scale": 1 / 3}),
        ((16, 12), {"scale": 1 / 4}),
        ((11, 13), {"scale": 0.7}),
        ((7, 10), {"scale": 1.5}),
        ((10, 14), {"size": (4, 21)}),
        ((10, 14), {"size": (17, 5)}),
        ((12, 12), {"scale": 1 / 3, "antialias": False}),
        ((3, 2), {"scale": 1 / 2}),
    ],
)
def test_matches_naive_matlab(shape, kwargs):
    rng = np.random.default_rng(sum(shape))
    img = rng.random(shape)
    ours = imresize(
        torch.from_numpy(img),
        kwargs.get("scale"),
        size=kwargs.get("size"),
        antialias=kwargs.get("antialias", True),
    )
    ref = _naive_imresize(
        img, kwargs.get("scale"), kwargs.get("size"), kwargs.get("antialias", True)
    )
    assert ours.shape == ref.shape
    np.testing.assert_allclose(ours.numpy(), ref, rtol=0, atol=1e-12)


@pytest.mark.parametrize("scale", [1 / 2, 1 / 3, 2, 3])
def test_uint8_matches_naive_matlab(scale):
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, size=(12, 9)).astype(np.uint8)
    ours = imresize_uint8(torch.from_numpy(img), scale)
    assert ours.dtype == torch.uint8
    ref = _naive_imresize(img, scale, as_uint8=True)
    np.testing.assert_array_equal(ours.numpy(), ref.astype(np.uint8))


@pytest.mark.parametrize("scale", [1 / 4, 1 / 3, 1 / 2, 0.8, 1.3, 2, 3, 4])
def test_weights_rows_sum_to_one_and_constant_is_kept(scale):
    w = resize_weights(24, math.ceil(24 * scale), scale)
    torch.testing.assert_close(w.sum(1), torch.ones(w.shape[0], dtype=torch.float64))
    x = torch.full((2, 24, 24), 0.37, dtype=torch.float64)
    torch.testing.assert_close(imresize(x, scale), torch.full_like(imresize(x, scale), 0.37))


def test_upscaled_ramp_interior_is_exact():
    # Cubic convolution (a = -0.5) reproduces linear functions, so away from the mirrored border the
    # output equals the ramp sampled at MATLAB's source coordinates u = i / s + (1 - 1 / s) / 2.
    n, s = 16, 2
    ramp = torch.arange(1, n + 1, dtype=torch.float64)[None, :].repeat(
        3, 1
    )  # value = 1-based index
    out = imresize(ramp, size=(3, n * s))
    u = torch.arange(1, n * s + 1, dtype=torch.float64) / s + 0.5 * (1 - 1 / s)
    interior = slice(2 * s, n * s - 2 * s)
    torch.testing.assert_close(out[1, interior], u[interior], rtol=0, atol=1e-12)


def test_identity_at_scale_one():
    x = torch.rand(2, 3, 7, 5, dtype=torch.float64)
    torch.testing.assert_close(imresize(x, 1.0), x, rtol=0, atol=1e-15)


def test_shapes_dtypes_and_batching():
    x = torch.rand(2, 3, 12, 18, dtype=torch.float32)
    out = imresize(x, 1 / 3)
    assert out.shape == (2, 3, 4, 6) and out.dtype == torch.float32
    torch.testing.assert_close(out[1, 2], imresize(x[1, 2], 1 / 3))
    assert imresize(x, 2.5).shape == (2, 3, 30, 45)  # ceil(scale * size)
    assert imresize(torch.rand(5, 5), 1 / 2).shape == (3, 3)
    assert imresize(x, (0.5, 2)).shape == (2, 3, 6, 36)
    module = Imresize(size=(5, 7))
    assert module(x).shape == (2, 3, 5, 7)
    assert "size=(5, 7)" in repr(module)


def test_gradcheck():
    x = torch.rand(1, 2, 6, 5, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: imresize(t, 1 / 2), (x,))
    assert torch.autograd.gradcheck(lambda t: imresize(t, size=(9, 4)), (x,))


def test_bad_arguments():
    x = torch.rand(4, 4)
    with pytest.raises(PixelsmithError):
        imresize(x)
    with pytest.raises(PixelsmithError):
        imresize(x, 2, size=(8, 8))
    with pytest.raises(PixelsmithError):
        imresize(x, -1)
    with pytest.raises(PixelsmithError):
        imresize(torch.rand(4), 2)
    with pytest.raises(TypeError):
        imresize(torch.zeros(4, 4, dtype=torch.uint8), 2)
    with pytest.raises(TypeError):
        imresize_uint8(x, 2)
    with pytest.raises(TypeError):
        imresize(np.zeros((4, 4)), 2)


@pytest.mark.parametrize("chunk", [None, 7])
@pytest.mark.parametrize("seed", range(6))
def test_banded_gather_equals_the_dense_matrices(seed, chunk, monkeypatch):
    """Random odd and even sizes, integer and fractional scales, shrinking with and without
    antialiasing, given as a scale or a size; also with tiny chunks (many chunks per image)."""
    if chunk is not None:
        monkeypatch.setattr("pixelsmith.resize._CHUNK_ELEMENTS", chunk)
    rng = np.random.default_rng(seed)
    for _ in range(8):
        h, w = (int(n) for n in rng.integers(1, 40, size=2))
        antialias = bool(rng.integers(0, 2))
        x = torch.from_numpy(rng.standard_normal((2, 3, h, w)))
        if rng.random() < 0.5:
            s = float(rng.choice([1 / 4, 1 / 3, 0.37, 1 / 2, 0.8, 1.0, 1.3, 2, 2.5, 3, 4]))
            size, scales = (math.ceil(s * h), math.ceil(s * w)), (s, s)
            ours = imresize(x, s, antialias=antialias)
        else:
            size = (int(rng.integers(1, 50)), int(rng.integers(1, 50)))
            scales = (size[0] / h, size[1] / w)
            ours = imresize(x, size=size, antialias=antialias)
        ref = _dense_imresize(x, size, scales, antialias)
        assert ours.shape == ref.shape
        torch.testing.assert_close(ours, ref, rtol=0, atol=1e-12)


def test_chunked_passes_match_and_stay_differentiable(monkeypatch):
    x = torch.rand(2, 11, 9, dtype=torch.float64, requires_grad=True)
    whole = imresize(x, 1 / 3)
    img = torch.randint(0, 256, (3, 13, 10), dtype=torch.uint8)
    whole_uint8 = imresize_uint8(img, (2, 0.5))
    monkeypatch.setattr("pixelsmith.resize._CHUNK_ELEMENTS", 5)
    torch.testing.assert_close(imresize(x, 1 / 3), whole, rtol=0, atol=1e-15)
    torch.testing.assert_close(imresize_uint8(img, (2, 0.5)), whole_uint8, rtol=0, atol=0)
    assert torch.autograd.gradcheck(lambda t: imresize(t, 1 / 3), (x,))
    assert torch.autograd.gradcheck(lambda t: imresize(t, size=(20, 4)), (x,))


def test_float32_agrees_with_float64_to_its_precision():
    x = torch.rand(3, 17, 23, dtype=torch.float64)
    for kwargs in ({"scale": 2}, {"scale": 1 / 3}, {"size": (8, 40)}):
        ours = imresize(x.float(), **kwargs)
        assert ours.dtype == torch.float32
        ref = imresize(x, **kwargs)
        assert (ours.double() - ref).abs().max() <= 1e-5 * ref.abs().max()


def test_taps_are_few():
    """4 taps when upscaling, about 4 / scale when shrinking with antialiasing (zero taps dropped)."""
    from pixelsmith.resize import _taps

    assert _taps(100, 200, 2.0, True)[0].shape == (4, 200)
    assert _taps(100, 300, 3.0, True)[0].shape[0] == 4
    assert _taps(100, 50, 0.5, True)[0].shape[0] == 8
    assert _taps(120, 30, 0.25, True)[0].shape[0] == 16
    assert _taps(100, 50, 0.5, False)[0].shape[0] == 4
    assert _taps(10, 10, 1.0, True)[0].shape[0] == 1
