"""The Pipeline: one task, its network and how it runs, built once and called per photo.

Every front end builds one and calls it; none wires the inference session itself:

    pipe = Pipeline.load("inpaint", "pconv", device="auto", tile=512)   # task, checks, model once
    result = pipe(photo, mask=hole)                # any kind of image in, the same kind back
    pipe.restore_file("photo.jpg", "photo_inpainted.png", mask="hole.png")

``pipe(image, **inputs)``: ``task.as_input`` -> ``task.prepare`` -> tiles through the network
and ``task.decode`` (:func:`pixelsmith.infer.run_tiled`) -> ``task.finish`` -> the kind given,
alpha carried by the task. ``inputs`` are what ``task.inputs`` declares beside the photo (the
inpainting hole); options are settings, fixed at :meth:`Pipeline.load`. :meth:`read` and
:meth:`write` are the two halves of :meth:`restore_file`, which the files engine
(:mod:`pixelsmith.batch`) runs on separate threads; every file written carries a mark
(:meth:`mark`) that says what made it.
"""

from __future__ import annotations

import dataclasses
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from pixelsmith.errors import PixelsmithError
from pixelsmith.io import DEFAULT_MAX_PIXELS
from pixelsmith.models import ModelSpec, model_spec

if TYPE_CHECKING:
    from pixelsmith.io.meta import ImageMeta
    from pixelsmith.resolver import Model
    from pixelsmith.tasks.base import Task
    from pixelsmith.weights import WeightInfo

#: The largest result a Pipeline makes, in pixels, unless ``max_output_pixels`` says otherwise.
DEFAULT_MAX_OUTPUT_PIXELS = DEFAULT_MAX_PIXELS


def check_limit(limit: int | None) -> int:
    """``max_output_pixels`` as given (positive) or the default."""
    if limit is None:
        return DEFAULT_MAX_OUTPUT_PIXELS
    if isinstance(limit, bool) or not isinstance(limit, int) or limit <= 0:
        raise ValueError(f"max_output_pixels must be a positive int, not {limit!r}")
    return limit


def check_output_size(
    task: Task, shape: tuple[int, ...], limit: int | None, path: Path | None = None
) -> None:
    """Refuse a result of ``task`` over ``limit`` pixels for an input of ``shape`` ``(C, H,
    W)``, before any work (a small file can ask for 14 GB): the one size check of every front
    end (the web page answers it with 413)."""
    limit = check_limit(limit)
    _, h, w = task.output_shape(tuple(shape))
    if h * w > limit:
        raise PixelsmithError(
            f"the result would be {w}x{h} = {h * w:,} pixels, over the limit of {limit:,} "
            "(raise it with --max-output-pixels or max_output_pixels=)",
            path,
        )


