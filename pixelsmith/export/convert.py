"""Export a model to ONNX or TorchScript with dynamic batch, height and width, checked.

:func:`export_model` writes one self-contained file: the graph, and in its metadata (ONNX
``metadata_props``; a ``pixelsmith.json`` entry of a TorchScript archive) what the runtime needs
to serve the model's task exactly as the PyTorch model does (see :mod:`pixelsmith.export.runtime`):
the weight file's own metadata (task, architecture and its arguments, data, metrics), the
:class:`~pixelsmith.models.ModelSpec`, the inputs' names and channels, and every buffer of the
model (a colorizer's ab bins and prior, the VAE's attribute statistics, batch-norm statistics).

How it exports:

1. The inputs are those the model's task prepares (:func:`input_layout`): the task is bound to
   the model and prepares a small random photo, so a two-input inpainting net gets its image and
   mask, the attribute VAE its attribute planes, with no task named here.
2. The model is copied in its export-friendly form (:func:`pixelsmith.export.rewrites.traceable`)
   and traced at one size that is a multiple of its ``size_multiple`` (and the task's ``align``).
3. ONNX: the TorchScript-based exporter first (a fraction of a second for these nets), then the
   ``torch.export`` one (``dynamo=True``; several seconds each) if the first fails or its graph
   does not pass the check. TorchScript: ``torch.jit.trace``.
4. The check: the graph, run as the runtime runs it (an ONNX Runtime session; the TorchScript
   module), against the PyTorch model at two other sizes and batch sizes; the largest difference
   must be within ``1e-4`` of the output's scale (``max(1, max |output|)``), or the export no
   farther from the float64 result than PyTorch's float32 is (plus that tolerance). The inputs
   are photo-like random fields (:func:`example_inputs`). A model that only takes one input
   size (a classifier with a fully connected head) is exported for that size, with a dynamic
   batch.

The opset is 18: these graphs need nothing newer, and 18 runs on ONNX Runtime 1.14 and later and
on the other common runtimes; both exporters also pass the check at opset 20.
"""

from __future__ import annotations

import base64
import copy
import dataclasses
import inspect
import io
import json
import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from pixelsmith.errors import PixelsmithError
from pixelsmith.export.runtime import TORCHSCRIPT_META
from pixelsmith.models import model_spec, model_tasks
from pixelsmith.resolver import load_model
from pixelsmith.tasks import Task, get_task
from pixelsmith.weights import WeightInfo

#: ONNX opset of the exported graphs (see the module doc).
OPSET = 18
#: File suffix of each export format (``pixelsmith.resolver.resolve`` recognises them).
FORMATS = {"onnx": ".onnx", "torchscript": ".torchscript"}
#: Largest difference the check allows, relative to ``max(1, max |output|)``.
TOLERANCE = 1e-4
#: The traced size and the check sizes, as ``(batch, height units, width units)``: a unit is the
#: model's size multiple (and the task's alignment) times what brings it to about 24 pixels. The
#: check sizes differ from the traced one and from each other (one is the traced size transposed,
#: with a batch of 1); the traced batch is 2, since ``torch.export`` takes a dimension
#: of size 1 for a constant.
TRACE_UNITS = (2, 1, 2)
CHECK_UNITS = ((1, 2, 1), (3, 1, 1))
MIN_UNIT = 24


@dataclass
class InputSpec:
    """One input of an exported graph: its name, channels, and whether it is a 0/1 mask."""

    name: str
    channels: int
    binary: bool = False


@dataclass
class Exported:
    """An exported model in memory: the file's bytes and the metadata written into it."""

    data: bytes
    format: str
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def exporter(self) -> str:
        return self.metadata.get("exporter", "")


def default_path(name: str, format: str) -> Path:
    """``lrnet_s.x3`` -> ``lrnet_s_x3.onnx`` in the current folder."""
    stem = Path(name).stem if Path(name).suffix in (".safetensors", ".mat") else name
    return Path(stem.replace(".", "_") + FORMATS[format])


