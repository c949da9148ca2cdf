"""A video through an image task, frame by frame: ``process_video("colorize", "in.mp4", "out.mp4")``.

FFmpeg (through PyAV) decodes the first video stream; each frame goes through the task's inference
flow (a :class:`~pixelsmith.pipeline.Pipeline`, loaded once), then an optional per-frame hook
(:class:`~pixelsmith.video.smoothing.ChromaSmoother` for a colorizer), and is encoded as H.264
(libx264; MPEG-4 part 2 where PyAV's FFmpeg has no libx264), yuv420p, with the input's frame
timestamps, so the frame rate, the frame count and the timing are kept. A stream whose display
matrix says to show it turned (a phone's portrait video is stored sideways) is turned upright
before the task sees it, so the network sees the scene as a person does, and written upright with
no turn left to apply. Audio streams are copied packet by packet, unchanged. The result is written to a temporary file beside the output and moved
onto it at the end: a run that fails or is killed leaves no output; the input is never overwritten.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import torch
from torch import nn

from pixelsmith.errors import PixelsmithError
from pixelsmith.io.atomic import atomic_output
from pixelsmith.tasks import TASKS, Task, get_task
from pixelsmith.video.defaults import CRF, MOTION, SCENE_CUT, SMOOTH_STRENGTH
from pixelsmith.video.smoothing import ChromaSmoother, check_strength

#: Output suffix -> FFmpeg muxer. Each holds H.264 and the common audio codecs.
CONTAINERS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska"}
PIXEL_FORMAT = "yuv420p"
_PROBE = (3, 16, 16)  # the frame a task is tried on before any work


@dataclass
class VideoReport:
    """What :func:`process_video` wrote.

    Attributes:
        path: the output file.
        frames: video frames written (as many as were decoded).
        size: ``(width, height)`` of the output frames.
        rate: the frame rate (frames per second) of the stream.
        codec: the video encoder (``libx264`` or ``mpeg4``).
        audio: codec names of the audio streams copied.
        smoothing: the chroma smoothing strength used (0: none).
        rotation: degrees counter-clockwise the frames were turned to be upright (0, 90, 180
            or 270), from the input's display matrix.
        scene_cuts: frame indices where the smoothing started afresh.
        seconds: wall time of the run.
    """

    path: Path
    frames: int
    size: tuple[int, int]
    rate: Fraction
    codec: str
    audio: list[str] = field(default_factory=list)
    smoothing: float = 0.0
    scene_cuts: list[int] = field(default_factory=list)
    seconds: float = 0.0
    rotation: int = 0

    @property
    def fps(self) -> float:
        """Frames processed per second of wall time."""
        return self.frames / self.seconds if self.seconds else 0.0


def frame_task_problem(task: Task) -> str | None:
    """Why ``task`` cannot run on video frames (one RGB image in, one image out), or ``None``.

    Read from the task's declaration: its ``inputs`` must be one image (not an image and a
    mask, not a camera raw frame), and its result a grey or RGB image."""
    if not task.inputs:
        return "it does not restore images"
    if task.inputs != ("image",):
        return f"a frame alone is not its input (it takes {', '.join(task.inputs)})"
    c = task.output_shape(_PROBE)[0]
    if c not in (1, 3):
        return f"its result has {c} channels, not an image's 1 or 3"
    return None


def video_tasks() -> list[str]:
    """The registered tasks that run on video frames (with their default options)."""
    return [name for name in TASKS if frame_task_problem(get_task(name)) is None]


def check_frame_task(task: Task) -> None:
    """Raise a :class:`PixelsmithError` naming the usable tasks if ``task`` cannot run on frames."""
    problem = frame_task_problem(task)
    if problem:
        raise PixelsmithError(
            f"the {task.name} task cannot run on video frames: {problem}; "
            f"video tasks: {', '.join(video_tasks())}"
        )


def smoothing_strength(task: Task, smooth: float | None) -> float:
    """The chroma smoothing for ``task``: ``smooth`` as given, else the default strength where the
    task declares ``video_smoothing = "chroma"`` (:class:`~pixelsmith.tasks.base.Task`), else 0."""
    if smooth is not None:
        return check_strength(smooth)
    return SMOOTH_STRENGTH if type(task).video_smoothing == "chroma" else 0.0


def video_encoder() -> str:
    """``libx264`` where PyAV's FFmpeg has it, else ``mpeg4`` (FFmpeg's own encoder)."""
    import av

    return "libx264" if "libx264" in av.codecs_available else "mpeg4"


def _open_input(path: Path) -> Any:
    """The input container, or a one-line error for a missing file or one that is not a video."""
    import av

    if not path.exists():
        raise PixelsmithError("file not found", path)
    if not path.is_file():
        raise PixelsmithError("not a regular file", path)
    try:
        container = av.open(str(path), "r")
    except av.FFmpegError as e:
        raise PixelsmithError(f"not a video FFmpeg can read ({e.strerror or e})", path) from None
    fmt = container.format.name
    if fmt == "image2" or fmt.endswith("_pipe"):
        container.close()
        raise PixelsmithError("is a still image, not a video (use the task's own verb)", path)
    if not container.streams.video:
        container.close()
        raise PixelsmithError("has no video stream", path)
    return container


def _check_output(src: Path, dst: Path, overwrite: bool) -> str:
    """The muxer for ``dst``, after refusing the input itself (even with ``overwrite``) and what
    :func:`~pixelsmith.io.check_writable` refuses."""
    from pixelsmith.io import check_writable

    fmt = CONTAINERS.get(dst.suffix.lower())
    if fmt is None:
        raise PixelsmithError(
            f"cannot write {dst.suffix or 'suffix-less'} videos (use {', '.join(CONTAINERS)})", dst
        )
    same = src.resolve() == dst.resolve()
    if not same and dst.exists():
        try:
            same = os.path.samefile(src, dst)
        except OSError:
            pass
    if same:
        raise PixelsmithError("is the input; pixelsmith never overwrites its inputs", dst)
    check_writable(dst, overwrite=overwrite, inputs=[src])
    return fmt


def _even(image: torch.Tensor) -> torch.Tensor:
    """``(C, H, W)`` cropped to even ``H`` and ``W`` (yuv420p halves the chroma both ways)."""
    h, w = image.shape[-2:]
    return image[..., : h - h % 2, : w - w % 2]


def _to_rgb24(image: torch.Tensor) -> Any:
    """A result ``(C, H, W)`` in [0, 1] (C = 1 or 3) -> an ``(H, W, 3)`` uint8 array."""
    if image.shape[0] == 1:
        image = image.expand(3, -1, -1)
    return (image.clamp(0, 1) * 255).round_().to(torch.uint8).permute(1, 2, 0).contiguous().numpy()


def _add_video_stream(dst: Any, vin: Any, size: tuple[int, int], crf: int) -> Any:
    """The output video stream: the encoder of :func:`video_encoder`, the input's frame rate and
    time base (so frame timestamps pass through), tagged as the frames are converted."""
    from av.video.reformatter import ColorRange, Colorspace

    rate = vin.average_rate or vin.guessed_rate or Fraction(25)
    codec = video_encoder()
    out = dst.add_stream(codec, rate=rate)
    out.width, out.height = size
    out.pix_fmt = PIXEL_FORMAT
    out.time_base = vin.time_base
    out.codec_context.time_base = vin.time_base
    out.codec_context.colorspace = Colorspace.ITU601
    out.codec_context.color_range = ColorRange.MPEG
    if vin.codec_context.sample_aspect_ratio:  # anamorphic pixels stay anamorphic
        out.codec_context.sample_aspect_ratio = vin.codec_context.sample_aspect_ratio
    if codec == "libx264":
        out.options = {"crf": str(crf), "preset": "medium"}
    else:  # mpeg4: a generous bit rate, as it has no constant-quality mode here
        out.bit_rate = max(2_000_000, int(size[0] * size[1] * float(rate) * 0.4))
    return out


def _containers_for(codec: str) -> list[str]:
    """The output suffixes of :data:`CONTAINERS` whose muxer can hold ``codec``."""
    import av

    fits = []
    for suffix, fmt in CONTAINERS.items():
        with av.open(os.devnull, "w", format=fmt) as probe:
            if codec in probe.supported_codecs and fmt not in fits:
                fits.append(suffix)
    return fits


def _check_audio(src: Any, muxer: str, out_path: Path) -> None:
    """Refuse, before any work, an audio stream that the output's container cannot hold."""
    import av

    with av.open(os.devnull, "w", format=muxer) as probe:
        supported = probe.supported_codecs
    for a in src.streams.audio:
        name = a.codec_context.name
        if name not in supported:
            fits = _containers_for(name)
            hint = f"; write {' or '.join(fits)} instead" if fits else ""
            raise PixelsmithError(
                f"the audio ({name}) cannot be copied into a {out_path.suffix} file{hint}",
                out_path,
            )


