"""``pixelsmith train TASK``: pixelsmith's trainer on a task, generated from the task class.

Its flags: one per :class:`~pixelsmith.config.TrainConfig` field, the task's options (those of
training and inference, :func:`pixelsmith.options.task_fields`), the architecture arguments the
shipped recipes set (:data:`MODEL_FLAGS`) and ``--model-kwarg KEY=VALUE`` for any other.
``train colorize-gan`` is the NoGAN schedule (the Trainer's adversarial phases).
"""

from __future__ import annotations

import dataclasses
import sys
from typing import Any

import click

from pixelsmith.commands.tasks import TaskGroup, summary
from pixelsmith.options import add_params, field_option, given, task_fields

USES = ("training", "inference")

#: Constructor arguments of architectures (``TrainConfig.model_kwargs``), kept with the weights;
#: a model that does not take one says so in one line.
MODEL_FLAGS = [
    click.Option(["--width"], type=int, default=None, help="Model width (lrnet, colorunet)."),
    click.Option(["--blocks"], type=int, default=None, help="Residual blocks (lrnet, colorunet)."),
    click.Option(
        ["--head"],
        type=click.Choice(["classes", "regression"]),
        default=None,
        help="A colorizer's head: classes (bins with rebalancing, the paper) or regression "
        "(the L2 baseline).",
    ),
    click.Option(
        ["--context"],
        is_flag=True,
        default=None,
        help="colornet_s / colornet_m: add the global-context branch (the whole image's "
        "features, added after block 4).",
    ),
    click.Option(
        ["--rebalance"],
        type=click.FloatRange(0, 1),
        default=None,
        help="A colorizer's class rebalancing lambda: 0.5 the paper's (default); 1 none (the "
        "paper's 'class' ablation), 0 the inverse prior alone.",
    ),
    click.Option(
        ["--exposure"],
        type=click.FloatRange(0, 1, min_open=True),
        default=None,
        help="lowlight_unet: scale each input photo to this mean level before the network "
        "sees it (default: the photo as it is).",
    ),
    click.Option(
        ["--freeze-encoder-bn"],
        is_flag=True,
        default=None,
        help="pconv_unet: keep the encoder's batch norm fixed (the paper's fine-tuning "
        "phase; with --init).",
    ),
    click.Option(
        ["--model-kwarg", "model_kwarg"],
        multiple=True,
        metavar="KEY=VALUE",
        help="Another argument of the architecture (repeatable): a number, true/false or text.",
    ),
]


def config_params() -> list[click.Parameter]:
    """``--config FILE`` and one flag per TrainConfig field, typed from its annotation (a
    ``list[T]`` repeats the flag, a ``bool`` gets ``--x/--no-x``); ``model_kwargs`` comes from
    the model flags."""
    import typing

    from pixelsmith.config import TrainConfig

    hints = typing.get_type_hints(TrainConfig)
    params: list[click.Parameter] = [
        click.Option(
            ["--config", "config_file"],
            type=click.Path(exists=True),
            default=None,
            help="YAML file with TrainConfig fields (flags override it).",
        )
    ]
    for f in dataclasses.fields(TrainConfig):
        hint, flag = hints[f.name], "--" + f.name.replace("_", "-")
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        if typing.get_origin(hint) is list:
            (item,) = typing.get_args(hint)
            params.append(click.Option([flag, f.name], type=item, multiple=True, help="Repeat."))
        elif hint is bool:
            shown = "on" if default else "off"
            params.append(
                click.Option([f"{flag}/--no-{flag[2:]}", f.name], default=None, help=shown)
            )
        elif hint in (int, float, str):
            short = ["-o"] if f.name == "out" else []
            params.append(
                click.Option(
                    [flag, *short, f.name], type=hint, default=None, help=f"default {default!r}"
                )
            )
    return params


def _config_names() -> list[str]:
    from pixelsmith.config import TrainConfig

    return [f.name for f in dataclasses.fields(TrainConfig) if f.name != "model_kwargs"]