def export_model(
    model: str | Path | nn.Module,
    path: str | Path | None = None,
    format: str = "onnx",
    *,
    task: str | Task | None = None,
    exporter: str = "auto",
    overwrite: bool = False,
) -> Path:
    """Export ``model`` (a shipped name such as ``"lrnet_s.x3"``, a weight file or a module built
    by :func:`~pixelsmith.models.create_model`) to ``path`` (default: the model's name with the
    format's suffix, in the current folder), checked against PyTorch as the module doc says.

    Args:
        format: ``"onnx"`` (a ``.onnx`` file) or ``"torchscript"`` (a ``.torchscript`` file).
        task: the task the model serves (default: its weight file's, else its architecture's
            first); a name or a :class:`~pixelsmith.tasks.base.Task`.
        exporter: ONNX only: ``"auto"`` (the TorchScript-based exporter, then the dynamo one),
            ``"legacy"`` or ``"dynamo"``.
        overwrite: replace an existing file.

    Returns the path written (atomically). Raises :class:`PixelsmithError` for a model that
    cannot be exported (a classical method, a model without weights) or whose export fails the
    check.
    """
    check_format(format)
    arch = getattr(model, "pixelsmith_arch", None)
    name = model if isinstance(model, (str, Path)) else arch[0] if arch else type(model).__name__
    path = Path(path) if path is not None else default_path(str(name), format)
    if path.suffix.lower() != FORMATS[format]:
        raise PixelsmithError(
            f"an {format} export is a {FORMATS[format]} file (pixelsmith loads it by its suffix)",
            path,
        )
    if path.exists() and not overwrite:
        raise PixelsmithError("exists (use --overwrite to replace it)", path)
    exported = export_bytes(model, format, task=task, exporter=exporter)
    from pixelsmith.io import atomic_write

    atomic_write(path, exported.data, overwrite=overwrite)
    return path


def check_format(format: str) -> None:
    if format not in FORMATS:
        raise PixelsmithError(f"unknown export format {format!r}; formats: {', '.join(FORMATS)}")


def export_bytes(
    model: str | Path | nn.Module,
    format: str = "onnx",
    *,
    task: str | Task | None = None,
    exporter: str = "auto",
    info: WeightInfo | None = None,
) -> Exported:
    """:func:`export_model` in memory: the checked file's bytes and its metadata."""
    check_format(format)
    if exporter not in ("auto", "legacy", "dynamo"):
        raise PixelsmithError(f"unknown exporter {exporter!r}; use auto, legacy or dynamo")
    net, info, task = resolve_for_export(model, task, info)
    check_exportable(net, info.name or info.arch)
    layout = input_layout(net, task)
    multiple = math.lcm(model_spec(net).size_multiple, task.align)
    trace, checks, fixed = plan_sizes(net, layout, task, multiple)
    meta = export_metadata(net, info, layout, fixed)
    if format == "torchscript":
        tries = [("torchscript-trace", _torchscript)]
    else:
        tries = {
            "auto": [("onnx-legacy", _onnx_legacy), ("onnx-dynamo", _onnx_dynamo)],
            "legacy": [("onnx-legacy", _onnx_legacy)],
            "dynamo": [("onnx-dynamo", _onnx_dynamo)],
        }[exporter]
    problems = []
    for how, export in tries:
        try:
            graph = export(net, example_inputs(layout, trace), layout, fixed)
            run = runner(graph, format)
        except Exception as e:  # an exporter's failure on this graph: say it, try the next
            problems.append(f"{how}: {_first_line(e)}")
            continue
        error, worst = check_export(net, run, layout, checks)
        if error is None:
            check = {"sizes": checks, "max_abs_diff": worst, "tolerance": TOLERANCE}
            meta = {**meta, "exporter": how, "check": json.dumps(check)}
            if format == "onnx":
                meta["opset"] = str(OPSET)
            return Exported(embed(graph, format, meta), format, meta)
        problems.append(f"{how}: {error}")
    raise PixelsmithError(
        f"cannot export {info.name or info.arch} to {format}: " + "; ".join(problems)
    )


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0] if text else ''}"[:300]


