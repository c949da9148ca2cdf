"""Colour flicker of video colorization on a still scene, without and with temporal smoothing.

    python benchmarks/video.py                      # 640x480, 30 frames; writes BENCHMARKS.md
    python benchmarks/video.py --quick --no-write   # 64x48, 8 frames: a check that it runs

A still clip is made from a grey photo of scikit-image (``camera``; ``astronaut`` made grey),
repeated with fresh sensor noise (Gaussian, sigma = 3 of 255) in every frame, encoded losslessly
(libx264, crf 0) so that the colorizer sees the noise. Each clip is colorized by the shipped
default colorizer through ``pixelsmith.video.process_video`` (crf 0 again) at several smoothing
strengths. The table gives the flicker (the mean frame-to-frame change of ab, in CIE ab units,
:func:`pixelsmith.video.chroma_flicker`, on the decoded output), the mean chroma (smoothing must
steady the colours, not wash them out), how far each frame's L* moved from the input's (the
smoothing keeps L; what is left is the 8-bit and yuv420p round trip) and the speed (frames per
second of the whole run: decode, colorize, smooth, encode).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import markdown_table, update_section  # noqa: E402

from pixelsmith.video.defaults import SMOOTH_STRENGTH  # noqa: E402

STRENGTHS = (0.0, 0.5, 0.8, 0.9)
NOISE = 3.0  # sensor noise, standard deviation in 8-bit levels
FPS = 30


def grey_photo(name: str, size: tuple[int, int]) -> np.ndarray:
    """A scikit-image photo as grey levels ``(H, W)`` float in [0, 255], resized to ``size``
    ``(W, H)``."""
    from skimage import color, data, transform

    image = getattr(data, name)()
    if image.ndim == 3:
        image = color.rgb2gray(image) * 255
    w, h = size
    return transform.resize(image.astype(np.float64), (h, w), anti_aliasing=True)


def write_still_clip(path: Path, grey: np.ndarray, frames: int, seed: int = 0) -> None:
    """``frames`` copies of ``grey`` with fresh noise each, as a lossless H.264 clip."""
    import av

    rng = np.random.default_rng(seed)
    h, w = grey.shape
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.options = {"crf": "0"}
        for _ in range(frames):
            noisy = np.clip(grey + rng.normal(0, NOISE, grey.shape), 0, 255).round()
            rgb = np.repeat(noisy.astype(np.uint8)[..., None], 3, -1)
            out.mux(stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
        out.mux(stream.encode(None))


def read_frames(path: Path) -> list[torch.Tensor]:
    """The decoded frames of a video as ``(3, H, W)`` float tensors in [0, 1]."""
    import av

    with av.open(str(path)) as c:
        return [
            torch.from_numpy(f.to_ndarray(format="rgb24")).permute(2, 0, 1).float() / 255
            for f in c.decode(video=0)
        ]


def lightness(frames: list[torch.Tensor]) -> torch.Tensor:
    from pixelsmith.color import rgb_to_lab

    return torch.stack([rgb_to_lab(f[None])[0, 0] for f in frames])


def chroma(frames: list[torch.Tensor]) -> float:
    from pixelsmith.color import rgb_to_lab

    return float(
        torch.stack(
            [rgb_to_lab(f[None])[0, 1:].square().sum(0).sqrt().mean() for f in frames]
        ).mean()
    )


def measure(size: tuple[int, int], frames: int, photos: list[str]) -> tuple[list[list], str]:
    from pixelsmith.pipeline import Pipeline
    from pixelsmith.tasks import get_task
    from pixelsmith.video import chroma_flicker, process_video

    pipe = Pipeline.load(get_task("colorize"), None, device="cpu")
    net, info = pipe.net, pipe.info
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for photo in photos:
            clip = Path(tmp) / f"{photo}.mp4"
            write_still_clip(clip, grey_photo(photo, size), frames)
            L_in = lightness(read_frames(clip))
            for strength in STRENGTHS:
                out = Path(tmp) / f"{photo}_{strength}.mp4"
                report = process_video(
                    "colorize", clip, out, net, smooth=strength, crf=0, device="cpu"
                )
                decoded = read_frames(out)
                dL = (lightness(decoded) - L_in).abs()
                rows.append(
                    [
                        photo,
                        f"{strength:g}" + (" (default)" if strength == SMOOTH_STRENGTH else ""),
                        f"{chroma_flicker(decoded):.3f}",
                        f"{chroma(decoded):.2f}",
                        f"{float(dL.mean()):.2f} / {float(dL.max()):.2f}",
                        f"{report.fps:.1f}",
                    ]
                )
                print(rows[-1], flush=True)
    return rows, info.name if info else "default"


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--quick", action="store_true", help="64x48, 8 frames, one photo")
    ap.add_argument("--no-write", action="store_true", help="print, leave BENCHMARKS.md alone")
    args = ap.parse_args()
    size, frames, photos = (
        ((64, 48), 8, ["camera"]) if args.quick else ((640, 480), 30, ["camera", "astronaut"])
    )
    torch.manual_seed(0)
    rows, model = measure(size, frames, photos)
    header = [
        "photo",
        "smoothing",
        "flicker (ab / frame)",
        "mean chroma",
        "L* change, mean / max",
        "frames/s",
    ]
    table = markdown_table(header, rows)
    body = (
        f"A still scene, {size[0]}x{size[1]}, {frames} frames at {FPS} fps, fresh sensor noise "
        f"(sigma {NOISE:g}/255) in each frame; colorized by `{model}` with "
        "`pixelsmith.video.process_video` (lossless in and out, crf 0). Flicker: the mean "
        "frame-to-frame change of ab (CIE units) of the decoded output; 0 would be colours that "
        "never move. L* change: each frame's L* against the input's (the smoothing keeps L; the rest is "
        "the 8-bit and yuv420p round trip). Frames/s: the whole run (decode, colorize, smooth, "
        "encode).\n\n" + table
    )
    if args.no_write:
        print(body)
    else:
        update_section("video-flicker", "Video colorization: colour flicker on a still scene", body)


if __name__ == "__main__":
    main()
