"""Layers of CNNs 101: locally-connected (vs a naive loop and vs Conv2d), maxout, pooling."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from pixelsmith.errors import PixelsmithError
from pixelsmith.nn import (
    FullyConnected,
    LeakyReLU,
    LocallyConnected2d,
    Maxout,
    MaxoutConv2d,
    avg_pool2d,
    locally_connected2d,
    locally_connected_params,
    max_pool2d,
    maxout,
)


def naive_locally_connected(x, weight, bias, stride, padding, dilation):
    """Loop over output positions and units, one dot product each."""
    oh, ow, o, c, kh, kw = weight.shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    xp = F.pad(x, (pw, pw, ph, ph))
    out = torch.zeros(x.shape[0], o, oh, ow, dtype=x.dtype)
    for i in range(oh):
        for j in range(ow):
            for k in range(o):
                for u in range(kh):
                    for v in range(kw):
                        out[:, k, i, j] += (
                            weight[i, j, k, :, u, v] * xp[:, :, i * sh + u * dh, j * sw + v * dw]
                        ).sum(1)
                if bias is not None:
                    out[:, k, i, j] += bias[k, i, j]
    return out


@pytest.mark.parametrize(
    "kernel,stride,padding,dilation,bias",
    [
        ((3, 3), (1, 1), (0, 0), (1, 1), True),
        ((3, 2), (2, 1), (1, 0), (1, 1), True),
        ((2, 3), (1, 2), (2, 1), (2, 1), False),
    ],
)
def test_locally_connected_matches_a_naive_loop(kernel, stride, padding, dilation, bias):
    torch.manual_seed(0)
    layer = LocallyConnected2d(
        2, 3, kernel, (7, 6), stride, padding, dilation, bias=bias, dtype=torch.float64
    )
    x = torch.randn(2, 2, 7, 6, dtype=torch.float64)
    want = naive_locally_connected(x, layer.weight, layer.bias, stride, padding, dilation)
    got = layer(x)
    assert got.shape == (2, 3, *layer.output_size)
    torch.testing.assert_close(got, want, atol=1e-12, rtol=1e-12)  # float64, sums of <= 18 terms


def test_locally_connected_with_tied_weights_is_a_convolution():
    """Two paths that must agree: compared in float64 (float32 convolution kernels differ by CPU)."""
    torch.manual_seed(0)
    f64 = {"dtype": torch.float64}
    conv = nn.Conv2d(3, 4, (3, 5), stride=2, padding=(1, 2), dilation=(2, 1), **f64)
    lc = LocallyConnected2d(3, 4, (3, 5), (11, 9), stride=2, padding=(1, 2), dilation=(2, 1), **f64)
    with torch.no_grad():
        lc.weight.copy_(conv.weight.expand_as(lc.weight))
        lc.bias.copy_(conv.bias[:, None, None].expand_as(lc.bias))
    x = torch.randn(2, 3, 11, 9, **f64)
    with torch.no_grad():
        torch.testing.assert_close(lc(x), conv(x), atol=1e-12, rtol=1e-12)


def test_locally_connected_unshared_weights_differ_by_position():
    """A constant image gives the same conv response everywhere, but not an LC response."""
    torch.manual_seed(0)
    lc = LocallyConnected2d(1, 1, 3, 6)
    y = lc(torch.ones(1, 1, 6, 6))
    assert y.std() > 0.1


def test_locally_connected_gradcheck_and_parameter_count():
    torch.manual_seed(0)
    lc = LocallyConnected2d(2, 2, 2, (4, 3), stride=(1, 2), padding=1, dtype=torch.float64)
    x = torch.randn(1, 2, 4, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda x, w, b: locally_connected2d(x, w, b, (1, 2), 1),
        (x, lc.weight, lc.bias),
        fast_mode=True,
    )
    # the lecture's 200x200 -> 40K units with 10x10 windows (209x209 gives 200x200 positions)
    big = LocallyConnected2d(1, 1, 10, 209, bias=False, device="meta")
    assert big.output_size == (200, 200)
    assert big.weight.numel() == locally_connected_params((1, 200, 200), 40_000, 10) == 4_000_000


def test_locally_connected_rejects_another_input_size():
    with pytest.raises(ValueError, match="built for"):
        LocallyConnected2d(1, 1, 3, 8)(torch.zeros(1, 1, 9, 8))


def test_fully_connected_on_an_image_counts_the_lecture_weights():
    fc = FullyConnected((1, 200, 200), 40_000, bias=False, device="meta")
    assert sum(p.numel() for p in fc.parameters()) == 1_600_000_000
    small = FullyConnected((2, 3, 4), 5).double()
    x = torch.randn(6, 2, 3, 4, dtype=torch.float64)
    w, b = small.linear.weight, small.linear.bias  # (5, 24): every input value has its own weight
    want = (w[None] * x.reshape(6, 1, 24)).sum(-1) + b
    with torch.no_grad():
        torch.testing.assert_close(small(x), want, atol=1e-12, rtol=1e-12)


def test_maxout_layers_take_the_max_of_their_pieces():
    torch.manual_seed(0)
    m = Maxout(4, 3, pieces=2)
    x = torch.randn(5, 4)
    z = m.linear(x)
    torch.testing.assert_close(m(x), torch.maximum(z[:, 0::2], z[:, 1::2]))

    mc = MaxoutConv2d(2, 3, 3, pieces=3, padding=1)
    x = torch.randn(2, 2, 6, 5)
    z = mc.conv(x)
    want = torch.stack([z[:, 3 * j : 3 * j + 3].amax(1) for j in range(3)], 1)
    assert mc(x).shape == (2, 3, 6, 5)
    torch.testing.assert_close(mc(x), want)


def test_maxout_of_x_and_zero_is_relu_and_of_x_and_tenth_x_is_leaky_relu():
    x = torch.linspace(-3, 3, 61)
    torch.testing.assert_close(maxout(torch.stack([x, 0 * x], -1), 2, dim=-1)[..., 0], F.relu(x))
    torch.testing.assert_close(
        maxout(torch.stack([x, 0.1 * x], -1), 2, dim=-1)[..., 0], LeakyReLU()(x)
    )
    with pytest.raises(PixelsmithError, match="multiple"):
        maxout(torch.zeros(2, 5), 2)


def test_lecture_max_pool_example():
    x = torch.tensor([[1.0, 1, 2, 4], [5, 6, 7, 8], [3, 2, 1, 0], [1, 2, 3, 4]])[None, None]
    assert torch.equal(max_pool2d(x, 2, 2), torch.tensor([[[[6.0, 8], [3, 4]]]]))
    assert torch.equal(max_pool2d(x), max_pool2d(x, 2, 2))
    assert torch.equal(avg_pool2d(x), torch.tensor([[[[3.25, 5.25], [2, 2]]]]))


def test_pooling_any_size_and_stride():
    torch.manual_seed(0)
    x = torch.randn(2, 3, 9, 7)
    y = max_pool2d(x, 3, 2)
    assert y.shape == (2, 3, 4, 3)
    assert y[1, 2, 1, 2] == x[1, 2, 2:5, 4:7].max()
    a = avg_pool2d(x, (2, 3), 1, padding=1)
    assert a.shape == (2, 3, 10, 7)
    assert torch.isclose(a[0, 0, 0, 0], x[0, 0, 0, :2].mean())  # padding is not averaged in
    assert max_pool2d(x[0], 2).shape == (3, 4, 3)


def test_leaky_relu_module_uses_the_lecture_slope():
    assert LeakyReLU().negative_slope == 0.1
    assert LeakyReLU()(torch.tensor([-2.0, 3.0])).tolist() == pytest.approx([-0.2, 3.0])
