"""``pixelsmith <verb>``: parses arguments, calls the API, prints.

Exit status: 0 done; 1 a file or the work failed (one line each: ``pixelsmith: error: ...``);
2 a usage error (click's); 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import click

from pixelsmith.errors import PixelsmithError
from pixelsmith.run_options import (
    backend_option,
    bf16_option,
    device_option,
    max_output_pixels_option,
    tile_option,
)

SCALE = click.Choice(["2", "3", "4"])


class _Group(click.Group):
    """Turns a PixelsmithError anywhere below into ``pixelsmith: error: ...`` and exit code 1,
    Ctrl-C into exit code 130."""

    def invoke(self, ctx: click.Context):
        import warnings

        def one_line(message, category, filename, lineno, file=None, line=None) -> None:
            click.echo(f"pixelsmith: warning: {message}", err=True)

        warnings.showwarning = one_line
        try:
            return super().invoke(ctx)
        except PixelsmithError as e:
            click.echo(f"pixelsmith: error: {e}", err=True)
            sys.exit(1)
        except KeyboardInterrupt:
            click.echo("pixelsmith: interrupted", err=True)
            sys.exit(130)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="pixelsmith")
def main() -> None:
    """Restore and enhance photographs with convolutional networks."""


def _restore_options(fn):
    """The options every files-in/files-out verb shares."""
    options = [
        tile_option(),
        click.option(
            "--out",
            type=click.Path(),
            default=None,
            help="Output folder (must exist), or a file name for a single input. "
            "Default: beside each input, with the task's suffix (NAME_x3.png).",
        ),
        click.option("--overwrite", is_flag=True, help="Replace existing output files."),
        device_option,
        bf16_option,
        backend_option,
        max_output_pixels_option(),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _restore_files(
    inputs: list[str], task: str, model: str | None, photo_inputs: dict | None = None, **kwargs
) -> None:
    """Run ``pixelsmith.restore_files``; each failure is one line, and any failure exits 1."""
    import pixelsmith

    def said(event) -> None:
        if event.kind == "done":
            click.echo(str(event.target))
        elif event.kind == "failed":
            click.echo(f"pixelsmith: error: {event.message}", err=True)

    report = pixelsmith.restore_files(
        inputs, task, model, inputs=photo_inputs, on_event=said, **kwargs
    )
    for p in report.left_out:
        click.echo(f"pixelsmith: note: {p} is an earlier result, not an input", err=True)
    if report.failed:
        total = len(report.failed) + len(report.done)
        if total > 1:
            click.echo(
                f"pixelsmith: {len(report.failed)} of {total} files failed; "
                f"{len(report.done)} written",
                err=True,
            )
        sys.exit(1)


@main.command()
@click.option(
    "--out",
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


@main.command()
@click.argument("inputs", nargs=-1, required=True)
@click.option("--scale", type=SCALE, default="3", show_default=True)
@click.option(
    "--model",
    default=None,
    help="lrnet (fast, default), srcnn, bicubic, a shipped name (lrnet_s.x3, srcnn_915.x3) "
    "or a .safetensors file.",
)
@click.option("--blind", is_flag=True, help="Use the model trained for real, degraded photos.")
@_restore_options
def upscale(inputs, scale, model, blind, **kwargs) -> None:
    """Super-resolve images (files, folders or globs) by x2, x3 or x4."""
    _restore_files(list(inputs), "superres", model, scale=int(scale), blind=blind, **kwargs)


def _decode_options(fn):
    """``--decode``, ``--temperature`` and ``--correction``, shared by the colorization verbs."""
    fn = click.option(
        "--correction",
        type=click.FloatRange(0, 1),
        default=None,
        help="Share of the class rebalancing undone before decoding: 0 undoes nothing (vivid, often "
        "wrong on dull colours; the paper's decoding is 0 with --temperature 0.38), 1 gives the "
        "training photos' colour odds (duller). "
        "[default: the model's own, chosen for its weights on validation photos; 0.5 for a "
        "model without one]",
    )(fn)
    fn = click.option(
        "--temperature",
        type=click.FloatRange(min=0, min_open=True),
        default=None,
        help="Of the annealed mean: 1 is the mean, towards 0 the mode. [default: the model's own, "
        "chosen for its weights on validation photos; 0.38, the paper's, for a model without one]",
    )(fn)
    return click.option(
        "--decode",
        "decoding",
        type=click.Choice(["annealed", "mode", "mean"]),
        default="annealed",
        show_default=True,
        help="How bins become a colour: annealed mean (the paper's), mode (vivid, splotchy) or "
        "mean (consistent, sepia).",
    )(fn)


@main.command()
@click.argument("inputs", nargs=-1, required=True)
@click.option(
    "--model",
    default=None,
    help="colorunet (default), colornet, a shipped name (colorunet_s.photos, colornet_s.photos, "
    "colornet_s.photos_l2, deoldify_s.photos), "
    "a .safetensors file, or the official ECCV16 checkpoint (.pth).",
)
@_decode_options
@click.option(
    "--render-factor",
    type=click.IntRange(min=0),
    default=16,
    show_default=True,
    help="The net sees the photo with its short side 16 x N px (0: full size); the colour is "
    "joined with the full-size lightness.",
)
@_restore_options
def colorize(inputs, model, decoding, temperature, correction, render_factor, **kwargs) -> None:
    """Colorize grey photos (files, folders or globs). A colour photo is colorized from its
    lightness (L*) alone; the result keeps the input's lightness."""
    _restore_files(
        list(inputs),
        "colorize",
        model,
        decoding=decoding,
        temperature=temperature,
        correction=correction,
        render_factor=render_factor,
        **kwargs,
    )


