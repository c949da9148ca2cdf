"""ColorNet: the colorization network of Zhang, Isola, Efros (ECCV 2016) and its smaller variants.

Eight blocks of 3x3 convolutions with ReLU, each ending in batch norm. Blocks 1-3 end with a
stride-2 convolution (1/8 resolution), blocks 5-6 are dilated by 2 (a wide context at no cost in
resolution), block 8 starts with a stride-2 transposed convolution back to 1/4 resolution and ends
in a 1x1 convolution to the head:

    L (B, 1, H, W) in [0, 100] -> (L - 50) / 100 -> blocks 1..8 -> (B, Q, H/4, W/4) bin logits
                                                              or (B, 2, H/4, W/4) ab / 110 (L2)

With ``context=True`` a global-context branch (after Iizuka, Simo-Serra, Ishikawa, SIGGRAPH
2016) joins in after block 4: the block's output averaged over the whole image, through a
two-layer MLP, is added to every position, so each pixel's colour can depend on what the whole
scene is (a beach, a forest, an indoor shot), not only on the ~200-pixel window the convolutions
see. Its last layer starts at zero, so a context net initialised from a plain one computes the
same function until training moves it.

The output stays at 1/4 resolution: upsampling, decoding the bins and joining with L are the
colorize task's ``decode`` (annealed mean) and ``finish``, so nothing of Q channels ever exists at
full size. The model carries its ab ``bins`` (Q, 2) and the training photos' ``prior`` (Q,) as
buffers, saved in its weight file.

``eccv16`` is the paper's layout (about 32M parameters), whose official PyTorch checkpoint
(``colorization_release_v2``) loads with :func:`convert_official_eccv16`. ``colornet_s`` is the
size this machine trains in an hour.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from pixelsmith.models._registry import ModelSpec, register_model
from pixelsmith.models.ab_bins import LAMBDA as REBALANCE  # the paper's lambda, 1/2

L_CENT, L_NORM, AB_NORM = 50.0, 100.0, 110.0  # the official normalisation
PAPER_WIDTHS = (64, 128, 256, 512, 512, 512, 512, 256)
PAPER_DEPTHS = (2, 2, 3, 3, 3, 3, 3, 3)
HEADS = ("classes", "regression")


def check_head(head: str) -> None:
    """``head`` is one a colorization net has: ``"classes"`` (bin logits) or ``"regression"``
    (ab / 110, the L2 baseline)."""
    if head not in HEADS:
        raise ValueError(f"head is {' or '.join(HEADS)}, not {head!r}")


def _block(
    c_in: int, width: int, depth: int, first: str, dilation: int, norm: bool
) -> nn.Sequential:
    """``depth`` convolutions with ReLU (indices 0, 2, 4, ... as the official ``modelK``), then
    batch norm. ``first`` is ``"down"`` (the *last* conv has stride 2), ``"up"`` (the first is a
    stride-2 transposed conv) or ``"same"``."""
    layers: list[nn.Module] = []
    for i in range(depth):
        c = c_in if i == 0 else width
        if first == "up" and i == 0:
            conv: nn.Module = nn.ConvTranspose2d(c, width, 4, stride=2, padding=1)
        else:
            stride = 2 if first == "down" and i == depth - 1 else 1
            conv = nn.Conv2d(c, width, 3, stride, padding=dilation, dilation=dilation)
        layers += [conv, nn.ReLU(inplace=True)]
    if norm:
        layers.append(nn.BatchNorm2d(width))
    return nn.Sequential(*layers)


def hold_bins(
    net: nn.Module,
    bins: torch.Tensor | None,
    rebalance: float,
    correction: float | None = None,
    temperature: float | None = None,
) -> torch.Tensor:
    """Give a colorization net what the colorize task reads from it: its ab ``bins`` (Q, 2)
    (default: :func:`~pixelsmith.models.ab_bins.gamut_bins`) and its training photos' ``prior`` (Q,)
    (uniform until training measures it), both buffers saved in its weight file;
    ``rebalance``, the lambda of the class rebalancing it is trained with: its logits are tilted
    by those weights, which the task computes from it (loss and decoding alike); and
    ``correction`` and ``temperature``, the share of that tilt its decoding undoes and the
    temperature of its annealed mean by default, chosen for its weights on validation photos
    (``None``: the task's defaults). All are constructor arguments, so the weight file's
    ``arch_kwargs`` carry them. Returns the bins."""
    if not 0 <= rebalance <= 1:
        raise ValueError(f"the rebalancing lambda is in [0, 1], not {rebalance}")
    if correction is not None and not 0 <= correction <= 1:
        raise ValueError(f"the decoding correction is in [0, 1], not {correction}")
    if temperature is not None and not temperature > 0:
        raise ValueError(f"the decoding temperature is positive, not {temperature}")
    net.rebalance = float(rebalance)
    net.correction = None if correction is None else float(correction)
    net.temperature = None if temperature is None else float(temperature)
    if bins is None:
        from pixelsmith.models.ab_bins import gamut_bins

        bins = gamut_bins()
    net.register_buffer("bins", bins.float().clone())
    net.register_buffer("prior", torch.full((len(bins),), 1.0 / len(bins)))
    return bins


class ColorNet(nn.Module):
    """Input L ``(B, 1, H, W)`` in Lab units [0, 100], ``H, W`` multiples of 8. Output at
    ``(H/4, W/4)``: ``Q`` bin logits (``head="classes"``) or ab / 110 (``head="regression"``)."""

    def __init__(
        self,
        widths: Sequence[int] = PAPER_WIDTHS,
        depths: Sequence[int] = PAPER_DEPTHS,
        head: str = "classes",
        bins: torch.Tensor | None = None,
        context: bool = False,
        rebalance: float = REBALANCE,
        correction: float | None = None,
        temperature: float | None = None,
    ) -> None:
        super().__init__()
        check_head(head)
        if len(widths) != 8 or len(depths) != 8:
            raise ValueError("ColorNet has 8 blocks: give 8 widths and 8 depths")
        bins = hold_bins(self, bins, rebalance, correction, temperature)
        self.head = head
        self.widths, self.depths = tuple(widths), tuple(depths)
        kinds = ("down", "down", "down", "same", "same", "same", "same", "up")
        dilations = (1, 1, 1, 1, 2, 2, 1, 1)
        c = 1
        blocks = []
        for k in range(8):
            blocks.append(_block(c, widths[k], depths[k], kinds[k], dilations[k], norm=k < 7))
            c = widths[k]
        self.blocks = nn.Sequential(*blocks)
        self.context: nn.Sequential | None = None
        if context:
            w = widths[3]
            self.context = nn.Sequential(nn.Linear(w, w), nn.ReLU(inplace=True), nn.Linear(w, w))
            nn.init.zeros_(self.context[2].weight)
            nn.init.zeros_(self.context[2].bias)
        self.out = nn.Conv2d(c, len(bins) if head == "classes" else 2, 1)

    @property
    def spec(self) -> ModelSpec:
        # Dilated 1/8-resolution blocks see most of a photo: treated as global context (whole
        # image at the render size), not tiled.
        return ModelSpec(1, self.out.out_channels, 1, None, size_multiple=8)

    def forward(self, lightness: torch.Tensor) -> torch.Tensor:
        x = (lightness - L_CENT) / L_NORM
        for k, block in enumerate(self.blocks):
            x = block(x)
            if k == 3 and self.context is not None:
                x = x + self.context(x.mean((2, 3)))[:, :, None, None]
        return self.out(x)


def _build(
    widths,
    depths,
    head: str,
    n_bins: int | None,
    context: bool = False,
    rebalance: float = REBALANCE,
    correction: float | None = None,
    temperature: float | None = None,
) -> ColorNet:
    from pixelsmith.models.ab_bins import gamut_bins

    bins = gamut_bins()
    if n_bins is not None and n_bins != len(
        bins
    ):  # a shape to load weights into (the file has bins)
        bins = torch.zeros(n_bins, 2)
    return ColorNet(widths, depths, head, bins, context, rebalance, correction, temperature)


@register_model(tasks=("colorize",))
def eccv16(
    head: str = "classes",
    n_bins: int | None = None,
    rebalance: float = REBALANCE,
    correction: float | None = None,
    temperature: float | None = None,
) -> ColorNet:
    """The paper's network: widths 64-128-256-512-512-512-512-256, about 32M parameters."""
    return _build(
        PAPER_WIDTHS,
        PAPER_DEPTHS,
        head,
        n_bins,
        rebalance=rebalance,
        correction=correction,
        temperature=temperature,
    )


@register_model(tasks=("colorize",))
def colornet_s(
    head: str = "classes",
    n_bins: int | None = None,
    context: bool = False,
    rebalance: float = REBALANCE,
    correction: float | None = None,
    temperature: float | None = None,
) -> ColorNet:
    """A quarter of the paper's widths, two convolutions a block (about 1.4M parameters);
    ``context``: with the global-context branch (33k parameters more); ``rebalance``: the lambda
    of the class rebalancing it is trained with (1: none, the paper's "class" ablation);
    ``correction``, ``temperature``: its decoding defaults (:func:`hold_bins`)."""
    widths = (16, 32, 64, 128, 128, 128, 128, 64)
    return _build(widths, (2,) * 8, head, n_bins, context, rebalance, correction, temperature)


@register_model(tasks=("colorize",))
def colornet_m(
    head: str = "classes",
    n_bins: int | None = None,
    context: bool = False,
    rebalance: float = REBALANCE,
    correction: float | None = None,
    temperature: float | None = None,
) -> ColorNet:
    """Three eighths of the paper's widths, its depths (about 4.6M parameters)."""
    widths = (24, 48, 96, 192, 192, 192, 192, 96)
    return _build(widths, PAPER_DEPTHS, head, n_bins, context, rebalance, correction, temperature)


class GreyAB(nn.Module):
    """The grayscale baseline: ab = 0 everywhere (the output is the input's L as a grey photo)."""

    @property
    def spec(self) -> ModelSpec:
        return ModelSpec(1, 2, 1, None, size_multiple=4)

    def forward(self, lightness: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.avg_pool2d(lightness, 4).expand(-1, 2, -1, -1) * 0.0


@register_model(tasks=("colorize",))
def grey() -> GreyAB:
    """No colour at all (ab = 0): the baseline every colorizer must beat."""
    return GreyAB()


def convert_official_eccv16(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The official ECCV16 PyTorch state dict (``model1.0.weight`` ... ``model8.6.bias``,
    ``model_out.weight``) -> :func:`eccv16`'s (``blocks.0.0.weight`` ... ``out.bias``, ``bins``).

    Official ``modelK.i`` is block ``K-1`` layer ``i``, except ``model8.6``, the 1x1 conv to 313,
    which is ``out``. ``model_out`` is a fixed 313 -> 2 conv whose weights are the bin centres
    divided by 110: they become ``bins``. The official forward is the plain mean of its softmax
    (``decode="mean"`` here) and has no prior: a uniform one is set.
    """
    expected = {f"model{k}" for k in range(1, 9)} | {"model_out"}
    found = {key.split(".")[0] for key in state}
    if found != expected:
        raise ValueError(
            f"not an official ECCV16 state dict: expected {sorted(expected)}, found {sorted(found)}"
        )
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        top, _, rest = key.partition(".")
        if top == "model_out":
            if value.ndim != 4 or value.shape[0] != 2 or value.shape[2:] != (1, 1):
                raise ValueError(f"{key} is {tuple(value.shape)}, expected (2, 313, 1, 1)")
            w = value.reshape(value.shape[0], value.shape[1])  # (2, 313)
            out["bins"] = w.t().float() * AB_NORM
            continue
        k = int(top[len("model") :])
        layer, _, param = rest.partition(".")
        if not param:
            raise ValueError(f"not an official ECCV16 state dict: unexpected key {key!r}")
        if k == 8 and layer == "6":
            out[f"out.{param}"] = value
        else:
            out[f"blocks.{k - 1}.{layer}.{param}"] = value
    q = out["bins"].shape[0]
    out["prior"] = torch.full((q,), 1.0 / q)
    return out
