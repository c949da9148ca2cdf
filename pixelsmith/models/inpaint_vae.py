"""A conditional VAE for attribute-guided completion, after Hou et al., "Deep Feature Consistent
Variational Autoencoder" (WACV 2017), conditioned on attributes as Sohn et al.'s CVAE (NeurIPS
2015) and Yan et al.'s Attribute2Image (ECCV 2016).

    masked photo (B, 3, H, W), mask (B, 1, H, W) (1 = known), attributes a (B, A, H, W) planes
      -> to the working side S x S (64): the known pixels' area mean, and the known fraction
         (a partial-convolution style shrink: holes do not darken the edges of what is known)
      encoder: 4 x [conv 4x4 stride 2, batch norm (not the first), leaky ReLU 0.2],
               32-64-128-256 channels -> 256 x S/16 x S/16, flattened
               -> [features, a] -> linear -> mu, logvar (latent 100)
      z = mu + sigma * eps (training), z = mu (evaluation)
      decoder: [z, a] -> linear -> 256 x S/16 x S/16 -> 3 x [nearest 2x, conv 3x3, batch norm,
               FiLM by a (per-channel scale and shift, starting at the identity), leaky ReLU],
               128-64-32 channels -> nearest 2x, conv 3x3 to 3, sigmoid -> (B, 3, S, S)
      -> bilinear to (H, W)

This is Hou et al.'s network (their encoder and decoder, latent 100, 64 px) with the hole mask as
a fourth input channel and the attribute vector given to both the encoder (``q(z | x, a)``) and
the decoder (``p(x | z, a)``): with ``a`` free to the decoder, the KL term pays ``z`` not to carry
what ``a`` says, so changing ``a`` at inference changes the fill. The model sees the whole photo
at 64 px (global context: it runs whole, never tiled), so its fill is a 64 px picture of the hole,
upsampled; the task composites it into the hole. 64 px is the paper's side, and what two CPU
cores train in minutes: 600 steps of 16 crops of 128 px with the feature term take about four
(``benchmarks/train_inpaint.py``; 250 single-threaded steps on bsds500/train took the validation
PSNR of the composite from 17.4 to 20.6 dB). 96 px costs 2.25 times as much a step
in the network.

``attributes`` are named (``attribute_names``; :data:`pixelsmith.data.attributes.ATTRIBUTES` by
default, a labels CSV's header otherwise). The model keeps each attribute's mean and spread over
its training data (buffers set by the task before training) and feeds ``(a - mean) / std``; a
call without ``attributes`` uses those measured on the known pixels
(:func:`pixelsmith.data.attributes.measure`), and the training mean for a label that cannot be
measured.

Its loss is :func:`pixelsmith.nn.vae_losses.vae_loss`.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from pixelsmith.data.attributes import ATTRIBUTES, measure
from pixelsmith.models._registry import ModelSpec, register_model

PAPER_WIDTHS = (32, 64, 128, 256)
PAPER_LATENT = 100
WORKING_SIDE = 64


def shrink_known(
    image: torch.Tensor, mask: torch.Tensor, side: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(image (B, C, H, W), mask (B, 1, H, W))`` -> their ``side x side`` versions: the mean of
    the known pixels under each output pixel (0 where none is known) and the known fraction."""
    m = mask.to(image.dtype)
    known = F.adaptive_avg_pool2d(m, side)
    summed = F.adaptive_avg_pool2d(image * m, side)
    x = torch.where(known > 0, summed / known.clamp_min(1e-8), torch.zeros_like(summed))
    return x, known


class _FiLM(nn.Module):
    """``x * (1 + gamma(a)) + beta(a)`` per channel; zero-initialised (the identity at first)."""

    def __init__(self, n_attributes: int, channels: int) -> None:
        super().__init__()
        self.linear = nn.Linear(n_attributes, 2 * channels)
        nn.init.zeros_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)

    def forward(self, x: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        gamma, beta = self.linear(a)[:, :, None, None].chunk(2, 1)
        return x * (1 + gamma) + beta


class _UpBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, n_attributes: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(c_out)
        self.film = _FiLM(n_attributes, c_out)

    def forward(self, x: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        x = self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))
        return F.leaky_relu(self.film(self.bn(x), a), 0.2)


