"""What users hold -> pixelsmith's one image convention, and back to what they gave.

Between :func:`as_image` and :meth:`Given.give_back` an image is a float32 tensor ``(C, H, W)`` in
[0, 1], sRGB, C = 1 (grey) or 3 (colour), with alpha (if any) beside it as ``(1, H, W)``.

Accepted, and given back as the same kind:

- a path (``str`` or ``os.PathLike``): read by :func:`pixelsmith.io.read_image`; the result is a
  float32 tensor ``(C, H, W)`` (``C + 1`` channels with alpha), as nothing is written;
- a PIL image (modes 1, L, LA, P, RGB, RGBA, I;16, I, F, CMYK, ...): back as the same mode where
  it holds the result (``L``, ``LA``, ``RGB``, ``RGBA``, ``I;16``, ``F``), else RGB(A);
- a NumPy array ``(H, W)`` or ``(H, W, C)``, C = 1, 3 or 4, of ``uint8`` (0..255), ``uint16``
  (0..65535) or floats in [0, 1]: back with the same layout and dtype;
- a torch tensor ``(C, H, W)`` of floats in [0, 1], C = 1, 3 or 4: back with the same dtype and
  device.

Anything else is refused with a ``TypeError`` (the wrong kind) or ``ValueError`` (the wrong shape,
NaN or inf, float values outside [0, 1], e.g. 8-bit levels not divided by 255).

An inference input of more than one plane travels as one object: :class:`MaskedImage` (a photo
and its hole mask, what inpainting prepares).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from pixelsmith.io.convert import RANGE_SLACK, unit_range_problem


@dataclass
class Given:
    """How an image was given, to give the result back the same way."""

    kind: str  # "path", "pil", "numpy", "tensor"
    dtype: Any = None
    device: Any = None
    mode: str = ""
    squeeze: bool = False  # a 2-D array came in: give a 2-D array back

    def give_back(self, image: torch.Tensor, alpha: torch.Tensor | None = None) -> Any:
        """The result ``(C, H, W)`` in [0, 1] (and its alpha ``(1, H, W)``) as the given kind."""
        x = image if alpha is None else torch.cat([image, alpha.to(image.dtype)], 0)
        if self.kind == "path":
            return x.float()
        if self.kind == "tensor":
            return x.to(device=self.device, dtype=self.dtype)
        if self.kind == "numpy":
            return _to_numpy(x, np.dtype(self.dtype), self.squeeze)
        return _to_pil(x, self.mode)


@dataclass
class MaskedImage:
    """A photo ``(C, H, W)`` in [0, 1] and its mask ``(1, H, W)`` (1 = known, 0 = hole): what the
    inpainting task's ``prepare`` takes."""

    image: torch.Tensor
    known: torch.Tensor

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(self.image.shape)


def as_image(image: Any) -> tuple[torch.Tensor, torch.Tensor | None, Given]:
    """``image`` (see the module doc) -> ``(pixels (C, H, W) float32, alpha (1, H, W) | None,
    how it was given)``."""
    if isinstance(image, (str, os.PathLike)):
        from pixelsmith.io import read_image

        pixels, meta = read_image(Path(image))
        return pixels, meta.alpha, Given("path")
    if isinstance(image, torch.Tensor):
        return _from_tensor(image)
    if isinstance(image, np.ndarray):
        return _from_numpy(image)
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - PIL is a dependency
        Image = None
    if Image is not None and isinstance(image, Image.Image):
        return _from_pil(image)
    raise TypeError(
        f"expected an image: a path, a PIL image, a NumPy array (H, W[, C]) or a tensor (C, H, W);"
        f" got {type(image).__name__}"
    )


def _split(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
    if x.shape[0] == 4:
        return x[:3].contiguous(), x[3:].contiguous()
    return x, None


def check_pixels(x: torch.Tensor) -> torch.Tensor:
    """Refuse NaN, inf and float values far outside [0, 1]; clamp rounding slack. ``x`` float."""
    if x.numel() == 0 or min(x.shape[-2:]) == 0:
        raise ValueError(f"the image is empty, shape {tuple(x.shape)}")
    problem = unit_range_problem(x.detach().cpu().numpy(), RANGE_SLACK)
    if problem:
        raise ValueError(problem)
    return x.clamp(0, 1)


def _check_channels(c: int, shape: tuple[int, ...], layout: str) -> None:
    if c not in (1, 3, 4):
        raise ValueError(
            f"expected 1 (grey), 3 (RGB) or 4 (RGBA) channels, got an image of shape {shape} "
            f"({layout})"
        )


def _from_tensor(t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None, Given]:
    if t.dim() != 3:
        raise ValueError(
            f"expected one image tensor (C, H, W), got shape {tuple(t.shape)}"
            + ("; loop over a batch" if t.dim() == 4 else "")
        )
    if not t.is_floating_point():
        raise TypeError(
            f"expected a float tensor in [0, 1], got {t.dtype} (for 8-bit levels use t.float() / 255)"
        )
    _check_channels(t.shape[0], tuple(t.shape), "C, H, W")
    x = check_pixels(t.detach().to("cpu", torch.float32))
    pixels, alpha = _split(x)
    return pixels, alpha, Given("tensor", dtype=t.dtype, device=t.device)


_NUMPY_SCALE = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}


