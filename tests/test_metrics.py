"""pixelsmith.metrics: hand-computed PSNR, SSIM against scikit-image, the SRCNN bicubic table."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from PIL import Image
from skimage import color as skcolor
from skimage.metrics import structural_similarity

from pixelsmith.errors import PixelsmithError
from pixelsmith.metrics import PSNR, SSIM, modcrop, mse, psnr, quantize_uint8, shave, ssim
from pixelsmith.paths import data_dir
from pixelsmith.resize import imresize
from pixelsmith.tasks.sr_protocol import evaluate_sr_pair, make_lr, sr_y_from_rgb_uint8


def _set5_rgb() -> list[torch.Tensor]:
    root = data_dir()
    if root is None or not (root / "set5").is_dir():
        pytest.skip("shared data folder with set5/ not available (set PIXELSMITH_DATA)")
    files = sorted((root / "set5").glob("*.png"))
    if len(files) != 5:
        pytest.skip(f"expected 5 Set5 PNGs in {root / 'set5'}, found {len(files)}")
    return [
        torch.from_numpy(np.asarray(Image.open(f).convert("RGB")).copy()).permute(2, 0, 1)
        for f in files
    ]


def _skimage_ssim(a: torch.Tensor, b: torch.Tensor, peak: float) -> float:
    """scikit-image's Gaussian SSIM on a (C, H, W) pair, channels averaged."""
    return structural_similarity(
        a.double().numpy(),
        b.double().numpy(),
        channel_axis=0,
        gaussian_weights=True,
        sigma=1.5,
        use_sample_covariance=False,
        data_range=peak,
    )


def test_psnr_hand_computed():
    a = torch.zeros(2, 3, 4, 4, dtype=torch.float64)
    b = a.clone()
    b[0] += 0.1  # MSE 0.01 -> 20 dB at peak 1
    b[1, :, :2] += 0.2  # half the pixels off by 0.2: MSE 0.02 -> 10 log10(50) dB
    torch.testing.assert_close(mse(a, b), torch.tensor([0.01, 0.02], dtype=torch.float64))
    torch.testing.assert_close(
        psnr(a, b), torch.tensor([20.0, 10 * math.log10(50)], dtype=torch.float64)
    )
    # 8-bit levels off by one everywhere: 20 log10(255) = 48.1308 dB
    c = torch.full((1, 5, 5), 100, dtype=torch.uint8)
    assert psnr(c, c + 1, peak=255).item() == pytest.approx(20 * math.log10(255), abs=1e-12)
    assert PSNR(peak=255)(c, c + 1).shape == ()


def test_psnr_identical_is_inf():
    x = torch.rand(3, 1, 8, 8)
    assert torch.isinf(psnr(x, x)).all()
    assert psnr(x, x).shape == (3,)


def test_psnr_shape_mismatch():
    with pytest.raises(PixelsmithError):
        psnr(torch.rand(1, 8, 8), torch.rand(1, 8, 9))
    with pytest.raises(PixelsmithError):
        psnr(torch.rand(8, 8), torch.rand(8, 8))


@pytest.mark.parametrize("shape", [(1, 11, 11), (1, 32, 24), (3, 20, 37)])
def test_ssim_matches_skimage_random(shape):
    g = torch.Generator().manual_seed(sum(shape))
    a = torch.rand(shape, generator=g, dtype=torch.float64)
    b = (a + 0.2 * torch.randn(shape, generator=g, dtype=torch.float64)).clamp(0, 1)
    assert ssim(a, b).item() == pytest.approx(_skimage_ssim(a, b, 1.0), abs=1e-10)
    assert ssim(a * 255, b * 255, peak=255).item() == pytest.approx(
        _skimage_ssim(a * 255, b * 255, 255.0), abs=1e-10
    )


def test_ssim_batch_float32_identical_and_module():
    g = torch.Generator().manual_seed(1)
    a = torch.rand(4, 3, 16, 16, generator=g)
    b = torch.rand(4, 3, 16, 16, generator=g)
    out = ssim(a, b)
    assert out.shape == (4,) and out.dtype == torch.float32
    # float32 windows and moments (sigma^2 = E[x^2] - mu^2 cancels ~4x) against float64 scikit-image:
    # measured 7e-8; 1e-5 leaves room for other CPUs' convolution kernels (SSIM here is 0.01..0.1)
    for i in range(4):
        assert out[i].item() == pytest.approx(_skimage_ssim(a[i], b[i], 1.0), abs=1e-5)
    torch.testing.assert_close(ssim(a, a), torch.ones(4))
    torch.testing.assert_close(SSIM()(a, b), out)


def test_ssim_gradcheck():
    g = torch.Generator().manual_seed(2)
    a = torch.rand(1, 1, 12, 13, generator=g, dtype=torch.float64, requires_grad=True)
    b = torch.rand(1, 1, 12, 13, generator=g, dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda t: ssim(t, b), (a,), fast_mode=True)


