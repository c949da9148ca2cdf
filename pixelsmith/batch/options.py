"""A task's options from the command line, ``--opt scale=2``, by its dataclass's fields: a
task registered later takes its options with no change here."""

from __future__ import annotations

import types
import typing
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import click

from pixelsmith.task_options import class_options, listing, type_name, unknown_option


def task_options(name: str) -> dict[str, tuple[Any, Any]]:
    """A task's settings a user may give: ``{field: (type, default)}`` of its dataclass's public
    fields (a leading ``_`` marks what a task keeps for itself)."""
    from pixelsmith.tasks import task_class

    return class_options(task_class(name))


_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


def _convert(text: str, kind: Any) -> Any:
    """``text`` as a value of ``kind``; ValueError if it is none, TypeError if ``kind`` is not
    something a command line can give."""
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if kind is Any or kind is str:
        return text
    if origin in (typing.Union, types.UnionType):
        if text.lower() == "none" and type(None) in args:
            return None
        for a in args:
            if a is not type(None):
                try:
                    return _convert(text, a)
                except (ValueError, TypeError):
                    continue
        raise ValueError(text)
    if origin is typing.Literal:
        for a in args:
            if str(a) == text:
                return a
        raise ValueError(text)
    if kind is bool:
        if text.lower() in _TRUE | _FALSE:
            return text.lower() in _TRUE
        raise ValueError(text)
    if kind in (int, float):
        return kind(text)
    if kind is Path:
        return Path(text)
    raise TypeError(kind)


def parse_options(name: str, pairs: Iterable[str]) -> dict[str, Any]:
    """``["scale=2", "blind=true"]`` -> ``{"scale": 2, "blind": True}`` for the task ``name``,
    each value converted to its field's type; ``render-factor`` is ``render_factor``.

    Raises:
        click.BadParameter: no ``=``, an unknown or repeated key, or a value of the wrong type,
            in one line that lists the task's options.
    """
    known = task_options(name)

    options: dict[str, Any] = {}
    for pair in pairs:
        key, eq, text = pair.partition("=")
        key = key.strip().replace("-", "_")
        if not eq or not key:
            raise click.BadParameter(
                f"{pair!r} is not KEY=VALUE; {listing(name, known)}", param_hint="--opt"
            )
        if key not in known:
            raise click.BadParameter(unknown_option(name, key, known), param_hint="--opt")
        if key in options:
            raise click.BadParameter(f"{key} is given twice", param_hint="--opt")
        kind = known[key][0]
        try:
            options[key] = _convert(text.strip(), kind)
        except ValueError:
            raise click.BadParameter(
                f"{key}={text!r}: {key} takes {type_name(kind)}", param_hint="--opt"
            ) from None
        except TypeError:
            raise click.BadParameter(
                f"{key} ({type_name(kind)}) cannot be set from the command line",
                param_hint="--opt",
            ) from None
    return options
