"""Degradations for blind SR: kernels by their formulas, the documented noise ranges by statistics,
LR kept aligned with HR (by cross-correlation), determinism, shapes and ranges."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
import torch
from PIL import Image

from pixelsmith.color import rgb_to_y
from pixelsmith.data import degrade
from pixelsmith.data.degrade import (
    add_noise,
    gaussian_kernel,
    jpeg,
    jpeg_compress,
    random_blur_kernel,
    real_world_degrade,
)
from pixelsmith.metrics import psnr
from pixelsmith.resize import imresize
from pixelsmith.tasks.sr_protocol import make_lr


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Small tensors, many calls: on a busy machine a second thread costs more than it gives
    (measured: exp on a 15 x 15 kernel takes 8 ms with two threads, 3 us with one)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_gaussian_kernel_matches_the_formula():
    k = gaussian_kernel(7, 1.5, 0.7, math.pi / 6)
    c, s = math.cos(math.pi / 6), math.sin(math.pi / 6)
    ref = torch.zeros(7, 7, dtype=torch.float64)
    for i in range(7):
        for j in range(7):
            x, y = j - 3, i - 3
            u, v = c * x + s * y, -s * x + c * y
            ref[i, j] = math.exp(-0.5 * ((u / 1.5) ** 2 + (v / 0.7) ** 2))
    # float32 output of a float64 formula: within half an ulp of each value (2^-24 relative)
    torch.testing.assert_close(k.double(), ref / ref.sum(), atol=1e-12, rtol=2**-24)
    iso = gaussian_kernel(9, 1.2, 1.2, 0.3)
    assert torch.equal(iso, iso.T)  # isotropic: the formula is symmetric in x and y


def _moments(k: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Centroid offset from the centre pixel ``(2,)`` and covariance ``(2, 2)`` of a kernel, float64."""
    k = k.double() / k.double().sum()
    r = torch.arange(k.shape[-1], dtype=torch.float64) - (k.shape[-1] - 1) / 2
    ys, xs = torch.meshgrid(r, r, indexing="ij")
    c = torch.stack([(k * ys).sum(), (k * xs).sum()])
    dy, dx = ys - c[0], xs - c[1]
    cov = torch.stack(
        [
            torch.stack([(k * dy * dy).sum(), (k * dy * dx).sum()]),
            torch.stack([(k * dy * dx).sum(), (k * dx * dx).sum()]),
        ]
    )
    return c, cov


def test_random_kernels_are_normalised_centred_and_no_wider_than_documented():
    """Every kernel kind, motion blur included, has its centroid on the centre pixel: an off-centre
    kernel would shift LR against HR. 600 draws hold ~120 motion kernels (probability 0.2 each)."""
    g = torch.Generator().manual_seed(0)
    widest = 0.0
    for _ in range(600):
        k = random_blur_kernel(g)
        assert k.shape == (15, 15) and k.dtype == torch.float32
        assert abs(float(k.double().sum()) - 1) < 1e-6 and float(k.min()) >= 0
        centroid, cov = _moments(k)
        # float32 weights of sum 1 at offsets up to 7 px: rounding moves the centroid < 1e-5 px
        assert float(centroid.abs().max()) < 1e-5, centroid
        widest = max(widest, float(torch.linalg.eigvalsh(cov).max()))
    # the widest documented blur is a Gaussian axis sigma of 2.5 px (variance 6.25; the 15 x 15
    # window trims its tails a little); a 7-px line has a variance of at most 7^2 / 12 ~ 4.1
    assert 4.0 < widest <= 2.5**2


def test_motion_kernels_are_recentred_lines():
    """The ramped camera-shake line (kornia's kernel) keeps its shape, moved so it is centred."""
    import kornia

    k = kornia.filters.get_motion_kernel2d(7, 0.0, 1.0)[0].double()  # horizontal, ramped
    centred = degrade._recentre(torch.nn.functional.pad(k, [4] * 4))
    assert float(_moments(centred)[0].abs().max()) < 1e-12
    assert float(centred.sum()) == pytest.approx(float(k.sum()), abs=1e-12)
    # kornia's ramp 6/21, 5/21 .. 0 along row 3 has its centroid at x = -28/21 = -4/3 and variance
    # 84/21 - 16/9 = 20/9; moving it by 4/3 = 1 + 1/3 px by linear interpolation adds f (1 - f) =
    # 2/9 to the variance (a mixture of two copies one pixel apart, weights 2/3 and 1/3)
    c0, cov0 = _moments(torch.nn.functional.pad(k, [4] * 4))
    assert float(c0[1]) == pytest.approx(-4 / 3, abs=1e-6) and float(c0[0]) == 0
    assert float(cov0[1, 1]) == pytest.approx(20 / 9, abs=1e-6)
    assert float(_moments(centred)[1][1, 1]) == pytest.approx(20 / 9 + 2 / 9, abs=1e-6)
    assert float(centred[:7].abs().sum() + centred[8:].abs().sum()) == 0  # still one row


