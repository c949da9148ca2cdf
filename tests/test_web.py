"""The web server through its HTTP API (FastAPI's TestClient): every task's result is the PNG that
``pixelsmith.restore`` gives for the same photo and options; uploads are limited and sniffed; the
queue is bounded, jobs cancel and expire; the task list is read from the registry."""

from __future__ import annotations

import io
import json
import threading
import time
import typing
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
import torch
from PIL import Image

pytest.importorskip("fastapi", reason="the web extra (fastapi) is not installed")
pytest.importorskip("httpx", reason="FastAPI's TestClient needs httpx")

import pixelsmith  # noqa: E402
from pixelsmith.errors import PixelsmithError  # noqa: E402
from pixelsmith.tasks.base import Prepared, Task, option  # noqa: E402
from pixelsmith.web.app import LOOPBACK_HOSTS, Settings, create_app  # noqa: E402
from pixelsmith.web.catalog import offered_tasks  # noqa: E402
from pixelsmith.web.jobs import CANCELLED, DONE, Busy, JobQueue  # noqa: E402

# Starlette 1.x asks for httpx2 beside its test client; httpx is what FastAPI documents.
pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")

TIMEOUT = 60.0


# --- photos -----------------------------------------------------------------------------------
def _astronaut(size: int = 32) -> np.ndarray:
    from skimage import data

    a = data.astronaut()
    step = a.shape[0] // size
    return np.ascontiguousarray(a[::step, ::step][:size, :size])


def _png(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("web_photos")
    rgb = _astronaut()
    paths = {
        "rgb": d / "astronaut.png",
        "grey": d / "astronaut_grey.png",
        "dark": d / "astronaut_dark.png",
        "mask": d / "hole.png",
    }
    Image.fromarray(rgb).save(paths["rgb"])
    Image.fromarray(rgb).convert("L").save(paths["grey"])
    Image.fromarray((rgb * 0.2).astype(np.uint8)).save(paths["dark"])
    hole = np.zeros(rgb.shape[:2], np.uint8)
    hole[10:18, 8:24] = 255
    Image.fromarray(hole).save(paths["mask"])
    return paths


def _reference(path: Path, task: str, model: str | None, **options: Any) -> np.ndarray:
    """``pixelsmith.restore``'s result as 8-bit levels ``(H, W, C)``."""
    out = pixelsmith.restore(str(path), task, model, **options)
    return np.round(out.clamp(0, 1).permute(1, 2, 0).numpy() * 255).astype(np.int16)


def _levels(png: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(png)) as im:
        assert im.format == "PNG"
        arr = np.asarray(im).astype(np.int16)
    return arr[..., None] if arr.ndim == 2 else arr


# --- a client and jobs -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def client():
    from fastapi.testclient import TestClient

    app = create_app(Settings(max_jobs=1, max_waiting=8, max_pixels=1_000_000))
    with TestClient(app) as c:
        yield c


def _submit(client, path: Path | None, task: str, options=None, model=None, mask=None, **files):
    data = {"task": task, "options": json.dumps(options or {})}
    if model:
        data["model"] = model
    if path is not None:
        files.setdefault("image", (path.name, path.read_bytes(), "image/png"))
    if mask is not None:
        files["mask"] = (mask.name, mask.read_bytes(), "image/png")
    return client.post("/api/jobs", data=data, files=files)


def _wait(client, job_id: str, until=("done", "failed", "cancelled")) -> dict:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        body = client.get(f"/api/jobs/{job_id}").json()
        if body["state"] in until:
            return body
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} still {body['state']} after {TIMEOUT} s")


def _run(client, path: Path, task: str, options=None, model=None, mask=None) -> bytes:
    r = _submit(client, path, task, options, model, mask)
    assert r.status_code == 202, r.text
    job = _wait(client, r.json()["id"])
    assert job["state"] == "done", job
    png = client.get(job["download"])
    assert png.status_code == 200
    assert png.headers["content-type"] == "image/png"
    assert png.headers["content-disposition"].startswith("attachment")
    return png.content


