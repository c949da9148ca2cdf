"""The lowlight task: pair folders and their split, the synthetic under-exposure, the classical
baselines against their formulas and scikit-image, DeepUPE's guided upsampling and I / S, the
task's strength, batches, losses and evaluation (PSNR/SSIM by scikit-image), and the API and CLI
verbs; with the shared data, the Zero-DCE authors' checkpoint and the published LOL figures."""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image
from torch.nn import functional as F

import pixelsmith
from pixelsmith.cli import main
from pixelsmith.data.pairs import list_pairs, load_pairs, read_pair
from pixelsmith.data.photos import PhotoFolder
from pixelsmith.data.underexpose import EXPOSURE, underexpose
from pixelsmith.errors import PixelsmithError
from pixelsmith.models import create_model
from pixelsmith.models.deepupe import guided_upsample
from pixelsmith.tasks import get_task
from pixelsmith.tasks.base import Batch

ZERO_DCE = "weights/zero_dce/Epoch99.pth"
LOL5 = "lol_eval15_first5"


@pytest.fixture(autouse=True)
def _one_thread():
    """One torch thread: on two cores shared with other work, a second thread spins against it
    (ten times slower here). Results do not depend on it; conftest restores the count after."""
    torch.set_num_threads(1)


# --- helpers ----------------------------------------------------------------------------------
def _srgb_to_linear(x: np.ndarray) -> np.ndarray:
    """IEC 61966-2-1, written out (float64)."""
    return np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)


def _rgb(seed: int, h: int, w: int, lo: int = 0, hi: int = 256) -> np.ndarray:
    return np.random.default_rng(seed).integers(lo, hi, (h, w, 3), dtype=np.uint8)


def _pair_folder(root: Path, names, size=(24, 32), high=lambda low: 255 - low) -> Path:
    """``root/low/NAME`` random dark 8-bit photos, ``root/high/NAME = high(low)``."""
    (root / "low").mkdir(parents=True)
    (root / "high").mkdir()
    for i, name in enumerate(names):
        low = _rgb(i, *size, hi=80)
        Image.fromarray(low).save(root / "low" / name)
        Image.fromarray(np.asarray(high(low), dtype=np.uint8)).save(root / "high" / name)
    return root


def _astronaut_crops(n: int = 4, side: int = 32) -> torch.Tensor:
    from skimage import data

    a = torch.from_numpy(data.astronaut().copy()).permute(2, 0, 1).float() / 255
    return torch.stack(
        [a[:, 64 * (i + 1) : 64 * (i + 1) + side, 120 : 120 + side] for i in range(n)]
    )


def _invoke(args: list[str]):
    return CliRunner().invoke(main, args)


def _one_line_error(r, name: str) -> str:
    assert r.exit_code == 1, (r.exit_code, r.output)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("pixelsmith: error: ") and name in lines[0], lines[0]
    return lines[0]


def _checkpoint(shared_data: Path) -> Path:
    p = shared_data / ZERO_DCE
    if not p.is_file():
        pytest.skip(f"needs ../shared/data/{ZERO_DCE}")
    return p


# --- pair folders -----------------------------------------------------------------------------
def test_list_pairs_matches_by_name_sorted(tmp_path):
    root = _pair_folder(tmp_path / "p", ["b.png", "a.png", "c.png"])
    pairs = list_pairs(root)
    assert [lo.name for lo, _ in pairs] == ["a.png", "b.png", "c.png"]
    for lo, hi in pairs:
        assert lo.name == hi.name
        assert (lo.parent.name, hi.parent.name) == ("low", "high")


def test_a_half_pair_is_an_error_naming_the_file(tmp_path):
    root = _pair_folder(tmp_path / "p", ["a.png", "b.png"])
    Image.fromarray(_rgb(9, 8, 8)).save(root / "low" / "lonely.png")
    with pytest.raises(PixelsmithError, match="lonely.png"):
        list_pairs(root)
    (root / "low" / "lonely.png").unlink()
    Image.fromarray(_rgb(9, 8, 8)).save(root / "high" / "orphan.png")
    with pytest.raises(PixelsmithError, match="orphan.png"):
        list_pairs(root)


