"""Classification: faces vs non-faces, a small labelled set to train a ConvNet and look inside it.

The data is scikit-image's ``skimage.data.lfw_subset()`` (installed with scikit-image, no download):
200 grey 25x25 images, the first 100 faces from Labeled Faces in the Wild, the last 100 non-face
patches. A fixed permutation splits each class 75 / 25, so training sees 150 images and the held-out
set is 50 (25 faces, 25 non-faces). Labels: 1 = face, 0 = non-face.

Unlike the restoration tasks there is no degradation; the task fits the same Trainer through the
same protocol (:class:`pixelsmith.tasks.Task`): ``make_batch`` draws augmented training images,
``loss`` is cross-entropy, ``evaluate`` reports held-out accuracy and loss.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import nn
from torch.nn import functional as F

from pixelsmith.errors import PixelsmithError
from pixelsmith.models import model_device
from pixelsmith.tasks.base import Batch, Task, option

DATASET = "lfw_subset"
CLASSES = ("non-face", "face")
IMAGE_SIZE = 25
HELD_OUT_PER_CLASS = 25
SPLIT_SEED = 0


@dataclass
class FacesData:
    """The split data set: images ``(N, 1, 25, 25)`` float32 in [0, 1], labels ``(N,)`` int64."""

    train_images: torch.Tensor
    train_labels: torch.Tensor
    test_images: torch.Tensor
    test_labels: torch.Tensor


def load_lfw_subset() -> FacesData:
    """``skimage.data.lfw_subset()`` split deterministically: 150 training, 50 held-out images."""
    from skimage import data

    images = torch.from_numpy(data.lfw_subset()).float()[:, None]  # (200, 1, 25, 25)
    labels = torch.cat([torch.ones(100), torch.zeros(100)]).long()
    g = torch.Generator().manual_seed(SPLIT_SEED)
    train, test = [], []
    for start in (0, 100):
        order = start + torch.randperm(100, generator=g)
        train.append(order[HELD_OUT_PER_CLASS:])
        test.append(order[:HELD_OUT_PER_CLASS])
    train_idx, test_idx = torch.cat(train).sort().values, torch.cat(test).sort().values
    return FacesData(images[train_idx], labels[train_idx], images[test_idx], labels[test_idx])


def _check_source(source: str) -> None:
    if source != DATASET:
        raise PixelsmithError(
            f"the classify task trains on {DATASET!r} (scikit-image's faces vs "
            f"non-faces); got {source!r}"
        )


def augment(images: torch.Tensor, generator: torch.Generator, max_shift: int = 2) -> torch.Tensor:
    """Random horizontal flips and shifts of up to ``max_shift`` pixels (borders replicated).

    ``(n, C, H, W)`` -> same; a pure function of ``images`` and ``generator``'s state.
    """
    n, _, h, w = images.shape
    flip = torch.rand(n, generator=generator) < 0.5
    shifts = torch.randint(0, 2 * max_shift + 1, (n, 2), generator=generator)
    images = torch.where(flip[:, None, None, None], images.flip(-1), images)
    padded = F.pad(images, (max_shift,) * 4, mode="replicate")
    rows = shifts[:, 0, None] + torch.arange(h)  # (n, H)
    cols = shifts[:, 1, None] + torch.arange(w)  # (n, W)
    b = torch.arange(n)[:, None, None]
    return padded.permute(0, 2, 3, 1)[b, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)


@dataclass
class FacesTask(Task):
    """Faces vs non-faces on ``lfw_subset``, for ``smallconvnet``.

    The only accepted data source (``--data`` and ``--val-data``) is ``"lfw_subset"``; an empty
    list of sources means the same. ``patch_size`` is ignored: the images are 25x25.
    """

    max_shift: int = option(2, use="training")

    name: ClassVar[str] = "classify"
    title: ClassVar[str] = "classification"
    default_model: ClassVar[str] = "smallconvnet"
    example_shape: ClassVar[tuple[int, int, int]] = (1, IMAGE_SIZE, IMAGE_SIZE)
    inputs: ClassVar[tuple[str, ...]] = ()  # it labels a face; it makes no image
    train_defaults: ClassVar[dict[str, Any]] = {
        "model": "smallconvnet",
        "data": [DATASET],
        "val_data": DATASET,
        "out": "runs/classify",
        "steps": 500,
        "batch_size": 32,
        "lr": 3e-3,
        "warmup_steps": 50,
        "weight_decay": 1e-4,
        "val_every": 100,
        "ckpt_every": 100,
    }

    def __post_init__(self) -> None:
        self._data: FacesData | None = None

    def options(self) -> dict[str, Any]:
        return {"data": DATASET, "max_shift": self.max_shift}

    @property
    def data(self) -> FacesData:
        if self._data is None:
            self._data = load_lfw_subset()
        return self._data

    def load_data(
        self, sources: list[str], patch_size: int = IMAGE_SIZE, cache: bool = True
    ) -> FacesData:
        for s in sources:
            _check_source(str(s))
        return self.data

    def make_batch(
        self, data: FacesData, n: int, patch_size: int, generator: torch.Generator
    ) -> Batch:
        """``Batch(inputs=(images (n, 1, 25, 25),), target=labels (n,))``: random training
        images, flipped and shifted."""
        idx = torch.randint(len(data.train_labels), (n,), generator=generator)
        images = augment(data.train_images[idx], generator, self.max_shift)
        return Batch((images,), data.train_labels[idx])

    def loss(self, prediction: torch.Tensor, batch: Batch) -> torch.Tensor:
        """Cross-entropy of logits ``(n, 2)`` against labels ``(n,)``."""
        return F.cross_entropy(prediction, batch.target)

    def pretrained_tag(self) -> str:
        """The shipped weights' tag: ``smallconvnet`` (the default model) is
        ``smallconvnet.faces``."""
        return "faces"

    @torch.no_grad()
    def evaluate(self, model: nn.Module, data: str = DATASET) -> dict[str, float]:
        """Held-out ``accuracy`` (fraction in [0, 1]) and mean cross-entropy ``loss``, 50 images."""
        _check_source(str(data))
        d = self.data
        was_training = model.training
        model.eval()
        try:
            device = model_device(model)
            logits = model(d.test_images.to(device)).float().cpu()
        finally:
            model.train(was_training)
        return {
            "accuracy": (logits.argmax(1) == d.test_labels).float().mean().item(),
            "loss": F.cross_entropy(logits, d.test_labels).item(),
        }
