"""filter_image against scipy.ndimage.correlate and hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from scipy import ndimage

from pixelsmith.errors import PixelsmithError
from pixelsmith.nn.filtering import (
    BORDERS,
    box_kernel,
    edge_kernel,
    filter_image,
    gaussian_kernel,
    sobel_kernels,
)

SCIPY_MODE = {
    "reflect": "mirror",
    "symmetric": "reflect",
    "replicate": "nearest",
    "circular": "wrap",
    "zeros": "constant",
}


@pytest.mark.parametrize("border", BORDERS)
@pytest.mark.parametrize("kshape", [(3, 3), (1, 3), (2, 4), (5, 2)])
def test_matches_scipy_correlate(border, kshape):
    g = torch.Generator().manual_seed(0)
    image = torch.rand(3, 9, 8, dtype=torch.float64, generator=g)
    kernel = torch.randn(*kshape, dtype=torch.float64, generator=g)
    got = filter_image(image, kernel, border)
    for c in range(3):
        want = ndimage.correlate(image[c].numpy(), kernel.numpy(), mode=SCIPY_MODE[border])
        np.testing.assert_allclose(got[c].numpy(), want, atol=1e-12)


@pytest.mark.parametrize("border", BORDERS)
def test_kernels_larger_than_the_image(border):
    image = torch.rand(1, 4, 3, dtype=torch.float64)
    kernel = torch.rand(9, 7, dtype=torch.float64)
    want = ndimage.correlate(image[0].numpy(), kernel.numpy(), mode=SCIPY_MODE[border])
    np.testing.assert_allclose(filter_image(image, kernel, border)[0].numpy(), want, atol=1e-12)


def test_edge_kernel_by_hand():
    row = torch.tensor([[[0.0, 0.0, 1.0, 1.0, 1.0]]])  # a step up between pixels 1 and 2
    # [-1 0 1] gives x[j+1] - x[j-1]; reflect pads with x[1] on the left, x[3] on the right
    assert filter_image(row, edge_kernel()).tolist() == [[[0.0, 1.0, 1.0, 0.0, 0.0]]]
    assert filter_image(row, edge_kernel(), "zeros").tolist() == [[[0.0, 1.0, 1.0, 0.0, -1.0]]]
    col = row.transpose(1, 2)
    assert filter_image(col, edge_kernel().T).transpose(1, 2).tolist() == [[[0, 1, 1, 0, 0]]]


def test_sobel_by_hand():
    gx, gy = sobel_kernels()
    image = torch.zeros(1, 5, 5)
    image[:, :, 3:] = 1.0  # bright on the right
    ex, ey = filter_image(image, gx), filter_image(image, gy)
    assert ex[0, 2].tolist() == [0.0, 0.0, 4.0, 4.0, 0.0]  # (1 + 2 + 1) across the step
    assert ey.abs().max() == 0
    assert torch.equal(gy, gx.T)


def test_named_kernels():
    g = gaussian_kernel(7, 1.5)
    assert g.shape == (7, 7) and torch.isclose(g.sum(), torch.tensor(1.0))
    assert torch.allclose(g, g.T) and torch.allclose(g, g.flip(0)) and g.argmax() == 24
    x = torch.arange(7.0) - 3
    one_d = torch.exp(-(x**2) / (2 * 1.5**2))
    torch.testing.assert_close(g, torch.outer(one_d, one_d) / one_d.sum() ** 2)
    assert torch.equal(box_kernel(3), torch.full((3, 3), 1 / 9))
    image = torch.rand(2, 3, 10, 11)
    torch.testing.assert_close(filter_image(image, box_kernel(1)), image)
    const = torch.full((1, 6, 6), 0.3)
    torch.testing.assert_close(filter_image(const, gaussian_kernel(5, 1.0)), const)
    with pytest.raises(PixelsmithError):
        gaussian_kernel(3, 0.0)


def test_batches_channels_and_errors():
    g = torch.Generator().manual_seed(1)
    batch = torch.rand(2, 3, 8, 8, generator=g)
    k = torch.randn(3, 3, generator=g)
    out = filter_image(batch, k)
    assert out.shape == batch.shape and out.dtype == batch.dtype
    torch.testing.assert_close(out[1, 2:3], filter_image(batch[1, 2:3], k))
    with pytest.raises(PixelsmithError, match="border"):
        filter_image(batch, k, "mirror-ish")
    with pytest.raises(PixelsmithError, match="kernel"):
        filter_image(batch, torch.ones(3))
    with pytest.raises(PixelsmithError, match="float"):
        filter_image(torch.zeros(3, 4, 4, dtype=torch.uint8), k)


def test_plot_filtering_writes_a_figure(tmp_path):
    from pixelsmith.viz.filtering_plot import plot_filtering

    image = torch.rand(3, 40, 48, generator=torch.Generator().manual_seed(0))
    path = plot_filtering(tmp_path / "filters.png", image, dpi=40)
    with Image.open(path) as im:
        assert im.format == "PNG" and im.size[0] > 300
