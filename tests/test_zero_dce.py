"""Zero-DCE: the curves on hand-computed numbers, the authors' checkpoint against a reference forward
written out here from the paper (plain conv2d on the state dict), downscaled-curve inference, and the
zero-reference (Zero-DCE) and DeepUPE losses on hand-made inputs."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from pixelsmith.errors import PixelsmithError
from pixelsmith.models import create_model, list_models, model_spec
from pixelsmith.models.zero_dce import DCENet, apply_curves, load_official_zero_dce
from pixelsmith.nn.lowlight_losses import (
    colour_angle_loss,
    colour_constancy_loss,
    exposure_loss,
    illumination_smoothness_loss,
    illumination_tv_loss,
    spatial_consistency_loss,
    zero_dce_loss,
)
from pixelsmith.paths import data_dir

WEIGHTS = "weights/zero_dce/Epoch99.pth"


def _checkpoint():
    d = data_dir()
    if d is None or not (d / WEIGHTS).is_file():
        pytest.skip(f"needs ../shared/data/{WEIGHTS}")
    return d / WEIGHTS


def _reference_forward(state: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """The authors' enhance_net_nopool written out: 7 convs (3x3, pad 1), skips (3,4) (2,5) (1,6),
    tanh, then 8 curves in the authors' form x + r * (x^2 - x)."""

    def conv(k: int, t: torch.Tensor) -> torch.Tensor:
        return F.conv2d(t, state[f"e_conv{k}.weight"], state[f"e_conv{k}.bias"], padding=1)

    x1 = conv(1, x).clamp_min(0)
    x2 = conv(2, x1).clamp_min(0)
    x3 = conv(3, x2).clamp_min(0)
    x4 = conv(4, x3).clamp_min(0)
    x5 = conv(5, torch.cat([x3, x4], 1)).clamp_min(0)
    x6 = conv(6, torch.cat([x2, x5], 1)).clamp_min(0)
    r = torch.tanh(conv(7, torch.cat([x1, x6], 1)))
    for i in range(8):
        ri = r[:, 3 * i : 3 * i + 3]
        x = x + ri * (x * x - x)
    return x


def _dark_photo(h: int = 96, w: int = 128) -> torch.Tensor:
    """A real under-exposed photo: a crop of LIME's 1.bmp when the shared data is there, else a
    darkened crop of scikit-image's astronaut."""
    d = data_dir()
    if d is not None and (d / "lowlight_real/1.bmp").is_file():
        from PIL import Image

        a = np.asarray(Image.open(d / "lowlight_real/1.bmp").convert("RGB"))[
            300 : 300 + h, 200 : 200 + w
        ]
        return torch.from_numpy(a.copy()).permute(2, 0, 1)[None].float() / 255
    from skimage import data

    a = data.astronaut()[100 : 100 + h, 150 : 150 + w]
    return (torch.from_numpy(a.copy()).permute(2, 0, 1)[None].float() / 255) * 0.25


# ---- the curves -------------------------------------------------------------------------------


def test_apply_curves_on_hand_computed_numbers():
    x = torch.tensor([0.0, 0.5, 1.0, 0.2]).view(1, 1, 1, 4).expand(1, 3, 1, 4)
    one = apply_curves(x, torch.ones(1, 3, 1, 4))
    # LE(x) = x + x(1 - x): 0 -> 0, 0.5 -> 0.75, 1 -> 1, 0.2 -> 0.36
    torch.testing.assert_close(one[0, 0, 0], torch.tensor([0.0, 0.75, 1.0, 0.36]))
    two = apply_curves(x, torch.ones(1, 6, 1, 4))
    # a second iteration: 0.75 -> 0.9375, 0.36 -> 0.5904
    torch.testing.assert_close(two[0, 0, 0], torch.tensor([0.0, 0.9375, 1.0, 0.5904]))
    darker = apply_curves(x, -torch.ones(1, 3, 1, 4))  # a = -1: x^2
    torch.testing.assert_close(darker[0, 0, 0], torch.tensor([0.0, 0.25, 1.0, 0.04]))
    # per channel: R brightened, G untouched, B darkened
    a = torch.tensor([1.0, 0.0, -1.0]).view(1, 3, 1, 1).expand(1, 3, 1, 4)
    torch.testing.assert_close(apply_curves(x, a)[0, :, 0, 1], torch.tensor([0.75, 0.5, 0.25]))
    with pytest.raises(ValueError):
        apply_curves(x, torch.ones(1, 4, 1, 4))