# --- every task: the page's PNG is the API's result ---------------------------------------------
@pytest.mark.parametrize(
    "photo, task, model, options",
    [
        ("rgb", "superres", "bicubic", {"scale": 2}),
        ("rgb", "superres", "lrnet_s.x2", {"scale": 2}),
        ("grey", "colorize", None, {}),
        ("grey", "colorize", None, {"temperature": 0.2, "decoding": "annealed"}),
        ("dark", "lowlight", "gamma", {}),
        ("dark", "lowlight", "zero_dce.photos", {"strength": 0.5}),
    ],
)
def test_each_task_gives_the_api_result(client, photos, photo, task, model, options):
    png = _run(client, photos[photo], task, options, model)
    got, want = _levels(png), _reference(photos[photo], task, model, **options)
    assert got.shape == want.shape
    assert np.abs(got - want).max() <= 1


def test_superres_result_is_scaled(client, photos):
    got = _levels(_run(client, photos["rgb"], "superres", {"scale": 2}, "bicubic"))
    assert got.shape == (64, 64, 3)


def test_inpaint_with_a_mask_gives_the_api_result_and_keeps_the_rest(client, photos):
    png = _run(client, photos["rgb"], "inpaint", {}, "telea", mask=photos["mask"])
    got = _levels(png)
    want = _reference(photos["rgb"], "inpaint", "telea", mask=str(photos["mask"]))
    assert np.abs(got - want).max() <= 1
    original = np.asarray(Image.open(photos["rgb"])).astype(np.int16)
    hole = np.asarray(Image.open(photos["mask"])) > 127
    assert np.array_equal(got[~hole], original[~hole])  # outside the hole: the photo, exactly
    assert np.abs(got[hole] - original[hole]).max() > 0


def test_inpaint_needs_a_hole(client, photos):
    r = _submit(client, photos["rgb"], "inpaint", model="telea")
    job = _wait(client, r.json()["id"])
    assert job["state"] == "failed" and "no hole" in job["message"]


def test_a_mask_for_a_task_without_one_is_refused(client, photos):
    r = _submit(client, photos["rgb"], "superres", {"scale": 2}, "bicubic", mask=photos["mask"])
    assert r.status_code == 400 and "takes no mask" in r.json()["detail"]


def test_each_model_is_loaded_once(client, photos):
    models = client.app.state.models
    _run(client, photos["dark"], "lowlight", {"strength": 0.3}, "global_gain")
    loads = models.loads
    _run(client, photos["dark"], "lowlight", {"strength": 0.7}, "global_gain")
    assert models.loads == loads


# --- the task list -----------------------------------------------------------------------------
def test_task_list_comes_from_the_registry(client):
    body = client.get("/api/tasks").json()
    tasks = {t["name"]: t for t in body["tasks"]}
    assert list(tasks) == [
        "superres",
        "colorize",
        "lowlight",
        "develop",
        "inpaint",
    ]  # no classifier
    assert tasks["develop"]["takes"] == ["raw"]
    assert all(t["takes"] == ["image"] for n, t in tasks.items() if n != "develop")
    assert ".dng" in body["limits"]["accept"] and ".png" in body["limits"]["accept"]
    options = {n: {o["name"]: o for o in t["options"]} for n, t in tasks.items()}
    assert options["superres"]["scale"]["choices"] == [2, 3, 4]
    assert options["superres"]["scale"]["default"] == 3
    assert options["superres"]["blind"]["kind"] == "bool"
    assert set(options["colorize"]) == {"decoding", "temperature", "correction", "render_factor"}
    # each colorizer carries its own temperature and correction: numbers left empty on the page
    for name in ("temperature", "correction"):
        option = options["colorize"][name]
        assert (option["kind"], option["default"]) == ("float", None), name
    form = offered_tasks()["colorize"]
    assert form.parse_options({"correction": ""}) == {"correction": None}
    assert form.parse_options({"correction": 0.25}) == {"correction": 0.25}
    with pytest.raises(PixelsmithError, match="at most 1"):
        form.parse_options({"correction": 2})
    assert set(options["lowlight"]) == {"strength"}  # pair_fraction is training only
    assert set(options["develop"]) == {"ratio"}
    assert set(options["inpaint"]) == {"resize_mask", "attributes"}
    assert tasks["inpaint"]["mask"] and not tasks["superres"]["mask"]
    models = {m["name"]: m["requires"] for m in tasks["superres"]["models"]}
    assert models["lrnet_s.x2"] == {"scale": 2} and models["bicubic"] == {}
    assert set(pixelsmith.weights.list_pretrained("superres")) <= set(models)
    assert {"telea", "navier_stokes", "biharmonic"} <= {
        m["name"] for m in tasks["inpaint"]["models"]
    }
    assert body["limits"]["max_pixels"] == 1_000_000


