"""The real server in a background thread on a free localhost port: for the browser test and
the screenshot script (``benchmarks/web_screenshots.py``)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from pixelsmith.web.app import LOOPBACK_HOSTS, Settings, create_app


@dataclass(frozen=True)
class Served:
    """A server running in the background: where it is and its application."""

    url: str
    app: Any


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on now (the OS picks it)."""
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


@contextmanager
def serve_in_thread(settings: Settings | None = None, timeout: float = 30.0) -> Iterator[Served]:
    """Run ``pixelsmith serve``'s app with uvicorn on 127.0.0.1 in a thread; yields it (its URL,
    ``http://127.0.0.1:PORT``, and the app) once it answers, and stops it on exit."""
    from dataclasses import replace

    import uvicorn

    settings = replace(settings or Settings(), allowed_hosts=LOOPBACK_HOSTS)
    port = free_port()
    app = create_app(settings)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="pixelsmith-web-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"the web server did not start on port {port}")
        time.sleep(0.02)
    try:
        yield Served(f"http://127.0.0.1:{port}", app)
    finally:
        server.should_exit = True
        thread.join(timeout)