def resolve_for_export(
    model: str | Path | nn.Module, task: str | Task | None, info: WeightInfo | None = None
) -> tuple[nn.Module, WeightInfo, Task]:
    """The model (float32, eval, on the CPU), what its weight file says about it, and the task
    it serves, configured for it (a task option the model fixes, such as ``scale``, is taken
    from its :class:`~pixelsmith.models.ModelSpec`)."""
    task_obj = task if isinstance(task, Task) else None
    if isinstance(model, nn.Module):
        net = copy.deepcopy(model)  # made float32 and eval below: the caller's stays as it was
        if info is None:
            arch = getattr(net, "pixelsmith_arch", None)
            if arch is None:
                raise PixelsmithError(
                    f"{type(net).__name__} was not built by pixelsmith.create_model or "
                    "load_model: its architecture is unknown, so it cannot be exported"
                )
            owner = task_obj.name if task_obj else task or model_tasks(arch[0])[0]
            info = WeightInfo(task=owner, arch=arch[0], arch_kwargs=dict(arch[1]))
    else:
        net, info = load_model(model, "cpu", task=task_obj or task)
    if task_obj is None:
        task_obj = _task_for(task or info.task, model_spec(net))
    net = net.float().eval().cpu()
    return net, info, task_obj


def _task_for(name: str, spec) -> Task:
    """The task ``name`` with the options the model's spec fixes (``scale`` for SR)."""
    from pixelsmith.tasks import task_class

    cls = task_class(name)
    fixed = {}
    if dataclasses.is_dataclass(cls):
        spec_fields = {f.name for f in dataclasses.fields(spec)}
        fixed = {
            f.name: getattr(spec, f.name) for f in dataclasses.fields(cls) if f.name in spec_fields
        }
    return get_task(name, **fixed)


def check_exportable(net: nn.Module, name: str) -> None:
    """Refuse what is not a network with weights: a classical method (NumPy, OpenCV or
    scikit-image inside) or a parameter-free model (bicubic, grey); and a network that says a
    traced graph could not be it (its ``export_problem``: a step chosen in Python from the
    input's size, which a graph would record at the traced size)."""
    problem = getattr(net, "export_problem", None)
    if problem:
        raise PixelsmithError(f"{name} cannot be exported: {problem}; it runs in PyTorch only")
    if not getattr(net, "differentiable", True):
        raise PixelsmithError(
            f"{name} is a classical method (NumPy/OpenCV inside), not a network: it cannot be "
            "exported; it runs in PyTorch only"
        )
    if not any(True for _ in net.parameters()):
        raise PixelsmithError(
            f"{name} has no trained weights: there is nothing to export; it runs in PyTorch only"
        )