# --- camera raw files and other files a browser cannot show ------------------------------------
RAW = "raw/RAW_KODAK_DC50.KDC"


@pytest.fixture(scope="module")
def raw_file(shared_data) -> Path:
    p = shared_data / RAW
    if not p.is_file():
        pytest.skip(f"needs ../shared/data/{RAW}")
    return p


def test_a_raw_file_develops_as_the_api_does_with_libraws_view_as_before(client, raw_file):
    """Upload a camera raw file for the develop task: the result is ``develop_raw``'s, and the
    "before" image is the traditional pipeline (LibRaw) at the same ratio."""
    from pixelsmith.io import read_raw
    from pixelsmith.tasks.develop_protocol import libraw_develop

    files = {"image": ("night.kdc", raw_file.read_bytes(), "application/octet-stream")}
    r = _submit(client, None, "develop", {"ratio": 4}, **files)
    assert r.status_code == 202, r.text
    job = _wait(client, r.json()["id"])
    assert job["state"] == "done", job
    got = np.asarray(Image.open(io.BytesIO(client.get(job["download"]).content))).astype(float)
    want = pixelsmith.develop_raw(str(raw_file), ratio=4).permute(1, 2, 0).numpy()
    peak = 65535.0 if got.max() > 255 else 255.0
    assert got.shape == want.shape
    assert np.abs(got / peak - want).max() <= 1 / 255
    shown = client.get(job["input"])
    assert shown.status_code == 200 and shown.headers["content-type"] == "image/png"
    before = np.asarray(Image.open(io.BytesIO(shown.content))).astype(float) / 255
    ref = libraw_develop(raw_file, read_raw(raw_file), 4).permute(1, 2, 0).numpy()
    assert before.shape == ref.shape
    assert np.abs(before - ref).max() <= 1 / 255 + 1e-6


def test_a_form_reads_an_options_type_from_its_resolved_annotation():
    """The page's kind of an option comes from the field's type as ``typing`` resolves it (the
    same as ``pixelsmith run --opt`` reads), however the annotation is spelled: ``Optional[int]``
    and ``int | None`` are numbers left empty for the model's own; a bool is no int."""
    from pixelsmith.web.catalog import task_form

    @dataclass(frozen=True)
    class Spelled(Task):
        name: ClassVar[str] = "spelled"
        a: typing.Optional[int] = None  # noqa: UP045 (the spelling under test)
        b: int | None = None
        c: float = 0.5
        d: bool = True
        e: typing.Literal["x", "y"] = "x"

    kinds = {o.name: o.kind for o in task_form("spelled", Spelled).options}
    assert kinds == {"a": "int", "b": "int", "c": "float", "d": "bool", "e": "str"}

    @dataclass(frozen=True)
    class PartlyUnresolvable(Spelled):  # one annotation names a type imported for checking only
        f: NotImportedHere | None = None  # noqa: F821
        g: float = 1  # an int default, a float field

    kinds = {o.name: o.kind for o in task_form("partly", PartlyUnresolvable).options}
    assert kinds == {**kinds, "a": "int", "b": "int", "c": "float", "g": "float", "f": "text"}


