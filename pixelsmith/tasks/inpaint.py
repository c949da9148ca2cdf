"""Inpainting: the degradation punches holes; the network fills them.

The Task contract (:mod:`pixelsmith.tasks.base`) filled in for networks that take the photo and
its mask (``model(image * M, M)``, M = 1 known, 0 hole), and for the classical fills. Two kinds
of network, told apart by their ``objective`` (``bind`` records it):

- ``"inpaint"``: the PConv U-Net (``pconv_unet_s``), trained by the partial-convolution paper's
  loss;
- ``"vae"``: the conditional VAE (``inpaint_vae``, :mod:`pixelsmith.models.inpaint_vae`), which
  also takes the photo's attributes as constant planes, ``model(image * M, M, attributes)``, and
  is trained by the ELBO plus a feature-consistency term (Hou et al. 2017).

- ``load_data``: folders of photos; ``make_batch``: clean crops (the target) and irregular masks
  (:func:`pixelsmith.data.masks.random_masks`, each in one of the paper's hole-ratio buckets):
  ``Batch(inputs=(photo * M, M), target=photo, mask=M)``;
- ``loss``: the paper's, :func:`pixelsmith.nn.inpaint_losses.inpaint_loss` (its weights are the
  task's settings; the perceptual and style terms use VGG16 from a local file, or pixelsmith's
  colorization encoder: ``features``); for the VAE, :func:`pixelsmith.nn.vae_losses.vae_loss`
  (``kl_weight``, ``vae_perceptual_weight``, the same feature network), its batches carrying the
  attributes of the clean crop (:func:`pixelsmith.data.attributes.photo_attributes`) or of its
  photo in a labels CSV (``labels``);
- ``inputs``: the photo and its hole mask, a per-photo input (``mask=``, white = hole, any kind
  an image can be given as; ``read_inputs`` reads a path once for a run over many photos), or a
  photo whose transparent pixels are the hole; ``prepare``: the two inputs, tiled
  together (for the VAE a third: the attributes measured on the known pixels, with the task's
  ``attributes`` overriding the ones it names, as constant planes); ``finish``: the composite,
  ``M x + (1 - M) y``, so the result equals the input outside the hole exactly;
- ``evaluate``: the paper's Table 1 protocol: L1, PSNR and SSIM of the composite per hole-ratio
  bucket (:mod:`pixelsmith.tasks.inpaint_protocol`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import nn

from pixelsmith.errors import PixelsmithError
from pixelsmith.images import MaskedImage
from pixelsmith.models import ModelSpec
from pixelsmith.tasks.base import Batch, Prepared, Task, option

#: The feature network of the perceptual and style terms when none is named.
DEFAULT_FEATURES = "colornet_s.photos"
OBJECTIVES = ("inpaint", "vae")
#: Crops the VAE's attribute statistics are measured on before training (fixed seed).
ATTRIBUTE_STAT_CROPS = 256
#: The VAE's feature-consistency weight. On colornet_s.photos' four blocks the feature distance
#: (a mean squared difference per layer, summed) is 100-400 times the pixel MSE: on 128 px crops,
#: a 16 px picture upsampled has MSE 0.012 and feature distance 4.7, a 32 px one 0.008 and 2.6.
#: At 0.01 the feature term's pull towards the sharper picture (0.020) is five times the pixel
#: term's (0.004), and the pixel term still sets the colours (the features see lightness only).
VAE_PERCEPTUAL_WEIGHT = 0.01


def objective(model: nn.Module) -> str:
    """How ``model`` is trained: its ``objective`` attribute, ``"inpaint"`` by default."""
    return getattr(model, "objective", "inpaint")


def hole_from(mask: Any) -> torch.Tensor:
    """A mask as a user gives it (a path, PIL image, array or tensor, boolean too; white, 1 or
    True = hole) ->
    ``(1, H, W)`` float32 with 1 = hole. A colour mask is read by its mean; alpha is ignored."""
    import numpy as np

    from pixelsmith.images import as_image

    if isinstance(mask, np.ndarray) and mask.dtype == np.bool_:
        mask = mask.astype(np.uint8) * 255  # True = hole
    elif isinstance(mask, torch.Tensor):
        mask = mask.float() if mask.dtype == torch.bool else mask
        mask = mask[None] if mask.dim() == 2 else mask  # a mask (H, W) is one plane
    pixels, _, _ = as_image(mask)
    return (pixels.mean(0, keepdim=True) > 0.5).float()


@dataclass
class Inpaint(Task):
    """Inpainting.

    The hole is a per-photo input, not an option: ``pipe(photo, mask=hole)``, with ``mask`` white
    (or 1) where to fill, a path, PIL image, array or tensor; without it the photo's transparent
    pixels are the hole.

    Attributes:
        resize_mask: scale a mask of another size to the photo's (nearest neighbour) instead of
            refusing it.
        mask_unit: the side of the image whose proportions generated holes take (training and
            validation): 512, that of NVIDIA's test masks, so a 128 px crop has strokes as wide
            as the holes measured on.
        masks: evaluation only: a folder of hole masks to measure on (``masks_nvidia_test``);
            empty: masks generated with fixed seeds, a few per bucket.
        hole_weight, perceptual_weight, style_weight, tv_weight: training only: the loss
            weights beside ``L_valid`` (1); the defaults are the paper's.
        features: training only: the perceptual and style terms' feature network: a local
            VGG16 ``.pth`` (torchvision keys) or a colorization model (a shipped name or a weight
            file) whose encoder is used; empty: ``colornet_s.photos``.
        attributes: the VAE only, inference: attributes that steer the fill, overriding those
            measured on the photo's known pixels: a dict or ``"brightness=0.8,saturation=0.1"``
            (``hue=DEGREES`` sets ``hue_cos`` and ``hue_sin`` at the saturation's length).
        kl_weight: the VAE only, training: beta, the KL term's weight (1: the ELBO).
        vae_perceptual_weight: the VAE only, training: the feature-consistency term's weight
            (0: the plain ELBO).
        labels: the VAE only, training: a CSV of the training photos' attributes (header
            ``file,name1,name2,...``; one row per file name): the model is built with those
            attributes instead of measuring them on the crops.
    """

    resize_mask: bool = False
    mask_unit: int = option(512, use="training")
    masks: str = option("", use="evaluation")
    hole_weight: float = option(6.0, use="training")
    perceptual_weight: float = option(0.05, use="training")
    style_weight: float = option(120.0, use="training")
    tv_weight: float = option(0.1, use="training")
    features: str = option("", use="training")
    attributes: Any = None
    kl_weight: float = option(1.0, use="training")
    vae_perceptual_weight: float = option(VAE_PERCEPTUAL_WEIGHT, use="training")
    labels: str = option("", use="training")
    _features: Any = field(default=None, repr=False, compare=False)
    _objective: str = field(default="inpaint", repr=False, compare=False)
    _attribute_names: tuple[str, ...] = field(default=(), repr=False, compare=False)
    _attribute_mean: Any = field(default=None, repr=False, compare=False)

    name: ClassVar[str] = "inpaint"
    verb: ClassVar[str] = "inpaint"
    title: ClassVar[str] = "inpainting"
    default_model: ClassVar[str] = "pconv_unet_s"
    aliases: ClassVar[dict[str, str]] = {
        "pconv": "pconv_unet_s",
        "ns": "navier_stokes",
        "vae": "inpaint_vae",
    }
    compare_models: ClassVar[tuple[str, ...]] = ("telea",)
    example_shape: ClassVar[tuple[int, int, int]] = (3, 64, 64)
    inputs: ClassVar[tuple[str, ...]] = ("image", "mask")
    train_defaults: ClassVar[dict[str, Any]] = {
        "model": "pconv_unet_s",
        "patch_size": 128,
        "batch_size": 16,
        "lr": 2e-4,
    }

    def __post_init__(self) -> None:
        for name in (
            "hole_weight",
            "perceptual_weight",
            "style_weight",
            "tv_weight",
            "kl_weight",
            "vae_perceptual_weight",
        ):
            if getattr(self, name) < 0:
                raise PixelsmithError(f"{name} is at least 0, not {getattr(self, name)}")
        from pixelsmith.data.attributes import parse_attributes

        parse_attributes(self.attributes)  # a bad override fails before any work

    # --- training -----------------------------------------------------------------------------
    @property
    def loss_weights(self):
        from pixelsmith.nn.inpaint_losses import InpaintLossWeights

        return InpaintLossWeights(
            1.0, self.hole_weight, self.perceptual_weight, self.style_weight, self.tv_weight
        )

    def feature_name(self) -> str:
        """The feature network the loss of the bound model's objective uses ("" when its
        terms are off)."""
        needs = (
            bool(self.vae_perceptual_weight)
            if self._objective == "vae"
            else self.loss_weights.needs_features
        )
        return self.features or DEFAULT_FEATURES if needs else ""

    def options(self) -> dict[str, Any]:
        vae_features = self.vae_perceptual_weight and (self.features or DEFAULT_FEATURES)
        return {
            "hole_weight": self.hole_weight,
            "perceptual_weight": self.perceptual_weight,
            "style_weight": self.style_weight,
            "tv_weight": self.tv_weight,
            "mask_unit": self.mask_unit,
            "features": self.feature_name(),
            "kl_weight": self.kl_weight,
            "vae_perceptual_weight": self.vae_perceptual_weight,
            "vae_features": vae_features or "",
            "labels": self.labels,
        }

    def model_kwargs(self) -> dict[str, Any]:
        """With ``labels``, the VAE is built with the CSV's attributes."""
        if not self.labels:
            return {}
        from pixelsmith.data.attributes import read_labels

        return {"attributes": read_labels(self.labels).names}

    def load_data(self, sources: list[str], patch_size: int, cache: bool = True):
        """A :class:`~pixelsmith.data.photos.PhotoFolder`; with ``labels``, a
        :class:`~pixelsmith.data.attributes.LabelledPhotos` (every photo must have a row)."""
        from pixelsmith.data.photos import PhotoFolder
        from pixelsmith.data.split import list_split

        photos = PhotoFolder(list_split(sources), min_size=patch_size, cache=cache)
        if not self.labels:
            return photos
        from pixelsmith.data.attributes import LabelledPhotos, read_labels

        labels = read_labels(self.labels)
        return LabelledPhotos(photos, labels.matrix(photos.paths), labels.names)

    def setup_model(self, model: nn.Module, data: Any) -> None:
        """The VAE: its attributes' mean and spread over the training data (the labels of the
        photos, or the attributes of fixed-seed crops)."""
        if objective(model) != "vae":
            return
        from pixelsmith.data.attributes import LabelledPhotos, measure

        if isinstance(data, LabelledPhotos):
            self._check_names(model.attribute_names, data.names)
            values = data.labels
        else:
            g = torch.Generator().manual_seed(0)
            side = min(min(s) for s in data.sizes)
            crops = data.random_crops(ATTRIBUTE_STAT_CROPS, min(side, 128), g)
            values = measure(tuple(model.attribute_names), crops)
        with torch.no_grad():
            model.set_attribute_stats(values.mean(0), values.std(0))

    @staticmethod
    def _check_names(model_names, label_names) -> None:
        if tuple(model_names) != tuple(label_names):
            raise PixelsmithError(
                f"the model's attributes ({', '.join(model_names)}) are not the labels' "
                f"({', '.join(label_names)})"
            )

    def bind(self, model: nn.Module) -> Inpaint:
        kind = objective(model)
        if kind not in OBJECTIVES:
            raise PixelsmithError(f"unknown inpainting objective {kind!r}")
        if kind != "vae":
            return replace(self, _objective=kind, _attribute_names=(), _attribute_mean=None)
        mean = model.attribute_mean.detach().float().cpu().clone()
        return replace(
            self,
            _objective=kind,
            _attribute_names=tuple(model.attribute_names),
            _attribute_mean=mean,
        )

    def make_batch(self, data, n: int, patch_size: int, generator: torch.Generator) -> Batch:
        """``Batch(inputs=(photo * M, M), target=photo, mask=M)``, one mask per crop in a
        random bucket of the paper's hole ratios; for the VAE, the clean crops' attributes
        (measured, or their photos' labels) as a third input of constant planes
        ``(n, A, p, p)``."""
        from pixelsmith.data.masks import random_masks

        if self._objective != "vae":
            clean = data.random_crops(n, patch_size, generator)
            known = random_masks(n, (patch_size, patch_size), generator, unit=self.mask_unit)
            return Batch((clean * known, known), clean, mask=known)
        from pixelsmith.data.attributes import LabelledPhotos

        if isinstance(data, LabelledPhotos):
            self._check_names(self._attribute_names, data.names)
            clean, values = data.random_crops(n, patch_size, generator)
        else:
            clean = data.random_crops(n, patch_size, generator)
            values = self.measured_attributes(clean)
        known = random_masks(n, (patch_size, patch_size), generator, unit=self.mask_unit)
        planes = values[:, :, None, None].expand(-1, -1, patch_size, patch_size)
        return Batch((clean * known, known, planes), clean, mask=known)

    def measured_attributes(
        self, rgb: torch.Tensor, known: torch.Tensor | None = None
    ) -> torch.Tensor:
        """The bound VAE's attributes of ``rgb`` ``(B, 3, H, W)`` over ``known``: ``(B, A)``,
        measured where the attribute is one of
        :data:`~pixelsmith.data.attributes.ATTRIBUTES`, its training mean otherwise."""
        from pixelsmith.data.attributes import measure

        return measure(self._attribute_names, rgb, known, self._attribute_mean)

    def training_forward(self, model: nn.Module, batch: Batch) -> Any:
        if self._objective == "vae":
            return model(*batch.inputs, aux=True)
        return model(*batch.inputs)

    def loss_models(self) -> dict[str, tuple[str, str]]:
        """The colorization model whose encoder gives the loss's features (a VGG16 file is read
        here, on the first step, instead)."""
        name = self.feature_name()
        return {"features": (name, "colorize")} if name and not is_vgg16_file(name) else {}

    def with_loss_models(self, models: dict[str, nn.Module]) -> Inpaint:
        from pixelsmith.nn.inpaint_losses import ImageFeatures
        from pixelsmith.nn.perceptual import ColorNetFeatures

        net = models.get("features")
        if net is None:
            return self
        if not hasattr(net, "blocks"):
            raise PixelsmithError(
                f"{self.feature_name()} is not a ColorNet; its encoder cannot give features"
            )
        return replace(self, _features=ImageFeatures(ColorNetFeatures(net), "colornet"))

    def _feature_network(self):
        if self._features is None:
            name = self.feature_name()
            if not is_vgg16_file(name):
                raise PixelsmithError(
                    f"the loss's feature network {name!r} is not loaded: the Trainer loads it "
                    "(task.with_loss_models, for what task.loss_models names)"
                )
            self._features = vgg16_features(name)  # read on the first training step
        return self._features

    def loss(self, prediction: Any, batch: Batch) -> torch.Tensor:
        if self._objective == "vae":
            from pixelsmith.nn.vae_losses import vae_loss

            out, mu, logvar = prediction
            w = self.vae_perceptual_weight
            features = self._feature_network() if w else None
            return vae_loss(out, mu, logvar, batch.target, self.kl_weight, w, features)
        from pixelsmith.nn.inpaint_losses import inpaint_loss

        features = self._feature_network() if self.loss_weights.needs_features else None
        return inpaint_loss(prediction, batch.target, batch.mask, self.loss_weights, features)

    # --- measuring ----------------------------------------------------------------------------
    def eval_dataset(self, source: str | Path):
        from pixelsmith.tasks.inpaint_protocol import eval_cases

        return eval_cases(source, self.masks)

    def evaluate(self, model: nn.Module, dataset: Any) -> dict[str, float]:
        from pixelsmith.tasks.inpaint_protocol import evaluate_inpainter, summarise

        cases = dataset if isinstance(dataset, list) else self.eval_dataset(dataset)
        return summarise(evaluate_inpainter(self, model, cases))

    # --- inference ----------------------------------------------------------------------------
    def pretrained_tag(self) -> str:
        return "photos"

    def check_model(self, spec: ModelSpec) -> None:
        if spec.in_channels != 3 or spec.scale != 1:
            raise PixelsmithError("an inpainting model takes an RGB photo and keeps its size")

    def read_inputs(self, mask: Any = None) -> dict[str, Any]:
        """The hole ``(1, H, W)`` (1 = hole) from a mask as a user gives it, read once; a path
        that does not read is one error naming the mask."""
        if mask is None:
            return {}
        if isinstance(mask, (str, Path)):
            from pixelsmith.io import read_image

            try:
                pixels, _ = read_image(mask)
            except PixelsmithError as e:
                raise PixelsmithError(f"the mask: {e.reason}", mask) from None
            mask = pixels
        return {"mask": hole_from(mask)}

    def as_input(self, image: Any, mask: Any = None):
        """The photo and its hole (``mask``, else its transparent pixels) -> ``(MaskedImage,
        alpha to give back, how it was given)``."""
        from pixelsmith.images import as_image

        hole = self.read_inputs(mask).get("mask")
        pixels, alpha, given = as_image(image)
        return self.with_hole(pixels, alpha, hole), None if hole is None else alpha, given

    def read_file(self, path: Path, mask: Any = None):
        from pixelsmith.io import read_image

        hole = self.read_inputs(mask).get("mask")
        pixels, meta = read_image(path)
        masked = self.with_hole(pixels, meta.alpha, hole, path)
        if hole is None:
            meta.alpha = None  # the transparent pixels were the hole: the result is opaque
        return masked, meta

    def with_hole(
        self,
        pixels: torch.Tensor,
        alpha: torch.Tensor | None,
        hole: torch.Tensor | None,
        path: Path | None = None,
    ) -> MaskedImage:
        """``pixels`` ``(C, H, W)`` with its hole: ``hole`` ``(1, h, w)`` (1 = hole), else where
        ``alpha`` is 0."""
        h, w = pixels.shape[-2:]
        if hole is not None:
            if hole.shape[-2:] != (h, w):
                if not self.resize_mask:
                    raise PixelsmithError(
                        f"the mask is {hole.shape[-1]}x{hole.shape[-2]}, the photo {w}x{h} "
                        "(use --resize-mask, or resize_mask=True, to scale it)",
                        path,
                    )
                hole = torch.nn.functional.interpolate(hole[None], size=(h, w), mode="nearest")[0]
        elif alpha is not None:
            hole = (alpha < 0.5).float()
        else:
            raise PixelsmithError(
                "no hole given: pass a mask (--mask, or mask=) or a photo with transparent holes",
                path,
            )
        if bool(hole.all()):
            raise PixelsmithError(
                "the mask covers the whole photo: nothing is left to fill from", path
            )
        return MaskedImage(pixels, 1.0 - hole)

    def prepare(self, image: MaskedImage, spec: ModelSpec) -> Prepared:
        self.check_model(spec)
        if not isinstance(image, MaskedImage):
            raise TypeError("inpainting prepares a MaskedImage (from task.as_input)")
        grey = image.image.shape[0] == 1
        x = image.image.expand(3, -1, -1)[None]
        known = image.known[None]
        if self._objective != "vae":
            if self.attributes:
                raise PixelsmithError(
                    "attributes steer the VAE's fill only (--model vae); this model takes none"
                )
            return Prepared((x * known, known), context={"grey": grey})
        values = self.attribute_values(x, known)
        planes = values[:, :, None, None].expand(-1, -1, *x.shape[-2:])
        return Prepared((x * known, known, planes), context={"grey": grey})

    def attribute_values(self, x: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
        """The bound VAE's attributes ``(1, A)`` for the photo ``x`` ``(1, 3, H, W)``: measured on
        the ``known`` pixels (or the training mean), then the task's ``attributes``."""
        import math

        from pixelsmith.data.attributes import parse_attributes

        names = self._attribute_names
        values = self.measured_attributes(x, known)[0].clone()
        given = parse_attributes(self.attributes)
        hue = given.pop("hue", None) if "hue" not in names else None
        unknown = sorted(set(given) - set(names))
        if unknown:
            raise PixelsmithError(
                f"unknown attribute {unknown[0]!r}; this model's are {', '.join(names)}"
                + (", hue" if {"hue_cos", "hue_sin"} <= set(names) else "")
            )
        for name, v in given.items():
            values[names.index(name)] = v
        if hue is not None:
            if not {"hue_cos", "hue_sin"} <= set(names):
                raise PixelsmithError("hue= needs a model with the hue_cos and hue_sin attributes")
            ic, is_ = names.index("hue_cos"), names.index("hue_sin")
            if "saturation" in names:
                length = float(values[names.index("saturation")])
            else:
                length = float(values[[ic, is_]].norm())
            values[ic] = length * math.cos(math.radians(hue))
            values[is_] = length * math.sin(math.radians(hue))
        return values[None]

    def finish(self, image: torch.Tensor, prepared: Prepared) -> torch.Tensor:
        """The composite: the input where it is known, the model's output in the hole."""
        out = super().finish(image, prepared).clamp(0, 1)
        x, known = (super(Inpaint, self).finish(t, prepared) for t in prepared.inputs[:2])
        out = torch.where(known > 0.5, x, out)
        return out.mean(1, keepdim=True) if prepared.context.get("grey") else out

    def output_suffix(self) -> str:
        return "_inpainted"


def vgg16_features(path: str) -> Any:
    """The perceptual and style terms' features from a local VGG16 file (``.pth``/``.pt``)."""
    from pixelsmith.nn.inpaint_losses import ImageFeatures
    from pixelsmith.nn.perceptual import load_vgg16

    return ImageFeatures(load_vgg16(Path(path)), "vgg16")


def is_vgg16_file(name: str) -> bool:
    return Path(name).suffix.lower() in (".pth", ".pt")
