"""The server of ``pixelsmith serve``: the page, its task list, and jobs (FastAPI).

Routes (every answer but the page and the PNG is JSON; an error is ``{"detail": "one line"}``):

- ``GET /``: the page (``static/``: plain HTML, JS and CSS, nothing from elsewhere);
- ``GET /api/tasks``: the tasks the page offers, their options and models, and the limits;
- ``POST /api/jobs`` (multipart: ``image``, ``task``, ``options`` as JSON, ``model``, ``mask``):
  202 and the job; 400 a bad option or model, 413 an upload or result over the limits, 415 not an
  image, 503 busy (every worker busy and the waiting room full; ``Retry-After`` says when to try);
- ``GET /api/jobs/{id}``: state (queued, running, done, failed, cancelled), progress, message;
- ``POST /api/jobs/{id}/cancel``; ``DELETE /api/jobs/{id}`` (forget it and its files now);
- ``GET /api/jobs/{id}/result.png`` (``?download=1``: as an attachment named after the upload).

Uploads and results live in a temporary folder of the server's own, one sub-folder per job with
names the server chose; a finished job is forgotten after ``keep_seconds`` (then 404).
"""

from __future__ import annotations

import json
import secrets
import tempfile
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from pixelsmith.errors import PixelsmithError
from pixelsmith.web import catalog, runner
from pixelsmith.web.jobs import DONE, Busy, JobQueue
from pixelsmith.web.uploads import (
    BROWSER_FORMATS,
    RAW_FORMAT,
    Limits,
    UploadError,
    display_name,
    remove_folder,
    save_upload,
)

#: How an error message names each kind of upload a task takes (catalog.takes).
TAKES_WORDS = {"image": "an image", "raw": "a camera raw file"}

STATIC_DIR = Path(__file__).parent / "static"

#: Hosts a server bound to the loopback answers to (a DNS-rebinding page gets 400).
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")

#: Seconds a busy answer asks the client to wait.
RETRY_AFTER = 30

#: Room in a request beyond its files (the form fields and multipart headers).
FORM_OVERHEAD = 1 << 16

_SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}


@dataclass(frozen=True)
class Settings:
    """What ``pixelsmith serve`` sets: jobs run at once (``max_jobs``) and waiting, how long
    results are kept, upload and result limits, models kept loaded, the device and tile."""

    max_jobs: int = 1
    max_waiting: int = 4
    keep_seconds: float = 600.0
    max_kept: int = 32
    max_upload_bytes: int = 25 * 2**20
    max_pixels: int = 40_000_000
    max_output_pixels: int = 100_000_000
    models_cached: int = 3
    device: str = "cpu"
    tile: int | None = None
    allowed_hosts: tuple[str, ...] | None = None
    workdir: str | None = None  # where the server's temporary folder goes (default: the system's)

    @property
    def limits(self) -> Limits:
        return Limits(self.max_upload_bytes, self.max_pixels)


class BodyLimit:
    """ASGI middleware: a request body over ``max_bytes`` is answered 413 before it is all read
    (by its ``Content-Length``, or by counting a chunked body)."""

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            return await self._refuse(send)
        seen, started = 0, False

        async def counted() -> dict:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge
            return message

        async def sending(message: dict) -> None:
            nonlocal started
            started = True
            await send(message)

        try:
            await self.app(scope, counted, sending)
        except _TooLarge:
            if not started:
                await self._refuse(send)

    async def _refuse(self, send: Any) -> None:
        body = json.dumps({"detail": f"upload is over the limit of {self.max_bytes:,} bytes"})
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"connection", b"close")],
            }
        )
        await send({"type": "http.response.body", "body": body.encode()})


class _TooLarge(Exception):
    pass


