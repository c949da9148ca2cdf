"""Tiled inference equals whole-image inference when the receptive field fits in the pad."""

from __future__ import annotations

import pytest
import torch

from pixelsmith.infer import run_tiled
from pixelsmith.models import create_model, list_models


def _random_model(name: str, scale: int) -> torch.nn.Module:
    torch.manual_seed(1)
    model = create_model(name, scale=scale).eval()
    for p in model.parameters():
        torch.nn.init.normal_(p, std=0.1)
    return model


@pytest.mark.parametrize("name", list_models(task="superres"))
@pytest.mark.parametrize("scale", [2, 3, 4])
@pytest.mark.parametrize("tile,blend", [(16, 4), (23, 0), (40, 8)])
def test_tiled_equals_whole(name, scale, tile, blend):
    model = _random_model(name, scale)
    x = torch.rand(1, 61, 47)
    with torch.no_grad():
        whole = model(x[None])[0]
    tiled = run_tiled(model, x, scale=scale, tile=tile, blend=blend, batch_size=3)
    assert tiled.shape == whole.shape
    torch.testing.assert_close(tiled, whole, atol=1e-5, rtol=0)


def test_too_small_pad_shows_seams():
    """The check above can fail: with no context the tile borders differ from whole-image inference."""
    model = _random_model("lrnet_s", 2)
    x = torch.rand(1, 40, 40)
    with torch.no_grad():
        whole = model(x[None])[0]
    tiled = run_tiled(model, x, scale=2, tile=10, pad=0, blend=0)
    assert (tiled - whole).abs().max() > 1e-3


def test_multichannel_and_batch_dim():
    model = create_model("bicubic", scale=2, channels=3)
    x = torch.rand(1, 3, 30, 20)
    out = run_tiled(model, x, scale=2, tile=8)
    assert out.shape == (1, 3, 60, 40)
    torch.testing.assert_close(out, model(x), atol=1e-5, rtol=0)


def test_bfloat16_runs_close_to_float32():
    model = _random_model("lrnet_s", 2)
    x = torch.rand(1, 33, 33)
    ref = run_tiled(model, x, scale=2, tile=16)
    low = run_tiled(model, x, scale=2, tile=16, dtype=torch.bfloat16)
    assert low.dtype == torch.float32
    # bfloat16 keeps 8 significant bits: errors of a few parts in a thousand of the output's range
    span = float(ref.max() - ref.min())
    assert 0 < float((low - ref).abs().max()) < 0.02 * span
