"""``pixelsmith demo``: every shipped model on an image that ships with scikit-image."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from pixelsmith.api import upscale
from pixelsmith.io import write_image
from pixelsmith.metrics import modcrop
from pixelsmith.resize import imresize
from pixelsmith.tasks.sr_protocol import evaluate_sr_pair, sr_y
from pixelsmith.viz.figures import figure_to_tensor
from pixelsmith.weights import list_pretrained


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
    results = {"bicubic": upscale(lr, scale, "bicubic", device="cpu")}
    for name in list_pretrained("superres"):
        if name.split(".")[1].startswith(f"x{scale}"):
            results[name] = upscale(lr, scale, name, device="cpu")
    for name, img in results.items():
        stem = name.replace(".", "_")
        written.append(write_image(out / f"astronaut_{stem}.png", img, overwrite=True))

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
    if "smallconvnet.faces" in list_pretrained():
        written.append(_classifier_sheet(out / "classifier.png"))
    if list_pretrained("colorize"):
        written += _colorize_demo(out)
    if list_pretrained("lowlight"):
        written += _lowlight_demo(out)
    written += _inpaint_demo(out)
    return written


def holed_astronaut() -> tuple[torch.Tensor, torch.Tensor]:
    """The astronaut and a fixed irregular hole (1 = hole, a fifth to a third of the photo)."""
    from pixelsmith.data.masks import random_mask

    known = random_mask(512, 512, torch.Generator().manual_seed(5), ratio=(0.2, 0.3))
    return astronaut(), 1 - known


def _inpaint_demo(out: Path) -> list[Path]:
    """The astronaut with a hole, filled by Telea's method and each shipped inpainting model."""

    from pixelsmith.api import inpaint

    photo, hole = holed_astronaut()
    shown = photo * (1 - hole) + hole  # the hole in white
    written = [write_image(out / "inpaint_input.png", shown, overwrite=True)]
    panels = [("input (hole in white)", shown)]
    for name in ["telea", *list_pretrained("inpaint")]:
        img = inpaint(photo, hole, name, device="cpu")
        written.append(
            write_image(out / f"inpaint_{name.replace('.', '_')}.png", img, overwrite=True)
        )
        panels.append((name, img))
    panels.append(("original", photo))
    title = "pixelsmith demo: inpainting (docs/inpaint.md)"
    return [*written, _panel_sheet(panels, title, out / "inpaint.png")]


