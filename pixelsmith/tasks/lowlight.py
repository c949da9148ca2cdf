"""Low-light enhancement of sRGB photos: the degradation under-exposes; the network brightens back.

The Task contract (:mod:`pixelsmith.tasks.base`) filled in for three kinds of model, told apart by
their ``objective``:

- ``"image"``: a network that outputs the enhanced photo (the folded U-Net ``lowlight_unet``),
  trained on pairs by L1;
- ``"retinex"``: DeepUPE's illumination estimation (``deepupe_s``): the photo is ``I / S``, the
  loss is reconstruction + illumination smoothness + colour angle;
- ``"zero_reference"``: Zero-DCE's curves (``zero_dce``), trained on dark photos alone by the
  spatial-consistency, exposure, colour-constancy and curve-smoothness losses;
- ``"curves"``: per-pixel curves estimated at low resolution and applied at full resolution
  (``lowlight_curves``, the default), trained on pairs by L1 with a smoothness term on the
  low-resolution curve maps; a share of its synthetic pairs are well-exposed photos that are
  their own targets (:data:`IDENTITY_FRACTION`), so it learns to leave such photos alone.

- ``load_data``: folders of photos (under-exposed on the fly by
  :func:`~pixelsmith.data.underexpose.underexpose`) and folders of real pairs (``low/`` and
  ``high/``, e.g. LOL), mixed by ``pair_fraction`` (half and half by default) when both are
  given;
- ``make_batch``: ``Batch(inputs=(low,), target=high)``;
- ``prepare``: RGB as it is (grey as grey RGB), scaled by one gain for the whole photo to the
  mean level ``exposure`` when the model was trained so (:func:`exposure_gain`: the network then
  sees every photo at one brightness, however dark it was shot, and the gain is the same in
  every tile); ``decode``: the input moved towards the model's result by ``strength``;
  ``finish``: clamp (grey back to one channel);
- ``evaluate``: PSNR and SSIM (RGB, 8-bit results) over a folder of pairs.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import nn
from torch.nn import functional as F

from pixelsmith.errors import PixelsmithError
from pixelsmith.models import ModelSpec
from pixelsmith.tasks.base import Batch, Prepared, Task, option

OBJECTIVES = ("image", "retinex", "zero_reference", "curves")
#: The illumination model's loss weights beside reconstruction (1): smoothness and colour. Our
#: terms are means over pixels (the colour angle in radians), not DeepUPE's sums, so the paper's
#: weights do not carry over; these keep reconstruction the largest term (at initialisation on
#: LOL crops: MSE 0.03, smoothness 0.008, angle 0.2 rad). With a colour weight of 1 the angle
#: dominated and validation PSNR fell from 16.2 to 13.4 dB over training.
RETINEX_SMOOTHNESS, RETINEX_COLOUR = 1.0, 0.05
#: The curve model's smoothness weight (Zero-DCE's total variation of the low-resolution curve
#: maps, beside L1 to the target): enough to keep the maps free of texture, so the output's
#: detail is the input's.
CURVE_SMOOTHNESS = 0.2
#: The share of a curve model's synthetic crops shown as they are, with themselves as the
#: target: a well-exposed photo should come back unchanged.
IDENTITY_FRACTION = 0.25


#: The most an exposure-normalising model's input is brightened (a black frame stays black).
MAX_GAIN = 100.0


def exposure_gain(image: torch.Tensor, level: float) -> torch.Tensor:
    """The gain that brings each image of ``(N, C, H, W)`` to mean ``level``, ``(N, 1, 1, 1)``,
    between 1 (a bright photo is not darkened) and :data:`MAX_GAIN`."""
    mean = image.mean(dim=(1, 2, 3), keepdim=True)
    return (level / mean.clamp(min=level / MAX_GAIN)).clamp(min=1.0)


def _mean_level(image: torch.Tensor) -> float:
    """The mean of an integer image in [0, 1]."""
    return float(image.double().mean()) / torch.iinfo(image.dtype).max


def objective(model: nn.Module) -> str:
    """How ``model`` is trained: its ``objective`` attribute, ``"image"`` by default."""
    return getattr(model, "objective", "image")


@dataclass
class Lowlight(Task):
    """Low-light enhancement.

    Attributes:
        strength: how far the result goes from the input to the model's output (0 leaves the
            photo as it is, 1 is the model's result; up to 2 goes further).
        pair_fraction: training only: the share of each batch cut from real pairs when both
            photo folders and pair folders are given (the rest is synthetic).
    """

    strength: float = option(1.0, minimum=0.0, maximum=2.0)
    pair_fraction: float = option(0.5, use="training", minimum=0.0, maximum=1.0)
    _objective: str = field(default="image", repr=False, compare=False)
    _exposure: float | None = field(default=None, repr=False, compare=False)

    name: ClassVar[str] = "lowlight"
    verb: ClassVar[str] = "enhance"
    title: ClassVar[str] = "low-light enhancement"
    default_model: ClassVar[str] = "lowlight_curves"
    aliases: ClassVar[dict[str, str]] = {
        "unet": "lowlight_unet",
        "curves": "lowlight_curves",
        "deepupe": "deepupe_s",
        "zero-dce": "zero_dce",
    }
    compare_models: ClassVar[tuple[str, ...]] = ("global_gain", "zero-dce")
    example_shape: ClassVar[tuple[int, int, int]] = (3, 64, 64)
    official_suffixes: ClassVar[tuple[str, ...]] = (".pth",)
    train_defaults: ClassVar[dict[str, Any]] = {
        "model": "lowlight_curves",
        "patch_size": 256,
        "batch_size": 16,
        "lr": 1e-3,
    }

    def __post_init__(self) -> None:
        if not 0 <= self.strength <= 2:
            raise PixelsmithError(f"strength is between 0 and 2, not {self.strength}")
        if not 0 <= self.pair_fraction <= 1:
            raise PixelsmithError(f"pair_fraction is between 0 and 1, not {self.pair_fraction}")

    # --- training -----------------------------------------------------------------------------
    def options(self) -> dict[str, Any]:
        return {"strength": self.strength, "pair_fraction": self.pair_fraction}

    def load_data(self, sources: list[str], patch_size: int, cache: bool = True):
        """``(photos or None, pairs or None)``: the photo folders and the pair folders of
        ``sources`` (a folder with ``low/`` and ``high/`` is a pair folder)."""
        from pixelsmith.data.pairs import is_pair_folder, load_pairs
        from pixelsmith.data.photos import PhotoFolder
        from pixelsmith.data.split import list_split

        pair_dirs = [s for s in sources if is_pair_folder(s)]
        photo_dirs = [s for s in sources if s not in pair_dirs]
        photos = PhotoFolder(list_split(photo_dirs), min_size=patch_size) if photo_dirs else None
        pairs = None
        if pair_dirs:
            folders = [load_pairs(d, min_size=patch_size) for d in pair_dirs]
            pairs = folders[0]
            for more in folders[1:]:
                pairs = type(pairs).from_images(
                    pairs.images + more.images, pairs.paths + more.paths
                )
        if photos is None and pairs is None:
            raise PixelsmithError("no training data: give photo folders or pair folders")
        return photos, pairs

    def bind(self, model: nn.Module) -> Lowlight:
        kind = objective(model)
        if kind not in OBJECTIVES:
            raise PixelsmithError(f"unknown low-light objective {kind!r}")
        return replace(self, _objective=kind, _exposure=getattr(model, "exposure", None))

    def make_batch(self, data, n: int, patch_size: int, generator: torch.Generator) -> Batch:
        """``Batch(inputs=(low (n, 3, p, p),), target=high)``: real pairs and synthetic ones."""
        from pixelsmith.data.underexpose import underexpose

        photos, pairs = data
        n_pairs = 0 if pairs is None else n if photos is None else round(n * self.pair_fraction)
        lows, highs = [], []
        if n_pairs:
            crops, index = pairs.random_crops(n_pairs, patch_size, generator, return_index=True)
            low = crops[:, :3]
            if self._exposure is not None:  # one gain per photo, as at inference
                means = [_mean_level(pairs.image(i)[:3]) for i in index.tolist()]
                low = low * exposure_gain(torch.tensor(means).view(-1, 1, 1, 1), self._exposure)
            lows.append(low)
            highs.append(crops[:, 3:])
        if n - n_pairs:
            clean = photos.random_crops(n - n_pairs, patch_size, generator)
            low = underexpose(clean, generator)
            if self._objective == "curves":  # some well-exposed crops stay as they are
                keep = round((n - n_pairs) * IDENTITY_FRACTION)
                low[:keep] = clean[:keep]
            if self._exposure is not None:  # the crop's gain: its photo is not at hand
                low = low * exposure_gain(low, self._exposure)
            lows.append(low)
            highs.append(clean)
        return Batch((torch.cat(lows),), torch.cat(highs))

    def training_forward(self, model: nn.Module, batch: Batch) -> Any:
        if self._objective == "image":
            return model(*batch.inputs)
        return model(*batch.inputs, aux=True)

    def loss(self, prediction: Any, batch: Batch) -> torch.Tensor:
        from pixelsmith.nn import lowlight_losses as L

        low, high = batch.inputs[0], batch.target
        if self._objective == "image":
            return F.l1_loss(prediction, high)
        out, aux = prediction
        if self._objective == "retinex":
            return (
                F.mse_loss(out, high)
                + RETINEX_SMOOTHNESS * L.illumination_smoothness_loss(aux, low)
                + RETINEX_COLOUR * L.colour_angle_loss(out, high)
            )
        if self._objective == "curves":
            return F.l1_loss(out, high) + CURVE_SMOOTHNESS * L.illumination_tv_loss(aux)
        return L.zero_dce_loss(out, low, aux)

    # --- measuring ----------------------------------------------------------------------------
    def eval_dataset(self, source: str | Path) -> list[tuple[Path, Path]]:
        """The pairs of a folder with ``low/`` and ``high/``."""
        from pixelsmith.data.pairs import list_pairs
        from pixelsmith.data.split import split_source

        if not Path(split_source(str(source))[0]).exists():
            raise PixelsmithError("evaluation data not found", source)
        return list_pairs(source)

    def evaluate(self, model: nn.Module, dataset: Any) -> dict[str, float]:
        """Mean PSNR (dB) and SSIM of the 8-bit RGB results over a folder of pairs."""
        rows = self.evaluate_pairs(model, dataset)
        return {k: sum(r[k] for r in rows) / len(rows) for k in ("psnr", "ssim")}

    @torch.no_grad()
    def evaluate_pairs(self, model: nn.Module, dataset: Any) -> list[dict[str, Any]]:
        """``[{"image", "psnr", "ssim"}, ...]`` per pair."""
        from pixelsmith.data.pairs import read_pair
        from pixelsmith.metrics import psnr, quantize_uint8, ssim
        from pixelsmith.models import model_spec
        from pixelsmith.tasks.base import run_whole

        pairs = dataset if isinstance(dataset, list) else self.eval_dataset(dataset)
        task = self.bind(model)
        was_training = model.training
        model.eval()
        rows = []
        try:
            for low, high in pairs:
                x, y = read_pair(low, high)
                prepared = task.prepare(x, model_spec(model))
                out = run_whole(task, model, prepared)
                out = quantize_uint8(out).double() / 255.0
                y = y.double()
                rows.append(
                    {
                        "image": low.name,
                        "psnr": float(psnr(out, y)),
                        "ssim": float(ssim(out[None], y[None])),
                    }
                )
        finally:
            model.train(was_training)
        return rows

    # --- inference ----------------------------------------------------------------------------
    def pretrained_tag(self) -> str:
        return "photos"

    def check_model(self, spec: ModelSpec) -> None:
        if spec.in_channels != 3 or spec.scale != 1:
            raise PixelsmithError("a low-light model takes an RGB photo and keeps its size")

    def prepare(self, image: torch.Tensor, spec: ModelSpec) -> Prepared:
        self.check_model(spec)
        grey = image.shape[0] == 1
        x = image.expand(3, -1, -1)[None].contiguous()
        gain = 1.0
        if self._exposure is not None:
            gain = float(exposure_gain(x.double(), self._exposure))
            x = x * gain
        return Prepared((x,), context={"grey": grey, "gain": gain})

    def decode(self, outputs: torch.Tensor, prepared: Prepared) -> torch.Tensor:
        if self.strength == 1:
            return outputs
        x = prepared.inputs[0].to(outputs) / prepared.context.get("gain", 1.0)
        return x + self.strength * (outputs - x)

    def finish(self, image: torch.Tensor, prepared: Prepared) -> torch.Tensor:
        out = super().finish(image, prepared).clamp_(0, 1)
        return out.mean(1, keepdim=True) if prepared.context.get("grey") else out

    def load_official(self, path: Path) -> nn.Module:
        """The Zero-DCE authors' checkpoint (``Epoch99.pth``)."""
        from pixelsmith.models.zero_dce import load_official_zero_dce

        return load_official_zero_dce(path)

    def output_suffix(self) -> str:
        return "_enhanced"
