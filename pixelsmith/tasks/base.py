"""The interface every task implements; the Trainer and the CLI rely on nothing else."""

from __future__ import annotations

from typing import Any, Protocol

import torch


class Task(Protocol):
    name: str

    def options(self) -> dict[str, Any]:
        """The task's own settings (recorded in weight files)."""

    def model_kwargs(self) -> dict[str, Any]:
        """Constructor arguments the task imposes on the model (e.g. ``scale``)."""

    def load_data(self, sources: list[str], patch_size: int, cache: bool = True) -> Any:
        """The training data (for image tasks a :class:`PhotoFolder`, in RAM when ``cache``)."""

    def make_batch(
        self, data: Any, n: int, patch_size: int, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``n`` training pairs ``(model input, target)``, a pure function of ``generator``'s state:
        for image tasks, clean crops and their degraded versions."""

    def loss(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Scalar training loss."""

    def evaluate(self, model: torch.nn.Module, data: str) -> dict[str, float]:
        """The task's metrics of ``model`` on a folder of clean images (mean over images)."""