def test_each_task_takes_only_its_kind_of_upload(client, photos, raw_file):
    files = {"image": ("night.kdc", raw_file.read_bytes(), "application/octet-stream")}
    r = _submit(client, None, "superres", {"scale": 2}, **files)
    assert r.status_code == 415
    assert r.json()["detail"] == "night.kdc is a camera raw file; the superres task takes an image"
    r = _submit(client, photos["rgb"], "develop")
    assert r.status_code == 415
    assert r.json()["detail"].endswith("is an image; the develop task takes a camera raw file")


def test_a_tiff_gets_a_before_image_from_the_server(client, photos, tmp_path):
    """A browser cannot show a TIFF: the server gives the photo itself as the "before" PNG.
    A PNG needs none."""
    tif = tmp_path / "astronaut.tif"
    Image.open(photos["rgb"]).save(tif)
    r = _submit(client, tif, "superres", {"scale": 2}, model="bicubic")
    job = _wait(client, r.json()["id"])
    assert job["state"] == "done", job
    shown = _levels(client.get(job["input"]).content)
    np.testing.assert_array_equal(shown, np.asarray(Image.open(photos["rgb"])).astype(np.int16))
    r = _submit(client, photos["rgb"], "superres", {"scale": 2}, model="bicubic")
    job = _wait(client, r.json()["id"])
    assert "input" not in job
    assert client.get(f"/api/jobs/{job['id']}/input.png").status_code == 409


class NegativeGate:
    """Holds the negative task's decoding until a test lets it go."""

    entered = threading.Event()
    release = threading.Event()


@dataclass
class Negative(Task):
    """A task registered by the test only: the photo's negative.

    Attributes:
        invert: give the negative (else the photo as it is).
        notes: a training option, declared with pixelsmith.tasks.option.
    """

    invert: bool = True
    notes: str = option("", use="training")
    calibration: str = field(default="", metadata={"use": "training"})
    hold: bool = False

    name: ClassVar[str] = "negative"
    title: ClassVar[str] = "negative"
    default_model: ClassVar[str] = "bicubic"

    def model_kwargs(self) -> dict[str, Any]:
        return {"scale": 1}

    def prepare(self, image: torch.Tensor, spec) -> Prepared:
        return Prepared((image[None],))

    def decode(self, outputs: torch.Tensor, prepared: Prepared) -> torch.Tensor:
        if self.hold:
            NegativeGate.entered.set()
            NegativeGate.release.wait(TIMEOUT)
        return 1 - outputs if self.invert else outputs


@pytest.fixture
def negative_task(monkeypatch):
    from pixelsmith import tasks

    monkeypatch.setitem(tasks.TASKS, "negative", f"{__name__}:Negative")
    NegativeGate.entered.clear()
    NegativeGate.release.clear()
    yield
    NegativeGate.release.set()


def test_a_task_registered_later_appears_and_runs(client, photos, negative_task):
    tasks = {t["name"]: t for t in client.get("/api/tasks").json()["tasks"]}
    assert "negative" in tasks
    shown = {o["name"] for o in tasks["negative"]["options"]}
    assert shown == {"invert", "hold"}  # notes (option) and calibration (raw metadata) hidden
    got = _levels(_run(client, photos["rgb"], "negative"))
    original = np.asarray(Image.open(photos["rgb"])).astype(np.int16)
    assert np.array_equal(got, 255 - original)


# --- options and models are checked ------------------------------------------------------------
@pytest.mark.parametrize(
    "task, options, model, words",
    [
        ("superres", {"scale": 5}, None, "scale is one of 2, 3, 4"),
        ("superres", {"scale": "x"}, None, "is a number"),
        ("superres", {"sharpness": 1}, None, "not sharpness"),
        ("lowlight", {"pair_fraction": 0.2}, None, "not pair_fraction"),
        ("lowlight", {"strength": 3}, None, "at most 2"),
        ("colorize", {"prior": "/etc/passwd"}, None, "not prior"),
        ("superres", {}, "/etc/passwd", "unknown superres model"),
        ("superres", {}, "../weights.safetensors", "unknown superres model"),
        ("classify", {}, None, "unknown task"),
    ],
)
def test_bad_options_models_and_tasks_are_refused(client, photos, task, options, model, words):
    r = _submit(client, photos["rgb"], task, options, model)
    assert r.status_code == 400
    assert words in r.json()["detail"]


