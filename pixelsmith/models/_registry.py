"""Model registry: architectures register by decorator and are created by name.

    @register_model(tasks=("superres",))
    def srcnn_955(**kw) -> nn.Module: ...

    model = create_model("srcnn_955", scale=3)
    list_models(task="superres")
    model_spec(model)        # ModelSpec(in_channels=1, out_channels=1, scale=3, ...)

Every registered model declares a :class:`ModelSpec` (its ``spec`` property): what tiling and the
tasks need to know about it, stated once instead of guessed from attributes. One architecture may
serve several tasks (a U-Net for colorization, low-light and inpainting).

The registry holds *constructors* only; loading trained weights is :func:`pixelsmith.resolver.load_model`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from pixelsmith.errors import PixelsmithError


@dataclass(frozen=True)
class ModelSpec:
    """What a model declares about its inputs and outputs.

    Attributes:
        in_channels: channels of the (first) input.
        out_channels: channels of the (first) output.
        scale: output side / input side (SR: 2, 3, 4; same-size models: 1).
        receptive_field: side of the receptive field in input pixels, odd; ``None`` for a model
            with global context (a classifier, attention over the whole image), which cannot be
            tiled and runs on the whole input.
        size_multiple: input sides must be multiples of this (``2 ** depth`` for a U-Net); tiling
            also keeps window offsets on multiples of it, where pooling grids line up.
    """

    in_channels: int
    out_channels: int
    scale: int = 1
    receptive_field: int | None = None
    size_multiple: int = 1

    @property
    def tileable(self) -> bool:
        return self.receptive_field is not None

    @property
    def radius(self) -> int:
        """Input pixels of context each side of an output pixel (tileable models only)."""
        if self.receptive_field is None:
            raise ValueError("a model with global context has no receptive radius")
        return (self.receptive_field - 1) // 2


_MODELS: dict[str, Callable[..., nn.Module]] = {}
_TASKS: dict[str, tuple[str, ...]] = {}


def register_model(
    *, tasks: tuple[str, ...]
) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
    """Decorator: register a constructor under its own name, for ``tasks`` (e.g. ``("superres",)``)."""
    if isinstance(tasks, str):
        raise TypeError("tasks is a tuple of task names, e.g. tasks=('superres',)")

    def register(fn: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        name = fn.__name__
        if name in _MODELS:
            raise ValueError(f"model {name!r} is already registered")
        _MODELS[name], _TASKS[name] = fn, tuple(tasks)
        return fn

    return register


def list_models(task: str | None = None) -> list[str]:
    """Names of the registered architectures (of one task, if given), sorted."""
    return sorted(n for n in _MODELS if task is None or task in _TASKS[n])


def model_tasks(name: str) -> tuple[str, ...]:
    """The tasks a registered architecture serves."""
    return _TASKS[name]


def model_spec(model: nn.Module) -> ModelSpec:
    """The :class:`ModelSpec` that ``model`` declares (its ``spec`` property)."""
    spec = model.spec if hasattr(type(model), "spec") else None
    if not isinstance(spec, ModelSpec):
        raise TypeError(
            f"{type(model).__name__} declares no ModelSpec; give it a `spec` property "
            "(see pixelsmith.models.ModelSpec)"
        )
    return spec


def model_device(model: nn.Module) -> torch.device:
    """The device of ``model``'s first parameter or buffer (CPU for a model with neither)."""
    for t in (*model.parameters(), *model.buffers()):
        return t.device
    return torch.device("cpu")


def model_dtype(model: nn.Module) -> torch.dtype | None:
    """The dtype of ``model``'s first floating parameter or buffer, or ``None`` if it has none."""
    for t in (*model.parameters(), *model.buffers()):
        if t.is_floating_point():
            return t.dtype
    return None


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
    model_spec(model)
    model.pixelsmith_arch = (name, dict(kwargs))
    return model
