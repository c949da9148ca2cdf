"""The one resolver: what a user names as a model -> a network ready for a task.

Every front end (the Pipeline behind the API, the files engine, video and the web page; the CLI's
``summary`` and ``viz``; the Trainer's loss networks) resolves through this module:

    "lrnet_s.x3"            a shipped tag name (``arch.tag``, :func:`~pixelsmith.weights.list_pretrained`)
    "lrnet", "lrnet_s"      a task's alias or an architecture: its shipped weights for the task's
                            settings (``task.pretrained_tag()``); a weightless one (``bicubic``) built
    "run/x3.safetensors"    a weight file written by pixelsmith
    "Epoch99.pth", "x.mat"  a paper's official checkpoint, read by its task (``task.official_suffixes``)
    "lrnet_s_x3.onnx"       an export of :func:`pixelsmith.export.export_model`
    nn.Module               a module, checked against the task

:func:`load_model` does the names and files; :func:`resolve` adds modules and exports;
:func:`load_any` is the model a command names without a task (an architecture with fresh
weights, for ``pixelsmith summary``). Which engine then runs the network (PyTorch, or ONNX
Runtime by default on the CPU) is :func:`pixelsmith.export.backend.with_backend`'s to say.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import nn

from pixelsmith.errors import PixelsmithError
from pixelsmith.io.reasons import first_line
from pixelsmith.models import create_model, list_models, model_spec, model_tasks
from pixelsmith.weights import WeightInfo, list_pretrained, load_weight_file

if TYPE_CHECKING:
    from pixelsmith.tasks.base import Task

Model = str | Path | nn.Module | None
"""What a user names as a model: a name, a file, a module, or ``None`` (the task's default)."""


def resolve(
    model: Model, task: Task, device: str | torch.device = "cpu"
) -> tuple[nn.Module, WeightInfo | None]:
    """``model`` for ``task``: a module (checked against the task, then moved to ``device`` and
    put in eval mode, in place, as ``nn.Module.to`` does), or a name or file through
    :func:`load_model`, or a ``.onnx`` / ``.torchscript`` file that
    :func:`pixelsmith.export.export_model` wrote; ``None`` is the task's default model."""
    if isinstance(model, nn.Module):
        task.check_model(model_spec(model))
        net, info = model.to(device).eval(), None
    elif is_exported(model):
        from pixelsmith.export.runtime import load_exported

        net, info = load_exported(Path(model), device)
        check_for_task(net, info, task)
    else:
        net, info = load_model(task.default_model if model is None else model, device, task=task)
    return net, info


def is_exported(model: Model) -> bool:
    """Whether ``model`` names an export (``.onnx``, ``.torchscript``)."""
    from pixelsmith.export.runtime import EXPORTED_SUFFIXES

    return isinstance(model, (str, Path)) and Path(model).suffix.lower() in EXPORTED_SUFFIXES


def with_weights(model: Model, weights: str | Path | None) -> Model:
    """What to load for ``model`` given a separate weight file ``weights`` (the CLI's
    ``--weights``): the file. A paper's checkpoint must be named beside that paper's
    architecture: only Zero-DCE's ``.pth`` is read this way."""
    if weights is None:
        return model
    if Path(weights).suffix.lower() == ".pth" and model not in (None, "zero-dce", "zero_dce"):
        raise PixelsmithError(
            f"a .pth file is the Zero-DCE authors' checkpoint, not weights for {model!r}", weights
        )
    return Path(weights)


def load_any(name: str, **task_options) -> nn.Module:
    """The model a command names without a task (``pixelsmith summary``, ``viz``): an
    architecture with fresh weights, a shipped weight name, a weight file, or a paper's
    checkpoint, read by the task that owns its suffix (with ``task_options`` it takes, such as
    the SRCNN authors' ``.mat`` file's ``scale``, which the file does not record)."""
    import dataclasses

    from pixelsmith.tasks import TASKS, get_task, task_class

    if name in list_models():
        return create_model(name)
    suffix = Path(name).suffix.lower()
    owner = next((t for t in TASKS if suffix and suffix in task_class(t).official_suffixes), None)
    task = None
    if owner is not None:
        taken = {f.name for f in dataclasses.fields(task_class(owner))}
        task = get_task(owner, **{k: v for k, v in task_options.items() if k in taken})
    return load_model(name, task=task)[0]


def weights_mark(model: Model, info: WeightInfo | None, net: nn.Module) -> tuple[str, str]:
    """``(model name, weights digest)`` that a result's mark records: the tag or file name, and
    the SHA-256 prefix of the weight file (of the tensors, for a module given in memory; empty
    for a network without weights)."""
    import hashlib

    from pixelsmith.weights import weights_digest

    name = (info.name or info.arch) if info is not None else type(net).__name__
    path = None
    if isinstance(model, (str, Path)) and Path(model).is_file():  # a file first, whatever its name
        path = Path(model)
    elif info is not None and info.name in list_pretrained():
        path = list_pretrained()[info.name]
    if path is not None:
        return name, weights_digest(path)
    module = net if isinstance(net, nn.Module) else None
    tensors = [] if module is None else list(module.state_dict().items())
    if not tensors:
        return name, ""
    h = hashlib.sha256()
    for key, t in tensors:
        h.update(key.encode())
        h.update(t.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes())
    return name, h.hexdigest()[:16]


def _task_of(task: Task | str | None) -> Task | None:
    if task is None or not isinstance(task, str):
        return task
    from pixelsmith.tasks import get_task

    return get_task(task)


def load_model(
    name_or_path: str | Path,
    device: str | torch.device = "cpu",
    *,
    task: Task | str | None = None,
) -> tuple[nn.Module, WeightInfo]:
    """Load a trained model: the one resolver behind the API, the CLI and the benchmarks.

    ``name_or_path`` is one of:

    - a tag name, ``arch.tag``: ``"lrnet_s.x3"``, ``"lrnet_s.x3_blind"``, ``"srcnn_955.x2"``,
      ``"smallconvnet.faces"`` (see :func:`list_pretrained`); a shipped file's stem
      (``"superres_lrnet_s_x3"``) works too;
    - an architecture name or a task's short alias (``"lrnet_s"``, ``"lrnet"``, ``"srcnn"``): with a
      ``task``, the shipped weights for its settings (``task.pretrained_tag()``, e.g. ``x3``); a
      model without weights (``"bicubic"``) is built for the task;
    - a ``.safetensors`` file written by pixelsmith, or an SRCNN authors' ``.mat`` file (the task
      gives its scale).

    With a ``task`` (an instance or a name), the model is checked against it (its task, its
    scale). Returns the model in eval mode on ``device`` and its metadata (``info.name`` says
    what was loaded). Weights with NaN or inf values are refused.
    """
    task = _task_of(task)
    name = str(name_or_path)
    p = Path(name)
    pretrained = list_pretrained()
    stems = {path.stem: path for path in pretrained.values()}
    if name in pretrained or name in stems:
        path = pretrained.get(name) or stems[name]
        model, info = load_weight_file(path, device)
        info.name = next(n for n, q in pretrained.items() if q == path)
    elif task is not None and p.suffix.lower() in task.official_suffixes:
        model = _load_official(task, p).to(device)
        info = WeightInfo(task=task.name, arch=f"{task.name}_official", name=p.name)
    elif p.suffix.lower() == ".mat":
        raise PixelsmithError(
            "an official checkpoint loads for a task (superres: with its scale)", p
        )
    elif "." in name and name.split(".")[0] in list_models() and not p.exists():
        arch = name.split(".")[0]
        tags = [n for n in pretrained if n.startswith(arch + ".")]
        raise PixelsmithError(
            f"no shipped weights {name!r}; shipped for {arch}: {', '.join(tags) or 'none'}"
        )
    elif p.suffix or p.is_file() or p.is_dir() or "/" in name:
        if p.is_dir():
            raise PixelsmithError("is a folder, not a weight file", p)
        model, info = load_weight_file(p, device)
        info.name = p.name
    else:
        model, info = _load_by_arch(name, task, device)
    if task is not None:
        check_for_task(model, info, task)
    return model.eval(), info


def check_for_task(model: nn.Module, info: WeightInfo, task: Task) -> None:
    """Refuse a model whose metadata names another task, or whose spec ``task`` cannot run
    (an x2 network for ``--scale 3``)."""
    if info.task != task.name:
        raise PixelsmithError(
            f"{info.name or info.arch} is not a {task.title or task.name} model (its task is "
            f"{info.task}); shipped {task.name} models: "
            f"{', '.join(list_pretrained(task.name)) or 'none'}"
        )
    task.check_model(model_spec(model))


def check_arch_for_task(arch: str, task: Task) -> None:
    """Refuse an architecture registered for other tasks only (``bicubic`` for colorize), unless
    ``task`` names it itself (its default model or an alias: a task registered later may run an
    architecture of another)."""
    own = {task.default_model, *task.aliases.values()}
    if task.name not in model_tasks(arch) and arch not in own:
        raise PixelsmithError(
            f"{arch} is a {' and '.join(model_tasks(arch))} model; {task.name} models: "
            f"{', '.join(list_models(task.name))}"
        )


def _load_by_arch(name: str, task: Task | None, device) -> tuple[nn.Module, WeightInfo]:
    """An architecture (or a task's alias of one) with the shipped weights for ``task``."""
    arch = task.aliases.get(name, name) if task else name
    if arch not in list_models():
        known = sorted({*list_models(), *(task.aliases if task else ())})
        raise PixelsmithError(
            f"unknown model {name!r}: not a file, a shipped weight name or an architecture "
            f"({', '.join(known)}); shipped: {', '.join(list_pretrained()) or 'none'}"
        )
    if task is None:
        tags = [n for n in list_pretrained() if n.startswith(arch + ".")]
        if not tags:
            raise PixelsmithError(f"{arch} has no shipped weights; load it for a task")
        raise PixelsmithError(f"{arch} is an architecture; name its weights: {', '.join(tags)}")
    check_arch_for_task(arch, task)
    tag = f"{arch}.{task.pretrained_tag()}"
    if tag in list_pretrained():
        model, info = load_weight_file(list_pretrained()[tag], device)
        info.name = tag
        return model, info
    model = create_model(arch, **task.model_kwargs())
    if any(True for _ in model.parameters()):
        tags = [n for n in list_pretrained(task.name) if n.startswith(arch + ".")]
        raise PixelsmithError(
            f"no shipped weights {tag!r}; shipped for {arch}: {', '.join(tags) or 'none'}"
        )
    name_, kwargs = model.pixelsmith_arch
    return model.to(device), WeightInfo(task=task.name, arch=name_, arch_kwargs=kwargs, name=arch)


def _load_official(task: Task, path: Path) -> nn.Module:
    """``task.load_official(path)``, with one-line errors and the finite-weights check."""
    if not path.is_file():
        raise PixelsmithError("checkpoint file not found", path)
    try:
        model = task.load_official(path)
    except PixelsmithError:
        raise
    except (ValueError, RuntimeError, KeyError, IndexError, TypeError, AttributeError) as e:
        raise PixelsmithError(f"cannot read this checkpoint ({first_line(e)})", path) from None
    if not all(
        torch.isfinite(t).all() for t in model.state_dict().values() if t.is_floating_point()
    ):
        raise PixelsmithError("weights hold NaN or inf values", path)
    return model