def test_options_must_be_json(client, photos):
    r = client.post(
        "/api/jobs",
        data={"task": "superres", "options": "{scale: 2"},
        files={"image": ("a.png", photos["rgb"].read_bytes(), "image/png")},
    )
    assert r.status_code == 400 and "JSON" in r.json()["detail"]


def test_no_image_is_refused(client):
    r = client.post("/api/jobs", data={"task": "superres"})
    assert r.status_code == 400 and "no image" in r.json()["detail"]


# --- uploads -----------------------------------------------------------------------------------
def test_a_png_that_is_not_an_image_is_refused(client):
    files = {"image": ("photo.png", b"this is not an image\n" * 20, "image/png")}
    r = _submit(client, None, "superres", **files)
    assert r.status_code == 415
    assert "photo.png is not an image file" in r.json()["detail"]


def test_an_unsupported_image_format_is_refused(client):
    buf = io.BytesIO()
    Image.fromarray(_astronaut()).save(buf, "PPM")
    r = _submit(client, None, "superres", image=("photo.png", buf.getvalue(), "image/png"))
    assert r.status_code == 415 and "PPM" in r.json()["detail"]


def test_content_decides_the_format_not_the_name(client, photos):
    buf = io.BytesIO()
    Image.fromarray(_astronaut()).save(buf, "JPEG", quality=95)
    jpeg = photos["rgb"].parent / "really_a_jpeg.png"
    jpeg.write_bytes(buf.getvalue())
    r = _submit(client, jpeg, "superres", {"scale": 2}, "bicubic")
    job = _wait(client, r.json()["id"])
    assert job["state"] == "done"
    got = _levels(client.get(job["result"]).content)
    assert np.abs(got - _reference(jpeg, "superres", "bicubic", scale=2)).max() <= 1