@main.command()
@click.argument("inputs", nargs=-1, required=True)
@click.option(
    "--model",
    default=None,
    help="unet (default), deepupe, zero-dce, a classical baseline (gamma, global_gain, clahe, "
    "msrcr_retinex), a shipped name (lowlight_unet.photos) or a .safetensors file.",
)
@click.option(
    "--weights",
    type=click.Path(),
    default=None,
    help="A weight file for --model: a .safetensors file, or the Zero-DCE authors' Epoch99.pth.",
)
@click.option(
    "--strength",
    type=click.FloatRange(0, 2),
    default=1.0,
    show_default=True,
    help="0 keeps the photo, 1 is the model's result, up to 2 goes further.",
)
@_restore_options
def enhance(inputs, model, weights, strength, **kwargs) -> None:
    """Brighten under-exposed photos (files, folders or globs)."""
    from pixelsmith.resolver import with_weights

    _restore_files(
        list(inputs), "lowlight", with_weights(model, weights), strength=strength, **kwargs
    )


@main.command()
@click.argument("inputs", nargs=-1, required=True)
@click.option(
    "--ratio",
    type=float,
    default=100.0,
    show_default=True,
    help="Amplification: the exposure ratio the frame was under-exposed by (SID: 100, 250, 300).",
)
@click.option(
    "--model",
    default=None,
    help="sid (default), a shipped name (sid_unet_s.unprocessed) or a .safetensors file.",
)
@_restore_options
def develop(inputs, ratio, model, **kwargs) -> None:
    """Develop camera raw files shot too dark (Bayer DNG, NEF, CR2, ARW, ...) into 16-bit PNGs."""
    from pixelsmith.tasks.develop import check_ratio

    _restore_files(list(inputs), "develop", model, ratio=check_ratio(ratio), **kwargs)


@main.command()
@click.argument("inputs", nargs=-1, required=True)
@click.option(
    "--mask",
    type=click.Path(),
    default=None,
    help="The hole: an image where white marks it (default: the input's transparent pixels).",
)
@click.option("--resize-mask", is_flag=True, help="Scale a mask of another size to the photo's.")
@click.option(
    "--model",
    default=None,
    help="pconv (default), vae, telea, navier_stokes, biharmonic, a shipped name "
    "(pconv_unet_s.photos) or a .safetensors file.",
)
@click.option(
    "--attributes",
    default=None,
    help="The VAE only: steer the fill, e.g. 'brightness=0.8,saturation=0.2' or 'hue=120' "
    "(degrees); the others are measured on the photo's known pixels.",
)
@_restore_options
def inpaint(inputs, mask, resize_mask, model, attributes, **kwargs) -> None:
    """Fill the holes of photos: white in --mask (or transparency) marks what to fill."""
    if attributes:
        kwargs["attributes"] = attributes
    photo_inputs = {"mask": mask} if mask is not None else None
    _restore_files(list(inputs), "inpaint", model, photo_inputs, resize_mask=resize_mask, **kwargs)