def test_a_folder_without_low_and_high_is_not_a_pair_folder(tmp_path):
    (tmp_path / "low").mkdir()
    with pytest.raises(PixelsmithError, match="low/ and high/"):
        list_pairs(tmp_path)


def test_train_and_val_partition_the_pairs_by_the_sha1_of_the_name(tmp_path):
    names = [f"{i}.png" for i in range(40)]
    root = _pair_folder(tmp_path / "p", names, size=(4, 4))
    held = {n for n in names if int(hashlib.sha1(n.encode()).hexdigest(), 16) % 10 == 0}
    assert 0 < len(held) < len(names)  # the names chosen give both parts
    val = {lo.name for lo, _ in list_pairs(f"{root}@val")}
    train = {lo.name for lo, _ in list_pairs(f"{root}@train")}
    assert val == held
    assert not val & train
    assert val | train == set(names)


def test_load_pairs_crops_cut_low_and_high_alike(tmp_path):
    root = _pair_folder(tmp_path / "p", ["a.png", "b.png", "c.png"], size=(40, 56))
    pairs = load_pairs(root)
    assert len(pairs) == 3 and pairs.image(0).shape == (6, 40, 56)
    crops = pairs.random_crops(12, 16, torch.Generator().manual_seed(0))  # flipped, transposed
    assert crops.shape == (12, 6, 16, 16)
    torch.testing.assert_close(crops[:, 3:], 1 - crops[:, :3], atol=1e-6, rtol=0)
    # the crops come from different places: not all alike
    assert crops[:, :3].flatten(1).std(0).mean() > 0.05


def test_load_pairs_skips_small_pairs_and_refuses_mismatched_sizes(tmp_path):
    root = _pair_folder(tmp_path / "p", ["a.png"], size=(20, 20))
    with pytest.raises(PixelsmithError):
        load_pairs(root, min_size=32)  # nothing left
    Image.fromarray(_rgb(1, 20, 24)).save(root / "high" / "a.png")
    with pytest.raises(PixelsmithError, match="a.png"):
        read_pair(root / "low" / "a.png", root / "high" / "a.png")


# --- the synthetic under-exposure ---------------------------------------------------------------
def test_underexpose_darkens_in_linear_light_within_the_exposure_range():
    clean = _astronaut_crops(6)
    for seed in range(3):
        low = underexpose(clean, torch.Generator().manual_seed(seed))
        assert low.shape == clean.shape and low.dtype == clean.dtype
        assert float(low.min()) >= 0 and float(low.max()) <= 1
        lin_low = _srgb_to_linear(low.double().numpy()).mean((1, 2, 3))
        lin_clean = _srgb_to_linear(clean.double().numpy()).mean((1, 2, 3))
        ratio = lin_low / lin_clean
        # exposure 1/40 .. 1/3, widened for the colour cast, the gamma 0.85 .. 1.15 and noise
        assert (ratio > EXPOSURE[0] / 2).all() and (ratio < EXPOSURE[1] * 1.5).all(), ratio
        assert (low.flatten(1).mean(1) < clean.flatten(1).mean(1)).all()


def test_underexpose_is_a_function_of_the_generator():
    clean = _astronaut_crops(3)
    a = underexpose(clean, torch.Generator().manual_seed(5))
    b = underexpose(clean, torch.Generator().manual_seed(5))
    c = underexpose(clean, torch.Generator().manual_seed(6))
    assert torch.equal(a, b)
    assert (a - c).abs().mean() > 1e-3


# --- classical baselines ----------------------------------------------------------------------
def test_gamma_is_the_power_one_over_2_2():
    x = torch.rand(2, 3, 16, 20, generator=torch.Generator().manual_seed(0))
    out = create_model("gamma")(x)
    ref = x.double().numpy() ** (1 / 2.2)
    np.testing.assert_allclose(out.double().numpy(), ref, rtol=1e-6, atol=1e-7)


