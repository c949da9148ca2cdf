"""Options: what a task takes, and the flags every front end builds from it, read in one place.

A task's options are its dataclass's public fields (:func:`class_options`: each with its type and
default), described by the class docstring's ``Attributes:`` section (:func:`field_docs`) and by
what :func:`pixelsmith.tasks.option` keeps in a field's metadata (its use, choices, bounds):
:func:`task_fields` joins the three into :class:`Field` s. From them come :func:`get_task`'s checks
(:func:`check_options`), the command line's flags (:func:`field_option`: the task verbs, ``run``,
``video``, ``eval``, ``train``), the deprecated ``--opt KEY=VALUE`` (:func:`parse_options`) and the
web page's form (:mod:`pixelsmith.web.catalog`). The flags of how a network runs (device, bf16,
backend, tile, result size limit) are declared here once too (:func:`run_flags`).

Importing this loads click alone, no torch (``pixelsmith --help`` reads it).
"""

from __future__ import annotations

import dataclasses
import difflib
import inspect
import numbers
import os
import re
import sys
import types
import typing
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

# --- what a task takes ---------------------------------------------------------------------------


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
        default = _default(f)
        kind = hints.get(f.name)
        if kind is None:
            kind = type(default) if default not in (None, dataclasses.MISSING) else Any
        found[f.name] = (kind, default)
    return found


