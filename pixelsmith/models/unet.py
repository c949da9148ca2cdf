"""The U-Net of "Learning to See in the Dark" (Chen, Chen, Xu, Koltun, CVPR 2018).

    packed raw (B, 4, h, w) and the camera's colour matrix as 9 constant planes (B, 9, h, w)
      encoder: [conv3x3 -> lrelu(0.2) -> conv3x3 -> lrelu] at widths 32, 64, 128, 256, 512,
               2x2 max pooling between levels
      decoder: 2x2 transposed convolution (stride 2), concatenated with the encoder's level,
               [conv3x3 -> lrelu] x 2, back up to the first level
      -> conv1x1 to 12 channels -> depth-to-space (PixelShuffle 2) -> sRGB (B, 3, 2h, 2w)

The paper's input is the packed raw alone, so its network learns one camera's colour; here the
camera's matrix goes in beside it, so one network develops any camera's files. On the packed
grid it is a model of ``scale = 2``: each packed pixel (a 2x2 Bayer quad) becomes
2x2 sRGB pixels. Its input sides are multiples of 16 (four poolings), and it has a bounded
receptive field, so tiled inference gives the whole-image result.

``sid_unet`` is the paper's network (7.8M parameters); ``sid_unet_s`` halves every width (1.9M),
what two CPU cores train in an hour. ``lowlight_unet`` is the same network on sRGB: the image is
folded into 12 half-resolution channels (space-to-depth) on the way in and unfolded on the way
out, so it enhances an sRGB photo at the cost of the raw one.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from pixelsmith.models._registry import ModelSpec, register_model

SID_WIDTHS = (32, 64, 128, 256, 512)


def _double_conv(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1),
        nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(c_out, c_out, 3, padding=1),
        nn.LeakyReLU(0.2, inplace=True),
    )


class SIDUNet(nn.Module):
    """Input ``(B, in_channels, h, w)``, ``h, w`` multiples of ``2 ** (len(widths) - 1)``;
    output ``(B, out_channels, 2h, 2w)`` (``fold``: the input is an image ``(B, in_channels,
    H, W)`` folded 2x2 into ``4 in_channels`` channels first, and the output ``(B, out_channels,
    H, W)``). ``exposure`` is not used here: it tells the task what input the weights expect
    (see :mod:`pixelsmith.tasks.lowlight`).
    """

    def __init__(
        self,
        in_channels: int = 4,
        out_channels: int = 3,
        widths: tuple[int, ...] = SID_WIDTHS,
        fold: bool = False,
        exposure: float | None = None,
    ) -> None:
        super().__init__()
        self.in_channels, self.out_channels, self.fold = in_channels, out_channels, fold
        #: the mean level a task scales each whole input photo to before this network sees it
        #: (None: the photo as it is); a property of the trained weights, kept in their kwargs
        self.exposure = exposure
        self.widths = tuple(widths)
        c_in = in_channels * 4 if fold else in_channels
        self.down = nn.ModuleList()
        for w in self.widths:
            self.down.append(_double_conv(c_in, w))
            c_in = w
        self.upsample = nn.ModuleList()
        self.up = nn.ModuleList()
        for w_low, w in zip(self.widths[:0:-1], self.widths[-2::-1], strict=True):
            self.upsample.append(nn.ConvTranspose2d(w_low, w, 2, stride=2))
            self.up.append(_double_conv(2 * w, w))
        self.head = nn.Conv2d(self.widths[0], out_channels * 4, 1)
        self.shuffle = nn.PixelShuffle(2)

    @property
    def levels(self) -> int:
        return len(self.widths)

    @property
    def receptive_field(self) -> int:
        """Side of the receptive field in input pixels (of the packed grid; of the image when
        folded): each level's two 3x3 convolutions add 4 steps of its stride on the way down and
        on the way up, each pooling and transposed convolution one."""
        stride_sum = sum(2**level for level in range(self.levels - 1))
        bottom = 2 ** (self.levels - 1)
        packed = 1 + 2 * (4 + 1) * stride_sum + 4 * bottom
        return 2 * packed + 1 if self.fold else packed

    @property
    def spec(self) -> ModelSpec:
        multiple = 2 ** (self.levels - 1)
        if self.fold:
            return ModelSpec(
                self.in_channels, self.out_channels, 1, self.receptive_field, 2 * multiple
            )
        return ModelSpec(self.in_channels, self.out_channels, 2, self.receptive_field, multiple)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.fold:
            x = F.pixel_unshuffle(x, 2)
        skips = []
        for i, block in enumerate(self.down):
            if i:
                x = F.max_pool2d(x, 2)
            x = block(x)
            skips.append(x)
        skips.pop()
        for upsample, block in zip(self.upsample, self.up, strict=True):
            x = block(torch.cat([upsample(x), skips.pop()], 1))
        return self.shuffle(self.head(x))


#: A raw developer's input: the packed Bayer (4 channels) and the camera's colour matrix (9).
RAW_INPUT = 4 + 9


@register_model(tasks=("develop",))
def sid_unet(**kw) -> SIDUNet:
    """The paper's U-Net: packed Bayer + colour matrix (13 channels) -> sRGB, widths 32..512
    (7.8M parameters)."""
    return SIDUNet(RAW_INPUT, 3, SID_WIDTHS, **kw)


@register_model(tasks=("develop",))
def sid_unet_s(**kw) -> SIDUNet:
    """The U-Net at half width, 16..256 (1.9M parameters): what pixelsmith trains and ships."""
    return SIDUNet(RAW_INPUT, 3, tuple(w // 2 for w in SID_WIDTHS), **kw)


@register_model(tasks=("lowlight",))
def lowlight_unet(**kw) -> SIDUNet:
    """The half-width U-Net on sRGB, folded 2x2 (3 -> 12 channels in, 12 -> 3 out; 1.9M)."""
    widths = kw.pop("widths", tuple(w // 2 for w in SID_WIDTHS))
    return SIDUNet(3, 3, tuple(widths), fold=True, **kw)
