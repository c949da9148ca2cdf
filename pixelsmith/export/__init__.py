"""Export models to ONNX or TorchScript, and run the files like any pixelsmith model.

>>> from pixelsmith.export import export_model
>>> export_model("lrnet_s.x3", "lrnet_s_x3.onnx")          # checked against PyTorch
>>> pixelsmith.upscale("photo.png", scale=3, model="lrnet_s_x3.onnx")   # run by ONNX Runtime
>>> pixelsmith.restore("photo.png", "superres", backend="onnxruntime")  # exported in memory

``pixelsmith export MODEL --format onnx|torchscript [--out FILE] [--task T]`` is
:data:`export_command` (:mod:`.command`). How the export works and what the file holds:
:mod:`.convert`; how a file runs through ``task.prepare``, the tiler and ``task.decode``
unchanged: :mod:`.runtime`; which engine runs a network (PyTorch, ONNX Runtime on the CPU by
default): :mod:`.backend`; the export-friendly forms of shape-dependent steps: :mod:`.rewrites`.
See docs/export.md.

Importing this package is light (no torch) so that the CLI starts fast; the functions load
their modules on first use.
"""

from __future__ import annotations

from pixelsmith.lazy import lazy_getattr

_LAZY = {
    "export_model": "pixelsmith.export.convert",
    "export_bytes": "pixelsmith.export.convert",
    "check_exportable": "pixelsmith.export.convert",
    "FORMATS": "pixelsmith.export.convert",
    "ExportedModel": "pixelsmith.export.runtime",
    "EXPORTED_SUFFIXES": "pixelsmith.export.runtime",
    "load_exported": "pixelsmith.export.runtime",
    "with_backend": "pixelsmith.export.backend",
    "default_backend": "pixelsmith.export.backend",
    "BACKENDS": "pixelsmith.export.backend",
    "BACKEND_ENV": "pixelsmith.export.backend",
    "export_command": "pixelsmith.export.command",
}

__getattr__ = lazy_getattr(__name__, _LAZY)


__all__ = [
    "BACKENDS",
    "BACKEND_ENV",
    "EXPORTED_SUFFIXES",
    "ExportedModel",
    "export_bytes",
    "export_command",
    "export_model",
    "load_exported",
    "default_backend",
    "with_backend",
]