def test_global_gain_brings_the_mean_to_0_45():
    g = torch.Generator().manual_seed(1)
    x = 0.05 + 0.15 * torch.rand(1, 3, 24, 32, generator=g)  # mean ~0.125: gain ~3.6, max ~0.72
    out = create_model("global_gain")(x)
    assert float(out.max()) < 1  # nothing clipped
    assert math.isclose(float(out.double().mean()), 0.45, rel_tol=1e-5)
    gain = 0.45 / float(x.double().mean())
    np.testing.assert_allclose(out.double().numpy(), x.double().numpy() * gain, rtol=1e-5)
    # one bright pixel: the rest scale by the same gain, the bright one clips at 1
    x[0, :, 0, 0] = 0.9
    out = create_model("global_gain")(x)
    gain = 0.45 / float(x.double().mean())
    assert torch.all(out[0, :, 0, 0] == 1)
    np.testing.assert_allclose(
        out[0, :, 1:].double().numpy(), x[0, :, 1:].double().numpy() * gain, rtol=1e-5
    )


def test_clahe_equalises_lightness_as_scikit_image_and_keeps_colour():
    from skimage.color import rgb2lab
    from skimage.exposure import equalize_adapthist

    x = _astronaut_crops(1, 64)[0] * 0.3
    out = create_model("clahe")(x[None])[0]
    assert out.shape == x.shape and float(out.min()) >= 0 and float(out.max()) <= 1
    lab_in = rgb2lab(x.permute(1, 2, 0).double().numpy())
    lab_out = rgb2lab(out.permute(1, 2, 0).double().numpy())
    ref_l = equalize_adapthist(lab_in[..., 0] / 100, clip_limit=0.01) * 100
    err_l = np.abs(lab_out[..., 0] - ref_l)
    assert err_l.mean() < 0.05 and np.percentile(err_l, 99) < 0.5, (err_l.mean(), err_l.max())
    assert np.abs(lab_out[..., 0] - lab_in[..., 0]).mean() > 5  # it did equalise
    err_ab = np.abs(lab_out[..., 1:] - lab_in[..., 1:])
    assert err_ab.mean() < 0.1 and np.percentile(err_ab, 99) < 1.0


def test_msrcr_clips_one_percent_at_each_end_of_each_channel():
    x = _astronaut_crops(1, 64)[0] * 0.3
    out = create_model("msrcr_retinex")(x[None])[0]
    assert out.shape == x.shape
    assert float(out.min()) == 0 and float(out.max()) == 1
    n = out[0].numel()
    for c in range(3):
        low, high = int((out[c] == 0).sum()), int((out[c] == 1).sum())
        assert abs(low / n - 0.01) < 0.002 and abs(high / n - 0.01) < 0.002, (c, low, high)
        assert (out[c] > 0).sum() > 0.9 * n  # the rest is spread between, not collapsed


# --- DeepUPE ----------------------------------------------------------------------------------
def test_guided_upsample_is_exact_for_a_linear_relation():
    g = torch.Generator().manual_seed(0)
    guide_low = torch.rand(1, 1, 8, 10, generator=g, dtype=torch.float64)
    guide = torch.rand(1, 1, 32, 40, generator=g, dtype=torch.float64)
    a = torch.tensor([0.5, -1.5, 2.0], dtype=torch.float64).view(1, 3, 1, 1)
    b = torch.tensor([0.1, 0.7, -0.2], dtype=torch.float64).view(1, 3, 1, 1)
    out = guided_upsample(guide_low, a * guide_low + b, guide, radius=2, eps=1e-12)
    assert out.shape == (1, 3, 32, 40)
    torch.testing.assert_close(out, a * guide + b, rtol=1e-8, atol=1e-9)
    # eps shrinks the slope by var / (var + eps): with eps = 1e-3 the result is near, not exact
    out = guided_upsample(guide_low, a * guide_low + b, guide, radius=2, eps=1e-3)
    err = (out - (a * guide + b)).abs().max()
    assert 1e-5 < float(err) < 0.1


def test_illumination_net_divides_by_an_illumination_above_the_input():
    model = create_model("deepupe_s").eval()
    torch.nn.init.normal_(
        model.net.head.weight, std=0.3, generator=torch.Generator().manual_seed(0)
    )
    x = 0.02 + 0.4 * torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        out, s = model(x, aux=True)
    assert out.shape == s.shape == x.shape
    assert (s >= x).all() and (s <= 1).all()
    assert float(out.min()) >= 0 and float(out.max()) <= 1 + 1e-6
    torch.testing.assert_close(out * s, x, rtol=1e-5, atol=1e-7)
    assert s.flatten(2).std(-1).mean() > 1e-3  # a map that varies, not a constant