def test_model_is_registered_with_its_spec_and_the_authors_shapes():
    assert "zero_dce" in list_models(task="lowlight")
    model = create_model("zero_dce")  # pixelsmith's: curves from a copy of at most 512 px
    spec = model_spec(model)
    assert (spec.in_channels, spec.out_channels, spec.scale) == (3, 3, 1)
    assert model.curve_side == 512 and spec.receptive_field is None  # curves from the whole image
    full = model_spec(create_model("zero_dce", curve_side=None))  # the authors': full resolution
    assert (full.receptive_field, full.size_multiple) == (15, 1)
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert shapes["e_conv1.weight"] == (32, 3, 3, 3)
    assert shapes["e_conv5.weight"] == (32, 64, 3, 3)
    assert shapes["e_conv7.weight"] == (24, 64, 3, 3)
    assert sum(p.numel() for p in model.parameters()) == 79416


def test_receptive_field_is_15():
    torch.manual_seed(0)
    model = DCENet().double().eval()
    g = torch.Generator().manual_seed(0)
    x = torch.rand(1, 3, 23, 23, generator=g, dtype=torch.float64)
    with torch.no_grad():
        y = model(x)[..., 11, 11]
        far = x.clone()
        far[..., :4, :] = far[..., 19:, :] = far[..., :, :4] = far[..., :, 19:] = 0.5
        # pixels more than 7 away enter no sum (float64: equal to rounding)
        torch.testing.assert_close(model(far)[..., 11, 11], y, rtol=0, atol=1e-12)
        near = x.clone()
        near[..., 4, 11] = 1 - near[..., 4, 11]  # exactly 7 away
        assert (model(near)[..., 11, 11] - y).abs().max() > 0


def test_curves_use_the_paper_sign_and_training_gets_them():
    torch.manual_seed(0)
    model = DCENet()
    x = torch.rand(2, 3, 20, 24, generator=torch.Generator().manual_seed(3), requires_grad=True)
    y, alpha = model(x, aux=True)
    assert alpha.shape == (2, 24, 20, 24) and alpha.abs().max() <= 1
    torch.testing.assert_close(alpha, -model.raw_curves(x))
    torch.testing.assert_close(y, model(x))
    zero_dce_loss(y, x, alpha).backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters())


# ---- the authors' checkpoint ------------------------------------------------------------------


def test_authors_checkpoint_matches_the_reference_forward():
    path = _checkpoint()
    model = load_official_zero_dce(path)
    state = torch.load(path, map_location="cpu", weights_only=True)
    assert model_spec(model).receptive_field == 15
    x = _dark_photo()
    with torch.no_grad():
        got = model(x)
        want = _reference_forward({k: v.double() for k, v in state.items()}, x.double())
    err = float((got.double() - want).abs().max())
    assert err < 1e-3, err
    assert float(got.mean()) > float(x.mean()) + 0.1  # it does brighten a dark photo
    # load_state_dict takes the file unchanged
    DCENet().load_state_dict(state)


def test_loader_names_what_is_wrong(tmp_path):
    good = DCENet().state_dict()
    with pytest.raises(PixelsmithError, match="not found"):
        load_official_zero_dce(tmp_path / "none.pth")
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(PixelsmithError, match="not a PyTorch checkpoint"):
        load_official_zero_dce(tmp_path / "junk.pth")
    missing = {k: v for k, v in good.items() if k != "e_conv7.bias"}
    torch.save(missing, tmp_path / "missing.pth")
    with pytest.raises(PixelsmithError, match="missing e_conv7.bias"):
        load_official_zero_dce(tmp_path / "missing.pth")
    torch.save({**good, "extra.weight": torch.zeros(1)}, tmp_path / "extra.pth")
    with pytest.raises(PixelsmithError, match="unexpected extra.weight"):
        load_official_zero_dce(tmp_path / "extra.pth")
    torch.save({**good, "e_conv7.weight": torch.zeros(12, 64, 3, 3)}, tmp_path / "shape.pth")
    with pytest.raises(PixelsmithError, match=r"e_conv7.weight is \(12, 64, 3, 3\)"):
        load_official_zero_dce(tmp_path / "shape.pth")
    torch.save({"module." + k: v for k, v in good.items()}, tmp_path / "dp.pth")
    assert isinstance(load_official_zero_dce(tmp_path / "dp.pth"), DCENet)