@main.command()
@click.option(
    "--ratio", default="0.2-0.3", show_default=True, help="Hole ratio range LO-HI (of the area)."
)
@click.option("--count", type=click.IntRange(min=1), default=10, show_default=True)
@click.option("--size", default="512x512", show_default=True, help="WIDTHxHEIGHT in pixels.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--out", required=True, type=click.Path(), help="Folder to write into (must exist).")
def masks(ratio, count, size, seed, out) -> None:
    """Write irregular hole masks (white = hole): strokes, ellipses and blobs in a ratio range."""
    from pixelsmith.data.masks import parse_ratio, write_masks
    from pixelsmith.errors import PixelsmithError

    try:
        w, h = (int(v) for v in size.lower().split("x"))
    except ValueError:
        raise PixelsmithError(f"--size is WIDTHxHEIGHT, such as 512x512, not {size!r}") from None
    if w < 16 or h < 16:
        raise PixelsmithError(f"--size must be at least 16x16, not {size}")
    for path in write_masks(out, count, (h, w), parse_ratio(ratio), seed):
        click.echo(path)


@main.group("eval")
def evaluate() -> None:
    """Measure models by a task's standard protocol."""


@evaluate.command("superres")
@click.option("--data", required=True, type=click.Path(), help="Folder of high-resolution images.")
@click.option("--scale", type=SCALE, default="3", show_default=True)
@click.option(
    "--model",
    "models",
    multiple=True,
    help="Model(s) to compare; repeat the option. [default: bicubic, srcnn, lrnet; "
    "with --blind: bicubic, lrnet]",
)
@click.option("--blind", is_flag=True, help="Evaluate the blind models.")
def eval_superres(data, scale, models, blind) -> None:
    """PSNR/SSIM on Y, shave = scale, MATLAB-bicubic degradation (the SRCNN protocol)."""
    import pixelsmith

    if not models:
        models = ("bicubic", "lrnet") if blind else ("bicubic", "srcnn", "lrnet")
    task = pixelsmith.get_task("superres", scale=int(scale), blind=blind)
    dataset = task.eval_dataset(data)
    click.echo(f"Set: {data}  scale x{scale}  (Y channel, shave {scale}, MATLAB bicubic)")
    click.echo(f"{'model':<28}{'PSNR dB':>9}{'SSIM':>8}")
    for m in models:
        net, info = pixelsmith.load_model(m, task=task)
        r = pixelsmith.evaluate(net, dataset, task)
        click.echo(f"{info.name:<28}{r['psnr']:>9.2f}{r['ssim']:>8.4f}")


@evaluate.command("colorize")
@click.option(
    "--data",
    required=True,
    help="Folder of colour photos; DIR@val is the held-out tenth that training never sees.",
)
@click.option(
    "--model",
    "models",
    multiple=True,
    help="Model(s) to compare; repeat the option. [default: grey, colorunet]",
)
@_decode_options
def eval_colorize(data, models, decoding, temperature, correction) -> None:
    """AuC of the ab error (raw, rebalanced), PSNR and colourfulness (Zhang et al. 2016)."""
    import pixelsmith

    task = pixelsmith.get_task(
        "colorize", decoding=decoding, temperature=temperature, correction=correction
    )
    dataset = task.eval_dataset(data)

    def shown(value):
        return "each model's own" if value is None else value

    click.echo(
        f"Set: {data} ({len(dataset)} photos, grey ones skipped; short side 256)  "
        f"decode {decoding}, temperature {shown(temperature)}, correction {shown(correction)}"
    )
    click.echo(
        f"{'model':<28}{'AuC raw':>9}{'AuC rebal':>11}{'PSNR dB':>9}{'colourful':>11}{'margin':>8}"
    )
    for m in models or ("grey", "colorunet"):
        net, info = pixelsmith.load_model(m, task=task)
        r = pixelsmith.evaluate(net, dataset, task)
        click.echo(
            f"{info.name:<28}{r['auc_raw']:>9.2f}{r['auc_rebalanced']:>11.2f}"
            f"{r['psnr']:>9.2f}{r['colourfulness']:>11.3f}{r['floor_margin']:>+8.2f}"
        )
    click.echo(
        "margin: the smaller of raw AuC - grey's and rebalanced AuC - grey's - 5 (both floors "
        "met when positive)"
    )


