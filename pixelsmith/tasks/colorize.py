"""Colorization: the degradation drops the colour (Lab, keep L); the network predicts ab.

The Task contract (:mod:`pixelsmith.tasks.base`) filled in for Zhang, Isola, Efros (ECCV 2016):

- ``load_data``: colour photos (grey ones are dropped), shrunk to a short side of 176 as in the
  paper's 256 -> 176 crops; ``setup_model`` computes the empirical ab prior of those photos (or
  reads one) into the fresh model, so it is saved with the weights;
- ``make_batch``: crops -> Lab -> ``Batch(inputs=(L,), target=ab at 1/4 size)``;
- ``loss``: a bin head learns the soft-encoded targets by the rebalanced cross-entropy
  (:mod:`pixelsmith.models.ab_bins`); a 2-channel head (the L2 baseline) by the squared error;
- ``prepare``: the input's L, shrunk to the *render size* (the short side ``16 x render_factor``;
  0: full size), as the model's input; the full-size L stays in the context;
- ``decode`` (per tile): bins -> ab by mode, mean or annealed mean (at the model's own
  temperature, else the paper's 0.38), after undoing a share of the tilt that class rebalancing
  gave the prediction (``correction``: the model's own, else half; a model's own settings are
  chosen for its weights on validation photos), upsampled x4;
- ``finish``: the render-size ab upsampled to the full size band by band, joined with the
  full-size L, converted to sRGB keeping L (:func:`~pixelsmith.color.lab_to_rgb_in_gamut`), so
  memory never holds more than the image and a band at full size;
- ``evaluate``: AuC of the per-pixel ab error (raw and class-rebalanced), PSNR and colourfulness
  (:mod:`pixelsmith.tasks.colorize_protocol`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import nn
from torch.nn import functional as F

from pixelsmith.color import has_colour, lab_to_rgb_in_gamut, rgb_to_lab
from pixelsmith.errors import PixelsmithError
from pixelsmith.models import ModelSpec, ab_bins, model_spec
from pixelsmith.tasks.base import Batch, Prepared, Task, option

DECODES = ("annealed", "mode", "mean")
AB_NORM = 110.0  # the L2 head predicts ab / 110, as the official networks
TRAIN_SHORT_SIDE = 176
RENDER_UNIT = 16
BAND_ROWS = 256  # full-size rows converted at a time in ``finish``
#: The share of the rebalancing undone at decoding for a model that carries no choice of its own
#: (chosen for colornet_s.photos on validation photos).
CORRECTION = 0.5
#: (correction, temperature) for a model that carries no decoding of its own.
TASK_DECODING = (CORRECTION, ab_bins.TEMPERATURE)


class ColourInputWarning(UserWarning):
    """A colour photo was given to the colorizer: only its lightness is used."""


def lightness(rgb: torch.Tensor) -> torch.Tensor:
    """L* of an image ``(N, C, H, W)`` (C = 3 sRGB, or 1 grey) -> ``(N, 1, H, W)`` in [0, 100]."""
    if rgb.shape[1] == 1:
        rgb = rgb.expand(-1, 3, -1, -1)
    return rgb_to_lab(rgb)[:, :1]


def _upsample_rows(ab: torch.Tensor, size: tuple[int, int], r0: int, r1: int) -> torch.Tensor:
    """Rows ``r0:r1`` of ``F.interpolate(ab, size, mode="bilinear")`` (align_corners False),
    computed from the few source rows they need. ``ab``: ``(1, 2, h, W)`` already at full width."""
    h = ab.shape[-2]
    H = size[0]
    y = ((torch.arange(r0, r1, dtype=torch.float64) + 0.5) * (h / H) - 0.5).clamp_(min=0)
    y0 = y.floor().long().clamp_(max=h - 1)
    y1 = (y0 + 1).clamp_(max=h - 1)
    wy = (y - y0).to(ab.dtype)[:, None]
    return ab[:, :, y0] * (1 - wy) + ab[:, :, y1] * wy


@dataclass
class Colorize(Task):
    """Colorization of grey photos.

    Attributes:
        decoding: ``"annealed"`` (the paper's), ``"mode"`` or ``"mean"`` for a bin head.
        temperature: of the annealed mean. ``None`` (the default) takes the model's own, chosen
            for its weights on validation photos with its ``correction`` (BENCHMARKS.md,
            "colorize-decoding") and carried in its weight file; a model without one is decoded
            at the paper's 0.38.
        correction: the share of the paper's class rebalancing (lambda 1/2) undone before
            decoding (:func:`~pixelsmith.models.ab_bins.retilt`): 0 undoes nothing, as the paper
            (vivid, but more often wrong than grey on common, dull colours; the paper's
            decoding is 0 at T = 0.38); 1 decodes the posterior of the training colours (right
            more often, duller). ``None`` (the default) takes the model's own, chosen for its
            weights on its validation photos (the shipped default's on the ImageNet tuning
            tenth, BENCHMARKS.md "colorize-decoding") and carried in its weight file (the
            ``correction`` of its ``arch_kwargs``); a model without one is decoded at
            :data:`CORRECTION` (0.5, chosen for ``colornet_s.photos`` on
            ``bsds500/train@val``, "colorize-correction"). A net trained with another lambda
            (``--rebalance``) has its own tilt removed and ``1 - correction`` of the paper's
            applied, so the same correction aims at the same colour odds whatever the net was
            trained with. A model without a measured prior (an official checkpoint) is decoded
            as it is.
        render_factor: the model sees the photo with its shorter side ``16 x render_factor`` px
            (photos already smaller are not enlarged); 0 runs the model at full size.
        prior: training only: a ``.npy`` of the ab prior (one value per bin of the model) or a
            pixelsmith colorization weight file to take it from, instead of computing it.
        short_side_max: training only: 0 shrinks every training photo to a short side of 176
            (the paper's 256 -> 176 crops, at the scale of its crops); larger, each crop is cut
            from its photo as if shrunk to a random short side in ``[176, short_side_max]``
            (scale augmentation: one photo gives crops at many scales, around the render size).
        perceptual: training only, for an ab head (the GAN generator): the name of the feature
            network of a perceptual loss (a VGG16 ``.pth``/``.pt`` file, read on the first step,
            or a colorization model, whose encoder the Trainer loads through
            :meth:`loss_models`); the loss is then
            L1 + the feature loss, instead of L2.
    """

    decoding: str = option("annealed", choices=DECODES)
    temperature: float | None = option(None, minimum=0.0)
    correction: float | None = option(None, minimum=0.0, maximum=1.0)
    render_factor: int = option(16, minimum=0)
    prior: str = option("", use="training")
    short_side_max: int = option(0, use="training", minimum=0)
    perceptual: str = option("", use="training")
    _bins: torch.Tensor | None = field(default=None, repr=False, compare=False)
    _weights: torch.Tensor | None = field(default=None, repr=False, compare=False)
    # (the weights the net was trained with, the paper's): the tilts decoding works with
    _tilt: tuple[torch.Tensor, torch.Tensor] | None = field(default=None, repr=False, compare=False)
    # (correction, temperature) the bound model carries, else the task's defaults: what a
    # ``None`` option decodes with
    _carried: tuple[float, float] = field(default=TASK_DECODING, repr=False, compare=False)
    _features: Any = field(default=None, repr=False, compare=False)

    name: ClassVar[str] = "colorize"
    verb: ClassVar[str] = "colorize"
    title: ClassVar[str] = "colorization"
    default_model: ClassVar[str] = "colorunet"
    aliases: ClassVar[dict[str, str]] = {"colorunet": "colorunet_s", "colornet": "colornet_s"}
    example_shape: ClassVar[tuple[int, int, int]] = (1, 64, 64)
    official_suffixes: ClassVar[tuple[str, ...]] = (".pth", ".pt")
    video_smoothing: ClassVar[str] = "chroma"  # predicted colours flicker between frames
    train_defaults: ClassVar[dict[str, Any]] = {
        "model": "colornet_s",
        "patch_size": 128,
        "batch_size": 32,
        "lr": 1e-3,
        "weight_decay": 1e-4,
    }

    def __post_init__(self) -> None:
        if self.decoding not in DECODES:
            raise PixelsmithError(f"decoding is {', '.join(DECODES)}, not {self.decoding!r}")
        if self.temperature is not None and not self.temperature > 0:
            raise PixelsmithError(f"the temperature must be positive, not {self.temperature}")
        if self.correction is not None and not 0 <= self.correction <= 1:
            raise PixelsmithError(
                f"the rebalancing correction is between 0 and 1, not {self.correction}"
            )
        if self.short_side_max < 0:
            raise PixelsmithError(f"short_side_max is 0 or more, not {self.short_side_max}")
        if self.render_factor < 0:
            raise PixelsmithError(
                f"render_factor is 0 (full size) or more, not {self.render_factor}"
            )

    # --- training -----------------------------------------------------------------------------
    def options(self) -> dict[str, Any]:
        options = {
            "decoding": self.decoding,
            "temperature": self.decode_temperature,
            "correction": self.decode_correction,
            "prior": self.prior,
        }
        if self.short_side_max:
            options["short_side_max"] = self.short_side_max
        if self.perceptual:
            options["perceptual"] = self.perceptual
            options["feature_network"] = self.feature_description()
        return options

    def feature_description(self) -> str:
        """The perceptual loss's feature network, as weight files record it."""
        if _is_vgg16_file(self.perceptual):
            return f"vgg16 ({Path(self.perceptual).name})"
        return f"colorization encoder {self.perceptual}"

    def loss_models(self) -> dict[str, tuple[str, str]]:
        """The colorization model whose encoder gives the perceptual loss's features (a VGG16
        file is read on the first step instead)."""
        if not self.perceptual or _is_vgg16_file(self.perceptual):
            return {}
        return {"features": (self.perceptual, "colorize")}

    def with_loss_models(self, models: dict[str, nn.Module]) -> Colorize:
        from pixelsmith.nn.perceptual import ColorNetFeatures, PerceptualLoss

        net = models.get("features")
        if net is None:
            return self
        if not hasattr(net, "blocks"):
            raise PixelsmithError(
                f"{self.perceptual} is not a ColorNet; its encoder cannot give features"
            )
        return replace(self, _features=PerceptualLoss(ColorNetFeatures(net), "colornet"))

    def feature_loss(self) -> nn.Module:
        """The perceptual loss (``(B, 3, H, W)`` Lab, twice -> a scalar)."""
        if self._features is None:
            if not _is_vgg16_file(self.perceptual):
                raise PixelsmithError(
                    f"the perceptual loss {self.perceptual!r} is not loaded: the Trainer loads "
                    "it (task.with_loss_models, for what task.loss_models names)"
                )
            from pixelsmith.nn.perceptual import PerceptualLoss, load_vgg16

            self._features = PerceptualLoss(load_vgg16(Path(self.perceptual)), "vgg16")
        return self._features

    def load_data(self, sources: list[str], patch_size: int, cache: bool = True):
        """Colour photos of ``sources`` (``dir@train`` for a split), short side 176 (or
        ``short_side_max``)."""
        from pixelsmith.data.photos import PhotoFolder
        from pixelsmith.data.split import list_split

        if patch_size % 8:
            raise PixelsmithError(f"colorization patches are multiples of 8, not {patch_size}")
        photos = PhotoFolder(
            list_split(sources),
            min_size=patch_size,
            cache=True,
            short_side=max(TRAIN_SHORT_SIDE, patch_size, self.short_side_max),
        )
        photos.keep(has_colour)
        return photos

    def setup_model(self, model: nn.Module, photos) -> None:
        """The ab prior of ``photos`` (nearest bins of their 1/4-size ab), or the ``prior`` file's,
        into ``model.prior``."""
        if self._is_regression(model):
            return
        if self.prior:
            prior = _read_prior(Path(self.prior), len(model.bins))
        else:
            prior = ab_bins.empirical_prior(
                (_ab_quarter(photos.image(i)) for i in range(len(photos))), model.bins
            )
        model.prior.copy_(prior.to(model.prior))

    def bind(self, model: nn.Module) -> Colorize:
        if self._is_regression(model):
            return replace(self, _bins=None, _weights=None, _tilt=None, _carried=TASK_DECODING)
        bins = model.bins.detach().float().cpu()
        if not bins.abs().sum():
            raise PixelsmithError("this colorization model holds no ab bins (an untrained shape?)")
        prior = model.prior.detach().double().cpu()
        lam = float(getattr(model, "rebalance", ab_bins.LAMBDA))  # what the net was trained with
        weights = ab_bins.rebalance_weights(prior, bins.double(), lam).float()
        paper = weights
        if lam != ab_bins.LAMBDA:
            paper = ab_bins.rebalance_weights(prior, bins.double(), ab_bins.LAMBDA).float()
        # the tilt decoding can undo is known only from a measured prior (an official checkpoint
        # comes without its training photos' prior: a uniform one stands in, and tilts nothing)
        measured = not torch.allclose(prior, prior.mean().expand_as(prior))
        tilt = (weights, paper) if measured else None
        carried = (
            _carried(model, "correction", CORRECTION),
            _carried(model, "temperature", ab_bins.TEMPERATURE),
        )
        return replace(self, _bins=bins, _weights=weights, _tilt=tilt, _carried=carried)

    @property
    def decode_correction(self) -> float:
        """The correction decoding uses: the option, else the bound model's own, else 0.5."""
        return self._carried[0] if self.correction is None else self.correction

    @property
    def decode_temperature(self) -> float:
        """The temperature decoding uses: the option, else the bound model's own, else 0.38."""
        return self._carried[1] if self.temperature is None else self.temperature

    @staticmethod
    def _is_regression(model: nn.Module) -> bool:
        """Whether ``model`` predicts ab itself (2 channels: the L2 baseline, the GAN, grey)
        rather than bin logits (a regression ColorNet holds bins it does not use)."""
        return model_spec(model).out_channels == 2

    def make_batch(self, photos, n: int, patch_size: int, generator: torch.Generator) -> Batch:
        """``Batch(inputs=(L (n, 1, p, p),), target=ab (n, 2, p/4, p/4))``."""
        short_sides = None
        if self.short_side_max > TRAIN_SHORT_SIDE:
            short_sides = (max(TRAIN_SHORT_SIDE, patch_size), self.short_side_max)
        lab = rgb_to_lab(photos.random_crops(n, patch_size, generator, short_sides=short_sides))
        return Batch((lab[:, :1],), F.avg_pool2d(lab[:, 1:], 4))

    def loss(self, prediction: torch.Tensor, batch: Batch) -> torch.Tensor:
        ab = batch.target
        if prediction.shape[1] == 2:
            if not self.perceptual:
                return F.mse_loss(prediction, ab / AB_NORM)
            return F.l1_loss(prediction, ab / AB_NORM) + self.perceptual_loss(
                prediction * AB_NORM, batch
            )
        if self._bins is None:
            raise RuntimeError("bind the task to its model first (task.bind(model))")
        bins = self._bins.to(ab.device)
        z = ab_bins.soft_encode(ab, bins)
        w = self._weights.to(ab.device)[ab_bins.nearest_bin(ab, bins)]
        return ab_bins.rebalanced_cross_entropy(prediction.float(), z, w)

    def perceptual_loss(self, ab: torch.Tensor, batch: Batch) -> torch.Tensor:
        """The feature loss of predicted ab ``(N, 2, p/4, p/4)`` against the batch's, both
        upsampled to the full patch and joined with its L."""
        loss = self.feature_loss()
        L = batch.inputs[0]
        up = lambda x: F.interpolate(x, size=L.shape[-2:], mode="bilinear", align_corners=False)  # noqa: E731
        loss = loss.to(L.device)
        return loss(torch.cat([L, up(ab)], 1), torch.cat([L, up(batch.target)], 1))

    def critic(self, width: int) -> nn.Module:
        """DeOldify's patch critic (:class:`~pixelsmith.models.unet_gan.PatchCritic`)."""
        from pixelsmith.models.unet_gan import PatchCritic

        return PatchCritic(width)

    def critic_input(self, batch: Batch, prediction: torch.Tensor | None = None) -> torch.Tensor:
        """Lab at the ab grid's 1/4 size, ``(N, 3, p/4, p/4)``: L / 100 and ab / 110, the batch's
        ab or an ab head's ``prediction`` (already ab / 110)."""
        if prediction is not None and prediction.shape[1] != 2:
            raise PixelsmithError("a GAN critic judges predicted ab: train an ab head (deoldify_s)")
        ab = batch.target / AB_NORM if prediction is None else prediction
        return torch.cat([F.avg_pool2d(batch.inputs[0], 4) / 100.0, ab], 1)

    # --- measuring ----------------------------------------------------------------------------
    def eval_dataset(self, source: str | Path) -> list[Path]:
        """The photos of ``source`` (``dir@val`` for a split); grey ones have no colour to
        measure and are skipped when measured (finding them here would decode every photo)."""
        from pixelsmith.data.split import list_split, split_source

        base, _ = split_source(str(source))
        if not Path(base).exists():
            raise PixelsmithError("evaluation data not found", base)
        paths = list_split([source])
        if not paths:
            raise PixelsmithError("no images to evaluate", source)
        return paths

    def evaluate(self, model: nn.Module, dataset: Any) -> dict[str, float]:
        from pixelsmith.tasks.colorize_protocol import evaluate_colorizer

        paths = dataset if isinstance(dataset, list) else self.eval_dataset(dataset)
        return evaluate_colorizer(self.bind(model), model, paths).means()

    # --- inference ----------------------------------------------------------------------------
    def pretrained_tag(self) -> str:
        return "photos"

    def check_model(self, spec: ModelSpec) -> None:
        if spec.in_channels != 1:
            raise PixelsmithError("a colorization model takes one channel (L)")

    def render_size(self, size: tuple[int, int]) -> tuple[int, int]:
        """The size the model sees for a photo of ``size`` ``(H, W)``."""
        h, w = size
        short = RENDER_UNIT * self.render_factor
        if not self.render_factor or min(h, w) <= short:
            return h, w
        k = short / min(h, w)
        return max(1, round(h * k)), max(1, round(w * k))

    def prepare(self, image: torch.Tensor, spec: ModelSpec) -> Prepared:
        """``(C, H, W)`` -> L at the render size; the full-size L in the context."""
        from pixelsmith.resize import imresize

        self.check_model(spec)
        colour = image.shape[0] == 3 and has_colour(image)
        if colour:
            warnings.warn(
                "the input is in colour: colorizing its lightness (L*) only",
                ColourInputWarning,
                stacklevel=3,
            )
        size = tuple(image.shape[-2:])
        full = _banded(lambda rows: lightness(image[None, :, rows]), size[0])
        small = self.render_size(size)
        x = full if small == size else imresize(full, size=small).clamp_(0, 100)
        return Prepared((x,), context={"lightness": full, "colour_input": colour})

    def decode(self, outputs: torch.Tensor, prepared: Prepared) -> torch.Tensor:
        """Bin logits or ab / 110 at 1/4 of the window -> ab ``(N, 2, h, w)`` on the window."""
        if outputs.shape[1] == 2:
            ab = outputs * AB_NORM
        else:
            if self._bins is None:
                raise RuntimeError("bind the task to its model first (task.bind(model))")
            logits = outputs
            if self._tilt is not None:
                trained, paper = self._tilt
                logits = ab_bins.retilt(outputs, trained, paper, 1 - self.decode_correction)
            ab = ab_bins.decode_ab(
                logits, self._bins.to(outputs), self.decoding, self.decode_temperature
            )
        return F.interpolate(ab, size=prepared.size, mode="bilinear", align_corners=False)

    def finish(self, image: torch.Tensor, prepared: Prepared) -> torch.Tensor:
        """Render-size ab ``(1, 2, h, w)`` + full-size L -> sRGB ``(1, 3, H, W)``, band by band."""
        ab = super().finish(image, prepared).float()
        L = prepared.context["lightness"]
        H, W = L.shape[-2:]
        if ab.shape[-1] != W:
            ab = F.interpolate(ab, size=(ab.shape[-2], W), mode="bilinear", align_corners=False)
        out = torch.empty(1, 3, H, W)
        for r0 in range(0, H, BAND_ROWS):
            r1 = min(H, r0 + BAND_ROWS)
            band = ab[..., r0:r1, :] if ab.shape[-2] == H else _upsample_rows(ab, (H, W), r0, r1)
            out[..., r0:r1, :] = lab_to_rgb_in_gamut(torch.cat([L[..., r0:r1, :], band], 1))
        return out

    def load_official(self, path: Path) -> nn.Module:
        """The official ECCV16 PyTorch checkpoint (``colorization_release_v2*.pth``)."""
        from pixelsmith.models import create_model
        from pixelsmith.models.colornet import convert_official_eccv16
        from pixelsmith.nn.checkpoint import check_state, read_state_dict

        state = convert_official_eccv16(read_state_dict(path, "ECCV16"))
        model = create_model("eccv16", n_bins=313)
        check_state(state, model.state_dict(), "ECCV16", path)
        model.load_state_dict(state)
        return model

    def output_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        _, h, w = shape
        return (3, h, w)

    def output_suffix(self) -> str:
        return "_color"


def _carried(model: nn.Module, name: str, default: float) -> float:
    """A decoding setting the model carries (chosen for its weights), else ``default``."""
    carried = getattr(model, name, None)
    return default if carried is None else float(carried)


def _banded(fn, height: int) -> torch.Tensor:
    """``fn(rows)`` over bands of ``BAND_ROWS`` rows, concatenated along the rows."""
    parts = [fn(slice(r0, min(height, r0 + BAND_ROWS))) for r0 in range(0, height, BAND_ROWS)]
    return torch.cat(parts, -2)


def _ab_quarter(image: torch.Tensor) -> torch.Tensor:
    """An integer photo ``(3, H, W)`` -> its ab averaged over 4x4 blocks ``(1, 2, H/4, W/4)``."""
    x = image[None].float() / (65535.0 if image.dtype == torch.uint16 else 255.0)
    h, w = (s - s % 4 for s in x.shape[-2:])
    return F.avg_pool2d(rgb_to_lab(x[..., :h, :w])[:, 1:], 4)


def _read_prior(path: Path, n_bins: int) -> torch.Tensor:
    if not path.is_file():
        raise PixelsmithError("prior file not found", path)
    if path.suffix == ".npy":
        import numpy as np

        prior = torch.from_numpy(np.load(path)).double().flatten()
    else:
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        try:
            state = load_file(str(path))
        except (SafetensorError, OSError, ValueError) as e:
            raise PixelsmithError(f"cannot read the prior ({e})", path) from None
        if "prior" not in state:
            raise PixelsmithError("this weight file holds no ab prior", path)
        prior = state["prior"].double()
    if len(prior) != n_bins or (prior < 0).any() or not prior.sum() > 0:
        raise PixelsmithError(
            f"the prior must hold {n_bins} non-negative values, not {len(prior)}", path
        )
    return prior / prior.sum()


def _is_vgg16_file(name: str) -> bool:
    return Path(name).suffix.lower() in (".pth", ".pt")
