"""Super-resolution figures for BENCHMARKS.md: quality on Set5 by the SRCNN protocol, speed and memory.

    python benchmarks/superres.py            # everything (about 10 minutes on 2 cores)
    python benchmarks/superres.py --quality  # only the PSNR/SSIM table
    python benchmarks/superres.py --speed    # only speed and memory

Quality: MATLAB-bicubic degradation, PSNR and SSIM on Y, border shave = scale (pixelsmith.tasks.superres).
Speed: seconds per output megapixel and peak RSS for a 4-megapixel output, 1 and 2 threads, each in a
fresh process; multiply-adds per output pixel from pixelsmith.nn's accounting; the achieved GFLOP/s next
to the machine's measured fp32 matmul peak. Memory: peak RSS of a tiled 50-megapixel upscale.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import markdown_table, matmul_gflops, update_section  # noqa: E402

import pixelsmith  # noqa: E402
from pixelsmith.errors import PixelsmithError  # noqa: E402
from pixelsmith.paths import data_dir  # noqa: E402
from pixelsmith.tasks.superres import SuperRes  # noqa: E402


@dataclass(frozen=True)
class Row:
    """One model in the quality table: how to load it, at which scales, and the published figures."""

    label: str
    load: Callable[[int], torch.nn.Module]
    scales: tuple[int, ...] = (2, 3, 4)
    paper: dict[int, float] = field(default_factory=dict)
    source: str = ""


def _official(arch: str, data: str) -> Callable[[int], torch.nn.Module]:
    """The authors' MATLAB weights (../shared/data/weights/srcnn_official) in pixelsmith's SRCNN."""

    def load(scale: int) -> torch.nn.Module:
        from pixelsmith.weights import load_srcnn_official

        mat = data_dir() / f"weights/srcnn_official/{arch}_{data}_x{scale}.mat"
        return load_srcnn_official(mat, scale)

    return load


def _shipped(name: str, blind: bool = False) -> Callable[[int], torch.nn.Module]:
    def load(scale: int) -> torch.nn.Module:
        task = pixelsmith.get_task("superres", scale=scale, blind=blind)
        return pixelsmith.load_model(name, task=task)[0]

    return load


# Published Set5 PSNR: SRCNN ECCV 2014 (9-1-5, 91 images), SRCNN TPAMI 2016 (ImageNet),
# FSRCNN ECCV 2016 (the figure the LR-space successor must reach at x3).
ECCV_915 = {2: 36.34, 3: 32.39, 4: 30.09}
TPAMI_955 = {2: 36.66, 3: 32.75, 4: 30.49}
FSRCNN = {2: 36.94, 3: 33.06, 4: 30.55}
ROWS = [
    Row(
        "bicubic", _shipped("bicubic"), paper={2: 33.66, 3: 30.39, 4: 28.42}, source="SRCNN papers"
    ),
    Row(
        "official 9-1-5 (91 images)",
        _official("9-1-5", "91images"),
        paper=ECCV_915,
        source="ECCV 2014",
    ),
    Row(
        "official 9-1-5 (ImageNet)", _official("9-1-5", "ImageNet"), (3,), {3: 32.52}, "TPAMI 2016"
    ),
    Row(
        "official 9-3-5 (ImageNet)", _official("9-3-5", "ImageNet"), (3,), {3: 32.66}, "TPAMI 2016"
    ),
    Row(
        "official 9-5-5 (ImageNet)",
        _official("9-5-5", "ImageNet"),
        paper=TPAMI_955,
        source="TPAMI 2016",
    ),
    Row("srcnn_915", _shipped("srcnn_915"), paper={3: 32.52}, source="TPAMI 9-1-5"),
    Row("srcnn_935", _shipped("srcnn_935"), paper={3: 32.66}, source="TPAMI 9-3-5"),
    Row(
        "srcnn_955 (`--model srcnn`)", _shipped("srcnn_955"), paper=TPAMI_955, source="TPAMI 9-5-5"
    ),
    Row("lrnet_s (`--model lrnet`)", _shipped("lrnet_s"), paper=FSRCNN, source="FSRCNN"),
    Row("lrnet_m", _shipped("lrnet_m"), (3,), {3: 33.06}, "FSRCNN"),
    Row("lrnet_s blind (`--blind`)", _shipped("lrnet_s", blind=True)),
]
#: Timed as architectures (fresh weights): speed does not depend on the weights' values.
SPEED_MODELS = ["bicubic", "srcnn_915", "srcnn_935", "srcnn_955", "lrnet_s", "lrnet_m"]


def _model(name: str, scale: int) -> torch.nn.Module:
    """A registered architecture with fresh weights (for timing and MAC counts)."""
    from pixelsmith.models import create_model

    return create_model(name, scale=scale).eval()


def quality() -> None:
    set5 = data_dir() / "set5"
    rows = []
    for row in ROWS:
        for scale in row.scales:
            paper = row.paper.get(scale, "-")
            src = row.source if scale in row.paper else ""
            try:
                model = row.load(scale)
            except PixelsmithError:  # a model not trained yet is reported, not hidden
                rows.append([row.label, f"x{scale}", "-", "-", paper, src, "not trained yet"])
                continue
            r = SuperRes(scale).evaluate(model, set5)
            rows.append(
                [row.label, f"x{scale}", f"{r['psnr']:.2f}", f"{r['ssim']:.4f}", paper, src, ""]
            )
    header = ["model", "scale", "PSNR dB", "SSIM", "paper PSNR", "paper", "note"]
    body = markdown_table(header, rows)
    body += (
        '\n\n"official": the authors\' MATLAB weights (../shared/data/weights/srcnn_official) '
        "loaded into pixelsmith's SRCNN and run through the same protocol, a check of the protocol "
        "itself. The other rows are weights trained by pixelsmith on bsds500/train + sun_hays80 + "
        "t91 (see pixelsmith/pretrained/*.json for each command). The lrnet paper column is FSRCNN's "
        "figure, the floor the successor must reach; lrnet_m is trained at x3 only, to show what a "
        "bigger net buys."
    )
    update_section("superres-quality", "Super-resolution quality: Set5 (SRCNN protocol)", body)


def _run_fresh(code: str) -> dict:
    """Run ``code`` in a fresh Python process (so its peak RSS is its own); it prints one JSON line."""
    root = Path(__file__).resolve().parent.parent
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root)
    if r.returncode:
        raise RuntimeError(r.stderr[-2000:])
    return json.loads(r.stdout.strip().splitlines()[-1])


def _speed_probe(name: str, scale: int, threads: int, out_mp: float, tile: int) -> dict:
    """Run one timing in a fresh process (so peak RSS is its own)."""
    code = f"""