def test_deepupe_on_a_flat_grey_photo_by_hand():
    """With the head at zero (its initialisation), S = I + (1 - I) sigmoid(-2) on a flat photo
    (the guided filter passes a constant through), so the result is I / S; grey stays grey."""
    c = 0.2
    grey = torch.full((1, 40, 56), c)  # padded to a multiple of 64 and cropped back
    out = pixelsmith.enhance(grey, model=create_model("deepupe_s"))
    sig = 1 / (1 + math.exp(2.0))
    assert out.shape == (1, 40, 56)
    torch.testing.assert_close(
        out, torch.full_like(grey, c / (c + (1 - c) * sig)), rtol=1e-5, atol=0
    )


# --- the task: strength, batches, losses -------------------------------------------------------
@pytest.mark.parametrize("strength", [0.0, 0.5, 1.0, 1.5, 2.0])
def test_strength_moves_from_the_photo_to_the_result(strength):
    x = 0.02 + 0.18 * torch.rand(3, 24, 32, generator=torch.Generator().manual_seed(2))
    x64 = x.double()
    enhanced = x64 * (0.45 / x64.mean())  # global_gain, by hand (nothing clips)
    expected = (x64 + strength * (enhanced - x64)).clamp(0, 1)
    out = pixelsmith.enhance(x, model=create_model("global_gain"), strength=strength)
    assert out.shape == x.shape and out.dtype == torch.float32
    torch.testing.assert_close(out.double(), expected, rtol=1e-5, atol=1e-6)
    if strength == 2.0:
        assert (expected == 1).any()  # and the clamp was needed


@pytest.mark.parametrize("strength", [-0.1, 2.5, float("nan")])
def test_strength_outside_0_to_2_is_an_error(strength):
    with pytest.raises(PixelsmithError, match="strength"):
        get_task("lowlight", strength=strength)
    with pytest.raises(PixelsmithError, match="strength"):
        pixelsmith.enhance(torch.rand(3, 8, 8), model="gamma", strength=strength)


def _photo_folder(n: int = 3, side: int = 40) -> PhotoFolder:
    images = [
        torch.from_numpy(_rgb(10 + i, side, side, 60, 256)).permute(2, 0, 1) for i in range(n)
    ]
    return PhotoFolder.from_images(images, [Path(f"p{i}.png") for i in range(n)])


def _pairs(n: int = 2, side: int = 40) -> PhotoFolder:
    """Pairs as load_pairs stacks them (low RGB, high RGB), with high = 255 - low."""
    images = []
    for i in range(n):
        low = torch.from_numpy(_rgb(20 + i, side, side, 0, 80)).permute(2, 0, 1)
        images.append(torch.cat([low, 255 - low]))
    return PhotoFolder.from_images(images, [Path(f"q{i}.png") for i in range(n)])


def test_make_batch_from_photos_pairs_and_both_half_and_half():
    task = get_task("lowlight")
    photos, pairs = _photo_folder(), _pairs()
    for data, n_pairs in (((photos, None), 0), ((None, pairs), 6), ((photos, pairs), 3)):
        batch = task.make_batch(data, 6, 16, torch.Generator().manual_seed(0))
        (low,) = batch.inputs
        assert low.shape == batch.target.shape == (6, 3, 16, 16)
        # the pairs come first and keep their partner (high = 1 - low)
        torch.testing.assert_close(batch.target[:n_pairs], 1 - low[:n_pairs], atol=1e-6, rtol=0)
        # the photos are under-exposed copies of the target
        if n_pairs < 6:
            assert (low[n_pairs:].mean((1, 2, 3)) < batch.target[n_pairs:].mean((1, 2, 3))).all()
    again = task.make_batch((photos, pairs), 6, 16, torch.Generator().manual_seed(0))
    torch.testing.assert_close(again.inputs[0], batch.inputs[0], rtol=0, atol=0)


