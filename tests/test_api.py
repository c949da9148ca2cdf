"""The public Python API: restore/upscale on every kind of image, the resolver, evaluate, the demo."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import pixelsmith
from pixelsmith.errors import PixelsmithError
from pixelsmith.resize import imresize

#: Bicubic on Set5 by the SRCNN protocol, from the SRCNN paper's table (x2, x3, x4).
PAPER_BICUBIC_SET5 = {2: 33.66, 3: 30.39, 4: 28.42}


def test_upscale_with_bicubic_matches_matlab_bicubic_on_rgb():
    """With the bicubic 'model', Y and chroma are both bicubic, so RGB is bicubic too."""
    img = torch.rand(3, 13, 10, dtype=torch.float64).float()
    out = pixelsmith.upscale(img, scale=2, model="bicubic", tile=16)
    assert out.shape == (3, 26, 20)
    ref = imresize(img.double(), 2).clamp(0, 1)
    assert float((out.double() - ref).abs().max()) < 1e-5  # float32 colour conversion round trip


def test_upscale_grey_stays_grey():
    out = pixelsmith.upscale(torch.rand(1, 7, 9), scale=3, model="bicubic")
    assert out.shape == (1, 21, 27)


@pytest.mark.parametrize("model", ["lrnet", "srcnn"])
def test_grey_upscales_like_its_rgb_copy(model):
    """The Y models see a grey level g as the Y of RGB (g, g, g), (16 + 219 g) / 255, not as g."""
    grey = torch.rand(1, 14, 17)
    alone = pixelsmith.upscale(grey, scale=2, model=model)
    as_rgb = pixelsmith.upscale(grey.expand(3, -1, -1).clone(), scale=2, model=model)
    assert float((as_rgb - alone.expand(3, -1, -1)).abs().max()) < 1e-4
    # and not what feeding g straight to the network would give
    net, _ = pixelsmith.load_model(model, task=pixelsmith.get_task("superres", scale=2))
    with torch.no_grad():
        raw = net(grey[None]).clamp(0, 1)[0]
    assert (raw - alone).abs().max() > 1e-3


@pytest.mark.parametrize(
    "name,tag",
    [
        ("lrnet_s.x2", "lrnet_s.x2"),
        ("superres_lrnet_s_x2", "lrnet_s.x2"),
        ("lrnet", "lrnet_s.x2"),
        ("srcnn", "srcnn_955.x2"),
        ("srcnn_915", "srcnn_915.x2"),
    ],
)
def test_one_resolver_for_every_kind_of_name(name, tag):
    model, info = pixelsmith.load_model(name, task=pixelsmith.get_task("superres", scale=2))
    assert info.name == tag and model.scale == 2 and not model.training


def test_blind_picks_the_blind_tag_and_scale_is_checked():
    _, info = pixelsmith.load_model(
        "lrnet", task=pixelsmith.get_task("superres", scale=3, blind=True)
    )
    assert info.name == "lrnet_s.x3_blind"
    with pytest.raises(PixelsmithError, match="x2, not x3"):
        pixelsmith.load_model("lrnet_s.x2", task=pixelsmith.get_task("superres", scale=3))
    with pytest.raises(PixelsmithError, match="lrnet_m.x3"):  # says which tags exist
        pixelsmith.load_model("lrnet_m", task=pixelsmith.get_task("superres", scale=2))


def test_an_architecture_without_a_task_names_its_tags():
    with pytest.raises(PixelsmithError, match="lrnet_s.x3"):
        pixelsmith.load_model("lrnet_s")


def test_a_classifier_is_refused_as_an_upscaler():
    with pytest.raises(PixelsmithError, match="not a super-resolution model"):
        pixelsmith.upscale(torch.rand(3, 8, 8), 3, "smallconvnet.faces")


@pytest.mark.parametrize(
    ("task", "arch", "owner"),
    [("colorize", "bicubic", "superres"), ("superres", "telea", "inpaint")],
)
def test_an_architecture_of_another_task_is_refused_by_name(task, arch, owner):
    """A weightless architecture of another task (``pixelsmith colorize --model bicubic``) is one
    clear error naming the task's own architectures, not a traceback at decoding."""
    with pytest.raises(PixelsmithError, match=f"{arch} is a {owner} model; {task} models: ") as e:
        pixelsmith.load_model(arch, task=task)
    assert all(m in str(e.value) for m in pixelsmith.list_models(task))