def _default(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return dataclasses.MISSING


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


@dataclass(frozen=True)
class Field:
    """One task option as every front end offers it: ``kind`` is the field's type, ``help`` its
    entry in the class docstring's ``Attributes:``, ``use``, ``choices``, ``minimum`` and
    ``maximum`` what :func:`pixelsmith.tasks.option` declared."""

    name: str
    kind: Any
    default: Any
    help: str = ""
    use: str = "inference"
    choices: tuple[Any, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None

    @property
    def flag(self) -> str:
        """``--render-factor`` for ``render_factor``."""
        return "--" + self.name.replace("_", "-")


def task_fields(cls: type, uses: Iterable[str] = ("inference",)) -> list[Field]:
    """The options of the task class ``cls`` whose use is one of ``uses``, in field order."""
    uses = tuple(uses)
    docs = field_docs(cls)
    known = class_options(cls)
    found = []
    for f in dataclasses.fields(cls) if dataclasses.is_dataclass(cls) else ():
        if f.name not in known or f.metadata.get("use", "inference") not in uses:
            continue
        kind, default = known[f.name]
        choices = f.metadata.get("choices")
        if choices is None and typing.get_origin(kind) is typing.Literal:
            choices = typing.get_args(kind)
        found.append(
            Field(
                name=f.name,
                kind=kind,
                default=None if default is dataclasses.MISSING else default,
                help=docs.get(f.name, ""),
                use=f.metadata.get("use", "inference"),
                choices=None if choices is None else tuple(choices),
                minimum=f.metadata.get("min"),
                maximum=f.metadata.get("max"),
            )
        )
    return found


def field_docs(cls: type) -> dict[str, str]:
    """``{field: description}`` from the ``Attributes:`` section of ``cls``'s docstring (an entry
    may name several fields: ``a, b: ...``), in plain text."""
    lines = inspect.cleandoc(cls.__doc__ or "").splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if line.strip() == "Attributes:")
    except StopIteration:
        return {}
    entries: list[tuple[list[str], list[str]]] = []
    indent = None
    for line in lines[start + 1 :]:
        if not line.strip():
            continue
        depth = len(line) - len(line.lstrip())
        if indent is None:
            indent = depth
        if depth < indent:
            break
        head = re.match(r"\s*([A-Za-z_][\w, ]*):\s*(.*)", line) if depth == indent else None
        if head:
            names = [n.strip() for n in head.group(1).split(",")]
            entries.append((names, [head.group(2)]))
        elif entries:
            entries[-1][1].append(line.strip())
    return {n: plain(" ".join(text)) for names, text in entries for n in names}


def plain(text: str) -> str:
    """reStructuredText markup -> plain text: ``x`` -> x, :func:`~a.b` -> b."""
    text = re.sub(r":\w+:`~?([^`]*?)`", lambda m: m.group(1).rsplit(".", 1)[-1], text)
    return text.replace("``", "")


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


# --- checking values given in Python -------------------------------------------------------------


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


def _simple() -> dict[Any, tuple[Any, Any]]:
    """A field's type -> (the values it takes, how such a value is stored); True is no number
    here. (NumPy is imported here, not at the top: ``pixelsmith --help`` does without it.)"""
    import numpy as np

    return {
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
    simple = _simple()
    if kind not in simple:
        return True, value
    takes, store = simple[kind]
    if not isinstance(value, takes) or (kind is not bool and isinstance(value, simple[bool][0])):
        return False, value
    return True, store(value)


# --- values given as text: --opt KEY=VALUE (deprecated) ------------------------------------------

_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


def convert(text: str, kind: Any) -> Any:
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
                    return convert(text, a)
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


def parse_options(cls: type, pairs: Iterable[str]) -> dict[str, Any]:
    """``["scale=2", "blind=true"]`` -> ``{"scale": 2, "blind": True}`` for the task class ``cls``,
    each value converted to its field's type; ``render-factor`` is ``render_factor``. The
    generated flags (``--scale 2``) are the documented way; this reads ``--opt``.

    Raises:
        click.BadParameter: no ``=``, an unknown or repeated key, or a value of the wrong type,
            in one line that lists the task's options.
    """
    known, name = class_options(cls), getattr(cls, "name", "") or cls.__name__
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
            options[key] = convert(text.strip(), kind)
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


# --- flags ---------------------------------------------------------------------------------------


def _given_type(kind: Any) -> Any:
    """``X`` for ``X | None`` (None is the default's business: the flag's absence)."""
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        given = [a for a in typing.get_args(kind) if a is not type(None)]
        return given[0] if len(given) == 1 else Any
    return kind


def field_option(field: Field) -> click.Option:
    """The flag of a task option: ``--render-factor N`` (an ``IntRange`` from its bounds),
    ``--decoding [annealed|mode|mean]`` (its choices), ``--blind`` (a bool that defaults to
    false; ``--x/--no-x`` for one that defaults to true); its help from the class docstring."""
    kind = _given_type(field.kind)
    lo, hi = field.minimum, field.maximum
    decls = [field.flag, field.name]
    extra: dict[str, Any] = {}
    if field.choices is not None:
        extra["type"] = click.Choice(field.choices)
    elif kind is bool:
        if field.default:
            decls[0] = f"{field.flag}/--no-{field.flag[2:]}"
        else:
            extra["is_flag"] = True
    elif kind is int:
        extra["type"] = click.IntRange(lo, hi) if lo is not None or hi is not None else int
    elif kind is float:
        extra["type"] = click.FloatRange(lo, hi) if lo is not None or hi is not None else float
    elif kind is Path:
        extra["type"] = click.Path(path_type=Path)
    else:
        extra["type"] = str
    shown = field.default not in (None, "") and not (kind is bool and not field.default)
    text = field.help[:1].upper() + field.help[1:]
    return click.Option(decls, default=field.default, show_default=shown, help=text, **extra)


def input_options(inputs: Iterable[str]) -> list[click.Option]:
    """A ``--NAME FILE`` flag per declared per-photo input beside the photo (``--mask``)."""
    return [
        click.Option(
            [f"--{name.replace('_', '-')}", name],
            type=click.Path(),
            default=None,
            help=f"The {name} file, the same for every photo (white marks the hole in a mask); "
            "an input, never written.",
        )
        for name in list(inputs)[1:]
    ]


def given(ctx: click.Context, names: Iterable[str]) -> dict[str, Any]:
    """The values of the parameters ``names`` that the user gave (not their defaults): only
    those go to the task, whose own defaults stand for the rest."""
    from click.core import ParameterSource

    return {
        n: ctx.params[n]
        for n in names
        if n in ctx.params and ctx.get_parameter_source(n) is not ParameterSource.DEFAULT
    }


#: The largest result by default, as ``pixelsmith.io.checks.DEFAULT_MAX_PIXELS`` says (written out
#: here so that ``--help`` loads no torch; a test keeps the two equal).
DEFAULT_MAX_OUTPUT_PIXELS = 256_000_000

device_option = click.option(
    "--device", default="cpu", show_default=True, help="cpu, cuda, mps or auto."
)
bf16_option = click.option("--bf16", is_flag=True, help="Run the network in bfloat16.")
backend_option = click.option(
    "--backend",
    type=click.Choice(["torch", "onnxruntime", "torchscript", "auto"]),
    default=None,
    help="Run the network in PyTorch, or exported (checked against PyTorch, kept in the cache "
    "folder) to ONNX Runtime or TorchScript. Default: $PIXELSMITH_BACKEND, else auto: ONNX "
    "Runtime on the CPU in float32 (the fastest path, BENCHMARKS.md), PyTorch elsewhere.",
)
quiet_option = click.option("--quiet", "-q", is_flag=True, help="No progress bar.")


def network_options(fn):
    """``--device``, ``--bf16`` and ``--backend``, in that order in ``--help``."""
    for option in (backend_option, bf16_option, device_option):
        fn = option(fn)
    return fn


def tile_option(whole: str = "image"):
    """``--tile``: the tile side in input pixels (0: the whole ``whole`` at once)."""
    return click.option(
        "--tile",
        type=click.IntRange(min=0),
        default=None,
        help=f"Tile side in input pixels, at least 16 (0: the whole {whole} at once). Default 256 "
        "(more for a network that sees far); a model with global context (a colorizer) runs whole.",
    )


def max_output_pixels_option(what: str = "results", default: int | None = None):
    """``--max-output-pixels``: refuse ``what`` larger than this (``default``: the library's)."""
    shown = DEFAULT_MAX_OUTPUT_PIXELS if default is None else default
    return click.option(
        "--max-output-pixels",
        type=click.IntRange(min=1),
        default=default,
        help=f"Refuse {what} larger than this many pixels (width x height) [default: {shown}].",
    )


def model_options(fn):
    """``--model`` and ``--weights FILE``, as every verb that runs a task's model takes them."""
    fn = click.option(
        "--weights",
        type=click.Path(),
        default=None,
        help="A weight file for --model (a .safetensors file, or a paper's own checkpoint).",
    )(fn)
    return click.option(
        "--model",
        default=None,
        help="A model of the task: an alias, an architecture, a shipped name (pixelsmith "
        "models) or a weight file [default: the task's own].",
    )(fn)


def run_flags(whole: str = "image", what: str = "results"):
    """The flags of how a network runs, as every verb takes them: ``--model``, ``--weights``,
    ``--tile``, ``--device``, ``--bf16``, ``--backend``, ``--max-output-pixels``, ``-q``."""

    def add(fn):
        for option in (quiet_option, max_output_pixels_option(what), tile_option(whole)):
            fn = option(fn)
        return model_options(network_options(fn))

    return add


def add_params(command: click.Command, params: Iterable[click.Parameter]) -> click.Command:
    """``command`` with ``params`` before its own options; a flag of a task option that another flag of
    the verb already has is a programmer's mistake, named here."""
    taken = {o for p in command.params for o in (*p.opts, *p.secondary_opts)}
    names = {p.name for p in command.params}
    added: list[click.Parameter] = []
    for p in params:
        clash = sorted(taken & {*p.opts, *p.secondary_opts}) or (
            [p.name] if p.name in names else []
        )
        if clash:
            raise ValueError(f"{command.name}: the flag {clash[0]} is declared twice")
        taken |= {*p.opts, *p.secondary_opts}
        names.add(p.name)
        added.append(p)
    arguments = [p for p in command.params if isinstance(p, click.Argument)]
    others = [p for p in command.params if not isinstance(p, click.Argument)]
    command.params = [*arguments, *added, *others]  # the task's flags first in --help
    return command