def test_a_truncated_image_fails_without_naming_server_paths(client, photos):
    data = photos["rgb"].read_bytes()
    r = _submit(client, None, "superres", image=("cut.png", data[: len(data) // 2], "image/png"))
    assert r.status_code == 202  # the header is whole: the pixels fail in the worker
    job = _wait(client, r.json()["id"])
    assert job["state"] == "failed"
    assert job["message"].startswith("cut.png: ") and "truncated or corrupt" in job["message"]
    assert "pixelsmith-web-" not in job["message"] and "/" not in job["message"].split(":")[0]


def test_an_upload_over_the_pixel_limit_is_refused_from_its_header(client):
    big = _png(np.zeros((1001, 1000), np.uint8))  # 1,001,000 pixels, a few kilobytes
    r = _submit(client, None, "superres", image=("big.png", big, "image/png"))
    assert r.status_code == 413
    assert (
        "1000x1001 = 1,001,000 pixels, over this server's limit of 1,000,000" in r.json()["detail"]
    )


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares ``width x height`` and holds almost no data (a decompression bomb's
    header)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return len(body).to_bytes(4, "big") + kind + body + crc.to_bytes(4, "big")

    ihdr = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 0, 0, 0, 0])
    idat = zlib.compress(b"\0" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def test_a_decompression_bomb_is_refused_before_decoding(client):
    r = _submit(client, None, "superres", image=("bomb.png", _png_header_only(60000, 60000), "x"))
    assert r.status_code == 413 and "pixels" in r.json()["detail"]


def test_a_result_over_the_output_limit_is_refused_before_work():
    from fastapi.testclient import TestClient

    app = create_app(Settings(max_output_pixels=32 * 32 * 4 - 1))
    with TestClient(app) as c:
        png = _png(_astronaut())
        r = c.post(
            "/api/jobs",
            data={"task": "superres", "options": json.dumps({"scale": 2}), "model": "bicubic"},
            files={"image": ("a.png", png, "image/png")},
        )
        assert r.status_code == 413
        assert "the result would be 64x64 = 4,096 pixels" in r.json()["detail"]


def test_uploads_over_the_byte_limit_are_refused():
    from fastapi.testclient import TestClient

    app = create_app(Settings(max_upload_bytes=5_000))
    noise = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    png = _png(noise)  # about 12 kB: incompressible
    assert len(png) > 5_000
    with TestClient(app) as c:
        r = c.post(
            "/api/jobs",
            data={"task": "superres"},
            files={"image": ("noise.png", png, "image/png")},
        )
        assert r.status_code == 413 and "noise.png is over the upload limit" in r.json()["detail"]
        # a body far over the limit is refused from its Content-Length, before it is read
        r = c.post("/api/jobs", content=b"\0" * 200_000, headers={"content-type": "text/plain"})
        assert r.status_code == 413 and "over the limit" in r.json()["detail"]
        assert list(app.state.workdir.iterdir()) == []  # nothing refused was kept
    assert not app.state.workdir.exists()  # the server's folder goes when it stops


def test_the_client_file_name_never_reaches_the_file_system(client, photos, tmp_path):
    evil = "../../" + str(tmp_path / "evil.png")
    r = _submit(
        client,
        None,
        "superres",
        {"scale": 2},
        "bicubic",
        image=(evil, photos["rgb"].read_bytes(), "image/png"),
    )
    job = _wait(client, r.json()["id"])
    assert job["state"] == "done" and job["name"] == "evil.png"
    png = client.get(job["download"])
    assert png.headers["content-disposition"] == 'attachment; filename="evil_x2.png"'
    assert not (tmp_path / "evil.png").exists() and not (tmp_path / "evil_x2.png").exists()


# --- the queue: busy, cancel, expiry -------------------------------------------------------------
def test_a_full_queue_answers_busy_and_jobs_cancel(photos, negative_task):
    from fastapi.testclient import TestClient

    app = create_app(Settings(max_jobs=1, max_waiting=1))
    with TestClient(app) as c:
        running = _submit(c, photos["rgb"], "negative", {"hold": True})
        assert running.status_code == 202
        assert NegativeGate.entered.wait(TIMEOUT)  # the worker is inside the model's tiles
        waiting = _submit(c, photos["rgb"], "negative")
        assert waiting.status_code == 202 and waiting.json()["position"] == 0
        busy = _submit(c, photos["rgb"], "negative")
        assert busy.status_code == 503
        assert "busy" in busy.json()["detail"] and busy.headers["retry-after"] == "30"

        # a waiting job is cancelled at once and never runs
        r = c.post(f"/api/jobs/{waiting.json()['id']}/cancel")
        assert r.json()["state"] == "cancelled"
        # a running one stops at its next progress report
        job_id = running.json()["id"]
        r = c.post(f"/api/jobs/{job_id}/cancel")
        assert r.json()["state"] == "running" and r.json()["cancelling"]
        NegativeGate.release.set()
        assert _wait(c, job_id)["state"] == "cancelled"
        assert c.get(f"/api/jobs/{job_id}/result.png").status_code == 409

        # with room again, a job runs
        again = _submit(c, photos["rgb"], "negative")
        assert again.status_code == 202 and _wait(c, again.json()["id"])["state"] == "done"


def test_results_expire(photos):
    from fastapi.testclient import TestClient

    app = create_app(Settings(keep_seconds=1.5))
    with TestClient(app) as c:
        r = _submit(c, photos["rgb"], "superres", {"scale": 2}, "bicubic")
        job = _wait(c, r.json()["id"])
        assert c.get(job["result"]).status_code == 200
        time.sleep(1.7)
        assert c.get(f"/api/jobs/{job['id']}").status_code == 404
        gone = c.get(job["result"])
        assert gone.status_code == 404 and "kept for" in gone.json()["detail"]
        assert list(app.state.workdir.iterdir()) == []  # its upload and result are deleted


def test_a_job_can_be_forgotten_at_once(client, photos):
    r = _submit(client, photos["rgb"], "superres", {"scale": 2}, "bicubic")
    job = _wait(client, r.json()["id"])
    assert client.delete(f"/api/jobs/{job['id']}").status_code == 204
    assert client.get(job["result"]).status_code == 404
    assert client.delete(f"/api/jobs/{job['id']}").status_code == 404


def test_queue_keeps_at_most_max_kept_and_expires_by_its_clock():
    now = [0.0]
    expired = []
    q = JobQueue(workers=1, max_waiting=10, keep_seconds=100, max_kept=2, clock=lambda: now[0])
    q.start()
    try:
        jobs = []
        for i in range(3):
            jobs.append(q.submit(lambda job, i=i: i, on_expire=lambda i=i: expired.append(i)))
            deadline = time.monotonic() + TIMEOUT
            while jobs[-1].state != DONE and time.monotonic() < deadline:
                time.sleep(0.01)
            now[0] += 1
        q.sweep()
        assert expired == [0]  # the oldest beyond max_kept
        assert q.get(jobs[1].id).result == 1
        now[0] += 100
        q.sweep()
        assert sorted(expired) == [0, 1, 2] and q.get(jobs[2].id) is None
    finally:
        q.stop()


def test_queue_cancels_a_running_job_between_steps():
    q = JobQueue(workers=1, max_waiting=0)
    q.start()
    started = threading.Event()
    steps = []

    def work(job):
        for i in range(10_000):
            job.report(i, 10_000)
            steps.append(i)
            started.set()
            time.sleep(0.001)
        return "finished"

    try:
        job = q.submit(work)
        with pytest.raises(Busy):
            q.submit(work)
        assert started.wait(TIMEOUT)
        q.cancel(job.id)
        deadline = time.monotonic() + TIMEOUT
        while job.state != CANCELLED and time.monotonic() < deadline:
            time.sleep(0.01)
        assert job.state == CANCELLED and job.result is None and len(steps) < 10_000
    finally:
        q.stop()


# --- the host, and the command ---------------------------------------------------------------
def test_a_loopback_server_answers_only_to_loopback_names():
    from fastapi.testclient import TestClient

    app = create_app(Settings(allowed_hosts=LOOPBACK_HOSTS))
    with TestClient(app, base_url="http://127.0.0.1:8000") as c:
        assert c.get("/api/tasks").status_code == 200
        assert c.get("/api/tasks", headers={"host": "localhost:8000"}).status_code == 200
        assert c.get("/api/tasks", headers={"host": "evil.example"}).status_code == 400


def test_the_page_is_served_with_its_own_files_only(client):
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "default-src 'self'" in page.headers["content-security-policy"]
    for asset in ("/static/app.js", "/static/style.css"):
        assert asset in page.text and client.get(asset).status_code == 200
    assert "http://" not in page.text and "https://" not in page.text
    assert "https://" not in client.get("/static/app.js").text


def _serve(monkeypatch, *args):
    import uvicorn
    from click.testing import CliRunner

    from pixelsmith.web.command import serve_command

    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append((app, kw)))
    result = CliRunner().invoke(serve_command, list(args))
    assert result.exit_code == 0, result.output
    return result, calls


def test_serve_binds_to_this_machine_by_default(monkeypatch):
    result, calls = _serve(monkeypatch)
    ((app, kw),) = calls
    assert kw["host"] == "127.0.0.1" and kw["port"] == 8000
    assert "warning" not in result.stderr
    assert app.state.settings.allowed_hosts == LOOPBACK_HOSTS


def test_serve_warns_on_another_host(monkeypatch):
    result, calls = _serve(monkeypatch, "--host", "0.0.0.0", "--port", "8123", "--max-jobs", "2")
    ((app, kw),) = calls
    assert kw["host"] == "0.0.0.0" and kw["port"] == 8123
    assert "warning: serving on 0.0.0.0" in result.stderr
    assert app.state.settings.max_jobs == 2 and app.state.settings.allowed_hosts is None
