"""Perceptual (feature) losses without downloads: VGG16 from a local file, or pixelsmith's own
colorization encoder.

A perceptual loss compares two images by the activations a trained network gives them (Johnson et
al. 2016) rather than pixel by pixel. The usual network is VGG16 trained on ImageNet; nothing can
be downloaded here, so the tasks' feature networks (colorize's ``perceptual``, inpaint's
``features``) are either

- a local VGG16 state dict (torchvision's ``vgg16`` key names, ``features.0.weight`` ...): the
  features after ``relu1_2``, ``relu2_2``, ``relu3_3``, ``relu4_3`` of the sRGB image; or
- a pixelsmith colorization model (a shipped name such as ``colornet_s.photos`` or a weight file):
  colorization is a self-supervised proxy task whose encoder learns general image features
  (Zhang et al. 2016, section 3.2). It sees one channel, so each of the image's a and b channels
  goes through it as a one-channel image (``50 + ab * 50 / 110`` on the L scale) and the features of
  blocks 1-4 are compared. The L channel is not compared: a colorizer keeps it.

Inputs of :class:`PerceptualLoss` are Lab images ``(B, 3, H, W)`` (L in [0, 100]).
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from pixelsmith.errors import PixelsmithError

VGG16_CONVS = (  # (out channels, features index) of torchvision's vgg16; 'M' = max pool
    (64, 0),
    (64, 2),
    "M",
    (128, 5),
    (128, 7),
    "M",
    (256, 10),
    (256, 12),
    (256, 14),
    "M",
    (512, 17),
    (512, 19),
    (512, 21),
)
VGG16_TAPS = (3, 8, 15, 22)  # relu1_2, relu2_2, relu3_3, relu4_3 (features indices)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class VGG16Features(nn.Module):
    """VGG16's convolutions up to ``relu4_3``; sRGB ``(B, 3, H, W)`` in [0, 1] -> 4 feature maps."""

    def __init__(self) -> None:
        super().__init__()
        layers: dict[str, nn.Module] = {}
        c = 3
        i = 0
        for item in VGG16_CONVS:
            if item == "M":
                layers[str(i)] = nn.MaxPool2d(2)
                i += 1
                continue
            width, index = item
            assert index == i
            layers[str(i)] = nn.Conv2d(c, width, 3, padding=1)
            layers[str(i + 1)] = nn.ReLU(inplace=False)
            c, i = width, i + 2
        self.features = nn.Sequential()
        for k, v in layers.items():
            self.features.add_module(k, v)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))

    def forward(self, rgb: torch.Tensor) -> list[torch.Tensor]:
        x = (rgb - self.mean) / self.std
        taps = []
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in VGG16_TAPS:
                taps.append(x)
        return taps


def load_vgg16(path: Path) -> VGG16Features:
    """VGG16 features from a local torchvision-style state dict (``.pth``)."""
    from pixelsmith.nn.checkpoint import read_state_dict

    state = read_state_dict(path, "VGG16")
    net = VGG16Features()
    wanted = {k: v for k, v in state.items() if k.startswith("features.")}
    missing = [k for k in net.state_dict() if k.startswith("features.") and k not in wanted]
    if missing:
        raise PixelsmithError(f"not torchvision VGG16 weights (missing {missing[:2]})", path)
    net.load_state_dict(
        {**net.state_dict(), **{k: wanted[k] for k in net.state_dict() if k in wanted}}
    )
    return net


class ColorNetFeatures(nn.Module):
    """The first four blocks of a trained :class:`~pixelsmith.models.colornet.ColorNet`: a
    one-channel image on the L scale ``(B, 1, H, W)`` -> 4 feature maps."""

    def __init__(self, colornet: nn.Module) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(list(colornet.blocks)[:4])

    def forward(self, lightness: torch.Tensor) -> list[torch.Tensor]:
        x = (lightness - 50.0) / 100.0
        taps = []
        for block in self.blocks:
            x = block(x)
            taps.append(x)
        return taps


class PerceptualLoss(nn.Module):
    """Mean L1 distance of the features of two Lab images, summed over the tapped layers."""

    def __init__(self, net: nn.Module, kind: str) -> None:
        super().__init__()
        self.net = net.eval().requires_grad_(False)
        self.kind = kind

    def train(self, mode: bool = True) -> PerceptualLoss:  # the feature net stays in eval mode
        return self

    def features(self, lab: torch.Tensor) -> list[torch.Tensor]:
        if self.kind == "vgg16":
            from pixelsmith.color import lab_to_rgb

            return self.net(lab_to_rgb(lab, clip=False).clamp(0, 1))
        ab = lab[:, 1:]
        as_l = 50.0 + ab * (50.0 / 110.0)
        return self.net(torch.cat([as_l[:, :1], as_l[:, 1:]], 0))  # a and b as a batch of 2n

    def forward(self, pred_lab: torch.Tensor, true_lab: torch.Tensor) -> torch.Tensor:
        fp = self.features(pred_lab)
        with torch.no_grad():
            ft = self.features(true_lab)
        return sum(F.l1_loss(a, b) for a, b in zip(fp, ft, strict=True))
