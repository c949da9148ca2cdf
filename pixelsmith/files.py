"""Files in, files out, for every task: what ``pixelsmith upscale`` (and each verb after it) runs.

:func:`restore_files` lists the inputs (files, folders, globs), decides every output name and finds
every clash before any work, loads the model once, then restores file by file: a bad file is
reported in one line and the run goes on; what was written, skipped and failed comes back in a
:class:`FilesReport`. Inputs are never overwritten; outputs are written atomically.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pixelsmith.errors import PixelsmithError

if TYPE_CHECKING:
    from pixelsmith.io.meta import ImageMeta


@dataclass
class FilesReport:
    """What a :func:`restore_files` run did."""

    written: list[Path] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)
    own_outputs: list[Path] = field(default_factory=list)  # earlier results found among inputs

    @property
    def ok(self) -> bool:
        return not self.failed


def _is_dir(p: Path) -> bool:
    try:
        return p.is_dir()
    except OSError:  # a name too long to stat: check_writable says so in one line
        return False


def _names_folder(out: str | Path) -> bool:
    """``out`` written with a trailing separator (``results.png/``) means a folder."""
    text = str(out)
    return text.endswith("/") or (os.sep != "/" and text.endswith(os.sep))


def _exists(p: Path) -> bool:
    try:
        return p.exists()
    except OSError:
        return False


def plan_outputs(
    inputs: list[Path], out: str | Path | None, suffix: str, overwrite: bool
) -> tuple[list[Path], list[Path], list[Path]]:
    """``(inputs, their outputs, earlier outputs left out)``: each input's result path, as
    ``NAME<suffix>.png`` beside it or in the folder ``out``, or ``out`` itself for one input.

    An input that is another input's output (``photo_x3.png`` beside ``photo.png``, from an
    earlier run in place) is a result, not an input, and is left out (and reported), whether
    this run writes in place or into ``out``, and whether it was listed from a folder or named.
    Every clash is found here, before any work: an output that is an input, two inputs with one
    output, an existing output without ``overwrite``, a missing output folder.
    """
    from pixelsmith.io import WRITE_FORMATS

    if out is None:
        targets = [p.with_name(f"{p.stem}{suffix}.png") for p in inputs]
    elif Path(out).suffix and not _is_dir(Path(out)) and not _names_folder(out):
        o = Path(out)
        if o.suffix.lower() not in WRITE_FORMATS:
            raise PixelsmithError(
                f"cannot write {o.suffix} files (use {', '.join(WRITE_FORMATS)})", o
            )
        if len(inputs) > 1:
            raise PixelsmithError(
                "--out names one file but there are several inputs; give a folder", o
            )
        targets = [o]
    else:
        if not _is_dir(Path(out)):
            raise PixelsmithError("output folder does not exist", out)
        targets = [Path(out) / f"{p.stem}{suffix}.png" for p in inputs]
    # results: this run's targets, and what a run in place would have written beside an input
    results = {t.resolve() for t in targets}
    if suffix:
        results |= {p.with_name(f"{p.stem}{suffix}.png").resolve() for p in inputs}
    own = [
        p
        for p, t in zip(inputs, targets, strict=True)
        if p.resolve() in results and p.resolve() != t.resolve()
    ]
    if own and len(inputs) > 1:
        keep = [(p, t) for p, t in zip(inputs, targets, strict=True) if p not in own]
        inputs, targets = [p for p, _ in keep], [t for _, t in keep]
    else:
        own = []
    sources = {p.resolve() for p in inputs}
    seen: dict[Path, Path] = {}
    for src, dst in zip(inputs, targets, strict=True):
        key = dst.resolve()
        if key in sources:
            raise PixelsmithError("is an input; pixelsmith never overwrites its inputs", dst)
        if key in seen:
            raise PixelsmithError(
                f"{seen[key].name} and {src.name} would both be written here", dst
            )
        if _exists(dst) and not overwrite:
            raise PixelsmithError(
                "file already exists (use --overwrite, or overwrite=True from Python)", dst
            )
        seen[key] = src
    return inputs, targets, own


def _header_size(path: Path) -> tuple[int, int] | None:
    """``(H, W)`` from the file's header without decoding it, or ``None`` if PIL cannot tell."""
    from PIL import Image

    from pixelsmith.io import RAW_EXTENSIONS

    if not path.is_file():  # a pipe or a device would block here: read_image explains
        return None
    if path.suffix.lower() in RAW_EXTENSIONS:  # PIL would read a raw file's thumbnail
        return None
    try:
        with Image.open(path) as im:
            w, h = im.size
    except Exception:  # read_image reports what is wrong with the file
        return None
    return h, w