def input_layout(net: nn.Module, task: Task) -> list[InputSpec]:
    """The model's inputs as its task prepares them: the bound task prepares a random photo of
    ``task.example_shape``, with a hole mask where the task declares one (``task.inputs``), and
    each prepared input gives its channels and whether it is a 0/1 mask. A task whose input is
    no image (a classifier; a raw developer) gives one input of the spec's channels. Names are
    the ``forward`` arguments'."""
    spec = model_spec(net)
    c, h, w = task.example_shape
    g = torch.Generator().manual_seed(0)
    photo = torch.rand(c, h, w, generator=g)
    inputs = {}
    if "mask" in task.inputs:
        hole = torch.zeros(1, h, w)
        hole[:, h // 4 : h // 2, w // 4 : w // 2] = 1
        inputs["mask"] = hole
    channels: list[tuple[int, bool]] = [(spec.in_channels, False)]
    if task.inputs[:1] == ("image",):
        try:
            bound = task.bind(net)
            given, _, _ = bound.as_input(photo, **inputs)
            prepared = bound.prepare(given, spec)
        except (PixelsmithError, TypeError, ValueError, NotImplementedError):
            pass
        else:
            channels = [(t.shape[1], _is_binary(t)) for t in prepared.inputs]
    names = _argument_names(net, len(channels))
    return [InputSpec(n, ch, b) for n, (ch, b) in zip(names, channels, strict=True)]


def _is_binary(t: torch.Tensor) -> bool:
    return bool(((t == 0) | (t == 1)).all()) and bool((t == 0).any())


def _argument_names(net: nn.Module, n: int) -> list[str]:
    params = [
        p.name
        for p in inspect.signature(net.forward).parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    names = params[:n] if len(params) >= n else []
    return names if len(set(names)) == n else [f"input{i}" for i in range(n)]


def example_inputs(
    layout: list[InputSpec], size: tuple[int, int, int], seed: int = 0
) -> tuple[torch.Tensor, ...]:
    """Photo-like random inputs ``(batch, channels, height, width)`` in [0, 1] for ``layout``:
    a coarse random grid (one value per 8 pixels) upsampled bilinearly, with a little fine
    noise; a mask is that field thresholded (blobs of holes, 0/1). Natural images are smooth:
    on white noise a guided filter's local variances lose digits in float32, and PyTorch's
    own float32 result is then 1e-4 away from the exact one (DeepUPE)."""
    from torch.nn import functional as F

    n, h, w = size
    g = torch.Generator().manual_seed(seed)
    xs = []
    for spec in layout:
        coarse = torch.rand(n, spec.channels, h // 8 + 2, w // 8 + 2, generator=g)
        x = F.interpolate(coarse, size=(h, w), mode="bilinear", align_corners=True)
        x = (x + 0.02 * torch.rand(n, spec.channels, h, w, generator=g)).clamp(0, 1)
        xs.append((x > 0.3).float() if spec.binary else x)
    return tuple(xs)


def _sizes(units: tuple[int, int, int], multiple: int) -> tuple[int, int, int]:
    unit = multiple * -(-MIN_UNIT // multiple)
    n, a, b = units
    return (n, a * unit, b * unit)


def check_sizes(multiple: int) -> list[tuple[int, int, int]]:
    """The sizes ``(batch, height, width)`` the export is checked at, for a model whose sides
    are multiples of ``multiple``."""
    return [_sizes(u, multiple) for u in CHECK_UNITS]


def plan_sizes(
    net: nn.Module, layout: list[InputSpec], task: Task, multiple: int
) -> tuple[tuple[int, int, int], list[tuple[int, int, int]], tuple[int, int] | None]:
    """The trace size, the check sizes and, for a model that runs at one input size only (a
    fully connected head: found when it fails at the trace size but runs at the task's
    ``example_shape``), that size. Sizes are ``(batch, height, width)``."""
    trace = _sizes(TRACE_UNITS, multiple)
    checks = check_sizes(multiple)
    if _runs(net, layout, trace):
        return trace, checks, None
    _, h, w = task.example_shape
    if _runs(net, layout, (2, h, w)):
        return (2, h, w), [(1, h, w), (3, h, w)], (h, w)
    raise PixelsmithError(
        f"{type(net).__name__} does not run on a {trace[1]}x{trace[2]} input nor on its task's "
        f"example size {h}x{w}: pixelsmith cannot tell what to export"
    )


def _runs(net: nn.Module, layout: list[InputSpec], size: tuple[int, int, int]) -> bool:
    try:
        with torch.no_grad():
            net(*example_inputs(layout, size))
    except RuntimeError:
        return False
    return True


def export_metadata(
    net: nn.Module, info: WeightInfo, layout: list[InputSpec], fixed: tuple[int, int] | None
) -> dict[str, str]:
    """What the file carries besides its graph, as strings (see the module doc)."""
    from safetensors.torch import save as safetensors_bytes

    buffers = {n: b.detach().cpu().contiguous() for n, b in net.named_buffers()}
    meta = info.to_metadata()
    meta.update(
        {
            "name": info.name,
            "spec": json.dumps(dataclasses.asdict(model_spec(net))),
            "inputs": json.dumps([dataclasses.asdict(s) for s in layout]),
            "fixed_size": json.dumps(list(fixed) if fixed else None),
            "buffers": base64.b64encode(safetensors_bytes(buffers)).decode("ascii"),
            "torch_version": torch.__version__,
        }
    )
    return meta


def _dims(layout: list[InputSpec], fixed: tuple[int, int] | None) -> dict[str, dict[int, str]]:
    axes = {0: "batch"} if fixed else {0: "batch", 2: "height", 3: "width"}
    out = {0: "batch"} if fixed else {0: "batch", 2: "out_height", 3: "out_width"}
    return {**{s.name: axes for s in layout}, "output": out}


def embed(graph: bytes | torch.jit.ScriptModule, format: str, meta: dict[str, str]) -> bytes:
    """The file's bytes: the graph with ``meta`` (ONNX ``metadata_props``; a TorchScript
    archive's :data:`TORCHSCRIPT_META` entry, as JSON)."""
    if format == "torchscript":
        buf = io.BytesIO()
        with warnings.catch_warnings():  # TorchScript is deprecated, not gone: it still runs
            warnings.simplefilter("ignore", DeprecationWarning)
            torch.jit.save(graph, buf, _extra_files={TORCHSCRIPT_META: json.dumps(meta)})
        return buf.getvalue()
    import onnx

    proto = onnx.load_model_from_string(graph)
    del proto.metadata_props[:]
    for key, value in meta.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    proto.doc_string = f"pixelsmith {meta.get('task', '')} model {meta.get('name', '')}".strip()
    return proto.SerializeToString()


def runner(graph: bytes | torch.jit.ScriptModule, format: str):
    """A callable ``(*tensors) -> tensor`` running ``graph`` as the runtime runs it."""
    from pixelsmith.export.session import OrtRunner

    return graph if format == "torchscript" else OrtRunner(graph)


def _onnx_legacy(net, args, layout, fixed) -> bytes:
    """The TorchScript-based exporter (``dynamo=False``): traces once, fast."""
    from pixelsmith.export.rewrites import traceable

    buf = io.BytesIO()
    with traceable(net, freeze_sizes=True) as copy, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            copy,
            args,
            buf,
            dynamo=False,
            opset_version=OPSET,
            input_names=[s.name for s in layout],
            output_names=["output"],
            dynamic_axes=_dims(layout, fixed),
            do_constant_folding=True,
        )
    return buf.getvalue()


def _onnx_dynamo(net, args, layout, fixed) -> bytes:
    """The ``torch.export``-based exporter (``dynamo=True``), with symbolic batch and sides."""
    from torch.export import Dim

    from pixelsmith.export.rewrites import traceable

    axes = {0: Dim.AUTO} if fixed else {0: Dim.AUTO, 2: Dim.AUTO, 3: Dim.AUTO}
    with traceable(net) as copy, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program = torch.onnx.export(
            copy,
            args,
            dynamo=True,
            dynamic_shapes=tuple(axes for _ in layout),
            opset_version=OPSET,
            input_names=[s.name for s in layout],
            output_names=["output"],
            verbose=False,
        )
    return program.model_proto.SerializeToString()


def _torchscript(net, args, layout, fixed) -> torch.jit.ScriptModule:
    """``torch.jit.trace`` of the export-friendly copy."""
    from pixelsmith.export.rewrites import traceable

    with traceable(net, freeze_sizes=True) as copy, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return torch.jit.trace(copy, args, check_trace=False)


def check_export(
    net: nn.Module, run, layout: list[InputSpec], sizes: list[tuple[int, int, int]]
) -> tuple[str | None, float]:
    """``(None, largest difference)`` if ``run`` gives the PyTorch model's outputs at every size
    of ``sizes`` within :data:`TOLERANCE` of their scale; else ``(why not, ...)``. Where it does
    not, but is no farther from the float64 result than PyTorch's float32 is (plus the
    tolerance), it passes too: the model is that ill-conditioned in float32, whoever runs it."""
    worst = 0.0
    for k, size in enumerate(sizes):
        xs = example_inputs(layout, size, seed=k + 1)
        with torch.no_grad():
            want = net(*xs)
            try:
                got = run(*xs)
            except Exception as e:  # a size the graph does not take: shapes were baked in
                return f"fails at {size[1]}x{size[2]} (batch {size[0]}): {_first_line(e)}", worst
        if got.shape != want.shape:
            return f"gives {tuple(got.shape)} instead of {tuple(want.shape)} at {size}", worst
        scale = max(1.0, float(want.abs().max()))
        diff = float((got.double() - want.double()).abs().max())
        if not diff <= TOLERANCE * scale:
            with torch.no_grad():
                exact = copy.deepcopy(net).double()(*(x.double() for x in xs))
            ours = float((got.double() - exact).abs().max())
            theirs = float((want.double() - exact).abs().max())
            if not ours <= theirs + TOLERANCE * scale:
                return (
                    f"differs from PyTorch by {diff:.3g} at {size[1]}x{size[2]} (from float64 "
                    f"by {ours:.3g}; PyTorch's float32 by {theirs:.3g})"
                ), worst
        worst = max(worst, diff)
    return None, worst