def test_ssim_too_small():
    with pytest.raises(PixelsmithError):
        ssim(torch.rand(1, 10, 20), torch.rand(1, 10, 20))


def test_shave_and_modcrop():
    x = torch.arange(7 * 10).reshape(1, 7, 10)
    torch.testing.assert_close(shave(x, 2), x[:, 2:5, 2:8])
    torch.testing.assert_close(shave(x, 0), x)
    torch.testing.assert_close(modcrop(x, 3), x[:, :6, :9])
    assert modcrop(x, 1).shape == x.shape
    with pytest.raises(PixelsmithError):
        shave(x, 4)
    with pytest.raises(PixelsmithError):
        modcrop(x, 0)


def test_quantize_rounds_half_away_from_zero():
    # MATLAB uint8(0.5) is 1; torch.round(0.5) would give 0 (half to even).
    x = torch.tensor([0.5 / 255, 1.0 / 255, -0.1, 1.2, 127.4 / 255], dtype=torch.float64)
    torch.testing.assert_close(
        quantize_uint8(x), torch.tensor([1.0, 1.0, 0.0, 255.0, 127.0], dtype=torch.float64)
    )


def test_sr_y_from_rgb_uint8_is_rounded_matlab_y():
    g = torch.Generator().manual_seed(3)
    rgb = torch.randint(0, 256, (3, 40, 50), generator=g, dtype=torch.uint8)
    y = sr_y_from_rgb_uint8(rgb, dtype=torch.float64)
    assert y.shape == (1, 40, 50)
    ref = skcolor.rgb2ycbcr(rgb.permute(1, 2, 0).numpy())[..., 0]  # 16..235, unrounded
    np.testing.assert_array_equal((y[0] * 255).round().numpy(), np.floor(ref + 0.5))
    with pytest.raises(TypeError):
        sr_y_from_rgb_uint8(rgb.float())


def test_make_lr_and_evaluate_pair_basics():
    hr = torch.rand(1, 24, 36, dtype=torch.float64)
    lr = make_lr(hr, 3)
    assert lr.shape == (1, 8, 12)
    with pytest.raises(PixelsmithError):
        make_lr(hr[:, :, :35], 3)
    p, s = evaluate_sr_pair(hr, hr, 2)
    assert math.isinf(p.item()) and s.item() == pytest.approx(1.0)
    hr8 = torch.full((20, 20), 100 / 255)
    p, s = evaluate_sr_pair(hr8 + 1 / 255, hr8, 2)  # off by one level everywhere
    assert p.item() == pytest.approx(20 * math.log10(255), abs=1e-9)
    p, s = evaluate_sr_pair(hr[None].repeat(2, 1, 1, 1), hr[None].repeat(2, 1, 1, 1), 2)
    assert p.shape == (2,) and s.shape == (2,)


@pytest.mark.data
def test_set5_bicubic_reproduces_srcnn_table():
    images = _set5_rgb()
    # PSNR: SRCNN (Dong et al., TPAMI 2016) Table 2, bicubic, Set5.
    # SSIM: the same baseline in VDSR (Kim et al., CVPR 2016) Table 3.
    published = {2: (33.66, 0.9299), 3: (30.39, 0.8682), 4: (28.42, 0.8104)}
    for scale, (ref_psnr, ref_ssim) in published.items():
        psnrs, ssims = [], []
        for rgb in images:
            hr = sr_y_from_rgb_uint8(modcrop(rgb, scale))
            bicubic = imresize(make_lr(hr, scale), scale)
            p, s = evaluate_sr_pair(bicubic, hr, scale)
            psnrs.append(p.item())
            ssims.append(s.item())
        assert np.mean(psnrs) == pytest.approx(ref_psnr, abs=0.05), (scale, psnrs)
        assert np.mean(ssims) == pytest.approx(ref_ssim, abs=0.001), (scale, ssims)


@pytest.mark.data
def test_ssim_matches_skimage_on_a_real_image():
    rgb = _set5_rgb()[2]  # butterfly, 256x256
    hr = sr_y_from_rgb_uint8(modcrop(rgb, 4), dtype=torch.float64)
    bicubic = imresize(make_lr(hr, 4), 4)
    a, b = quantize_uint8(bicubic), quantize_uint8(hr)
    assert ssim(a, b, peak=255).item() == pytest.approx(_skimage_ssim(a, b, 255.0), abs=1e-10)
    rgbf = rgb.double() / 255
    blurred = imresize(imresize(rgbf, 1 / 2), size=rgbf.shape[-2:]).clamp(0, 1)
    assert ssim(blurred, rgbf).item() == pytest.approx(_skimage_ssim(blurred, rgbf, 1.0), abs=1e-10)
