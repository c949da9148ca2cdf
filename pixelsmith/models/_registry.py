"""Model registry: architectures register by decorator and are created by name.

    @register_model
    def srcnn_955(**kw) -> nn.Module: ...

    model = create_model("srcnn_955", scale=3)

The registry holds *constructors* only; loading trained weights is :func:`pixelsmith.weights.load_model`.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from pixelsmith.errors import PixelsmithError

_MODELS: dict[str, Callable[..., nn.Module]] = {}


def register_model(fn: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
    """Register ``fn`` under its own name; a second registration of a name is an error."""
    name = fn.__name__
    if name in _MODELS:
        raise ValueError(f"model {name!r} is already registered")
    _MODELS[name] = fn
    return fn


def list_models() -> list[str]:
    """Names of all registered architectures, sorted."""
    return sorted(_MODELS)


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
    model = fn(**kwargs)
    model.pixelsmith_arch = (name, dict(kwargs))
    return model
