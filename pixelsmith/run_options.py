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
    default=None,
    help="Run the network in PyTorch, or exported (checked against PyTorch, kept in the cache "
    "folder) to ONNX Runtime or TorchScript. Default: $PIXELSMITH_BACKEND, else auto: ONNX "
    "Runtime on the CPU in float32 (the fastest path, BENCHMARKS.md), PyTorch elsewhere.",
)


def network_options(fn):
    """``--device``, ``--bf16`` and ``--backend``, in that order in ``--help``."""
    for option in (backend_option, bf16_option, device_option):
        fn = option(fn)
    return fn
