"""Export to ONNX and TorchScript: parity with PyTorch for every shipped model, the files'
format, the runtime's face (a full task through ONNX Runtime), the export-friendly rewrites
against their references, and the ``export`` command.

Every shipped model is exported once per session (about a second each). The ONNX graphs are
run here by onnxruntime directly, not through pixelsmith's wrapper, with the inputs the file
declares; parity is ``max |ORT - PyTorch| <= 1e-4`` relative to the output's scale
(``max(1, max |output|)``: the images are in [0, 1], so 1e-4 absolute; a colorizer's logits
reach tens).
"""

from __future__ import annotations

import math

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from click.testing import CliRunner
from torch.nn import functional as F

import pixelsmith
from pixelsmith.errors import PixelsmithError
from pixelsmith.export import export_bytes, export_command, export_model, load_exported
from pixelsmith.export.convert import check_sizes
from pixelsmith.export.rewrites import adaptive_avg_pool2d, bicubic_upscale
from pixelsmith.models import create_model, model_spec
from pixelsmith.pipeline import Pipeline
from pixelsmith.resize import imresize
from pixelsmith.resolver import load_model
from pixelsmith.tasks import TASKS, get_task
from pixelsmith.weights import list_pretrained


def resolve(model, task, device="cpu", backend=None, bf16=False):
    """The network a Pipeline runs for ``model`` (its engine chosen as a run chooses it), and
    what its weight file says."""
    pipe = Pipeline.load(task, model, device=device, backend=backend, bf16=bf16)
    return pipe.net, pipe.info


SHIPPED = sorted(list_pretrained())
#: Shipped models that cannot be exported, with (a word of) the reason they give.
NOT_EXPORTABLE: dict[str, str] = {"zero_dce.photos": "shrunk to 512 px"}
#: Sizes of the TorchScript round trip (before rounding up to the model's size multiple).
SIZES = ((1, 48, 64), (2, 72, 40))


@pytest.fixture(autouse=True)
def _one_thread():
    """These tensors are small: one thread is faster than two (and than a second thread
    waiting for a busy core); conftest restores the count after each test."""
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def shipped(tmp_path_factory):
    """``shipped(name)``: ``(the shipped model name exported to ONNX, the eager model)``, made
    once per session."""
    folder = tmp_path_factory.mktemp("onnx")
    made = {}

    def get(name: str):
        if name not in made:
            net, info = load_model(name)
            path = folder / f"{name.replace('.', '_')}.onnx"
            path.write_bytes(export_bytes(net, "onnx", info=info).data)
            made[name] = path, net
        return made[name]

    return get


@pytest.fixture(scope="session")
def onnx_file(shipped):
    """``onnx_file(name)``: the shipped model ``name`` exported to ONNX."""
    return lambda name: shipped(name)[0]


def _parity(want: torch.Tensor, got: np.ndarray) -> tuple[float, float]:
    diff = float(np.abs(got.astype(np.float64) - want.double().numpy()).max())
    return diff, max(1.0, float(want.abs().max()))


