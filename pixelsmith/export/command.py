"""``pixelsmith export MODEL``: the click command (export and check a model, say how close)."""

from __future__ import annotations

import click


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
    "-o",
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
