"""What the page offers, read from the task registry: tasks, their options, their models.

Every task in :data:`pixelsmith.tasks.TASKS` that restores images (its declared ``inputs`` begin
with an image or a raw frame) is offered; its options are the task's inference options as
:func:`pixelsmith.options.task_fields` reads them for every front end (the command line's flags
too): its dataclass fields, typed by their annotation (or default), with their defaults,
described by the class docstring's ``Attributes:`` section, shaped by what
:func:`pixelsmith.tasks.option` declares (``choices``, ``min``, ``max``); a field whose ``use``
is ``"training"`` or ``"evaluation"`` is left off the page. A task that declares a ``"mask"``
input (``inputs``) gets the photo's hole painted on a canvas (or taken from a mask file).

The model choices of a task are its shipped weights (:func:`pixelsmith.weights.list_pretrained`)
and the weightless architectures registered for it (bicubic, Telea, gamma ...); each shipped model
states the constructor arguments the task imposes (``{"scale": 2}``), so the page lists only the
models that fit the options chosen.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import types
import typing
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from pixelsmith.errors import PixelsmithError

log = logging.getLogger(__name__)

#: Uses of a field (:func:`pixelsmith.tasks.option`) that the page offers; it leaves off
#: ``"training"`` and ``"evaluation"``.
SHOWN_USES = ("inference",)

_KINDS = {"int": int, "float": float, "bool": bool, "str": str}


@dataclass(frozen=True)
class Option:
    """One task option as the page shows it.

    ``kind`` is ``int``, ``float``, ``bool``, ``str`` or ``text`` (any other annotation: passed
    as a string, empty meaning the default). A number whose default is ``None`` (``float |
    None``: the model's own value unless one is given) may be left empty.
    """

    name: str
    kind: str
    default: Any
    help: str = ""
    choices: tuple[Any, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "default": self.default,
            "help": self.help,
            "choices": None if self.choices is None else list(self.choices),
            "min": self.minimum,
            "max": self.maximum,
        }

    def parse(self, value: Any) -> Any:
        """A value from the page (JSON) -> the field's value; a clear error otherwise."""
        if self.kind == "bool":
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in ("true", "false"):
                return value.lower() == "true"
            raise PixelsmithError(f"{self.name} is true or false, not {value!r}")
        if self.kind in ("int", "float"):
            if self.default is None and (value is None or value == ""):
                return None  # left empty: the model's own value
            try:
                number = float(value)
            except (TypeError, ValueError):
                raise PixelsmithError(f"{self.name} is a number, not {value!r}") from None
            if isinstance(value, bool) or not math.isfinite(number):
                raise PixelsmithError(f"{self.name} is a finite number, not {value!r}")
            if self.kind == "int":
                if number != int(number):
                    raise PixelsmithError(f"{self.name} is a whole number, not {value!r}")
                number = int(number)
            if self.minimum is not None and number < self.minimum:
                raise PixelsmithError(f"{self.name} is at least {self.minimum}, not {value!r}")
            if self.maximum is not None and number > self.maximum:
                raise PixelsmithError(f"{self.name} is at most {self.maximum}, not {value!r}")
            value = number
        elif not isinstance(value, str):
            raise PixelsmithError(f"{self.name} is text, not {value!r}")
        elif self.kind == "text" and not value.strip():
            return self.default
        if self.choices is not None and value not in self.choices:
            shown = ", ".join(str(c) for c in self.choices)
            raise PixelsmithError(f"{self.name} is one of {shown}, not {value!r}")
        return value


@dataclass(frozen=True)
class ModelChoice:
    """A model the page offers: its name and the task options it needs (``{"scale": 2}``)."""

    name: str
    requires: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "requires": self.requires}


@dataclass(frozen=True)
class TaskForm:
    """A task as the page offers it."""

    name: str
    title: str
    default_model: str
    options: tuple[Option, ...]
    models: tuple[ModelChoice, ...]
    mask: bool  # the task takes a hole mask (painted on the page)
    takes: tuple[str, ...] = ("image",)  # the kinds of upload it reads: "image", "raw"

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "default_model": self.default_model,
            "options": [o.to_json() for o in self.options],
            "models": [m.to_json() for m in self.models],
            "mask": self.mask,
            "takes": list(self.takes),
        }

    def parse_options(self, given: dict[str, Any]) -> dict[str, Any]:
        """The page's ``{option: value}`` -> the task's keyword arguments (only those given)."""
        if not isinstance(given, dict):
            raise PixelsmithError("options are a JSON object {name: value}")
        known = {o.name: o for o in self.options}
        unknown = sorted(set(given) - set(known))
        if unknown:
            raise PixelsmithError(
                f"the {self.name} task on this page takes {', '.join(known) or 'no options'}, "
                f"not {', '.join(unknown)}"
            )
        return {name: known[name].parse(value) for name, value in given.items()}

    def check_model(self, model: str) -> str | None:
        """The model named on the page (``""``: the task's default) or a clear error: only the
        offered names are loaded, so no name from a client reaches the file system."""
        if not model:
            return None
        if model not in {m.name for m in self.models}:
            raise PixelsmithError(
                f"unknown {self.name} model {model!r}; offered: "
                + ", ".join(m.name for m in self.models)
            )
        return model