# --- exposure normalisation -------------------------------------------------------------------
def test_exposure_gain_brings_each_photo_to_the_level_between_1_and_100():
    from pixelsmith.tasks.lowlight import exposure_gain

    x = torch.stack(
        [
            torch.full((3, 4, 4), 0.05),  # 0.4 / 0.05 = 8
            torch.full((3, 4, 4), 0.8),  # already brighter: not darkened
            torch.zeros(3, 4, 4),  # black: the most gain, not infinity
            torch.tensor([0.001, 0.002, 0.003]).view(3, 1, 1).expand(3, 4, 4),  # mean 0.002
        ]
    )
    gain = exposure_gain(x.double(), 0.4).flatten()  # float64: 0.05 is not a float32
    torch.testing.assert_close(gain, torch.tensor([8.0, 1.0, 100.0, 100.0], dtype=torch.float64))


def _exposure_net() -> torch.nn.Module:
    torch.manual_seed(0)
    return create_model("lowlight_unet", widths=(4, 8), exposure=0.4).eval()


def test_an_exposure_model_sees_the_whole_photo_at_its_level_in_every_tile():
    """The gain is the whole photo's, not each tile's: what the network is given is the photo
    times 0.4 / its mean, tile by tile, and so the tiled result is the whole one."""
    g = torch.Generator().manual_seed(4)
    photo = torch.rand(3, 96, 128, generator=g) * torch.linspace(0.01, 0.2, 128)  # uneven
    net = _exposure_net()
    seen = []
    net.register_forward_pre_hook(lambda m, args: seen.append(args[0].detach().clone()))
    whole = pixelsmith.enhance(photo, model=net, tile=0)
    (x,) = seen
    expected = photo.double() * (0.4 / photo.double().mean())
    torch.testing.assert_close(x[0].double(), expected, rtol=1e-6, atol=1e-7)
    seen.clear()
    tiled = pixelsmith.enhance(photo, model=net, tile=32)
    assert sum(len(t) for t in seen) > 1  # several windows (batched into calls)
    torch.testing.assert_close(tiled, whole, rtol=0, atol=1e-5)


def test_an_exposure_model_at_strength_0_gives_back_the_photo():
    photo = torch.rand(3, 32, 32, generator=torch.Generator().manual_seed(5)) * 0.1
    out = pixelsmith.enhance(photo, model=_exposure_net(), strength=0.0)
    torch.testing.assert_close(out, photo, rtol=1e-6, atol=1e-7)


def test_an_exposure_model_trains_on_pairs_at_their_whole_photos_gain():
    """Pair crops are brightened by the gain of the photo they were cut from (as at inference),
    synthetic ones by their own; the targets are untouched."""
    task = get_task("lowlight").bind(_exposure_net())
    plain = get_task("lowlight")
    pairs = _pairs()
    lows = [float(pairs.image(i)[:3].double().mean()) / 255 for i in range(len(pairs))]
    batch = task.make_batch((None, pairs), 6, 16, torch.Generator().manual_seed(0))
    ref = plain.make_batch((None, pairs), 6, 16, torch.Generator().manual_seed(0))
    torch.testing.assert_close(batch.target, ref.target, rtol=0, atol=0)
    got, plain_low = batch.inputs[0].double(), ref.inputs[0].double()
    per_crop = (got * plain_low).sum((1, 2, 3)) / (plain_low * plain_low).sum((1, 2, 3))
    # one gain per crop
    torch.testing.assert_close(got, plain_low * per_crop.view(-1, 1, 1, 1), rtol=1e-5, atol=1e-6)
    gains = torch.tensor([0.4 / m for m in lows], dtype=torch.float64)
    # each crop's gain is one of its photos' (not its own mean's)
    assert all(((gains - c).abs() < 1e-4).any() for c in per_crop)
    crop_means = ref.inputs[0].mean((1, 2, 3)).double()
    assert not torch.allclose(per_crop, 0.4 / crop_means, rtol=1e-3)
    photos = _photo_folder()
    synth = task.make_batch((photos, None), 4, 16, torch.Generator().manual_seed(1))
    torch.testing.assert_close(
        synth.inputs[0].mean((1, 2, 3)).double(), torch.full((4,), 0.4, dtype=torch.float64)
    )


