"""The measurement of raw development: photos unprocessed and darkened at fixed seeds.

Each photo (shrunk to a short side of ``EVAL_SHORT_SIDE``, cropped to a multiple of 32) is turned
into the raw frame a camera would have recorded at a short exposure: a random camera
(:func:`~pixelsmith.data.unprocess.random_camera_params`), unprocessed, mosaicked (RGGB), darkened
by the ratio with sensor noise, quantised to 14 bits with a black level of 512. The seed is a
function of the photo's index and the ratio, so every method sees the same frames. Methods:

- the network (through the task's ``prepare``, as a user's raw file goes);
- the **traditional pipeline**: the same amplification, bilinear demosaicking, and the camera's
  own white balance, colour matrix, gamma and tone curve (the true ones: the most favourable case
  for it), :func:`traditional`; and the same followed by scikit-image's non-local means
  (``denoise=True``).

Scores are PSNR and SSIM on RGB in float64, against the photo.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from pixelsmith.data import bayer
from pixelsmith.io.raw import RawImage

EVAL_RATIOS = (100, 250, 300)
EVAL_SHORT_SIDE = 512
PATTERN = "RGGB"


def eval_photo(path: Path) -> torch.Tensor:
    """A photo as the protocol uses it: RGB ``(3, h, w)``, short side at most 512, sides cut to
    multiples of 32."""
    from pixelsmith.io import read_image
    from pixelsmith.resize import imresize

    img, _ = read_image(path)
    img = img.expand(3, -1, -1)
    h, w = img.shape[-2:]
    if min(h, w) > EVAL_SHORT_SIDE:
        k = EVAL_SHORT_SIDE / min(h, w)
        img = imresize(img, size=(round(h * k), round(w * k))).clamp_(0, 1)
    h, w = img.shape[-2:]
    return img[:, : h - h % 32, : w - w % 32].contiguous()


def synthetic_raw(photo: torch.Tensor, ratio: float, seed: int) -> tuple[RawImage, Any]:
    """The short-exposure raw frame of ``photo`` ``(3, H, W)`` at ``ratio``, and its camera."""
    from pixelsmith.data.dark_frames import camera, dark_frame
    from pixelsmith.data.unprocess import unprocess

    g = torch.Generator().manual_seed(seed)
    params = camera(1, g)
    linear, _ = unprocess(photo[None], params=params)
    mosaic = bayer.mosaic(linear, PATTERN)
    dark = dark_frame(mosaic, ratio, g)
    gains = params.gains[0]
    raw = RawImage(
        path=Path("synthetic"),
        bayer=dark.codes[0],
        cfa_pattern=torch.tensor([[0, 1], [3, 2]]).numpy(),
        cfa_desc="RGBG",
        pattern_string=PATTERN,
        black_level_per_channel=[int(dark.black_level)] * 4,
        black_level=dark.black_level,
        white_level=int(dark.white_level),
        camera_wb=[float(gains[0]), float(gains[1]), float(gains[2]), float(gains[1])],
        daylight_wb=[1.0, 1.0, 1.0, 1.0],
        rgb_xyz_matrix=torch.zeros(4, 3).numpy(),
        color_matrix=torch.cat([params.srgb_from_camera[0], torch.zeros(3, 1)], 1).numpy(),
        raw_type="Flat",
    )
    return raw, params


def traditional(raw: RawImage, ratio: float, params: Any, denoise: bool = False) -> torch.Tensor:
    """The classical pipeline on a synthetic frame: amplify, demosaic, the camera's processing."""
    from pixelsmith.data.unprocess import process

    mosaic = (raw.normalised() * ratio).clamp_(max=1.0)
    linear = bayer.demosaic_bilinear(mosaic[None], PATTERN)
    out = process(linear, params)[0].clamp(0, 1)
    return nl_means(out) if denoise else out