def read_input(task: Any, src: Path, limit: int | None) -> tuple[Any, ImageMeta]:
    """``task.read_file(src)``: ``(input (C, H, W), ImageMeta)``, after refusing a result over
    ``limit`` pixels from the file's header, before decoding it, where PIL can tell the size."""
    from pixelsmith.api import check_output_size

    size = _header_size(src)
    if size:  # refuse an oversized result before decoding the input
        check_output_size(task, (1, *size), limit)
    img, meta = task.read_file(src)
    if not size:
        check_output_size(task, tuple(img.shape), limit)
    return img, meta


def write_result(
    task: Any,
    dst: Path,
    result: Any,
    meta: ImageMeta,
    *,
    inputs: Any = (),
    overwrite: bool = False,
) -> Path:
    """Write ``result`` ``(C, H, W)`` to ``dst`` atomically with what ``meta`` keeps of the input
    (alpha carried by the task, ICC profile; 16 bits where the input and format allow)."""
    from pixelsmith.io import write_image

    if meta.alpha is not None:
        meta.alpha = task.carry_alpha(meta.alpha)
    deep = meta.bit_depth > 8 and dst.suffix.lower() in (".png", ".tif", ".tiff")
    return write_image(
        dst, result, meta=meta, overwrite=overwrite, inputs=inputs, bit_depth=16 if deep else 8
    )


def failure_message(src: Path, e: BaseException) -> str | None:
    """The one-line report of a file that failed with ``e``, or ``None`` if ``e`` is a bug (it
    keeps its traceback): a :class:`PixelsmithError`, or running out of memory on any device."""
    if isinstance(e, PixelsmithError):
        return str(e) if e.path else f"{src}: {e}"
    if isinstance(e, MemoryError):
        return f"{src}: out of memory (try a smaller --tile)"
    if isinstance(e, RuntimeError):  # torch's out-of-memory errors on any device
        text = str(e).lower()
        if "out of memory" in text or "alloc" in text:
            return f"{src}: out of memory (try a smaller --tile)"
    return None


def _restore_one(
    net, task, src: Path, dst: Path, inputs, overwrite, tile, device, bf16, limit
) -> Path:
    """Read ``src``, restore it, write ``dst`` (16-bit where the input and format allow)."""
    from pixelsmith.api import restore_tensor

    img, meta = read_input(task, src, limit)
    result = restore_tensor(net, task, img, tile=tile, device=device, bf16=bf16)
    return write_result(task, dst, result, meta, inputs=inputs, overwrite=overwrite)


def restore_files(
    inputs: list[str | Path],
    task: Any,
    model: Any = None,
    *,
    out: str | Path | None = None,
    overwrite: bool = False,
    tile: int | None = None,
    device: str = "auto",
    bf16: bool = False,
    max_output_pixels: int | None = None,
    backend: str | None = None,
    progress: bool = True,
    on_written: Callable[[Path], None] | None = None,
    on_error: Callable[[Path, str], None] | None = None,
    **options: Any,
) -> FilesReport:
    """Run ``task`` on every image named by ``inputs``; results beside them or in ``out``.

    Alpha is carried by the task (SR upscales it bicubically), grey stays grey, 16-bit inputs give
    16-bit PNG/TIFF outputs. Problems with the run as a whole (no inputs, a clash, a missing
    output folder, the model) raise :class:`PixelsmithError` before any work; a problem with one
    file is reported through ``on_error(path, message)`` and the next file follows.
    """
    from tqdm import tqdm

    from pixelsmith.api import check_limit, resolve
    from pixelsmith.infer import check_tile, pick_device
    from pixelsmith.io import check_writable, list_images
    from pixelsmith.tasks import get_task

    task = get_task(task, **options)
    check_tile(tile)
    check_limit(max_output_pixels)
    files = list_images([str(p) for p in inputs], extensions=task.input_extensions)
    files, targets, own = plan_outputs(files, out, task.output_suffix(), overwrite)
    for dst in targets:
        check_writable(dst, overwrite=overwrite, inputs=files)
    dev = pick_device(device)
    net, _ = resolve(model, task, dev, backend, bf16)
    report = FilesReport(own_outputs=own)
    pairs = list(zip(files, targets, strict=True))

    def say(callback, *args) -> None:
        if callback:
            with tqdm.external_write_mode():  # the line goes above the progress bar
                callback(*args)

    for src, dst in tqdm(pairs, unit="image", disable=not progress or len(pairs) < 2):
        try:
            written = _restore_one(
                net, task, src, dst, files, overwrite, tile, dev, bf16, max_output_pixels
            )
        except (PixelsmithError, MemoryError, RuntimeError) as e:
            message = failure_message(src, e)
            if message is None:
                raise
        else:
            report.written.append(written)
            say(on_written, written)
            continue
        report.failed.append((src, message))
        say(on_error, src, message)
    return report