# ---- fast inference ---------------------------------------------------------------------------


def _model_for_inference() -> DCENet:
    """The authors' weights when present (realistic curves), else a seeded random DCE-Net."""
    d = data_dir()
    if d is not None and (d / WEIGHTS).is_file():
        return load_official_zero_dce(d / WEIGHTS)
    torch.manual_seed(0)
    return DCENet().eval()


def test_downscaled_curves_at_factor_one_are_the_full_resolution_ones():
    model = _model_for_inference()
    x = _dark_photo(40, 56)
    with torch.no_grad():
        full = model(x)
        assert torch.equal(model.enhance(x, max_side=56), full)
        assert torch.equal(model.enhance(x, max_side=1000), full)
        assert torch.equal(model.enhance(x, scale=1), full)
        assert torch.equal(model.curves(x, scale=1.0), model.curves(x))


def test_downscaled_curves_are_close_on_a_smooth_image():
    from skimage import data
    from skimage.filters import gaussian

    a = gaussian(data.astronaut()[:192, 64:256].astype(np.float64) / 255, sigma=4, channel_axis=-1)
    x = torch.from_numpy(a * 0.3).permute(2, 0, 1)[None].float()
    model = _model_for_inference()
    with torch.no_grad():
        full = model(x)
        fast = model.enhance(x, max_side=64)  # curves from a 64 x 64 copy (factor 3)
        via_option = DCENet(curve_side=64).eval()
        via_option.load_state_dict(model.state_dict())
        assert torch.equal(via_option(x), fast)
        torch.testing.assert_close(
            fast, apply_curves(x, model.curves(x, max_side=64)), rtol=0, atol=1e-5
        )
    psnr = 10 * math.log10(1 / float((fast - full).square().mean()))
    assert psnr > 30, psnr
    assert fast.shape == x.shape


# ---- the Zero-DCE losses ----------------------------------------------------------------------


def test_exposure_loss():
    assert float(exposure_loss(torch.full((2, 3, 32, 48), 0.6))) == pytest.approx(0, abs=1e-12)
    # two 16x16 patches at means 0.5 and 0.8: ((0.1)^2 + (0.2)^2) / 2 = 0.025
    y = torch.cat(
        [
            torch.full((1, 3, 16, 16), 0.5, dtype=torch.float64),
            torch.full((1, 3, 16, 16), 0.8, dtype=torch.float64),
        ],
        dim=3,
    )
    assert float(exposure_loss(y)) == pytest.approx(0.025, rel=1e-5)


def test_colour_constancy_loss():
    grey = torch.rand(2, 1, 8, 8, generator=torch.Generator().manual_seed(0)).expand(2, 3, 8, 8)
    assert float(colour_constancy_loss(grey)) == 0.0
    x = torch.tensor([0.5, 0.3, 0.1]).view(1, 3, 1, 1).expand(1, 3, 4, 4)
    # D = (0.04, 0.16, 0.04): sqrt(0.04^2 + 0.16^2 + 0.04^2) = sqrt(0.0288); paper's sum: 0.24
    assert float(colour_constancy_loss(x)) == pytest.approx(math.sqrt(0.0288), rel=1e-5)
    assert float(colour_constancy_loss(x, sqrt=False)) == pytest.approx(0.24, rel=1e-5)
    g = grey.clone().requires_grad_(True)
    colour_constancy_loss(g).backward()  # no NaN at the loss's minimum
    assert torch.isfinite(g.grad).all()


def test_spatial_consistency_loss():
    g = torch.Generator().manual_seed(0)
    low = torch.rand(2, 3, 16, 20, generator=g)
    assert float(spatial_consistency_loss(low, low)) == 0.0
    assert float(spatial_consistency_loss(1.7 * low, low)) > 0  # a multiple is not free
    # a constant offset keeps every inner difference; only the authors' zero border sees it
    assert float(spatial_consistency_loss(low + 0.2, low, padding="replicate")) == pytest.approx(
        0, abs=1e-12
    )
    assert float(spatial_consistency_loss(low + 0.2, low)) > 0
    # hand-computed: 8x4 input of two 4x4 regions (left 0.2, right 0.6), output 0.4 / 0.4.
    low = torch.cat([torch.full((1, 3, 4, 4), 0.2), torch.full((1, 3, 4, 4), 0.6)], dim=3)
    out = torch.full((1, 3, 4, 8), 0.4)
    # replicate: the one inner pair differs by 0.4 in the input, 0 in the output; counted from
    # both sides: (0.4^2 + 0.4^2) / 2 regions = 0.16
    assert float(spatial_consistency_loss(out, low, padding="replicate")) == pytest.approx(0.16)
    # zeros: each region also has 3 outside neighbours (value 0): region 1: 3 (0.4 - 0.2)^2,
    # region 2: 3 (0.4 - 0.6)^2, plus the inner pair: (0.12 + 0.12 + 0.32) / 2 = 0.28
    assert float(spatial_consistency_loss(out, low)) == pytest.approx(0.28)


