"""A figure of an image and its filtered versions: edges, Sobel gradient, Gaussian and box blur."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from pixelsmith.io import read_image, write_image
from pixelsmith.nn.filtering import (
    box_kernel,
    edge_kernel,
    filter_image,
    gaussian_kernel,
    sobel_kernels,
)
from pixelsmith.viz.figures import figure_to_tensor


def camera() -> torch.Tensor:
    """scikit-image's ``camera`` (public domain), halved: ``(1, 256, 256)`` in [0, 1]."""
    from skimage import data

    img = torch.from_numpy(data.camera()).float()[None, None] / 255
    return torch.nn.functional.avg_pool2d(img, 2)[0]


def filtered_versions(image: torch.Tensor, border: str = "reflect") -> dict[str, torch.Tensor]:
    """``{title: (C', H, W)}``: the image, ``[-1 0 1]`` and its transpose, Sobel magnitude (on the
    channel mean, so ``C' = 1``), and 9x9 Gaussian (sigma 2) and box blurs (all channels)."""
    grey = image.mean(0, keepdim=True)
    gx, gy = sobel_kernels()
    sobel = torch.hypot(filter_image(grey, gx, border), filter_image(grey, gy, border))
    return {
        "image": image,
        "[-1 0 1]  (vertical edges)": filter_image(grey, edge_kernel(), border),
        "[-1 0 1]^T  (horizontal edges)": filter_image(grey, edge_kernel().T, border),
        "Sobel gradient magnitude": sobel,
        "Gaussian 9x9, sigma 2": filter_image(image, gaussian_kernel(9, 2.0), border),
        "box 9x9": filter_image(image, box_kernel(9), border),
    }


def plot_filtering(
    out_path: str | Path,
    image: torch.Tensor | str | Path | None = None,
    border: str = "reflect",
    dpi: int = 100,
) -> Path:
    """Write a 2x3 figure (PNG or JPEG, by suffix) of ``image`` and its filtered versions.

    ``image`` is ``(C, H, W)`` in [0, 1], an image file, or by default the camera man. Signed edge
    responses are drawn blue (negative) to red (positive).

    Returns the written path (replaced if it exists; written atomically).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if image is None:
        image = camera()
    elif not isinstance(image, torch.Tensor):
        image, _ = read_image(image)
    panels = filtered_versions(image, border)
    h, w = image.shape[-2:]
    fig = Figure(figsize=(11, 11 * (2 * h) / (3 * w) + 0.8))
    FigureCanvasAgg(fig)
    axes = fig.subplots(2, 3)
    for ax, (title, img) in zip(axes.flat, panels.items(), strict=True):
        arr = img.permute(1, 2, 0).numpy()
        if title.startswith("[-1"):
            v = float(np.abs(arr).max()) or 1.0
            ax.imshow(arr[..., 0], cmap="RdBu_r", vmin=-v, vmax=v)
        elif arr.shape[-1] == 1:
            ax.imshow(arr[..., 0], cmap="gray", vmin=0, vmax=float(arr.max()) or 1.0)
        else:
            ax.imshow(arr.clip(0, 1))
        ax.set_title(title, fontsize=10)
        ax.axis("off")
    fig.suptitle(f"Filtering with F.conv2d (correlation, border {border!r})")
    fig.tight_layout()
    return write_image(out_path, figure_to_tensor(fig, dpi=dpi), overwrite=True)
