"""Tiled inference equals whole-image inference when the receptive field fits in the pad.

Every comparison of two paths runs in float64: convolution kernels differ by CPU (AVX2, AVX-512,
native or oneDNN), so float32 results agree only to rounding that depends on the machine. In
float64 the paths agree to ~1e-15 of the output's scale, and a pad one pixel short misses by
~1e-2 of it, so the tolerance (1e-9 of the scale) separates them by many orders of magnitude.
"""

from __future__ import annotations

import math
import warnings

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from pixelsmith.infer import check_tile, run_tiled
from pixelsmith.models import ModelSpec, create_model, list_models, model_spec
from pixelsmith.tasks.base import Prepared, Task

REL_TOL = 1e-9


def _init_fan_in(model: nn.Module, seed: int = 1) -> nn.Module:
    """Weights ~ N(0, 1/fan_in), so activations stay O(1) through any depth (not std 0.1, which
    drives an LRNet-M's outputs to ~100)."""
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            fan_in = m.weight[0].numel()
            m.weight.data = torch.randn(m.weight.shape, generator=g, dtype=m.weight.dtype)
            m.weight.data /= math.sqrt(fan_in)
            if m.bias is not None:
                m.bias.data = 0.1 * torch.randn(m.bias.shape, generator=g, dtype=m.bias.dtype)
    return model


def _random_model(name: str, scale: int) -> nn.Module:
    return _init_fan_in(create_model(name, scale=scale).double().eval())


def _close(a: torch.Tensor, b: torch.Tensor) -> float:
    """Largest difference relative to the output's scale."""
    assert a.shape == b.shape, (a.shape, b.shape)
    return float((a - b).abs().max() / b.abs().max().clamp_min(1e-30))


@pytest.mark.parametrize("name", list_models(task="superres"))
@pytest.mark.parametrize("scale", [2, 3, 4])
@pytest.mark.parametrize("tile,blend", [(16, 4), (23, 0), (17, 8)])
def test_tiled_equals_whole(name, scale, tile, blend):
    model = _random_model(name, scale)
    x = torch.rand(1, 61, 47, dtype=torch.float64)
    with torch.no_grad():
        whole = model(x[None])[0]
    tiled = run_tiled(model, x, tile=tile, blend=blend, batch_size=3)
    assert tiled.dtype == torch.float64
    assert _close(tiled, whole) < REL_TOL


@pytest.mark.parametrize("name", ["lrnet_s", "srcnn_955"])
def test_a_pad_one_pixel_short_fails_by_orders_of_magnitude(name):
    """The check above can fail: one pixel of context less than the receptive radius shows."""
    model = _random_model(name, 2)
    radius = model_spec(model).radius
    x = torch.rand(1, 61, 47, dtype=torch.float64)
    with torch.no_grad():
        whole = model(x[None])[0]
    short = run_tiled(model, x, tile=16, pad=radius + 4 - 1, blend=4)
    assert _close(short, whole) > 1e4 * REL_TOL


def test_float32_tiles_agree_with_whole_to_float32_rounding():
    model = _init_fan_in(create_model("lrnet_m", scale=3).eval())
    x = torch.rand(1, 50, 41)
    with torch.no_grad():
        whole = model(x[None])[0]
    tiled = run_tiled(model, x, tile=16, batch_size=3)
    assert tiled.dtype == torch.float32
    assert _close(tiled, whole) < 1e-4  # ~100 float32 ulps of the scale: any CPU's kernels


def test_multichannel_and_batch_dim():
    model = create_model("bicubic", scale=2, channels=3).double()
    x = torch.rand(1, 3, 30, 20, dtype=torch.float64)
    out = run_tiled(model, x, tile=16)
    assert out.shape == (1, 3, 60, 40)
    assert _close(out, model(x)) < REL_TOL


def test_bfloat16_runs_close_to_float32():
    model = _init_fan_in(create_model("lrnet_s", scale=2).eval())
    x = torch.rand(1, 33, 33)
    ref = run_tiled(model, x, tile=16)
    low = run_tiled(model, x, tile=16, autocast=torch.bfloat16)
    assert low.dtype == torch.float32
    # bfloat16 keeps 8 significant bits: errors of a few parts in a thousand of the output's range
    span = float(ref.max() - ref.min())
    assert 0 < float((low - ref).abs().max()) < 0.02 * span


def test_out_dtype_is_what_was_asked():
    model = create_model("bicubic", scale=2)
    out = run_tiled(model, torch.rand(1, 20, 20), tile=16, out_dtype=torch.float64)
    assert out.dtype == torch.float64


@pytest.mark.parametrize("tile", [1, 15, -5])
def test_tile_sizes_that_cannot_work_are_refused(tile):
    from pixelsmith.errors import PixelsmithError

    with pytest.raises(PixelsmithError, match="tile"):
        check_tile(tile)


# --- a U-Net, two inputs, a per-tile decode, a Bayer phase: what the next tasks need ------------


