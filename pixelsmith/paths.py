"""Where pixelsmith finds shared data and its shipped weights."""

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