def _add_audio_streams(dst: Any, src: Any) -> dict[int, Any]:
    """A copy of each audio stream of ``src`` in ``dst`` (input index -> output stream)."""
    return {a.index: dst.add_stream_from_template(a) for a in src.streams.audio}


def _frame_rgb(frame: Any) -> Any:
    """A decoded frame -> ``(H, W, 3)`` uint8 sRGB, by its own colour matrix and range, turned
    upright as its display matrix says (:func:`quarter_turns`)."""
    import numpy as np

    rgb = frame.to_ndarray(format="rgb24", src_color_range=frame.color_range or None)
    turns = quarter_turns(frame)
    return np.ascontiguousarray(np.rot90(rgb, turns)) if turns else rgb


def quarter_turns(frame: Any) -> int:
    """Quarter turns counter-clockwise (0 to 3) that show ``frame`` upright: its display
    matrix's rotation (PyAV's ``VideoFrame.rotation``, degrees counter-clockwise) to the nearest
    quarter turn. A mirrored matrix is taken for its rotation alone."""
    return round((getattr(frame, "rotation", 0) or 0) / 90) % 4


def _first_turns(path: Path) -> int:
    """:func:`quarter_turns` of the first frame of ``path``'s first video stream (0 if none)."""
    import av

    with av.open(str(path), "r") as container:
        for frame in container.decode(video=0):
            return quarter_turns(frame)
    return 0


