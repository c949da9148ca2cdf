"""The web page used as a person uses it: headless Chromium (Playwright) against the real server
(uvicorn on a free localhost port). Upload or drop a photo, run each task, paint the hole with the
mouse, move the before/after slider, zoom, download, and compare the file with
``pixelsmith.restore``'s result; a malformed and an oversized upload show their errors.

Needs Playwright for Python and a Chromium executable (Debian's ``chromium``; browser downloads
are impossible here): ``$PIXELSMITH_CHROMIUM``, else ``chromium`` or ``chromium-browser`` on the
PATH. Without them the module is skipped, saying why.
"""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("fastapi", reason="the web extra (fastapi, uvicorn) is not installed")
pytest.importorskip("uvicorn", reason="the web extra (fastapi, uvicorn) is not installed")
pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed")

import pixelsmith  # noqa: E402
from pixelsmith.web.app import Settings  # noqa: E402
from pixelsmith.web.background import serve_in_thread  # noqa: E402


def chromium_executable() -> tuple[str | None, str]:
    """``($PIXELSMITH_CHROMIUM or the first Chromium on the PATH, "")``, else ``(None, why)``."""
    given = os.environ.get("PIXELSMITH_CHROMIUM")
    if given:
        if Path(given).is_file():
            return given, ""
        return None, f"PIXELSMITH_CHROMIUM={given} is not a file"
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found, ""
    return None, "no chromium or chromium-browser on the PATH (apt-get install chromium)"


CHROMIUM, WHY_NOT = chromium_executable()
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason=f"the browser test of the web page needs Chromium: {WHY_NOT}"
)

MAX_PIXELS = 1_000_000
MAX_BYTES = 200_000
WAIT_MS = 60_000
VIEWPORT = {"width": 1280, "height": 1000}


# --- photos, the server, the browser -----------------------------------------------------------
@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> dict[str, Path]:
    """Small landscape photos (64 x 40) cut from scikit-image's astronaut."""
    from skimage import data

    d = tmp_path_factory.mktemp("browser_photos")
    rgb = np.ascontiguousarray(data.astronaut()[::8, ::8][8:48, :64])
    paths = {name: d / f"{name}.png" for name in ("rgb", "grey", "dark")}
    Image.fromarray(rgb).save(paths["rgb"])
    Image.fromarray(rgb).convert("L").save(paths["grey"])
    Image.fromarray((rgb * 0.15).astype(np.uint8)).save(paths["dark"])
    return paths


@pytest.fixture(scope="module")
def server():
    with serve_in_thread(Settings(max_pixels=MAX_PIXELS, max_upload_bytes=MAX_BYTES)) as served:
        yield served


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(accept_downloads=True, viewport=VIEWPORT)
    page = context.new_page()
    page.errors = []  # JavaScript exceptions and console errors, checked by the tests
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.on("console", lambda m: m.type == "error" and page.errors.append(m.text))
    page.goto(server.url + "/")
    page.wait_for_selector("body[data-ready='1']")
    yield page
    context.close()


# --- what a person does ------------------------------------------------------------------------
def choose_photo(page, path: Path) -> None:
    page.set_input_files("#file", str(path))
    page.wait_for_function("() => document.getElementById('photo').naturalWidth > 0")


def drop_photo(page, path: Path) -> None:
    """Drag a file onto the drop zone (a DataTransfer holding the file's bytes)."""
    transfer = page.evaluate_handle(
        """([bytes, name]) => {
            const t = new DataTransfer();
            t.items.add(new File([new Uint8Array(bytes)], name, { type: "image/png" }));
            return t;
        }""",
        [list(path.read_bytes()), path.name],
    )
    page.dispatch_event("#drop", "drop", {"dataTransfer": transfer})
    page.wait_for_function("() => document.getElementById('photo').naturalWidth > 0")


def pick(page, task: str, model: str | None = None, **options) -> None:
    page.select_option("#task", task)
    for name, value in options.items():
        selector = f"#opt-{name}"
        kind = page.eval_on_selector(selector, "e => e.tagName + ':' + e.type")
        if kind.startswith("SELECT"):
            page.select_option(selector, str(value))
        elif kind.endswith("checkbox"):
            page.set_checked(selector, bool(value))
        else:
            page.fill(selector, str(value))
            page.dispatch_event(selector, "change")
    if model:
        page.select_option("#model", model)


def run(page) -> str:
    page.click("#run")
    page.wait_for_selector(
        "#status:is([data-state='done'], [data-state='failed'])", timeout=WAIT_MS
    )
    return page.get_attribute("#status", "data-state")


def download(page) -> tuple[bytes, str]:
    with page.expect_download() as info:
        page.click("#download")
    d = info.value
    return Path(d.path()).read_bytes(), d.suggested_filename


