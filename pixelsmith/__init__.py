"""pixelsmith: restore and enhance photographs with convolutional networks.

Public API: :func:`upscale`, :func:`load_model`, :func:`evaluate`, :func:`train`,
:func:`create_model`. Every image is a float32 tensor ``(C, H, W)`` in [0, 1], sRGB.
"""

__version__ = "0.1.0"

from pixelsmith.api import evaluate, upscale  # noqa: E402
from pixelsmith.errors import PixelsmithError  # noqa: E402
from pixelsmith.models import create_model, list_models  # noqa: E402
from pixelsmith.train import TrainConfig, Trainer  # noqa: E402
from pixelsmith.weights import load_model  # noqa: E402


def train(config: TrainConfig, task) -> "object":
    """Train ``task``'s model as ``config`` says; returns the path of the final weight file."""
    return Trainer(config, task).run()


__all__ = [
    "PixelsmithError",
    "TrainConfig",
    "Trainer",
    "create_model",
    "evaluate",
    "list_models",
    "load_model",
    "train",
    "upscale",
    "__version__",
]
