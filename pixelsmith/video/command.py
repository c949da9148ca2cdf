"""``pixelsmith video TASK IN OUT``: the command line of :func:`pixelsmith.video.process_video`,
a subcommand per task (its name or its verb) with the task verb's flags.

Imports click alone at module level: torch, PyAV and the tasks load when the command runs.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from pixelsmith.commands.tasks import TaskGroup, summary, task_named
from pixelsmith.errors import PixelsmithError
from pixelsmith.options import add_params, run_flags
from pixelsmith.video.defaults import CRF, MOTION, SCENE_CUT, SMOOTH_STRENGTH


def task_name(name: str) -> str:
    """A task's registered name from what a user typed: its name or its verb (``upscale`` ->
    ``superres``)."""
    return task_named(name) or name


def parse_options(task: str, pairs: tuple[str, ...] | list[str]) -> dict[str, Any]:
    """``KEY=VALUE`` strings -> the task's options, each converted to its field's type, as
    ``--opt`` takes them (:func:`pixelsmith.options.parse_options`), with a bad one as a
    :class:`~pixelsmith.errors.PixelsmithError`."""
    from pixelsmith.options import parse_options as parse

    try:
        return parse(task, pairs)
    except click.BadParameter as e:
        raise PixelsmithError(f"--opt: {e.message}") from None


def _shared_params() -> list[click.Parameter]:
    from pixelsmith.commands.run import opt_option

    @click.command()
    @click.argument("input_path", metavar="IN", type=click.Path(dir_okay=False))
    @click.argument("output_path", metavar="OUT", type=click.Path(dir_okay=False))
    @opt_option
    @click.option(
        "--smooth",
        type=click.FloatRange(0, 1, max_open=True),
        default=None,
        help="Temporal smoothing of chroma: the weight of the past in [0, 1) (0: off) "
        f"[default: {SMOOTH_STRENGTH} for colorize, 0 otherwise].",
    )
    @click.option(
        "--scene-cut",
        type=click.FloatRange(min=0, min_open=True),
        default=SCENE_CUT,
        show_default=True,
        help="Mean change of lightness (L*, 0-100) between frames that starts a new scene and "
        "resets the smoothing.",
    )
    @click.option(
        "--motion",
        type=click.FloatRange(min=0),
        default=MOTION,
        show_default=True,
        help="Change of local lightness at which a pixel stops being smoothed (0: smooth moving "
        "pixels too).",
    )
    @click.option(
        "--crf",
        type=click.IntRange(0, 51),
        default=CRF,
        show_default=True,
        help="H.264 quality: 0 lossless, 18 visually transparent, 51 smallest.",
    )
    @click.option("--overwrite", is_flag=True, help="Replace OUT if it exists (never IN).")
    @run_flags(whole="frame", what="output frames")
    def shared(**kwargs: Any) -> None:
        pass

    return shared.params


def video_task_command(task: str, name: str) -> click.Command:
    """``pixelsmith video TASK IN OUT`` for the registered task ``task``."""
    from pixelsmith.commands.restore import model_help, task_params
    from pixelsmith.commands.run import task_options_given

    params = task_params(task)

    @click.pass_context
    def callback(ctx: click.Context, **_: Any) -> None:
        options, inputs = task_options_given(ctx, task)
        taken = {"opts", *(p.name for p in params)}
        run_video(task, options, inputs, **{k: v for k, v in ctx.params.items() if k not in taken})

    command = click.Command(
        name,
        callback=callback,
        params=_shared_params(),
        help=f"Run {task} on every frame of the video IN and write OUT (.mp4, .m4v, .mov or "
        f".mkv).\n\n{summary(task)}\n\nFrame rate, timestamps and frame count are kept, audio "
        "is copied unchanged, and colorized colours are smoothed over time so that they do not "
        "flicker.",
        short_help=f"Run {task} on every frame of a video.",
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    next(p for p in command.params if p.name == "model").help = model_help(task)
    return add_params(command, params)


class _VideoGroup(TaskGroup):
    """Lists the tasks that run on frames (importing them: only for ``video --help``)."""

    def task_names(self) -> dict[str, str]:
        from pixelsmith.video.process import video_tasks

        return {t: t for t in video_tasks()}


@click.group(
    "video",
    cls=_VideoGroup,
    make=video_task_command,
    subcommand_metavar="TASK IN OUT [OPTIONS]",
    context_settings={"help_option_names": ["-h", "--help"]},
)
def video_command() -> None:
    """Run TASK (colorize, upscale or superres, enhance or lowlight, or any task that takes one
    image) on every frame of the video IN and write OUT; the options are the task verb's:
    pixelsmith video TASK --help."""


def run_video(
    task: str,
    options: dict[str, Any],
    inputs: dict[str, Any],
    *,
    input_path: str,
    output_path: str,
    model: str | None,
    weights: str | None,
    quiet: bool,
    **kwargs: Any,
) -> None:
    """Run :func:`~pixelsmith.video.process_video`; a PixelsmithError is one line, exit 1."""
    try:
        from pixelsmith.resolver import with_weights
        from pixelsmith.video.process import process_video

        if inputs:
            raise PixelsmithError(f"the {task} task takes {', '.join(inputs)} beside each frame")
        report = process_video(
            task, input_path, output_path, with_weights(model, weights),
            progress=False if quiet else sys.stderr.isatty(), **kwargs, **options,
        )  # fmt: skip
    except PixelsmithError as e:
        click.echo(f"pixelsmith: error: {e}", err=True)
        sys.exit(1)
    w, h = report.size
    audio = ", ".join(report.audio) or "none"
    click.echo(
        f"pixelsmith: {report.frames} frames, {w}x{h} at {float(report.rate):g} fps, "
        f"{report.codec}, audio copied: {audio}, smoothing {report.smoothing:g}, "
        f"{report.seconds:.1f} s ({report.fps:.2f} frames/s)",
        err=True,
    )
    click.echo(report.path)
