"""The one options module (pixelsmith/options.py): a task's options become the same flags in its
verb, ``run``, ``video`` and the web form; the flags of how a network runs are declared once, and
the default size limit is the library's."""

from __future__ import annotations

import click
import pytest

from pixelsmith.cli import main
from pixelsmith.commands.run import run_command
from pixelsmith.io.checks import DEFAULT_MAX_PIXELS
from pixelsmith.options import DEFAULT_MAX_OUTPUT_PIXELS, field_docs
from pixelsmith.video.command import video_command
from pixelsmith.web.command import serve_command


def test_the_written_out_default_is_the_librarys():
    assert DEFAULT_MAX_OUTPUT_PIXELS == DEFAULT_MAX_PIXELS


def _sub(group: click.Group, name: str) -> click.Command:
    return group.get_command(click.Context(group), name)


def _params(command: click.Command) -> dict[str, click.Parameter]:
    return {p.name: p for p in command.params}


COMMANDS = {
    "upscale": lambda: _sub(main, "upscale"),
    "colorize": lambda: _sub(main, "colorize"),
    "inpaint": lambda: _sub(main, "inpaint"),
    "run upscale": lambda: _sub(run_command, "upscale"),
    "video upscale": lambda: _sub(video_command, "upscale"),
    "serve": lambda: serve_command,
}


@pytest.mark.parametrize("name", COMMANDS)
def test_every_verb_parses_tile_and_the_size_limit_alike(name):
    command = COMMANDS[name]()
    params = _params(command)
    for key in ("tile", "max_output_pixels"):
        assert isinstance(params[key].type, click.IntRange)
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


def _flags(command: click.Command) -> dict[str, tuple]:
    """``{name: (flags, type, help)}`` of each option."""
    return {
        p.name: (tuple(p.opts + p.secondary_opts), p.type.to_info_dict(), p.help)
        for p in command.params
        if isinstance(p, click.Option) and p.name != "help"
    }


@pytest.mark.parametrize("verb,task", [("upscale", "superres"), ("colorize", "colorize")])
def test_a_task_has_the_same_flags_in_its_verb_run_and_video(verb, task):
    from pixelsmith.options import task_fields
    from pixelsmith.tasks import task_class

    fields = [f.name for f in task_fields(task_class(task))]
    shared = [*fields, "model", "weights", "tile", "device", "bf16", "backend", "quiet"]
    shared += ["max_output_pixels", "overwrite"]
    verb_flags = _flags(_sub(main, verb))
    for other in (_sub(run_command, verb), _sub(run_command, task), _sub(video_command, verb)):
        flags = _flags(other)
        for name in shared:
            assert flags[name][:2] == verb_flags[name][:2], (other.name, name)
        for name in fields:
            assert flags[name] == verb_flags[name], (other.name, name)


def test_the_web_form_offers_the_flags_options_with_the_same_help():
    pytest.importorskip("fastapi")
    from pixelsmith.tasks import task_class
    from pixelsmith.web.catalog import task_form

    form = task_form("colorize", task_class("colorize"))
    flags = _flags(_sub(main, "colorize"))
    assert [o.name for o in form.options] == [
        "decoding",
        "temperature",
        "correction",
        "render_factor",
    ]
    for o in form.options:
        assert flags[o.name][2].lower() == o.help.lower()
    render = next(o for o in form.options if o.name == "render_factor")
    assert render.minimum == 0 and "render_factor" in flags


def test_field_docs_read_an_attributes_section():
    class Doc:
        """Something.

        Attributes:
            a, b: the first two, with ``code``
                and a second line.
            c: see :func:`~pixelsmith.options.field_docs`.

        Not an attribute: x.
        """

    assert field_docs(Doc) == {
        "a": "the first two, with code and a second line.",
        "b": "the first two, with code and a second line.",
        "c": "see field_docs.",
    }
