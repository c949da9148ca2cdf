"""Screenshots of the web page, one per task, for docs/web.md: the real server and headless
Chromium, driven as a person would (choose a photo, pick the task, paint the hole, run).

    python benchmarks/web_screenshots.py                  # writes docs/img/web_<task>.png
    python benchmarks/web_screenshots.py --out /tmp/shots --chromium /usr/bin/chromium

Each task runs with its default (shipped) model on a photo from scikit-image (the astronaut,
256 x 160; grey for colorization, darkened to 15 % for low-light, a quarter of the size for
super-resolution); the screenshot shows the result with the before/after slider in the middle.
Inpainting also gets ``web_inpaint_paint.png``: the hole painted with the mouse, before the run.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from pixelsmith.web.app import Settings
from pixelsmith.web.background import serve_in_thread

ROOT = Path(__file__).resolve().parent.parent
VIEWPORT = {"width": 1200, "height": 760}


def photos(folder: Path) -> dict[str, Path]:
    """The photo each task starts from, as PNG files in ``folder``."""
    from skimage import data

    rgb = np.ascontiguousarray(data.astronaut()[::2, ::2][40:200, :256])  # 256 x 160
    small = Image.fromarray(rgb).resize((128, 80), Image.Resampling.BICUBIC)
    made = {
        "superres": (small, "astronaut_small.png"),
        "colorize": (Image.fromarray(rgb).convert("L"), "astronaut_grey.png"),
        "lowlight": (Image.fromarray((rgb * 0.15).astype(np.uint8)), "astronaut_dark.png"),
        "inpaint": (Image.fromarray(rgb), "astronaut.png"),
    }
    paths = {}
    for task, (image, name) in made.items():
        paths[task] = folder / name
        image.save(paths[task])
    from pixelsmith.paths import data_dir

    raw = (data_dir() or Path("/nonexistent")) / "raw" / "RAW_KODAK_DC50.KDC"
    if raw.is_file():  # a camera raw file for the develop task (the browser cannot show it)
        paths["develop"] = raw
    return paths


def paint(page, strokes: list[tuple[float, float, float, float]]) -> None:
    """Drag the mouse across the photo: each stroke ``(x0, y0, x1, y1)`` in fractions of it."""
    box = page.locator("#mask-canvas").bounding_box()
    for x0, y0, x1, y1 in strokes:
        page.mouse.move(box["x"] + x0 * box["width"], box["y"] + y0 * box["height"])
        page.mouse.down()
        page.mouse.move(box["x"] + x1 * box["width"], box["y"] + y1 * box["height"], steps=15)
        page.mouse.up()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    args.out.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory() as tmp,
        serve_in_thread(Settings()) as served,
        sync_playwright() as p,
    ):
        inputs = photos(Path(tmp))
        browser = p.chromium.launch(executable_path=args.chromium, headless=True)
        for task, photo in inputs.items():
            page = browser.new_page(viewport=VIEWPORT)
            page.goto(served.url + "/")
            page.wait_for_selector("body[data-ready='1']")
            page.set_input_files("#file", str(photo))
            if task != "develop":
                page.wait_for_function("() => document.getElementById('photo').naturalWidth > 0")
            page.select_option("#task", task)
            if task == "develop":
                page.fill("#opt-ratio", "1")  # the shared raw files are normal exposures
                page.dispatch_event("#opt-ratio", "change")
            if task == "superres":
                page.select_option("#opt-scale", "2")
            if task == "inpaint":
                page.fill("#brush", "36")
                page.dispatch_event("#brush", "input")
                paint(page, [(0.62, 0.3, 0.86, 0.36), (0.66, 0.55, 0.84, 0.5)])
                page.screenshot(path=str(args.out / "web_inpaint_paint.png"))
            page.click("#run")
            page.wait_for_selector(
                "#status:is([data-state='done'], [data-state='failed'])",
                timeout=300_000,
                state="attached",
            )
            if page.get_attribute("#status", "data-state") != "done":
                raise SystemExit(f"{task}: {page.inner_text('#error')}")
            page.evaluate("window.scrollTo(0, 0)")
            path = args.out / f"web_{task}.png"
            page.screenshot(path=str(path))
            print(path)
            page.close()
        browser.close()


if __name__ == "__main__":
    main()