@evaluate.command("lowlight")
@click.option("--pairs", required=True, type=click.Path(), help="A folder with low/ and high/.")
@click.option(
    "--model",
    "models",
    multiple=True,
    help="Model(s) to compare; repeat the option. [default: global_gain, msrcr_retinex, unet]",
)
@click.option("--weights", type=click.Path(), default=None, help="Also the Zero-DCE authors' .pth.")
def eval_lowlight(pairs, models, weights) -> None:
    """PSNR/SSIM (RGB, 8-bit results) of low-light enhancement over pairs (LOL's layout)."""
    import pixelsmith

    task = pixelsmith.get_task("lowlight")
    dataset = task.eval_dataset(pairs)
    click.echo(f"Pairs: {pairs} ({len(dataset)})")
    click.echo(f"{'model':<34}{'PSNR dB':>9}{'SSIM':>8}")
    for m in (
        *(models or ("global_gain", "msrcr_retinex", "unet")),
        *([weights] if weights else []),
    ):
        net, info = pixelsmith.load_model(m, task=task)
        r = pixelsmith.evaluate(net, dataset, task)
        click.echo(f"{info.name:<34}{r['psnr']:>9.2f}{r['ssim']:>8.4f}")


@evaluate.command("inpaint")
@click.option("--data", required=True, type=click.Path(), help="A folder of photos.")
@click.option(
    "--masks",
    required=True,
    type=click.Path(),
    help="A folder of hole masks numbered as NVIDIA's test masks (masks_nvidia_test).",
)
@click.option(
    "--model",
    "models",
    multiple=True,
    help="Model(s) to compare; repeat the option. [default: telea, pconv]",
)
def eval_inpaint(data, masks, models) -> None:
    """L1, PSNR and SSIM of the composite per hole-ratio bucket (the paper's Table 1)."""
    import pixelsmith
    from pixelsmith.data.masks import BUCKETS, bucket_name

    task = pixelsmith.get_task("inpaint", masks=masks)
    dataset = task.eval_dataset(data)
    click.echo(f"Photos: {data}, masks: {masks} ({len(dataset)} cases); PSNR dB per bucket")
    names = [bucket_name(b) for b in range(len(BUCKETS))]
    click.echo(f"{'model':<30}" + "".join(f"{n:>9}" for n in names) + f"{'all':>9}")
    for m in models or ("telea", "pconv"):
        net, info = pixelsmith.load_model(m, task=task)
        r = pixelsmith.evaluate(net, dataset, task)
        cells = "".join(f"{r[f'psnr@{n}']:>9.2f}" for n in names)
        click.echo(f"{info.name:<30}{cells}{r['psnr']:>9.2f}")


@evaluate.command("develop")
@click.option(
    "--data", required=True, help="Folder of photos, unprocessed and darkened with fixed seeds."
)
@click.option("--ratio", "ratios", type=float, multiple=True, help="[default: 100, 250, 300]")
@click.option("--model", default=None, help="sid (default), a shipped name or a weight file.")
def eval_develop(data, ratios, model) -> None:
    """PSNR/SSIM of raw development against the traditional pipeline (with and without
    non-local means), on photos unprocessed and darkened with fixed seeds."""
    import pixelsmith
    from pixelsmith.tasks.develop_protocol import EVAL_RATIOS, evaluate_developer

    task = pixelsmith.get_task("develop")
    net, info = pixelsmith.load_model(model or task.default_model, task=task)
    paths = task.eval_dataset(data)
    methods = ("model", "traditional", "traditional+nlm")
    rows = evaluate_developer(task, net, paths, ratios or EVAL_RATIOS, methods)
    click.echo(f"Photos: {data} ({len(paths)})  model {info.name}")
    click.echo(f"{'ratio':>6}  {'method':<18}{'PSNR dB':>9}{'SSIM':>8}")
    for ratio in ratios or EVAL_RATIOS:
        for method in methods:
            sel = [r for r in rows if r["ratio"] == ratio and r["method"] == method]
            psnr = sum(r["psnr"] for r in sel) / len(sel)
            ssim = sum(r["ssim"] for r in sel) / len(sel)
            click.echo(f"{ratio:>6g}  {method:<18}{psnr:>9.2f}{ssim:>8.4f}")


