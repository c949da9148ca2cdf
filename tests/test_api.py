"""The public Python API and the demo."""

from __future__ import annotations

import pytest
import torch
from PIL import Image

import pixelsmith
from pixelsmith.api import load_sr_model
from pixelsmith.errors import PixelsmithError
from pixelsmith.resize import imresize


def test_upscale_with_bicubic_matches_matlab_bicubic_on_rgb():
    """With the bicubic 'model', Y and chroma are both bicubic, so RGB is bicubic too."""
    img = torch.rand(3, 13, 10)
    out = pixelsmith.upscale(img, scale=2, model="bicubic", tile=8)
    assert out.shape == (3, 26, 20)
    torch.testing.assert_close(out, imresize(img, 2).clamp(0, 1), atol=2e-5, rtol=0)


def test_upscale_grey_stays_grey():
    out = pixelsmith.upscale(torch.rand(1, 7, 9), scale=3, model="bicubic")
    assert out.shape == (1, 21, 27)


@pytest.mark.parametrize("model", ["lrnet", "srcnn"])
def test_grey_upscales_like_its_rgb_copy(model):
    """The Y models see a grey level g as the Y of RGB (g, g, g), (16 + 219 g) / 255, not as g."""
    grey = torch.rand(1, 14, 17)
    alone = pixelsmith.upscale(grey, scale=2, model=model)
    as_rgb = pixelsmith.upscale(grey.expand(3, -1, -1).clone(), scale=2, model=model)
    torch.testing.assert_close(as_rgb, alone.expand(3, -1, -1), atol=1e-5, rtol=0)
    # and not what feeding g straight to the network would give
    net, _ = load_sr_model(model, 2)
    with torch.no_grad():
        raw = net(grey[None]).clamp(0, 1)[0]
    assert (raw - alone).abs().max() > 1e-3


def test_a_shipped_weight_name_is_a_model():
    model, info = load_sr_model("superres_lrnet_s_x2", 2)
    assert model.scale == 2 and info.arch == "lrnet_s"
    with pytest.raises(PixelsmithError, match="x2, not x3"):
        load_sr_model("superres_lrnet_s_x2", 3)
    out = pixelsmith.upscale(torch.rand(3, 6, 5), scale=2, model="superres_lrnet_s_x2")
    assert out.shape == (3, 12, 10)


def test_evaluate_refuses_a_module_of_another_scale(tmp_path):
    from pixelsmith.models import create_model

    with pytest.raises(PixelsmithError, match="x2, not x3"):
        pixelsmith.evaluate(create_model("bicubic", scale=2), tmp_path, scale=3)


@pytest.mark.parametrize("shape", [(4, 5, 5), (5, 5), (2, 3, 5, 5)])
def test_upscale_rejects_non_images(shape):
    with pytest.raises(PixelsmithError):
        pixelsmith.upscale(torch.rand(*shape), scale=2, model="bicubic")


def test_unsupported_scale():
    with pytest.raises(PixelsmithError, match="x2, x3 or x4"):
        pixelsmith.upscale(torch.rand(3, 8, 8), scale=5, model="bicubic")


def test_shipped_sr_records_match_a_fresh_evaluation(shared_data):
    """Each shipped SR model's recorded Set5 PSNR (its .json and metadata) is what it scores now."""
    import json

    from pixelsmith.tasks.superres import SuperRes
    from pixelsmith.weights import shipped_weights

    for name, path in shipped_weights("superres").items():
        model, info = pixelsmith.load_model(name)
        record = json.loads(path.with_suffix(".json").read_text())
        got = SuperRes(model.scale).evaluate(model, shared_data / "set5")["psnr"]
        assert abs(got - record["set5"]["psnr"]) < 0.01, (name, got, record["set5"])
        assert abs(got - float(info.metrics["psnr"])) < 0.01, (name, got, info.metrics)


def test_shipped_sr_models_load_and_run():
    from pixelsmith.weights import shipped_weights

    names = list(shipped_weights("superres"))
    assert "superres_lrnet_s_x3" in names
    for name in names:
        model, info = pixelsmith.load_model(name)
        assert info.task == "superres" and info.command and info.metrics
        out = model(torch.rand(1, 1, 5, 6))
        assert out.shape == (1, 1, 5 * model.scale, 6 * model.scale)


def test_demo_writes_a_sheet(tmp_path):
    from pixelsmith.demo import run_demo

    paths = run_demo(tmp_path / "demo", scale=3)
    sheet = tmp_path / "demo" / "sheet.png"
    assert sheet in paths
    assert Image.open(sheet).size[0] > 600
    assert Image.open(tmp_path / "demo" / "astronaut_bicubic.png").size == (510, 510)
    assert tmp_path / "demo" / "classifier.png" in paths