@dataclass
class Pipeline:
    """A task bound to its network, with the device, precision, tiling and size limit it runs
    with. Build it with :meth:`load`; it is safe to call from several threads (one call runs
    the network at a time).

    Attributes:
        task: the task, bound to ``net`` (``task.bind``), with its options.
        net: the network (or its export, run by ONNX Runtime or TorchScript).
        info: what the weight file says (``None`` for a module given in memory).
        device: where the network runs; images stay on the CPU between tiles.
        bf16: run the network in bfloat16 (autocast).
        tile: the core tile side (``None``: the default; 0: whole image).
        max_output_pixels: results larger than this are refused before any work.
        model_name, weights: what the marks record of the model (its tag or file name, the
            SHA-256 prefix of its weights).
    """

    task: Task
    net: nn.Module
    info: WeightInfo | None = None
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    bf16: bool = False
    tile: int | None = None
    max_output_pixels: int = DEFAULT_MAX_OUTPUT_PIXELS
    model_name: str = ""
    weights: str = ""
    _spec: ModelSpec | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def load(
        cls,
        task: str | Task,
        model: Model = None,
        *,
        device: str | torch.device = "auto",
        backend: str | None = None,
        bf16: bool = False,
        tile: int | None = None,
        max_output_pixels: int | None = None,
        **options: Any,
    ) -> Pipeline:
        """The task (a name with its ``options``, or a task object), checked; the device; the
        model through the one resolver (:func:`pixelsmith.resolver.resolve`: a name, a file, a
        module, ``None`` for the task's default); the engine that runs it (``backend``:
        ``"torch"``, ``"onnxruntime"``, ``"torchscript"``, ``"auto"``; ``None``:
        ``$PIXELSMITH_BACKEND``, else ``"auto"``: ONNX Runtime for a network on the CPU in float32,
        :func:`pixelsmith.export.backend.with_backend`); the task bound to it.

        Raises:
            PixelsmithError: an unknown task, model or device; a model of another task.
            TypeError: an option the task does not take, or of the wrong type.
        """
        from pixelsmith.devices import pick_device
        from pixelsmith.export.backend import backend_for, with_backend
        from pixelsmith.infer import check_tile
        from pixelsmith.resolver import resolve, weights_mark
        from pixelsmith.tasks import get_task

        task = get_task(task, **options)
        if not task.inputs:
            raise PixelsmithError(f"the {task.name} task does not restore images")
        check_tile(tile)
        limit = check_limit(max_output_pixels)
        dev = device if isinstance(device, torch.device) else pick_device(device)
        net, info = resolve(model, task, dev)
        name, digest = weights_mark(model, info, net)
        net = with_backend(net, task, backend_for(backend, bf16), dev).to(dev)
        return cls(task.bind(net), net, info, dev, bf16, tile, limit, name, digest, model_spec(net))

    def with_options(self, **options: Any) -> Pipeline:
        """This Pipeline with other task options, sharing the loaded network (and its lock).
        Options that choose the weights or build the network (``scale``) must not change."""
        from pixelsmith.tasks import get_task

        task = get_task(self.task.name, **options)
        if (task.pretrained_tag(), task.model_kwargs()) != (
            self.task.pretrained_tag(),
            self.task.model_kwargs(),
        ):
            raise ValueError("these options choose another network: load another Pipeline")
        task.check_model(self.spec)
        return dataclasses.replace(self, task=task.bind(self.net), _lock=self._lock)

    @property
    def spec(self) -> ModelSpec:
        if self._spec is None:
            self._spec = model_spec(self.net)
        return self._spec

    @property
    def inputs(self) -> tuple[str, ...]:
        """What one call takes per photo, the photo first (``task.inputs``)."""
        return self.task.inputs

    # --- one photo in memory ------------------------------------------------------------------
    def check_inputs(self, inputs: dict[str, Any]) -> None:
        """Refuse a per-photo input the task does not declare (``TypeError``)."""
        extra = self.inputs[1:]
        for name in inputs:
            if name not in extra:
                takes = ", ".join(extra) if extra else "nothing"
                raise TypeError(
                    f"the {self.task.name} task takes {takes} beside the photo, not {name!r}"
                )

    def read_inputs(self, **inputs: Any) -> dict[str, Any]:
        """The per-photo inputs beside the photo, each read once (a mask's path into its hole):
        what a run over many photos with the same inputs reads before any work."""
        self.check_inputs(inputs)
        return self.task.read_inputs(**{k: v for k, v in inputs.items() if v is not None})

    def __call__(self, image: Any, *, progress: Any = False, **inputs: Any) -> Any:
        """Restore ``image`` (a path, PIL image, NumPy array ``(H, W[, C])`` or tensor
        ``(C, H, W)`` in [0, 1]; a raw file's path for a raw task) with the per-photo ``inputs``
        the task declares (``mask=``); returns the kind given, alpha carried through.
        ``progress``: a bar (``True``) or a callback ``(done, total)``."""
        self.check_inputs(inputs)
        given_inputs = {k: v for k, v in inputs.items() if v is not None}
        pixels, alpha, given = self.task.as_input(image, **given_inputs)
        self.check_size(tuple(pixels.shape))
        out = self.run(pixels, progress=progress)
        return given.give_back(out, None if alpha is None else self.task.carry_alpha(alpha))

    def check_size(self, shape: tuple[int, ...], path: Path | None = None) -> None:
        """Refuse a result over :attr:`max_output_pixels` for an input of ``shape`` ``(C, H,
        W)``, before any work (:func:`check_output_size`)."""
        check_output_size(self.task, shape, self.max_output_pixels, path)

    @torch.no_grad()
    def run(self, prepared_input: Any, *, progress: Any = False) -> torch.Tensor:
        """The network on one input as ``task.as_input`` gives it (an image ``(C, H, W)``
        float32 in [0, 1], a masked image, a raw frame): prepare, tiles, decode, finish.
        Returns the result ``(C', H', W')`` float32 on the CPU."""
        from pixelsmith.infer import run_tiled

        prepared = self.task.prepare(prepared_input, self.spec)
        with self._lock:
            return run_tiled(
                self.net,
                prepared,
                self.task,
                tile=self.tile,
                device=self.device,
                autocast=torch.bfloat16 if self.bf16 else None,
                out_dtype=torch.float32,
                progress=progress,
            )

    # --- files --------------------------------------------------------------------------------
    def read(self, src: str | os.PathLike[str], **inputs: Any) -> tuple[Any, ImageMeta]:
        """``task.read_file(src, **inputs)``: ``(input, what writing keeps of the file)``,
        after refusing a result over the limit from the file's header where Pillow can tell
        its size, before decoding it."""
        src = Path(src)
        self.check_inputs(inputs)
        size = _header_size(src)
        if size:
            self.check_size((1, *size), src)
        given_inputs = {k: v for k, v in inputs.items() if v is not None}
        img, meta = self.task.read_file(src, **given_inputs)
        if not size:
            self.check_size(tuple(img.shape), src)
        return img, meta

    def write(
        self,
        dst: str | os.PathLike[str],
        result: torch.Tensor,
        meta: ImageMeta | None,
        *,
        mark: dict[str, Any] | None = None,
        overwrite: bool = False,
        protect: tuple[Path, ...] = (),
    ) -> Path:
        """Write ``result`` ``(C, H, W)`` to ``dst`` atomically with what ``meta`` keeps of the
        input (alpha carried by the task, ICC profile; 16 bits where the input and format allow)
        and ``mark`` in its text. ``protect``: files never replaced (the run's inputs); with
        ``overwrite``, only a file that carries a mark (pixelsmith's own result) is replaced."""
        from pixelsmith.io import write_image
        from pixelsmith.io.mark import read_mark

        dst = Path(dst)
        if overwrite and os.path.lexists(dst) and read_mark(dst) is None:
            raise PixelsmithError(
                "exists and was not written by pixelsmith (it has no mark); it is never replaced",
                dst,
            )
        if meta is not None and meta.alpha is not None:
            meta = dataclasses.replace(meta, alpha=self.task.carry_alpha(meta.alpha))
        deep = meta is not None and meta.bit_depth > 8
        deep = deep and dst.suffix.lower() in (".png", ".tif", ".tiff")
        return write_image(
            dst,
            result,
            meta=meta,
            overwrite=overwrite,
            inputs=protect,
            bit_depth=16 if deep else 8,
            mark=mark,
        )

    def mark(self, fingerprint: str = "") -> dict[str, Any]:
        """What a result records of how it was made: pixelsmith's version, the task, the model
        and its weights' digest, the precision (bfloat16 changes results), the task's inference
        options, and ``fingerprint`` (of the
        input files, :func:`pixelsmith.io.mark.fingerprint`). Two results with equal marks
        but for the version were made the same way from the same inputs."""
        from pixelsmith.version import __version__

        return {
            "version": __version__,
            "task": self.task.name,
            "model": self.model_name,
            "weights": self.weights,
            "precision": "bf16" if self.bf16 else "fp32",
            "options": inference_options(self.task),
            "input": fingerprint,
        }

    def restore_file(
        self,
        src: str | os.PathLike[str],
        dst: str | os.PathLike[str],
        *,
        overwrite: bool = False,
        progress: Any = False,
        **inputs: Any,
    ) -> Path:
        """Read ``src``, restore it, write ``dst`` with its mark. ``dst`` is never ``src`` nor
        another input file, and is replaced only with ``overwrite``."""
        from pixelsmith.io.mark import fingerprint

        src, dst = Path(src), Path(dst)
        files = tuple(Path(v) for v in inputs.values() if isinstance(v, (str, os.PathLike)))
        protect = (src, *files)
        from pixelsmith.io import check_writable

        check_writable(dst, overwrite=overwrite, inputs=protect)
        image, meta = self.read(src, **inputs)
        result = self.run(image, progress=progress)
        mark = self.mark(fingerprint(src, inputs))
        return self.write(dst, result, meta, mark=mark, overwrite=overwrite, protect=protect)


def inference_options(task: Task) -> dict[str, Any]:
    """The task's settings a user gives when running it (not those of training or evaluation),
    as JSON-ready values: what a result's mark records."""
    if not dataclasses.is_dataclass(task):
        return {}
    found = {}
    for f in dataclasses.fields(task):
        if f.name.startswith("_") or not f.init:
            continue
        if f.metadata.get("use", "inference") != "inference":
            continue
        value = getattr(task, f.name)
        found[f.name] = (
            value if isinstance(value, (bool, int, float, str, type(None))) else repr(value)
        )
    return found


def _header_size(path: Path) -> tuple[int, int] | None:
    """``(H, W)`` from the file's header without decoding it, or ``None`` if Pillow cannot tell."""
    from PIL import Image

    from pixelsmith.io import RAW_EXTENSIONS

    if not path.is_file():  # a pipe or a device would block here: read_image explains
        return None
    if path.suffix.lower() in RAW_EXTENSIONS:  # Pillow would read a raw file's thumbnail
        return None
    try:
        with Image.open(path) as im:
            w, h = im.size
    except Exception:  # read_image reports what is wrong with the file
        return None
    return h, w