def create_app(settings: Settings | None = None) -> FastAPI:
    """The FastAPI application; its job queue starts and stops with it (its lifespan)."""
    from pixelsmith.tasks import get_task

    settings = settings or Settings()
    queue = JobQueue(
        settings.max_jobs, settings.max_waiting, settings.keep_seconds, settings.max_kept
    )
    models = runner.PipelineCache(settings.models_cached, settings.device, settings.tile)
    state: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(app: Any):
        state["root"] = Path(tempfile.mkdtemp(prefix="pixelsmith-web-", dir=settings.workdir))
        app.state.workdir = state["root"]
        await run_in_threadpool(catalog.offered_tasks)  # a broken task fails here, not later
        queue.start()
        try:
            yield
        finally:
            queue.stop()
            remove_folder(state.pop("root"))

    app = FastAPI(title="pixelsmith", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.settings, app.state.queue, app.state.models = settings, queue, models
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    def error(status: int, message: str, **headers: str) -> Any:
        return JSONResponse({"detail": message}, status, headers=headers or None)

    def job_json(job: Any) -> dict[str, Any]:
        body = job.to_json(queue.position(job))
        if job.state == DONE:
            body["result"] = f"/api/jobs/{job.id}/result.png"
            body["download"] = f"/api/jobs/{job.id}/result.png?download=1"
            if job.info.get("shown"):
                body["input"] = f"/api/jobs/{job.id}/input.png"
        return body

    def _cleanup(folder: Path | None, response: Any) -> Any:
        if folder is not None:
            remove_folder(folder)
        return response

    def store(upload: UploadFile, folder: Path, stem: str, default: str) -> Any:
        name = display_name(upload.filename, default)
        return save_upload(upload.file, folder, stem, name, settings.limits)

    def gone() -> Any:
        minutes = settings.keep_seconds / 60
        return error(404, f"no such job: results are kept for {minutes:g} minutes, then removed")

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Any) -> Any:
        response = await call_next(request)
        response.headers.update(_SECURITY_HEADERS)
        if request.url.path.startswith("/api/"):
            response.headers["cache-control"] = "no-store"
        return response

    @app.get("/", include_in_schema=False)
    async def index() -> Any:
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html")

    @app.get("/api/tasks")
    async def tasks() -> dict[str, Any]:
        forms = await run_in_threadpool(catalog.offered_tasks)
        from pixelsmith.io import IMAGE_EXTENSIONS, RAW_EXTENSIONS

        return {
            "tasks": [f.to_json() for f in forms.values()],
            "limits": {
                "max_upload_bytes": settings.max_upload_bytes,
                "max_pixels": settings.max_pixels,
                "max_output_pixels": settings.max_output_pixels,
                "keep_seconds": settings.keep_seconds,
                "accept": sorted(IMAGE_EXTENSIONS | RAW_EXTENSIONS),
            },
        }

    @app.post("/api/jobs", response_model=None)
    async def submit(request: Request) -> Any:
        form = await request.form(max_files=2, max_fields=8, max_part_size=FORM_OVERHEAD)
        folder: Path | None = None
        try:
            asked = read_form(form, await run_in_threadpool(catalog.offered_tasks))
            task = await run_in_threadpool(lambda: get_task(asked.task, **asked.options))
            folder = state["root"] / secrets.token_hex(8)
            folder.mkdir()
            photo = await run_in_threadpool(store, asked.image, folder, "input", "image")
            hole = None
            if asked.mask is not None:
                hole = await run_in_threadpool(store, asked.mask, folder, "mask", "mask")
            kind = "raw" if photo.format == RAW_FORMAT else "image"
            if kind not in asked.page.takes:
                wanted = " or ".join(TAKES_WORDS[k] for k in asked.page.takes)
                raise UploadError(
                    f"{photo.name} is {TAKES_WORDS[kind]}; the {asked.task} task takes {wanted}",
                    415,
                )
            check_result_size(task, photo.name, photo.size, settings.max_output_pixels)
            web_job = runner.WebJob(
                task=asked.task,
                options=asked.options,
                model=asked.model,
                image=photo.path,
                name=photo.name,
                result=folder / "result.png",
                shown=None if photo.format in BROWSER_FORMATS else folder / "shown.png",
                mask=None if hole is None else hole.path,
                max_pixels=settings.max_pixels,
            )
            job = queue.submit(
                lambda job: runner.run(web_job, models, job.report),
                on_expire=lambda f=folder: remove_folder(f),
                info={
                    "task": asked.task,
                    "model": asked.model or asked.page.default_model,
                    "name": photo.name,
                    "size": list(photo.size),
                    "filename": f"{Path(photo.name).stem}{task.output_suffix()}.png",
                    "shown": web_job.shown is not None,
                },
            )
        except UploadError as e:
            return _cleanup(folder, error(e.status, str(e)))
        except Busy as e:
            return _cleanup(folder, error(503, str(e), **{"retry-after": str(RETRY_AFTER)}))
        except (PixelsmithError, TypeError, ValueError) as e:
            return _cleanup(folder, error(400, str(e)))
        finally:
            await form.close()
        return JSONResponse(job_json(job), 202)

    @app.get("/api/jobs/{job_id}")
    async def status(job_id: str) -> Any:
        job = queue.get(job_id)
        return gone() if job is None else job_json(job)

    @app.post("/api/jobs/{job_id}/cancel")
    async def cancel(job_id: str) -> Any:
        job = queue.cancel(job_id)
        return gone() if job is None else job_json(job)

    @app.delete("/api/jobs/{job_id}", response_model=None)
    async def forget(job_id: str) -> Any:
        return Response(status_code=204) if queue.forget(job_id) else gone()

    @app.get("/api/jobs/{job_id}/result.png")
    async def result(job_id: str, download: int = 0) -> Any:
        job = queue.get(job_id)
        if job is None:
            return gone()
        if job.state != DONE:
            return error(409, f"the job is {job.state}, it has no result")
        return FileResponse(
            job.result,
            media_type="image/png",
            filename=job.info["filename"],
            content_disposition_type="attachment" if download else "inline",
        )

    @app.get("/api/jobs/{job_id}/input.png")
    async def shown_input(job_id: str) -> Any:
        """The upload as the server shows it, for one the browser cannot (a TIFF, a raw file:
        the task's ``show_input``)."""
        job = queue.get(job_id)
        if job is None:
            return gone()
        if job.state != DONE or not job.info.get("shown"):
            return error(409, "this job has no input image of the server's")
        return FileResponse(Path(job.result).with_name("shown.png"), media_type="image/png")

    app.add_middleware(BodyLimit, max_bytes=2 * settings.max_upload_bytes + FORM_OVERHEAD)
    if settings.allowed_hosts:
        from starlette.middleware.trustedhost import TrustedHostMiddleware

        app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(settings.allowed_hosts))
    return app


