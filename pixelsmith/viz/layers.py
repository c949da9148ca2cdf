"""Layers by name: resolve a ``named_modules()`` name and capture what that layer outputs.

Every tool in :mod:`pixelsmith.viz` picks a layer the way PyTorch names it, e.g. ``"conv1"`` or
``"body.0.conv1"``, and reads its output with a forward hook:

    acts = layer_outputs(model, x, ["conv1"])["conv1"]      # (B, C, h, w)

A forward may stop as soon as the wanted layers have run (``stop=True``), so a classifier's
convolutional layers can be read on an image of any size, and nothing after the layer is computed.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import torch
from torch import nn

from pixelsmith.errors import PixelsmithError


class _StopForward(Exception):
    """Raised by a hook to end a forward pass once every wanted layer has run."""


def layer_names(model: nn.Module) -> list[str]:
    """The layers a user is offered: every convolution and every other leaf module, in model order.

    Any other ``named_modules()`` name (a block such as ``"body.0"``) is accepted as well.
    """
    names = []
    for name, module in model.named_modules():
        if name and (
            isinstance(module, nn.modules.conv._ConvNd) or next(module.children(), None) is None
        ):
            names.append(name)
    return names


def get_layer(model: nn.Module, name: str) -> nn.Module:
    """The submodule called ``name`` in ``model.named_modules()``.

    Raises:
        PixelsmithError: no such layer; the message lists :func:`layer_names`.
    """
    module = dict(model.named_modules()).get(name) if name else None
    if module is None:
        raise PixelsmithError(
            f"unknown layer {name!r}; layers of {type(model).__name__}: "
            f"{', '.join(layer_names(model)) or '(none)'}"
        )
    return module


def conv_layer_names(model: nn.Module) -> list[str]:
    """Names of the convolution layers of ``model``, in model order."""
    return [n for n, m in model.named_modules() if isinstance(m, nn.modules.conv._ConvNd)]


def model_in_channels(model: nn.Module) -> int | None:
    """Input channels of ``model``: its :class:`~pixelsmith.models.ModelSpec`'s, else its
    ``in_channels`` attribute, else its first convolution's, else ``None`` (unknown)."""
    spec = model.spec if hasattr(type(model), "spec") else None
    if spec is not None and isinstance(getattr(spec, "in_channels", None), int):
        return spec.in_channels
    c = getattr(model, "in_channels", None)
    if isinstance(c, int):
        return c
    for m in model.modules():
        if isinstance(m, nn.modules.conv._ConvNd):
            return m.in_channels
    return None


def to_model_input(image: torch.Tensor, channels: int | None) -> torch.Tensor:
    """Fit ``(C, H, W)`` or ``(B, C, H, W)`` to a model's channels: ``(B, channels, H, W)``.

    Colour to grey is :func:`pixelsmith.color.rgb_to_grey` (full-range BT.601); grey to colour repeats
    the channel; ``channels=None`` keeps the image's. Values stay in [0, 1].
    """
    x = image[None] if image.dim() == 3 else image
    if x.dim() != 4:
        raise PixelsmithError(
            f"expected an image (C, H, W) or a batch (B, C, H, W), got {tuple(image.shape)}"
        )
    c = x.shape[1]
    if channels is None or c == channels:
        return x
    if c == 3 and channels == 1:
        from pixelsmith.color import rgb_to_grey

        return rgb_to_grey(x)
    if c == 1:
        return x.expand(-1, channels, -1, -1)
    raise PixelsmithError(f"the model takes {channels} channels; cannot convert an image with {c}")


@contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Put ``model`` in eval mode for the block and restore every submodule's mode after it."""
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        yield model
    finally:
        for m, training in modes:
            m.training = training


def layer_outputs(
    model: nn.Module,
    x: torch.Tensor,
    layers: Sequence[str],
    *,
    call: int = 0,
    stop: bool = True,
    grad: bool = False,
) -> dict[str, torch.Tensor]:
    """Run ``model(x)`` and return the outputs of the named layers.

    Args:
        model: any ``nn.Module``; run in eval mode (its modes are restored afterwards).
        x: its input, e.g. ``(B, C, H, W)`` in [0, 1].
        layers: ``named_modules()`` names.
        call: which call of a module that runs more than once per forward (a shared ReLU) to keep.
        stop: end the forward as soon as every layer has produced output ``call``.
        grad: keep the autograd graph (for gradients with respect to ``x``); otherwise detached.

    Returns:
        ``{name: output}``, e.g. ``(B, C, h, w)`` for a convolution. Outputs are copies, so a later
        in-place operation (``ReLU(inplace=True)``) does not change them.

    Raises:
        PixelsmithError: an unknown layer name, or a layer that did not run ``call + 1`` times.
    """
    modules = {name: get_layer(model, name) for name in layers}
    found: dict[str, torch.Tensor] = {}
    counts = dict.fromkeys(modules, 0)

    def make_hook(name: str):
        def hook(module, inputs, output):
            if counts[name] == call:
                out = output[0] if isinstance(output, (tuple, list)) else output
                if not isinstance(out, torch.Tensor):
                    raise PixelsmithError(f"layer {name!r} does not output a tensor")
                found[name] = out.clone() if grad else out.detach().clone()
            counts[name] += 1
            if stop and len(found) == len(modules):
                raise _StopForward

        return hook

    handles = [m.register_forward_hook(make_hook(n)) for n, m in modules.items()]
    try:
        with eval_mode(model), torch.set_grad_enabled(grad):
            model(x)
    except _StopForward:
        pass
    finally:
        for h in handles:
            h.remove()
    missing = [n for n in modules if n not in found]
    if missing:
        raise PixelsmithError(
            f"layer(s) {', '.join(missing)} did not run {call + 1} time(s) in the forward pass"
        )
    return found