def test_image_objective_is_l1_by_hand():
    model = create_model("lowlight_unet", widths=(8, 16))
    task = get_task("lowlight").bind(model)
    g = torch.Generator().manual_seed(3)
    low, high = torch.rand(2, 3, 16, 16, generator=g), torch.rand(2, 3, 16, 16, generator=g)
    batch = Batch((low,), high)
    pred = task.training_forward(model, batch)
    assert isinstance(pred, torch.Tensor) and pred.shape == high.shape
    p = torch.rand(2, 3, 16, 16, generator=g)
    expected = float((p.double() - high.double()).abs().mean())
    assert math.isclose(float(task.loss(p, batch)), expected, rel_tol=1e-5)


OBJECTIVES = [
    ("deepupe_s", {"widths": (8, 16)}, "retinex"),
    ("zero_dce", {"width": 8}, "zero_reference"),
]


def _expected_loss(kind: str, out, aux, batch) -> torch.Tensor:
    """The papers' losses, weighted as they give them."""
    from pixelsmith.nn import lowlight_losses as L

    low, high = batch.inputs[0], batch.target
    if kind == "retinex":  # reconstruction + 1 smoothness + 0.05 colour angle (see lowlight.py)
        return (
            F.mse_loss(out, high)
            + 1.0 * L.illumination_smoothness_loss(aux, low)
            + 0.05 * L.colour_angle_loss(out, high)
        )
    t = L.zero_dce_loss_terms(out, low, aux)  # Zero-DCE: spa + 10 exp + 5 col + 200 tvA
    return t["spa"] + 10 * t["exp"] + 5 * t["col"] + 200 * t["tv"]


@pytest.mark.parametrize("arch, kwargs, kind", OBJECTIVES, ids=[o[2] for o in OBJECTIVES])
def test_retinex_and_zero_reference_losses_are_finite_with_gradients(arch, kwargs, kind):
    model = create_model(arch, **kwargs)
    model.objective = kind  # declared here: see the test below for the models' own declaration
    task = get_task("lowlight").bind(model)
    batch = task.make_batch((_photo_folder(), _pairs()), 4, 32, torch.Generator().manual_seed(4))
    out, aux = task.training_forward(model, batch)
    assert out.shape == batch.target.shape
    if kind == "retinex":
        assert aux.shape == out.shape and (aux >= batch.inputs[0]).all()
    else:
        assert aux.shape == (4, 24, 32, 32)  # 8 curves x RGB
    loss = task.loss((out, aux), batch)
    assert loss.ndim == 0 and torch.isfinite(loss)
    torch.testing.assert_close(loss, _expected_loss(kind, out, aux, batch), rtol=1e-5, atol=1e-7)
    loss.backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert all(gr is not None and torch.isfinite(gr).all() for gr in grads)
    assert sum(float(gr.abs().sum()) for gr in grads) > 0


@pytest.mark.parametrize("arch, kwargs, kind", OBJECTIVES, ids=[o[2] for o in OBJECTIVES])
def test_deepupe_and_zero_dce_train_by_their_own_losses(arch, kwargs, kind):
    from pixelsmith.tasks.lowlight import objective

    model = create_model(arch, **kwargs)
    task = get_task("lowlight").bind(model)
    batch = task.make_batch((_photo_folder(), _pairs()), 2, 32, torch.Generator().manual_seed(4))
    prediction = task.training_forward(model, batch)
    assert isinstance(prediction, tuple), "the loss needs the illumination map / the curves"
    loss = task.loss(prediction, batch)
    torch.testing.assert_close(loss, _expected_loss(kind, *prediction, batch), rtol=1e-5, atol=1e-7)
    assert objective(model) == kind


def test_an_unknown_objective_is_refused():
    model = create_model("gamma")
    model.objective = "perceptual"
    with pytest.raises(PixelsmithError, match="perceptual"):
        get_task("lowlight").bind(model)