def _from_numpy(a: np.ndarray) -> tuple[torch.Tensor, torch.Tensor | None, Given]:
    squeeze = a.ndim == 2
    if a.ndim not in (2, 3):
        raise ValueError(f"expected a NumPy image (H, W) or (H, W, C), got shape {a.shape}")
    hwc = a[..., None] if squeeze else a
    if hwc.shape[2] not in (1, 3, 4) and hwc.shape[0] in (1, 3, 4):
        raise ValueError(
            f"NumPy images are (H, W, C); shape {a.shape} looks channel-first: "
            "use arr.transpose(1, 2, 0)"
        )
    _check_channels(hwc.shape[2], a.shape, "H, W, C")
    if min(a.shape[:2]) == 0:
        raise ValueError(f"the image is empty, shape {a.shape}")
    if a.dtype in _NUMPY_SCALE:
        x = torch.from_numpy(np.ascontiguousarray(hwc).astype(np.float32) / _NUMPY_SCALE[a.dtype])
    elif np.issubdtype(a.dtype, np.floating):
        x = check_pixels(torch.from_numpy(np.ascontiguousarray(hwc, dtype=np.float32)))
    else:
        raise TypeError(f"NumPy images are uint8, uint16 or float in [0, 1], not {a.dtype}")
    pixels, alpha = _split(x.permute(2, 0, 1).contiguous())
    return pixels, alpha, Given("numpy", dtype=a.dtype, squeeze=squeeze)


def _to_numpy(x: torch.Tensor, dtype: np.dtype, squeeze: bool) -> np.ndarray:
    hwc = x.float().permute(1, 2, 0).numpy()
    if dtype in _NUMPY_SCALE:
        out = np.floor(np.clip(hwc, 0, 1) * _NUMPY_SCALE[dtype] + 0.5).astype(dtype)
    else:
        out = hwc.astype(dtype)
    return out[..., 0] if squeeze and out.shape[2] == 1 else out


_PIL_CONVERT = {"1": "L", "P": "RGBA", "PA": "RGBA", "CMYK": "RGB", "YCbCr": "RGB",
                "LAB": "RGB", "HSV": "RGB", "La": "LA", "RGBa": "RGBA", "RGBX": "RGB"}  # fmt: skip


def _from_pil(im: Any) -> tuple[torch.Tensor, torch.Tensor | None, Given]:
    mode = im.mode
    if mode == "P" and "transparency" not in im.info:
        im = im.convert("RGB")
    elif mode in _PIL_CONVERT:
        im = im.convert(_PIL_CONVERT[mode])
    if min(im.size) == 0:
        raise ValueError(f"the image is empty, size {im.size}")
    if im.mode.startswith("I;16") or im.mode == "I":
        a = np.asarray(im).astype(np.float64)
        if a.min() < 0 or a.max() > 65535:
            raise ValueError(
                f"mode {im.mode} values span [{a.min():g}, {a.max():g}]; expected 0..65535"
            )
        x = torch.from_numpy((a / 65535.0).astype(np.float32))[None]
        back = "I;16" if im.mode.startswith("I;16") else "I"
    elif im.mode == "F":
        x = check_pixels(torch.from_numpy(np.asarray(im, dtype=np.float32).copy())[None])
        back = "F"
    elif im.mode in ("L", "LA", "RGB", "RGBA"):
        a = np.asarray(im)
        hwc = a[..., None] if a.ndim == 2 else a
        x = torch.from_numpy(hwc.astype(np.float32) / 255.0).permute(2, 0, 1).contiguous()
        back = im.mode
    else:
        raise TypeError(
            f"PIL images of mode {im.mode} are not supported; convert to RGB or L first"
        )
    if x.shape[0] == 2:  # LA
        pixels, alpha = x[:1].contiguous(), x[1:].contiguous()
    else:
        pixels, alpha = _split(x)
    return pixels, alpha, Given("pil", mode=back)


def _to_pil(x: torch.Tensor, mode: str) -> Any:
    from PIL import Image

    c = x.shape[0]
    if mode == "F" and c == 1:
        return Image.fromarray(x[0].float().numpy(), mode="F")
    if mode in ("I;16", "I") and c == 1:
        levels = _to_numpy(x, np.dtype(np.uint16), True)
        return (
            Image.fromarray(levels)
            if mode == "I;16"
            else Image.fromarray(levels.astype(np.int32), "I")
        )
    a = _to_numpy(x, np.dtype(np.uint8), True)
    if a.ndim == 3 and a.shape[2] == 2:
        return Image.fromarray(a, mode="LA")
    return Image.fromarray(a)
