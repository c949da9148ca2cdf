"""Before and after on real photos, one strip per task, through the shipped defaults.

    python benchmarks/real_photos.py            # writes docs/img/real_<task>.png
    python benchmarks/real_photos.py lowlight   # one task

Every photo here is one the default neither trained nor was tuned on: Kodak kodim01-12 (the
held-out colour photos), the LIME photos of ``lowlight_real`` (real under-exposed shots), the
grey photos of ImageNet's sample (real black-and-white pictures: the colorizer never saw their
colours, there are none), the raw files of ``raw/``. Each strip shows the input as a person sees
it and the result, and for super-resolution and inpainting a 1:1 crop, where detail shows.
Everything runs through :class:`pixelsmith.pipeline.Pipeline`, as a user's run does.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import ROOT, image_sheet  # noqa: E402

from pixelsmith.io import list_images, read_image  # noqa: E402
from pixelsmith.pipeline import Pipeline  # noqa: E402
from pixelsmith.resize import imresize  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
OUT = ROOT / "docs" / "img"


def _rgb(x: torch.Tensor) -> torch.Tensor:
    return x.expand(3, -1, -1) if x.shape[0] == 1 else x


def _crop(x: torch.Tensor, box: tuple[int, int, int]) -> torch.Tensor:
    y, x0, side = box
    return x[:, y : y + side, x0 : x0 + side]


def superres() -> None:
    """Kodak photos shrunk x3 (MATLAB bicubic), then bicubic and the default back up: 1:1
    crops of 160 px of the output."""
    bicubic = Pipeline.load("superres", "bicubic", scale=3, device="cpu")
    lrnet = Pipeline.load("superres", scale=3, device="cpu")
    blind = Pipeline.load("superres", scale=3, blind=True, device="cpu")
    rows = []
    for name, box in (("kodim03", (150, 300, 160)), ("kodim08", (60, 240, 160))):
        hr, _ = read_image(DATA / "kodak24" / f"{name}.png")
        h, w = hr.shape[-2:]
        hr = hr[:, : h - h % 3, : w - w % 3]
        lr = imresize(hr, scale=1 / 3).clamp(0, 1)
        rows.append(
            [_crop(_rgb(p.run(lr)), box) for p in (bicubic, lrnet, blind)] + [_crop(hr, box)]
        )
    labels = ["bicubic x3", "default (lrnet_s.x3)", "--blind", "original"]
    image_sheet(rows, labels, OUT / "real_superres.png", cell=200)


def colorize() -> None:
    """Real grey photos (ImageNet's grey ones) and Kodak photos made grey."""
    pipe = Pipeline.load("colorize", device="cpu")
    rows = []
    greys = [p for p in list_images([DATA / "imagenet_sample1000"]) if _is_grey(p)][:3]
    for path in greys:
        x, _ = read_image(path)
        rows.append([_rgb(x), pipe.run(x)])
    for name in ("kodim05", "kodim07"):
        x, _ = read_image(DATA / "kodak24" / f"{name}.png")
        grey = x.mean(0, keepdim=True)
        rows.append([_rgb(grey), pipe.run(grey), x])
    for r in rows:
        if len(r) == 2:
            r.append(torch.ones_like(r[1]))
    image_sheet(rows, ["grey input", "default", "original colour"], OUT / "real_colorize.png")


def _is_grey(path: Path) -> bool:
    from PIL import Image

    with Image.open(path) as im:
        return im.mode in ("L", "LA", "I;16", "I")


def lowlight() -> None:
    """The LIME photos: real under-exposed shots, no ground truth."""
    pipe = Pipeline.load("lowlight", device="cpu")
    gain = Pipeline.load("lowlight", "global_gain", device="cpu")
    rows = []
    for path in list_images([DATA / "lowlight_real"])[:4]:
        x, _ = read_image(path)
        rows.append([x, gain.run(x), pipe.run(x)])
    labels = ["input", "global gain", f"default ({pipe.model_name})"]
    image_sheet(rows, labels, OUT / "real_lowlight.png")


def inpaint() -> None:
    """Kodak photos with holes of NVIDIA's irregular test masks (resized to the photo)."""
    pipe = Pipeline.load("inpaint", device="cpu", resize_mask=True)
    telea = Pipeline.load("inpaint", "telea", device="cpu", resize_mask=True)
    rows = []
    masks = sorted((DATA / "masks_nvidia_test").glob("*.png"))
    for name, mask in (("kodim01", masks[1200]), ("kodim04", masks[1500])):
        x, _ = read_image(DATA / "kodak24" / f"{name}.png")
        m, _ = read_image(mask)
        shown = x.clone()
        hole = pipe.task.read_inputs(mask=m)["mask"]
        hole = torch.nn.functional.interpolate(hole[None], size=x.shape[-2:])[0]
        shown[:, hole[0] > 0.5] = 1.0
        filled = pipe.task.as_input(x, mask=m)[0]
        rows.append([shown, telea.run(filled), pipe.run(filled), x])
    labels = ["hole (white)", "Telea", f"default ({pipe.model_name})", "original"]
    image_sheet(rows, labels, OUT / "real_inpaint.png")


def develop() -> None:
    """The raw files that decode as a Bayer mosaic, at ratio 1 (they are exposed normally)."""
    rows = []
    for name in ("RAW_KODAK_DC50.KDC", "Blackmagic.dng"):
        pipe = Pipeline.load("develop", device="cpu", ratio=1.0)
        raw, _ = pipe.read(DATA / "raw" / name)
        rows.append([pipe.task.show_input(raw).clamp(0, 1), pipe.run(raw)])
    image_sheet(rows, ["LibRaw (traditional)", "default (sid_unet_s)"], OUT / "real_develop.png")


TASKS = {
    "superres": superres,
    "colorize": colorize,
    "lowlight": lowlight,
    "inpaint": inpaint,
    "develop": develop,
}

if __name__ == "__main__":
    torch.set_num_threads(int(__import__("os").environ.get("PIXELSMITH_THREADS", "1")))
    for task in sys.argv[1:] or TASKS:
        TASKS[task]()