def _inputs_for(session: ort.InferenceSession, size, seed: int):
    """Photo-like random inputs of the shapes the ONNX file declares: ``(N, C, H, W)`` with
    ``C`` from the file, ``N, H, W`` from ``size`` (``H, W`` the file's own where it fixes
    them). Smooth random fields (a grid of one value per 6 pixels, upsampled bicubically), as
    photos are: on white noise DeepUPE's guided filter is ill-conditioned in float32 for
    PyTorch itself. An input named ``mask`` is such a field thresholded (blobs of holes)."""
    n, h, w = size
    g = torch.Generator().manual_seed(seed)
    xs = {}
    for i in session.get_inputs():
        c, fh, fw = i.shape[1:]
        h1, w1 = fh if isinstance(fh, int) else h, fw if isinstance(fw, int) else w
        coarse = torch.rand(n, c, h1 // 6 + 3, w1 // 6 + 3, generator=g)
        x = F.interpolate(coarse, size=(h1, w1), mode="bicubic", align_corners=False).clamp(0, 1)
        xs[i.name] = (x > 0.35).float() if i.name == "mask" else x
    return xs


@pytest.mark.parametrize("name", [n for n in SHIPPED if n not in NOT_EXPORTABLE])
def test_every_shipped_model_matches_pytorch_in_onnxruntime(shipped, name):
    """ONNX Runtime on the exported file vs PyTorch eager on the shipped weights, at two sizes
    that differ from each other and from the traced one in batch, height and width (the sizes
    the export checks itself at, so that PyTorch's per-shape set-up is paid once)."""
    path, net = shipped(name)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    multiple = math.lcm(model_spec(net).size_multiple, get_task(task_of(name)).align)
    sizes = check_sizes(multiple)
    assert len({s[0] for s in sizes}) == len({s[1:] for s in sizes}) == 2
    for k, size in enumerate(sizes):
        xs = _inputs_for(session, size, seed=10 + k)
        with torch.no_grad():
            want = net(*xs.values())
        (got,) = session.run(None, {n: x.numpy() for n, x in xs.items()})
        assert got.shape == tuple(want.shape)
        diff, scale = _parity(want, got)
        assert diff <= 1e-4 * scale, (name, size, diff, scale)


def task_of(name: str) -> str:
    return next(t for t in TASKS if name in list_pretrained(t))


def test_not_exportable_list_is_only_shipped_models():
    assert set(NOT_EXPORTABLE) <= set(SHIPPED)


@pytest.mark.parametrize("name", sorted(NOT_EXPORTABLE))
def test_a_model_a_graph_cannot_hold_is_refused_and_auto_keeps_pytorch(tmp_path, name):
    """Zero-DCE shrinks a photo larger than 512 px before estimating its curves: a traced graph
    would keep the traced size's path (no shrink) and differ from PyTorch on large photos. The
    export is refused, ``backend="onnxruntime"`` says why, and ``auto`` (the default) runs
    PyTorch without a warning."""
    import warnings

    from pixelsmith.export import export_model
    from pixelsmith.export.runtime import ExportedModel

    with pytest.raises(PixelsmithError, match=NOT_EXPORTABLE[name]):
        export_model(name, tmp_path / "x.onnx")
    assert not (tmp_path / "x.onnx").exists()
    task = get_task(task_of(name))
    with pytest.raises(PixelsmithError, match="cannot be exported"):
        resolve(name, task, "cpu", "onnxruntime")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        net, _ = resolve(name, task, "cpu", "auto")
    assert not isinstance(net, ExportedModel)


def test_zero_dce_at_full_resolution_exports_and_agrees_beyond_512_px(tmp_path):
    """The authors' variant (curves at full size, ``curve_side=None``) has no size-dependent
    step: it exports and agrees with PyTorch on a photo larger than 512 px."""
    from pixelsmith.export.backend import with_backend

    torch.manual_seed(0)
    net = create_model("zero_dce", curve_side=None).eval()
    task = get_task("lowlight")
    exported = with_backend(net, task, "onnxruntime")
    x = torch.rand(1, 3, 520, 40)
    with torch.no_grad():
        assert float((exported(x) - net(x)).abs().max()) <= 1e-4


def test_the_file_declares_dynamic_sides_and_carries_its_metadata(onnx_file):
    """The ONNX file as the format has it: batch, height and width are symbolic dims of every
    input, the pixelsmith metadata names the task and architecture, and a fully connected
    classifier keeps its one input size with a dynamic batch."""
    model = onnx.load(str(onnx_file("pconv_unet_s.photos")))
    onnx.checker.check_model(model)
    dims = {
        i.name: [d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim]
        for i in model.graph.input
    }
    assert list(dims) == ["image", "mask"]
    for d in dims.values():
        assert isinstance(d[0], str) and isinstance(d[2], str) and isinstance(d[3], str)
    assert dims["image"][1] == 3 and dims["mask"][1] == 1
    meta = {p.key: p.value for p in model.metadata_props}
    assert meta["format"] == "pixelsmith" and meta["task"] == "inpaint"
    assert meta["arch"] == "pconv_unet_s" and model.opset_import[0].version >= 17

    faces = onnx.load(str(onnx_file("smallconvnet.faces")))
    (x,) = faces.graph.input
    shape = [d.dim_param or d.dim_value for d in x.type.tensor_type.shape.dim]
    assert isinstance(shape[0], str) and shape[1:] == [1, 25, 25]


def test_exported_model_shows_the_original_face(onnx_file):
    """What tasks bind to comes through: a colorizer's ab bins and prior (bit for bit), an
    inpainting net's objective and attributes, the spec and the architecture."""
    name = "colornet_s.photos"
    eager, _ = load_model(name)
    exported, info = resolve(onnx_file(name), get_task("colorize"))
    assert info.task == "colorize" and info.arch == "colornet_s"
    assert exported.spec == eager.spec and exported.pixelsmith_arch == eager.pixelsmith_arch
    assert torch.equal(exported.bins, eager.bins) and torch.equal(exported.prior, eager.prior)
    assert not list(exported.parameters())
    vae, _ = load_model("inpaint_vae.photos")
    exported_vae, _ = load_exported(onnx_file("inpaint_vae.photos"))
    assert exported_vae.objective == "vae" == vae.objective
    assert tuple(exported_vae.attribute_names) == tuple(vae.attribute_names)
    assert torch.equal(exported_vae.attribute_mean, vae.attribute_mean)


def _photo(h: int = 40, w: int = 56) -> torch.Tensor:
    from skimage import data

    img = torch.from_numpy(np.ascontiguousarray(data.astronaut()[::8, ::8])).permute(2, 0, 1)
    return img[:, :h, :w].float() / 255


@pytest.mark.parametrize(
    "task,name,options",
    [
        ("superres", "lrnet_s.x3", {"scale": 3, "tile": 16}),  # tiled: several windows
        ("superres", "srcnn_955.x2", {"scale": 2}),  # the bicubic step, rewritten
        ("colorize", "colornet_s.photos", {"render_factor": 3}),  # bins and prior from the file
        ("lowlight", "lowlight_unet.photos", {}),  # the exposure gain from the file's kwargs
    ],
)
def test_a_whole_task_runs_through_onnxruntime_as_in_pytorch(onnx_file, task, name, options):
    """``restore`` with the .onnx file as the model (prepare, tiles, decode unchanged) gives
    PyTorch's result."""
    photo = _photo().mean(0, keepdim=True) if task == "colorize" else _photo()
    want = pixelsmith.restore(photo, task, name, **options)
    got = pixelsmith.restore(photo, task, str(onnx_file(name)), **options)
    assert got.shape == want.shape
    assert float((got - want).abs().max()) <= 1e-4


@pytest.mark.parametrize("name", ["pconv_unet_s.photos", "inpaint_vae.photos"])
def test_inpainting_through_onnxruntime_fills_the_hole_as_pytorch(onnx_file, name):
    """The two- and three-input nets: the mask (and the VAE's attribute planes) reach the
    graph, and outside the hole the result is the photo exactly."""
    photo = _photo(64, 64)
    hole = torch.zeros(1, 64, 64)
    hole[:, 20:36, 24:44] = 1
    want = pixelsmith.inpaint(photo, hole, name)
    got = pixelsmith.inpaint(photo, hole, str(onnx_file(name)))
    assert float((got - want).abs().max()) <= 1e-4
    assert torch.equal(got[:, hole[0] == 0], photo[:, hole[0] == 0])


def test_backend_option_exports_in_memory():
    """``restore(..., backend="onnxruntime")`` runs the export (no file) and agrees with
    PyTorch; the second call reuses it."""
    from pixelsmith.export.runtime import ExportedModel

    photo = _photo()
    want = pixelsmith.upscale(photo, scale=2)
    got = pixelsmith.upscale(photo, scale=2, backend="onnxruntime")
    assert float((got - want).abs().max()) <= 1e-4
    task = pixelsmith.get_task("superres", scale=2)
    net, _ = resolve(None, task, "cpu", "onnxruntime")
    again, _ = resolve(None, task, "cpu", "onnxruntime")
    assert isinstance(net, ExportedModel) and net is again
    with pytest.raises(PixelsmithError, match="unknown backend"):
        pixelsmith.upscale(photo, scale=2, backend="tensorrt")


def test_auto_backend_takes_onnxruntime_for_networks_only():
    """``backend="auto"`` on the CPU: the network's export; a classical method stays PyTorch."""
    from pixelsmith.export.runtime import ExportedModel

    task = get_task("superres", scale=2)
    net, _ = resolve("lrnet_s.x2", task, "cpu", "auto")
    assert isinstance(net, ExportedModel) and net.backend == "onnxruntime"
    classical, _ = resolve("bicubic", task, "cpu", "auto")
    assert not isinstance(classical, ExportedModel)
    photo = _photo()
    torch.testing.assert_close(
        pixelsmith.upscale(photo, scale=2, model="bicubic", backend="auto"),
        pixelsmith.upscale(photo, scale=2, model="bicubic"),
        rtol=0,
        atol=0,
    )


@pytest.mark.parametrize("name", ["lrnet_s.x2", "srcnn_915.x3"])
def test_torchscript_round_trip(tmp_path, name):
    """A .torchscript file loads by its suffix and gives PyTorch's outputs at two sizes."""
    path = export_model(name, tmp_path / "m.torchscript", "torchscript")
    eager, _ = load_model(name)
    scripted, info = load_exported(path)
    assert info.arch == eager.pixelsmith_arch[0] and scripted.backend == "torchscript"
    k = eager.spec.size_multiple
    g = torch.Generator().manual_seed(0)
    for n, h, w in SIZES:
        h, w = -(-h // k) * k, -(-w // k) * k
        xs = [torch.rand(n, eager.spec.in_channels, h, w, generator=g)]
        with torch.no_grad():
            want, got = eager(*xs), scripted(*xs)
        assert float((got - want).abs().max()) <= 1e-4 * max(1.0, float(want.abs().max()))


def test_the_dynamo_exporter_takes_over_where_the_first_fails(monkeypatch, tmp_path):
    """``exporter="auto"``: when the TorchScript-based exporter fails, the ``torch.export`` one
    writes the file, and it matches PyTorch at a size it was not traced at."""
    import pixelsmith.export.convert as convert

    def broken(*args):
        raise RuntimeError("unsupported operator")

    monkeypatch.setattr(convert, "_onnx_legacy", broken)
    path = export_model("lrnet_s.x2", tmp_path / "m.onnx")
    net, _ = load_model("lrnet_s.x2")
    exported, _ = load_exported(path)
    assert exported.metadata["exporter"] == "onnx-dynamo"
    x = torch.rand(3, 1, 40, 72, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        assert float((exported(x) - net(x)).abs().max()) <= 1e-4


def test_the_check_catches_a_graph_with_the_traced_size_baked_in(monkeypatch, tmp_path):
    """Without its convolution form, SRCNN's bicubic step is NumPy tables of the traced size:
    the legacy graph then fails at the check's other sizes, and nothing is written."""
    import contextlib

    import pixelsmith.export.rewrites as rewrites

    monkeypatch.setattr(rewrites, "_patched_imresize", contextlib.nullcontext)
    with pytest.raises(PixelsmithError, match="onnx-legacy: (fails at|differs|gives)"):
        export_model("srcnn_915.x2", tmp_path / "m.onnx", exporter="legacy")
    assert not (tmp_path / "m.onnx").exists()


@pytest.mark.parametrize("scale", [2, 3, 4])
@pytest.mark.parametrize("size", [(2, 3), (5, 7), (17, 10)])
def test_bicubic_as_convolutions_is_matlab_imresize(scale, size):
    """The traceable upscale equals :func:`imresize` (itself checked against MATLAB) in float64,
    borders included, down to two-pixel sides."""
    x = torch.rand(2, 3, *size, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(bicubic_upscale(x, scale), imresize(x, scale), rtol=0, atol=1e-13)


@pytest.mark.parametrize("out", [7, (5, 64), 64])
def test_adaptive_pooling_by_matrices_is_pytorchs(out):
    """Shrinking to uneven bins and growing (bins repeat an input pixel) as PyTorch pools."""
    x = torch.rand(2, 3, 37, 50, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    want = F.adaptive_avg_pool2d(x, out)
    torch.testing.assert_close(adaptive_avg_pool2d(x, out), want, rtol=0, atol=1e-13)


def test_the_export_copy_leaves_the_model_as_it_was():
    """Baking spectral norm into the export's copy must not touch the original, though a deep
    copy shares the original's parametrized class: the copy computes what the original does."""
    from pixelsmith.export.rewrites import traceable

    net, _ = load_model("deoldify_s.photos")
    x = torch.rand(1, 1, 32, 48, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        before = net(x)
        with traceable(net) as copy:
            baked = copy(x)
            assert not any("parametrizations" in n for n, _ in copy.named_parameters())
        after = net(x)
    assert torch.equal(before, after)
    torch.testing.assert_close(baked, before, rtol=0, atol=1e-5)


def test_the_bicubic_rewrite_is_undone_after_an_export():
    """SRCNN calls its module's ``imresize``: the export points it at the convolution form
    while it traces, and puts the original back (twice in a row, nested or not)."""
    import pixelsmith.models.srcnn as srcnn
    from pixelsmith.export.rewrites import traceable

    net, _ = load_model("srcnn_915.x2")
    for _ in range(2):
        with traceable(net), traceable(net):
            assert srcnn.imresize is not imresize
        assert srcnn.imresize is imresize


@pytest.mark.parametrize(
    "build,reason",
    [
        (lambda: create_model("clahe"), "classical"),
        (lambda: create_model("telea"), "classical"),
        (lambda: create_model("bicubic", scale=3), "no trained weights"),
    ],
)
def test_classical_methods_cannot_be_exported(tmp_path, build, reason):
    with pytest.raises(PixelsmithError, match=reason):
        export_model(build(), tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_bad_files_are_refused_with_their_name(tmp_path):
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not an onnx graph")
    with pytest.raises(PixelsmithError, match="junk.onnx"):
        load_exported(junk)
    foreign = tmp_path / "foreign.onnx"  # a valid ONNX graph, not written by pixelsmith
    torch.onnx.export(torch.nn.Conv2d(1, 1, 3), (torch.rand(1, 1, 8, 8),), foreign, dynamo=False)
    with pytest.raises(PixelsmithError, match="not a model exported by pixelsmith"):
        load_exported(foreign)
    with pytest.raises(PixelsmithError, match="not found"):
        load_exported(tmp_path / "missing.onnx")


def test_export_command(tmp_path, onnx_file):
    """``pixelsmith export``: writes the file, names what it wrote, refuses to overwrite
    without --overwrite and a suffix that is not the format's; the file runs as --model."""
    out = tmp_path / "sr.onnx"
    runner = CliRunner()
    result = runner.invoke(export_command, ["lrnet_s.x2", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert str(out) in result.output and "superres" in result.output
    again = runner.invoke(export_command, ["lrnet_s.x2", "--out", str(out)])
    assert isinstance(again.exception, PixelsmithError) and "overwrite" in str(again.exception)
    forced = runner.invoke(export_command, ["lrnet_s.x2", "--out", str(out), "--overwrite"])
    assert forced.exit_code == 0, forced.output
    wrong = runner.invoke(
        export_command, ["lrnet_s.x2", "--format", "torchscript", "--out", str(out)]
    )
    assert isinstance(wrong.exception, PixelsmithError) and ".torchscript" in str(wrong.exception)
    photo = _photo()
    torch.testing.assert_close(
        pixelsmith.upscale(photo, scale=2, model=str(out)),
        pixelsmith.upscale(photo, scale=2, model="lrnet_s.x2"),
        rtol=0,
        atol=1e-4,
    )
    with pytest.raises(PixelsmithError, match="x3"):  # the task still checks the model
        pixelsmith.upscale(photo, scale=3, model=str(out))
