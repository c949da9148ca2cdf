"""Counting what a network costs: parameters, output sizes, multiply-adds, receptive fields.

The lecture's arithmetic, as pure functions (weights only unless ``bias=True``, as the lecture
counts them)::

    fully_connected_params((1, 200, 200), 40_000)       == 1_600_000_000   # "~2B"
    locally_connected_params((1, 200, 200), 40_000, 10) == 4_000_000
    conv_params(1, 1, 10)                               == 100             # + 1 with bias=True
    conv_output_shape((3, 32, 32), 6, 5)                == (6, 28, 28)     # six 5x5 filters

and :func:`summary`, which runs any ``nn.Module`` once with forward hooks and reports per layer the
output shape, parameters, multiply-adds and receptive field::

    print(summary(model, (3, 32, 32)))
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.nn.modules.utils import _pair

from pixelsmith.errors import PixelsmithError
from pixelsmith.nn.layers import LocallyConnected2d
from pixelsmith.nn.shapes import conv_output_shape, conv_output_size

__all__ = [
    "LayerRow",
    "Summary",
    "conv_output_shape",
    "conv_output_size",
    "conv_params",
    "fully_connected_params",
    "locally_connected_params",
    "receptive_field",
    "summary",
]


def fully_connected_params(in_shape: Sequence[int], hidden: int, bias: bool = False) -> int:
    """Weights connecting every value of an input of ``in_shape`` to each of ``hidden`` units
    (``prod(in_shape) * hidden``), plus ``hidden`` biases with ``bias``."""
    return math.prod(in_shape) * hidden + (hidden if bias else 0)


def locally_connected_params(
    in_shape: Sequence[int], hidden: int, kernel: int | tuple[int, int], bias: bool = False
) -> int:
    """Weights when each of ``hidden`` units sees its own ``kernel`` window through all channels.

    ``in_shape`` is ``(C, H, W)``: ``hidden * C * kh * kw`` (plus ``hidden`` biases). The number of
    units is taken as given: the lecture puts 40K units on a 200x200 image, one per pixel.
    """
    c, h, w = in_shape
    kh, kw = _pair(kernel)
    if kh > h or kw > w:
        raise PixelsmithError(f"a {kh}x{kw} window does not fit a {h}x{w} input")
    return hidden * c * kh * kw + (hidden if bias else 0)


def conv_params(
    in_channels: int,
    out_channels: int,
    kernel: int | tuple[int, int],
    bias: bool = False,
    groups: int = 1,
) -> int:
    """Weights of a convolution: ``out_channels * in_channels / groups * kh * kw``, shared by all
    positions, whatever the image size (plus ``out_channels`` biases with ``bias``)."""
    kh, kw = _pair(kernel)
    if in_channels % groups or out_channels % groups:
        raise PixelsmithError(
            f"groups={groups} must divide in_channels={in_channels} and out_channels={out_channels}"
        )
    return out_channels * (in_channels // groups) * kh * kw + (out_channels if bias else 0)


def receptive_field(layers: Iterable[tuple[int, int] | tuple[int, int, int]]) -> int:
    """Receptive field (input pixels along one axis) of a chain of ``(kernel, stride[, dilation])``.

    ``r = 1 + sum_l dilation_l (kernel_l - 1) * prod_{m < l} stride_m``: two 3x3 convolutions see
    5x5; conv 5, pool 2 stride 2, conv 5 sees 14.
    """
    rf, jump = 1, 1
    for layer in layers:
        k, s, d = (*layer, 1) if len(layer) == 2 else layer
        rf += d * (k - 1) * jump
        jump *= s
    return rf


@dataclass
class LayerRow:
    """One call of one module during :func:`summary`'s forward pass (shapes without the batch)."""

    name: str
    """Dotted path in the model (``"features.0.conv"``), or the class name for the model itself."""
    kind: str
    """Class name (``"Conv2d"``)."""
    output_shape: tuple[int, ...]
    """Shape of the (first) output tensor for one input, e.g. ``(6, 28, 28)``."""
    params: int
    """Parameters held by the module itself (counted at its first call only, so shared modules
    are not counted twice)."""
    macs: int
    """Multiply-adds for one input (convolutions, linear and locally-connected layers; 0 for
    the rest, whose cost is comparatively negligible)."""
    receptive_field: tuple[int, int] | None
    """Input pixels ``(rows, cols)`` one output value depends on (``None``: not an image input)."""


