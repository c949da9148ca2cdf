"""What a task takes: its dataclass's public fields, each with its type and default.

:func:`class_options` reads them (the one reader behind :func:`pixelsmith.get_task`'s checks,
the command line's ``--opt`` and the web page's form), :func:`check_options` refuses an unknown
name or a value of the wrong type in one line, and :func:`type_name` says a type as a user reads it.
Importing this loads no torch (``pixelsmith --help`` reads it).
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

import numpy as np


def class_options(cls: type) -> dict[str, tuple[Any, Any]]:
    """The settings a user may give a task class: ``{field: (type, default)}`` of its public
    fields (a leading ``_`` marks what a task keeps for itself); each type is the field's
    annotation resolved, or the default's type where it cannot be."""
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


def check_options(cls: type, name: str, options: dict[str, Any]) -> dict[str, Any]:
    """``options`` for the task ``name`` (class ``cls``), each value as its field's type (a NumPy
    integer as an ``int``, a path as a ``str``, ...). ``TypeError`` names the first option the
    task does not take, or whose value is not of its field's type."""
    known = class_options(cls)
    checked = {}
    for key, value in options.items():
        if key not in known:
            raise TypeError(unknown_option(name, key, known))
        kind = known[key][0]
        ok, checked[key] = _as(value, kind)
        if not ok:
            raise TypeError(f"{key} takes {type_name(kind)}, not {value!r}")
    return checked


def unknown_option(name: str, key: str, known: dict[str, tuple[Any, Any]]) -> str:
    """The message for an option ``key`` that the task ``name`` does not take."""
    close = difflib.get_close_matches(key, known, n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    return f"the {name} task has no option {key!r}{hint}; {listing(name, known)}"


def listing(name: str, known: dict[str, tuple[Any, Any]]) -> str:
    """``superres options: scale (int, default 3), ...``: what a task takes, in one line."""
    if not known:
        return f"the {name} task takes no options"
    shown = ", ".join(f"{k} ({type_name(t)}, default {d!r})" for k, (t, d) in known.items())
    return f"{name} options: {shown}"


# a field's type -> (the values it takes, how such a value is stored); True is no number here
_SIMPLE: dict[Any, tuple[Any, Any]] = {
    bool: (bool | np.bool_, bool),
    int: (numbers.Integral, int),
    float: (numbers.Real, float),
    str: (str | os.PathLike, os.fspath),  # a text option is often a file's path
    Path: (str | os.PathLike, Path),
}


def _as(value: Any, kind: Any) -> tuple[bool, Any]:
    """``(whether value is of kind, value as kind)``: a NumPy scalar as the Python number, a path
    as text; a type this module cannot check takes any value as it is."""
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (typing.Union, types.UnionType):
        if value is None:
            return type(None) in args, None
        for a in args:
            if a is not type(None):
                ok, converted = _as(value, a)
                if ok:
                    return True, converted
        return False, value
    if origin is typing.Literal:
        return value in args, value
    if kind not in _SIMPLE:
        return True, value
    takes, store = _SIMPLE[kind]
    if not isinstance(value, takes) or (kind is not bool and isinstance(value, bool | np.bool_)):
        return False, value
    return True, store(value)
