"""What a task takes: its dataclass's public fields, each with its type and default.

:func:`class_options` reads them (the one reader behind :func:`pixelsmith.get_task`'s checks,
the command line's ``--opt`` and the web page's form), :func:`check_options` refuses an unknown
name or a value of the wrong type in one line, and :func:`type_name` says a type as a user reads it.
"""

from __future__ import annotations

import dataclasses
import difflib
import numbers
import os
import sys
import types
import typing
from pathlib import Path
from typing import Any


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


def check_options(cls: type, name: str, options: dict[str, Any]) -> None:
    """Raise ``TypeError`` naming the first option of ``options`` that the task ``name`` (class
    ``cls``) does not take, or whose value is not of its field's type."""
    known = class_options(cls)
    for key, value in options.items():
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise TypeError(f"the {name} task has no option {key!r}{hint}; {listing(name, known)}")
        kind = known[key][0]
        if not _fits(value, kind):
            raise TypeError(f"{key} takes {type_name(kind)}, not {value!r}")


def listing(name: str, known: dict[str, tuple[Any, Any]]) -> str:
    """``superres options: scale (int, default 3), ...``: what a task takes, in one line."""
    if not known:
        return f"the {name} task takes no options"
    shown = ", ".join(f"{k} ({type_name(t)}, default {d!r})" for k, (t, d) in known.items())
    return f"{name} options: {shown}"


def _fits(value: Any, kind: Any) -> bool:
    """Whether ``value`` is of ``kind`` (a type this module cannot check always fits)."""
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if kind is Any:
        return True
    if origin in (typing.Union, types.UnionType):
        return any(value is None if a is type(None) else _fits(value, a) for a in args)
    if origin is typing.Literal:
        return value in args
    if kind is bool:
        return isinstance(value, bool)
    if kind is int:
        return isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if kind is float:
        return isinstance(value, numbers.Real) and not isinstance(value, bool)
    if kind is str:  # a text option is often a file's path
        return isinstance(value, str | os.PathLike)
    if kind is Path:
        return isinstance(value, str | Path)
    return True