@dataclass
class Summary:
    """What :func:`summary` returns; ``str(summary)`` is a table."""

    input_shape: tuple[int, ...]
    rows: list[LayerRow] = field(default_factory=list)
    total_params: int = 0
    trainable_params: int = 0
    total_macs: int = 0

    def table(self) -> str:
        head = ("layer", "kind", "output", "params", "mult-adds", "RF")
        body = [
            (
                r.name,
                r.kind,
                "x".join(map(str, r.output_shape)) or "-",
                f"{r.params:,}",
                f"{r.macs:,}",
                _rf_text(r.receptive_field),
            )
            for r in self.rows
        ]
        widths = [max(len(x[i]) for x in [head, *body]) for i in range(len(head))]

        def line(cells: Sequence[str]) -> str:
            left = [c.ljust(w) for c, w in zip(cells[:2], widths[:2], strict=True)]
            right = [c.rjust(w) for c, w in zip(cells[2:], widths[2:], strict=True)]
            return "  ".join(left + right)

        rule = "-" * len(line(head))
        shape = "x".join(map(str, self.input_shape))
        return "\n".join(
            [
                line(head),
                rule,
                *map(line, body),
                rule,
                f"input {shape}: {self.total_params:,} parameters "
                f"({self.trainable_params:,} trainable), {self.total_macs:,} mult-adds",
            ]
        )

    __str__ = table


def _rf_text(rf: tuple[int, int] | None) -> str:
    if rf is None:
        return "-"
    return str(rf[0]) if rf[0] == rf[1] else f"{rf[0]}x{rf[1]}"


@dataclass
class _Geometry:
    """Receptive field and jump (distance between adjacent outputs) per axis, in input pixels."""

    rf: tuple[float, float]
    jump: tuple[float, float]

    def then(self, kernel, stride, dilation=1) -> _Geometry:
        k, s, d = _pair(kernel), _pair(stride), _pair(dilation)
        rf = tuple(
            r + dd * (kk - 1) * j for r, kk, dd, j in zip(self.rf, k, d, self.jump, strict=True)
        )
        return _Geometry(rf, tuple(j * ss for j, ss in zip(self.jump, s, strict=True)))

    def upsampled(self, factor) -> _Geometry:
        f = _pair(factor)
        return _Geometry(self.rf, tuple(j / ff for j, ff in zip(self.jump, f, strict=True)))