@evaluate.command("classify")
@click.option(
    "--model",
    default="smallconvnet.faces",
    show_default=True,
    help="A shipped name or a .safetensors file.",
)
def eval_classify(model) -> None:
    """Held-out accuracy on scikit-image's faces vs non-faces (50 images)."""
    import pixelsmith

    r = pixelsmith.evaluate(model, "lfw_subset", "classify")
    click.echo(f"accuracy {r['accuracy']:.3f}  loss {r['loss']:.4f}  (50 held-out images)")


def _train_options(fn):
    """One ``--flag`` per TrainConfig field, typed from its annotation (a ``list[T]`` repeats the
    flag, a ``bool`` gets ``--x/--no-x``); fields no flag can express (``model_kwargs``) come from
    task-specific flags or ``--config FILE``."""
    import typing

    from pixelsmith.config import TrainConfig

    hints = typing.get_type_hints(TrainConfig)
    for f in reversed(dataclasses.fields(TrainConfig)):
        hint = hints[f.name]
        flag = "--" + f.name.replace("_", "-")
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        if typing.get_origin(hint) is list:
            (item,) = typing.get_args(hint)
            option = click.option(
                flag, f.name, type=item, multiple=True, help="Repeat for several."
            )
        elif hint is bool:
            no = "--no-" + f.name.replace("_", "-")
            option = click.option(
                f"{flag}/{no}", f.name, default=None, help=f"default {'on' if default else 'off'}"
            )
        elif hint in (int, float, str):
            option = click.option(
                flag, f.name, type=hint, default=None, help=f"default {default!r}"
            )
        else:
            continue
        fn = option(fn)
    return click.option(
        "--config",
        "config_file",
        type=click.Path(exists=True),
        default=None,
        help="YAML file with TrainConfig fields (flags override it).",
    )(fn)


def _train(
    task, config_file: str | None, overrides: dict, model_kwargs: dict | None = None
) -> None:
    import pixelsmith
    from pixelsmith.config import build_config

    cfg = build_config(config_file, overrides, task.train_defaults)
    cfg.model_kwargs.update({k: v for k, v in (model_kwargs or {}).items() if v is not None})
    final = pixelsmith.train(cfg, task)
    if final:
        click.echo(final)


@main.group()
def train() -> None:
    """Train a model with pixelsmith's trainer (resumes from OUT/checkpoint.pt)."""


@train.command("superres")
@_train_options
@click.option("--scale", type=SCALE, default="3", show_default=True)
@click.option("--blind", is_flag=True, help="Train on the real-photo degradation pipeline.")
@click.option("--width", type=int, default=None, help="Model width override.")
@click.option("--blocks", type=int, default=None, help="LRNet residual blocks override.")
def train_superres(scale, blind, config_file, width, blocks, **overrides) -> None:
    """Train a super-resolution model on folders of clean photos."""
    import pixelsmith

    task = pixelsmith.get_task("superres", scale=int(scale), blind=blind)
    _train(task, config_file, overrides, {"width": width, "blocks": blocks})


@train.command("colorize")
@_train_options
@click.option(
    "--head",
    type=click.Choice(["classes", "regression"]),
    default=None,
    help="classes: 313-way-style bins with rebalancing (the paper); regression: the L2 baseline.",
)
@click.option(
    "--prior",
    type=click.Path(),
    default="",
    help="An ab prior (.npy, one value per bin) or a colorization weight file to take it from; "
    "default: computed from --data first.",
)
@click.option(
    "--context",
    is_flag=True,
    help="colornet_s / colornet_m: add the global-context branch (the whole image's features, "
    "added after block 4).",
)
@click.option(
    "--short-side-max",
    type=int,
    default=0,
    help="Scale augmentation: cut each crop from its photo shrunk to a random short side "
    "between 176 and this (default 0: every photo at 176, the paper's).",
)
@click.option(
    "--rebalance",
    type=click.FloatRange(0, 1),
    default=None,
    help="Lambda of the class rebalancing, kept with the model: 0.5 the paper's (default); "
    "1 no rebalancing (the paper's 'class' ablation), 0 the inverse prior alone.",
)
def train_colorize(
    config_file, head, prior, context, short_side_max, rebalance, **overrides
) -> None:
    """Train a colorizer on folders of colour photos (DIR@train / DIR@val pick a fixed split;
    DIR@fit / DIR@tune split the training part again, for tuning)."""
    import pixelsmith

    task = pixelsmith.get_task("colorize", prior=prior, short_side_max=short_side_max)
    model_kwargs = {"head": head, "context": context or None, "rebalance": rebalance}
    _train(task, config_file, overrides, model_kwargs)


