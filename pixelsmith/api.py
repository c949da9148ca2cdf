"""The public Python API: what a script needs, with the defaults a user expects.

>>> import pixelsmith
>>> big = pixelsmith.upscale(image, scale=3)          # (C, H, W) in [0, 1] -> (C, 3H, 3W)
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from pixelsmith.errors import PixelsmithError
from pixelsmith.infer import pick_device
from pixelsmith.tasks.superres import SuperRes, check_scale, upscale_image
from pixelsmith.weights import WeightInfo, load_model, shipped_weights

#: The shipped model ``pixelsmith upscale --model NAME`` means, by short name.
SR_ALIASES = {"srcnn": "srcnn_955", "lrnet": "lrnet_s"}
DEFAULT_SR_MODEL = "lrnet"


def superres_weight_name(model: str, scale: int, blind: bool = False) -> str:
    """File stem of a shipped SR model: ``superres_<arch>_x<scale>[_blind]``."""
    arch = SR_ALIASES.get(model, model)
    return f"superres_{arch}_x{scale}" + ("_blind" if blind else "")


def load_sr_model(
    model: str | Path = DEFAULT_SR_MODEL,
    scale: int = 3,
    blind: bool = False,
    device: str | torch.device = "cpu",
) -> tuple[nn.Module, WeightInfo | None]:
    """An SR model by short name (``srcnn``, ``lrnet``, ``bicubic``), shipped name, or weight file."""
    check_scale(scale)
    p = Path(str(model))
    is_file = p.suffix == ".safetensors" or p.is_file()
    if is_file or str(model) in shipped_weights():  # a weight file, or a shipped weight name
        net, info = load_model(p if is_file else str(model), device)
        if info.task != "superres":
            raise PixelsmithError(f"not a super-resolution model (task {info.task!r})", p)
        if net.scale != scale:
            raise PixelsmithError(f"this model upscales x{net.scale}, not x{scale}", p)
        return net, info
    if model == "bicubic":
        from pixelsmith.models import create_model

        return create_model("bicubic", scale=scale).to(device), None
    name = superres_weight_name(str(model), scale, blind)
    if name not in shipped_weights():
        available = ", ".join(shipped_weights("superres")) or "none"
        raise PixelsmithError(f"no shipped model {name!r}; shipped SR models: {available}")
    return load_model(name, device)


def _sr_net(
    model: str | Path | nn.Module, scale: int, blind: bool, device: str | torch.device
) -> nn.Module:
    """A module as given (its scale checked) or an SR model loaded by name or path."""
    if isinstance(model, nn.Module):
        check_scale(scale)
        if getattr(model, "scale", None) != scale:
            raise PixelsmithError(
                f"the model upscales x{getattr(model, 'scale', '?')}, not x{scale}"
            )
        return model.to(device)
    return load_sr_model(model, scale, blind, device)[0]


def upscale(
    image: torch.Tensor,
    scale: int = 3,
    model: str | Path | nn.Module = DEFAULT_SR_MODEL,
    *,
    blind: bool = False,
    tile: int = 256,
    device: str = "auto",
    dtype: torch.dtype = torch.float32,
    progress: bool = False,
) -> torch.Tensor:
    """Super-resolve ``image`` ``(C, H, W)`` float in [0, 1] (C = 1 or 3) by ``scale``.

    ``model`` is a short name (``"lrnet"``, ``"srcnn"``, ``"bicubic"``), a weight file, or a module.
    Returns ``(C, scale*H, scale*W)`` in [0, 1].
    """
    if image.dim() != 3 or image.shape[0] not in (1, 3):
        raise PixelsmithError(
            f"expected an image (C, H, W) with C = 1 or 3, got {tuple(image.shape)}"
        )
    dev = pick_device(device)
    net = _sr_net(model, scale, blind, dev)
    return upscale_image(net, image, tile=tile, device=dev, dtype=dtype, progress=progress)


def evaluate(
    model: str | Path | nn.Module, data: str | Path, scale: int = 3, blind: bool = False
) -> list[dict]:
    """Per-image PSNR/SSIM of an SR model on a folder of HR images, by the SRCNN protocol."""
    return SuperRes(scale).evaluate_images(_sr_net(model, scale, blind, "cpu"), data)
