"""A DeOldify-style colorizer: a U-Net generator and a patch critic, trained by the NoGAN schedule.

Generator (``deoldify_s``), after Antic's DeOldify (2019):

    L (B, 1, H, W) -> (L - 50) / 100
      encoder: a stride-2 stem, then residual stages (stride-2 conv + residual blocks, batch norm)
               at 1/2, 1/4, 1/8 and 1/16 of the input
      decoder: pixel-shuffle upsampling (conv to 4x channels, ``PixelShuffle(2)``) with the
               encoder's skip at each scale, spectral-normalised convolutions, and a
               self-attention layer (SAGAN) at 1/8
      -> ab / 110 (B, 2, H/4, W/4), through tanh

Like ColorNet it predicts chroma at 1/4 resolution: the colorize task upsamples it and joins it
with the full-size lightness (and its render factor shrinks what the generator sees).

Critic (:class:`PatchCritic`): spectral-normalised stride-2 convolutions with leaky ReLU over a
Lab image at 1/4 size (L / 100, ab / 110), one real/fake logit per patch.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils.parametrizations import spectral_norm

from pixelsmith.models._registry import ModelSpec, register_model

L_CENT, L_NORM, AB_NORM = 50.0, 100.0, 110.0


class ResBlock(nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(width, width, 3, padding=1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(inplace=True),
            nn.Conv2d(width, width, 3, padding=1, bias=False),
            nn.BatchNorm2d(width),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(x + self.body(x))


def _down(c_in: int, c_out: int, blocks: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, stride=2, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
        *[ResBlock(c_out) for _ in range(blocks)],
    )


def residual_encoder(width: int, blocks: int) -> tuple[nn.Module, nn.Module, nn.Module, nn.Module]:
    """The generator's encoder as four modules: a stride-2 stem (1/2 of the input, ``width``
    channels), then stages of a stride-2 conv and ``blocks`` residual blocks at 1/4, 1/8 and
    1/16 (2, 4 and 8 times ``width``)."""
    w = width
    stem = nn.Sequential(
        nn.Conv2d(1, w, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(w), nn.ReLU(True)
    )
    return stem, _down(w, 2 * w, blocks), _down(2 * w, 4 * w, blocks), _down(4 * w, 8 * w, blocks)


class SelfAttention(nn.Module):
    """SAGAN self-attention (Zhang et al. 2019): ``x + gamma * softmax(q k^T) v``, gamma from 0."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.q = spectral_norm(nn.Conv2d(width, max(1, width // 8), 1, bias=False))
        self.k = spectral_norm(nn.Conv2d(width, max(1, width // 8), 1, bias=False))
        self.v = spectral_norm(nn.Conv2d(width, width, 1, bias=False))
        self.gamma = nn.Parameter(torch.zeros(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        q = self.q(x).flatten(2)  # (n, c', hw)
        k = self.k(x).flatten(2)
        v = self.v(x).flatten(2)  # (n, c, hw)
        attn = torch.softmax(q.transpose(1, 2) @ k, -1)  # (n, hw, hw)
        return x + self.gamma * (v @ attn.transpose(1, 2)).view(n, c, h, w)


class ShuffleUp(nn.Module):
    """Upsample x2 by pixel shuffle, concatenate the skip, two spectral-normalised convs."""

    def __init__(self, c_in: int, c_skip: int, c_out: int) -> None:
        super().__init__()
        self.up = nn.Sequential(spectral_norm(nn.Conv2d(c_in, 4 * c_out, 1)), nn.PixelShuffle(2))
        self.mix = nn.Sequential(
            spectral_norm(nn.Conv2d(c_out + c_skip, c_out, 3, padding=1)),
            nn.ReLU(inplace=True),
            spectral_norm(nn.Conv2d(c_out, c_out, 3, padding=1)),
            nn.ReLU(inplace=True),
        )

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return self.mix(torch.cat([F.relu(self.up(x)), skip], 1))


class UNetColorizer(nn.Module):
    """Input L ``(B, 1, H, W)`` in [0, 100], ``H, W`` multiples of 16; output ab / 110
    ``(B, 2, H/4, W/4)``."""

    def __init__(self, width: int = 32, blocks: int = 2) -> None:
        super().__init__()
        w = width
        self.stem, self.enc1, self.enc2, self.enc3 = residual_encoder(w, blocks)  # 1/2 .. 1/16
        self.up2 = ShuffleUp(8 * w, 4 * w, 4 * w)  # 1/8
        self.attn = SelfAttention(4 * w)
        self.up1 = ShuffleUp(4 * w, 2 * w, 2 * w)  # 1/4
        self.head = nn.Conv2d(2 * w + 1, 2, 3, padding=1)  # with L at 1/4 size

    @property
    def spec(self) -> ModelSpec:
        return ModelSpec(1, 2, 1, None, size_multiple=16)

    def forward(self, lightness: torch.Tensor) -> torch.Tensor:
        x = (lightness - L_CENT) / L_NORM
        s1 = self.enc1(self.stem(x))
        s2 = self.enc2(s1)
        s3 = self.enc3(s2)
        y = self.attn(self.up2(s3, s2))
        y = self.up1(y, s1)
        return torch.tanh(self.head(torch.cat([y, F.avg_pool2d(x, 4)], 1)))


@register_model(tasks=("colorize",))
def deoldify_s(width: int = 32, blocks: int = 2) -> UNetColorizer:
    """The DeOldify-style U-Net generator, width 32 (about 4.2M parameters)."""
    return UNetColorizer(width, blocks)


class PatchCritic(nn.Module):
    """Lab at 1/4 size ``(B, 3, h, w)`` (L / 100, ab / 110) -> patch logits ``(B, 1, h/8, w/8)``."""

    def __init__(self, width: int = 32) -> None:
        super().__init__()
        w = width
        layers: list[nn.Module] = []
        c = 3
        for c_out in (w, 2 * w, 4 * w):
            layers += [
                spectral_norm(nn.Conv2d(c, c_out, 4, stride=2, padding=1)),
                nn.LeakyReLU(0.2, True),
            ]
            layers += [
                spectral_norm(nn.Conv2d(c_out, c_out, 3, padding=1)),
                nn.LeakyReLU(0.2, True),
            ]
            c = c_out
        layers.append(spectral_norm(nn.Conv2d(c, 1, 3, padding=1)))
        self.net = nn.Sequential(*layers)

    def forward(self, lab: torch.Tensor) -> torch.Tensor:
        return self.net(lab)
