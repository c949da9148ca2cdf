"""Developing raw frames shot in the dark (Learning to See in the Dark, Chen et al., CVPR 2018).

The degradation is a short exposure: the photo is *unprocessed* into the linear camera signal it
came from (Brooks et al., CVPR 2019: :mod:`pixelsmith.data.unprocess`), mosaicked through a Bayer
filter, divided by the exposure ratio and given sensor noise, and quantised with a black level.
The network develops it: packed Bayer in, sRGB out.

- ``load_data``: colour photos; ``make_batch``: random crops -> unprocess (random camera) ->
  mosaic -> :func:`~pixelsmith.data.unprocess.darken` at a log-uniform ratio in ``TRAIN_RATIOS``
  -> :func:`amplified_input` -> :func:`with_camera` (the camera's colour matrix beside it) ->
  ``Batch(inputs=(packed + camera (n, 13, p/2, p/2),), target=sRGB crop)``; L1 loss, as the
  paper;
- ``as_input`` / ``read_file``: a camera raw file (:func:`pixelsmith.io.read_raw`) or a
  :class:`~pixelsmith.io.raw.RawImage`;
- ``prepare``: :func:`amplified_input` of the raw frame (black level off, white level to 1,
  x ratio, clipped at 1, the as-shot white balance) beside the file's colour matrix as 9
  constant planes (:func:`with_camera`; the training frames carry their random camera's): the
  model's grid is the packed grid, so every window of tiled inference starts on an even mosaic
  row and column and keeps the Bayer phase;
- ``decode``: the model's sRGB (12 channels depth-to-space inside the network, so the output grid
  is twice the packed one); ``finish``: clamp and the file's orientation;
- ``evaluate``: PSNR/SSIM against the photo, over photos darkened at the ratios of
  :mod:`pixelsmith.tasks.develop_protocol`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import nn
from torch.nn import functional as F

from pixelsmith.data import bayer
from pixelsmith.errors import PixelsmithError
from pixelsmith.io.formats import RAW_EXTENSIONS
from pixelsmith.io.raw import RawImage
from pixelsmith.models import ModelSpec
from pixelsmith.models.unet import RAW_INPUT
from pixelsmith.tasks.base import Batch, Prepared, Task

TRAIN_RATIOS = (50.0, 350.0)
INPUT_CHANNELS = RAW_INPUT  # packed Bayer (4), the colour matrix (9)


#: The black-subtracted mean level a frame is amplified to when no ratio is given: the median
#: linear mean of the training photos unprocessed (BSDS500 train, 40 photos, random cameras:
#: 0.102; normally exposed raw files read 0.10-0.17), so an estimated frame looks to the
#: network like the frames it learned from.
TARGET_LEVEL = 0.10
#: The estimated ratio's range: 1 (a frame exposed normally is not amplified) to 300 (SID's
#: largest).
RATIO_RANGE = (1.0, 300.0)
#: A given ratio that clips more than this share of the mosaic to white is warned about.
CLIP_WARNING = 0.03


def check_ratio(ratio: float | None) -> float | None:
    """``ratio`` as a float, or ``None`` (estimate it from the frame)."""
    if ratio is None:
        return None
    if not (isinstance(ratio, (int, float)) and math.isfinite(ratio) and ratio > 0):
        raise PixelsmithError(f"the amplification ratio must be a positive number, not {ratio}")
    return float(ratio)


def estimate_ratio(raw: RawImage) -> float:
    """The exposure ratio that brings the frame's black-subtracted mean level to
    :data:`TARGET_LEVEL`, within :data:`RATIO_RANGE`."""
    level = float(raw.normalised().mean())
    lo, hi = RATIO_RANGE
    return float(min(max(TARGET_LEVEL / max(level, 1e-9), lo), hi))


def clipped_share(raw: RawImage, ratio: float) -> float:
    """The share of the mosaic's pixels that ``ratio`` takes to the sensor's white or beyond."""
    return float((raw.normalised() * ratio >= 1.0).float().mean())


def white_balance(raw: RawImage) -> torch.Tensor:
    """The as-shot white-balance gains of ``raw`` per packed channel ``(R, G1, B, G2)``,
    green = 1 (daylight gains when the file has none)."""
    wb = [float(v) for v in raw.camera_wb]
    if not any(wb[:3]):
        wb = [float(v) for v in raw.daylight_wb]
    colours = {"R": [], "G": [], "B": []}
    for index, name in enumerate(raw.cfa_desc[:4]):
        if index < len(wb) and wb[index] > 0:
            colours[name].append(wb[index])
    if not all(colours.values()):
        return torch.ones(4)
    g = sum(colours["G"]) / len(colours["G"])
    r, b = colours["R"][0] / g, colours["B"][0] / g
    return torch.tensor([r, 1.0, b, 1.0])


def typical_colour_matrix() -> torch.Tensor:
    """``(3, 3)`` linear sRGB from camera RGB of the average training camera (the equal mix of
    :data:`~pixelsmith.data.unprocess.CAMERA_FROM_XYZ`): what a file without a colour matrix
    is developed with."""
    from pixelsmith.data.unprocess import CAMERA_FROM_XYZ, XYZ_FROM_LINEAR_SRGB

    xyz = torch.tensor(list(CAMERA_FROM_XYZ.values()), dtype=torch.float64).mean(0)
    ccm = xyz @ torch.tensor(XYZ_FROM_LINEAR_SRGB, dtype=torch.float64)
    ccm = ccm / ccm.sum(1, keepdim=True)
    return torch.linalg.inv(ccm).float()


def colour_matrix(raw: RawImage) -> torch.Tensor:
    """``raw``'s ``(3, 3)`` linear sRGB from (white-balanced) camera RGB: LibRaw's ``rgb_cam``
    with the second green's column folded into green, or :func:`typical_colour_matrix` when
    the file has none."""
    m = torch.as_tensor(raw.color_matrix, dtype=torch.float32).reshape(3, -1)
    if not m.abs().sum():
        return typical_colour_matrix()
    out = torch.zeros(3, 3)
    for index, name in enumerate(raw.cfa_desc[: m.shape[1]]):
        out[:, "RGB".index(name)] += m[:, index]
    return out


def with_camera(packed: torch.Tensor, matrix: torch.Tensor) -> torch.Tensor:
    """The network's input: packed Bayer ``(N, 4, h, w)`` and the colour matrix ``(3, 3)`` or
    ``(N, 3, 3)`` as 9 constant planes -> ``(N, 13, h, w)``. The network is told the camera, so
    one model develops the files of any camera."""
    n, _, h, w = packed.shape
    planes = matrix.to(packed).reshape(-1, 9, 1, 1).expand(n, 9, h, w)
    return torch.cat([packed, planes], 1)


def amplified_input(
    packed: torch.Tensor, ratio: float | torch.Tensor, gains: torch.Tensor
) -> torch.Tensor:
    """Normalised packed Bayer ``(N, 4, h, w)`` -> the network's input: times the ratio,
    clipped at 1 (the sensor's white: SID's ``min(x * ratio, 1)``), then times the white-balance
    ``gains`` ``(4,)`` or ``(N, 4)``."""
    r = torch.as_tensor(ratio, dtype=packed.dtype).reshape(-1, 1, 1, 1)
    g = gains.to(packed.dtype).reshape(-1, 4, 1, 1)
    return (packed * r).clamp_(max=1.0) * g


def raw_input(raw: RawImage, ratio: float) -> torch.Tensor:
    """A raw frame -> the network's input ``(1, 13, H/2, W/2)``: the packed Bayer amplified and
    white-balanced, and the file's colour matrix (an odd last row or column is dropped: the
    Bayer quads stay whole)."""
    mosaic = bayer.crop_to_even(raw.normalised())
    packed = bayer.pack(mosaic, bayer.pattern_of(raw))[None]
    return with_camera(amplified_input(packed, ratio, white_balance(raw)), colour_matrix(raw))


def orient(image: torch.Tensor, flip: int) -> torch.Tensor:
    """Apply LibRaw's orientation code to ``(..., H, W)``: 3 rotates 180, 5 90 degrees
    counter-clockwise, 6 90 degrees clockwise."""
    if flip == 3:
        return image.flip(-1, -2)
    if flip == 5:
        return image.rot90(1, (-2, -1))
    if flip == 6:
        return image.rot90(-1, (-2, -1))
    return image


@dataclass
class Develop(Task):
    """Raw development of short exposures.

    Attributes:
        ratio: the amplification (exposure) ratio: long exposure / short (SID: 100, 250, 300).
            Empty: estimated from the frame (its mean level brought to that of a normal
            exposure, 1 to 300) and said in a note.
    """

    ratio: float | None = None

    name: ClassVar[str] = "develop"
    verb: ClassVar[str] = "develop"
    title: ClassVar[str] = "raw development in the dark"
    default_model: ClassVar[str] = "sid"
    aliases: ClassVar[dict[str, str]] = {"sid": "sid_unet_s"}
    example_shape: ClassVar[tuple[int, int, int]] = (INPUT_CHANNELS, 64, 64)
    inputs: ClassVar[tuple[str, ...]] = ("raw",)
    input_extensions: ClassVar[frozenset[str]] = RAW_EXTENSIONS
    train_defaults: ClassVar[dict[str, Any]] = {
        "model": "sid_unet_s",
        "patch_size": 128,
        "batch_size": 16,
        "lr": 3e-4,
    }

    def __post_init__(self) -> None:
        check_ratio(self.ratio)

    # --- training -----------------------------------------------------------------------------
    def options(self) -> dict[str, Any]:
        return {"ratio": self.ratio}

    def load_data(self, sources: list[str], patch_size: int, cache: bool = True):
        from pixelsmith.data.photos import PhotoFolder
        from pixelsmith.data.split import list_split

        if patch_size % 32:
            raise PixelsmithError(f"raw patches are multiples of 32 pixels, not {patch_size}")
        return PhotoFolder(list_split(sources), min_size=patch_size, cache=cache)

    def make_batch(self, photos, n: int, patch_size: int, generator: torch.Generator) -> Batch:
        """``Batch(inputs=(packed + camera (n, 13, p/2, p/2),), target=sRGB (n, 3, p, p))``."""
        from pixelsmith.data.dark_frames import camera, dark_frame
        from pixelsmith.data.unprocess import to_normalised, unprocess

        target = photos.random_crops(n, patch_size, generator)
        params = camera(n, generator)
        linear, _ = unprocess(target, params=params)
        packed = bayer.pack(bayer.mosaic(linear, "RGGB"), "RGGB")
        lo, hi = (math.log(r) for r in TRAIN_RATIOS)
        ratio = (lo + (hi - lo) * torch.rand(n, generator=generator, dtype=torch.float64)).exp()
        dark = dark_frame(packed, ratio.float(), generator)
        short = to_normalised(dark.codes, dark.black_level, dark.white_level)
        gains = params.gains[:, [0, 1, 2, 1]]  # the white balance: green 1, as white_balance()
        packed = amplified_input(short, ratio.float(), gains)
        return Batch((with_camera(packed, params.srgb_from_camera),), target)

    def loss(self, prediction: torch.Tensor, batch: Batch) -> torch.Tensor:
        return F.l1_loss(prediction, batch.target)

    # --- measuring ----------------------------------------------------------------------------
    def eval_dataset(self, source: str | Path) -> list[Path]:
        from pixelsmith.data.split import list_split, split_source

        base, _ = split_source(str(source))
        if not Path(base).exists():
            raise PixelsmithError("evaluation data not found", base)
        return list_split([source])

    def evaluate(self, model: nn.Module, dataset: Any) -> dict[str, float]:
        """Mean PSNR/SSIM at this task's ratio (none: over the protocol's ratios, 100, 250 and
        300) over photos unprocessed and darkened with fixed seeds
        (:mod:`pixelsmith.tasks.develop_protocol`)."""
        from pixelsmith.tasks.develop_protocol import evaluate_developer

        paths = dataset if isinstance(dataset, list) else self.eval_dataset(dataset)
        from pixelsmith.tasks.develop_protocol import EVAL_RATIOS

        ratios = list(EVAL_RATIOS) if self.ratio is None else [self.ratio]
        rows = evaluate_developer(self, model, paths, ratios)
        return {k: sum(r[k] for r in rows) / len(rows) for k in ("psnr", "ssim")}

    # --- inference ----------------------------------------------------------------------------
    def pretrained_tag(self) -> str:
        return "unprocessed"

    def check_model(self, spec: ModelSpec) -> None:
        if spec.in_channels != INPUT_CHANNELS or spec.scale != 2:
            raise PixelsmithError(
                f"a raw developer takes packed Bayer and the camera ({INPUT_CHANNELS} channels) "
                "at scale 2"
            )

    def as_input(self, image: Any, **inputs: Any):
        from pixelsmith.images import Given
        from pixelsmith.io import read_raw

        self.read_inputs(**inputs)
        if isinstance(image, RawImage):
            return image, None, Given("tensor", dtype=torch.float32, device="cpu")
        if isinstance(image, (str, Path)):
            return read_raw(image), None, Given("path")
        raise TypeError(
            f"the develop task takes a camera raw file (a path) or a RawImage, not {type(image).__name__}"
        )

    def read_file(self, path: Path, **inputs: Any):
        from pixelsmith.io import read_raw
        from pixelsmith.io.meta import ImageMeta

        self.read_inputs(**inputs)
        raw = read_raw(path)
        h, w = raw.bayer.shape
        return raw, ImageMeta(path, "RAW", "RGB", 16, (w, h), 3)

    def show_input(self, raw: RawImage) -> torch.Tensor:
        """The traditional pipeline on the frame at this task's ratio (LibRaw: amplified, AHD
        demosaicked, the camera's white balance and colour matrix): what the network is
        measured against, noise and all."""
        from pixelsmith.tasks.develop_protocol import libraw_develop

        return libraw_develop(raw.path, raw, self.ratio_for(raw, tell=False))

    def ratio_for(self, raw: RawImage, tell: bool = True) -> float:
        """The ratio the frame is developed at: the task's, else :func:`estimate_ratio`. With
        ``tell``, a note says an estimated ratio and a warning a given one that clips more than
        :data:`CLIP_WARNING` of the pixels."""
        import warnings

        from pixelsmith.errors import Note

        name = Path(raw.path).name if raw.path else "the frame"
        if self.ratio is None:
            ratio = estimate_ratio(raw)
            if tell:
                level = float(raw.normalised().mean())
                warnings.warn(
                    f"{name}: developed at ratio {ratio:.3g}, estimated from its mean level "
                    f"{level:.4f} (give --ratio to choose)",
                    Note,
                    stacklevel=2,
                )
            return ratio
        share = clipped_share(raw, self.ratio) if tell else 0.0
        if share > CLIP_WARNING:
            warnings.warn(
                f"{name}: ratio {self.ratio:g} takes {100 * share:.0f}% of the pixels to white; "
                f"the frame's own exposure suggests {estimate_ratio(raw):.3g} (leave --ratio out "
                "to use it)",
                stacklevel=2,
            )
        return self.ratio

    def prepare(self, raw: RawImage, spec: ModelSpec) -> Prepared:
        self.check_model(spec)
        if not isinstance(raw, RawImage):
            raise PixelsmithError("the develop task takes a camera raw frame (read_raw)")
        ratio = self.ratio_for(raw)
        context = {"flip": raw.flip, "ratio": ratio}
        return Prepared((raw_input(raw, ratio),), scale=2, context=context)

    def finish(self, image: torch.Tensor, prepared: Prepared) -> torch.Tensor:
        out = super().finish(image, prepared).clamp_(0, 1)
        return orient(out, prepared.context.get("flip", 0))

    def output_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        _, h, w = shape
        return (3, h - h % 2, w - w % 2)

    def output_suffix(self) -> str:
        return "_developed"
