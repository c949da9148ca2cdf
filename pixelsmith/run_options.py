"""The command-line options of how a network runs, shared by every verb that runs one (the
restore verbs in :mod:`pixelsmith.cli`, ``pixelsmith run``, ``video`` and ``serve``). Click only:
importing this loads no torch."""

from __future__ import annotations

import click

device_option = click.option(
    "--device", default="cpu", show_default=True, help="cpu, cuda, mps or auto."
)
bf16_option = click.option("--bf16", is_flag=True, help="Run the network in bfloat16.")
backend_option = click.option(
    "--backend",
    type=click.Choice(["torch", "onnxruntime", "torchscript", "auto"]),
    default="torch",
    show_default=True,
    help="Run the network in PyTorch, or exported (in memory, checked against PyTorch) to ONNX "
    "Runtime or TorchScript; auto: ONNX Runtime on the CPU.",
)


def network_options(fn):
    """``--device``, ``--bf16`` and ``--backend``, in that order in ``--help``."""
    for option in (backend_option, bf16_option, device_option):
        fn = option(fn)
    return fn
