"""A task's options from the command line, ``--opt scale=2``, by its dataclass's fields: a
task registered later takes its options with no change here."""

from __future__ import annotations

import dataclasses
import difflib
import sys
import types
import typing
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import click


def task_options(name: str) -> dict[str, tuple[Any, Any]]:
    """A task's settings a user may give: ``{field: (type, default)}`` of its dataclass's public
    fields (a leading ``_`` marks what a task keeps for itself)."""
    from pixelsmith.tasks import task_class

    return class_options(task_class(name))


def class_options(cls: type) -> dict[str, tuple[Any, Any]]:
    """:func:`task_options` of a task class: each public field's type (its annotation resolved;
    the default's type where it cannot be) and default."""
    if not dataclasses.is_dataclass(cls):
        return {}
    try:
        hints = typing.get_type_hints(cls)
    except Exception:  # an annotation that names a type only imported for type checking
        hints = _field_hints(cls)
    found = {}
    for f in dataclasses.fields(cls):
        if f.name.startswith("_") or not f.init:
            continue
        default = f.default
        if default is dataclasses.MISSING and f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        kind = hints.get(f.name)
        if kind is None:
            kind = type(default) if default not in (None, dataclasses.MISSING) else Any
        found[f.name] = (kind, default)
    return found


def _field_hints(cls: type) -> dict[str, Any]:
    """The annotations of ``cls`` and its bases resolved one by one, as ``typing.get_type_hints``
    resolves them all at once: a field whose annotation cannot be resolved is left out, and the
    others keep theirs."""
    hints: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        module = sys.modules.get(klass.__module__)
        names = dict(vars(module)) if module is not None else {}
        for name, annotation in vars(klass).get("__annotations__", {}).items():
            if isinstance(annotation, str):
                try:
                    annotation = eval(annotation, names, dict(vars(klass)))  # noqa: S307
                except Exception:
                    hints.pop(name, None)
                    continue
            hints[name] = annotation
    return hints


def type_name(kind: Any) -> str:
    """``int``, ``bool``, ``float | None``, ``one of a, b``: a field's type as a user reads it."""
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if kind is Any:
        return "text"
    if origin is typing.Literal:
        return "one of " + ", ".join(str(a) for a in args)
    if origin in (typing.Union, types.UnionType):
        return " | ".join("None" if a is type(None) else type_name(a) for a in args)
    return getattr(kind, "__name__", str(kind))


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

    def listing() -> str:
        if not known:
            return f"the {name} task takes no options"
        shown = ", ".join(f"{k} ({type_name(t)}, default {d!r})" for k, (t, d) in known.items())
        return f"{name} options: {shown}"

    options: dict[str, Any] = {}
    for pair in pairs:
        key, eq, text = pair.partition("=")
        key = key.strip().replace("-", "_")
        if not eq or not key:
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE; {listing()}", param_hint="--opt")
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise click.BadParameter(
                f"the {name} task has no option {key!r}{hint}; {listing()}", param_hint="--opt"
            )
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