class TinyUNet(nn.Module):
    """Image and mask in, 5 channels out; two 2x poolings, so sides must be multiples of 4."""

    def __init__(self) -> None:
        super().__init__()
        self.enc1 = nn.Conv2d(2, 6, 3, padding=1)
        self.enc2 = nn.Conv2d(6, 8, 3, padding=1)
        self.mid = nn.Conv2d(8, 8, 3, padding=1)
        self.dec2 = nn.Conv2d(16, 6, 3, padding=1)
        self.dec1 = nn.Conv2d(12, 5, 3, padding=1)

    @property
    def spec(self) -> ModelSpec:
        # enc1 1 + pool + enc2 2 + pool + mid 4 + up + dec2 2 + dec1 1, and pooling phase: ~20
        return ModelSpec(1, 5, 1, receptive_field=2 * 24 + 1, size_multiple=4)

    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        e1 = torch.relu(self.enc1(torch.cat([image, mask], 1)))
        e2 = torch.relu(self.enc2(F.max_pool2d(e1, 2)))
        m = torch.relu(self.mid(F.max_pool2d(e2, 2)))
        d2 = torch.relu(self.dec2(torch.cat([F.interpolate(m, scale_factor=2), e2], 1)))
        return self.dec1(torch.cat([F.interpolate(d2, scale_factor=2), e1], 1))


class SoftmaxMeanTask(Task):
    """Decodes 5 'bins' to their expected value per pixel and composites with the guide."""

    name = "test"
    align = 1

    def decode(self, outputs: torch.Tensor, prepared: Prepared) -> torch.Tensor:
        self.calls = getattr(self, "calls", 0) + 1
        self.largest = max(getattr(self, "largest", 0), outputs.shape[-1] * outputs.shape[-2])
        values = torch.linspace(0, 1, outputs.shape[1], dtype=outputs.dtype)
        mean = (outputs.softmax(1) * values[:, None, None]).sum(1, keepdim=True)
        keep = prepared.guides["known"]
        return keep * prepared.inputs[0] + (1 - keep) * mean


def test_unet_with_image_and_mask_tiles_like_whole_with_decode_per_tile():
    torch.manual_seed(0)
    model = _init_fan_in(TinyUNet().double().eval())
    task = SoftmaxMeanTask()
    image = torch.rand(1, 1, 150, 113, dtype=torch.float64)  # not multiples of 4: padded
    mask = (torch.rand(1, 1, 150, 113) > 0.3).double()
    prepared = Prepared((image, mask), {"known": mask})
    whole_prepared = prepared.pad_to(4)
    with torch.no_grad():
        whole = task.decode(model(*whole_prepared.inputs), whole_prepared)[..., :150, :113]
    task.largest = 0
    tiled = run_tiled(model, prepared, task, tile=16, blend=4, batch_size=2)
    assert tiled.shape == (1, 150, 113)
    assert _close(tiled, whole[0]) < REL_TOL
    assert task.largest < 150 * 113 // 2  # decode saw windows, never the whole image


def test_windows_keep_the_alignment_they_are_asked_for():
    """Window offsets stay on multiples of size_multiple x align (a Bayer phase is kept)."""
    seen = []

    class Probe(nn.Module):
        spec = ModelSpec(1, 1, 1, receptive_field=5, size_multiple=2)

        def forward(self, x):
            seen.append(x[:, :, 0, 0].flatten().tolist())
            return x

    class Bayer(Task):
        name = "bayer"
        align = 4

    x = torch.arange(60 * 44, dtype=torch.float64).reshape(1, 1, 60, 44)
    out = run_tiled(Probe(), Prepared((x,)), Bayer(), tile=16, blend=2)
    assert torch.equal(out, x[0])
    starts = {int(v) for batch in seen for v in batch}
    assert all((v // 44) % 4 == 0 and (v % 44) % 4 == 0 for v in starts), sorted(starts)


def test_a_model_with_global_context_runs_whole_and_says_so():
    class Global(nn.Module):
        spec = ModelSpec(1, 1, 1, receptive_field=None)

        def forward(self, x):
            return x - x.mean()

    x = torch.rand(1, 40, 40, dtype=torch.float64)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        out = run_tiled(Global(), x, tile=16)
    assert any("global context" in str(m.message) for m in w)
    assert _close(out, x - x.mean()) < REL_TOL


def test_prepared_refuses_inputs_on_different_grids():
    with pytest.raises(ValueError, match="one grid"):
        Prepared((torch.zeros(1, 1, 8, 8), torch.zeros(1, 1, 8, 9)))
    with pytest.raises(ValueError, match="multiple"):
        Prepared((torch.zeros(1, 1, 8, 8),), {"g": torch.zeros(1, 1, 12, 12)})


def test_pad_to_keeps_float64_and_reflects():
    x = torch.rand(1, 1, 5, 6, dtype=torch.float64) + 1e-12
    p = Prepared((x,)).pad_to(4)
    grown = p.inputs[0]
    assert grown.dtype == torch.float64 and grown.shape == (1, 1, 8, 8)
    assert torch.equal(grown[..., :5, :6], x)  # no trip through float32
    assert torch.equal(grown[..., 5, :6], x[..., 3, :])  # reflection about the last row
    assert p.context["crop"] == (5, 6)
    with pytest.raises(ValueError, match=r"\(1, C, H, W\)"):
        Prepared((torch.zeros(1, 1, 4, 4),), {"g": torch.zeros(1, 4, 4)})
