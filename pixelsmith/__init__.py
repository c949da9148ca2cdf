"""pixelsmith: restore and enhance photographs with convolutional networks.

Public API (imported on first use, so ``import pixelsmith`` and ``pixelsmith --help`` stay fast):

- :func:`restore` — any task on one image; :func:`upscale`, :func:`colorize`, :func:`enhance`,
  :func:`develop_raw` and :func:`inpaint` name its tasks;
- :class:`Pipeline` — a task and its model loaded once, called per photo (what every front end
  builds); :func:`restore_files` — files in, files out, for every task (what the CLI verbs call);
- :func:`evaluate` — a model by its task's standard protocol;
- :func:`load_model` — the one resolver: ``"lrnet_s.x3"``, ``"lrnet"`` + a task, a file;
- :func:`create_model`, :func:`list_models`, :func:`list_pretrained`, :func:`get_task`;
- :func:`train`, :class:`TrainConfig`, :class:`Trainer`; :class:`PixelsmithError`.

Images are what users hold: a path, a PIL image, a NumPy array ``(H, W[, C])`` or a tensor
``(C, H, W)`` in [0, 1]; each function returns the kind it was given.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pixelsmith.errors import PixelsmithError
from pixelsmith.lazy import lazy_getattr
from pixelsmith.version import __version__

_LAZY = {
    "restore": "pixelsmith.api",
    "upscale": "pixelsmith.api",
    "colorize": "pixelsmith.api",
    "enhance": "pixelsmith.api",
    "develop_raw": "pixelsmith.api",
    "inpaint": "pixelsmith.api",
    "evaluate": "pixelsmith.api",
    "train": "pixelsmith.api",
    "restore_files": "pixelsmith.batch.run",
    "RunReport": "pixelsmith.batch.run",
    "Pipeline": "pixelsmith.pipeline",
    "load_model": "pixelsmith.resolver",
    "list_pretrained": "pixelsmith.weights",
    "create_model": "pixelsmith.models",
    "list_models": "pixelsmith.models",
    "get_task": "pixelsmith.tasks",
    "TrainConfig": "pixelsmith.config",
    "Trainer": "pixelsmith.trainer",
}

if TYPE_CHECKING:
    from pixelsmith.api import (  # noqa: F401
        colorize,
        develop_raw,
        enhance,
        evaluate,
        inpaint,
        restore,
        train,
        upscale,
    )
    from pixelsmith.batch.run import RunReport, restore_files  # noqa: F401
    from pixelsmith.config import TrainConfig  # noqa: F401
    from pixelsmith.models import create_model, list_models  # noqa: F401
    from pixelsmith.pipeline import Pipeline  # noqa: F401
    from pixelsmith.resolver import load_model  # noqa: F401
    from pixelsmith.tasks import get_task  # noqa: F401
    from pixelsmith.trainer import Trainer  # noqa: F401
    from pixelsmith.weights import list_pretrained  # noqa: F401


__getattr__ = lazy_getattr(__name__, _LAZY)


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])


__all__ = ["PixelsmithError", "__version__", *_LAZY]
