"""One web job through the API's own pieces, with each model loaded once.

What the CLI does for one file (:func:`pixelsmith.files.restore_files`): the task reads the file
(``task.read_file``: its ICC profile, alpha and bit depth kept), :func:`pixelsmith.api.restore_tensor`
runs the model over tiles with a ``progress`` callback, and :func:`pixelsmith.io.write_image`
writes the PNG atomically. The model comes from a small :class:`ModelCache` instead of being
loaded per job; a task with a ``mask`` field gets the uploaded (or painted) mask as a tensor.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pixelsmith.errors import PixelsmithError


class ModelCache:
    """The ``size`` models used last, each loaded once (by :func:`pixelsmith.api.resolve`),
    with a lock per model so that two workers never run one module at once."""

    def __init__(self, size: int = 3, device: str = "cpu") -> None:
        if size < 1:
            raise ValueError(f"a model cache holds at least one model, not {size}")
        self.size, self.device = size, device
        self._models: OrderedDict[tuple, tuple[Any, threading.Lock]] = OrderedDict()
        self._lock = threading.Lock()
        self.loads = 0  # how many times a model was loaded (for tests and the log)

    @staticmethod
    def key(task: Any, model: str | None) -> tuple:
        """What decides which network ``resolve`` loads: the task, the name, and the task's
        settings that choose weights (``pretrained_tag``) or build the architecture."""
        kwargs = tuple(sorted((k, repr(v)) for k, v in task.model_kwargs().items()))
        return (task.name, model or "", task.pretrained_tag(), kwargs)

    def get(self, task: Any, model: str | None) -> tuple[Any, threading.Lock]:
        """``(network, its lock)`` for ``task`` and the model name (``None``: the default)."""
        from pixelsmith.api import resolve
        from pixelsmith.infer import pick_device

        key = self.key(task, model)
        with self._lock:
            if key in self._models:
                self._models.move_to_end(key)
                return self._models[key]
            net, _ = resolve(model, task, pick_device(self.device))
            self.loads += 1
            self._models[key] = (net, threading.Lock())
            while len(self._models) > self.size:
                self._models.popitem(last=False)
            return self._models[key]


@dataclass
class WebJob:
    """A job as the page asked for it: the task by name with its parsed options, the model
    (``None``: the task's default), the stored upload (and mask), and where the result goes."""

    task: str
    options: dict[str, Any]
    model: str | None
    image: Path
    name: str  # the upload's name as the client gave it (cleaned): for messages only
    result: Path
    mask: Path | None = None
    shown: Path | None = None  # where to write the input as a person sees it (task.show_input)
    tile: int | None = None
    max_pixels: int | None = None


def build_task(job: WebJob, mask: Any = None) -> Any:
    """The task of ``job`` (with ``mask``, a hole tensor ``(1, H, W)``, when it takes one)."""
    from pixelsmith.tasks import get_task

    options = dict(job.options)
    if mask is not None:
        options["mask"] = mask
    return get_task(job.task, **options)


def run(job: WebJob, models: ModelCache, progress: Any) -> Path:
    """Restore ``job.image`` into ``job.result`` (PNG, 16-bit when the input was deeper than 8);
    ``progress(done, total)`` is called per batch of tiles and may raise to cancel.

    Raises :class:`~pixelsmith.errors.PixelsmithError` naming the upload (never a server path).
    """
    from pixelsmith.api import restore_tensor
    from pixelsmith.infer import pick_device
    from pixelsmith.io import read_image, write_image

    mask = None
    if job.mask is not None:
        try:
            mask, _ = read_image(job.mask, max_pixels=job.max_pixels)
        except PixelsmithError as e:
            raise PixelsmithError(e.reason, "the mask") from None
    try:
        task = build_task(job, mask)
        net, lock = models.get(task, job.model)
        progress(0, 0)
        image, meta = task.read_file(job.image)  # sizes were checked from the header
        with lock:
            out = restore_tensor(
                net,
                task,
                image,
                tile=job.tile,
                device=pick_device(models.device),
                progress=progress,
            )
        if job.shown is not None:  # a TIFF or a raw file: the page's "before" comes from here
            write_image(job.shown, task.show_input(image).clamp(0, 1), bit_depth=8)
        if meta.alpha is not None:
            meta.alpha = task.carry_alpha(meta.alpha)
        deep = meta.bit_depth > 8
        return write_image(job.result, out, meta=meta, bit_depth=16 if deep else 8)
    except PixelsmithError as e:
        raise PixelsmithError(e.reason, job.name if e.path else None) from None
