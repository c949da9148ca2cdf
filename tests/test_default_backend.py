"""The default backend: ONNX Runtime on the CPU (the fastest path within 1e-4 of PyTorch,
BENCHMARKS.md "speed"), its exports kept on disk, and the ways to choose another.

The rest of the suite runs in PyTorch (tests/conftest.py sets ``PIXELSMITH_BACKEND=torch``);
here each test sets the environment it is about.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

import pixelsmith
from pixelsmith.cli import main
from pixelsmith.export import backend as engine
from pixelsmith.export.runtime import ExportedModel
from pixelsmith.pipeline import Pipeline
from pixelsmith.tasks import get_task


def resolve(model, task, device="cpu", backend=None, bf16=False):
    """The network a Pipeline runs for ``model`` (its engine chosen as a run chooses it), and
    what its weight file says."""
    pipe = Pipeline.load(task, model, device=device, backend=backend, bf16=bf16)
    return pipe.net, pipe.info


pytest.importorskip("onnxruntime")


@pytest.fixture
def default_env(monkeypatch, tmp_path):
    """No backend set (the user's default), a fresh cache folder, an empty in-memory cache."""
    monkeypatch.delenv("PIXELSMITH_BACKEND", raising=False)
    monkeypatch.setenv("PIXELSMITH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(engine, "_CACHE", type(engine._CACHE)())
    return tmp_path / "cache" / "exports"


def _photo() -> torch.Tensor:
    from skimage import data

    return torch.from_numpy(data.astronaut()[100:164, 200:264].copy()).permute(2, 0, 1) / 255


def test_a_network_on_the_cpu_runs_in_onnxruntime_by_default(default_env):
    task = get_task("superres", scale=2)
    net, _ = resolve("lrnet_s.x2", task, "cpu")
    assert isinstance(net, ExportedModel) and net.backend == "onnxruntime"
    photo = _photo()
    got = pixelsmith.upscale(photo, scale=2)
    want = pixelsmith.upscale(photo, scale=2, backend="torch")
    assert float((got - want).abs().max()) <= 1e-4


def test_the_environment_and_bf16_choose_pytorch(default_env, monkeypatch):
    task = get_task("superres", scale=2)
    bf16, _ = resolve("lrnet_s.x2", task, "cpu", bf16=True)  # ONNX Runtime runs float32
    assert not isinstance(bf16, ExportedModel)
    monkeypatch.setenv("PIXELSMITH_BACKEND", "torch")
    net, _ = resolve("lrnet_s.x2", task, "cpu")
    assert not isinstance(net, ExportedModel)
    monkeypatch.setenv("PIXELSMITH_BACKEND", "onnxruntime")
    assert isinstance(resolve("lrnet_s.x2", task, "cpu")[0], ExportedModel)


def test_the_export_is_made_once_per_machine_and_read_back(default_env, monkeypatch):
    """A second process (here: an empty in-memory cache) reads the file instead of exporting."""
    task = get_task("superres", scale=2)
    first, _ = resolve("lrnet_s.x2", task, "cpu")
    files = list(default_env.glob("*.onnx"))
    assert len(files) == 1 and files[0].stat().st_size > 1000
    monkeypatch.setattr(engine, "_CACHE", type(engine._CACHE)())

    def no_export(*args, **kwargs):
        raise AssertionError("exported again instead of reading the cache")

    monkeypatch.setattr("pixelsmith.export.convert.export_bytes", no_export)
    again, _ = resolve("lrnet_s.x2", task, "cpu")
    assert isinstance(again, ExportedModel) and again is not first
    x = torch.rand(1, 1, 32, 32)
    torch.testing.assert_close(again(x), first(x), rtol=0, atol=0)


def test_other_weights_miss_the_cache(default_env):
    task = get_task("superres", scale=2)
    resolve("lrnet_s.x2", task, "cpu")
    net, _ = pixelsmith.resolver.load_model("lrnet_s.x2", task=task)
    with torch.no_grad():
        net.get_parameter(next(n for n, _ in net.named_parameters())).mul_(0.5)
    changed = engine.with_backend(net, task, "auto")
    assert len(list(default_env.glob("*.onnx"))) == 2
    x = torch.rand(1, 1, 32, 32)
    with torch.no_grad():
        assert float((changed(x) - net(x)).abs().max()) <= 1e-4


def test_a_damaged_cache_file_is_made_again(default_env, monkeypatch):
    task = get_task("superres", scale=2)
    resolve("lrnet_s.x2", task, "cpu")
    (path,) = default_env.glob("*.onnx")
    path.write_bytes(b"not an onnx graph")
    monkeypatch.setattr(engine, "_CACHE", type(engine._CACHE)())
    net, _ = resolve("lrnet_s.x2", task, "cpu")
    assert isinstance(net, ExportedModel)
    assert path.stat().st_size > 1000  # written again, whole


def test_an_unwritable_cache_costs_only_the_cache(default_env, monkeypatch, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("the cache folder cannot be made under a file")
    monkeypatch.setenv("PIXELSMITH_CACHE", str(blocker / "cache"))
    with pytest.warns(UserWarning, match="cannot keep exports"):
        net, _ = resolve("lrnet_s.x2", get_task("superres", scale=2), "cpu")
    assert isinstance(net, ExportedModel)


def test_the_cache_can_be_turned_off(default_env, monkeypatch):
    monkeypatch.setenv("PIXELSMITH_CACHE", "off")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        net, _ = resolve("lrnet_s.x2", get_task("superres", scale=2), "cpu")
    assert isinstance(net, ExportedModel)
    assert not default_env.exists()


def test_the_cli_runs_the_default_and_takes_backend_torch(default_env, tmp_path):
    src = tmp_path / "in.png"
    Image.fromarray((_photo().permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)).save(src)
    outs = {}
    for backend in (None, "torch"):
        out = tmp_path / f"out_{backend}.png"
        args = ["upscale", str(src), "--scale", "2", "--out", str(out)]
        r = CliRunner().invoke(main, args + ([] if backend is None else ["--backend", backend]))
        assert r.exit_code == 0, r.output
        outs[backend] = np.asarray(Image.open(out), dtype=np.int16)
    assert len(list(default_env.glob("*.onnx"))) == 1  # the default exported; torch did not
    assert np.abs(outs[None] - outs["torch"]).max() <= 1  # within one 8-bit level


def test_inpainting_with_a_given_mask_runs_the_export_as_pytorch(default_env):
    """The export is traced without the run's own mask, so the graph takes the mask as an
    input: the same photo with two different holes, each as PyTorch fills it."""
    from skimage import data

    photo = data.astronaut()[::4, ::4][:96, :128].astype(np.float32) / 255
    for y, x in ((20, 30), (50, 70)):
        hole = np.zeros(photo.shape[:2], np.float32)
        hole[y : y + 16, x : x + 24] = 1
        got = pixelsmith.inpaint(photo, hole)
        want = pixelsmith.inpaint(photo, hole, backend="torch")
        assert np.abs(got - want).max() <= 1e-4
    assert len(list(default_env.glob("*.onnx"))) == 1  # one export serves every mask