def test_evaluate_pairs_matches_scikit_image_on_8_bit_results(tmp_path):
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    root = _pair_folder(tmp_path / "p", ["a.png", "b.png"], size=(32, 48), high=lambda lo: lo * 3)
    task = get_task("lowlight")
    rows = task.evaluate_pairs(create_model("gamma"), root)
    assert [r["image"] for r in rows] == ["a.png", "b.png"]
    psnrs, ssims = [], []
    for r in rows:
        low = np.asarray(Image.open(root / "low" / r["image"])).astype(np.float64) / 255
        high = np.asarray(Image.open(root / "high" / r["image"]))
        out = np.floor(low ** (1 / 2.2) * 255 + 0.5).astype(np.uint8)  # the 8-bit result
        psnrs.append(peak_signal_noise_ratio(high, out, data_range=255))
        ssims.append(
            structural_similarity(
                high.astype(np.float64) / 255,
                out.astype(np.float64) / 255,
                gaussian_weights=True,
                sigma=1.5,
                use_sample_covariance=False,
                data_range=1.0,
                channel_axis=-1,
            )
        )
        assert math.isclose(r["psnr"], psnrs[-1], abs_tol=0.02), (r, psnrs[-1])
        assert math.isclose(r["ssim"], ssims[-1], abs_tol=2e-3), (r, ssims[-1])
    mean = task.evaluate(create_model("gamma"), root)
    assert math.isclose(mean["psnr"], np.mean(psnrs), abs_tol=0.02)
    assert math.isclose(mean["ssim"], np.mean(ssims), abs_tol=2e-3)


def test_eval_dataset_names_a_missing_folder(tmp_path):
    with pytest.raises(PixelsmithError, match="nowhere"):
        get_task("lowlight").eval_dataset(tmp_path / "nowhere")


# --- API and CLI ------------------------------------------------------------------------------
def test_enhance_gives_back_the_kind_it_was_given():
    a = _rgb(0, 12, 20, 0, 100)
    ref = np.floor((a / 255.0) ** (1 / 2.2) * 255 + 0.5)
    out = pixelsmith.enhance(a, model="gamma")
    assert isinstance(out, np.ndarray) and out.dtype == np.uint8 and out.shape == a.shape
    assert np.abs(out.astype(int) - ref).max() <= 1
    im = pixelsmith.enhance(Image.fromarray(a), model="gamma")
    assert isinstance(im, Image.Image) and im.mode == "RGB" and im.size == (20, 12)
    assert np.abs(np.asarray(im).astype(int) - ref).max() <= 1
    t = torch.from_numpy(a).permute(2, 0, 1).double() / 255
    out_t = pixelsmith.enhance(t, model="gamma")
    assert out_t.dtype == torch.float64 and out_t.shape == (3, 12, 20)
    np.testing.assert_allclose(out_t.numpy(), t.numpy() ** (1 / 2.2), rtol=1e-5, atol=1e-6)
    grey = pixelsmith.enhance(a[..., 0], model="gamma")
    assert grey.shape == (12, 20)


@pytest.mark.parametrize(
    "verb", [["enhance"], ["eval", "lowlight"], ["train", "lowlight"]], ids=" ".join
)
def test_lowlight_verbs_have_help(verb):
    r = _invoke([*verb, "--help"])
    assert r.exit_code == 0 and "Usage:" in r.output


