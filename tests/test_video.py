"""Videos through image tasks: frames, timestamps and audio kept; colours steadied over time.

Clips are made here with PyAV (64x48, a dozen frames, AAC or PCM audio) and read back with PyAV;
colour is measured with scikit-image, independently of pixelsmith's own conversions.
"""

from __future__ import annotations

import dataclasses
import os
from fractions import Fraction
from pathlib import Path
from typing import ClassVar

import av
import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image
from skimage import color, data, transform
from torch import nn

from pixelsmith.errors import PixelsmithError
from pixelsmith.models import ModelSpec
from pixelsmith.tasks import TASKS, Prepared, Task, get_task, task_class
from pixelsmith.video import ChromaSmoother, chroma_flicker, process_video, video_command
from pixelsmith.video.command import parse_options
from pixelsmith.video.defaults import SMOOTH_STRENGTH
from pixelsmith.video.process import video_tasks

W, H, FPS, RATE = 64, 48, 12, 16000


# --- clips -------------------------------------------------------------------------------------


def tone(n: int) -> np.ndarray:
    """``n`` samples of a 440 Hz tone, int16."""
    t = np.arange(n) / RATE
    return (0.3 * 32767 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)


def write_clip(
    path: Path,
    frames: list[np.ndarray],
    audio: str | None = "aac",
    pix_fmt: str = "yuv420p",
    aspect: Fraction | None = None,
    rotation: int = 0,
) -> np.ndarray | None:
    """``frames`` (``(H, W, 3)`` uint8) at ``FPS`` as lossless H.264, with a mono tone as long as
    the video in ``audio`` (``aac`` or ``pcm_s16le``); returns the tone's samples."""
    h, w = frames[0].shape[:2]
    signal = tone(RATE * len(frames) // FPS) if audio else None
    with av.open(str(path), "w") as out:
        v = out.add_stream("libx264", rate=FPS)
        v.width, v.height, v.pix_fmt = w, h, pix_fmt
        v.options = {"crf": "0"}
        if aspect:
            v.codec_context.sample_aspect_ratio = aspect
        if rotation:  # as a phone writes a portrait video: stored sideways, shown turned
            v.set_display_rotation(rotation)
        a = out.add_stream(audio, rate=RATE, layout="mono") if audio else None
        for f in frames:
            out.mux(v.encode(av.VideoFrame.from_ndarray(f, format="rgb24")))
        if a is not None:
            fmt = {"aac": "fltp", "pcm_u8": "u8"}.get(audio, "s16")
            for s in range(0, len(signal), 1024):
                chunk = signal[None, s : s + 1024]
                if fmt == "fltp":
                    chunk = chunk.astype(np.float32) / 32767
                elif fmt == "u8":
                    chunk = (chunk // 256 + 128).astype(np.uint8)
                frame = av.AudioFrame.from_ndarray(chunk, format=fmt, layout="mono")
                frame.sample_rate, frame.pts, frame.time_base = RATE, s, Fraction(1, RATE)
                out.mux(a.encode(frame))
            out.mux(a.encode(None))
        out.mux(v.encode(None))
    return signal


def decoded(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]


def frame_times(path: Path) -> list[float]:
    with av.open(str(path)) as c:
        return [float(f.time) for f in c.decode(video=0)]


def audio_of(path: Path) -> tuple[str, int, list[bytes], np.ndarray]:
    """The first audio stream: codec, sample rate, its packets' bytes, its decoded samples."""
    with av.open(str(path)) as c:
        stream = c.streams.audio[0]
        codec, rate = stream.codec_context.name, stream.rate
        packets = [bytes(p) for p in c.demux(stream) if p.size]
    with av.open(str(path)) as c:
        samples = np.concatenate([f.to_ndarray().reshape(-1) for f in c.decode(audio=0)])
    return codec, rate, packets, samples


def grey(name: str, size: tuple[int, int] = (W, H)) -> np.ndarray:
    """A scikit-image photo as grey levels ``(H, W)`` float in [0, 255]."""
    image = getattr(data, name)()
    if image.ndim == 3:
        image = color.rgb2gray(image) * 255
    return transform.resize(image.astype(float), size[::-1], anti_aliasing=True)


def noisy_frames(base: np.ndarray, n: int, seed: int, sigma: float = 4.0) -> list[np.ndarray]:
    """``n`` copies of the grey ``base`` with fresh Gaussian noise each, as RGB uint8."""
    rng = np.random.default_rng(seed)
    frames = []
    for _ in range(n):
        noisy = np.clip(base + rng.normal(0, sigma, base.shape), 0, 255).round().astype(np.uint8)
        frames.append(np.repeat(noisy[..., None], 3, -1))
    return frames


def moving_frames(n: int) -> list[np.ndarray]:
    """Crops of the astronaut sliding 3 pixels per frame: each frame differs from the next."""
    big = (transform.resize(data.astronaut(), (96, 128 + 3 * n), anti_aliasing=True) * 255).round()
    return [big[24 : 24 + H, 3 * i : 3 * i + W].astype(np.uint8) for i in range(n)]


def ab(frames: list[np.ndarray]) -> np.ndarray:
    return np.stack([color.rgb2lab(f)[..., 1:] for f in frames])


def flicker(frames: list[np.ndarray]) -> float:
    """Mean over consecutive frames of the mean Euclidean ab change (scikit-image's Lab)."""
    x = ab(frames)
    return float(np.sqrt(((x[1:] - x[:-1]) ** 2).sum(-1)).mean())


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(float) - b.astype(float)) ** 2)
    return float(10 * np.log10(255**2 / mse))


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