class InpaintVAE(nn.Module):
    """``forward(image, mask=None, attributes=None, aux=False) -> image`` (or ``(image, mu,
    logvar)``); see the module docstring."""

    objective = "vae"

    def __init__(
        self,
        widths: Sequence[int] = PAPER_WIDTHS,
        latent: int = PAPER_LATENT,
        side: int = WORKING_SIDE,
        attributes: Sequence[str] = ATTRIBUTES,
    ) -> None:
        super().__init__()
        levels = len(widths)
        if levels < 1 or side % 2**levels:
            raise ValueError(f"the working side {side} must be a multiple of 2**{levels}")
        names = tuple(str(n) for n in attributes)
        if not names or len(set(names)) != len(names):
            raise ValueError(f"give one or more distinct attribute names, not {names}")
        self.widths, self.latent, self.side = tuple(widths), latent, side
        self.attribute_names = names
        n_attr = len(names)
        self.register_buffer("attribute_mean", torch.zeros(n_attr))
        self.register_buffer("attribute_std", torch.ones(n_attr))
        self.bottom = side // 2**levels
        flat = widths[-1] * self.bottom**2
        enc: list[nn.Module] = []
        c = 4  # the shrunk photo and its known fraction
        for i, w in enumerate(widths):
            enc += [nn.Conv2d(c, w, 4, stride=2, padding=1, bias=i == 0)]
            if i:
                enc += [nn.BatchNorm2d(w)]
            enc += [nn.LeakyReLU(0.2)]
            c = w
        self.encoder = nn.Sequential(*enc)
        self.to_latent = nn.Linear(flat + n_attr, 2 * latent)
        self.from_latent = nn.Linear(latent + n_attr, flat)
        ups = [*reversed(widths[:-1])]
        self.decoder = nn.ModuleList()
        c = widths[-1]
        for w in ups:
            self.decoder.append(_UpBlock(c, w, n_attr))
            c = w
        self.head = nn.Conv2d(c, 3, 3, padding=1)

    @property
    def spec(self) -> ModelSpec:
        return ModelSpec(3, 3, 1, None, 1)

    def set_attribute_stats(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        """The attributes' mean and spread over the training data ``(A,)`` (a spread of 0 is
        taken as 1)."""
        std = torch.where(std > 1e-6, std, torch.ones_like(std))
        self.attribute_mean.copy_(mean)
        self.attribute_std.copy_(std)

    def default_attributes(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``(B, A)``: each attribute measured on the known pixels, or its training mean."""
        return measure(self.attribute_names, image, mask, self.attribute_mean)

    def decode(self, z: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        """Latent ``(B, Z)`` and normalised attributes ``(B, A)`` -> ``(B, 3, S, S)`` in (0, 1)."""
        x = self.from_latent(torch.cat([z, a], 1))
        x = F.leaky_relu(x.view(-1, self.widths[-1], self.bottom, self.bottom), 0.2)
        for block in self.decoder:
            x = block(x, a)
        x = F.interpolate(x, scale_factor=2.0, mode="nearest")
        return torch.sigmoid(self.head(x))

    def forward(
        self,
        image: torch.Tensor,
        mask: torch.Tensor | None = None,
        attributes: torch.Tensor | None = None,
        aux: bool = False,
    ):
        """``image`` ``(B, 3, H, W)`` (the photo times its mask), ``mask`` ``(B, 1, H, W)`` (1 =
        known; ``None``: all known), ``attributes`` ``(B, A, H, W)`` constant planes or ``(B, A)``
        (``None``: measured on the known pixels) -> ``(B, 3, H, W)`` in (0, 1), and with ``aux``
        the posterior's ``mu`` and ``logvar`` ``(B, Z)``."""
        mask = torch.ones_like(image[:, :1]) if mask is None else mask[:, :1]
        if attributes is None:
            a = self.default_attributes(image, mask)
        else:
            a = attributes[:, :, 0, 0] if attributes.dim() == 4 else attributes
        a = (a.to(image.dtype) - self.attribute_mean.to(image.dtype)) / self.attribute_std.to(
            image.dtype
        )
        x, known = shrink_known(image, mask, self.side)
        h = self.encoder(torch.cat([x, known], 1)).flatten(1)
        mu, logvar = self.to_latent(torch.cat([h, a], 1)).chunk(2, 1)
        logvar = logvar.clamp(-30.0, 20.0)
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp() if self.training else mu
        small = self.decode(z, a)
        out = F.interpolate(small, size=image.shape[-2:], mode="bilinear", align_corners=False)
        return (out, mu, logvar) if aux else out


@register_model(tasks=("inpaint",))
def inpaint_vae(**kw) -> InpaintVAE:
    """Hou et al.'s DFC-VAE at 64 px (32-64-128-256 channels, latent 100), conditioned on the
    photo's attributes (2.33M parameters)."""
    return InpaintVAE(**kw)
