"""The Task contract: what every task (superres, colorize, lowlight, inpaint, classify) fills in.

A task is *a degradation and its inverse*. The Trainer, tiling, the public API and the CLI rely
on this module and nothing task-specific:

training   photos -> ``task.load_data`` -> ``task.setup_model`` -> ``task.bind(model)``
           -> ``task.with_loss_models`` (what ``task.loss_models`` names, loaded)
           -> ``task.make_batch`` -> :class:`Batch` -> ``task.training_forward(model, batch)``
           (``model(*batch.inputs)``) -> ``task.loss(prediction, batch)``
inference  ``task.bind(model)``; what a user gives (the photo, and the other per-photo inputs
           ``task.inputs`` declares, e.g. a hole mask) -> ``task.as_input`` (a file:
           ``task.read_file``) -> ``task.prepare(input, spec)`` -> :class:`Prepared` -> tiles of it
           -> ``model(*tile.inputs)`` -> ``task.decode(outputs, tile)`` -> blended image
           -> ``task.finish(image, prepared)``
measuring  ``task.evaluate(model, task.eval_dataset(path))`` -> ``{metric: mean}``

Tiling (:func:`pixelsmith.infer.run_tiled`) cuts every tensor of a :class:`Prepared` with the same
windows and calls ``decode`` per window, so a task's full-size intermediates (a colorizer's 313
bins, SR's upscaled chroma) never exist at full size: only the input and the output image do.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
from torch import nn

from pixelsmith.errors import PixelsmithError
from pixelsmith.images import Given, as_image
from pixelsmith.io.formats import IMAGE_EXTENSIONS
from pixelsmith.io.meta import ImageMeta
from pixelsmith.models import ModelSpec

#: What a task option is for (:func:`option`): front ends (the CLI verbs, the web page) offer
#: ``"inference"`` options and leave the others to ``pixelsmith train`` / ``eval``. A photo's own
#: data (a hole mask) is never an option: it is a per-photo input (:attr:`Task.inputs`).
OPTION_USES = ("inference", "training", "evaluation")


def option(
    default: Any = None,
    *,
    use: str = "inference",
    choices: tuple[Any, ...] | None = None,
    minimum: float | None = None,
    maximum: float | None = None,
    **field_kwargs: Any,
) -> Any:
    """A task's dataclass field that says what a front end needs to offer it: its ``use``
    (:data:`OPTION_USES`), its ``choices`` or its bounds (``minimum`` and ``maximum``,
    inclusive), kept in the field's ``metadata`` under ``use``, ``choices``, ``min``, ``max``.
    A plain ``name: type = default`` field is an inference option without bounds."""
    if use not in OPTION_USES:
        raise ValueError(f"an option's use is one of {OPTION_USES}, not {use!r}")
    meta: dict[str, Any] = {"use": use}
    if choices is not None:
        meta["choices"] = tuple(choices)
    if minimum is not None:
        meta["min"] = minimum
    if maximum is not None:
        meta["max"] = maximum
    return field(default=default, metadata=meta, **field_kwargs)


@dataclass
class Batch:
    """A training batch: the model's inputs and everything the loss may need.

    Attributes:
        inputs: the model's positional arguments, each ``(N, C, h, w)`` (or ``(N, ...)``).
        target: what the model should produce (an image ``(N, C, H, W)``, labels ``(N,)``, ...).
        mask: optional per-pixel mask (inpainting's holes: 1 = known, 0 = hole).
        weights: optional per-pixel or per-sample loss weights (colorization's rebalancing).
    """

    inputs: tuple[torch.Tensor, ...]
    target: torch.Tensor
    mask: torch.Tensor | None = None
    weights: torch.Tensor | None = None

    def __post_init__(self) -> None:
        if isinstance(self.inputs, torch.Tensor):
            self.inputs = (self.inputs,)

    def __len__(self) -> int:
        return self.inputs[0].shape[0]

    def to(self, device: torch.device | str) -> Batch:
        def move(t: torch.Tensor | None) -> torch.Tensor | None:
            return None if t is None else t.to(device, non_blocking=True)

        return Batch(
            tuple(move(t) for t in self.inputs),
            move(self.target),
            move(self.mask),
            move(self.weights),
        )


@dataclass
class Prepared:
    """A user's image made ready for a model: whole tensors on the CPU, cut into tiles by ``infer``.

    Attributes:
        inputs: the model's positional arguments, each ``(1, C, H, W)`` on one grid ``H x W``
            (an image and its mask; a packed Bayer frame).
        guides: what ``decode`` needs beside the model's output, each ``(1, C, k*H, k*W)`` for a
            whole number ``k`` (its own scale on the grid), cut with the same windows (SR: the
            input's chroma; inpainting: the image and mask to composite with).
        scale: output grid / input grid (SR: the scale factor; most tasks: 1).
        context: anything that is not cut (options, flags such as "the input was grey").
    """

    inputs: tuple[torch.Tensor, ...]
    guides: dict[str, torch.Tensor] = field(default_factory=dict)
    scale: int = 1
    context: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if isinstance(self.inputs, torch.Tensor):
            self.inputs = (self.inputs,)
        h, w = self.size
        n = self.inputs[0].shape[0]
        for t in (*self.inputs, *self.guides.values()):
            if t.dim() != 4 or t.shape[0] != n:  # one image, or (in tiling) one batch of windows
                raise ValueError(f"Prepared tensors are (1, C, H, W), got {tuple(t.shape)}")
        for t in self.inputs:
            if tuple(t.shape[-2:]) != (h, w):
                raise ValueError(
                    f"Prepared inputs must be (1, C, H, W) on one grid, got "
                    f"{[tuple(t.shape) for t in self.inputs]}"
                )
        for name, g in self.guides.items():
            gh, gw = g.shape[-2:]
            if gh % h or gw % w or gh // h != gw // w:
                raise ValueError(
                    f"guide {name!r} {tuple(g.shape)} is not a whole multiple of {h}x{w}"
                )

    @property
    def size(self) -> tuple[int, int]:
        """The input grid ``(H, W)``."""
        return tuple(self.inputs[0].shape[-2:])

    def windows(self, boxes: list[tuple[int, int, int, int]]) -> Prepared:
        """The windows ``(y0, y1, x0, x1)`` (grid pixels, all of one size) stacked as a batch."""

        def cut(t: torch.Tensor) -> torch.Tensor:
            k = t.shape[-1] // self.size[1]
            return torch.cat([t[..., y0 * k : y1 * k, x0 * k : x1 * k] for y0, y1, x0, x1 in boxes])

        return replace(
            self,
            inputs=tuple(cut(t) for t in self.inputs),
            guides={n: cut(g) for n, g in self.guides.items()},
        )

    def pad_to(self, multiple: int) -> Prepared:
        """Grow the grid at the bottom and right to a multiple of ``multiple`` by reflection
        (replication where the image is too small to reflect); ``finish`` crops back."""
        h, w = self.size
        ph, pw = -h % multiple, -w % multiple
        if not (ph or pw):
            return self

        def grow(t: torch.Tensor) -> torch.Tensor:
            k = t.shape[-1] // w
            mode = "reflect" if min(h, w) * k > max(ph, pw) * k else "replicate"
            x = t if t.is_floating_point() else t.float()
            return torch.nn.functional.pad(x, (0, pw * k, 0, ph * k), mode=mode).to(t.dtype)

        return replace(
            self,
            inputs=tuple(grow(t) for t in self.inputs),
            guides={n: grow(g) for n, g in self.guides.items()},
            context={**self.context, "crop": (h * self.scale, w * self.scale)},
        )


class Task:
    """Base class of every task; subclasses fill in what their pipeline needs.

    Class attributes a task sets:
        name: ``"superres"``, ``"colorize"``, ``"lowlight"``, ``"inpaint"``, ``"classify"``.
        verb: the command that runs it on files, ``pixelsmith VERB`` (``"upscale"``); empty for a
            task without one (the classifier). A string in the class body: the command line
            reads it without importing the task.
        title: what a user calls it, in messages (``"super-resolution"``).
        default_model: the shipped model ``restore`` uses when none is named.
        aliases: short model names users type (``{"lrnet": "lrnet_s"}``).
        decode_radius: grid pixels of context ``decode`` itself needs around an output pixel
            (SR's bicubic chroma: 2); tiling adds it to the model's receptive radius.
        align: window offsets are multiples of this (2 keeps a Bayer mosaic's phase).
        example_shape: an input ``(C, H, W)`` that the task's models take, for summaries.
        train_defaults: :class:`~pixelsmith.config.TrainConfig` values the task starts from.
        official_suffixes: file suffixes of the papers' own checkpoints, read by
            :meth:`load_official` (SR: the SRCNN authors' ``.mat``).
        input_extensions: file suffixes a folder of inputs is listed by (images; raw files for
            a task that develops them).
        video_smoothing: what :mod:`pixelsmith.video` smooths between frames by default:
            ``"none"``, or ``"chroma"`` (the colours, each frame keeping its own lightness).
        compare_models: the baselines ``pixelsmith eval`` measures beside the default model when
            no ``--model`` is named (``("bicubic", "srcnn")`` for super-resolution).
        inputs: what one call takes per photo, the photo first: ``("image",)``, ``("image",
            "mask")`` (inpainting: the hole, a keyword input of :meth:`as_input` and
            :meth:`read_file`), ``("raw",)`` (a camera raw frame); ``()`` for a task that makes
            no image (a classifier). Front ends read this declaration (the CLI's ``--mask``, the
            web page's painted hole, what video and export accept) instead of probing the task.
    """

    name: str = ""
    verb: str = ""
    title: str = ""
    default_model: str = ""
    aliases: dict[str, str] = {}
    decode_radius: int = 0
    align: int = 1
    example_shape: tuple[int, int, int] = (3, 64, 64)
    train_defaults: dict[str, Any] = {}
    official_suffixes: tuple[str, ...] = ()
    input_extensions: frozenset[str] = IMAGE_EXTENSIONS
    video_smoothing: str = "none"
    inputs: tuple[str, ...] = ("image",)
    compare_models: tuple[str, ...] = ()

    # --- training -----------------------------------------------------------------------------
    def options(self) -> dict[str, Any]:
        """The task's own settings (recorded in weight files)."""
        return {}

    def model_kwargs(self) -> dict[str, Any]:
        """Constructor arguments the task imposes on the model (e.g. ``scale``)."""
        return {}

    def load_data(self, sources: list[str], patch_size: int, cache: bool = True) -> Any:
        """The training data (for image tasks a :class:`~pixelsmith.data.photos.PhotoFolder`)."""
        raise NotImplementedError

    def setup_model(self, model: nn.Module, data: Any) -> None:
        """Training: put what the task learns from the data into the fresh ``model`` before the
        first step, so that it is saved with the weights (colorization: the ab prior)."""

    def loss_models(self) -> dict[str, tuple[str, str]]:
        """Training: the trained networks the loss uses, ``{role: (model name, its task)}``, for
        the Trainer to load through the one resolver and hand to :meth:`with_loss_models`
        (inpainting's perceptual and style terms: ``{"features": ("colornet_s.photos",
        "colorize")}``). Called on the bound task; none by default."""
        return {}

    def with_loss_models(self, models: dict[str, nn.Module]) -> Task:
        """This task holding the networks :meth:`loss_models` named, loaded (in eval mode)."""
        return self

    def bind(self, model: nn.Module) -> Task:
        """This task as it serves ``model``: a task that needs what a model carries (a
        colorizer's ab bins and rebalancing weights) returns a copy that holds it. Called once a
        model is chosen, before training steps, ``prepare`` or ``evaluate``."""
        return self

    def make_batch(self, data: Any, n: int, patch_size: int, generator: torch.Generator) -> Batch:
        """``n`` training examples, a pure function of ``generator``'s state: for image tasks,
        clean crops (the target) and their degraded versions (the inputs)."""
        raise NotImplementedError

    def training_forward(self, model: nn.Module, batch: Batch) -> Any:
        """The model's prediction on a training batch, as :meth:`loss` takes it: by default
        ``model(*batch.inputs)``; a task whose loss needs more than the output (low-light: the
        illumination map or the curves) asks the model for it here."""
        return model(*batch.inputs)

    def loss(self, prediction: torch.Tensor, batch: Batch) -> torch.Tensor:
        """Scalar training loss of the model's ``prediction`` on ``batch``."""
        raise NotImplementedError

    def critic(self, width: int) -> nn.Module:
        """Training with adversarial phases (:class:`~pixelsmith.trainer.NoGANConfig`): a fresh
        critic network of ``width`` for this task's results; it scores what
        :meth:`critic_input` gives it. A task without one cannot train adversarially."""
        raise PixelsmithError(f"the {self.name} task has no critic: it cannot train with a GAN")

    def critic_input(self, batch: Batch, prediction: Any = None) -> torch.Tensor:
        """What the critic sees of ``batch``: its real target (``prediction`` None), or the
        model's ``prediction`` (from :meth:`training_forward`) in the target's place."""
        raise PixelsmithError(f"the {self.name} task has no critic: it cannot train with a GAN")

    # --- measuring ----------------------------------------------------------------------------
    def eval_dataset(self, source: str) -> Any:
        """The evaluation data this task's protocol runs on (a folder of photos, pairs, ...)."""
        return source

    def evaluate(self, model: nn.Module, dataset: Any) -> dict[str, float]:
        """The task's standard protocol: mean metrics of ``model`` over ``dataset``."""
        raise NotImplementedError

    # --- inference ----------------------------------------------------------------------------
    def pretrained_tag(self) -> str:
        """The tag of the shipped weights for this task's settings (``x3``, ``x3_blind``)."""
        return ""

    def check_model(self, spec: ModelSpec) -> None:
        """Raise :class:`~pixelsmith.errors.PixelsmithError` if a model of ``spec`` cannot serve
        this task as configured (a x2 model for a x3 task)."""

    def read_inputs(self, **inputs: Any) -> dict[str, Any]:
        """The per-photo inputs beside the photo (names from :attr:`inputs`), each as
        :meth:`as_input` takes it, read once for a run over many photos: a path given for all of
        them is read here, before any work, so that a missing file is one error up front. A task
        with no such inputs takes none."""
        if inputs:
            raise TypeError(f"the {self.name} task takes no inputs besides the photo")
        return {}

    def as_input(self, image: Any, **inputs: Any) -> tuple[Any, torch.Tensor | None, Given]:
        """What a user gives (a path, PIL image, array, tensor; see :mod:`pixelsmith.images`),
        with the other per-photo inputs :attr:`inputs` declares (from :meth:`read_inputs`) ->
        ``(input for prepare, alpha (1, H, W) or None, how it was given)``. The input has a
        ``shape`` ``(C, H, W)``: an image tensor for most tasks, a camera raw frame for one that
        develops raw files."""
        self.read_inputs(**inputs)
        return as_image(image)

    def read_file(self, path: Path, **inputs: Any) -> tuple[Any, ImageMeta]:
        """A file named on the command line (and the other per-photo inputs, as
        :meth:`as_input` takes them) -> ``(input for prepare, what writing the result keeps of
        it: ICC profile, alpha, bit depth)``."""
        from pixelsmith.io import read_image

        self.read_inputs(**inputs)
        return read_image(path)

    def show_input(self, given: Any) -> torch.Tensor:
        """What :meth:`read_file`'s input looks like to a person, as an image ``(C, H, W)`` in
        [0, 1]: the web page's "before" where a browser cannot show the upload itself (a TIFF,
        a camera raw file). An image task's input is that image."""
        return given

    def prepare(self, image: torch.Tensor, spec: ModelSpec) -> Prepared:
        """A user's input (from :meth:`as_input`: for image tasks ``(C, H, W)`` float32 in
        [0, 1]) -> the model's inputs for ``spec``."""
        raise NotImplementedError(f"the {self.name} task does not restore images")

    def decode(self, outputs: torch.Tensor, prepared: Prepared) -> torch.Tensor:
        """Model outputs on a batch of windows -> those windows of the image ``(N, C, s*h, s*w)``.

        Called per batch of tiles with ``prepared`` cut to the same windows."""
        return outputs

    def finish(self, image: torch.Tensor, prepared: Prepared) -> torch.Tensor:
        """The whole decoded image ``(1, C, H', W')`` -> the result; crops what ``pad_to`` grew."""
        crop = prepared.context.get("crop")
        return image[..., : crop[0], : crop[1]] if crop else image

    def carry_alpha(self, alpha: torch.Tensor) -> torch.Tensor:
        """An input's alpha ``(1, H, W)`` -> the output's (same size unless the task resizes)."""
        return alpha

    def load_official(self, path: Path) -> nn.Module:
        """A paper's official checkpoint (a file whose suffix is in ``official_suffixes``) loaded
        into pixelsmith's architecture, for this task's settings."""
        raise PixelsmithError(f"the {self.name} task reads no official checkpoints", path)

    def output_shape(self, shape: tuple[int, int, int]) -> tuple[int, int, int]:
        """The result's ``(C, H, W)`` for an input image of ``shape`` (checked before any work)."""
        return shape

    def output_suffix(self) -> str:
        """What ``restore_files`` appends to an input's name (``photo.jpg -> photo_x3.png``)."""
        return f"_{self.name}"


@torch.no_grad()
def run_whole(task: Task, model: nn.Module, prepared: Prepared) -> torch.Tensor:
    """Inference on the whole image, as a task's protocol measures it: ``prepared`` grown to the
    model's size multiple (and the task's alignment), the model on the model's device, ``decode``,
    ``finish``. Returns the result ``(C, H, W)`` on the CPU (tiling,
    :func:`pixelsmith.infer.run_tiled`, gives the same for any image size)."""
    import math

    from pixelsmith.models import model_device, model_spec

    spec = model_spec(model)
    grown = prepared.pad_to(math.lcm(spec.size_multiple, task.align))
    device = model_device(model)
    outputs = model(*(t.to(device) for t in grown.inputs)).float().cpu()
    return task.finish(task.decode(outputs, grown), grown)[0]