def noise_sigma(image: torch.Tensor) -> float:
    """Donoho's robust noise estimate, averaged over channels: the median absolute value of the
    finest diagonal Haar coefficients ``(a - b - c + d) / 2`` over 0.6745."""
    x = image[..., : image.shape[-2] // 2 * 2, : image.shape[-1] // 2 * 2].double()
    hh = (x[..., ::2, ::2] - x[..., ::2, 1::2] - x[..., 1::2, ::2] + x[..., 1::2, 1::2]) / 2
    return float(hh.abs().flatten(-2).median(-1).values.mean() / 0.6745)


def nl_means(image: torch.Tensor) -> torch.Tensor:
    """scikit-image's non-local means on ``(3, H, W)``, at the noise level :func:`noise_sigma`
    finds in the image (``h = 0.8 sigma``, as scikit-image's examples)."""
    from skimage.restoration import denoise_nl_means

    x = image.permute(1, 2, 0).double().numpy()
    sigma = noise_sigma(image)
    y = denoise_nl_means(
        x,
        h=0.8 * sigma,
        sigma=sigma,
        patch_size=5,
        patch_distance=6,
        fast_mode=True,
        channel_axis=-1,
    )
    return torch.from_numpy(y).permute(2, 0, 1).float().clamp(0, 1)


def frame_seed(index: int, ratio: float) -> int:
    return 10_000 * index + int(ratio)


@torch.no_grad()
def evaluate_developer(
    task, model: nn.Module | None, paths: list[Path], ratios, methods=("model",)
) -> list[dict[str, Any]]:
    """Rows ``{"image", "ratio", "method", "psnr", "ssim"}`` for each photo, ratio and method
    (``"model"``, ``"traditional"``, ``"traditional+nlm"``)."""
    from dataclasses import replace

    from pixelsmith.metrics import psnr, ssim
    from pixelsmith.models import model_spec
    from pixelsmith.tasks.base import run_whole

    if model is not None:
        was_training = model.training
        model.eval()
    rows = []
    try:
        for i, path in enumerate(paths):
            photo = eval_photo(path)
            truth = photo.double()
            for ratio in ratios:
                raw, params = synthetic_raw(photo, ratio, frame_seed(i, ratio))
                for method in methods:
                    if method == "model":
                        t = replace(task, ratio=float(ratio))
                        prepared = t.prepare(raw, model_spec(model))
                        out = run_whole(t, model, prepared)
                    else:
                        out = traditional(raw, ratio, params, denoise=method.endswith("nlm"))
                    out = out.double()
                    rows.append(
                        {
                            "image": path.name,
                            "ratio": ratio,
                            "method": method,
                            "psnr": float(psnr(out, truth)),
                            "ssim": float(ssim(out[None], truth[None])),
                        }
                    )
    finally:
        if model is not None:
            model.train(was_training)
    return rows


def libraw_develop(path: Path, raw: RawImage, ratio: float = 1.0) -> torch.Tensor:
    """The traditional pipeline on a real file, through LibRaw: ``raw``'s codes (a dark frame of
    the file at ``path``, e.g. :func:`~pixelsmith.data.unprocess.darken_raw`'s) amplified by
    ``ratio`` above the black level, written into the file's raw buffer and developed by
    LibRaw's ``postprocess`` (AHD demosaicking, the camera's white balance and colour matrix,
    the BT.709 gamma, no auto-brightening). Returns sRGB ``(3, H, W)`` in [0, 1]."""
    import numpy as np
    import rawpy

    black = raw.black_map
    amplified = (black + (raw.bayer - black) * ratio).clamp_(0, float(raw.white_level))
    with rawpy.imread(str(path)) as r:
        visible = r.raw_image_visible
        visible[...] = amplified.round().numpy().astype(visible.dtype)
        rgb = r.postprocess(use_camera_wb=True, no_auto_bright=True, output_bps=16)
    return torch.from_numpy(rgb.astype(np.float32) / 65535.0).permute(2, 0, 1).contiguous()