def test_task_options_are_checked_by_name_and_type():
    """A misspelt option is named with the nearest one; a value of the wrong type names the
    option and its type (it was one TypeError listing every field, private ones too)."""
    with pytest.raises(TypeError, match=r"no option 'temprature' \(did you mean temperature\?\)"):
        pixelsmith.get_task("colorize", temprature=0.5)
    with pytest.raises(TypeError, match=r"render_factor takes int, not '16'") as e:
        pixelsmith.colorize(np.zeros((8, 8), np.uint8), render_factor="16")
    assert "_bins" not in str(e.value)
    for bad in ({"render_factor": 1.5}, {"render_factor": True}, {"temperature": "x"}):
        with pytest.raises(TypeError, match=f"{next(iter(bad))} takes"):
            pixelsmith.get_task("colorize", **bad)
    task = pixelsmith.get_task(
        "colorize", render_factor=np.int64(8), temperature=np.float32(0.5), prior=Path("p.npy")
    )
    # stored as the field's own type (a NumPy integer or a Path would not go into JSON metadata)
    assert [(v, type(v)) for v in (task.render_factor, task.temperature, task.prior)] == [
        (8, int),
        (0.5, float),
        ("p.npy", str),
    ]
    assert type(pixelsmith.get_task("superres", scale=np.int32(2)).scale) is int
    assert pixelsmith.get_task("superres", blind=np.True_).blind is True
    with pytest.raises(TypeError, match="blind takes bool, not 1"):
        pixelsmith.get_task("superres", blind=1)


def test_evaluate_refuses_a_module_of_another_scale(tmp_path):
    with pytest.raises(PixelsmithError, match="x2, not x3"):
        pixelsmith.evaluate(pixelsmith.create_model("bicubic", scale=2), tmp_path, scale=3)


# --- what users hold: paths, PIL images, NumPy arrays, tensors ------------------------------


