"""Super-resolution: the degradation is blur + MATLAB-bicubic downscaling; the network undoes it.

The worked example of the Task contract (:mod:`pixelsmith.tasks.base`):

- ``make_batch``: random crops -> Y (BT.601, MATLAB range) -> LR by the protocol's ``imresize``
  (or the blind two-round degradation) -> ``Batch(inputs=(LR Y,), target=HR Y)``;
- ``loss``: MSE;
- ``prepare``: an RGB photo goes in as its Y, with Cb and Cr kept as a guide; a grey photo goes in
  as the Y of its RGB copy, ``(16 + 219 g) / 255``; a model that takes RGB gets RGB;
- ``decode`` (per tile): the network's Y beside bicubic-upscaled CbCr, back to RGB (or grey);
- ``finish``: clamp to [0, 1];
- ``evaluate``: the SRCNN protocol (:mod:`pixelsmith.tasks.sr_protocol`) over a folder of photos.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import nn
from torch.nn import functional as F

from pixelsmith.color import YCBCR_FROM_RGB, YCBCR_OFFSET, rgb_to_y, rgb_to_ycbcr, ycbcr_to_rgb
from pixelsmith.errors import PixelsmithError
from pixelsmith.metrics import modcrop
from pixelsmith.models import ModelSpec, model_device, model_spec
from pixelsmith.resize import imresize
from pixelsmith.tasks.base import Batch, Prepared, Task, option
from pixelsmith.tasks.sr_protocol import evaluate_sr_pair, make_lr, sr_y

SCALES = (2, 3, 4)

#: A grey level ``g`` is the Y of RGB ``(g, g, g)``: ``Y = offset + gain * g`` (MATLAB range).
GREY_Y_GAIN = sum(YCBCR_FROM_RGB[0]) / 255.0  # 219 / 255
GREY_Y_OFFSET = YCBCR_OFFSET[0] / 255.0  # 16 / 255


def check_scale(scale: int) -> int:
    if scale not in SCALES:
        raise PixelsmithError(
            f"unsupported scale {scale}: pixelsmith super-resolves by x2, x3 or x4"
        )
    return scale


@dataclass
class SuperRes(Task):
    """The super-resolution task at one scale; ``blind`` adds the real-photo degradation pipeline.

    Attributes:
        scale: the factor, 2, 3 or 4: the result is ``scale`` times wider and taller.
        blind: use (and train) the model for real, degraded photos: blur, noise and JPEG.
    """

    scale: int = option(3, choices=SCALES)
    blind: bool = False

    name: ClassVar[str] = "superres"
    verb: ClassVar[str] = "upscale"
    title: ClassVar[str] = "super-resolution"
    default_model: ClassVar[str] = "lrnet"
    aliases: ClassVar[dict[str, str]] = {"lrnet": "lrnet_s", "srcnn": "srcnn_955"}
    decode_radius: ClassVar[int] = 2  # bicubic chroma: 4 taps, 2 LR pixels each side
    compare_models: ClassVar[tuple[str, ...]] = ("bicubic", "srcnn")
    example_shape: ClassVar[tuple[int, int, int]] = (1, 64, 64)
    official_suffixes: ClassVar[tuple[str, ...]] = (".mat",)

    def __post_init__(self) -> None:
        check_scale(self.scale)

    # --- training -----------------------------------------------------------------------------
    def options(self) -> dict[str, Any]:
        return {"scale": self.scale, "blind": self.blind}

    def model_kwargs(self) -> dict[str, Any]:
        return {"scale": self.scale}

    def crop_size(self, patch_size: int) -> int:
        return -(-patch_size // self.scale) * self.scale

    def load_data(self, sources: list[str], patch_size: int, cache: bool = True):
        from pixelsmith.data.photos import PhotoFolder

        return PhotoFolder(sources, min_size=self.crop_size(patch_size), cache=cache)

    def make_batch(self, photos, n: int, patch_size: int, generator: torch.Generator) -> Batch:
        """``Batch(inputs=(LR Y (n, 1, p/s, p/s),), target=HR Y (n, 1, p, p))`` from random crops."""
        rgb = photos.random_crops(n, self.crop_size(patch_size), generator)
        hr = rgb_to_y(rgb)
        if self.blind:
            from pixelsmith.data.degrade import real_world_degrade

            return Batch((rgb_to_y(real_world_degrade(rgb, self.scale, generator)),), hr)
        return Batch((make_lr(hr, self.scale),), hr)

    def loss(self, prediction: torch.Tensor, batch: Batch) -> torch.Tensor:
        return F.mse_loss(prediction, batch.target)

    # --- measuring ----------------------------------------------------------------------------
    def eval_dataset(self, source: str | Path) -> list[Path]:
        """The photos of a folder (or files, globs): the HR ground truth of the protocol."""
        from pixelsmith.io import list_images

        if not Path(source).exists():
            raise PixelsmithError("evaluation data not found", source)
        return list_images([str(source)])

    def evaluate(self, model: nn.Module, dataset: str | Path | list[Path]) -> dict[str, float]:
        """Mean PSNR (dB) and SSIM over ``dataset`` (a folder, or :meth:`eval_dataset`'s list)
        by the SRCNN protocol."""
        rows = self.evaluate_images(model, dataset)
        return {
            "psnr": sum(r["psnr"] for r in rows) / len(rows),
            "ssim": sum(r["ssim"] for r in rows) / len(rows),
        }

    @torch.no_grad()
    def evaluate_images(
        self, model: nn.Module, dataset: str | Path | list[Path]
    ) -> list[dict[str, Any]]:
        """Per-image PSNR/SSIM by the SRCNN protocol: ``[{"image", "psnr", "ssim"}, ...]``."""
        from pixelsmith.io import read_image

        self.check_model(model_spec(model))
        paths = dataset if isinstance(dataset, list) else self.eval_dataset(dataset)
        was_training = model.training
        model.eval()
        device = model_device(model)
        rows = []
        try:
            for path in paths:
                img, _ = read_image(path)
                hr = modcrop(sr_y(img), self.scale)
                if min(hr.shape[-2:]) <= 2 * self.scale:
                    raise PixelsmithError(
                        f"too small to evaluate at x{self.scale} ({img.shape[-1]}x{img.shape[-2]})",
                        path,
                    )
                sr = model(make_lr(hr, self.scale)[None].to(device))[0].cpu()
                p, s = evaluate_sr_pair(sr, hr, self.scale)
                rows.append({"image": path.name, "psnr": float(p), "ssim": float(s)})
        finally:
            model.train(was_training)
        return rows

    # --- inference ----------------------------------------------------------------------------
    def pretrained_tag(self) -> str:
        return f"x{self.scale}" + ("_blind" if self.blind else "")

    def check_model(self, spec: ModelSpec) -> None:
        if spec.scale != self.scale:
            raise PixelsmithError(f"the model upscales x{spec.scale}, not x{self.scale}")

    def prepare(self, image: torch.Tensor, spec: ModelSpec) -> Prepared:
        """``(C, H, W)`` (C = 1 grey or 3 RGB) -> the model's input. A one-channel model is a Y
        model: RGB goes in as Y (CbCr kept as a guide), grey as the Y of its RGB copy. A model of
        ``C`` channels takes the image as it is."""
        self.check_model(spec)
        c = image.shape[0]
        x = image[None]
        if spec.in_channels != 1:
            if spec.in_channels != c:
                raise PixelsmithError(
                    f"this model takes {spec.in_channels}-channel images, not {c}"
                )
            return Prepared((x,), scale=self.scale)
        if c == 3:
            ycc = rgb_to_ycbcr(x)
            return Prepared((ycc[:, :1],), {"cbcr": ycc[:, 1:]}, scale=self.scale)
        return Prepared((GREY_Y_OFFSET + GREY_Y_GAIN * x,), scale=self.scale, context={"grey": 1})

    def decode(self, outputs: torch.Tensor, prepared: Prepared) -> torch.Tensor:
        if "cbcr" in prepared.guides:
            return ycbcr_to_rgb(
                torch.cat([outputs, imresize(prepared.guides["cbcr"], self.scale)], 1)
            )
        if prepared.context.get("grey"):
            return (outputs - GREY_Y_OFFSET) / GREY_Y_GAIN
        return outputs

    def finish(self, image: torch.Tensor, prepared: Prepared) -> torch.Tensor:
        return super().finish(image, prepared).clamp_(0, 1)

    def carry_alpha(self, alpha: torch.Tensor) -> torch.Tensor:
        """Alpha ``(1, H, W)`` upscaled by MATLAB bicubic (a banded gather: memory stays small)."""
        return imresize(alpha, self.scale).clamp_(0, 1)

    def load_official(self, path: Path) -> nn.Module:
        """The SRCNN authors' MATLAB model (``.mat``; it does not record its scale: ours)."""
        from pixelsmith.models.srcnn_official import load_srcnn_official

        return load_srcnn_official(path, self.scale)

    def output_suffix(self) -> str:
        return f"_x{self.scale}"

    def output_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        """The result's ``(C, H, W)`` for an input of ``shape``."""
        c, h, w = shape
        return (c, h * self.scale, w * self.scale)
