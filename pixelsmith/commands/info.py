"""``pixelsmith demo``, ``masks``, ``summary`` and ``models``: the verbs around the models."""

from __future__ import annotations

from pathlib import Path

import click

from pixelsmith.errors import PixelsmithError

SCALE = click.Choice(["2", "3", "4"])


@click.command()
@click.option(
    "--out",
    "-o",
    default="pixelsmith-demo",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Folder for the before/after sheet (created if missing).",
)
@click.option(
    "--scale", type=SCALE, default="3", show_default=True, help="Super-resolution factor."
)
def demo(out: str, scale: str) -> None:
    """Run every shipped model on scikit-image's astronaut and write a before/after sheet."""
    from pixelsmith.demo import run_demo

    for path in run_demo(Path(out), int(scale)):
        click.echo(path)


@click.command()
@click.option(
    "--ratio", default="0.2-0.3", show_default=True, help="Hole ratio range LO-HI (of the area)."
)
@click.option("--count", type=click.IntRange(min=1), default=10, show_default=True)
@click.option("--size", default="512x512", show_default=True, help="WIDTHxHEIGHT in pixels.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--out",
    "-o",
    required=True,
    type=click.Path(),
    help="Folder to write into (created if the folder above it exists).",
)
def masks(ratio, count, size, seed, out) -> None:
    """Write irregular hole masks (white = hole): strokes, ellipses and blobs in a ratio range."""
    from pixelsmith.data.masks import parse_ratio, write_masks

    try:
        w, h = (int(v) for v in size.lower().split("x"))
    except ValueError:
        raise PixelsmithError(f"--size is WIDTHxHEIGHT, such as 512x512, not {size!r}") from None
    if w < 16 or h < 16:
        raise PixelsmithError(f"--size must be at least 16x16, not {size}")
    if not Path(out).is_dir():
        from pixelsmith.batch.plan import make_folder

        make_folder(Path(out))
    for path in write_masks(out, count, (h, w), parse_ratio(ratio), seed):
        click.echo(path)


@click.command()
@click.argument("model")
@click.option(
    "--input-shape",
    default=None,
    help="C,H,W of the input (default: the model's task's example, e.g. 1,25,25).",
)
def summary(model, input_shape) -> None:
    """Per-layer output shape, parameters, multiply-adds and receptive field of MODEL
    (an architecture name, a shipped weight name or a .safetensors file)."""
    from pixelsmith.nn.accounting import summary as layer_summary
    from pixelsmith.resolver import load_any

    net = load_any(model)
    if input_shape:
        try:
            shape = tuple(int(v) for v in input_shape.split(","))
        except ValueError:
            raise PixelsmithError(
                f"--input-shape must be C,H,W integers, got {input_shape!r}"
            ) from None
    else:
        shape = task_of_model(net).example_shape
    click.echo(str(layer_summary(net, shape)))


def task_of_model(net):
    import pixelsmith
    from pixelsmith.models import model_tasks

    arch = getattr(net, "pixelsmith_arch", None)
    if arch is None:  # an official checkpoint: built by its task's loader
        raise PixelsmithError("give --input-shape C,H,W for a model read from a foreign file")
    return pixelsmith.get_task(model_tasks(arch[0])[0])


@click.command("models")
def models_cmd() -> None:
    """List registered architectures and shipped weight files."""
    import pixelsmith
    from pixelsmith.models import model_tasks

    for arch in pixelsmith.list_models():
        click.echo(f"architecture: {arch}  ({', '.join(model_tasks(arch))})")
    for name, path in pixelsmith.list_pretrained().items():
        click.echo(f"weights: {name}  ({path.name})")


COMMANDS = [demo, masks, summary, models_cmd]