@train.command("colorize-gan")
@_train_options
@click.option(
    "--perceptual",
    required=True,
    help="Feature network of the perceptual loss: a local VGG16 .pth (torchvision keys) or a "
    "colorization model (colornet_s.photos, a weight file), whose encoder is used.",
)
@click.option(
    "--critic-steps", type=int, default=400, show_default=True, help="Phase 2: critic alone."
)
@click.option("--gan-steps", type=int, default=600, show_default=True, help="Phase 3: adversarial.")
@click.option("--gan-lr", type=float, default=1e-4, show_default=True)
@click.option("--adv-weight", type=float, default=0.05, show_default=True)
def train_colorize_gan(
    config_file, perceptual, critic_steps, gan_steps, gan_lr, adv_weight, **overrides
) -> None:
    """Train the DeOldify-style colorizer by the NoGAN schedule: the generator with a perceptual
    loss (--steps), then the critic alone, then a short adversarial phase."""
    import pixelsmith
    from pixelsmith.config import build_config
    from pixelsmith.nogan import NoGANConfig, train_nogan

    task = pixelsmith.get_task("colorize", perceptual=perceptual)
    defaults = {**task.train_defaults, "model": "deoldify_s"}
    cfg = build_config(config_file, overrides, defaults)
    schedule = NoGANConfig(critic_steps, gan_steps, gan_lr, adv_weight)
    click.echo(train_nogan(cfg, task, schedule, command=" ".join(["pixelsmith", *sys.argv[1:]])))


@train.command("lowlight")
@_train_options
@click.option(
    "--pair-fraction",
    type=click.FloatRange(0, 1),
    default=0.5,
    show_default=True,
    help="Share of each batch cut from the pair folders when photo folders are given too.",
)
@click.option(
    "--exposure",
    type=click.FloatRange(0, 1, min_open=True),
    default=None,
    help="lowlight_unet: scale each input photo to this mean level before the network sees it "
    "(kept with the weights; default: the photo as it is).",
)
def train_lowlight(config_file, pair_fraction, exposure, **overrides) -> None:
    """Train a low-light enhancer (--model lowlight_unet, deepupe_s or zero_dce) on photo
    folders (under-exposed on the fly) and pair folders (low/ and high/, e.g. LOL)."""
    import pixelsmith

    task = pixelsmith.get_task("lowlight", pair_fraction=pair_fraction)
    _train(task, config_file, overrides, {"exposure": exposure})


@train.command("develop")
@_train_options
def train_develop(config_file, **overrides) -> None:
    """Train a raw developer (SID's U-Net) on photos unprocessed into dark raw frames."""
    import pixelsmith

    _train(pixelsmith.get_task("develop"), config_file, overrides)