@pytest.fixture(scope="module")
def colorizer() -> nn.Module:
    """The shipped default colorizer, loaded once for the module."""
    from pixelsmith.pipeline import Pipeline

    return Pipeline.load(get_task("colorize"), device="cpu").net


# --- frames, time and sound kept --------------------------------------------------------------


def test_upscale_doubles_the_size_keeps_frames_timestamps_and_the_audio(tmp_path):
    frames = moving_frames(12)
    clip, out = tmp_path / "in.mp4", tmp_path / "out.mp4"
    write_clip(clip, frames, "aac")
    report = process_video("superres", clip, out, scale=2, device="cpu")

    got = decoded(out)
    assert len(got) == 12 == report.frames
    assert got[0].shape == (2 * H, 2 * W, 3) and report.size == (2 * W, 2 * H)
    assert frame_times(out) == pytest.approx(frame_times(clip), abs=1e-6)
    with av.open(str(out)) as c:
        assert c.streams.video[0].codec_context.name == "h264"
        assert c.streams.video[0].average_rate == FPS
    # each output frame is its own input frame upscaled, in order
    src = decoded(clip)
    up = [np.asarray(Image.fromarray(f).resize((2 * W, 2 * H), Image.BICUBIC)) for f in src]
    for i in range(11):
        assert psnr(got[i], up[i]) > 24
        assert psnr(got[i], up[i]) > psnr(got[i], up[i + 1]) + 3
    # the audio stream: the very same packets, so the same codec and number of samples
    codec, rate, packets, samples = audio_of(out)
    codec0, rate0, packets0, samples0 = audio_of(clip)
    assert (codec, rate) == (codec0, rate0) == ("aac", RATE)
    assert packets == packets0
    assert len(samples) == len(samples0) and abs(len(samples) - RATE) <= 1024  # 1 s, AAC frames


def test_pcm_audio_comes_out_sample_for_sample_and_enhance_brightens(tmp_path):
    frames = [(f * 0.3).astype(np.uint8) for f in moving_frames(10)]  # under-exposed
    clip, out = tmp_path / "dark.mkv", tmp_path / "bright.mkv"
    signal = write_clip(clip, frames, "pcm_s16le")
    report = process_video("lowlight", clip, out, "gamma", device="cpu")
    codec, rate, _, samples = audio_of(out)
    assert (codec, rate) == ("pcm_s16le", RATE) and report.audio == ["pcm_s16le"]
    np.testing.assert_array_equal(samples, signal)  # the tone written, unchanged
    got = decoded(out)
    assert len(got) == 10
    assert np.mean(got) > np.mean(decoded(clip)) + 20


