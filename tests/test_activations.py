"""Activations against their closed forms, and autograd against the closed-form derivatives."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from pixelsmith.nn import activations as A

X = np.concatenate([np.linspace(-8, 8, 161), [-30.0, -1e-3, 1e-3, 30.0]])

CLOSED_FORMS = {  # numpy, float64: (f, f')
    "sigmoid": (lambda x: 1 / (1 + np.exp(-x)), lambda x: np.exp(-x) / (1 + np.exp(-x)) ** 2),
    "tanh": (
        lambda x: (np.exp(x) - np.exp(-x)) / (np.exp(x) + np.exp(-x)),
        lambda x: 4 / (np.exp(x) + np.exp(-x)) ** 2,
    ),
    "relu": (lambda x: np.where(x > 0, x, 0.0), lambda x: np.where(x > 0, 1.0, 0.0)),
    "leaky_relu": (lambda x: np.where(x > 0, x, 0.1 * x), lambda x: np.where(x > 0, 1.0, 0.1)),
    "elu": (lambda x: np.where(x > 0, x, np.exp(x) - 1), lambda x: np.where(x > 0, 1.0, np.exp(x))),
}


@pytest.mark.parametrize("name", list(CLOSED_FORMS))
def test_function_and_derivative_match_the_closed_forms(name):
    f, df = A.ACTIVATIONS[name]
    ref_f, ref_df = CLOSED_FORMS[name]
    x = torch.from_numpy(X)
    with np.errstate(over="ignore", invalid="ignore"):
        want_f, want_df = ref_f(X), np.nan_to_num(ref_df(X))
    np.testing.assert_allclose(f(x).numpy(), want_f, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(df(x).numpy(), want_df, rtol=1e-10, atol=1e-15)


@pytest.mark.parametrize("name", list(CLOSED_FORMS))
def test_autograd_agrees_with_the_closed_form_derivative(name):
    f, df = A.ACTIVATIONS[name]
    x = torch.cat([torch.from_numpy(X), torch.zeros(1, dtype=torch.float64)]).requires_grad_()
    (g,) = torch.autograd.grad(f(x).sum(), x)
    torch.testing.assert_close(g, df(x.detach()), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", list(CLOSED_FORMS))
def test_gradcheck_in_float64(name):
    f, _ = A.ACTIVATIONS[name]
    x = torch.randn(40, dtype=torch.float64, generator=torch.Generator().manual_seed(1)) * 3
    x = torch.where(x.abs() < 0.05, x + 0.2, x)  # away from the kink (finite differences break)
    assert torch.autograd.gradcheck(f, (x.requires_grad_(),))


def test_parameters_of_leaky_relu_and_elu():
    x = torch.tensor([-2.0, 0.5], dtype=torch.float64)
    assert A.leaky_relu(x, 0.3).tolist() == pytest.approx([-0.6, 0.5])
    assert A.leaky_relu_grad(x, 0.3).tolist() == pytest.approx([0.3, 1.0])
    assert A.elu(x, 2.0).tolist() == pytest.approx([2 * (np.exp(-2) - 1), 0.5])
    assert A.elu_grad(x, 2.0).tolist() == pytest.approx([2 * np.exp(-2), 1.0])
    assert torch.nn.functional.elu(x, 2.0).tolist() == pytest.approx(A.elu(x, 2.0).tolist())


def test_maxout_and_its_derivative():
    g = torch.Generator().manual_seed(0)
    z = torch.randn(3, 6, 4, dtype=torch.float64, generator=g)
    y = A.maxout(z, 3, dim=1)
    assert y.shape == (3, 2, 4)
    torch.testing.assert_close(y[:, 1], z[:, 3:6].max(1).values)
    zz = z.clone().requires_grad_()
    (grad,) = torch.autograd.grad(A.maxout(zz, 3, dim=1).sum(), zz)
    torch.testing.assert_close(grad, A.maxout_grad(z, 3, dim=1))
    assert A.maxout_grad(z, 3, dim=1).reshape(3, 2, 3, 4).sum(2).eq(1).all()
    assert torch.autograd.gradcheck(lambda t: A.maxout(t, 2, dim=-1), (zz,))


def test_saturation_and_dead_units():
    """The lecture's points: sigmoid/tanh gradients vanish for large |x|; ReLU's is 0 for x < 0."""
    big = torch.tensor([-10.0, 10.0], dtype=torch.float64)
    assert (A.sigmoid_grad(big) < 5e-5).all() and A.sigmoid_grad(torch.zeros(1)).item() == 0.25
    assert (A.tanh_grad(big) < 1e-8).all()
    assert A.sigmoid(torch.zeros(1)).item() == 0.5  # not zero-centred
    neg = -torch.rand(100, dtype=torch.float64) - 0.01
    assert A.relu_grad(neg).eq(0).all()
    assert A.leaky_relu_grad(neg).eq(0.1).all() and A.elu_grad(neg).gt(0).all()


def test_plot_activations_writes_one_png(tmp_path):
    from pixelsmith.viz.activations_plot import plot_activations

    path = plot_activations(tmp_path / "activations.png", dpi=50)
    assert path == tmp_path / "activations.png"
    with Image.open(path) as im:
        assert im.format == "PNG" and im.size[0] > 400 and im.size[1] > 250
        assert np.asarray(im.convert("L")).std() > 10  # not blank
    assert plot_activations(path, dpi=50) == path  # replaces
