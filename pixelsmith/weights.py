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
from pixelsmith.models import create_model
from pixelsmith.models.srcnn_official import load_srcnn_official  # noqa: F401  (re-exported)
from pixelsmith.paths import PRETRAINED_DIR

if TYPE_CHECKING:
    pass

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


def load_weight_file(path: Path, device) -> tuple[nn.Module, WeightInfo]:
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


def weights_digest(path: str | Path) -> str:
    """The first 16 hex digits of the SHA-256 of a weight file's bytes: what a result's mark
    records of the weights (read once per file and modification time)."""
    p = Path(path)
    st = p.stat()
    return _digest(str(p.resolve()), st.st_size, st.st_mtime_ns)


@lru_cache(maxsize=64)
def _digest(path: str, size: int, mtime_ns: int) -> str:
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:16]