@dataclass
class Asked:
    """What a job request asks for, checked: the task and its page form, its options, the model
    (``None``: the default), the uploaded photo and mask (not yet stored)."""

    task: str
    page: catalog.TaskForm
    options: dict[str, Any]
    model: str | None
    image: UploadFile
    mask: UploadFile | None


def read_form(form: Any, forms: dict[str, catalog.TaskForm]) -> Asked:
    """The multipart form of ``POST /api/jobs`` -> :class:`Asked`, or a one-line
    :class:`~pixelsmith.errors.PixelsmithError` (answered 400)."""
    name = str(form.get("task") or "")
    if name not in forms:
        raise PixelsmithError(f"unknown task {name!r}; the page offers {', '.join(forms)}")
    page = forms[name]
    try:
        given = json.loads(str(form.get("options") or "{}"))
    except ValueError:
        raise PixelsmithError("options are not JSON") from None
    options = page.parse_options(given)
    model = page.check_model(str(form.get("model") or ""))
    image, mask = form.get("image"), form.get("mask")
    if not isinstance(image, UploadFile):
        raise PixelsmithError("no image: send the photo as the form's image file")
    if mask is not None and not isinstance(mask, UploadFile):
        raise PixelsmithError("the mask is a file (a PNG, white = hole)")
    if mask is not None and not page.mask:
        raise PixelsmithError(f"the {name} task takes no mask")
    return Asked(name, page, options, model, image, mask)


def check_result_size(task: Any, name: str, size: tuple[int, int], limit: int) -> None:
    """Refuse (413) an upload of ``size`` ``(width, height)`` whose result would be over
    ``limit`` pixels (SR x4 of a large photo), before any work."""
    from pixelsmith.pipeline import check_output_size

    w, h = size
    try:
        check_output_size(task, (1, h, w), limit)
    except PixelsmithError as e:
        reason = e.reason.split(" (raise it")[0].replace("the limit", "this server's limit")
        raise UploadError(f"{name}: {reason}", 413) from None
