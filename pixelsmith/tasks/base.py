"""The interface every task implements; the Trainer and the CLI rely on nothing else."""

from __future__ import annotations

from typing import Any, Protocol

import torch

from pixelsmith.data.photos import PhotoFolder


class Task(Protocol):
    name: str

    def options(self) -> dict[str, Any]:
        """The task's own settings (recorded in weight files)."""

    def model_kwargs(self) -> dict[str, Any]:
        """Constructor arguments the task imposes on the model (e.g. ``scale``)."""

    def crop_size(self, patch_size: int) -> int:
        """Side of the clean crop needed for a training patch of ``patch_size``."""

    def make_batch(self, photos: PhotoFolder, n: int, patch_size: int,
                   generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """Crop ``n`` clean patches and degrade them: ``(model input, target)``."""

    def loss(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Scalar training loss."""

    def evaluate(self, model: torch.nn.Module, data: str) -> dict[str, float]:
        """The task's metrics of ``model`` on a folder of clean images (mean over images)."""