def test_illumination_tv_loss():
    assert float(illumination_tv_loss(torch.full((2, 24, 8, 8), 0.3))) == 0.0
    # a ramp along width, step 0.1, one channel, 3x4: 2 * (0 + 0.01 * 9 / 9) = 0.02
    a = (0.1 * torch.arange(4.0)).view(1, 1, 1, 4).expand(1, 1, 3, 4)
    assert float(illumination_tv_loss(a)) == pytest.approx(0.02, rel=1e-5)


def test_zero_dce_loss_uses_the_authors_weights():
    g = torch.Generator().manual_seed(1)
    low = torch.rand(2, 3, 32, 32, generator=g) * 0.3
    out = low.sqrt()
    alpha = torch.rand(2, 24, 32, 32, generator=g) * 2 - 1
    want = (
        spatial_consistency_loss(out, low)
        + 10 * exposure_loss(out)
        + 5 * colour_constancy_loss(out)
        + 200 * illumination_tv_loss(alpha)
    )
    torch.testing.assert_close(zero_dce_loss(out, low, alpha), want)
    only_tv = zero_dce_loss(out, low, alpha, weights={"spa": 0, "exp": 0, "col": 0, "tv": 1})
    torch.testing.assert_close(only_tv, illumination_tv_loss(alpha))


# ---- the DeepUPE losses -----------------------------------------------------------------------


def test_colour_angle_loss():
    g = torch.Generator().manual_seed(0)
    a = torch.rand(2, 3, 5, 6, generator=g) + 0.01
    assert float(colour_angle_loss(a, 3 * a)) == pytest.approx(0, abs=1e-6)
    r = torch.tensor([1.0, 0.0, 0.0]).view(1, 3, 1, 1).expand(1, 3, 2, 2)
    gr = torch.tensor([0.0, 0.5, 0.0]).view(1, 3, 1, 1).expand(1, 3, 2, 2)
    assert float(colour_angle_loss(r, gr)) == pytest.approx(math.pi / 2)
    # (1, 1, 0) vs (1, 0, 0): 45 degrees
    rg = torch.tensor([1.0, 1.0, 0.0]).view(1, 3, 1, 1)
    assert float(colour_angle_loss(rg, r[..., :1, :1])) == pytest.approx(math.pi / 4)
    x = a.clone().requires_grad_(True)
    colour_angle_loss(x, 2 * a).backward()  # finite gradient at zero angle
    assert torch.isfinite(x.grad).all()


def test_illumination_smoothness_loss():
    g = torch.Generator().manual_seed(0)
    image = torch.rand(1, 3, 8, 9, generator=g)
    assert float(illumination_smoothness_loss(torch.full((1, 3, 8, 9), 0.7), image)) == 0.0
    # hand-computed: a flat image (weights 1 / eps) and S stepping by 0.01 along width, 2x3:
    # mean of w_x (d_x S)^2 = 1e4 * 1e-4 = 1 over the x differences, 0 along y -> lam * 1
    flat = torch.full((1, 1, 2, 3), 0.5)
    s = (0.01 * torch.arange(3.0)).view(1, 1, 1, 3).expand(1, 1, 2, 3)
    assert float(illumination_smoothness_loss(s, flat, lam=2.0)) == pytest.approx(2.0, rel=1e-4)
    # an edge in the image between columns 1 and 2 (log 0.5 -> log 0.05) lowers that weight
    edge = flat.clone()
    edge[..., 2] = 0.05
    w = 1 / (math.log(10) ** 1.2 + 1e-4)
    want = (1e4 * 1e-4 + w * 1e-4) / 2
    assert float(illumination_smoothness_loss(s, edge)) == pytest.approx(want, rel=1e-4)
