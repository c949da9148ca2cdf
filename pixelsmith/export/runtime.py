"""Run an exported model (ONNX Runtime or TorchScript) wherever a PyTorch model runs.

:class:`ExportedModel` is an ``nn.Module`` whose ``forward`` calls the exported graph and which
shows the rest of the pipeline the same face as the model it was exported from: the same
:class:`~pixelsmith.models.ModelSpec` (``spec``) and ``pixelsmith_arch``, and every other
attribute (a colorizer's ``bins`` and ``prior``, the VAE's ``attribute_names`` and
``attribute_mean``, a low-light net's ``objective``) from a *skeleton*: the architecture rebuilt
without weights (on PyTorch's ``meta`` device) holding the exported model's buffers, read from
the file. So ``task.bind``, ``task.prepare``, the tiler and ``task.decode`` run unchanged, and
no task is named here.

``pixelsmith.resolver.resolve("lrnet_s_x3.onnx", task)`` (and so ``pixelsmith upscale img.png --model
lrnet_s_x3.onnx``) comes here by the file's suffix; :func:`with_backend` turns a loaded PyTorch
model into its exported twin in memory (``restore(..., backend="onnxruntime")``).
"""

from __future__ import annotations

import base64
import io
import json
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn

from pixelsmith.errors import PixelsmithError
from pixelsmith.export.session import OrtRunner, onnxruntime_module
from pixelsmith.models import ModelSpec, create_model, list_models
from pixelsmith.weights import WeightInfo

#: ``backend`` values: PyTorch eager (the model as it is), ONNX Runtime, TorchScript, and
#: ``auto``: ONNX Runtime on the CPU where it is installed and the model exports, else PyTorch.
_SUFFIX_FORMAT = {".onnx": "onnx", ".torchscript": "torchscript"}
#: Where the metadata lives in a TorchScript archive.
TORCHSCRIPT_META = "pixelsmith.json"
#: File suffixes of exported models, as :func:`pixelsmith.resolver.resolve` recognises them.
EXPORTED_SUFFIXES = tuple(_SUFFIX_FORMAT)


class ExportedModel(nn.Module):
    """An exported model as a module (see the module doc).

    ``forward(*inputs)`` takes what the original model took, ``(N, C, H, W)`` tensors on one
    grid, and returns its output. ``backend`` is ``"onnxruntime"`` or ``"torchscript"``;
    ``metadata`` the file's metadata (strings); ``skeleton`` the weightless architecture
    (``None`` where this pixelsmith does not know the architecture).
    """

    def __init__(
        self,
        run: Any,
        metadata: dict[str, str],
        backend: str,
        skeleton: nn.Module | None = None,
    ) -> None:
        super().__init__()
        if isinstance(run, nn.Module):
            self.graph = run  # a TorchScript module: registered, so .to() moves it
        else:
            self._run = run
        self.backend = backend
        self.metadata = metadata
        self._spec = ModelSpec(**json.loads(metadata["spec"]))
        self.pixelsmith_arch = (metadata["arch"], json.loads(metadata.get("arch_kwargs", "{}")))
        object.__setattr__(self, "skeleton", skeleton)  # not a submodule: its weights are meta

    @property
    def spec(self) -> ModelSpec:
        return self._spec

    def forward(self, *inputs: torch.Tensor):
        run = self.graph if "graph" in self._modules else self._run
        if self.backend == "torchscript":
            dtype = inputs[0].dtype
            return run(*(t.float() for t in inputs)).to(dtype)
        return run(*inputs)

    def __getattr__(self, name: str):
        try:
            return super().__getattr__(name)
        except AttributeError:
            skeleton = self.__dict__.get("skeleton")
            if skeleton is None or name.startswith("__"):
                raise
            return getattr(skeleton, name)

    def extra_repr(self) -> str:
        return f"{self.metadata.get('name') or self.pixelsmith_arch[0]}, backend={self.backend}"


def _skeleton(metadata: dict[str, str]) -> nn.Module | None:
    """The architecture without weights (meta tensors), holding the file's buffers."""
    from safetensors.torch import load as safetensors_load

    arch, kwargs = metadata["arch"], json.loads(metadata.get("arch_kwargs", "{}"))
    if arch not in list_models():
        return None
    try:
        with torch.device("meta"):
            net = create_model(arch, **kwargs)
    except (RuntimeError, NotImplementedError, TypeError, ValueError):  # computes at build
        net = create_model(arch, **kwargs)
    buffers = safetensors_load(base64.b64decode(metadata.get("buffers", "")))
    for name, tensor in buffers.items():
        owner_name, _, leaf = name.rpartition(".")
        owner = net.get_submodule(owner_name) if owner_name else net
        owner._buffers[leaf] = tensor
    return net.eval()


def from_bytes(data: bytes, format: str, device: str | torch.device = "cpu") -> ExportedModel:
    """An exported file's bytes (``format`` ``"onnx"`` or ``"torchscript"``) as a module."""
    device = torch.device(device)
    if format == "onnx":
        providers = ["CPUExecutionProvider"]
        if device.type == "cuda" and "CUDAExecutionProvider" in (
            onnxruntime_module().get_available_providers()
        ):  # else the CPU runs it, and the tensors move to and from the GPU
            providers.insert(0, "CUDAExecutionProvider")
        run = OrtRunner(data, providers)
        metadata, backend = run.metadata(), "onnxruntime"
    elif format == "torchscript":
        extra = {TORCHSCRIPT_META: ""}
        with warnings.catch_warnings():  # TorchScript is deprecated, not gone: it still runs
            warnings.simplefilter("ignore", DeprecationWarning)
            run = torch.jit.load(io.BytesIO(data), map_location=device, _extra_files=extra)
        metadata = json.loads(extra[TORCHSCRIPT_META] or "{}")
        backend = "torchscript"
    else:
        raise PixelsmithError(f"unknown export format {format!r}")
    if metadata.get("format") != "pixelsmith" or "spec" not in metadata:
        raise PixelsmithError("not a model exported by pixelsmith (no pixelsmith metadata)")
    return ExportedModel(run, metadata, backend, _skeleton(metadata)).eval()


def load_exported(
    path: str | Path, device: str | torch.device = "cpu"
) -> tuple[ExportedModel, WeightInfo]:
    """A ``.onnx`` or ``.torchscript`` file written by :func:`pixelsmith.export.export_model`:
    ``(model, its metadata)``, as :func:`~pixelsmith.resolver.load_model` returns them."""
    path = Path(path)
    format = _SUFFIX_FORMAT.get(path.suffix.lower())
    if format is None:
        raise PixelsmithError("not an exported model (.onnx or .torchscript)", path)
    if not path.is_file():
        raise PixelsmithError("model file not found", path)
    try:
        model = from_bytes(path.read_bytes(), format, device)
    except PixelsmithError as e:
        raise PixelsmithError(e.reason, path) from None
    except Exception as e:  # a damaged or foreign file: onnxruntime/torch say why
        first = (str(e).strip().splitlines() or [""])[0]
        raise PixelsmithError(f"cannot load this {format} file ({first[:200]})", path) from None
    info = WeightInfo.from_metadata(model.metadata, path)
    info.name = path.name
    return model, info
