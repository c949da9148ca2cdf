"""Model registry: architectures register by decorator and are created by name.

    @register_model(task="superres")
    def srcnn_955(**kw) -> nn.Module: ...

    model = create_model("srcnn_955", scale=3)
    list_models(task="superres")

The registry holds *constructors* only; loading trained weights is :func:`pixelsmith.weights.load_model`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

from torch import nn

from pixelsmith.errors import PixelsmithError

_MODELS: dict[str, Callable[..., nn.Module]] = {}
_TASKS: dict[str, str] = {}


def register_model(*, task: str) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
    """Decorator: register a constructor under its own name, for ``task`` (e.g. ``"superres"``)."""

    def register(fn: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        name = fn.__name__
        if name in _MODELS:
            raise ValueError(f"model {name!r} is already registered")
        _MODELS[name], _TASKS[name] = fn, task
        return fn

    return register


def list_models(task: str | None = None) -> list[str]:
    """Names of the registered architectures (of one task, if given), sorted."""
    return sorted(n for n in _MODELS if task is None or _TASKS[n] == task)


def model_task(name: str) -> str:
    """The task a registered architecture is for."""
    return _TASKS[name]


def create_model(name: str, **kwargs) -> nn.Module:
    """Build the architecture ``name`` with freshly initialised weights.

    Keyword arguments go to the constructor (for example ``scale=3``). The model remembers how it was
    built in ``model.pixelsmith_arch = (name, kwargs)`` so weight files can record it.
    """
    try:
        fn = _MODELS[name]
    except KeyError:
        raise PixelsmithError(
            f"unknown model {name!r}; registered models: {', '.join(list_models())}"
        ) from None
    try:
        model = fn(**kwargs)
    except TypeError as e:  # an option this architecture does not take
        sig = inspect.signature(fn)
        params = [p for p in sig.parameters if p != "kw"]
        raise PixelsmithError(
            f"model {name!r} cannot be built with {sorted(kwargs)} ({e}); "
            f"it takes: {', '.join(params) or 'no options'}"
        ) from None
    model.pixelsmith_arch = (name, dict(kwargs))
    return model
