"""Where pixelsmith finds shared data and its shipped weights, and keeps its cache."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
PRETRAINED_DIR = PACKAGE_DIR / "pretrained"


def data_dir() -> Path | None:
    """The shared benchmark/training data folder, or ``None`` when it is not available.

    ``$PIXELSMITH_DATA`` wins; otherwise ``../shared/data`` beside the repository checkout.
    """
    env = os.environ.get("PIXELSMITH_DATA")
    candidates = [Path(env)] if env else []
    candidates.append(PACKAGE_DIR.parent.parent / "shared" / "data")
    for c in candidates:
        if c.is_dir():
            return c
    return None


def cache_dir() -> Path | None:
    """Where pixelsmith keeps what it can make again (the exports that ``backend="auto"``
    runs): ``$PIXELSMITH_CACHE``, else ``$XDG_CACHE_HOME/pixelsmith``, else
    ``~/.cache/pixelsmith``; ``None`` when ``$PIXELSMITH_CACHE`` is empty or ``off``."""
    env = os.environ.get("PIXELSMITH_CACHE")
    if env is not None:
        return None if env.strip().lower() in ("", "off", "0", "none") else Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "pixelsmith"