@train.command("inpaint")
@_train_options
@click.option("--hole-weight", type=float, default=6.0, show_default=True)
@click.option("--perceptual-weight", type=float, default=0.05, show_default=True)
@click.option("--style-weight", type=float, default=120.0, show_default=True)
@click.option("--tv-weight", type=float, default=0.1, show_default=True)
@click.option(
    "--features",
    default="",
    help="Feature network of the perceptual and style terms: a local VGG16 .pth (torchvision "
    "keys) or a colorization model whose encoder is used [default: colornet_s.photos].",
)
@click.option(
    "--freeze-encoder-bn",
    is_flag=True,
    default=None,
    help="Keep the encoder's batch norm fixed (the paper's fine-tuning phase; with --init).",
)
@click.option(
    "--kl-weight",
    type=click.FloatRange(min=0),
    default=1.0,
    show_default=True,
    help="--model inpaint_vae: beta, the weight of the KL term (1: the ELBO).",
)
@click.option(
    "--vae-perceptual-weight",
    type=click.FloatRange(min=0),
    default=None,
    help="--model inpaint_vae: the weight of the feature-consistency term (0: the plain "
    "ELBO) [default: 0.01].",
)
@click.option(
    "--labels",
    type=click.Path(),
    default="",
    help="--model inpaint_vae: a CSV of the photos' attributes (header file,name1,name2,...; "
    "a row per file name); default: brightness, saturation and hue measured on each crop.",
)
def train_inpaint(
    config_file,
    hole_weight,
    perceptual_weight,
    style_weight,
    tv_weight,
    features,
    freeze_encoder_bn,
    kl_weight,
    vae_perceptual_weight,
    labels,
    **overrides,
) -> None:
    """Train an inpainting network on photo folders, with generated hole masks: the PConv U-Net
    (the paper's loss) or, with --model inpaint_vae, the conditional VAE (the ELBO plus a
    feature-consistency term)."""
    import pixelsmith

    vae = {} if vae_perceptual_weight is None else {"vae_perceptual_weight": vae_perceptual_weight}
    task = pixelsmith.get_task(
        "inpaint",
        hole_weight=hole_weight,
        perceptual_weight=perceptual_weight,
        style_weight=style_weight,
        tv_weight=tv_weight,
        features=features,
        kl_weight=kl_weight,
        labels=labels,
        **vae,
    )
    if overrides.get("model") in task.aliases:  # --model vae
        overrides["model"] = task.aliases[overrides["model"]]
    _train(task, config_file, overrides, {"freeze_encoder_bn": freeze_encoder_bn})


@train.command("classify")
@_train_options
def train_classify(config_file, **overrides) -> None:
    """Train the small ConvNet on scikit-image's faces vs non-faces (seconds on a CPU)."""
    import pixelsmith

    _train(pixelsmith.get_task("classify"), config_file, overrides)


@main.command()
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
        shape = _task_of_model(net).example_shape
    click.echo(str(layer_summary(net, shape)))


def _task_of_model(net):
    import pixelsmith
    from pixelsmith.models import model_tasks

    arch = getattr(net, "pixelsmith_arch", None)
    if arch is None:  # an official checkpoint: built by its task's loader
        raise PixelsmithError("give --input-shape C,H,W for a model read from a foreign file")
    return pixelsmith.get_task(model_tasks(arch[0])[0])


@main.group()
def viz() -> None:
    """See inside a network: filters, activations, occlusion, top patches, feature visualisation.

    MODEL is an architecture name (fresh weights), a shipped weight name (see `pixelsmith models`),
    a .safetensors file, or an SRCNN authors' .mat file (with --scale).
    """


def _viz_model(fn):
    fn = click.option(
        "--out",
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

        task = _task_of_model(model).bind(model)
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
    "--out", default="pixelsmith-viz", show_default=True, type=click.Path(file_okay=False)
)
def viz_filtering(image, out) -> None:
    """An image and its filtered versions: [-1 0 1] edges, Sobel, Gaussian, box."""
    from pixelsmith.viz.filtering_plot import plot_filtering

    Path(out).mkdir(parents=True, exist_ok=True)
    click.echo(plot_filtering(Path(out) / "filtering.png", _read(image) if image else None))


@main.command("models")
def models_cmd() -> None:
    """List registered architectures and shipped weight files."""
    import pixelsmith
    from pixelsmith.models import model_tasks

    for arch in pixelsmith.list_models():
        click.echo(f"architecture: {arch}  ({', '.join(model_tasks(arch))})")
    for name, path in pixelsmith.list_pretrained().items():
        click.echo(f"weights: {name}  ({path.name})")


def _add_product_commands() -> None:
    """The verbs around the models, each defined in its own module (heavy imports inside)."""
    from pixelsmith.batch import run_command
    from pixelsmith.export.command import export_command
    from pixelsmith.video import video_command
    from pixelsmith.web.command import serve_command

    main.add_command(export_command)
    main.add_command(run_command)
    main.add_command(serve_command)
    main.add_command(video_command)


_add_product_commands()

if __name__ == "__main__":
    main()