def _panel_sheet(panels: list[tuple[str, torch.Tensor]], title: str, path: Path) -> Path:
    """A row of titled images ``(3, H, W)`` written as one sheet."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(panels), figsize=(2.6 * len(panels), 3.0))
    for ax, (label, img) in zip(axes, panels, strict=True):
        ax.imshow(img.permute(1, 2, 0).clamp(0, 1).numpy())
        ax.set_title(label, fontsize=8)
        ax.axis("off")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    sheet = figure_to_tensor(fig)
    plt.close(fig)
    return write_image(path, sheet, overwrite=True)


def dark_astronaut() -> torch.Tensor:
    """The astronaut under-exposed by :func:`pixelsmith.data.underexpose.underexpose` with a
    fixed seed (exposure, sensor noise, gamma, JPEG: a mean level of 0.07)."""
    from pixelsmith.data.underexpose import underexpose

    return underexpose(astronaut()[None], torch.Generator().manual_seed(3))[0]


def _lowlight_demo(out: Path) -> list[Path]:
    """The under-exposed astronaut brightened by each shipped low-light model."""

    from pixelsmith.api import enhance

    dark = dark_astronaut()
    models = list(list_pretrained("lowlight"))
    written = [write_image(out / "lowlight_input.png", dark, overwrite=True)]
    panels = [("under-exposed input", dark)]
    for name in models:
        img = enhance(dark, name, device="cpu")
        written.append(
            write_image(out / f"lowlight_{name.replace('.', '_')}.png", img, overwrite=True)
        )
        panels.append((name, img))
    panels.append(("original", astronaut()))
    title = "pixelsmith demo: low-light enhancement (docs/lowlight.md)"
    return [*written, _panel_sheet(panels, title, out / "lowlight.png")]


def _colorize_demo(out: Path) -> list[Path]:
    """scikit-image's grey ``camera`` and the astronaut's lightness, colorized by each shipped
    colorizer; the astronaut beside its true colours."""
    import matplotlib.pyplot as plt
    from skimage import data

    from pixelsmith.api import colorize
    from pixelsmith.color import lab_to_rgb, rgb_to_lab

    camera = torch.from_numpy(np.ascontiguousarray(data.camera())).float()[None] / 255
    lab = rgb_to_lab(astronaut()[None])
    lab[:, 1:] = 0
    astro_grey = lab_to_rgb(lab)[0, :1]
    models = [n for n in list_pretrained("colorize")]
    written = []
    rows = [
        ("camera (grey original)", camera, None),
        ("astronaut (its lightness)", astro_grey, astronaut()),
    ]
    fig, axes = plt.subplots(
        len(rows), len(models) + 2, figsize=(2.6 * (len(models) + 2), 2.9 * len(rows))
    )
    for i, (label, grey, truth) in enumerate(rows):
        axes[i, 0].imshow(grey[0].numpy(), cmap="gray", vmin=0, vmax=1)
        axes[i, 0].set_title(label, fontsize=8)
        for j, name in enumerate(models):
            img = colorize(grey, name, device="cpu")
            stem = f"{label.split()[0]}_{name.replace('.', '_')}"
            written.append(write_image(out / f"colorize_{stem}.png", img, overwrite=True))
            axes[i, j + 1].imshow(img.permute(1, 2, 0).numpy())
            axes[i, j + 1].set_title(name, fontsize=8)
        if truth is not None:
            axes[i, -1].imshow(truth.permute(1, 2, 0).numpy())
            axes[i, -1].set_title("true colours", fontsize=8)
        for ax in axes[i]:
            ax.axis("off")
    fig.suptitle(
        "pixelsmith demo: colorization (the lightness is the input's; docs/colorize.md)",
        fontsize=10,
    )
    fig.tight_layout()
    sheet = figure_to_tensor(fig)
    plt.close(fig)
    written.append(write_image(out / "colorize.png", sheet, overwrite=True))
    return written


#: 25x25 windows (after resizing a square crop) of scikit-image photos: (image, top, left, side).
_CLASSIFIER_CROPS = {
    "astronaut's face": ("astronaut", 40, 160, 140),
    "cat's face": ("chelsea", 20, 110, 200),
    "coffee cup": ("coffee", 30, 180, 300),
    "rocket": ("rocket", 100, 230, 180),
}


def _classifier_sheet(path: Path) -> Path:
    """The shipped face/non-face ConvNet on a few crops, with an occlusion map for each."""
    import matplotlib.pyplot as plt
    from skimage import data

    from pixelsmith.color import rgb_to_grey
    from pixelsmith.resolver import load_model
    from pixelsmith.viz.occlusion import class_target, occlusion_map

    model, _ = load_model("smallconvnet.faces")
    fig, axes = plt.subplots(2, len(_CLASSIFIER_CROPS), figsize=(2.4 * len(_CLASSIFIER_CROPS), 5))
    for k, (label, (name, top, left, side)) in enumerate(_CLASSIFIER_CROPS.items()):
        rgb = torch.from_numpy(np.ascontiguousarray(getattr(data, name)())).permute(2, 0, 1) / 255
        crop = rgb_to_grey(rgb[:, top : top + side, left : left + side].float())
        x = imresize(crop, size=(25, 25)).clamp(0, 1)
        with torch.no_grad():
            p_face = float(model(x[None]).softmax(1)[0, 1])
        heat = occlusion_map(model, x, class_target(1), patch=5, stride=1)
        axes[0, k].imshow(x[0].numpy(), cmap="gray", vmin=0, vmax=1)
        axes[0, k].set_title(f"{label}\nP(face) = {p_face:.2f}", fontsize=9)
        lim = float(heat.abs().max()) or 1.0
        axes[1, k].imshow(heat.numpy(), cmap="RdBu_r", vmin=-lim, vmax=lim)
        axes[1, k].set_title("occlusion: drop of the face logit", fontsize=8)
        for ax in axes[:, k]:
            ax.axis("off")
    fig.suptitle(
        "pixelsmith demo: the small face classifier, trained on 150 grey 25x25 LFW crops.\n"
        "Outside that world it errs: whatever its answer, the occlusion map shows where "
        "it looked (docs/seeing-inside.md)",
        fontsize=10,
    )
    fig.tight_layout()
    sheet = figure_to_tensor(fig)
    plt.close(fig)
    return write_image(path, sheet, overwrite=True)