def _next_geometry(
    module: nn.Module,
    g: _Geometry,
    x: torch.Tensor,
    image_hw: tuple[int, int],
) -> _Geometry:
    spatial = x.ndim == 4
    if isinstance(module, nn.ConvTranspose2d):
        k, s = _pair(module.kernel_size), _pair(module.stride)
        d = _pair(module.dilation)
        reach = [math.ceil((dd * (kk - 1) + 1) / ss) for kk, ss, dd in zip(k, s, d, strict=True)]
        return g.then(reach, 1).upsampled(s)
    if isinstance(module, nn.Conv2d | LocallyConnected2d):
        return g.then(module.kernel_size, module.stride, module.dilation)
    if isinstance(module, nn.MaxPool2d | nn.AvgPool2d | nn.LPPool2d) and spatial:
        return g.then(
            module.kernel_size, module.stride or module.kernel_size, getattr(module, "dilation", 1)
        )
    if isinstance(module, nn.AdaptiveMaxPool2d | nn.AdaptiveAvgPool2d) and spatial:
        n = x.shape[-2:]
        o = [a if b is None else b for a, b in zip(n, _pair(module.output_size), strict=True)]
        return g.then(
            [math.ceil(a / b) for a, b in zip(n, o, strict=True)],
            [max(1, a // b) for a, b in zip(n, o, strict=True)],
        )
    if isinstance(module, nn.PixelUnshuffle):
        return g.then(module.downscale_factor, module.downscale_factor)
    if isinstance(module, nn.PixelShuffle):
        return g.upsampled(module.upscale_factor)
    if isinstance(module, nn.Upsample) and module.scale_factor is not None:
        up = g.upsampled(module.scale_factor)
        return (
            up
            if module.mode == "nearest"
            else _Geometry(tuple(r + j for r, j in zip(up.rf, g.jump, strict=True)), up.jump)
        )
    if isinstance(module, nn.Linear | nn.Bilinear) and not spatial:
        return _Geometry((float(image_hw[0]), float(image_hw[1])), g.jump)
    return g


def _macs(module: nn.Module, x: torch.Tensor | None, y: torch.Tensor) -> int:
    out = y[0].numel()
    if isinstance(module, nn.modules.conv._ConvTransposeNd) and x is not None:
        return x[0].numel() * module.out_channels // module.groups * math.prod(module.kernel_size)
    if isinstance(module, nn.modules.conv._ConvNd):
        return out * module.in_channels // module.groups * math.prod(module.kernel_size)
    if isinstance(module, LocallyConnected2d):
        return out * module.in_channels * math.prod(module.kernel_size)
    if isinstance(module, nn.Linear):
        return out * module.in_features
    return 0


def _first_tensor(obj) -> torch.Tensor | None:
    if isinstance(obj, torch.Tensor):
        return obj
    if isinstance(obj, list | tuple):
        for o in obj:
            t = _first_tensor(o)
            if t is not None:
                return t
    if isinstance(obj, dict):
        return _first_tensor(list(obj.values()))
    return None


@torch.no_grad()
def summary(
    model: nn.Module,
    input_shape: Sequence[int],
    *,
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
) -> Summary:
    """Run ``model`` once on a zero input of ``(1, *input_shape)`` and account for every layer.

    Works on any ``nn.Module``: forward hooks on its leaf modules (and on any module holding
    parameters of its own) record one :class:`LayerRow` per call, in execution order. The model
    runs in eval mode, on ``device`` (default: where its parameters are; ``"meta"`` counts a model
    too big to allocate) and in ``dtype`` (default: its parameters').

    Receptive fields compose ``(kernel, stride, dilation)`` along the path the data took: each
    hooked module's input tensor is looked up among the outputs seen so far. That is exact for
    sequential conv nets (convolutions, locally-connected layers, pooling, elementwise layers). It
    is an approximation for branching nets: a tensor made outside a module (``a + b``,
    ``torch.cat``, functional calls in ``forward``) takes the geometry of the most recently run
    module's output, which is right for residual blocks whose last module is on the long branch but
    may understate a concatenation of branches of different reach. Transposed convolutions and
    non-nearest upsampling are approximated; a linear layer on flattened features sees the whole
    image. Receptive fields are given in input pixels, not clipped to the image.

    Returns:
        A :class:`Summary`: ``rows``, ``total_params`` (every distinct parameter of ``model``, used
        or not), ``trainable_params``, ``total_macs`` (sum over rows); ``print()`` it for a table.
    """
    input_shape = tuple(int(n) for n in input_shape)
    first = next(model.parameters(), None)
    device = (
        torch.device(device)
        if device is not None
        else (first.device if first is not None else torch.device("cpu"))
    )
    dtype = dtype or (
        first.dtype if first is not None and first.is_floating_point() else torch.float32
    )
    x = torch.zeros((1, *input_shape), device=device, dtype=dtype)
    image_hw = input_shape[-2:] if len(input_shape) >= 3 else None

    names = {m: n for n, m in model.named_modules()}
    seen_params: set[int] = set()
    geometry: dict[int, tuple[torch.Tensor, _Geometry]] = {}
    start = _Geometry((1.0, 1.0), (1.0, 1.0))
    geometry[id(x)] = (x, start)
    state = {"last": start}
    rows: list[LayerRow] = []

    def hook(module: nn.Module, args, output) -> None:
        inp, out = _first_tensor(args), _first_tensor(output)
        if out is None:
            return
        own = [p for p in module.parameters(recurse=False) if id(p) not in seen_params]
        seen_params.update(id(p) for p in own)
        rf = None
        if image_hw is not None:
            known = geometry.get(id(inp)) if inp is not None else None
            g_in = known[1] if known is not None and known[0] is inp else state["last"]
            if inp is None or any(True for _ in module.children()):
                g = state["last"]  # a container's output: what its last inner module made
            else:
                g = _next_geometry(module, g_in, inp, image_hw)
            geometry[id(out)] = (out, g)
            state["last"] = g
            rf = (math.ceil(g.rf[0] - 1e-9), math.ceil(g.rf[1] - 1e-9))
        rows.append(
            LayerRow(
                name=names.get(module) or type(module).__name__,
                kind=type(module).__name__,
                output_shape=tuple(out.shape[1:]),
                params=sum(p.numel() for p in own),
                macs=_macs(module, inp, out),
                receptive_field=rf,
            )
        )

    hooked = [
        m
        for m in model.modules()
        if not any(True for _ in m.children()) or any(True for _ in m.parameters(recurse=False))
    ]
    handles = [m.register_forward_hook(hook) for m in hooked]
    was_training = model.training
    try:
        model.eval()
        model(x)
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)

    params = list(model.parameters())
    return Summary(
        input_shape=input_shape,
        rows=rows,
        total_params=sum(p.numel() for p in params),
        trainable_params=sum(p.numel() for p in params if p.requires_grad),
        total_macs=sum(r.macs for r in rows),
    )
