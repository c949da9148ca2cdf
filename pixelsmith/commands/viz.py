"""``pixelsmith viz``: see inside a network (filters, activations, occlusion, top patches,
feature visualisation, filtering)."""

from __future__ import annotations

from pathlib import Path

import click

from pixelsmith.commands.info import SCALE, task_of_model
from pixelsmith.errors import PixelsmithError


@click.group()
def viz() -> None:
    """See inside a network: filters, activations, occlusion, top patches, feature visualisation.

    MODEL is an architecture name (fresh weights), a shipped weight name (see `pixelsmith models`),
    a .safetensors file, or an SRCNN authors' .mat file (with --scale).
    """


def _viz_model(fn):
    fn = click.option(
        "--out",
        "-o",
        default="pixelsmith-viz",
        show_default=True,
        type=click.Path(file_okay=False),
        help="Folder for the PNG (created).",
    )(fn)
    fn = click.option("--scale", type=SCALE, default="3", help="Scale of an SRCNN .mat model.")(fn)
    return click.option(
        "--model",
        "model_name",
        default="smallconvnet.faces",
        show_default=True,
        help="Model to look inside.",
    )(fn)


def _load_viz_model(name: str, scale: str):
    from pixelsmith.resolver import load_any

    return load_any(name, scale=int(scale))


def _read(image: str, model=None):
    """Read IMAGE as ``model``'s task prepares it (SR: Y; colorization: L at the render size);
    for a model with a fixed ``input_size`` (a classifier), resized to fit."""
    from pixelsmith.io import read_image
    from pixelsmith.models import model_spec

    img = read_image(image)[0]
    if model is not None and getattr(model, "pixelsmith_arch", None) is not None:
        import warnings

        task = task_of_model(model).bind(model)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # "colour input": viz looks at the input as given
                img = task.prepare(img, model_spec(model)).inputs[0][0]
        except (NotImplementedError, PixelsmithError):
            pass  # a task that restores no images (the classifier) takes the image as it is
    size = getattr(model, "input_size", None)
    if size and tuple(img.shape[-2:]) != (size, size):
        from pixelsmith.resize import imresize

        click.echo(
            f"resizing {image} from {img.shape[-1]}x{img.shape[-2]} to the model's {size}x{size}",
            err=True,
        )
        img = imresize(img, size=(size, size)).clamp(0, 1)
    return img


@viz.command("filters")
@_viz_model
@click.option("--layer", default=None, help="Conv layer (default: the first).")
@click.option("--sort", is_flag=True, help="Order filters by weight variance (as the SRCNN paper).")
def viz_filters(model_name, scale, out, layer, sort) -> None:
    """Grid of a conv layer's filters, each normalised to its own range."""
    from pixelsmith.viz.filters import save_filter_grid

    model = _load_viz_model(model_name, scale)
    click.echo(
        save_filter_grid(model, Path(out) / f"filters_{layer or 'first'}.png", layer, sort=sort)
    )


@viz.command("activations")
@_viz_model
@click.option("--image", type=click.Path(), default=None, help="Input image (for activation maps).")
@click.option("--layer", default=None, help="Layer whose activation maps to draw.")
def viz_activations(model_name, scale, out, image, layer) -> None:
    """Activation maps of LAYER for IMAGE; without --image and --layer, plots the activation
    functions (sigmoid, tanh, ReLU, leaky ReLU, maxout, ELU) and their derivatives."""
    if image is None and layer is None:
        from pixelsmith.viz.activations_plot import plot_activations

        Path(out).mkdir(parents=True, exist_ok=True)
        click.echo(plot_activations(Path(out) / "activation_functions.png"))
        return
    if image is None or layer is None:
        raise click.UsageError("activation maps need both --image and --layer")
    from pixelsmith.viz.activations import save_activation_grid

    model = _load_viz_model(model_name, scale)
    click.echo(
        save_activation_grid(
            model, _read(image, model), layer, Path(out) / f"activations_{layer}.png"
        )
    )