def levels(png: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(png)) as im:
        assert im.format == "PNG"
        arr = np.asarray(im).astype(np.int16)
    return arr[..., None] if arr.ndim == 2 else arr


def reference(path: Path, task: str, model: str | None, **options) -> np.ndarray:
    out = pixelsmith.restore(str(path), task, model, **options)
    return np.round(out.clamp(0, 1).permute(1, 2, 0).numpy() * 255).astype(np.int16)


def screenshot(page, selector: str) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(page.locator(selector).screenshot())).convert("L"))


# --- the tests ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "photo, task, model, options, how, name",
    [
        ("rgb", "superres", "bicubic", {"scale": 2}, "choose", "rgb_x2.png"),
        ("rgb", "superres", "lrnet_s.x3", {}, "drop", "rgb_x3.png"),
        ("grey", "colorize", None, {"temperature": 0.3}, "choose", "grey_color.png"),
        ("dark", "lowlight", "zero_dce.photos", {"strength": 0.8}, "drop", "dark_enhanced.png"),
    ],
)
def test_each_task_downloads_the_api_result(page, photos, photo, task, model, options, how, name):
    (drop_photo if how == "drop" else choose_photo)(page, photos[photo])
    pick(page, task, model, **options)
    assert run(page) == "done", page.inner_text("#error")
    png, suggested = download(page)
    want = reference(photos[photo], task, model, **options)
    got = levels(png)
    assert got.shape == want.shape
    diff = np.abs(got - want)
    assert diff.max() <= 1, (
        f"{diff.max()} levels apart at {np.unravel_index(diff.argmax(), diff.shape)}"
    )
    assert suggested == name  # the name the CLI would write
    assert not page.errors


def test_a_raw_file_develops_with_libraws_view_as_before(page, shared_data):
    """A camera raw file, which the browser cannot show: the page still runs it through the
    develop task, shows the server's "before" (LibRaw at the same ratio) beside the result, and
    the download is the API's result."""
    raw = shared_data / "raw" / "RAW_KODAK_DC50.KDC"
    if not raw.is_file():
        pytest.skip("needs ../shared/data/raw/RAW_KODAK_DC50.KDC")
    page.set_input_files("#file", str(raw))
    pick(page, "develop", ratio=4)
    assert run(page) == "done", page.inner_text("#error")
    assert "/input.png" in page.get_attribute("#before", "src")
    assert page.evaluate("() => document.getElementById('before').naturalWidth") > 0
    assert "as the server shows it" in page.inner_text("#result-info")
    png, suggested = download(page)
    with Image.open(io.BytesIO(png)) as im:
        got = np.asarray(im).astype(float)
    got /= 65535.0 if got.max() > 255 else 255.0
    want = pixelsmith.develop_raw(str(raw), ratio=4).permute(1, 2, 0).numpy()
    assert got.shape == want.shape and np.abs(got - want).max() <= 1 / 255
    assert suggested == "RAW_KODAK_DC50_developed.png"
    assert not page.errors


def test_models_follow_the_options(page):
    page.select_option("#task", "superres")
    page.select_option("#opt-scale", "2")
    models = page.eval_on_selector_all("#model option", "os => os.map(o => o.value)")
    assert "lrnet_s.x2" in models and "bicubic" in models and "lrnet_s.x3" not in models
    page.select_option("#opt-scale", "4")
    models = page.eval_on_selector_all("#model option", "os => os.map(o => o.value)")
    assert "lrnet_s.x4" in models and "lrnet_s.x2" not in models
    page.select_option("#task", "lowlight")
    labels = page.eval_on_selector_all("#options [data-option]", "es => es.map(e => e.id)")
    assert labels == ["opt-strength"]  # pair_fraction is training only


def test_the_slider_shows_before_on_the_left_and_after_on_the_right(page, photos):
    choose_photo(page, photos["dark"])
    pick(page, "lowlight", "gamma")
    assert run(page) == "done"
    box = page.locator("#compare").bounding_box()
    y = box["y"] + box["height"] / 2
    # drag the divider from the middle to a fifth of the width
    page.mouse.move(box["x"] + box["width"] / 2, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 5, y, steps=8)
    page.mouse.up()
    assert float(page.input_value("#slider")) == pytest.approx(20, abs=1)
    shot = screenshot(page, "#compare")
    w = shot.shape[1]
    before, after = shot[:, : int(0.17 * w)].mean(), shot[:, int(0.23 * w) :].mean()
    assert after > before + 30  # the dark photo left of the divider, the brightened one right
    # the keyboard moves it too: all the way right shows the photo only, left the result only
    page.focus("#slider")
    page.keyboard.press("End")
    dark = screenshot(page, "#compare").mean()
    page.keyboard.press("Home")
    bright = screenshot(page, "#compare").mean()
    assert dark == pytest.approx(before, abs=12) and bright == pytest.approx(after, abs=12)
    # zoom: 200 % shows the result at twice its pixels
    page.select_option("#zoom", "2")
    width = page.eval_on_selector("#compare", "e => e.getBoundingClientRect().width")
    assert width == pytest.approx(2 * 64, abs=1)
    assert not page.errors


