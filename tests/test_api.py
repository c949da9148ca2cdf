"""The public Python API and the demo."""

from __future__ import annotations

import pytest
import torch
from PIL import Image

import pixelsmith
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


@pytest.mark.parametrize("shape", [(4, 5, 5), (5, 5), (2, 3, 5, 5)])
def test_upscale_rejects_non_images(shape):
    with pytest.raises(PixelsmithError):
        pixelsmith.upscale(torch.rand(*shape), scale=2, model="bicubic")


def test_unsupported_scale():
    with pytest.raises(PixelsmithError, match="x2, x3 or x4"):
        pixelsmith.upscale(torch.rand(3, 8, 8), scale=5, model="bicubic")


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