def _noise_images(n: int, size: int = 64, lo: float = 0.2, hi: float = 0.8) -> torch.Tensor:
    """``(n, 3, size, size)``: left half at ``lo``, right half at ``hi``."""
    x = torch.full((n, 3, size, size), lo)
    x[..., size // 2 :] = hi
    return x


def test_noise_levels_are_the_documented_ones():
    """add_noise draws Gaussian noise (sigma 1..15 of 255) or Poisson shot noise (100..1000
    photons at white), colour or grey, per image.

    Each image has two flat halves (0.2 and 0.8). Gaussian noise has the same sd on both;
    Poisson noise has variance level / photons, so the right half's sd is twice the left's. The
    sample sd of m normal values has a relative standard error of 1 / sqrt(2 (m - 1)): with
    m = 2048 independent values per half (grey noise: one field shared by the channels) that is
    1.6%, so a tolerance of 5 standard errors (8%) on sd, twice that on variance, leaves a chance
    below 1e-5 over all checks of failing by accident. Poisson's excess kurtosis (1 / count, here
    <= 0.01) changes the standard error by less than 1%.
    """
    n, size = 200, 64
    x = _noise_images(n, size)
    noise = add_noise(x, torch.Generator().manual_seed(0)) - x
    m = size * size // 2  # values per half and channel
    se = 1 / math.sqrt(2 * (m - 1))
    tol = 5 * se
    kinds = {"gaussian": [], "poisson": []}
    grey_count = 0
    for img in noise.double():
        grey = torch.equal(img[0], img[1]) and torch.equal(img[1], img[2])
        grey_count += grey
        if not grey:  # independent channels: correlation within 5 / sqrt(2m) of zero
            for a, b in ((0, 1), (1, 2), (0, 2)):
                r = torch.corrcoef(torch.stack([img[a].flatten(), img[b].flatten()]))[0, 1]
                assert abs(float(r)) < 5 / math.sqrt(2 * m)
        left, right = img[:1, :, : size // 2], img[:1, :, size // 2 :]
        sd_lo, sd_hi = float(left.std()), float(right.std())
        for half, sd in ((left, sd_lo), (right, sd_hi)):
            assert abs(float(half.mean())) < 5 * sd / math.sqrt(m)  # zero-mean
        ratio = sd_hi / sd_lo
        if abs(ratio - 1) < 3 * math.sqrt(2) * tol:
            sigma = math.sqrt((sd_lo**2 + sd_hi**2) / 2) * 255
            assert 1 * (1 - tol) <= sigma <= 15 * (1 + tol), sigma
            kinds["gaussian"].append(sigma)
        else:
            assert abs(ratio - 2) < 2 * math.sqrt(2) * tol, ratio  # sqrt(0.8 / 0.2)
            photons = (0.2 / sd_lo**2 + 0.8 / sd_hi**2) / 2
            assert 100 * (1 - 2 * tol) <= photons <= 1000 * (1 + 2 * tol), photons
            kinds["poisson"].append(photons)
    # both kinds and both colour modes occur, and the draws reach both ends of each range: with
    # ~80 or more draws per kind, missing the outer tenth of a range has a chance below 2e-4
    assert 0 < grey_count < n
    gauss, poisson = kinds["gaussian"], np.log10(kinds["poisson"])
    assert len(gauss) > 60 and len(poisson) > 40
    assert min(gauss) < 1 + 1.4 and max(gauss) > 15 - 1.4
    assert min(poisson) < 2.1 and max(poisson) > 2.9


def test_jpeg_is_real_jpeg_at_the_drawn_quality():
    """jpeg() is Pillow's codec at a quality in the documented 40..95: its output is the decoded
    file at one of those qualities, and the error falls as the quality rises."""
    from skimage import data

    photo = torch.from_numpy(data.astronaut()[100:164, 180:244].copy()).permute(2, 0, 1) / 255.0

    def pillow(q: int) -> torch.Tensor:
        buf = io.BytesIO()
        arr = (photo * 255).round().byte().permute(1, 2, 0).numpy()
        Image.fromarray(arr).save(buf, format="JPEG", quality=q)
        decoded = np.asarray(Image.open(buf), dtype=np.float32) / 255
        return torch.from_numpy(decoded).permute(2, 0, 1)

    by_quality = {q: pillow(q) for q in range(40, 96)}
    g = torch.Generator().manual_seed(0)
    for _ in range(5):
        y = jpeg(photo[None], g)[0]
        assert y.shape == photo.shape
        assert any(torch.equal(y, ref) for ref in by_quality.values())
    p40, p95 = (float(psnr(jpeg_compress(photo, q), photo)) for q in (40, 95))
    assert 25 < p40 < p95 and p95 > 35
    grey = jpeg_compress(photo[:1], 90)
    assert grey.shape == (1, 64, 64) and float(psnr(grey, photo[:1])) > 35


def _smooth_images(n: int, size: int, sigma: float, seed: int) -> torch.Tensor:
    """``(n, 3, size, size)`` in [0.2, 0.8]: white noise low-passed by a Gaussian of ``sigma`` px."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, size, size, generator=g, dtype=torch.float64)
    f = torch.fft.fftfreq(size, dtype=torch.float64)
    gain = torch.exp(-2 * (math.pi * sigma) ** 2 * (f[:, None] ** 2 + f[None, :] ** 2))
    x = torch.fft.ifft2(torch.fft.fft2(x) * gain).real
    lo, hi = x.amin((1, 2, 3), keepdim=True), x.amax((1, 2, 3), keepdim=True)
    return ((x - lo) / (hi - lo) * 0.6 + 0.2).float()


def _correlations(a: torch.Tensor, b: torch.Tensor, margin: int = 12, r: int = 2) -> torch.Tensor:
    """Normalised cross-correlation of the luma of ``a`` (N, 3, H, W) with ``b`` shifted by
    (dy, dx) in -r..r: ``(N, 2r + 1, 2r + 1)``; a peak at (dy, dx) means a(p) ~ b(p - d)."""
    a, b = rgb_to_y(a.double())[:, 0], rgb_to_y(b.double())[:, 0]
    h, w = a.shape[-2:]
    ca = a[:, margin : h - margin, margin : w - margin]
    ca = ca - ca.mean((1, 2), keepdim=True)
    cc = torch.zeros(a.shape[0], 2 * r + 1, 2 * r + 1, dtype=torch.float64)
    for i, dy in enumerate(range(-r, r + 1)):
        for j, dx in enumerate(range(-r, r + 1)):
            cb = b[:, margin - dy : h - margin - dy, margin - dx : w - margin - dx]
            cb = cb - cb.mean((1, 2), keepdim=True)
            cc[:, i, j] = (ca * cb).sum((1, 2)) / (ca.norm(dim=(1, 2)) * cb.norm(dim=(1, 2)))
    return cc


def _peak(cc: torch.Tensor) -> tuple[float, float]:
    """Sub-pixel peak (dy, dx) of one correlation surface: a parabola through the best 3 on each axis."""
    r = cc.shape[-1] // 2
    i, j = divmod(int(cc.argmax()), cc.shape[-1])
    assert 0 < i < 2 * r and 0 < j < 2 * r, "the peak is at the edge of the searched shifts"

    def vertex(lo, mid, hi):
        return float(0.5 * (lo - hi) / (lo - 2 * mid + hi))

    return (
        i - r + vertex(cc[i - 1, j], cc[i, j], cc[i + 1, j]),
        j - r + vertex(cc[i, j - 1], cc[i, j], cc[i, j + 1]),
    )


def _blobs(n: int, size: int, sigma: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(n, 3, size, size)``: a Gaussian blob (``sigma`` px, peak 0.8) on a 0.2 background, its
    centre ``(n, 2)`` (row, column; float64) drawn within 3 px of the image centre."""
    g = torch.Generator().manual_seed(seed)
    centre = (size - 1) / 2 + (torch.rand(n, 2, generator=g, dtype=torch.float64) - 0.5) * 6
    r = torch.arange(size, dtype=torch.float64)
    dy = r[None, :, None] - centre[:, 0, None, None]
    dx = r[None, None, :] - centre[:, 1, None, None]
    blob = 0.2 + 0.6 * torch.exp(-0.5 * (dy**2 + dx**2) / sigma**2)
    return blob[:, None].expand(-1, 3, -1, -1).float(), centre


def _centroid_in_hr_pixels(x: torch.Tensor, hr_size: int) -> torch.Tensor:
    """Centroid (row, column) of ``x - 0.2`` ``(N, C, h, w)``, in the coordinates of an
    ``hr_size`` grid: pixel k of h covers HR pixels [k, k + 1) * hr_size / h (centres aligned, as
    in MATLAB's imresize)."""
    w = x.double().mean(1) - 0.2
    r = (torch.arange(x.shape[-1], dtype=torch.float64) + 0.5) * hr_size / x.shape[-1] - 0.5
    mass = w.sum((1, 2))
    return (
        torch.stack([(w * r[:, None]).sum((1, 2)), (w * r[None, :]).sum((1, 2))], 1) / mass[:, None]
    )


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_the_alignment_estimates_see_zero_for_the_protocol_lr_and_a_known_roll(scale):
    """The estimators themselves, on LR images aligned by construction (make_lr, the protocol's
    bicubic LR): a blob's centroid is where it was drawn, and the cross-correlation peak is at
    zero shift, or at the roll of a rolled HR."""
    blobs, centre = _blobs(4, 144, 12.0, seed=scale)
    assert float((_centroid_in_hr_pixels(blobs, 144) - centre).abs().max()) < 1e-4
    got = _centroid_in_hr_pixels(make_lr(blobs, scale), 144)
    assert float((got - centre).abs().max()) < 0.005
    hr = _smooth_images(4, 144, 5.0, seed=scale)
    for cc in _correlations(imresize(make_lr(hr, scale), scale), hr):
        assert max(map(abs, _peak(cc))) < 0.02
    for cc in _correlations(torch.roll(hr, (1, -1), (-2, -1)), hr):
        dy, dx = _peak(cc)
        assert abs(dy - 1) < 0.02 and abs(dx + 1) < 0.02


@pytest.mark.parametrize("scale", [2, 3, 4])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_real_world_degrade_keeps_lr_aligned_with_hr(scale, seed, monkeypatch):
    """Blurs, the two rounds of random resizing and the final resize move no image: a blob's
    centroid in the LR is where it was in the HR, to 0.05 HR px, in each of 24 images.

    The centroid is the position a centred kernel keeps exactly (a ramped motion kernel moves a
    cross-correlation peak, though not the centroid); noise and JPEG are turned off here (they
    cannot move content on average, and would swamp one blob's centroid: the next test covers
    them). Before the fixes, off-centre motion kernels moved blobs by up to 3 HR px here, and
    area resizing by adaptive pooling by up to 0.26.
    """
    monkeypatch.setattr(degrade, "add_noise", lambda x, g: x)
    monkeypatch.setattr(degrade, "jpeg", lambda x, g, quality=(40, 95): x)
    hr, centre = _blobs(24, 144, 12.0, seed=100 * seed + scale)
    lr = real_world_degrade(hr, scale, torch.Generator().manual_seed(100 * seed + scale))
    assert lr.shape == (24, 3, 144 // scale, 144 // scale)
    error = (_centroid_in_hr_pixels(lr, 144) - centre).abs()
    assert float(error.max()) < 0.05, error.max(1).values


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_real_world_degrade_with_noise_and_jpeg_has_no_systematic_shift(scale):
    """The whole chain, noise and JPEG included, on smooth random images: one small LR image's
    shift estimate is noisy (sd 0.1-0.5 HR px, measured), so the test is on the mean of 48
    images' correlation surfaces (LR upscaled back against HR), whose peak must be at zero to
    0.25 HR px (about 4 standard errors at x4)."""
    hr = _smooth_images(48, 144, 5.0, seed=20 + scale)
    lr = real_world_degrade(hr, scale, torch.Generator().manual_seed(scale))
    cc = _correlations(imresize(lr, size=hr.shape[-2:]), hr).mean(0)
    assert max(map(abs, _peak(cc))) < 0.25


def test_area_resize_by_hand_and_against_average_pooling():
    """Pixel-area resizing: each output pixel is the mean of the input over its footprint."""
    x = torch.tensor([1.0, 2.0, 4.0, 8.0, 16.0], dtype=torch.float64)[None, None, None]
    # 5 -> 2: footprints [0, 2.5) and [2.5, 5): half of pixel 2 in each
    want = torch.tensor([(1 + 2 + 0.5 * 4) / 2.5, (0.5 * 4 + 8 + 16) / 2.5], dtype=torch.float64)
    torch.testing.assert_close(degrade.area_resize(x, (1, 2))[0, 0, 0], want, rtol=0, atol=1e-12)
    # 2 -> 3: footprints of 2/3 px; the middle one is a third of each pixel
    up = degrade.area_resize(x[..., :2], (1, 3))[0, 0, 0]
    torch.testing.assert_close(up, torch.tensor([1.0, 1.5, 2.0], dtype=torch.float64))
    img = torch.rand(2, 3, 12, 18, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    torch.testing.assert_close(
        degrade.area_resize(img, (4, 6)), torch.nn.functional.avg_pool2d(img, 3), rtol=0, atol=1e-12
    )
    flat = torch.full((1, 1, 13, 7), 0.3)
    torch.testing.assert_close(degrade.area_resize(flat, (5, 9)), torch.full((1, 1, 5, 9), 0.3))


def test_real_world_degrade_shapes_range_and_determinism():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(4, 3, 48, 48, generator=g)
    a = real_world_degrade(x, 3, torch.Generator().manual_seed(5))
    b = real_world_degrade(x, 3, torch.Generator().manual_seed(5))
    c = real_world_degrade(x, 3, torch.Generator().manual_seed(6))
    assert a.shape == (4, 3, 16, 16)
    assert float(a.min()) >= 0 and float(a.max()) <= 1
    assert torch.equal(a, b) and not torch.equal(a, c)
