"""The public Python API: one generic entry point per job, with the defaults a user expects.

>>> import pixelsmith
>>> big = pixelsmith.upscale("photo.jpg", scale=3)               # a tensor (C, 3H, 3W)
>>> big = pixelsmith.restore(pil_image, "superres", scale=2)     # a PIL image back
>>> pixelsmith.evaluate("lrnet_s.x3", "set5/", "superres", scale=3)

Every task's verb (``upscale``, ``colorize``, ``enhance``, ``develop_raw``, ``inpaint``)
is a thin name for :func:`restore`, which loads a :class:`~pixelsmith.pipeline.Pipeline` and runs
it on one photo. For many photos, load the Pipeline once and call it per photo, or hand it to
:func:`pixelsmith.restore_files`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from pixelsmith.pipeline import Pipeline
from pixelsmith.resolver import with_weights
from pixelsmith.tasks import Task, get_task, task_class


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
    """Run ``task`` (``"superres"``, ...) on ``image`` and return the result as the kind given:
    :meth:`Pipeline.load` with the settings, then the pipeline on the one photo.

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
        options: the task's settings (``scale=3, blind=False`` for super-resolution), and the
            per-photo inputs it declares beside the image (``mask=`` for inpainting).
    """
    declared = (task if isinstance(task, Task) else task_class(task)).inputs[1:]
    inputs = {k: options.pop(k) for k in list(options) if k in declared}
    pipe = Pipeline.load(
        task,
        model,
        device=device,
        backend=backend,
        bf16=bf16,
        tile=tile,
        max_output_pixels=max_output_pixels,
        **options,
    )
    return pipe(image, progress=progress, **inputs)


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
    return restore(image, "lowlight", with_weights(model, weights), strength=strength, **kwargs)


def develop_raw(
    raw: Any,
    ratio: float | None = None,
    model: str | Path | nn.Module | None = None,
    **kwargs: Any,
) -> torch.Tensor:
    """Develop a camera raw file shot ``ratio`` times too short (a path, or a
    :class:`~pixelsmith.io.raw.RawImage`) into sRGB ``(3, H, W)``: :func:`restore` with
    ``"develop"`` and SID's U-Net (the default ``model``). ``ratio`` ``None`` estimates it from
    the frame (its mean level to that of a normal exposure, 1 to 300; a
    :class:`~pixelsmith.errors.Note` warning says which)."""
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
    from pixelsmith.export.backend import backend_for, with_backend
    from pixelsmith.resolver import resolve

    task = get_task(task, **options)
    net, _ = resolve(model, task, "cpu")
    net = with_backend(net, task, backend_for(None), "cpu")
    dataset = task.eval_dataset(data) if isinstance(data, (str, Path)) else data
    return task.bind(net).evaluate(net, dataset)


def train(config: Any, task: str | Task, **options: Any) -> Path | None:
    """Train ``task``'s model as ``config`` (a :class:`~pixelsmith.trainer.TrainConfig`) says;
    returns the final weight file."""
    from pixelsmith.trainer import Trainer

    return Trainer(config, get_task(task, **options)).run()