def test_cli_enhance_writes_the_enhanced_photo(tmp_path):
    src = tmp_path / "dark.png"
    a = _rgb(3, 16, 24, 0, 90)
    Image.fromarray(a).save(src)
    out = tmp_path / "bright.png"
    r = _invoke(["enhance", str(src), "--model", "gamma", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert out.is_file()
    got = np.asarray(Image.open(out)).astype(int)
    ref = np.floor((a / 255.0) ** (1 / 2.2) * 255 + 0.5)
    assert got.shape == a.shape and np.abs(got - ref).max() <= 1
    # beside the input, with the task's suffix, at half strength
    r = _invoke(["enhance", str(src), "--model", "gamma", "--strength", "0.5"])
    assert r.exit_code == 0, r.output
    half = np.asarray(Image.open(tmp_path / "dark_enhanced.png")).astype(float)
    expected = (a + 0.5 * ((a / 255.0) ** (1 / 2.2) * 255 - a)).round()
    assert np.abs(half - expected).max() <= 1


def test_cli_enhance_refuses_a_strength_outside_0_to_2(tmp_path):
    src = tmp_path / "dark.png"
    Image.fromarray(_rgb(3, 8, 8)).save(src)
    r = _invoke(["enhance", str(src), "--model", "gamma", "--strength", "3"])
    assert r.exit_code == 2
    assert not (tmp_path / "dark_enhanced.png").exists()


def test_cli_enhance_refuses_a_pth_for_another_model(tmp_path):
    src = tmp_path / "dark.png"
    Image.fromarray(_rgb(3, 8, 8)).save(src)
    r = _invoke(["enhance", str(src), "--model", "gamma", "--weights", str(tmp_path / "x.pth")])
    line = _one_line_error(r, "x.pth")
    assert "Zero-DCE" in line
    assert not (tmp_path / "dark_enhanced.png").exists()


def test_with_weights_refuses_an_upper_case_pth_for_another_model():
    from pixelsmith.resolver import with_weights

    with pytest.raises(PixelsmithError, match="Zero-DCE"):
        with_weights("gamma", "Epoch99.PTH")


def test_cli_eval_lowlight_prints_a_row_per_model(tmp_path):
    from skimage.metrics import peak_signal_noise_ratio

    root = _pair_folder(tmp_path / "p", ["a.png", "b.png"], size=(24, 32), high=lambda lo: lo * 3)
    r = _invoke(["eval", "lowlight", "--data", str(root), "--model", "gamma"])
    assert r.exit_code == 0, r.output
    lines = r.output.strip().splitlines()
    assert lines[0].startswith("Data:") and "(2)" in lines[0]
    row = [ln for ln in lines if ln.split() and ln.split()[0] == "gamma"]
    assert len(row) == 1, r.output
    psnr = float(row[0].split()[1])
    ref = np.mean(
        [
            peak_signal_noise_ratio(
                np.asarray(Image.open(root / "high" / n)),
                np.floor(
                    (np.asarray(Image.open(root / "low" / n)) / 255.0) ** (1 / 2.2) * 255 + 0.5
                ).astype(np.uint8),
                data_range=255,
            )
            for n in ("a.png", "b.png")
        ]
    )
    assert abs(psnr - ref) < 0.011


def test_cli_eval_lowlight_names_a_missing_folder(tmp_path):
    r = _invoke(["eval", "lowlight", "--data", str(tmp_path / "nowhere"), "--model", "gamma"])
    _one_line_error(r, "nowhere")


@pytest.mark.data
def test_zero_dce_authors_checkpoint_through_enhance(shared_data):
    from pixelsmith.models.zero_dce import load_official_zero_dce

    path = _checkpoint(shared_data)
    x = _astronaut_crops(1, 48)[0] * 0.25
    out = pixelsmith.enhance(x, model="zero-dce", weights=path)
    with torch.no_grad():
        ref = load_official_zero_dce(path)(x[None])[0]
    assert out.shape == x.shape
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5 * float(ref.abs().max()))
    assert float((out - x).mean()) > 0.05  # it brightened


@pytest.mark.data
def test_published_figures_on_the_first_five_lol_eval_pairs(shared_data):
    """The Zero-DCE authors' network reads about 11.0 dB on these five pairs, one gain per photo
    (to a mean of 0.45) about 15.5 dB: the protocol agrees with the published numbers."""
    from pixelsmith.models.zero_dce import load_official_zero_dce

    path = _checkpoint(shared_data)
    root = shared_data / LOL5
    if not root.is_dir():
        pytest.skip(f"needs ../shared/data/{LOL5}")
    task = get_task("lowlight")
    pairs = task.eval_dataset(root)
    assert len(pairs) == 5
    zero_dce = task.evaluate(load_official_zero_dce(path), pairs)
    gain = task.evaluate(create_model("global_gain"), pairs)
    assert abs(zero_dce["psnr"] - 11.0) < 0.3, zero_dce
    assert abs(gain["psnr"] - 15.5) < 0.3, gain
    assert 0 < zero_dce["ssim"] < 1 and 0 < gain["ssim"] < 1
