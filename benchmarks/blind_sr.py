"""Blind SR on realistic low-quality inputs: does the blind model beat the bicubic-trained one?

    python benchmarks/blind_sr.py

Held-out photos (Kodak kodim01-12, never used for training) are degraded by fixed, seeded recipes
that mimic real low-quality pictures, then restored; PSNR/SSIM on Y against the clean photo
(shave = scale, 8-bit rounding), as in the SRCNN protocol:

- ``clean``: MATLAB bicubic downscale only (the condition the non-blind models are trained for);
- ``jpeg+noise``: downscale, Gaussian noise sigma 5/255, JPEG quality 60;
- ``blur+noise+jpeg``: Gaussian blur sigma 1.2, downscale, Poisson-Gaussian noise, JPEG quality 45;
- ``shake+jpeg``: a 7-pixel motion-blur kernel at 30 degrees, downscale, JPEG quality 70.
"""

from __future__ import annotations

import sys
from pathlib import Path

import kornia.filters
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import markdown_table, update_section  # noqa: E402

import pixelsmith  # noqa: E402
from pixelsmith.data.degrade import blur_with, gaussian_kernel, jpeg_compress  # noqa: E402
from pixelsmith.io import list_images, read_image  # noqa: E402
from pixelsmith.metrics import modcrop  # noqa: E402
from pixelsmith.paths import data_dir  # noqa: E402
from pixelsmith.resize import imresize  # noqa: E402
from pixelsmith.tasks.sr_protocol import evaluate_sr_pair, sr_y  # noqa: E402


def degrade(hr: torch.Tensor, scale: int, recipe: str, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    if recipe == "clean":
        return imresize(hr, 1 / scale)
    if recipe == "jpeg+noise":
        lr = (
            imresize(hr, 1 / scale)
            + torch.randn(hr.shape[0], *[s // scale for s in hr.shape[1:]], generator=g) * 5 / 255
        )
        return jpeg_compress(lr, 60)
    if recipe == "blur+noise+jpeg":
        lr = imresize(blur_with(hr[None], gaussian_kernel(11, 1.2, 1.2, 0.0))[0], 1 / scale).clamp(
            0, 1
        )
        peak = 60.0  # photons at white: shot noise, plus read noise
        lr = (
            torch.poisson(lr * peak, generator=g) / peak
            + torch.randn(lr.shape, generator=g) * 2 / 255
        )
        return jpeg_compress(lr, 45)
    if recipe == "shake+jpeg":
        k = kornia.filters.get_motion_kernel2d(7, 30.0, 0.0)[0]
        return jpeg_compress(imresize(blur_with(hr[None], k)[0], 1 / scale), 70)
    raise ValueError(recipe)


RECIPES = ["clean", "jpeg+noise", "blur+noise+jpeg", "shake+jpeg"]


def _sr_model(name: str, scale: int, blind: bool = False) -> torch.nn.Module:
    task = pixelsmith.get_task("superres", scale=scale, blind=blind)
    return pixelsmith.load_model(name, task=task)[0]


def main() -> None:
    kodak = list_images([str(data_dir() / "kodak24")])
    rows = []
    for scale in (2, 3, 4):
        models = {"bicubic": _sr_model("bicubic", scale)}
        for label, blind in (("lrnet", False), ("lrnet --blind", True)):
            try:
                models[label] = _sr_model("lrnet", scale, blind)
            except Exception as e:
                print(f"skipping {label} x{scale}: {e}")
        for recipe in RECIPES:
            scores = {name: [] for name in models}
            for i, path in enumerate(kodak):
                hr = modcrop(read_image(path)[0], scale)
                lr = degrade(hr, scale, recipe, seed=i).clamp(0, 1)
                for name, model in models.items():
                    sr = pixelsmith.upscale(lr, scale, model, device="cpu")
                    p, s = evaluate_sr_pair(sr_y(sr), sr_y(hr), scale)
                    scores[name].append((float(p), float(s)))
            rows.append(
                [f"x{scale}", recipe]
                + [
                    f"{np.mean([p for p, _ in v]):.2f} / {np.mean([s for _, s in v]):.4f}"
                    if (v := scores.get(name))
                    else "-"
                    for name in ("bicubic", "lrnet", "lrnet --blind")
                ]
            )
    body = markdown_table(
        ["scale", "degradation", "bicubic", "lrnet (bicubic-trained)", "lrnet --blind"], rows
    )
    body += (
        "\n\nPSNR dB / SSIM on Y, mean over Kodak kodim01-12 (held out from training), "
        "shave = scale. Recipes in the script's docstring; each image's noise is seeded."
    )
    update_section("superres-blind", "Blind super-resolution on degraded photos", body)


if __name__ == "__main__":
    if data_dir() is None:
        sys.exit("../shared/data not found: set PIXELSMITH_DATA")
    main()