def _quadrants() -> np.ndarray:
    """64x48: red top-left, green top-right, blue bottom-left, white bottom-right."""
    f = np.zeros((H, W, 3), np.uint8)
    f[: H // 2, : W // 2] = (255, 0, 0)
    f[: H // 2, W // 2 :] = (0, 255, 0)
    f[H // 2 :, : W // 2] = (0, 0, 255)
    f[H // 2 :, W // 2 :] = 255
    return f


def _corners(f: np.ndarray) -> list[tuple[int, ...]]:
    """The colour near each corner (top-left, top-right, bottom-left, bottom-right), rounded."""
    h, w = f.shape[:2]
    spots = [(4, 4), (4, w - 5), (h - 5, 4), (h - 5, w - 5)]
    return [tuple(int(round(c / 255)) for c in f[y, x]) for y, x in spots]


@pytest.mark.parametrize("degrees", [90, -90, 180])
def test_a_turned_video_is_processed_and_written_upright(tmp_path, degrees):
    """A display matrix turning the picture ``degrees`` counter-clockwise (PyAV's convention on
    read and write): the task sees, and the output holds, the picture as it is shown, turned
    by NumPy's rot90, with no turn left in the output."""
    src, dst = tmp_path / "phone.mp4", tmp_path / "out.mp4"
    frame = _quadrants()
    write_clip(src, [frame] * 3, audio=None, rotation=degrees)
    with av.open(str(src)) as c:
        assert next(c.decode(video=0)).rotation % 360 == degrees % 360
    report = process_video("superres", src, dst, model="bicubic", scale=2)
    shown = np.rot90(frame, degrees // 90)
    assert report.rotation == degrees % 360
    assert report.size == (2 * shown.shape[1], 2 * shown.shape[0])
    with av.open(str(dst)) as c:
        out = [f for f in c.decode(video=0)]
    assert all(f.rotation == 0 for f in out)
    assert _corners(out[0].to_ndarray(format="rgb24")) == _corners(shown)
    assert _corners(shown) != _corners(frame)


def test_an_odd_result_loses_its_last_row_and_column_and_pixels_keep_their_aspect(tmp_path):
    frames = [f[:47, :63] for f in moving_frames(3)]
    clip, out = tmp_path / "odd.mp4", tmp_path / "out.mp4"
    write_clip(clip, frames, None, pix_fmt="yuv444p", aspect=Fraction(4, 3))  # 4:4:4: odd sides
    process_video("lowlight", clip, out, "gamma", device="cpu")
    assert decoded(out)[0].shape == (46, 62, 3)
    with av.open(str(out)) as c:
        assert c.streams.video[0].sample_aspect_ratio == Fraction(4, 3)


def test_without_libx264_the_video_is_mpeg4(tmp_path, monkeypatch):
    import pixelsmith.video.process as process

    monkeypatch.setattr(process, "video_encoder", lambda: "mpeg4")
    clip, out = tmp_path / "in.mp4", tmp_path / "out.mp4"
    write_clip(clip, moving_frames(5), "aac")
    report = process_video("lowlight", clip, out, "gamma", device="cpu")
    with av.open(str(out)) as c:
        assert c.streams.video[0].codec_context.name == "mpeg4" == report.codec
    assert len(decoded(out)) == 5
    assert frame_times(out) == pytest.approx(frame_times(clip), abs=1e-6)


def test_audio_the_output_container_cannot_hold_is_refused_before_any_work(tmp_path):
    clip, out = tmp_path / "in.mkv", tmp_path / "out.mp4"
    write_clip(clip, moving_frames(2), "pcm_u8")
    with pytest.raises(PixelsmithError, match=r"audio \(pcm_u8\) cannot be copied.*\.mkv") as e:
        process_video("lowlight", clip, out, "gamma", device="cpu")
    assert e.value.path == str(out)
    assert not out.exists() and leftovers(tmp_path) == []


# --- chroma smoothing -------------------------------------------------------------------------


def test_smoothing_reduces_the_flicker_of_a_still_scene_and_keeps_l(tmp_path, colorizer):
    clip = tmp_path / "still.mp4"
    write_clip(clip, noisy_frames(grey("camera"), 12, seed=1), None)
    raw, smooth = tmp_path / "raw.mp4", tmp_path / "smooth.mp4"
    process_video("colorize", clip, raw, colorizer, smooth=0, crf=0, device="cpu")
    report = process_video("colorize", clip, smooth, colorizer, crf=0, device="cpu")
    assert report.smoothing == SMOOTH_STRENGTH and report.scene_cuts == []

    before, after = flicker(decoded(raw)), flicker(decoded(smooth))
    assert before > 0.2  # the colorizer does flicker on sensor noise
    assert after < 0.5 * before
    # the colours are steadied, not washed out: the mean chroma stays
    chroma = lambda fs: float(np.sqrt((ab(fs) ** 2).sum(-1)).mean())  # noqa: E731
    assert chroma(decoded(smooth)) == pytest.approx(chroma(decoded(raw)), rel=0.15)

    # each frame keeps its own lightness, to a few 8-bit grey levels: yuv420p averages the chroma
    # of 2x2 pixels, which moves the luminance of coloured pixels (the more colourful, the more: up
    # to about 4 levels with the default colorizer, with or without smoothing); the smoothing
    # adds nothing to that
    def level(path: Path) -> np.ndarray:  # per pixel, the 8-bit grey of the frame's L*
        L = np.stack([color.rgb2lab(f)[..., 0] for f in decoded(path)])
        zeros = np.zeros_like(L)
        return color.lab2rgb(np.stack([L, zeros, zeros], -1))[..., 0] * 255

    given = level(clip)
    moved, moved_raw = np.abs(level(smooth) - given), np.abs(level(raw) - given)
    assert moved_raw.mean() < 1.5 and moved_raw.max() < 5
    assert moved.mean() < moved_raw.mean() + 0.1 and moved.max() < moved_raw.max() + 0.5


def test_a_scene_cut_resets_the_smoothing(tmp_path, colorizer):
    # the colorizer gives the cat far warmer colours than the cameraman (about 20 ab apart)
    frames = noisy_frames(grey("camera"), 4, seed=2) + noisy_frames(grey("chelsea"), 4, seed=3)
    clip = tmp_path / "cut.mp4"
    write_clip(clip, frames, None)
    runs = {}
    for name, kwargs in {
        "raw": {"smooth": 0},
        "smooth": {"motion": 0},  # no motion gate: only the scene cut stops the carry-over
        "no_reset": {"motion": 0, "scene_cut": float("inf")},
    }.items():
        out = tmp_path / f"{name}.mp4"
        runs[name] = process_video("colorize", clip, out, colorizer, crf=0, device="cpu", **kwargs)
        runs[name].ab = ab(decoded(out))
    assert runs["smooth"].scene_cuts == [4] and runs["no_reset"].scene_cuts == []
    first = lambda run: run.ab[4]  # noqa: E731 - the first frame of the new scene
    reset = np.abs(first(runs["smooth"]) - first(runs["raw"])).mean()
    leaked = np.abs(first(runs["no_reset"]) - first(runs["raw"])).mean()
    assert leaked > 5.0  # without the reset the old scene's colours carry over
    assert reset < 0.05 * leaked


def lab_frame(L: float, a: np.ndarray | float, b: float = 0.0, size=(8, 8)) -> torch.Tensor:
    """An sRGB frame ``(3, H, W)`` of the given Lab (skimage's conversion)."""
    lab = np.zeros((*size, 3))
    lab[..., 0], lab[..., 1], lab[..., 2] = L, a, b
    return torch.from_numpy(color.lab2rgb(lab)).permute(2, 0, 1).float()


def lab_of(rgb: torch.Tensor) -> np.ndarray:
    return color.rgb2lab(rgb.permute(1, 2, 0).double().numpy())


def test_chroma_smoother_is_the_moving_average_by_hand_and_keeps_l():
    smoother = ChromaSmoother(strength=0.8)
    outs = [smoother(lab_frame(50, a)) for a in (10.0, -10.0, 10.0)]
    # ab_1 = 10; ab_2 = -10 + 0.8 * (10 - -10) = 6; ab_3 = 10 + 0.8 * (6 - 10) = 6.8
    for out, want in zip(outs, (10.0, 6.0, 6.8), strict=True):
        lab = lab_of(out)
        assert np.abs(lab[..., 1] - want).max() < 0.05
        assert np.abs(lab[..., 0] - 50).max() < 0.01
        assert np.abs(lab[..., 2]).max() < 0.05


def test_chroma_smoother_lets_moving_pixels_follow_the_new_frame():
    smoother = ChromaSmoother(strength=0.8, motion=4.0, scene_cut=float("inf"))
    smoother(lab_frame(50, 20.0, size=(16, 32)))
    L = np.full((16, 32), 50.0)
    L[:, 16:] = 80.0  # the right half changed: something moved there
    lab = np.stack([L, np.full_like(L, -20.0), np.zeros_like(L)], -1)
    out = lab_of(smoother(torch.from_numpy(color.lab2rgb(lab)).permute(2, 0, 1).float()))
    assert np.abs(out[:, :8, 1] - (-20 + 0.8 * 40)).max() < 0.05  # still: smoothed
    assert np.abs(out[:, 24:, 1] - (-20)).max() < 0.05  # moved: the new colour
    assert np.abs(out[..., 0] - L).max() < 0.01


def test_chroma_smoother_passes_grey_frames_and_checks_its_settings():
    smoother = ChromaSmoother()
    g = torch.rand(1, 8, 8)
    assert smoother(g) is g
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        ChromaSmoother(strength=1.0)
    with pytest.raises(ValueError):
        ChromaSmoother(scene_cut=0)


def test_chroma_flicker_by_hand():
    a, b = lab_frame(50, 10.0), lab_frame(50, 10.0, 6.0)
    # a -> b -> a: steps of |(0, 6)| = 6 each
    assert chroma_flicker([a, b, a]) == pytest.approx(6.0, rel=1e-3)
    with pytest.raises(ValueError):
        chroma_flicker([a])


# --- bad input loses nothing ------------------------------------------------------------------


def test_a_file_that_is_not_a_video_is_refused_and_nothing_is_written(tmp_path):
    text = tmp_path / "notes.mp4"
    text.write_text("not a video\n" * 20)
    png = tmp_path / "photo.png"
    Image.fromarray(moving_frames(1)[0]).save(png)
    sound = tmp_path / "sound.m4a"
    with av.open(str(sound), "w", format="mp4") as out:
        a = out.add_stream("aac", rate=RATE, layout="mono")
        frame = av.AudioFrame.from_ndarray(
            tone(4096)[None].astype(np.float32) / 32767, "fltp", "mono"
        )
        frame.sample_rate, frame.pts = RATE, 0
        out.mux(a.encode(frame))
        out.mux(a.encode(None))
    out = tmp_path / "out.mp4"
    for src, reason in [
        (text, "not a video"),
        (png, "still image"),
        (sound, "no video stream"),
        (tmp_path / "missing.mp4", "not found"),
    ]:
        with pytest.raises(PixelsmithError, match=reason) as e:
            process_video("superres", src, out, scale=2, device="cpu")
        assert e.value.path == str(src)
        assert not out.exists() and leftovers(tmp_path) == []


def test_the_input_is_never_overwritten(tmp_path):
    clip = tmp_path / "in.mp4"
    write_clip(clip, moving_frames(3), None)
    before = clip.read_bytes()
    link = tmp_path / "link.mp4"
    link.symlink_to(clip)
    for out in (clip, link, tmp_path / "." / "in.mp4"):
        with pytest.raises(PixelsmithError, match="never overwrites"):
            process_video("lowlight", clip, out, "gamma", overwrite=True, device="cpu")
    assert clip.read_bytes() == before and leftovers(tmp_path) == []


def test_an_existing_output_is_kept_without_overwrite(tmp_path):
    clip, out = tmp_path / "in.mp4", tmp_path / "out.mp4"
    write_clip(clip, moving_frames(3), None)
    out.write_bytes(b"keep me")
    with pytest.raises(PixelsmithError, match="exists"):
        process_video("lowlight", clip, out, "gamma", device="cpu")
    assert out.read_bytes() == b"keep me"
    process_video("lowlight", clip, out, "gamma", overwrite=True, device="cpu")
    assert len(decoded(out)) == 3


def test_a_run_that_fails_half_way_leaves_no_output(tmp_path):
    clip, out = tmp_path / "in.mp4", tmp_path / "out.mp4"
    write_clip(clip, moving_frames(8), "aac")

    def stop(done: int, total: int) -> None:
        if done == 4:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        process_video("lowlight", clip, out, "gamma", device="cpu", progress=stop)
    assert not out.exists() and leftovers(tmp_path) == []


@pytest.mark.parametrize("task", ["inpaint", "develop", "classify"])
def test_tasks_that_need_more_than_a_frame_are_refused(tmp_path, task):
    clip, out = tmp_path / "in.mp4", tmp_path / "out.mp4"
    write_clip(clip, moving_frames(2), None)
    with pytest.raises(PixelsmithError, match=f"the {task} task cannot run on video frames") as e:
        process_video(task, clip, out, device="cpu")
    usable = str(e.value).split("video tasks: ")[1].split(", ")
    assert {"colorize", "superres", "lowlight"} <= set(usable) and task not in usable
    assert not out.exists()


# --- any task that registers itself plugs in ----------------------------------------------------


class Negative(nn.Module):
    spec = ModelSpec(in_channels=3, out_channels=3, scale=1, receptive_field=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 1 - x


@dataclasses.dataclass
class Invert(Task):
    """A task landed later: the photographic negative; it asks for chroma smoothing."""

    name: ClassVar[str] = "invert"
    video_smoothing: ClassVar[str] = "chroma"

    def prepare(self, image: torch.Tensor, spec: ModelSpec) -> Prepared:
        return Prepared((image.expand(3, -1, -1)[None],))


def test_a_task_registered_later_runs_on_video(tmp_path, monkeypatch):
    monkeypatch.setitem(TASKS, "invert", f"{__name__}:Invert")
    assert "invert" in video_tasks()
    clip, out = tmp_path / "in.mp4", tmp_path / "out.mp4"
    write_clip(clip, moving_frames(4), None)
    report = process_video("invert", clip, out, Negative(), crf=0, device="cpu")
    assert report.smoothing == SMOOTH_STRENGTH  # as the task declares
    got, src = decoded(out), decoded(clip)
    assert psnr(got[0], 255 - src[0]) > 35  # the first frame is not smoothed


# --- the command --------------------------------------------------------------------------------


def test_the_command_upscales_and_reports_bad_input_in_one_line(tmp_path):
    """``video upscale`` takes the verb's flags (``--scale 2``; ``--opt scale=2``, deprecated,
    says the same); a bad flag is a usage error (2), a file or task that fails is one line (1)."""
    clip, out = tmp_path / "in.mp4", tmp_path / "out.mp4"
    write_clip(clip, moving_frames(3), "aac")
    runner = CliRunner()
    args = ["upscale", str(clip), str(out), "--scale", "2", "--model", "bicubic", "--crf", "23"]
    r = runner.invoke(video_command, args)
    assert r.exit_code == 0, r.output
    assert decoded(out)[0].shape == (2 * H, 2 * W, 3)
    assert "3 frames" in r.stderr and "audio copied: aac" in r.stderr
    old = ["superres", str(clip), str(tmp_path / "c.mp4"), "--opt", "scale=2", "--model", "bicubic"]
    assert runner.invoke(video_command, old).exit_code == 0
    assert decoded(tmp_path / "c.mp4")[0].shape == (2 * H, 2 * W, 3)

    b = str(tmp_path / "b.mp4")
    for argv, message in [
        (["upscale", str(clip), b, "--opt", "zoom=2"], "no option 'zoom'"),
        (["upscale", str(clip), b, "--opt", "scale=two"], "scale takes int"),
        (["upscale", str(clip), b, "--scale", "5"], "'5' is not one of '2', '3', '4'"),
        (["upscale", str(clip), b, "--scale", "2", "--opt", "scale=3"], "scale is given twice"),
    ]:
        r = runner.invoke(video_command, argv)
        assert r.exit_code == 2, (argv, r.output)
        assert message in " ".join(r.stderr.split()), r.stderr
    for argv, message in [
        (["upscale", str(tmp_path / "none.mp4"), b], "not found"),
        (["inpaint", str(clip), b], "cannot run on video frames"),
        (["upscale", str(clip), str(tmp_path / "b.gif")], "cannot write .gif"),
    ]:
        r = runner.invoke(video_command, argv)
        assert r.exit_code == 1, (argv, r.output)
        assert r.stderr.startswith("pixelsmith: error: ") and message in r.stderr
        assert len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "b.mp4").exists()


def test_options_take_the_type_of_the_tasks_field():
    assert parse_options(task_class("superres"), ["scale=2", "blind=yes"]) == {
        "scale": 2,
        "blind": True,
    }
    assert parse_options(task_class("colorize"), ["temperature=0.3", "decoding=mean"]) == {
        "temperature": 0.3,
        "decoding": "mean",
    }
    with pytest.raises(PixelsmithError, match="KEY=VALUE"):
        parse_options(task_class("colorize"), ["temperature"])
    with pytest.raises(PixelsmithError, match="blind takes bool"):
        parse_options(task_class("superres"), ["blind=maybe"])
    # an option whose default is the model's own takes a number, or none
    assert parse_options(task_class("colorize"), ["correction=0.2", "temperature=none"]) == {
        "correction": 0.2,
        "temperature": None,
    }


def test_importing_the_command_loads_neither_torch_nor_pyav():
    import subprocess
    import sys

    code = (
        "import sys; from pixelsmith.video import video_command; "
        "print('torch' in sys.modules, 'av' in sys.modules)"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert r.stdout.split() == ["False", "False"], r.stderr