def _stroke(page, y: float, x0: float, x1: float) -> None:
    """Paint with the mouse across the photo at height ``y`` from ``x0`` to ``x1`` (fractions)."""
    box = page.locator("#mask-canvas").bounding_box()
    page.mouse.move(box["x"] + x0 * box["width"], box["y"] + y * box["height"])
    page.mouse.down()
    page.mouse.move(box["x"] + x1 * box["width"], box["y"] + y * box["height"], steps=12)
    page.mouse.up()


def test_inpaint_paints_the_hole_with_the_mouse(page, server, photos):
    choose_photo(page, photos["rgb"])
    pick(page, "inpaint", "telea")
    assert page.is_visible("#mask-canvas") and page.is_visible("#mask-tools")
    page.fill("#brush", "40")
    page.dispatch_event("#brush", "input")
    _stroke(page, 0.3, 0.2, 0.8)  # the hole
    _stroke(page, 0.85, 0.2, 0.8)  # a slip ...
    page.click("#undo")  # ... undone
    page.check("#eraser")
    _stroke(page, 0.3, 0.45, 0.55)  # a gap rubbed out of the hole
    page.uncheck("#eraser")
    # the brush is 40 screen pixels across: in photo pixels, 40 x 64 / the canvas's width on screen
    radius = 20 * 64 / page.locator("#mask-canvas").bounding_box()["width"]
    assert run(page) == "done", page.inner_text("#error")
    job_id = page.evaluate("state.job.id")
    assert server.app.state.queue.get(job_id).info["task"] == "inpaint"
    (mask_file,) = server.app.state.workdir.glob("*/mask.png")  # the mask the server was sent
    mask_png = mask_file.read_bytes()
    hole = levels(mask_png)[..., 0] > 127
    assert hole.shape == (40, 64)
    rows, cols = np.nonzero(hole)
    assert abs(rows.mean() - 0.3 * 40) < 1.5 and rows.max() - rows.min() <= 2 * radius + 2
    assert hole[12, 16] and hole[12, 48]  # along the stroke
    assert not hole[12, 32]  # the erased gap
    assert not hole[34, :].any()  # the undone slip
    assert cols.min() >= 0.2 * 64 - radius - 1 and cols.max() <= 0.8 * 64 + radius + 1

    png, suggested = download(page)
    assert suggested == "rgb_inpainted.png"
    got = levels(png)
    want = reference(photos["rgb"], "inpaint", "telea", mask=str(mask_file))
    assert np.abs(got - want).max() <= 1
    photo = levels(photos["rgb"].read_bytes())
    assert np.array_equal(got[~hole], photo[~hole])
    assert not page.errors


def test_inpaint_without_a_hole_says_so(page, photos):
    choose_photo(page, photos["rgb"])
    pick(page, "inpaint", "telea")
    page.click("#run")
    assert "Paint the hole" in page.inner_text("#error")


def test_a_malformed_upload_shows_the_error(page):
    page.set_input_files(
        "#file", {"name": "broken.png", "mimeType": "image/png", "buffer": b"not a picture\n" * 9}
    )
    page.wait_for_selector("#empty:has-text('cannot show')")
    page.click("#run")
    page.wait_for_selector("#error:visible")
    assert "broken.png is not an image file" in page.inner_text("#error")


def test_an_upload_over_the_pixel_limit_shows_the_error(page):
    big = io.BytesIO()
    Image.new("L", (1001, 1000)).save(big, "PNG")  # 1,001,000 pixels in a few kilobytes
    page.set_input_files(
        "#file", {"name": "huge.png", "mimeType": "image/png", "buffer": big.getvalue()}
    )
    page.wait_for_function("() => document.getElementById('photo').naturalWidth > 0")
    page.click("#run")
    page.wait_for_selector("#error:visible")
    text = page.inner_text("#error")
    assert "huge.png is 1001x1000 = 1,001,000 pixels, over this server's limit of 1,000,000" in text


def test_an_upload_over_the_byte_limit_shows_the_error(page):
    noise = np.random.default_rng(1).integers(0, 256, (300, 300, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(noise).save(buf, "PNG")
    assert len(buf.getvalue()) > MAX_BYTES
    page.set_input_files(
        "#file", {"name": "noise.png", "mimeType": "image/png", "buffer": buf.getvalue()}
    )
    page.wait_for_selector("#error:visible")
    assert "noise.png is over the upload limit" in page.inner_text("#error")
    assert page.is_disabled("#run")
