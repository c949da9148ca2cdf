"""``pixelsmith video TASK IN OUT``: the command line of :func:`pixelsmith.video.process_video`.

Imports click alone at module level: torch, PyAV and the tasks load when the command runs.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from pixelsmith.errors import PixelsmithError
from pixelsmith.run_options import max_output_pixels_option, network_options, tile_option
from pixelsmith.video.defaults import CRF, MOTION, SCENE_CUT, SMOOTH_STRENGTH

#: The other verbs' names for their tasks, so that ``pixelsmith video upscale`` reads as
#: ``pixelsmith upscale`` does.
VERB_TASKS = {"upscale": "superres", "enhance": "lowlight"}


def task_name(name: str) -> str:
    """A task's registered name from what a user typed (``upscale`` -> ``superres``)."""
    return VERB_TASKS.get(name, name)


def parse_options(task: str, pairs: tuple[str, ...] | list[str]) -> dict[str, Any]:
    """``KEY=VALUE`` strings -> the task's options, each converted to its field's type, as
    ``pixelsmith run --opt`` takes them (:func:`pixelsmith.batch.options.parse_options`), with
    a bad one as a :class:`~pixelsmith.errors.PixelsmithError`."""
    from pixelsmith.batch.options import parse_options as parse

    try:
        return parse(task, pairs)
    except click.BadParameter as e:
        raise PixelsmithError(f"--opt: {e.message}") from None


@click.command("video")
@click.argument("task")
@click.argument("input_path", metavar="IN", type=click.Path(dir_okay=False))
@click.argument("output_path", metavar="OUT", type=click.Path(dir_okay=False))
@click.option(
    "--model", default=None, help="A model for TASK (default: its own), as the task's verb takes."
)
@click.option(
    "--opt",
    "opts",
    multiple=True,
    metavar="KEY=VALUE",
    help="A task option, repeatable: --opt scale=2 (upscale), --opt temperature=0.3 (colorize), "
    "--opt strength=0.8 (enhance).",
)
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
@tile_option("frame")
@network_options
@max_output_pixels_option("output frames")
def video_command(
    task, input_path, output_path, model, opts, smooth, scene_cut, motion, crf, **kwargs
) -> None:
    """Run TASK on every frame of the video IN and write OUT (.mp4, .m4v, .mov or .mkv).

    TASK is colorize, upscale (superres), enhance (lowlight) or any task that takes one image.
    Frame rate, timestamps and frame count are kept, audio is copied unchanged, and colorized
    colours are smoothed over time so that they do not flicker.
    """
    try:
        from pixelsmith.video.process import process_video

        name = task_name(task)
        report = process_video(
            name,
            input_path,
            output_path,
            model,
            smooth=smooth,
            scene_cut=scene_cut,
            motion=motion,
            crf=crf,
            progress=True,
            **kwargs,
            **parse_options(name, opts),
        )
    except PixelsmithError as e:
        click.echo(f"pixelsmith: error: {e}", err=True)
        sys.exit(2)
    w, h = report.size
    audio = ", ".join(report.audio) or "none"
    click.echo(
        f"pixelsmith: {report.frames} frames, {w}x{h} at {float(report.rate):g} fps, "
        f"{report.codec}, audio copied: {audio}, smoothing {report.smoothing:g}, "
        f"{report.seconds:.1f} s ({report.fps:.2f} frames/s)",
        err=True,
    )
    click.echo(report.path)
