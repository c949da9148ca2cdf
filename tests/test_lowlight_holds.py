"""Low light that holds on real photos (issue 33): the periodic-artefact score and the detail
ratio against what they measure, the default's output free of a grid (a test the gridding U-Net
fails), the curve model's guarantees (black stays black, a well-exposed photo passes through, no
tiles), its training objective; with the shared data, the floors on held-out photos."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.nn import functional as F

import pixelsmith
from pixelsmith.lowlight_metrics import detail_ratio, gradient_magnitude, periodic_artefact_score
from pixelsmith.models import create_model, model_spec
from pixelsmith.nn.lowlight_losses import illumination_tv_loss
from pixelsmith.tasks import get_task

#: how far above its input's score an output's artefact score may stand (issue 33: outputs of the
#: gridding U-Net stood 2.5-11x above their spectral neighbourhood, inputs and a gain 1.05-1.3)
ARTEFACT_MARGIN = 1.5
#: While the default is still the U-Net that grids, the tests of the default's output are
#: expected to fail (strict: they must, and they must pass once the default is changed)
GRIDDING_DEFAULT = pytest.mark.xfail(
    get_task("lowlight").default_model == "lowlight_unet",
    reason="the default lowlight_unet grids and smears (issue 33)",
    strict=True,
)


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


def _astronaut() -> torch.Tensor:
    from skimage import data

    return torch.from_numpy(data.astronaut().copy()).permute(2, 0, 1).float() / 255


def _dark(x: torch.Tensor, level: float = 0.12, seed: int = 0) -> torch.Tensor:
    """``x`` darkened to mean ``level`` with a little sensor noise, in 8-bit levels (a dark
    photo as a camera writes it)."""
    g = torch.Generator().manual_seed(seed)
    y = x * (level / float(x.mean())) + 0.004 * torch.randn(x.shape, generator=g)
    return (y.clamp(0, 1) * 255).round() / 255


def _grid(h: int, w: int, period: int, amplitude: float) -> torch.Tensor:
    """A pattern locked to the pixel grid, as a net's sub-pixel phases leave it: a random
    ``period x period`` tile of values in ``[-amplitude, amplitude]``, repeated."""
    g = torch.Generator().manual_seed(period)
    tile = (torch.rand(period, period, generator=g) * 2 - 1) * amplitude
    return tile.repeat(-(-h // period), -(-w // period))[:h, :w]


# --- the measures ---------------------------------------------------------------------------
def test_artefact_score_is_low_on_a_photo_and_its_gain():
    x = _astronaut()
    s = periodic_artefact_score(x)
    assert 0.8 < s < 2.5, s
    assert math.isclose(periodic_artefact_score(x * 0.3), s, rel_tol=1e-6)  # scale-free
    noise = torch.rand(3, 256, 256, generator=torch.Generator().manual_seed(1))
    assert periodic_artefact_score(noise) < 2.0


@pytest.mark.parametrize("period", [2, 4, 8, 16])
def test_artefact_score_finds_a_faint_grid_at_each_period(period):
    """A grid of up to 4 levels in 255 on a photo (faint beside its content) stands out
    several-fold, at its period or one of its harmonics."""
    x = _astronaut()
    gridded = x + _grid(*x.shape[-2:], period, 4 / 255)
    score, at, _ = periodic_artefact_score(gridded, with_period=True)
    assert score > 3 * periodic_artefact_score(x), score
    assert period / at == pytest.approx(round(period / at), abs=0.05)


def test_artefact_score_refuses_a_tiny_image():
    with pytest.raises(ValueError, match="too small"):
        periodic_artefact_score(torch.rand(3, 32, 200))


def test_detail_ratio_is_one_for_the_reference_at_any_brightness_and_falls_with_blur():
    ref = _astronaut() * 0.8
    assert detail_ratio(ref, ref) == pytest.approx(1.0, rel=1e-9)
    assert detail_ratio(ref * 0.5, ref) == pytest.approx(1.0, rel=1e-9)  # brightness matched
    k = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0]) / 16
    blur = F.conv2d(F.pad(ref[:, None], (2, 2, 2, 2), mode="replicate"), k.view(1, 1, 1, 5))
    blur = F.conv2d(blur, k.view(1, 1, 5, 1))[:, 0]
    r = detail_ratio(blur, ref)
    assert r < 0.85, r  # a 5-tap binomial blur is below the floor
    assert r > 0.3


def test_gradient_magnitude_of_a_ramp():
    x = torch.linspace(0, 1, 101).view(1, 1, 101).expand(3, 50, 101)
    assert float(gradient_magnitude(x)) == pytest.approx(0.01, rel=1e-6)


# --- the default's output against its input -------------------------------------------------
def _artefact_excess(model) -> tuple[float, float]:
    task = get_task("lowlight")
    x = _dark(_astronaut())
    out = pixelsmith.restore(x, task, model)
    assert float(out.mean()) > 1.5 * float(x.mean())  # it did brighten
    return periodic_artefact_score(out), periodic_artefact_score(x)


@GRIDDING_DEFAULT
def test_default_output_has_no_grid():
    """The default's result of a dark photo scores at most ``ARTEFACT_MARGIN`` times its input.
    ``lowlight_unet.photos`` scored 6 to 117 on real and darkened photos (below)."""
    out, inp = _artefact_excess(None)
    assert out <= ARTEFACT_MARGIN * inp, (out, inp)


def test_the_artefact_test_fails_on_the_gridding_unet():
    """The same measure on ``lowlight_unet.photos``, the net that gridded: the test above would
    fail on it (its transposed convolution and its depth-to-space head leave a period-4 and a
    period-2 grid; docs/lowlight.md)."""
    if "lowlight_unet.photos" not in pixelsmith.list_pretrained("lowlight"):
        pytest.skip("lowlight_unet.photos is not shipped")
    out, inp = _artefact_excess("lowlight_unet.photos")
    assert out > 3 * ARTEFACT_MARGIN * inp, (out, inp)


# --- the curve model's guarantees -----------------------------------------------------------
def _trained_or_fresh():
    shipped = pixelsmith.list_pretrained("lowlight")
    if "lowlight_curves.photos" in shipped:
        return pixelsmith.load_model("lowlight_curves.photos", task="lowlight")[0]
    torch.manual_seed(0)
    m = create_model("lowlight_curves").eval()
    with torch.no_grad():  # a head that does something, so the guarantees are not trivial
        m.head.weight.normal_(0, 0.05)
        m.head.bias.fill_(0.5)
    return m


def test_curve_model_keeps_black_black_and_white_white():
    m = _trained_or_fresh()
    task = get_task("lowlight")
    black = pixelsmith.restore(torch.zeros(3, 96, 128), task, m)
    assert float(black.max()) * 255 <= 8
    assert float(black.max()) == 0.0  # every curve fixes 0
    x = _dark(_astronaut())[:, :96, :128].clone()
    x[:, :10] = 1.0
    out = pixelsmith.restore(x, task, m)
    assert torch.equal(out[:, :10], x[:, :10])  # and 1


def test_curve_model_leaves_a_well_exposed_photo_as_it_is():
    """A photo whose mean exposure is past the gate comes back unchanged; a dark one brightens."""
    m = _trained_or_fresh()
    task = get_task("lowlight")
    x = _astronaut()
    bright = (x * 0.4 + 0.6).clamp(0, 1)
    assert float(bright.mean()) > m.gate[1]
    out = pixelsmith.restore(bright, task, m)
    torch.testing.assert_close(out, bright, rtol=0, atol=1e-6)
    dark = _dark(x)
    assert float(pixelsmith.restore(dark, task, m).mean()) > 1.5 * float(dark.mean())


def test_curve_model_runs_whole_at_any_size_and_starts_as_the_identity():
    m = create_model("lowlight_curves").eval()
    assert model_spec(m).receptive_field is None  # no tiles, no seams
    x = torch.rand(2, 3, 37, 61) * 0.3  # not multiples of 16: padded inside
    with torch.no_grad():
        out, alpha = m(x, aux=True)
    assert out.shape == x.shape
    assert alpha.shape[1] == 3 * m.iterations and alpha.shape[-2:] == m.low_size(37, 61)
    torch.testing.assert_close(out, x, rtol=0, atol=0)  # zero head: alpha = 0


def test_curve_model_output_is_a_monotone_function_of_each_pixel():
    """Within one (smooth) curve map, a brighter input pixel stays brighter: the curves never
    swap the order of neighbouring pixels, so they cannot smear or invert detail."""
    m = _trained_or_fresh()
    x = torch.linspace(0, 1, 256).view(1, 1, 1, 256).expand(1, 3, 64, 256).contiguous()
    with torch.no_grad():
        out = m(x * 0.2)
    assert bool((out.diff(dim=-1) >= -1e-6).all())


def test_curves_objective_batches_and_loss():
    from pixelsmith.data.photos import PhotoFolder
    from pixelsmith.tasks import lowlight as L

    m = create_model("lowlight_curves")
    task = get_task("lowlight").bind(m)
    assert task._objective == "curves"
    crops = torch.rand(8, 3, 64, 64)
    photos = PhotoFolder.from_images(list(crops), [Path(f"{i}.png") for i in range(8)])
    batch = task.make_batch((photos, None), 8, 64, torch.Generator().manual_seed(0))
    keep = round(8 * L.IDENTITY_FRACTION)
    low, high = batch.inputs[0], batch.target
    assert torch.equal(low[:keep], high[:keep])  # the identity share
    assert not torch.equal(low[keep:], high[keep:])
    with torch.no_grad():
        m.head.bias.fill_(0.3)
    pred = task.training_forward(m, batch)
    loss = task.loss(pred, batch)
    out, alpha = pred
    expected = F.l1_loss(out, high) + L.CURVE_SMOOTHNESS * illumination_tv_loss(alpha)
    assert float(loss.detach()) == pytest.approx(float(expected.detach()), rel=1e-6)
    loss.backward()
    assert m.head.weight.grad is not None and float(m.head.weight.grad.abs().sum()) > 0


# --- the floors on held-out photos ----------------------------------------------------------
@pytest.mark.data
@GRIDDING_DEFAULT
def test_default_holds_on_real_dark_photos(shared_data):
    """On LIME's real photos (never trained or tuned on): no grid beyond its input's, detail at
    least 0.85 of a global gain's; a well-exposed photo through at 30 dB or more; black <= 8."""
    from pixelsmith.io import list_images, read_image
    from pixelsmith.metrics import psnr, quantize_uint8

    task = get_task("lowlight")
    net, _ = pixelsmith.load_model(task.default_model, task=task)
    gain, _ = pixelsmith.load_model("global_gain", task=task)
    details = []
    for path in list_images([shared_data / "lowlight_real"]):
        x = read_image(path)[0]
        out = pixelsmith.restore(x, task, net)
        assert periodic_artefact_score(out) <= ARTEFACT_MARGIN * periodic_artefact_score(x), path
        details.append(detail_ratio(out, pixelsmith.restore(x, task, gain)))
    assert float(np.mean(details)) >= 0.85, details
    kodak = [read_image(p)[0] for p in list_images([shared_data / "kodak24"])]
    bright = max(kodak, key=lambda k: float(k.mean()))
    out = quantize_uint8(pixelsmith.restore(bright, task, net)).double() / 255
    assert float(psnr(out, bright.double())) >= 30
    assert float(pixelsmith.restore(torch.zeros(3, 64, 64), task, net).max()) * 255 <= 8


@pytest.mark.data
def test_default_beats_the_authors_zero_dce_on_held_out_lol_pairs(shared_data):
    """LOL's first five evaluation pairs (never trained or validated on): the default at least
    1.5 dB over the Zero-DCE authors' weights (which read about 11.0 dB here)."""
    from pixelsmith.models.zero_dce import load_official_zero_dce

    path = shared_data / "weights/zero_dce/Epoch99.pth"
    root = shared_data / "lol_eval15_first5"
    if not path.exists() or not root.is_dir():
        pytest.skip("needs the Zero-DCE authors' checkpoint and lol_eval15_first5")
    task = get_task("lowlight")
    pairs = task.eval_dataset(root)
    authors = task.evaluate(load_official_zero_dce(path), pairs)["psnr"]
    default = task.evaluate(pixelsmith.load_model(task.default_model, task=task)[0], pairs)
    assert default["psnr"] >= authors + 1.5, (default, authors)
