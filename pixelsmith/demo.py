"""``pixelsmith demo``: every shipped model on an image that ships with scikit-image."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from pixelsmith.api import load_sr_model
from pixelsmith.io import write_image
from pixelsmith.metrics import evaluate_sr_pair, modcrop
from pixelsmith.resize import imresize
from pixelsmith.tasks.superres import sr_y, upscale_image
from pixelsmith.viz.figures import figure_to_tensor
from pixelsmith.weights import shipped_weights


def astronaut() -> torch.Tensor:
    """scikit-image's astronaut (Eileen Collins, NASA, public domain): ``(3, 512, 512)`` in [0, 1]."""
    from skimage import data

    return torch.from_numpy(np.ascontiguousarray(data.astronaut())).permute(2, 0, 1).float() / 255


def run_demo(out: Path, scale: int = 3) -> list[Path]:
    """Downscale the astronaut by ``scale``, restore it with bicubic and each shipped SR model,
    and write each result and a before/after sheet (with PSNR on Y) to ``out``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    hr = modcrop(astronaut(), scale)
    lr = imresize(hr, 1 / scale).clamp(0, 1)
    written = [write_image(out / f"astronaut_lr_x{scale}.png", lr, overwrite=True)]
    results = {"bicubic": upscale_image(load_sr_model("bicubic", scale)[0], lr)}
    for name in shipped_weights("superres"):
        if name.startswith("superres_") and f"_x{scale}" in name:
            model, _ = load_sr_model(Path(shipped_weights()[name]), scale)
            results[name.removeprefix("superres_")] = upscale_image(model, lr)
    for name, img in results.items():
        written.append(write_image(out / f"astronaut_{name}.png", img, overwrite=True))

    crop = (slice(40, 220), slice(150, 330))  # the face
    panels = [
        (
            "low-res input (nearest)",
            torch.nn.functional.interpolate(lr[None], scale_factor=scale, mode="nearest")[0],
        )
    ]
    for name, img in results.items():
        p, _ = evaluate_sr_pair(sr_y(img), sr_y(hr), scale)
        panels.append((f"{name}: {float(p):.2f} dB", img))
    panels.append(("original", hr))
    fig, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 3.6))
    for ax, (title, img) in zip(np.atleast_1d(axes), panels, strict=True):
        ax.imshow(img[:, crop[0], crop[1]].permute(1, 2, 0).clamp(0, 1).numpy())
        ax.set_title(title, fontsize=9)
        ax.axis("off")
    fig.suptitle(f"pixelsmith demo: super-resolution x{scale} (PSNR on Y, whole image)")
    fig.tight_layout()
    sheet = figure_to_tensor(fig)
    plt.close(fig)
    written.append(write_image(out / "sheet.png", sheet, overwrite=True))
    return written