def _encoded(frame_rgb: Any, like: Any, index: int, rate: Fraction, time_base: Fraction) -> Any:
    """An ``(H, W, 3)`` uint8 result as a yuv420p frame (BT.601, limited range) timed as the
    decoded frame ``like`` (or by ``index`` at ``rate`` where it has no timestamp)."""
    import av
    from av.video.reformatter import ColorRange, Colorspace

    frame = av.VideoFrame.from_ndarray(frame_rgb, format="rgb24").reformat(
        format=PIXEL_FORMAT,
        dst_colorspace=Colorspace.ITU601,
        dst_color_range=ColorRange.MPEG,
    )
    frame.pts = like.pts if like.pts is not None else round(index / rate / time_base)
    frame.time_base = time_base
    return frame


@contextmanager
def _progress(
    progress: bool | Callable[[int, int], None], total: int
) -> Iterator[Callable[[int], None]]:
    """``with _progress(progress, total) as report:`` ``report(frames_done)`` feeds a tqdm bar
    (``True``), a callback ``(done, total)`` or nothing; ``total`` is 0 where the container does
    not say."""
    if callable(progress):
        yield lambda done: progress(done, total)
    elif not progress:
        yield lambda done: None
    else:
        from tqdm import tqdm

        with tqdm(total=total or None, unit="frame") as bar:
            yield lambda done: bar.update(done - bar.n)


