"""Weight files: ``safetensors`` with metadata, and converters for official checkpoints.

A pixelsmith weight file holds the state dict and a string->string metadata table:

    format     "pixelsmith"           version   weights-format version (int as text)
    task       "superres", ...        arch      registered model name
    arch_kwargs JSON of constructor kwargs     config JSON of the training config
    data       what it was trained on          metrics JSON of measured metrics
    command    the command that trained it     pixelsmith_version

``torch.load`` is used only for checkpoints, always with ``weights_only=True``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file
from safetensors.torch import save as safetensors_bytes
from torch import nn

from pixelsmith.errors import PixelsmithError
from pixelsmith.io import atomic_write
from pixelsmith.io.reasons import first_line
from pixelsmith.models import create_model, list_models, model_spec, model_tasks
from pixelsmith.models.srcnn_official import load_srcnn_official  # noqa: F401  (re-exported)
from pixelsmith.paths import PRETRAINED_DIR

if TYPE_CHECKING:
    from pixelsmith.tasks.base import Task

FORMAT_VERSION = 1


@dataclass
class WeightInfo:
    """Metadata of a weight file, decoded."""

    task: str
    arch: str
    arch_kwargs: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    data: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)
    command: str = ""
    name: str = field(default="", compare=False)  # what it was loaded as (not stored in the file)

    def to_metadata(self) -> dict[str, str]:
        from pixelsmith.version import __version__

        return {
            "format": "pixelsmith",
            "version": str(FORMAT_VERSION),
            "pixelsmith_version": __version__,
            "task": self.task,
            "arch": self.arch,
            "arch_kwargs": json.dumps(self.arch_kwargs, sort_keys=True),
            "config": json.dumps(self.config, sort_keys=True),
            "data": self.data,
            "metrics": json.dumps(self.metrics, sort_keys=True),
            "command": self.command,
        }

    @classmethod
    def from_metadata(cls, meta: dict[str, str], path: str | Path) -> WeightInfo:
        if meta.get("format") != "pixelsmith":
            raise PixelsmithError("not a pixelsmith weight file (no pixelsmith metadata)", path)
        return cls(
            task=meta["task"],
            arch=meta["arch"],
            arch_kwargs=json.loads(meta.get("arch_kwargs", "{}")),
            config=json.loads(meta.get("config", "{}")),
            data=meta.get("data", ""),
            metrics=json.loads(meta.get("metrics", "{}")),
            command=meta.get("command", ""),
        )


def save_weights(model: nn.Module, path: str | Path, info: WeightInfo) -> Path:
    """Write ``model``'s state dict and ``info`` to ``path`` atomically (replacing ``path``)."""
    path = Path(path)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    bad = [k for k, v in state.items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if bad:
        raise PixelsmithError(
            f"refusing to save weights with NaN or inf ({', '.join(bad[:3])})", path
        )
    atomic_write(path, safetensors_bytes(state, metadata=info.to_metadata()), overwrite=True)
    return path


def read_metadata(path: str | Path) -> dict[str, str]:
    """The string metadata of a ``.safetensors`` file, without loading its tensors."""
    path = Path(path)
    if not path.is_file():
        raise PixelsmithError("weight file not found", path)
    try:
        with safe_open(str(path), framework="pt") as f:
            return f.metadata() or {}
    except (SafetensorError, OSError, ValueError) as e:
        raise PixelsmithError(f"cannot read weight file ({e})", path) from None


def read_weights(path: str | Path) -> tuple[dict[str, torch.Tensor], WeightInfo]:
    """Read a pixelsmith ``.safetensors`` file: (state dict, metadata)."""
    info = WeightInfo.from_metadata(read_metadata(path), path)
    try:
        return load_file(str(path)), info
    except (SafetensorError, OSError, ValueError) as e:
        raise PixelsmithError(f"cannot read weight file ({e})", path) from None


def set_arch_kwargs(path: str | Path, **kwargs: Any) -> dict[str, Any]:
    """Rewrite the weight file ``path`` with its architecture's arguments updated by ``kwargs``
    (a setting chosen for the weights after training: a colorizer's decoding ``correction``);
    the tensors and the rest of the metadata stay as they are. The architecture must accept
    the arguments. Atomic. Returns the new arguments."""
    state, info = read_weights(path)
    info.arch_kwargs = {**info.arch_kwargs, **kwargs}
    _build(state, info, Path(path))  # the architecture takes them and the tensors still fit
    meta = read_metadata(path)
    meta["arch_kwargs"] = json.dumps(info.arch_kwargs, sort_keys=True)
    atomic_write(path, safetensors_bytes(state, metadata=meta), overwrite=True)
    return info.arch_kwargs


@lru_cache(maxsize=1)
def _pretrained_files() -> tuple[tuple[str, str, Path], ...]:
    """``(tag name, task, file)`` of every shipped weight file (package data: read once)."""
    rows = []
    for p in sorted(PRETRAINED_DIR.glob("*.safetensors")):
        meta = read_metadata(p)
        arch, task = meta.get("arch", ""), meta.get("task", "")
        prefix = f"{task}_{arch}_"
        tag = p.stem[len(prefix) :] if p.stem.startswith(prefix) else p.stem
        rows.append((f"{arch}.{tag}", task, p))
    return tuple(rows)


def list_pretrained(task: str | None = None) -> dict[str, Path]:
    """Shipped weights by tag name, ``arch.tag`` in the timm manner (``"lrnet_s.x3_blind"``),
    optionally for one task."""
    return {name: p for name, t, p in _pretrained_files() if task is None or t == task}


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
        model, info = _load_file(path, device)
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
        model, info = _load_file(p, device)
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
        model, info = _load_file(list_pretrained()[tag], device)
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


def _load_file(path: Path, device) -> tuple[nn.Module, WeightInfo]:
    state, info = read_weights(path)
    bad = [k for k, v in state.items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if bad:
        raise PixelsmithError(
            f"weights hold NaN or inf values ({', '.join(bad[:3])}); was the training diverging?",
            path,
        )
    return _build(state, info, path).to(device), info


def _build(state: dict[str, torch.Tensor], info: WeightInfo, path: Path) -> nn.Module:
    """The architecture ``info`` names, built with its arguments, holding ``state``."""
    try:
        model = create_model(info.arch, **info.arch_kwargs)
    except (TypeError, ValueError) as e:
        raise PixelsmithError(f"cannot build {info.arch} from this file ({e})", path) from None
    try:
        model.load_state_dict(state)
    except RuntimeError as e:
        first = str(e).strip().splitlines()
        raise PixelsmithError(
            f"weights do not fit architecture {info.arch}: {' '.join(first[:2])}", path
        ) from None
    return model
