"""Classical inpainting baselines (Telea, OpenCV's Navier-Stokes, biharmonic) as models."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

import pixelsmith.models.classical_inpaint as ci
from pixelsmith.models import create_model, list_models, model_spec

METHODS = ("telea", "navier_stokes", "biharmonic")


def _photo(n: int = 1, h: int = 64, w: int = 80) -> torch.Tensor:
    """``(n, 3, h, w)`` crops of scikit-image's astronaut, float32 in [0, 1]."""
    from skimage import data

    a = torch.from_numpy(data.astronaut()).permute(2, 0, 1).float() / 255
    return torch.stack([a[:, 100 + 40 * i : 100 + 40 * i + h, 150 : 150 + w] for i in range(n)])


def _blobs(n: int, h: int, w: int, seed: int = 0, frac: float = 0.2) -> torch.Tensor:
    """``(n, 1, h, w)`` masks, 1 = known, with round holes over ``frac`` of the pixels or more."""
    rng = np.random.default_rng(seed)
    masks = np.ones((n, 1, h, w), np.float32)
    yy, xx = np.mgrid[0:h, 0:w]
    for m in masks:
        while m.mean() > 1 - frac:
            cy, cx, r = rng.integers(0, h), rng.integers(0, w), rng.integers(3, 9)
            m[0][(yy - cy) ** 2 + (xx - cx) ** 2 <= r * r] = 0
    return torch.from_numpy(masks)


def _ramp(h: int = 96, w: int = 128) -> torch.Tensor:
    """``(1, 3, h, w)``: each channel a different linear function of x and y, within [0.1, 0.95]."""
    yy, xx = torch.meshgrid(
        torch.linspace(0, 1, h, dtype=torch.float64),
        torch.linspace(0, 1, w, dtype=torch.float64),
        indexing="ij",
    )
    return torch.stack([0.1 + 0.8 * xx, 0.2 + 0.6 * yy, 0.15 + 0.4 * xx + 0.4 * yy])[None].float()


def test_registered_for_inpaint_as_parameter_free_global_models():
    assert set(METHODS) <= set(list_models(task="inpaint"))
    for name in METHODS:
        model = create_model(name)
        assert model.differentiable is False and not list(model.parameters())
        spec = model_spec(model)
        assert (spec.in_channels, spec.out_channels, spec.scale) == (3, 3, 1)
        assert not spec.tileable and spec.size_multiple == 1


@pytest.mark.parametrize("name", METHODS)
def test_known_pixels_are_the_input_bit_for_bit_and_the_hole_is_filled(name):
    x = _photo(2)
    mask = _blobs(2, 64, 80)
    out = create_model(name)(x, mask)
    assert out.shape == x.shape and out.dtype == torch.float32
    assert float(out.min()) >= 0 and float(out.max()) <= 1
    known = (mask == 1).expand_as(x)
    assert torch.equal(out[known], x[known])
    hole = ~known
    assert 0.15 < hole.float().mean() < 0.3
    err = (out - x).abs()[hole].mean()
    assert err < 0.1, float(err)  # measured 0.068 to 0.071; the known pixels' mean colour: 0.23


@pytest.mark.parametrize("name", METHODS)
def test_what_lies_under_the_hole_never_reaches_the_output(name):
    x = _photo(1)
    mask = _blobs(1, 64, 80, seed=3)
    noise = torch.rand(x.shape, generator=torch.Generator().manual_seed(0))
    other = torch.where(mask == 1, x, noise)
    model = create_model(name)
    assert torch.equal(model(x, mask), model(other, mask))


@pytest.mark.parametrize("name", METHODS)
def test_a_flat_grey_stays_flat_whatever_the_hole(name):
    """Holes deep inside and touching every border and corner: the fill is the grey, to 1/255."""
    x = torch.full((1, 3, 48, 64), 101 / 255)
    mask = torch.ones(1, 1, 48, 64)
    mask[..., 8:40, 10:50] = 0  # 32 x 40 in the middle
    mask[..., :3, :] = 0  # top rows, both top corners
    mask[..., :, -2:] = 0  # right columns
    mask[..., 44:, :6] = 0  # bottom-left corner
    out = create_model(name)(x, mask)
    assert float((out - x).abs().max()) <= 1 / 255


def test_biharmonic_reproduces_a_linear_ramp():
    """A linear function is biharmonic, so the fill is the ramp to float32 rounding."""
    x = _ramp()
    mask = torch.ones(1, 1, 96, 128)
    mask[..., 32:64, 40:88] = 0
    out = create_model("biharmonic")(x, mask)
    torch.testing.assert_close(out, x, rtol=0, atol=1e-6)


@pytest.mark.parametrize("name", ["telea", "navier_stokes"])
def test_opencv_methods_fill_a_linear_ramp_roughly(name):
    """They are weighted means along the fast-marching front, not exact for linear functions.
    Measured on this 32 x 48 hole: mean error 5.7 (Telea) and 5.2 (NS) levels of 255, largest
    24.5 and 24.4 levels, in the hole's centre; the bounds are 8 and 32 levels."""
    x = _ramp()
    mask = torch.ones(1, 1, 96, 128)
    mask[..., 32:64, 40:88] = 0
    out = create_model(name)(x, mask)
    err = (out - x).abs()[(mask == 0).expand_as(x)]
    assert float(err.mean()) < 8 / 255 and float(err.max()) < 32 / 255, (err.mean(), err.max())


