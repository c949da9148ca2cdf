"""The options shared by every verb that runs a network (pixelsmith/run_options.py): one
declaration, the same parsing everywhere, and the default size limit as the library's."""

from __future__ import annotations

import click
import pytest

from pixelsmith.batch.command import run_command
from pixelsmith.cli import main
from pixelsmith.io.checks import DEFAULT_MAX_PIXELS
from pixelsmith.run_options import DEFAULT_MAX_OUTPUT_PIXELS
from pixelsmith.video.command import video_command
from pixelsmith.web.command import serve_command


def test_the_written_out_default_is_the_librarys():
    assert DEFAULT_MAX_OUTPUT_PIXELS == DEFAULT_MAX_PIXELS


def _params(command: click.Command) -> dict[str, click.Parameter]:
    return {p.name: p for p in command.params}


@pytest.mark.parametrize(
    "command",
    [
        main.commands["upscale"],
        main.commands["colorize"],
        main.commands["inpaint"],
        run_command,
        video_command,
        serve_command,
    ],
    ids=lambda c: c.name,
)
def test_every_verb_parses_tile_and_the_size_limit_alike(command):
    params = _params(command)
    for name in ("tile", "max_output_pixels"):
        p = params[name]
        assert isinstance(p.type, click.IntRange)
    ctx = click.Context(command)
    assert params["tile"].type_cast_value(ctx, "0") == 0
    with pytest.raises(click.BadParameter):
        params["tile"].type_cast_value(ctx, "-1")
    with pytest.raises(click.BadParameter):
        params["max_output_pixels"].type_cast_value(ctx, "0")
    limit = params["max_output_pixels"]
    shown = 100_000_000 if command is serve_command else DEFAULT_MAX_OUTPUT_PIXELS
    assert f"[default: {shown}]" in limit.help
    assert limit.default == (100_000_000 if command is serve_command else None)
