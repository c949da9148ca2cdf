"""The public Python API: one generic entry point per job, with the defaults a user expects.

>>> import pixelsmith
>>> big = pixelsmith.upscale("photo.jpg", scale=3)               # a tensor (C, 3H, 3W)
>>> big = pixelsmith.restore(pil_image, "superres", scale=2)     # a PIL image back
>>> pixelsmith.evaluate("lrnet_s.x3", "set5/", "superres", scale=3)

Every task's verb (``upscale``, ``colorize``, ``enhance``, ``develop_raw``, ``inpaint``)
is a thin name for :func:`restore`: image -> ``task.prepare`` -> tiles -> model -> ``task.decode``
-> image. The CLI and the web page call nothing else.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from pixelsmith.errors import PixelsmithError
from pixelsmith.infer import check_tile, pick_device, run_tiled
from pixelsmith.io import DEFAULT_MAX_PIXELS
from pixelsmith.models import model_spec
from pixelsmith.tasks import Task, get_task
from pixelsmith.weights import WeightInfo, check_for_task, load_model

#: The largest result :func:`restore` makes, in pixels, unless ``max_output_pixels`` says otherwise.
DEFAULT_MAX_OUTPUT_PIXELS = DEFAULT_MAX_PIXELS


def resolve(
    model: str | Path | nn.Module | None,
    task: Task,
    device: str | torch.device = "cpu",
    backend: str | None = None,
    bf16: bool = False,
) -> tuple[nn.Module, WeightInfo | None]:
    """``model`` for ``task``: a module (checked against the task, then moved to ``device`` and
    put in eval mode, in place, as ``nn.Module.to`` does), or a name or file through
    :func:`~pixelsmith.weights.load_model`, or a ``.onnx`` / ``.torchscript`` file that
    :func:`pixelsmith.export.export_model` wrote; ``None`` is the task's default model. A ``backend``
    other than ``"torch"`` (``"onnxruntime"``, ``"torchscript"``, ``"auto"``) runs the model's
    export instead (:func:`pixelsmith.export.with_backend`); ``None`` is
    :func:`pixelsmith.export.default_backend` (``"auto"``). ``"auto"`` with ``bf16`` is PyTorch,
    which runs bfloat16."""
    if isinstance(model, nn.Module):
        task.check_model(model_spec(model))
        net, info = model.to(device).eval(), None
    elif _is_exported(model):
        from pixelsmith.export.runtime import load_exported

        net, info = load_exported(Path(model), device)
        check_for_task(net, info, task)
    else:
        net, info = load_model(task.default_model if model is None else model, device, task=task)
    from pixelsmith.export import default_backend, with_backend

    backend = default_backend() if backend is None else backend
    if backend == "auto" and bf16:
        backend = "torch"
    if backend != "torch":
        net = with_backend(net, task, backend, device).to(device)
    return net, info


def _is_exported(model: str | Path | None) -> bool:
    from pixelsmith.export import EXPORTED_SUFFIXES

    return model is not None and Path(model).suffix.lower() in EXPORTED_SUFFIXES


def check_limit(limit: int | None) -> int:
    """``max_output_pixels`` as given (positive) or the default."""
    if limit is None:
        return DEFAULT_MAX_OUTPUT_PIXELS
    if limit <= 0:
        raise ValueError(f"max_output_pixels must be positive, not {limit}")
    return limit


def check_output_size(task: Task, shape: tuple[int, ...], limit: int | None) -> None:
    """Refuse a result over ``limit`` pixels before any work (a small file can ask for 14 GB)."""
    limit = check_limit(limit)
    _, h, w = task.output_shape(tuple(shape))
    if h * w > limit:
        raise PixelsmithError(
            f"the result would be {w}x{h} = {h * w:,} pixels, over the limit of {limit:,} "
            f"(raise it with --max-output-pixels or max_output_pixels=)"
        )


@torch.no_grad()
def restore_tensor(
    net: nn.Module,
    task: Task,
    image: torch.Tensor,
    *,
    tile: int | None = None,
    device: torch.device | str = "cpu",
    bf16: bool = False,
    progress: Any = False,
) -> torch.Tensor:
    """The inference flow on one checked image ``(C, H, W)`` float32 in [0, 1]: prepare, tiles
    through ``net`` and ``task.decode``, finish. Returns the result ``(C', H', W')`` on the CPU."""
    task = task.bind(net)
    prepared = task.prepare(image, model_spec(net))
    return run_tiled(
        net,
        prepared,
        task,
        tile=tile,
        device=device,
        autocast=torch.bfloat16 if bf16 else None,
        out_dtype=torch.float32,
        progress=progress,
    )


def restore(
    image: Any,
    task: str | Task,
    model: str | Path | nn.Module | None = None,
    *,
    tile: int | None = None,
    device: str = "auto",
    bf16: bool = False,
    progress: Any = False,
    max_output_pixels: int | None = None,
    backend: str | None = None,
    **options: Any,
) -> Any:
    """Run ``task`` (``"superres"``, ...) on ``image`` and return the result as the kind given.

    Args:
        image: a path, PIL image, NumPy array ``(H, W[, C])`` or tensor ``(C, H, W)`` in [0, 1]
            (see :mod:`pixelsmith.images`); alpha is carried through.
        task: a task name or a :class:`~pixelsmith.tasks.base.Task`.
        model: a shipped name (``"lrnet_s.x3"``), a short name (``"lrnet"``), a weight file or a
            module; ``None`` takes the task's default.
        tile: core tile side (0: whole image); memory stays bounded for any image size.
        device: ``auto``, ``cpu``, ``cuda[:N]``, ``mps``.
        bf16: run the network in bfloat16 (autocast).
        progress: a progress bar (``True``) or a callback ``(done, total)``.
        max_output_pixels: refuse results larger than this (default 256 megapixels).
        backend: ``"torch"`` (PyTorch), ``"onnxruntime"`` or ``"torchscript"``: the model
            exported and checked (see :mod:`pixelsmith.export`; kept on disk for the next
            run); ``"auto"``: ONNX Runtime for a network on the CPU in float32, else PyTorch;
            ``None`` (default): ``$PIXELSMITH_BACKEND``, else ``"auto"``.
        options: the task's settings (``scale=3, blind=False`` for super-resolution).
    """
    task = get_task(task, **options)
    check_tile(tile)
    pixels, alpha, given = task.as_input(image)
    check_output_size(task, tuple(pixels.shape), max_output_pixels)
    dev = pick_device(device)
    net, _ = resolve(model, task, dev, backend, bf16)
    out = restore_tensor(net, task, pixels, tile=tile, device=dev, bf16=bf16, progress=progress)
    return given.give_back(out, None if alpha is None else task.carry_alpha(alpha))


def upscale(
    image: Any,
    scale: int = 3,
    model: str | Path | nn.Module | None = None,
    *,
    blind: bool = False,
    **kwargs: Any,
) -> Any:
    """Super-resolve ``image`` by ``scale`` (2, 3 or 4): :func:`restore` with ``"superres"``.

    ``model`` is ``"lrnet"`` (the default), ``"srcnn"``, ``"bicubic"``, a shipped name
    (``"srcnn_915.x3"``), a weight file or a module; ``blind`` takes the model trained on blur,
    noise and JPEG. An image ``(C, H, W)`` gives ``(C, scale*H, scale*W)``, as the kind given.
    """
    return restore(image, "superres", model, scale=scale, blind=blind, **kwargs)


def colorize(
    image: Any,
    model: str | Path | nn.Module | None = None,
    *,
    decoding: str = "annealed",
    temperature: float | None = None,
    correction: float | None = None,
    render_factor: int = 16,
    **kwargs: Any,
) -> Any:
    """Colorize ``image`` (grey; a colour image is colorized from its lightness): :func:`restore`
    with ``"colorize"``. The result is RGB ``(3, H, W)`` (as the kind given) with the input's
    lightness.

    ``model`` is ``"colorunet"`` (the default), ``"colornet"``, a shipped name
    (``"colornet_s.photos_l2"``), a weight file, the official ECCV16 checkpoint (``.pth``) or a
    module. ``decoding`` is ``"annealed"`` (at ``temperature``), ``"mode"`` or ``"mean"``, after
    undoing ``correction`` of the class rebalancing (the paper's decoding: 0 at T = 0.38);
    ``None`` takes the model's own choice of each, else T = 0.38 and 0.5 (see
    :class:`~pixelsmith.tasks.colorize.Colorize`); the net sees the photo with its shorter side
    ``16 * render_factor`` px (0: full size).
    """
    return restore(
        image,
        "colorize",
        model,
        decoding=decoding,
        temperature=temperature,
        correction=correction,
        render_factor=render_factor,
        **kwargs,
    )


def pick_weights(model: str | Path | nn.Module | None, weights: str | Path | None):
    """What to load for ``model`` given a weight file: the file (an architecture named beside a
    paper's checkpoint must be that paper's: only Zero-DCE's ``.pth`` is read)."""
    if weights is None:
        return model
    if Path(weights).suffix.lower() == ".pth" and model not in (None, "zero-dce", "zero_dce"):
        raise PixelsmithError(
            f"a .pth file is the Zero-DCE authors' checkpoint, not weights for {model!r}", weights
        )
    return Path(weights)


def enhance(
    image: Any,
    model: str | Path | nn.Module | None = None,
    *,
    weights: str | Path | None = None,
    strength: float = 1.0,
    **kwargs: Any,
) -> Any:
    """Brighten an under-exposed ``image``: :func:`restore` with ``"lowlight"``.

    ``model`` is ``"unet"`` (the default), ``"deepupe"``, ``"zero-dce"``, a classical baseline
    (``"gamma"``, ``"global_gain"``, ``"clahe"``, ``"msrcr_retinex"``), a shipped name, a weight
    file or a module; ``weights`` a weight file for it (``model="zero-dce",
    weights="Epoch99.pth"`` runs the Zero-DCE authors' network). ``strength`` 0 keeps the photo, 1
    is the model's result, up to 2 goes further.
    """
    return restore(image, "lowlight", pick_weights(model, weights), strength=strength, **kwargs)


def develop_raw(
    raw: Any,
    ratio: float = 100.0,
    model: str | Path | nn.Module | None = None,
    **kwargs: Any,
) -> torch.Tensor:
    """Develop a camera raw file shot ``ratio`` times too short (a path, or a
    :class:`~pixelsmith.io.raw.RawImage`) into sRGB ``(3, H, W)``: :func:`restore` with
    ``"develop"`` and SID's U-Net (the default ``model``)."""
    from pixelsmith.tasks.develop import check_ratio

    return restore(raw, "develop", model, ratio=check_ratio(ratio), **kwargs)


def inpaint(
    image: Any,
    mask: Any = None,
    model: str | Path | nn.Module | None = None,
    *,
    resize_mask: bool = False,
    attributes: str | dict[str, float] | None = None,
    **kwargs: Any,
) -> Any:
    """Fill the hole of ``image``: :func:`restore` with ``"inpaint"``. The result equals the input
    outside the hole, exactly.

    ``mask`` marks the hole in white (or 1): a path, PIL image, array or tensor of the photo's
    size (``resize_mask`` scales another size to it); ``None`` takes the photo's transparent
    pixels as the hole (the result is then opaque). ``model`` is ``"pconv"`` (the default),
    ``"vae"``, ``"telea"``, ``"navier_stokes"``, ``"biharmonic"``, a shipped name, a weight file
    or a module. An empty mask gives the photo back; a mask over the whole photo is refused.
    ``attributes`` steer the VAE's fill (``{"brightness": 0.8}`` or ``"brightness=0.8,hue=120"``);
    those not given are measured on the photo's known pixels.
    """
    if attributes:
        kwargs["attributes"] = attributes
    return restore(image, "inpaint", model, mask=mask, resize_mask=resize_mask, **kwargs)


def evaluate(
    model: str | Path | nn.Module,
    data: str | Path,
    task: str | Task = "superres",
    **options: Any,
) -> dict[str, float]:
    """Mean metrics of ``model`` on ``data`` by ``task``'s standard protocol (SR: PSNR and SSIM
    on Y, shave = scale, MATLAB bicubic). ``data`` is a folder (or what the task's
    ``eval_dataset`` takes) or a dataset that ``eval_dataset`` made."""
    task = get_task(task, **options)
    net, _ = resolve(model, task, "cpu")
    dataset = task.eval_dataset(data) if isinstance(data, (str, Path)) else data
    return task.bind(net).evaluate(net, dataset)


def train(config: Any, task: str | Task, **options: Any) -> Path | None:
    """Train ``task``'s model as ``config`` (a :class:`~pixelsmith.trainer.TrainConfig`) says;
    returns the final weight file."""
    from pixelsmith.trainer import Trainer

    return Trainer(config, get_task(task, **options)).run()