@pytest.mark.parametrize("name", METHODS)
def test_an_empty_hole_returns_the_input_without_calling_the_library(name, monkeypatch):
    import skimage.restoration

    def refuse(*args, **kwargs):
        raise AssertionError("called the library for an image without a hole")

    monkeypatch.setattr(cv2, "inpaint", refuse)
    monkeypatch.setattr(skimage.restoration, "inpaint_biharmonic", refuse)
    x = _photo(2)
    out = create_model(name)(x, torch.ones(2, 1, 64, 80))
    assert torch.equal(out, x)


@pytest.mark.parametrize("name", METHODS)
def test_a_batch_is_its_photos_one_by_one(name):
    x = _photo(2)
    mask = _blobs(2, 64, 80, seed=1)
    mask[1] = 1  # the second photo has no hole
    model = create_model(name)
    out = model(x, mask)
    for i in range(2):
        assert torch.equal(out[i : i + 1], model(x[i : i + 1], mask[i : i + 1]))
    assert torch.equal(out[1], x[1])


@pytest.mark.parametrize("name", METHODS)
def test_output_stays_in_range_beside_black_and_white(name):
    """A hole between saturated stripes: the fill must not overshoot 0 or 1."""
    x = torch.zeros(1, 3, 40, 40)
    x[..., ::4, :] = 1
    x[:, 1, :, ::3] = 1
    mask = torch.ones(1, 1, 40, 40)
    mask[..., 12:28, 10:30] = 0
    out = create_model(name)(x, mask)
    assert out.dtype == torch.float32
    assert float(out.min()) >= 0 and float(out.max()) <= 1


@pytest.mark.parametrize("name", METHODS)
def test_a_three_channel_mask_fills_where_any_channel_is_zero(name):
    """The library fills each pixel with a 0 in any channel; the composite keeps the channels
    whose mask is 1."""
    x = _photo(1)
    mask1 = _blobs(1, 64, 80, seed=2)
    mask3 = mask1.repeat(1, 3, 1, 1)
    mask3[:, 0, 50:60, 5:15] = 0  # a hole in red only
    any_zero = mask3.amin(dim=1, keepdim=True)
    model = create_model(name)
    out = model(x, mask3)
    ref = model(x, any_zero)
    torch.testing.assert_close(out[:, 0], ref[:, 0], rtol=0, atol=0)
    assert torch.equal(out[:, 1:], torch.where(mask3[:, 1:] == 1, x[:, 1:], ref[:, 1:]))
    red_only = (mask3[:, 0] == 0) & (mask1[:, 0] == 1)
    assert red_only.sum() > 50
    assert torch.equal(out[:, 1][red_only], x[:, 1][red_only])
    assert not torch.equal(out[:, 0][red_only], x[:, 0][red_only])


def test_eight_bit_telea_and_ns_are_the_plain_opencv_call():
    """``eight_bit=True``: the literature's call, uint8 RGB in (0 under the hole), radius 3,
    composited."""
    x = _photo(1)
    mask = _blobs(1, 64, 80, seed=4)
    img = np.rint((x * mask)[0].permute(1, 2, 0).double().numpy() * 255).astype(np.uint8)
    hole = (mask[0, 0].numpy() == 0).astype(np.uint8)
    for name, flag in (("telea", cv2.INPAINT_TELEA), ("navier_stokes", cv2.INPAINT_NS)):
        ref = torch.from_numpy(cv2.inpaint(img, hole, 3, flag)).permute(2, 0, 1).float() / 255
        out = create_model(name, eight_bit=True)(x, mask)[0]
        want = torch.where(mask[0] == 1, x[0], ref)
        torch.testing.assert_close(out, want, rtol=0, atol=1e-7)


def test_float_fill_is_opencv_on_each_channel_scaled():
    """The default path: one float32 channel at a time (0 under the hole), scaled by 255 * 2**16."""
    x = _photo(1)
    mask = _blobs(1, 64, 80, seed=5)
    hole = (mask[0, 0].numpy() == 0).astype(np.uint8)
    img = (x * mask)[0].double().numpy()
    ref = (
        np.stack(
            [
                cv2.inpaint(
                    (img[c] * ci.FLOAT_SCALE).astype(np.float32), hole, 3, cv2.INPAINT_TELEA
                )
                for c in range(3)
            ]
        )
        / ci.FLOAT_SCALE
    )
    out = ci.telea_inpaint(x, mask)[0].double().numpy()
    np.testing.assert_allclose(np.where(hole > 0, out, 0), np.where(hole > 0, ref, 0), atol=1e-7)


def test_radius_is_passed_and_checked():
    x = _photo(1)
    mask = _blobs(1, 64, 80, seed=6)
    assert not torch.equal(create_model("telea")(x, mask), create_model("telea", radius=7)(x, mask))
    with pytest.raises(ValueError, match="radius"):
        create_model("telea", radius=0)


def test_bad_masks_are_refused():
    x = _photo(1)
    model = create_model("telea")
    with pytest.raises(ValueError, match="0 \\(hole\\) and 1"):
        model(x, torch.full((1, 1, 64, 80), 0.5))
    with pytest.raises(ValueError, match="no known pixel"):
        model(x, torch.zeros(1, 1, 64, 80))
    with pytest.raises(ValueError, match="mask must be"):
        model(x, torch.ones(1, 2, 64, 80))
    with pytest.raises(ValueError, match="mask must be"):
        model(x, torch.ones(1, 1, 64, 81))
    with pytest.raises(ValueError, match="image must be"):
        model(x[:, :1], torch.ones(1, 1, 64, 80))