@viz.command("occlusion")
@_viz_model
@click.option("--image", type=click.Path(), required=True)
@click.option(
    "--target",
    default="class:1",
    show_default=True,
    help="What to watch: class:K (logit or channel mean), pixel:Y,X[,C], region:T,L,H,W[,C].",
)
@click.option("--patch", type=int, default=8, show_default=True)
@click.option("--stride", type=int, default=4, show_default=True)
@click.option("--fill", type=float, default=0.5, show_default=True, help="Grey level of the patch.")
def viz_occlusion(model_name, scale, out, image, target, patch, stride, fill) -> None:
    """Occlusion sensitivity (Zeiler & Fergus 2014): slide a grey patch, map the target's change."""
    from pixelsmith.viz.occlusion import save_occlusion

    model = _load_viz_model(model_name, scale)
    path, _ = save_occlusion(
        model,
        _read(image, model),
        target,
        Path(out) / "occlusion.png",
        patch=patch,
        stride=stride,
        fill=fill,
    )
    click.echo(path)


@viz.command("top-patches")
@_viz_model
@click.option(
    "--image",
    "images",
    type=click.Path(),
    required=True,
    help="A folder (or file) of images to search.",
)
@click.option("--layer", required=True)
@click.option("--channel", type=int, required=True)
@click.option("-k", type=int, default=9, show_default=True)
def viz_top_patches(model_name, scale, out, images, layer, channel, k) -> None:
    """The k image patches that excite one channel of LAYER most, over a folder of images."""
    from pixelsmith.viz.top_patches import save_top_patches

    model = _load_viz_model(model_name, scale)
    path, patches = save_top_patches(
        model, images, layer, channel, Path(out) / f"top_patches_{layer}_{channel}.png", k
    )
    for p in patches:
        click.echo(f"{p.score:10.4f}  {p.source}", err=True)
    click.echo(path)


@viz.command("features")
@_viz_model
@click.option("--layer", required=True)
@click.option("--channels", default="0,1,2,3", show_default=True, help="Comma-separated channels.")
@click.option("--steps", type=int, default=256, show_default=True)
@click.option("--naive", is_flag=True, help="Plain pixels, no transformations (gives noise).")
@click.option("--compare", is_flag=True, help="Naive (top row) against the full method (bottom).")
def viz_features(model_name, scale, out, layer, channels, steps, naive, compare) -> None:
    """Feature visualisation by optimisation (Olah et al. 2017): maximise channels from noise with a
    Fourier parameterisation, decorrelated colour and transformation robustness."""
    from pixelsmith.viz.feature_vis import NAIVE, save_feature_vis

    try:
        chans = [int(c) for c in channels.split(",")]
    except ValueError:
        raise click.BadParameter(f"not a list of integers: {channels!r}") from None
    model = _load_viz_model(model_name, scale)
    path, results = save_feature_vis(
        model,
        layer,
        chans,
        Path(out) / f"features_{layer}.png",
        compare=compare,
        steps=steps,
        **(NAIVE if naive else {}),
    )
    for c, r in zip(chans * (2 if compare else 1), results, strict=True):
        click.echo(
            f"channel {c}: activation {r.start_activation:.3f} -> {r.activation:.3f}", err=True
        )
    click.echo(path)


@viz.command("filtering")
@click.option("--image", type=click.Path(), default=None, help="Default: a scikit-image photo.")
@click.option(
    "--out", "-o", default="pixelsmith-viz", show_default=True, type=click.Path(file_okay=False)
)
def viz_filtering(image, out) -> None:
    """An image and its filtered versions: [-1 0 1] edges, Sobel, Gaussian, box."""
    from pixelsmith.viz.filtering_plot import plot_filtering

    Path(out).mkdir(parents=True, exist_ok=True)
    click.echo(plot_filtering(Path(out) / "filtering.png", _read(image) if image else None))
