"""Zero-DCE (Guo, Li, Guo, Loy, Hou, Kwong, Cong; CVPR 2020): low-light enhancement as curve estimation.

A small network, DCE-Net, looks at a dark sRGB image ``I`` in [0, 1] and predicts, per pixel and per
colour channel, the parameters of ``n = 8`` quadratic light-enhancement curves, applied in turn:

    LE_0 = I,    LE_k = LE_{k-1} + alpha_k * LE_{k-1} * (1 - LE_{k-1}),    alpha_k in [-1, 1]

Each curve maps [0, 1] onto itself monotonically with 0 and 1 fixed, so the output needs no clamp.
DCE-Net is seven 3x3 convolutions of 32 channels with ReLU and symmetric skips (conv5 sees
``cat(x3, x4)``, conv6 ``cat(x2, x5)``, conv7 ``cat(x1, x6)``); conv7 gives ``3 n = 24`` channels
through tanh. No pooling, no batch norm: the receptive field is 15 pixels.

Sign: the authors' code (``Zero-DCE_code/model.py``, ``enhance_net_nopool``) applies each curve as
``x = x + r * (x**2 - x)`` with ``r`` the tanh output, so the paper's ``alpha = -r``.
:meth:`DCENet.curves` returns ``alpha`` (the paper's sign) and the output equals the authors'.

The authors' checkpoint (``Epoch99.pth``, a plain state dict with keys ``e_conv1.weight`` ...
``e_conv7.bias``) loads unchanged with ``load_state_dict``, or with :func:`load_official_zero_dce`.

Fast inference (Zero-DCE++'s trick): the curves vary slowly, so they can be estimated on a
downscaled copy (antialiased bilinear), upsampled bilinearly and applied at full size
(``DCENet(curve_side=512)`` or ``model.enhance(x, max_side=512)``). ``curve_side=None`` (the
default) estimates them at full resolution, as the authors do.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from pixelsmith.errors import PixelsmithError
from pixelsmith.models._registry import ModelSpec, register_model
from pixelsmith.nn.checkpoint import check_state, read_state_dict

ITERATIONS = 8  # curves per channel in the paper and the authors' checkpoint
WIDTH = 32


def apply_curves(x: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """Apply ``n`` light-enhancement curves ``LE(x) = x + a * x * (1 - x)`` in turn.

    Args:
        x: ``(N, C, H, W)`` image in [0, 1].
        alpha: ``(N, C*n, H, W)`` curve parameters in [-1, 1]; channels ``k*C .. k*C + C - 1``
            are iteration ``k``'s (for RGB: ``[R1, G1, B1, R2, G2, B2, ...]``).

    Returns:
        ``(N, C, H, W)``: the enhanced image, in [0, 1] when ``x`` and ``alpha`` are in range.
    """
    c = x.shape[1]
    if x.ndim != 4 or alpha.ndim != 4 or alpha.shape[1] % c != 0:
        raise ValueError(
            f"expected x (N, C, H, W) and alpha (N, C*n, H, W); got {tuple(x.shape)} and "
            f"{tuple(alpha.shape)}"
        )
    if alpha.shape[-2:] != x.shape[-2:]:
        raise ValueError(
            f"alpha is {tuple(alpha.shape[-2:])} but x is {tuple(x.shape[-2:])}: upsample it first"
        )
    for a in alpha.split(c, dim=1):
        x = _curve(x, a)
    return x


def _curve(x: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """One curve, ``x + a * (x - x^2)``: two fused multiply-adds, one temporary."""
    return torch.addcmul(x, a, torch.addcmul(x, x, x, value=-1))


def _curve_grid(
    h: int, w: int, max_side: int | None, scale: float | None
) -> tuple[int, int] | None:
    """The size ``(h', w')`` to estimate curves at, or ``None`` for full resolution."""
    if max_side is not None and scale is not None:
        raise ValueError("give max_side or scale, not both")
    if max_side is not None:
        if max_side < 1:
            raise ValueError(f"max_side must be >= 1, not {max_side}")
        factor = max(h, w) / max_side
    elif scale is not None:
        if scale < 1:
            raise ValueError(f"scale is a downscale factor >= 1, not {scale}")
        factor = float(scale)
    else:
        return None
    if factor <= 1:
        return None
    return max(1, round(h / factor)), max(1, round(w / factor))


class DCENet(nn.Module):
    """DCE-Net: ``(N, 3, H, W)`` sRGB in [0, 1] -> the enhanced image ``(N, 3, H, W)`` in [0, 1].

    Args:
        width: channels of the hidden convolutions (32 in the paper).
        iterations: curves per channel ``n`` (8 in the paper); conv7 has ``3 n`` outputs.
        curve_side: if set, :meth:`forward` estimates the curves on a copy whose longer side is at
            most this many pixels and applies them at full size (fast on large photos); ``None``
            estimates them at full resolution (the authors' output).
    """

    objective = "zero_reference"  # the lowlight task's loss: Zero-DCE's four, no target

    def __init__(
        self, width: int = WIDTH, iterations: int = ITERATIONS, curve_side: int | None = None
    ) -> None:
        super().__init__()
        self.iterations = iterations
        self.curve_side = curve_side
        self.e_conv1 = nn.Conv2d(3, width, 3, padding=1)
        self.e_conv2 = nn.Conv2d(width, width, 3, padding=1)
        self.e_conv3 = nn.Conv2d(width, width, 3, padding=1)
        self.e_conv4 = nn.Conv2d(width, width, 3, padding=1)
        self.e_conv5 = nn.Conv2d(2 * width, width, 3, padding=1)
        self.e_conv6 = nn.Conv2d(2 * width, width, 3, padding=1)
        self.e_conv7 = nn.Conv2d(2 * width, 3 * iterations, 3, padding=1)

    @property
    def export_problem(self) -> str | None:
        """Why an exported graph could not be this network (``None``: it can). With
        ``curve_side`` a photo larger than that is shrunk before the curves are estimated: a
        choice made in Python from the input's size, which a traced graph records at the traced
        size (and the antialiased shrink has no ONNX form in the TorchScript-based exporter), so
        the graph would estimate a large photo's curves at full size."""
        if self.curve_side is None:
            return None
        return (
            f"its curves are estimated on a copy shrunk to {self.curve_side} px for a larger "
            "photo, a step chosen from the input's size that a traced graph cannot hold"
        )

    @property
    def spec(self) -> ModelSpec:
        # Curves estimated on a copy scaled to the whole image's size depend on the whole image:
        # such a model must not be tiled.
        field = 15 if self.curve_side is None else None
        return ModelSpec(3, 3, 1, field, 1)

    def raw_curves(self, x: torch.Tensor) -> torch.Tensor:
        """The network's tanh output ``r`` ``(N, 3n, H, W)`` at ``x``'s size (authors' sign: ``-alpha``)."""
        x1 = F.relu(self.e_conv1(x))
        x2 = F.relu(self.e_conv2(x1))
        x3 = F.relu(self.e_conv3(x2))
        x4 = F.relu(self.e_conv4(x3))
        x5 = F.relu(self.e_conv5(torch.cat([x3, x4], 1)))
        x6 = F.relu(self.e_conv6(torch.cat([x2, x5], 1)))
        return torch.tanh(self.e_conv7(torch.cat([x1, x6], 1)))

    def _low_res_alpha(
        self, x: torch.Tensor, max_side: int | None, scale: float | None
    ) -> torch.Tensor:
        """``alpha`` estimated on ``x`` downscaled as asked (or at full size), not upsampled."""
        size = _curve_grid(x.shape[-2], x.shape[-1], max_side, scale)
        if size is not None:
            x = F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=True)
        return -self.raw_curves(x)

    def curves(
        self, x: torch.Tensor, max_side: int | None = None, scale: float | None = None
    ) -> torch.Tensor:
        """The paper's ``alpha`` ``(N, 3n, H, W)`` in [-1, 1], at ``x``'s size.

        With ``max_side`` (longer side, pixels) or ``scale`` (downscale factor >= 1) the curves are
        estimated on a downscaled copy and upsampled bilinearly; neither (or a factor <= 1) means
        full resolution.
        """
        alpha = self._low_res_alpha(x, max_side, scale)
        if alpha.shape[-2:] != x.shape[-2:]:
            alpha = F.interpolate(alpha, size=x.shape[-2:], mode="bilinear", align_corners=False)
        return alpha

    def enhance(
        self, x: torch.Tensor, max_side: int | None = None, scale: float | None = None
    ) -> torch.Tensor:
        """The enhanced image, curves estimated as :meth:`curves` says.

        Only one iteration's three alpha channels exist at full size at a time, so a 12-megapixel
        photo needs a few full-size RGB buffers, not ``3n`` channels of curves.
        """
        alpha = self._low_res_alpha(x, max_side, scale)
        if alpha.shape[-2:] == x.shape[-2:]:
            return apply_curves(x, alpha)
        for a in alpha.split(x.shape[1], dim=1):
            a = F.interpolate(a, size=x.shape[-2:], mode="bilinear", align_corners=False)
            x = _curve(x, a)
        return x

    def forward(
        self, x: torch.Tensor, aux: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """``x`` ``(N, 3, H, W)`` -> enhanced ``(N, 3, H, W)``; with ``aux`` the pair
        ``(enhanced, alpha)``, the paper's ``alpha`` ``(N, 3n, H, W)`` at full size (what the
        training losses need; the low-light task's convention, as DeepUPE's ``(output, S)``)."""
        if not aux:
            return self.enhance(x, max_side=self.curve_side)
        alpha = self.curves(x, max_side=self.curve_side)
        return apply_curves(x, alpha), alpha


@register_model(tasks=("lowlight",))
def zero_dce(curve_side: int | None = 512, **kw) -> DCENet:
    """Zero-DCE's DCE-Net (CVPR 2020): 7 convolutions, 32 channels, 8 curves per channel, 79k
    parameters; curves estimated with the longer side at most 512 px (``curve_side=None``: at
    full resolution, as the authors)."""
    return DCENet(curve_side=curve_side, **kw)


def load_official_zero_dce(path: str | Path) -> DCENet:
    """The authors' checkpoint (``Zero-DCE_code/snapshots/Epoch99.pth``, a state dict of
    ``enhance_net_nopool``) as a :class:`DCENet` on the CPU, in eval mode.

    Denormal weights are set to 0 (see below). Raises :class:`PixelsmithError` naming the file if
    it is missing or unreadable, or naming the keys that are missing, unexpected or of the wrong
    shape.
    """
    path = Path(path)
    state = read_state_dict(path, "Zero-DCE")
    model = DCENet()
    check_state(state, model.state_dict(), "Zero-DCE", path)
    bad = [k for k, v in state.items() if not (v.is_floating_point() and torch.isfinite(v).all())]
    if bad:
        raise PixelsmithError(f"Zero-DCE weights not finite floating point: {', '.join(bad)}", path)
    # A quarter of the released weights are float32 denormals (|w| < 1.2e-38, left by weight
    # decay), which make CPU convolutions tens of times slower; they are zero in effect.
    state = {k: torch.where(v.abs() < torch.finfo(v.dtype).tiny, 0.0, v) for k, v in state.items()}
    model.load_state_dict(state)
    return model.eval()
