"""``pixelsmith serve``: the web page on this machine (FastAPI and uvicorn, imported on use)."""

from __future__ import annotations

import ipaddress

import click

from pixelsmith.errors import PixelsmithError
from pixelsmith.options import device_option, max_output_pixels_option, tile_option


def is_loopback(host: str) -> bool:
    """Whether ``host`` is this machine only (``127.0.0.1``, ``::1``, ``localhost``)."""
    if host.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@click.command("serve")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on. Anything but this machine (127.0.0.1) lets others use the page.",
)
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.option(
    "--max-jobs",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Jobs run at once (each holds one image's work in memory).",
)
@click.option(
    "--max-waiting",
    type=click.IntRange(min=0),
    default=4,
    show_default=True,
    help="Jobs that may wait; beyond that the page answers 'busy'.",
)
@click.option(
    "--keep",
    "keep_minutes",
    type=click.FloatRange(min=0, min_open=True),
    default=10.0,
    show_default=True,
    help="Minutes a result is kept before it is deleted.",
)
@click.option(
    "--max-upload-mb",
    type=click.FloatRange(min=0, min_open=True),
    default=25.0,
    show_default=True,
    help="Largest upload, in megabytes.",
)
@click.option(
    "--max-pixels",
    type=click.IntRange(min=1),
    default=40_000_000,
    show_default=True,
    help="Largest photo (width x height), read from its header before decoding.",
)
@max_output_pixels_option("results", default=100_000_000)
@click.option(
    "--models-cached",
    type=click.IntRange(min=1),
    default=3,
    show_default=True,
    help="Models kept loaded between jobs.",
)
@device_option
@tile_option()
def serve_command(
    host: str,
    port: int,
    max_jobs: int,
    max_waiting: int,
    keep_minutes: float,
    max_upload_mb: float,
    max_pixels: int,
    max_output_pixels: int,
    models_cached: int,
    device: str,
    tile: int | None,
) -> None:
    """Serve the web page: upload a photo, pick a task, compare, download."""
    try:
        import fastapi  # noqa: F401
        import uvicorn
    except ImportError:
        raise PixelsmithError(
            "pixelsmith serve needs FastAPI and uvicorn: pip install 'pixelsmith[web]'"
        ) from None
    from pixelsmith.infer import check_tile
    from pixelsmith.web.app import LOOPBACK_HOSTS, Settings, create_app

    check_tile(tile)
    local = is_loopback(host)
    if not local:
        click.echo(
            f"pixelsmith: warning: serving on {host}, not only this machine: anyone who can reach "
            "it can upload photos and use its processor; the page has no login",
            err=True,
        )
    settings = Settings(
        max_jobs=max_jobs,
        max_waiting=max_waiting,
        keep_seconds=keep_minutes * 60,
        max_upload_bytes=int(max_upload_mb * 2**20),
        max_pixels=max_pixels,
        max_output_pixels=max_output_pixels,
        models_cached=models_cached,
        device=device,
        tile=tile,
        allowed_hosts=LOOPBACK_HOSTS if local else None,
    )
    app = create_app(settings)
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"pixelsmith: the page is at http://{shown}:{port}/ (Ctrl+C stops)", err=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")
