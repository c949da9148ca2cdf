"""One web job through a Pipeline, with each Pipeline loaded once.

What the CLI does for one file: :meth:`Pipeline.read` (the task reads the upload: its ICC
profile, alpha and bit depth kept), :meth:`Pipeline.run` over tiles with a ``progress``
callback, :meth:`Pipeline.write` (atomic PNG, with its mark). The Pipelines come from a small
:class:`PipelineCache` instead of being loaded per job; a task that declares a ``mask`` input
gets the uploaded (or painted) mask.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pixelsmith.errors import PixelsmithError
from pixelsmith.pipeline import Pipeline


class PipelineCache:
    """The ``size`` Pipelines used last, each loaded once (:meth:`Pipeline.load`); a job with
    other options of the same network gets it through :meth:`Pipeline.with_options`."""

    def __init__(self, size: int = 3, device: str = "cpu", tile: int | None = None) -> None:
        if size < 1:
            raise ValueError(f"a model cache holds at least one model, not {size}")
        self.size, self.device, self.tile = size, device, tile
        self._pipes: OrderedDict[tuple, Pipeline] = OrderedDict()
        self._lock = threading.Lock()
        self.loads = 0  # how many times a model was loaded (for tests and the log)

    @staticmethod
    def key(task: Any, model: str | None) -> tuple:
        """What decides which network is loaded: the task, the name, and the task's settings
        that choose weights (``pretrained_tag``) or build the architecture."""
        kwargs = tuple(sorted((k, repr(v)) for k, v in task.model_kwargs().items()))
        return (task.name, model or "", task.pretrained_tag(), kwargs)

    def get(self, task_name: str, options: dict[str, Any], model: str | None) -> Pipeline:
        """The Pipeline of the task ``task_name`` with ``options`` and the model (``None``: the
        default), loading the network only when no cached Pipeline holds it."""
        from pixelsmith.tasks import get_task

        task = get_task(task_name, **options)
        key = self.key(task, model)
        with self._lock:
            if key in self._pipes:
                self._pipes.move_to_end(key)
                return self._pipes[key].with_options(**options)
            pipe = Pipeline.load(task, model, device=self.device, tile=self.tile)
            self.loads += 1
            self._pipes[key] = pipe
            while len(self._pipes) > self.size:
                self._pipes.popitem(last=False)
            return pipe


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
    max_pixels: int | None = None


def run(job: WebJob, pipes: PipelineCache, progress: Any) -> Path:
    """Restore ``job.image`` into ``job.result`` (PNG, 16-bit when the input was deeper than 8);
    ``progress(done, total)`` is called per batch of tiles and may raise to cancel.

    Raises :class:`~pixelsmith.errors.PixelsmithError` naming the upload (never a server path).
    """
    from pixelsmith.io import read_image, write_image
    from pixelsmith.io.mark import fingerprint

    inputs = {}
    if job.mask is not None:
        try:
            inputs["mask"], _ = read_image(job.mask, max_pixels=job.max_pixels)
        except PixelsmithError as e:
            raise PixelsmithError(e.reason, "the mask") from None
    try:
        pipe = pipes.get(job.task, job.options, job.model)
        progress(0, 0)
        image, meta = pipe.read(job.image, **inputs)  # sizes were checked from the header
        out = pipe.run(image, progress=progress)
        if job.shown is not None:  # a TIFF or a raw file: the page's "before" comes from here
            write_image(job.shown, pipe.task.show_input(image).clamp(0, 1), bit_depth=8)
        mark = pipe.mark(fingerprint(job.image, inputs))
        return pipe.write(job.result, out, meta, mark=mark)
    except PixelsmithError as e:
        raise PixelsmithError(e.reason, job.name if e.path else None) from None