def _rgb_u8(h=9, w=7, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def _bicubic_u8(a: np.ndarray, scale: int) -> np.ndarray:
    """Independent reference: MATLAB-bicubic RGB upscaling, rounded to 8 bits."""
    x = torch.from_numpy(a).permute(2, 0, 1).double() / 255
    y = imresize(x, scale).clamp(0, 1)
    return (y * 255 + 0.5).floor().byte().permute(1, 2, 0).numpy()


def test_numpy_uint8_in_gives_numpy_uint8_out():
    a = _rgb_u8()
    out = pixelsmith.upscale(a, 2, "bicubic")
    assert isinstance(out, np.ndarray) and out.dtype == np.uint8 and out.shape == (18, 14, 3)
    assert np.abs(out.astype(int) - _bicubic_u8(a, 2).astype(int)).max() <= 1


def test_numpy_grey_2d_uint16_and_float_keep_their_kind():
    g16 = np.random.default_rng(1).integers(0, 65536, (8, 6), dtype=np.uint16)
    out16 = pixelsmith.upscale(g16, 2, "bicubic")
    assert out16.dtype == np.uint16 and out16.shape == (16, 12)
    f = np.random.default_rng(2).random((8, 6, 3))
    outf = pixelsmith.upscale(f, 3, "bicubic")
    assert outf.dtype == np.float64 and outf.shape == (24, 18, 3)


def test_pil_in_gives_pil_out_with_mode_and_alpha():
    rgba = np.concatenate([_rgb_u8(), np.full((9, 7, 1), 200, np.uint8)], 2)
    out = pixelsmith.upscale(Image.fromarray(rgba, "RGBA"), 2, "bicubic")
    assert isinstance(out, Image.Image) and out.mode == "RGBA" and out.size == (14, 18)
    assert np.asarray(out)[..., 3].min() >= 199  # a flat alpha stays flat
    grey = pixelsmith.upscale(Image.fromarray(_rgb_u8()[..., 0]), 3, "bicubic")
    assert grey.mode == "L" and grey.size == (21, 27)


def test_path_in_gives_an_image_out(tmp_path):
    p = tmp_path / "a.png"
    Image.fromarray(_rgb_u8()).save(p)
    out = pixelsmith.upscale(p, 2, "bicubic")
    assert isinstance(out, torch.Tensor) and out.shape == (3, 18, 14)
    assert sorted(q.name for q in tmp_path.iterdir()) == ["a.png"]  # nothing written
    ref = torch.from_numpy(_bicubic_u8(_rgb_u8(), 2)).permute(2, 0, 1).float() / 255
    assert float((out - ref).abs().max()) <= 1 / 255 + 1e-6
    assert isinstance(pixelsmith.upscale(str(p), 2, "bicubic"), torch.Tensor)


def test_tensor_keeps_dtype():
    out = pixelsmith.upscale(torch.rand(3, 6, 5, dtype=torch.float64), 2, "bicubic")
    assert out.dtype == torch.float64 and out.shape == (3, 12, 10)


@pytest.mark.parametrize(
    "image,error,match",
    [
        (torch.rand(5, 5), ValueError, "C, H, W"),
        (torch.rand(2, 3, 5, 5), ValueError, "loop over a batch"),
        (torch.rand(1, 1, 1, 5, 5), ValueError, "C, H, W"),
        (torch.rand(5, 5, 5), ValueError, "channels"),
        (torch.randint(0, 255, (3, 5, 5), dtype=torch.uint8), TypeError, "255"),
        (np.zeros((5, 5, 5), np.uint8), ValueError, "channels"),
        (np.zeros((3, 8, 8), np.float32), ValueError, "channel-first"),
        (np.zeros((5, 5, 3), np.int32), TypeError, "uint8"),
        ([[0.5]], TypeError, "expected an image"),
    ],
    ids=["2d", "batch", "5d", "5ch", "u8-tensor", "5ch-np", "chw-np", "int32", "list"],
)
def test_non_images_are_refused_clearly(image, error, match):
    with pytest.raises(error, match=match):
        pixelsmith.upscale(image, 2, "bicubic")


def test_one_nan_or_inf_pixel_is_refused_not_spread():
    for bad in (float("nan"), float("inf")):
        img = torch.rand(3, 8, 8)
        img[1, 4, 4] = bad
        with pytest.raises(ValueError, match="NaN or infinite"):
            pixelsmith.upscale(img, 2)


def test_float_levels_in_0_255_are_refused_with_the_hint():
    with pytest.raises(ValueError, match="divide by 255"):
        pixelsmith.upscale(torch.rand(3, 8, 8) * 255, 2)
    with pytest.raises(ValueError, match="divide by 255"):
        pixelsmith.upscale(np.random.default_rng(0).random((8, 8, 3)) * 255, 2)


def test_rounding_slack_is_clamped_not_refused():
    img = torch.rand(3, 8, 8)
    img[0, 0, 0], img[0, 0, 1] = 1.0 + 1e-6, -1e-6
    out = pixelsmith.upscale(img, 2, "bicubic")
    assert 0 <= float(out.min()) and float(out.max()) <= 1


def test_the_output_size_is_bounded_before_any_work():
    """A 248 KB 15000x15000 grey PNG asks for a 60000x60000 result at x4: refused at once."""
    huge = torch.zeros(1, 1, 1).expand(1, 15000, 15000)
    with pytest.raises(PixelsmithError, match="60000x60000.*max_output_pixels"):
        pixelsmith.upscale(huge, 4)
    out = pixelsmith.upscale(torch.rand(1, 10, 10), 2, "bicubic", max_output_pixels=400)
    assert out.shape == (1, 20, 20)
    with pytest.raises(PixelsmithError, match="over the limit of 399"):
        pixelsmith.upscale(torch.rand(1, 10, 10), 2, "bicubic", max_output_pixels=399)


def test_restore_is_the_one_entry_point():
    a = torch.rand(3, 6, 5)
    assert torch.equal(
        pixelsmith.restore(a, "superres", "bicubic", scale=2), pixelsmith.upscale(a, 2, "bicubic")
    )
    with pytest.raises(PixelsmithError, match="unknown task"):
        pixelsmith.restore(a, "sharpen")


def test_unsupported_scale():
    with pytest.raises(PixelsmithError, match="x2, x3 or x4"):
        pixelsmith.upscale(torch.rand(3, 8, 8), scale=5, model="bicubic")


def test_weights_with_nan_are_refused_when_loaded(tmp_path):
    from pixelsmith.weights import WeightInfo, read_weights, save_weights

    model, info = pixelsmith.load_model("lrnet_s.x2")
    state, _ = read_weights(pixelsmith.list_pretrained()["lrnet_s.x2"])
    with pytest.raises(PixelsmithError, match="NaN or inf"):
        model.head.bias.data[0] = float("nan")
        save_weights(model, tmp_path / "bad.safetensors", info)
    # a file written by something else with NaN in it
    from safetensors.torch import save_file

    state["head.bias"][0] = float("nan")
    save_file(state, str(tmp_path / "bad.safetensors"), metadata=info.to_metadata())
    with pytest.raises(PixelsmithError, match="bad.safetensors.*NaN or inf"):
        pixelsmith.load_model(tmp_path / "bad.safetensors")
    assert isinstance(info, WeightInfo)


# --- shipped models -------------------------------------------------------------------------


def test_shipped_sr_records_match_a_fresh_evaluation(shared_data):
    """Regression check: each shipped SR model's recorded Set5 PSNR (its .json and metadata) is
    what it scores now. The record was written by our own code, so the independent check is the
    next test (against the SRCNN paper's bicubic figures)."""
    for name, path in pixelsmith.list_pretrained("superres").items():
        model, info = pixelsmith.load_model(name)
        record = json.loads(path.with_suffix(".json").read_text())
        got = pixelsmith.evaluate(model, shared_data / "set5", scale=model.scale)["psnr"]
        assert abs(got - record["set5"]["psnr"]) < 0.01, (name, got, record["set5"])
        assert abs(got - float(info.metrics["psnr"])) < 0.01, (name, got, info.metrics)


def test_shipped_bicubic_trained_models_beat_the_papers_bicubic_by_a_decibel(shared_data):
    for name in pixelsmith.list_pretrained("superres"):
        if name.endswith("_blind"):
            continue
        model, _ = pixelsmith.load_model(name)
        got = pixelsmith.evaluate(model, shared_data / "set5", scale=model.scale)["psnr"]
        assert got > PAPER_BICUBIC_SET5[model.scale] + 1.0, (name, got)


def test_shipped_sr_models_load_and_run():
    names = list(pixelsmith.list_pretrained("superres"))
    assert "lrnet_s.x3" in names and "lrnet_s.x3_blind" in names
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
    assert tmp_path / "demo" / "inpaint.png" in paths
    assert (tmp_path / "demo" / "inpaint_telea.png") in paths


def test_pil_mode_i_round_trips_its_levels():
    levels = (np.arange(48).reshape(6, 8) * 1000).astype(np.int32)
    out = pixelsmith.upscale(Image.fromarray(levels, "I"), 2, "bicubic")
    assert out.mode == "I" and out.size == (16, 12)
    ref = imresize(torch.from_numpy(levels).double()[None] / 65535, 2).clamp(0, 1)[0] * 65535
    assert np.abs(np.asarray(out) - ref.numpy()).max() <= 1.0  # 16-bit rounding


def test_empty_arrays_are_refused():
    with pytest.raises(ValueError, match="empty"):
        pixelsmith.upscale(np.zeros((0, 5, 3), np.uint8), 2, "bicubic")


def test_resolver_names_what_exists():
    with pytest.raises(PixelsmithError, match="shipped for lrnet_s: lrnet_s.x2"):
        pixelsmith.load_model("lrnet_s.x5")
    with pytest.raises(PixelsmithError, match="for a task"):
        pixelsmith.load_model("bicubic")
    with pytest.raises(PixelsmithError, match="x3.mat.*for a task"):
        pixelsmith.load_model("x3.mat")
    task = pixelsmith.get_task("superres", scale=3)
    with pytest.raises(PixelsmithError, match="missing.mat: checkpoint file not found"):
        pixelsmith.load_model("missing.mat", task=task)
