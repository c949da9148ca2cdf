"""Export models to ONNX or TorchScript, and run the files like any pixelsmith model.

>>> from pixelsmith.export import export_model
>>> export_model("lrnet_s.x3", "lrnet_s_x3.onnx")          # checked against PyTorch
>>> pixelsmith.upscale("photo.png", scale=3, model="lrnet_s_x3.onnx")   # run by ONNX Runtime
>>> pixelsmith.restore("photo.png", "superres", backend="onnxruntime")  # exported in memory

``pixelsmith export MODEL --format onnx|torchscript [--out FILE] [--task T]`` is
:data:`export_command`. How the export works and what the file holds: :mod:`.convert`; how a
file runs through ``task.prepare``, the tiler and ``task.decode`` unchanged: :mod:`.runtime`;
the export-friendly forms of shape-dependent steps: :mod:`.rewrites`. See docs/export.md.

Importing this package is light (no torch) so that the CLI starts fast; the functions load
their modules on first use.
"""

from __future__ import annotations

import os

import click

from pixelsmith.lazy import lazy_getattr

#: File suffixes of exported models, as :func:`pixelsmith.api.resolve` recognises them.
EXPORTED_SUFFIXES = (".onnx", ".torchscript")

#: The environment variable that sets the backend a run takes when none is given.
BACKEND_ENV = "PIXELSMITH_BACKEND"


def default_backend() -> str:
    """The backend a run takes when none is given: ``$PIXELSMITH_BACKEND``, else ``"auto"``
    (ONNX Runtime for a network on the CPU, PyTorch elsewhere; why: docs/export.md)."""
    return os.environ.get(BACKEND_ENV, "").strip() or "auto"


_LAZY = {
    "export_model": "pixelsmith.export.convert",
    "export_bytes": "pixelsmith.export.convert",
    "check_exportable": "pixelsmith.export.convert",
    "FORMATS": "pixelsmith.export.convert",
    "ExportedModel": "pixelsmith.export.runtime",
    "load_exported": "pixelsmith.export.runtime",
    "with_backend": "pixelsmith.export.runtime",
    "BACKENDS": "pixelsmith.export.runtime",
}

__getattr__ = lazy_getattr(__name__, _LAZY)


@click.command("export")
@click.argument("model")
@click.option(
    "--format",
    "format_",
    type=click.Choice(["onnx", "torchscript"]),
    default="onnx",
    show_default=True,
    help="ONNX (run by ONNX Runtime and others) or TorchScript.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    default=None,
    help="The file to write (.onnx or .torchscript). Default: the model's name, here "
    "(lrnet_s.x3 -> lrnet_s_x3.onnx).",
)
@click.option(
    "--task",
    default=None,
    help="The task the model serves (default: the one its weight file names).",
)
@click.option(
    "--exporter",
    type=click.Choice(["auto", "legacy", "dynamo"]),
    default="auto",
    show_default=True,
    help="ONNX: the TorchScript-based exporter, the torch.export one, or the first that works.",
)
@click.option("--overwrite", is_flag=True, help="Replace an existing file.")
def export_command(model, format_, out, task, exporter, overwrite) -> None:
    """Export MODEL (a shipped name such as lrnet_s.x3, or a .safetensors file) with dynamic
    batch, height and width, checked against PyTorch at two other sizes. Run the file with
    --model FILE on any verb."""
    import json

    from pixelsmith.export.convert import export_model
    from pixelsmith.export.runtime import load_exported

    path = export_model(model, out, format_, task=task, exporter=exporter, overwrite=overwrite)
    net, info = load_exported(path)
    check = json.loads(net.metadata.get("check", "{}"))
    click.echo(
        f"{path}: {info.task} model {net.metadata.get('name') or info.arch}, "
        f"{net.metadata.get('exporter')}, max difference from PyTorch "
        f"{check.get('max_abs_diff', float('nan')):.2g}"
    )


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
