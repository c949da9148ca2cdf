"""SmallConvNet: the lecture's classifier, small enough to look inside.

    image (B, C, s, s) -> [conv3x3 -> ReLU -> maxpool 2x2] x len(widths)
                       -> flatten -> FC -> ReLU -> FC -> logits (B, num_classes)

With the defaults (grey 25x25 faces, widths 8-16-32) the blocks give 8x12x12, 16x6x6, 32x3x3, and
the whole net has about 15k parameters. Each block is ``features[i]`` with children ``conv``,
``act``, ``pool``, so its filters and activation maps are easy to reach.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from pixelsmith.models._registry import ModelSpec, register_model
from pixelsmith.nn.accounting import conv_output_size


class SmallConvNet(nn.Module):
    """Input ``(B, in_channels, input_size, input_size)`` in [0, 1]; output ``(B, num_classes)``
    logits."""

    def __init__(
        self,
        in_channels: int = 1,
        num_classes: int = 2,
        input_size: int = 25,
        widths: tuple[int, ...] = (8, 16, 32),
        hidden: int = 32,
    ) -> None:
        super().__init__()
        self.in_channels, self.num_classes, self.input_size = in_channels, num_classes, input_size
        blocks, c, n = [], in_channels, input_size
        for w in widths:
            blocks.append(
                nn.Sequential(
                    OrderedDict(
                        conv=nn.Conv2d(c, w, 3, padding=1), act=nn.ReLU(), pool=nn.MaxPool2d(2)
                    )
                )
            )
            c, n = w, conv_output_size(n, 2, 2)
        self.features = nn.Sequential(*blocks)
        self.classifier = nn.Sequential(
            OrderedDict(
                flatten=nn.Flatten(),
                fc1=nn.Linear(c * n * n, hidden),
                act=nn.ReLU(),
                fc2=nn.Linear(hidden, num_classes),
            )
        )

    @property
    def spec(self) -> ModelSpec:
        """A classifier: global context (fully-connected head), ``num_classes`` logits out."""
        return ModelSpec(self.in_channels, self.num_classes, receptive_field=None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


@register_model(tasks=("classify",))
def smallconvnet(**kw) -> SmallConvNet:
    """SmallConvNet, by default for grey 25x25 images in two classes (faces vs non-faces)."""
    if "widths" in kw:
        kw["widths"] = tuple(kw["widths"])
    return SmallConvNet(**kw)