def process_video(
    task: str | Task,
    in_path: str | Path,
    out_path: str | Path,
    model: str | Path | nn.Module | None = None,
    *,
    smooth: float | None = None,
    scene_cut: float = SCENE_CUT,
    motion: float = MOTION,
    crf: int = CRF,
    overwrite: bool = False,
    tile: int | None = None,
    device: str = "auto",
    bf16: bool = False,
    backend: str | None = None,
    max_output_pixels: int | None = None,
    progress: bool | Callable[[int, int], None] = False,
    **options: Any,
) -> VideoReport:
    """Run ``task`` on every frame of the video ``in_path`` and write ``out_path``.

    Args:
        task: a task name (``"colorize"``, ``"superres"``, ``"lowlight"``; any registered task
            whose input is one image) or a :class:`~pixelsmith.tasks.base.Task`.
        in_path: a video FFmpeg reads (the first video stream is processed).
        out_path: ``.mp4``, ``.m4v``, ``.mov`` or ``.mkv``; never the input.
        model: as :func:`pixelsmith.restore` takes it; loaded once for the whole video.
        smooth: chroma smoothing strength in ``[0, 1)`` (0: off); ``None``: the task's default
            (0.8 for a colorizer, 0 otherwise). See :class:`~pixelsmith.video.smoothing.ChromaSmoother`.
        scene_cut: change of L that resets the smoothing (``float("inf")``: never).
        motion: change of L at which a pixel's smoothing fades (0: no motion gate).
        crf: libx264's constant rate factor, 0 (lossless YUV) to 51.
        overwrite: replace an existing ``out_path`` (never the input).
        tile, device, bf16, max_output_pixels: as :func:`pixelsmith.restore`; the size limit is
            per frame.
        progress: a progress bar (``True``) or a callback ``(frames done, frames total or 0)``.
        options: the task's settings (``scale=2``).

    Returns:
        A :class:`VideoReport`. Frames keep their timestamps; an odd width or height of the result
        loses its last column or row (yuv420p needs even sides); audio streams are copied
        unchanged; other streams (subtitles, data) are left out.

    Raises:
        PixelsmithError: a task that needs more than a frame (inpainting's mask, a raw developer),
            a missing file, one that is not a video or has no video stream, an output that exists
            (without ``overwrite``) or is the input, an audio codec the output container cannot
            hold. Nothing is written then, nor after any failure during the run.
    """
    from pixelsmith.infer import check_tile
    from pixelsmith.pipeline import Pipeline, check_output_size

    start = time.perf_counter()
    task = get_task(task, **options)
    check_frame_task(task)
    check_tile(tile)
    if not 0 <= crf <= 51:
        raise PixelsmithError(f"crf is 0 to 51, not {crf}")
    strength = smoothing_strength(task, smooth)
    smoother = ChromaSmoother(strength, scene_cut, motion) if strength else None
    src_path, dst_path = Path(in_path), Path(out_path)
    src = _open_input(src_path)
    try:
        muxer = _check_output(src_path, dst_path, overwrite)
        _check_audio(src, muxer, dst_path)
        vin = src.streams.video[0]
        vin.thread_type = "AUTO"
        turns = _first_turns(src_path)
        shape = (3, vin.codec_context.height, vin.codec_context.width)
        if turns % 2:  # a quarter turn swaps the sides
            shape = (3, shape[2], shape[1])
        check_output_size(task, shape, max_output_pixels)
        _, h, w = task.output_shape(shape)
        size = (w - w % 2, h - h % 2)
        if min(size) < 2:
            raise PixelsmithError(f"the result would be {w}x{h} pixels, too small", src_path)
        pipe = Pipeline.load(
            task, model, device=device, backend=backend, bf16=bf16, tile=tile,
            max_output_pixels=max_output_pixels,
        )  # fmt: skip

        def run(frame_rgb: Any) -> torch.Tensor:
            pixels, _, _ = pipe.task.as_input(frame_rgb)
            out = _even(pipe.run(pixels))
            return out if smoother is None else smoother(out)

        with (
            atomic_output(dst_path, overwrite=overwrite) as tmp,
            _progress(progress, vin.frames) as report,
        ):
            frames, codec, audio, rate = _transcode(src, vin, tmp, muxer, size, crf, run, report)
    finally:
        src.close()
    return VideoReport(
        dst_path,
        frames,
        size,
        rate,
        codec,
        audio,
        strength,
        list(smoother.cuts) if smoother else [],
        time.perf_counter() - start,
        90 * turns,
    )


def _transcode(
    src: Any,
    vin: Any,
    tmp: str,
    muxer: str,
    size: tuple[int, int],
    crf: int,
    run: Callable[[Any], torch.Tensor],
    report: Callable[[int], None],
) -> tuple[int, str, list[str], Fraction]:
    """Decode ``vin``, ``run`` each frame (``(H, W, 3)`` uint8 -> ``(C, H', W')`` in [0, 1]),
    encode the results into the file ``tmp`` and copy ``src``'s audio beside them. Returns
    ``(frames, video encoder, audio codecs, frame rate)``."""
    import av

    options = {"movflags": "+faststart"} if muxer in ("mp4", "mov") else {}
    with av.open(tmp, "w", format=muxer, options=options) as dst:
        vout = _add_video_stream(dst, vin, size, crf)
        audio = _add_audio_streams(dst, src)
        rate = Fraction(vout.codec_context.framerate or vout.average_rate)
        frames = 0
        try:
            for packet in src.demux(vin, *(src.streams[i] for i in audio)):
                if packet.stream.index in audio:
                    if packet.dts is not None:  # not the demuxer's empty packet at the end
                        packet.stream = audio[packet.stream.index]
                        dst.mux(packet)
                    continue
                for decoded in packet.decode():  # the empty packet flushes the decoder
                    result = run(_frame_rgb(decoded))
                    if tuple(result.shape[-2:]) != (size[1], size[0]):
                        raise PixelsmithError(
                            f"frame {frames} gave {result.shape[-1]}x{result.shape[-2]} pixels, "
                            f"not {size[0]}x{size[1]} as the first",
                            src.name,
                        )
                    frame = _encoded(_to_rgb24(result), decoded, frames, rate, vin.time_base)
                    dst.mux(vout.encode(frame))
                    frames += 1
                    report(frames)
            dst.mux(vout.encode(None))
        except av.FFmpegError as e:
            raise PixelsmithError(
                f"FFmpeg failed at frame {frames} ({e.strerror or e})", src.name
            ) from None
    if not frames:
        raise PixelsmithError("the video stream holds no frames", src.name)
    names = [src.streams[i].codec_context.name for i in audio]
    return frames, vout.codec_context.name, names, rate
