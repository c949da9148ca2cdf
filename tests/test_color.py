"""pixelsmith.color against scikit-image and the standards' own numbers."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from skimage import color as skcolor

from pixelsmith.color import (
    LabToRgb,
    LinearToSrgb,
    RgbToLab,
    RgbToY,
    RgbToYcbcr,
    SrgbToLinear,
    YcbcrToRgb,
    lab_to_rgb,
    linear_to_srgb,
    rgb_to_lab,
    rgb_to_y,
    rgb_to_ycbcr,
    srgb_to_linear,
    ycbcr_to_rgb,
)
from pixelsmith.errors import PixelsmithError


def _rand(*shape: int, seed: int = 0, dtype=torch.float64) -> torch.Tensor:
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def _hwc(x: torch.Tensor) -> np.ndarray:
    """(*, 3, H, W) tensor -> (*, H, W, 3) array for scikit-image."""
    return np.moveaxis(x.detach().double().numpy(), -3, -1)


def _chw(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(np.moveaxis(a, -1, -3)))


def test_srgb_curve_known_values():
    x = torch.tensor([0.0, 0.04045, 0.5, 1.0], dtype=torch.float64)
    lin = srgb_to_linear(x)
    # 0.04045 / 12.92 = 0.0031308 (the two knees meet); mid-grey 0.5 -> 0.2140 (IEC 61966-2-1)
    expected = torch.tensor([0.0, 0.04045 / 12.92, 0.21404114048223255, 1.0], dtype=torch.float64)
    torch.testing.assert_close(lin, expected, rtol=0, atol=1e-12)
    torch.testing.assert_close(
        linear_to_srgb(torch.tensor(0.18, dtype=torch.float64)),
        torch.tensor(0.4613561295004, dtype=torch.float64),
        rtol=0,
        atol=1e-9,
    )


def test_srgb_curve_roundtrip_and_continuity():
    x = _rand(2, 3, 8, 8)
    torch.testing.assert_close(linear_to_srgb(srgb_to_linear(x)), x, rtol=0, atol=1e-12)
    torch.testing.assert_close(srgb_to_linear(linear_to_srgb(x)), x, rtol=0, atol=1e-12)
    eps = 1e-9
    for f, knee in ((srgb_to_linear, 0.04045), (linear_to_srgb, 0.0031308)):
        lo, hi = f(torch.tensor([knee - eps, knee + eps], dtype=torch.float64))
        assert abs(hi - lo) < 1e-6


def test_srgb_curve_matches_skimage_lab_path():
    # scikit-image linearises inside rgb2xyz: XYZ = M @ linear(rgb); so linear = M^-1 @ rgb2xyz.
    x = _rand(3, 6, 7, seed=1)
    xyz = skcolor.rgb2xyz(_hwc(x))
    lin = xyz @ np.linalg.inv(skcolor.colorconv.xyz_from_rgb).T
    torch.testing.assert_close(srgb_to_linear(x), _chw(lin), rtol=0, atol=1e-10)


@pytest.mark.parametrize("shape", [(3, 5, 7), (2, 3, 6, 4), (2, 2, 3, 3, 3)])
def test_ycbcr_matches_skimage(shape):
    x = _rand(*shape, seed=2)
    ours = rgb_to_ycbcr(x)
    ref = _chw(skcolor.rgb2ycbcr(_hwc(x))) / 255.0  # skimage: 0..255 units for float input
    torch.testing.assert_close(ours, ref, rtol=0, atol=1e-10)
    back = ycbcr_to_rgb(ours)
    ref_back = _chw(skcolor.ycbcr2rgb(_hwc(ours) * 255.0))
    torch.testing.assert_close(back, ref_back, rtol=0, atol=1e-10)
    torch.testing.assert_close(back, x, rtol=0, atol=1e-10)


def test_ycbcr_ranges_matlab():
    corners = torch.tensor([[0, 0, 0], [1, 1, 1], [0, 0, 1], [1, 0, 0]], dtype=torch.float64).T[
        :, :, None
    ]  # (3, 4, 1)
    ycc = rgb_to_ycbcr(corners)[..., 0] * 255.0
    torch.testing.assert_close(ycc[:, 0], torch.tensor([16.0, 128, 128], dtype=torch.float64))
    torch.testing.assert_close(ycc[:, 1], torch.tensor([235.0, 128, 128], dtype=torch.float64))
    assert ycc[1, 2].item() == pytest.approx(240.0)  # blue: Cb max
    assert ycc[2, 3].item() == pytest.approx(240.0)  # red: Cr max


def test_rgb_to_y_is_first_channel_float32():
    x = _rand(4, 3, 9, 9, seed=3, dtype=torch.float32)
    y = rgb_to_y(x)
    assert y.shape == (4, 1, 9, 9) and y.dtype == torch.float32
    # BT.601 in MATLAB's range, by hand in float64: Y = (16 + 65.481 R + 128.553 G + 24.966 B) / 255
    r, g, b = x.double().unbind(1)
    want = ((16 + 65.481 * r + 128.553 * g + 24.966 * b) / 255)[:, None]
    torch.testing.assert_close(y.double(), want, rtol=0, atol=4 * 2**-24)  # Y < 1: a few ulp
    torch.testing.assert_close(y, rgb_to_ycbcr(x)[:, :1], rtol=0, atol=4 * 2**-24)
    assert RgbToY()(x).shape == y.shape


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_lab_matches_skimage(dtype):
    x = _rand(2, 3, 16, 12, seed=4, dtype=dtype)
    x[0, :, 0, 0] = 0.0  # black
    x[0, :, 0, 1] = 1.0  # white
    x[0, :, 0, 2] = 0.02  # below the sRGB knee
    lab = rgb_to_lab(x)
    assert lab.dtype == dtype
    ref = _chw(skcolor.rgb2lab(_hwc(x)))
    # L spans 0..100 (a float32 ulp at 100 is 7.6e-6): float64 agrees to rounding (measured
    # 6e-14), float32 within ~25 ulp of the largest value (measured 4e-5)
    tol = 1e-10 if dtype == torch.float64 else 2e-4
    torch.testing.assert_close(lab.double(), ref, rtol=0, atol=tol)
    # white: L = 100, a and b within 0.01 of 0 (the matrix rows round the D65 white point)
    torch.testing.assert_close(
        lab[0, :, 0, 1].double(), torch.tensor([100.0, 0, 0]).double(), rtol=0, atol=1e-2
    )


def test_lab_to_rgb_matches_skimage_in_and_out_of_gamut():
    x = _rand(3, 10, 10, seed=5)
    lab = rgb_to_lab(x)
    torch.testing.assert_close(lab_to_rgb(lab), x, rtol=0, atol=1e-10)
    g = torch.Generator().manual_seed(6)
    wild = torch.stack(
        [
            torch.rand(10, 10, generator=g, dtype=torch.float64) * 100,
            torch.rand(10, 10, generator=g, dtype=torch.float64) * 256 - 128,
            torch.rand(10, 10, generator=g, dtype=torch.float64) * 256 - 128,
        ]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # skimage warns about negative Z values it clips
        ref = _chw(skcolor.lab2rgb(_hwc(wild)))
    torch.testing.assert_close(lab_to_rgb(wild), ref, rtol=0, atol=1e-10)  # both float64
    unclipped = lab_to_rgb(wild, clip=False)
    assert unclipped.min() < 0 or unclipped.max() > 1


def _interior(*shape: int, seed: int) -> torch.Tensor:
    """Values in [0.1, 0.9]: away from the piecewise knees, so finite differences are valid."""
    return (0.1 + 0.8 * _rand(*shape, seed=seed)).requires_grad_()


@pytest.mark.parametrize(
    "fn",
    [srgb_to_linear, linear_to_srgb, rgb_to_ycbcr, ycbcr_to_rgb, rgb_to_y, rgb_to_lab],
    ids=lambda f: f.__name__,
)
def test_gradcheck(fn):
    assert torch.autograd.gradcheck(fn, (_interior(2, 3, 3, 4, seed=7),))


def test_gradcheck_lab_to_rgb():
    lab = rgb_to_lab(0.2 + 0.6 * _rand(3, 3, 4, seed=8)).detach().requires_grad_()
    assert torch.autograd.gradcheck(lambda t: lab_to_rgb(t, clip=False), (lab,))


def test_gradient_finite_at_zero():
    x = torch.zeros(1, 3, 2, 2, dtype=torch.float64, requires_grad=True)
    (srgb_to_linear(x).sum() + linear_to_srgb(x).sum() + rgb_to_lab(x).sum()).backward()
    assert torch.isfinite(x.grad).all()


def test_modules_match_functions():
    x = _rand(1, 3, 5, 5, seed=9)
    pairs = [
        (SrgbToLinear(), srgb_to_linear),
        (LinearToSrgb(), linear_to_srgb),
        (RgbToYcbcr(), rgb_to_ycbcr),
        (YcbcrToRgb(), ycbcr_to_rgb),
        (RgbToLab(), rgb_to_lab),
        (LabToRgb(), lab_to_rgb),
    ]
    for module, fn in pairs:
        torch.testing.assert_close(module(x), fn(x))


def test_bad_input():
    with pytest.raises(PixelsmithError):
        rgb_to_ycbcr(torch.rand(4, 5, 5))
    with pytest.raises(PixelsmithError):
        rgb_to_lab(torch.rand(5, 5))
    with pytest.raises(TypeError):
        rgb_to_y(torch.zeros(3, 2, 2, dtype=torch.uint8))


def test_rgb_to_grey_is_full_range_bt601_like_pil():
    """Independent reference: PIL's convert("L") (ITU-R 601-2 luma, rounded to 8 bits)."""
    import numpy as np
    from PIL import Image

    from pixelsmith.color import rgb_to_grey

    a = np.random.default_rng(0).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    pil = np.asarray(Image.fromarray(a).convert("L")).astype(np.float64)
    ours = rgb_to_grey(torch.from_numpy(a).permute(2, 0, 1).double() / 255)[0].numpy() * 255
    assert np.abs(ours - pil).max() <= 0.5 + 1e-9  # PIL rounds; the formula does not
    assert rgb_to_grey(torch.ones(2, 3, 4, 4)).shape == (2, 1, 4, 4)
