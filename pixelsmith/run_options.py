"""The command-line options of how a network runs, shared by every verb that runs one (the
restore verbs in :mod:`pixelsmith.cli`, ``pixelsmith run``, ``video`` and ``serve``): the device,
bf16 and backend, the tile side and the result size limit. Click only: importing this loads no
torch."""

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


#: The largest result by default, as ``pixelsmith.io.checks.DEFAULT_MAX_PIXELS`` says (written out
#: here so that ``--help`` loads no torch; a test keeps the two equal).
DEFAULT_MAX_OUTPUT_PIXELS = 256_000_000


def tile_option(whole: str = "image"):
    """``--tile``: the tile side in input pixels (0: the whole ``whole`` at once)."""
    return click.option(
        "--tile",
        type=click.IntRange(min=0),
        default=None,
        help=f"Tile side in input pixels, at least 16 (0: the whole {whole} at once). Default 256 "
        "(more for a network that sees far); a model with global context (a colorizer) runs whole.",
    )


def max_output_pixels_option(what: str = "results", default: int | None = None):
    """``--max-output-pixels``: refuse ``what`` larger than this (``default``: the library's)."""
    shown = DEFAULT_MAX_OUTPUT_PIXELS if default is None else default
    return click.option(
        "--max-output-pixels",
        type=click.IntRange(min=1),
        default=default,
        help=f"Refuse {what} larger than this many pixels (width x height) [default: {shown}].",
    )
