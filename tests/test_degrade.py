"""Degradations for blind SR: kernels by their formulas, determinism, shapes and ranges."""

from __future__ import annotations

import math

import torch

from pixelsmith.data.degrade import (
    add_noise,
    gaussian_kernel,
    jpeg,
    random_blur_kernel,
    real_world_degrade,
)


def test_gaussian_kernel_matches_the_formula():
    k = gaussian_kernel(7, 1.5, 0.7, math.pi / 6)
    c, s = math.cos(math.pi / 6), math.sin(math.pi / 6)
    ref = torch.zeros(7, 7, dtype=torch.float64)
    for i in range(7):
        for j in range(7):
            x, y = j - 3, i - 3
            u, v = c * x + s * y, -s * x + c * y
            ref[i, j] = math.exp(-0.5 * ((u / 1.5) ** 2 + (v / 0.7) ** 2))
    torch.testing.assert_close(k.double(), ref / ref.sum(), atol=1e-7, rtol=0)
    # isotropic: symmetric under transposition
    iso = gaussian_kernel(9, 1.2, 1.2, 0.3)
    torch.testing.assert_close(iso, iso.T)


def test_random_kernels_are_normalised_and_centred():
    g = torch.Generator().manual_seed(0)
    for _ in range(50):
        k = random_blur_kernel(g)
        assert k.shape == (15, 15)
        assert abs(float(k.sum()) - 1) < 1e-5 and float(k.min()) >= 0
        ys, xs = torch.meshgrid(torch.arange(15.0), torch.arange(15.0), indexing="ij")
        assert abs(float((k * ys).sum()) - 7) < 1.5 and abs(float((k * xs).sum()) - 7) < 1.5


def test_noise_levels():
    g = torch.Generator().manual_seed(0)
    x = torch.full((64, 3, 32, 32), 0.5)
    n = add_noise(x, g) - x
    sd = n.flatten(1).std(1)
    assert float(sd.min()) > 0.5 / 255 and float(sd.max()) < 40 / 255


def test_jpeg_is_lossy_but_close():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(2, 3, 32, 32)
    y = jpeg(x, g)
    assert y.shape == x.shape
    assert 0 < float((y - x).abs().mean()) < 0.3


def test_real_world_degrade_shapes_range_and_determinism():
    x = torch.rand(4, 3, 48, 48)
    a = real_world_degrade(x, 3, torch.Generator().manual_seed(5))
    b = real_world_degrade(x, 3, torch.Generator().manual_seed(5))
    c = real_world_degrade(x, 3, torch.Generator().manual_seed(6))
    assert a.shape == (4, 3, 16, 16)
    assert float(a.min()) >= 0 and float(a.max()) <= 1
    assert torch.equal(a, b) and not torch.equal(a, c)
