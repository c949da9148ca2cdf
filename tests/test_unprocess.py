"""Tests for pixelsmith.data.unprocess: Brooks et al.'s unprocessing and the SID short exposure."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch

from pixelsmith.data.unprocess import (
    SHOT_NOISE_RANGE,
    CameraParams,
    add_noise,
    darken,
    darken_raw,
    inverse_smoothstep,
    process,
    random_camera_params,
    random_ccm,
    random_gains,
    random_noise_levels,
    smoothstep,
    to_normalised,
    unprocess,
)


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _srgb_to_linear(c: float) -> float:
    """IEC 61966-2-1, by hand."""
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def test_tone_curve_values_and_inverse() -> None:
    x = torch.tensor([0.0, 0.25, 0.5, 0.75, 1.0], dtype=torch.float64)
    # 3x^2 - 2x^3 by hand: 0, 3/16 - 2/64, 1/2, 27/16 - 54/64, 1
    expected = torch.tensor([0.0, 0.15625, 0.5, 0.84375, 1.0], dtype=torch.float64)
    torch.testing.assert_close(smoothstep(x), expected)
    torch.testing.assert_close(inverse_smoothstep(expected), x)
    u = torch.linspace(0, 1, 1001, dtype=torch.float64)
    torch.testing.assert_close(smoothstep(inverse_smoothstep(u)), u, rtol=0, atol=1e-12)
    torch.testing.assert_close(inverse_smoothstep(smoothstep(u)), u, rtol=0, atol=1e-7)


def test_random_ccm_rows_sum_to_one() -> None:
    ccm = random_ccm(64, _gen())
    assert ccm.shape == (64, 3, 3) and ccm.dtype == torch.float32
    torch.testing.assert_close(ccm.sum(2), torch.ones(64, 3), rtol=0, atol=1e-6)
    assert torch.all(torch.linalg.det(ccm.double()).abs() > 1e-3)
    # cameras see mostly their own channel: a dominant, positive diagonal
    diag = ccm.diagonal(dim1=1, dim2=2)
    assert torch.all(diag > 0.3)
    assert not torch.allclose(ccm[0], ccm[1])


def test_random_gains_ranges() -> None:
    rgb_gain, red, blue = random_gains(4000, _gen(1))
    assert red.min() >= 1.9 and red.max() <= 2.4 and blue.min() >= 1.5 and blue.max() <= 1.9
    inverse = 1 / rgb_gain  # N(0.8, 0.1): the standard error of the mean is 0.0016
    assert abs(float(inverse.mean()) - 0.8) < 0.01
    assert abs(float(inverse.std()) - 0.1) < 0.01


def test_unprocess_by_hand() -> None:
    """Identity CCM, rgb gain 1, red gain 2, blue gain 1.5, on a grey of 0.5 and 0.25."""
    params = CameraParams(
        ccm=torch.eye(3)[None],
        rgb_gain=torch.tensor([1.0]),
        red_gain=torch.tensor([2.0]),
        blue_gain=torch.tensor([1.5]),
    )
    srgb = torch.tensor([0.5, 0.15625]).reshape(1, 1, 1, 2).expand(1, 3, 1, 2)
    linear, _ = unprocess(srgb, params=params, safe=False)
    # inverse smoothstep: 0.5 -> 0.5, 0.15625 -> 0.25; then the sRGB EOTF; then 1 / gains
    lin = torch.tensor([_srgb_to_linear(0.5), _srgb_to_linear(0.25)])
    expected = torch.stack([lin / 2, lin, lin / 1.5])[None, :, None, :]
    torch.testing.assert_close(linear, expected)
    torch.testing.assert_close(process(linear, params), srgb)


def test_process_inverts_unprocess_random() -> None:
    g = _gen(2)
    srgb = torch.rand(4, 3, 24, 24, generator=g)
    linear, params = unprocess(srgb, g, safe=False)
    assert linear.shape == srgb.shape and len(params) == 4
    torch.testing.assert_close(process(linear, params), srgb, rtol=0, atol=1e-3)


def test_process_inverts_unprocess_photo() -> None:
    from skimage import data

    photo = torch.from_numpy(data.astronaut()[::4, ::4].copy()).permute(2, 0, 1)[None] / 255.0
    linear, params = unprocess(photo, _gen(3), safe=False)
    torch.testing.assert_close(process(linear, params), photo, rtol=0, atol=1e-3)


def test_unprocess_safe_keeps_highlights() -> None:
    g = _gen(4)
    srgb = torch.rand(3, 3, 8, 8, generator=g)
    srgb[:, :, 0, 0] = 1.0
    params = random_camera_params(3, g)
    safe, _ = unprocess(srgb, params=params, safe=True)
    exact, _ = unprocess(srgb, params=params, safe=False)
    assert safe.min() >= 0 and safe.max() <= 1
    torch.testing.assert_close(safe[:, :, 0, 0], torch.ones(3, 3))  # white stays saturated
    assert torch.all(exact[:, 0, 0, 0] < 0.6)  # divided by a red gain of 1.9..2.4 (x rgb gain)
    # away from the highlights the safe inversion is the exact one
    grey = exact.mean(1) * params.gains.mean(1)[:, None, None]
    dark = (srgb.amax(1) < 0.5) & (grey < 0.5)
    torch.testing.assert_close(safe.permute(0, 2, 3, 1)[dark], exact.permute(0, 2, 3, 1)[dark])


def test_unprocess_deterministic() -> None:
    srgb = torch.rand(2, 3, 8, 8, generator=_gen(5))
    a, pa = unprocess(srgb, _gen(6))
    b, pb = unprocess(srgb, _gen(6))
    c, _ = unprocess(srgb, _gen(7))
    assert torch.equal(a, b) and torch.equal(pa.ccm, pb.ccm) and not torch.equal(a, c)
    with pytest.raises(ValueError):
        unprocess(srgb)
    with pytest.raises(ValueError):
        unprocess(srgb[:1], params=pa)


def test_noise_levels_follow_brooks() -> None:
    shot, read = random_noise_levels(20000, _gen(8))
    lo, hi = SHOT_NOISE_RANGE
    assert shot.min() >= lo and shot.max() <= hi
    residual = read.log() - (2.18 * shot.log() + 1.20)  # N(0, 0.26)
    assert abs(float(residual.mean())) < 0.02 and abs(float(residual.std()) - 0.26) < 0.01
    u = (shot.log() - math.log(lo)) / (math.log(hi) - math.log(lo))  # U(0, 1)
    assert abs(float(u.mean()) - 0.5) < 0.01


@pytest.mark.parametrize("poisson", [False, True])
def test_noise_variance(poisson: bool) -> None:
    """Two images of constant level; 2**18 pixels each: the variance's relative standard error
    is about 0.3%, so a 3% tolerance is 10 standard errors."""
    x = torch.tensor([0.1, 0.6]).reshape(2, 1, 1).expand(2, 512, 512).contiguous()
    shot, read = torch.tensor([2e-3, 5e-4]), torch.tensor([1e-5, 4e-6])
    noisy = add_noise(x, shot, read, _gen(9), poisson=poisson)
    residual = (noisy - x).flatten(1).double()
    expected = shot * torch.tensor([0.1, 0.6]) + read
    torch.testing.assert_close(residual.var(1), expected.double(), rtol=0.03, atol=0)
    assert residual.mean(1).abs().max() < 3e-4  # unbiased: std of the mean is below 7e-5
    with pytest.raises(ValueError, match="noise levels"):
        add_noise(x, 0.0, 1e-5, _gen())


def test_darken_mean_and_codes() -> None:
    clean = torch.full((2, 4, 128, 128), 0.3)
    out = darken(clean, torch.tensor([100.0, 300.0]), _gen(10), noise=(1e-3, 1e-6))
    assert out.black_level == 512 and out.white_level == 16383
    codes = out.codes
    assert codes.shape == clean.shape
    assert torch.equal(codes, codes.round()) and codes.min() >= 0 and codes.max() <= 16383
    # mean = 0.3 / ratio * (16383 - 512) + 512; the noise std is under 40 codes, over 65536
    # pixels the mean's std is under 0.2 codes
    expected = torch.tensor([0.3 / 100, 0.3 / 300]) * (16383 - 512) + 512
    torch.testing.assert_close(codes.flatten(1).mean(1), expected, rtol=0, atol=1.0)
    back = to_normalised(codes, out.black_level, out.white_level, clip=False).flatten(1).mean(1)
    torch.testing.assert_close(back, torch.tensor([0.003, 0.001]), rtol=0, atol=1e-4)
    # clipping below black (as SID does) biases the darkest shot upwards
    clipped = to_normalised(codes, out.black_level, out.white_level).flatten(1).mean(1)
    assert clipped[1] > 0.001 + 1e-4


def test_darken_levels_clipping_and_determinism() -> None:
    clean = torch.rand(3, 16, 16, generator=_gen(11))
    clean[0] = 1.0
    a = darken(clean, 1.0, _gen(12), bits=12, black_level=64)
    b = darken(clean, 1.0, _gen(12), bits=12, black_level=64)
    c = darken(clean, 1.0, _gen(13), bits=12, black_level=64)
    assert torch.equal(a.codes, b.codes) and torch.equal(a.shot, b.shot)
    assert not torch.equal(a.codes, c.codes)
    assert a.white_level == 4095 and a.codes.max() <= 4095 and a.codes.min() >= 0
    assert (a.codes[0] == 4095).float().mean() > 0.4  # white is saturated about half the time
    assert a.shot.shape == (3,) and a.read.shape == (3,)
    with pytest.raises(ValueError):
        darken(clean, 0.5, _gen())


def test_to_normalised_by_hand() -> None:
    codes = torch.tensor([0.0, 512.0, 8447.5, 16383.0])
    torch.testing.assert_close(to_normalised(codes, 512, 16383), torch.tensor([0.0, 0.0, 0.5, 1.0]))
    torch.testing.assert_close(
        to_normalised(codes, 512, 16383, clip=False), torch.tensor([-512 / 15871, 0.0, 0.5, 1.0])
    )


@pytest.mark.data
def test_darken_real_raw(shared_data) -> None:
    path = shared_data / "raw" / "RAW_KODAK_DC50.KDC"
    if not path.exists():
        pytest.skip(f"needs ../shared/data: {path} is missing")
    from pixelsmith.io import read_raw

    full = read_raw(path)
    raw = dataclasses.replace(full, bayer=full.bayer[:256, :384])  # an even crop keeps the CFA
    original = raw.bayer.clone()
    dark = darken_raw(raw, 50.0, _gen(14), noise=(1e-4, 1e-8))
    assert torch.equal(raw.bayer, original)  # the input is untouched
    assert dark.bayer.shape == raw.bayer.shape and dark.bayer.dtype == torch.float32
    assert dark.pattern_string == raw.pattern_string and dark.white_level == raw.white_level
    codes = dark.bayer
    assert torch.equal(codes, codes.round()) and codes.min() >= 0 and codes.max() <= raw.white_level
    long, short = raw.normalised().double(), dark.normalised().double()
    np.testing.assert_allclose(float(short.mean()), float(long.mean()) / 50, rtol=0.02)
    again = darken_raw(raw, 50.0, _gen(14), noise=(1e-4, 1e-8))
    assert torch.equal(again.bayer, dark.bayer)
    assert not torch.equal(darken_raw(raw, 50.0, _gen(15)).bayer, dark.bayer)