import json, resource, time, torch
torch.set_num_threads({threads}); torch.set_flush_denormal(True)
from benchmarks.superres import _model
from pixelsmith.pipeline import Pipeline
from pixelsmith.tasks.superres import SuperRes
side = round(({out_mp} * 1e6) ** 0.5 / {scale})
img = torch.rand(3, side, side)
model = _model({name!r}, {scale})
task = SuperRes({scale})
pipe = Pipeline.load(task, model, device="cpu", backend="torch", tile={tile})
pipe.run(img[:, :64, :64])
t = time.perf_counter()
out = pipe.run(img)
dt = time.perf_counter() - t
mp = out.shape[-1] * out.shape[-2] / 1e6
print(json.dumps({{"s_per_mp": dt / mp, "mp": mp,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""
    return _run_fresh(code)


def _cli_probe(name: str, scale: int, out_mp: float, tile: int) -> dict:
    """The whole ``pixelsmith upscale`` path (read PNG, upscale, write PNG atomically), in a fresh
    process: wall time and peak RSS. The input is a smooth synthetic photo-like image."""
    code = f"""
import json, resource, tempfile, time
from pathlib import Path
import numpy as np
from PIL import Image
import torch
torch.set_num_threads(2)
import pixelsmith
side = round(({out_mp} * 1e6) ** 0.5 / {scale})
rng = np.random.default_rng(0)
coarse = rng.random((side // 64 + 2, side // 64 + 2, 3)).astype(np.float32)
img = torch.nn.functional.interpolate(torch.from_numpy(coarse).permute(2, 0, 1)[None], size=(side, side), mode="bicubic")[0]
img = (img.clamp(0, 1) * 255).round().byte().permute(1, 2, 0).numpy()
img = np.clip(img.astype(np.int16) + rng.integers(-3, 4, img.shape), 0, 255).astype(np.uint8)
with tempfile.TemporaryDirectory() as d:
    src = Path(d) / "in.png"
    Image.fromarray(img).save(src)
    del img, coarse
    t = time.perf_counter()
    report = pixelsmith.restore_files([str(src)], "superres", {name!r}, scale={scale}, tile={tile}, out=str(Path(d) / "out.png"), device="cpu", progress=False)
    (dst,) = report.written
    dt = time.perf_counter() - t
    w, h = Image.open(dst).size
print(json.dumps({{"s": dt, "mp": w * h / 1e6,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""
    return _run_fresh(code)


def macs_per_output_pixel(name: str, scale: int) -> float:
    from pixelsmith.nn.accounting import summary

    h = 60
    return summary(_model(name, scale), (1, h, h)).total_macs / (h * scale) ** 2


def speed() -> None:
    peak = {t: matmul_gflops(t) for t in (1, 2)}
    rows = []
    for name in SPEED_MODELS:
        scale = 3
        macs = macs_per_output_pixel(name, scale)
        for threads in (1, 2):
            r = _speed_probe(name, scale, threads, 4.0, 256)
            gflops = 2 * macs * 1e6 / r["s_per_mp"] / 1e9
            rows.append(
                [
                    name,
                    f"x{scale}",
                    threads,
                    f"{macs / 1e3:.1f}k",
                    f"{r['s_per_mp']:.3f}",
                    f"{r['rss_mb']:.0f}",
                    f"{gflops:.1f} / {peak[threads]:.0f}",
                ]
            )
    header = [
        "model",
        "scale",
        "threads",
        "MACs / output px",
        "s / output MP",
        "peak RSS MB",
        "GFLOP/s achieved / matmul peak",
    ]
    body = markdown_table(header, rows)
    big_rows = []
    for name, tile in (("lrnet_s", 256), ("lrnet_s", 512), ("srcnn_955", 256)):
        r = _speed_probe(name, 4, 2, 50.0, tile)
        big_rows.append(
            [
                f"`Pipeline.run`, {name}",
                tile,
                f"{r['mp']:.1f}",
                f"{r['s_per_mp'] * r['mp']:.0f}",
                f"{r['rss_mb']:.0f}",
                "yes" if r["rss_mb"] < 2048 else "**no**",
            ]
        )
    r = _cli_probe("lrnet", 4, 50.0, 256)
    big_rows.append(
        [
            "`pixelsmith upscale` (PNG in and out), lrnet_s",
            256,
            f"{r['mp']:.1f}",
            f"{r['s']:.0f}",
            f"{r['rss_mb']:.0f}",
            "yes" if r["rss_mb"] < 2048 else "**no**",
        ]
    )
    big_header = ["path, model (x4, 2 threads)", "tile", "output MP", "s", "peak RSS MB", "< 2 GB"]
    body += (
        "\n\nA 4-megapixel RGB output (random content; the network runs on Y, chroma is bicubic), "
        "tiles of 256 input pixels, fp32, CPU, each row in a fresh process. MACs count the "
        "convolutions (`pixelsmith.nn.accounting.summary`), not the bicubic steps; "
        "GFLOP/s = 2 x MACs / time.\n\n"
        "Tiled 50-megapixel outputs: the network path alone (`Pipeline.run` on an in-memory "
        "tensor) and the whole command, which also decodes the input PNG and encodes the "
        "150 MB output PNG (its peak includes the Python and torch start-up, about 300 MB).\n\n"
        + markdown_table(big_header, big_rows)
    )
    update_section("superres-speed", "Super-resolution speed and memory (CPU)", body)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--quality", action="store_true")
    ap.add_argument("--speed", action="store_true")
    a = ap.parse_args()
    if data_dir() is None:
        sys.exit("../shared/data not found: set PIXELSMITH_DATA")
    if a.quality or not a.speed:
        quality()
    if a.speed or not a.quality:
        speed()
