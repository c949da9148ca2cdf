"""Super-resolution: the degradation is blur + MATLAB-bicubic downscaling; the network undoes it.

Models see and produce the luminance Y (BT.601, MATLAB range); chroma is upscaled by bicubic
interpolation, as in SRCNN. Measurement follows the SRCNN paper's protocol exactly: HR image ->
Y rounded to 8 bits -> crop to a multiple of the scale -> LR = imresize(Y, 1/s) -> model -> round
to 8 bits -> shave ``s`` pixels at each border -> PSNR and SSIM.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from pixelsmith.color import YCBCR_FROM_RGB, YCBCR_OFFSET, rgb_to_y, rgb_to_ycbcr, ycbcr_to_rgb
from pixelsmith.data.photos import PhotoFolder
from pixelsmith.errors import PixelsmithError
from pixelsmith.infer import run_tiled
from pixelsmith.io import list_images, read_image
from pixelsmith.metrics import (
    evaluate_sr_pair,
    make_lr,
    modcrop,
    quantize_uint8,
    sr_y_from_rgb_uint8,
)
from pixelsmith.models.bicubic import Bicubic

SCALES = (2, 3, 4)


def check_scale(scale: int) -> int:
    if scale not in SCALES:
        raise PixelsmithError(
            f"unsupported scale {scale}: pixelsmith super-resolves by x2, x3 or x4"
        )
    return scale


def sr_y(image: torch.Tensor) -> torch.Tensor:
    """The protocol's ground-truth Y of a decoded image ``(C, H, W)`` in [0, 1]: ``(1, H, W)`` on 8-bit levels."""
    u8 = quantize_uint8(image).to(torch.uint8)
    return sr_y_from_rgb_uint8(u8) if image.shape[-3] == 3 else u8.float() / 255


@dataclass
class SuperRes:
    """The super-resolution task at one scale; ``blind`` adds the real-photo degradation pipeline."""

    scale: int = 3
    blind: bool = False
    name: str = "superres"

    def __post_init__(self) -> None:
        check_scale(self.scale)

    def options(self) -> dict[str, Any]:
        return {"scale": self.scale, "blind": self.blind}

    def model_kwargs(self) -> dict[str, Any]:
        return {"scale": self.scale}

    def crop_size(self, patch_size: int) -> int:
        return -(-patch_size // self.scale) * self.scale

    def load_data(self, sources: list[str], patch_size: int, cache: bool = True) -> PhotoFolder:
        return PhotoFolder(sources, min_size=self.crop_size(patch_size), cache=cache)

    def make_batch(
        self, photos: PhotoFolder, n: int, patch_size: int, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(LR Y (n, 1, p/s, p/s), HR Y (n, 1, p, p))`` from random crops of ``photos``."""
        rgb = photos.random_crops(n, self.crop_size(patch_size), generator)
        if self.blind:
            from pixelsmith.data.degrade import real_world_degrade

            return rgb_to_y(real_world_degrade(rgb, self.scale, generator)), rgb_to_y(rgb)
        hr = rgb_to_y(rgb)
        return make_lr(hr, self.scale), hr

    def loss(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(prediction, target)

    def evaluate(self, model: nn.Module, data: str | Path) -> dict[str, float]:
        """Mean PSNR (dB) and SSIM over the images of ``data`` by the SRCNN protocol."""
        rows = self.evaluate_images(model, data)
        return {
            "psnr": sum(r["psnr"] for r in rows) / len(rows),
            "ssim": sum(r["ssim"] for r in rows) / len(rows),
        }

    @torch.no_grad()
    def evaluate_images(self, model: nn.Module, data: str | Path) -> list[dict[str, Any]]:
        """Per-image PSNR/SSIM by the SRCNN protocol: ``[{"image", "psnr", "ssim"}, ...]``."""
        if getattr(model, "scale", self.scale) != self.scale:
            raise PixelsmithError(f"the model upscales x{model.scale}, not x{self.scale}")
        was_training = model.training
        model.eval()
        device = next(model.parameters(), torch.empty(0)).device
        rows = []
        for path in list_images([str(data)]):
            img, _ = read_image(path)
            hr = modcrop(sr_y(img), self.scale)
            if min(hr.shape[-2:]) <= 2 * self.scale:
                raise PixelsmithError(
                    f"too small to evaluate at x{self.scale} ({img.shape[-1]}x{img.shape[-2]})",
                    path,
                )
            lr = make_lr(hr, self.scale)
            sr = run_tiled(model, lr, scale=self.scale, tile=0, device=device)
            p, s = evaluate_sr_pair(sr, hr, self.scale)
            rows.append({"image": path.name, "psnr": float(p), "ssim": float(s)})
        model.train(was_training)
        return rows


class LumaSR(nn.Module):
    """Wrap a one-channel (Y) SR model for RGB: Y by the model, Cb and Cr by bicubic interpolation.

    ``(B, 3, h, w)`` RGB -> ``(B, 3, s*h, s*w)`` RGB (not clamped). Running the whole conversion per
    tile keeps tiled inference to one output buffer.
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model
        self.scale = model.scale
        self.bicubic = Bicubic(model.scale)
        self.receptive_field = max(getattr(model, "receptive_field", 33), Bicubic.receptive_field)

    def forward(self, rgb: torch.Tensor) -> torch.Tensor:
        ycc = rgb_to_ycbcr(rgb)
        return ycbcr_to_rgb(torch.cat([self.model(ycc[:, :1]), self.bicubic(ycc[:, 1:])], 1))


class GreyLumaSR(nn.Module):
    """Wrap a one-channel (Y) SR model for grey images, which it sees as the Y of RGB ``(g, g, g)``.

    The models are trained on Y in MATLAB's range, ``(16 + 219 g) / 255`` for a grey level ``g``;
    feeding ``g`` itself would shift and stretch what the network learnt. A grey photo and its RGB
    copy therefore upscale alike.
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model
        self.scale = model.scale
        self.receptive_field = getattr(model, "receptive_field", 33)
        self.gain = sum(YCBCR_FROM_RGB[0]) / 255.0  # 219 / 255
        self.offset = YCBCR_OFFSET[0] / 255.0  # 16 / 255

    def forward(self, grey: torch.Tensor) -> torch.Tensor:
        y = self.model(self.offset + self.gain * grey)
        return (y - self.offset) / self.gain


@torch.no_grad()
def upscale_image(
    model: nn.Module,
    image: torch.Tensor,
    *,
    tile: int = 256,
    batch_size: int = 0,
    device: str | torch.device = "cpu",
    dtype: torch.dtype = torch.float32,
    progress: bool = False,
) -> torch.Tensor:
    """Upscale ``image`` ``(C, H, W)`` in [0, 1] (C = 1 grey or 3 RGB) by ``model.scale``.

    A one-channel model restores Y; for RGB input, Cb and Cr are upscaled by bicubic interpolation
    (:class:`LumaSR`); a grey image goes in as the Y of its RGB copy (:class:`GreyLumaSR`).
    Returns ``(C, s*H, s*W)`` clamped to [0, 1].
    """
    if getattr(model, "in_channels", 1) == 1:
        model = LumaSR(model) if image.shape[0] == 3 else GreyLumaSR(model)
    out = run_tiled(
        model,
        image,
        scale=model.scale,
        tile=tile,
        batch_size=batch_size,
        device=device,
        dtype=dtype,
        progress=progress,
    )
    return out.clamp_(0, 1)