def model_kwargs(ctx: click.Context) -> dict[str, Any]:
    """The architecture arguments the user gave: the model flags and ``--model-kwarg``."""
    from pixelsmith.options import convert

    kwargs = given(ctx, [p.name for p in MODEL_FLAGS if p.name != "model_kwarg"])
    for pair in ctx.params.get("model_kwarg", ()):
        key, eq, text = pair.partition("=")
        if not eq or not key.strip():
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint="--model-kwarg")
        for kind in (int, float, bool | None):
            try:
                kwargs[key.strip()] = convert(text.strip(), kind)
                break
            except (ValueError, TypeError):
                continue
        else:
            kwargs[key.strip()] = text
    return kwargs


def train_command(task: str, name: str) -> click.Command:
    """The command ``pixelsmith train TASK``."""
    from pixelsmith.tasks import task_class

    cls = task_class(task)

    @click.pass_context
    def run(ctx: click.Context, config_file: str | None, **_: Any) -> None:
        import pixelsmith

        options = given(ctx, [f.name for f in task_fields(cls, USES)])
        overrides = {n: ctx.params[n] for n in _config_names()}
        train(pixelsmith.get_task(task, **options), config_file, overrides, model_kwargs(ctx))

    command = click.Command(
        name,
        callback=run,
        params=config_params(),
        help=f"Train a {cls.title or task} model (resumes from OUT/checkpoint.pt).\n\n"
        f"{summary(task)}",
        short_help=f"Train a {cls.title or task} model.",
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    fields = [field_option(f) for f in task_fields(cls, USES)]
    return add_params(command, [*fields, *(_copy(p) for p in MODEL_FLAGS)])


def _copy(p: click.Parameter) -> click.Parameter:
    import copy

    return copy.copy(p)


def train(task: Any, config_file: str | None, overrides: dict, kwargs: dict | None = None) -> None:
    """Build the TrainConfig (task defaults, then ``--config``, then flags) and train."""
    import pixelsmith
    from pixelsmith.config import build_config

    if overrides.get("model") in task.aliases:  # --model vae
        overrides["model"] = task.aliases[overrides["model"]]
    cfg = build_config(config_file, overrides, task.train_defaults)
    cfg.model_kwargs.update(kwargs or {})
    final = pixelsmith.train(cfg, task)
    if final:
        click.echo(final)


@click.group("train", cls=TaskGroup, make=train_command)
def train_group() -> None:
    """Train a model with pixelsmith's trainer (pixelsmith train TASK --help)."""


def _colorize_gan_params(fn):
    for option in reversed(
        [
            click.option(
                "--perceptual",
                required=True,
                help="Feature network of the perceptual loss: a local VGG16 .pth (torchvision "
                "keys) or a colorization model (colornet_s.photos, a weight file), whose "
                "encoder is used.",
            ),
            click.option("--critic-steps", type=int, default=400, show_default=True),
            click.option("--gan-steps", type=int, default=600, show_default=True),
            click.option("--gan-lr", type=float, default=1e-4, show_default=True),
            click.option("--adv-weight", type=float, default=0.05, show_default=True),
        ]
    ):
        fn = option(fn)
    return fn


@train_group.command("colorize-gan")
@_colorize_gan_params
@click.pass_context
def train_colorize_gan(ctx, perceptual, critic_steps, gan_steps, gan_lr, adv_weight, **_) -> None:
    """Train the DeOldify-style colorizer by the NoGAN schedule: the generator with a perceptual
    loss (--steps), then the critic alone (--critic-steps), then a short adversarial phase."""
    import pixelsmith
    from pixelsmith.config import build_config
    from pixelsmith.trainer import NoGANConfig, train_nogan

    task = pixelsmith.get_task("colorize", perceptual=perceptual)
    overrides = {n: ctx.params[n] for n in _config_names()}
    cfg = build_config(
        ctx.params["config_file"], overrides, {**task.train_defaults, "model": "deoldify_s"}
    )
    schedule = NoGANConfig(critic_steps, gan_steps, gan_lr, adv_weight)
    click.echo(train_nogan(cfg, task, schedule, command=" ".join(["pixelsmith", *sys.argv[1:]])))


train_colorize_gan.params[:0] = config_params()
