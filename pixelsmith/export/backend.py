"""Which engine runs a network: PyTorch, or its export run by ONNX Runtime or TorchScript.

:func:`with_backend` is what :meth:`pixelsmith.pipeline.Pipeline.load` calls once the resolver
has the network: ``"auto"`` (the default, ``$PIXELSMITH_BACKEND`` overrides it) exports a
network on the CPU to ONNX Runtime, checked against PyTorch and kept in memory and on disk
(:mod:`pixelsmith.export.cache`) for the next run; why: docs/export.md.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from collections import OrderedDict
from typing import Any

import torch
from torch import nn

from pixelsmith.errors import PixelsmithError
from pixelsmith.export.cache import cache_key, cached_bytes
from pixelsmith.export.runtime import _SUFFIX_FORMAT, ExportedModel, from_bytes

BACKENDS = ("torch", "onnxruntime", "torchscript", "auto")
_FORMAT_OF_BACKEND = {"onnxruntime": "onnx", "torchscript": "torchscript"}
_SUFFIX_OF_FORMAT = {f: s for s, f in _SUFFIX_FORMAT.items()}

#: The environment variable that sets the backend a run takes when none is given.
BACKEND_ENV = "PIXELSMITH_BACKEND"


def default_backend() -> str:
    """The backend a run takes when none is given: ``$PIXELSMITH_BACKEND``, else ``"auto"``
    (ONNX Runtime for a network on the CPU, PyTorch elsewhere; why: docs/export.md)."""
    return os.environ.get(BACKEND_ENV, "").strip() or "auto"


def backend_for(backend: str | None, bf16: bool = False) -> str:
    """The backend a run takes: ``backend``, else :func:`default_backend`; ``"auto"`` with
    ``bf16`` is PyTorch, which runs bfloat16 (ONNX Runtime runs float32)."""
    backend = default_backend() if backend is None else backend
    return "torch" if backend == "auto" and bf16 else backend


_CACHE: OrderedDict[tuple, ExportedModel] = OrderedDict()
_CACHE_SIZE = 8


def _weights_digest(net: nn.Module) -> str:
    h = hashlib.blake2b(digest_size=16)
    for name, t in net.state_dict().items():
        h.update(name.encode())
        h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def with_backend(
    net: nn.Module, task: Any, backend: str = "torch", device: str | torch.device = "cpu"
) -> nn.Module:
    """``net`` to run on ``backend``: itself for ``"torch"`` (or a model already exported), else
    its export (checked, as :func:`~pixelsmith.export.export_model` checks) as an
    :class:`ExportedModel` for ``device``. ``"auto"`` is ``"onnxruntime"`` for a network on the
    CPU where onnxruntime is installed, and ``net`` itself otherwise (a classical method, a GPU,
    an export that fails: with a warning). Exports are kept in memory, by weights, for the next
    call, and on disk for the next process (:mod:`pixelsmith.export.cache`)."""
    if backend not in BACKENDS:
        raise PixelsmithError(f"unknown backend {backend!r}; backends: {', '.join(BACKENDS)}")
    if backend == "torch" or isinstance(net, ExportedModel):
        return net
    device = torch.device(device)
    if backend == "auto":
        return _auto(net, task, device)
    from pixelsmith.export.convert import export_bytes

    format = _FORMAT_OF_BACKEND[backend]
    arch = repr(getattr(net, "pixelsmith_arch", None))
    digest = _weights_digest(net)
    key = (backend, device.type, task.name, arch, digest)
    if key not in _CACHE:
        _CACHE[key] = cached_bytes(
            cache_key(digest, arch, task.name, format),
            _SUFFIX_OF_FORMAT[format],
            lambda: export_bytes(net, format, task=task).data,
            lambda data: from_bytes(data, format, device),
        )
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    _CACHE.move_to_end(key)
    return _CACHE[key]


def _auto(net: nn.Module, task: Any, device: torch.device) -> nn.Module:
    from importlib.util import find_spec

    from pixelsmith.export.convert import check_exportable

    if device.type != "cpu" or find_spec("onnxruntime") is None:
        return net
    if getattr(net, "pixelsmith_arch", None) is None:  # an official checkpoint's own class
        return net
    try:
        check_exportable(net, "")
    except PixelsmithError:  # a classical method: PyTorch it is
        return net
    try:
        return with_backend(net, task, "onnxruntime", device)
    except PixelsmithError as e:
        warnings.warn(f"running in PyTorch: {e}", stacklevel=3)
        return net