def offered_tasks() -> dict[str, TaskForm]:
    """Every registered task the page can run, by name, in registry order."""
    from pixelsmith.tasks import TASKS

    return _offered(tuple(TASKS.items()))


@lru_cache(maxsize=4)
def _offered(registry: tuple[tuple[str, str], ...]) -> dict[str, TaskForm]:
    from pixelsmith.tasks import task_class

    forms = {}
    for name, _ in registry:
        try:
            cls = task_class(name)
            if restores_images(cls):
                forms[name] = task_form(name, cls)
        except Exception:  # one broken task must not take the page down: logged, left off
            log.exception("the web page leaves off the task %r", name)
    return forms


def restores_images(cls: type) -> bool:
    """Whether a task class turns an uploaded file into an image: it declares inputs (a
    classifier declares none) and reads image or camera raw files."""
    return bool(getattr(cls, "inputs", ())) and bool(takes(cls)) and dataclasses.is_dataclass(cls)


def takes(cls: type) -> list[str]:
    """The kinds of upload a task class reads: ``"image"`` and/or ``"raw"``."""
    from pixelsmith.io import IMAGE_EXTENSIONS, RAW_EXTENSIONS

    suffixes = set(cls.input_extensions)
    kinds = (("image", IMAGE_EXTENSIONS), ("raw", RAW_EXTENSIONS))
    return [kind for kind, known in kinds if suffixes & known]


def task_form(name: str, cls: type) -> TaskForm:
    """The form of the task class ``cls`` registered as ``name``: its inference options, as
    the command line's flags are (:func:`pixelsmith.options.task_fields`)."""
    from pixelsmith.options import task_fields

    options = [
        Option(
            name=f.name,
            kind=_kind(f.kind, f.default),
            default=f.default,
            help=f.help,
            choices=f.choices,
            minimum=f.minimum,
            maximum=f.maximum,
        )
        for f in task_fields(cls, SHOWN_USES)
    ]
    task = cls()
    return TaskForm(
        name=name,
        title=getattr(cls, "title", "") or name,
        default_model=getattr(cls, "default_model", ""),
        options=tuple(options),
        models=model_choices(task),
        mask="mask" in cls.inputs,
        takes=tuple(takes(cls)),
    )


def model_choices(task: Any) -> tuple[ModelChoice, ...]:
    """The shipped weights of ``task`` (each with the task options it needs) and the weightless
    architectures registered for it."""
    import json

    from pixelsmith.models import list_models
    from pixelsmith.weights import list_pretrained, read_metadata

    imposed = set(task.model_kwargs())
    shipped = []
    for tag, path in list_pretrained(task.name).items():
        kwargs = json.loads(read_metadata(path).get("arch_kwargs", "{}"))
        shipped.append(ModelChoice(tag, {k: v for k, v in kwargs.items() if k in imposed}))
    with_weights = {m.name.split(".")[0] for m in shipped}
    weightless = [
        ModelChoice(arch, {})
        for arch in list_models(task.name)
        if arch not in with_weights and _weightless(arch, task.model_kwargs())
    ]
    return tuple(shipped + weightless)


class _HasWeights(Exception):
    pass


def _weightless(arch: str, kwargs: dict[str, Any]) -> bool:
    """Whether the architecture ``arch`` builds without parameters (a classical method): its
    constructor is stopped at its first parameter, so no network is built to find out."""
    import threading

    from torch.nn.modules.module import register_module_parameter_registration_hook

    from pixelsmith.models import create_model

    me = threading.get_ident()

    def stop(module: Any, name: str, param: Any) -> None:
        if param is not None and threading.get_ident() == me:
            raise _HasWeights

    handle = register_module_parameter_registration_hook(stop)
    try:
        create_model(arch, **kwargs)
    except _HasWeights:
        return False
    except Exception:  # an architecture these settings cannot build is not offered
        return False
    finally:
        handle.remove()
    return True


def _kind(annotation: Any, default: Any) -> str:
    """The form's kind of a field of type ``annotation`` (``X | None`` is X's: None is the
    model's own value), else of its default's exact type."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        given = [a for a in typing.get_args(annotation) if a is not type(None)]
        annotation = given[0] if len(given) == 1 else Any
    for kind, t in _KINDS.items():
        if annotation is t:
            return kind
    for kind, t in _KINDS.items():  # by exact type: a bool is no int here
        if type(default) is t:
            return kind
    return "text"
