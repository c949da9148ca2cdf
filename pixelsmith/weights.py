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
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file
from safetensors.torch import save as safetensors_bytes
from torch import nn

from pixelsmith.errors import PixelsmithError
from pixelsmith.io import atomic_write
from pixelsmith.models import create_model
from pixelsmith.paths import WEIGHTS_DIR

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

    def to_metadata(self) -> dict[str, str]:
        from pixelsmith import __version__

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


def shipped_weights(task: str | None = None) -> dict[str, Path]:
    """Weight files that ship with the package, by name (file stem), optionally for one task."""
    return {
        p.stem: p
        for p in sorted(WEIGHTS_DIR.glob("*.safetensors"))
        if task is None or read_metadata(p).get("task") == task
    }


def load_model(
    name_or_path: str | Path, device: str | torch.device = "cpu"
) -> tuple[nn.Module, WeightInfo]:
    """Load a trained model: a shipped weight name (e.g. ``"superres_lrnet_s_x3"``) or a file path.

    Returns the model in eval mode and the file's metadata.
    """
    p = Path(name_or_path)
    if p.is_dir():
        raise PixelsmithError("is a folder, not a weight file", p)
    if not p.suffix:
        shipped = shipped_weights()
        if str(name_or_path) not in shipped:
            raise PixelsmithError(
                f"no shipped weights named {name_or_path!r}; available: {', '.join(shipped) or 'none'}"
            )
        p = shipped[str(name_or_path)]
    state, info = read_weights(p)
    model = create_model(info.arch, **info.arch_kwargs)
    try:
        model.load_state_dict(state)
    except RuntimeError as e:
        raise PixelsmithError(f"weights do not fit architecture {info.arch}: {e}", p) from None
    model.pixelsmith_info = info
    return model.to(device).eval(), info


def load_srcnn_official(path: str | Path, scale: int) -> nn.Module:
    """Load the authors' SRCNN MATLAB model (``.mat`` from the SRCNN package) into :class:`SRCNN`.

    The MATLAB file stores each filter as a column-major vector, applied by correlation
    (``imfilter``) with replicate padding on the bicubic-upscaled Y channel in [0, 1].
    """
    from scipy.io import loadmat

    path = Path(path)
    if not path.is_file():
        raise PixelsmithError("SRCNN .mat file not found", path)
    try:
        m = loadmat(str(path))
    except Exception as e:  # scipy raises several types for a bad file
        raise PixelsmithError(f"cannot read MATLAB file ({e})", path) from None
    try:
        w1, b1 = m["weights_conv1"], m["biases_conv1"]
        w2, b2 = m["weights_conv2"], m["biases_conv2"]
        w3, b3 = m["weights_conv3"], m["biases_conv3"]
    except KeyError as e:
        raise PixelsmithError(f"not an SRCNN model file (missing {e})", path) from None
    f1 = int(round(w1.shape[0] ** 0.5))
    n1 = w1.shape[1]
    if w2.ndim == 2:  # 9-1-5: (n1, n2)
        f2, n2 = 1, w2.shape[1]
        w2 = w2[:, None, :]
    else:  # (n1, f2*f2, n2)
        f2, n2 = int(round(w2.shape[1] ** 0.5)), w2.shape[2]
    f3 = int(round(w3.shape[1] ** 0.5))

    from pixelsmith.models.srcnn import SRCNN

    model = SRCNN(scale=scale, f1=f1, f2=f2, f3=f3, n1=n1, n2=n2)

    def col_major(v, f):  # MATLAB reshape(v, f, f)
        return torch.from_numpy(v.reshape(f, f, order="F").astype("float32"))

    with torch.no_grad():
        for k in range(n1):
            model.conv1.weight[k, 0] = col_major(w1[:, k], f1)
        model.conv1.bias.copy_(torch.from_numpy(b1.ravel().astype("float32")))
        for i in range(n2):
            for j in range(n1):
                model.conv2.weight[i, j] = col_major(w2[j, :, i], f2)
        model.conv2.bias.copy_(torch.from_numpy(b2.ravel().astype("float32")))
        for i in range(n2):
            model.conv3.weight[0, i] = col_major(w3[i, :], f3)
        model.conv3.bias.copy_(torch.from_numpy(b3.ravel().astype("float32")))
    return model.eval()
