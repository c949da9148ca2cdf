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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import markdown_table, matmul_gflops, update_section  # noqa: E402

from pixelsmith.api import load_sr_model  # noqa: E402
from pixelsmith.errors import PixelsmithError  # noqa: E402
from pixelsmith.paths import data_dir  # noqa: E402
from pixelsmith.tasks.superres import SuperRes  # noqa: E402

PAPER = {  # Set5 PSNR (dB) as published
    ("bicubic", 2): 33.66,
    ("bicubic", 3): 30.39,
    ("bicubic", 4): 28.42,
    ("srcnn", 2): 36.66,
    ("srcnn", 3): 32.75,
    ("srcnn", 4): 30.49,  # TPAMI 2016, 9-5-5 ImageNet
    ("srcnn-official", 2): 36.66,
    ("srcnn-official", 3): 32.75,
    ("srcnn-official", 4): 30.49,
    ("lrnet", 3): 33.06,  # FSRCNN (ECCV 2016), the figure the successor must reach
}
MODELS = ["bicubic", "srcnn-official", "srcnn", "lrnet", "lrnet-blind"]
#: Timed as architectures (fresh weights): speed does not depend on the weights' values.
SPEED_MODELS = ["bicubic", "srcnn_955", "lrnet_s"]


def _model(name: str, scale: int):
    from pixelsmith.models import create_model, list_models

    if name in list_models():
        return create_model(name, scale=scale).eval()
    if name == "lrnet-blind":
        return load_sr_model("lrnet", scale, blind=True)[0]
    if name == "srcnn-official":
        from pixelsmith.weights import load_srcnn_official

        mat = data_dir() / f"weights/srcnn_official/9-5-5_ImageNet_x{scale}.mat"
        return load_srcnn_official(mat, scale)
    return load_sr_model(name, scale)[0]


def quality() -> None:
    set5 = data_dir() / "set5"
    rows = []
    for name in MODELS:
        for scale in (2, 3, 4):
            try:
                model = _model(name, scale)
            except PixelsmithError:  # a model not trained yet is reported, not hidden
                rows.append(
                    [
                        name,
                        f"x{scale}",
                        "-",
                        "-",
                        PAPER.get((name, scale), "-"),
                        "not trained yet",
                    ]
                )
                continue
            r = SuperRes(scale).evaluate(model, set5)
            rows.append(
                [
                    name,
                    f"x{scale}",
                    f"{r['psnr']:.2f}",
                    f"{r['ssim']:.4f}",
                    PAPER.get((name, scale), "-"),
                    "",
                ]
            )
    body = markdown_table(["model", "scale", "PSNR dB", "SSIM", "paper PSNR", "note"], rows)
    body += (
        "\n\nsrcnn-official: the authors' 9-5-5 ImageNet weights (../shared/data/weights) in "
        "pixelsmith's SRCNN; srcnn and lrnet: weights trained by pixelsmith (see "
        "pixelsmith/weights/*.json for the commands). The lrnet paper column is FSRCNN's figure, "
        "the floor the successor must reach."
    )
    update_section("superres-quality", "Super-resolution quality: Set5 (SRCNN protocol)", body)


def _speed_probe(name: str, scale: int, threads: int, out_mp: float, tile: int) -> dict:
    """Run one timing in a fresh process (so peak RSS is its own)."""
    code = f"""
import json, resource, time, torch
torch.set_num_threads({threads}); torch.set_flush_denormal(True)
from benchmarks.superres import _model
from pixelsmith.tasks.superres import upscale_image
side = round(({out_mp} * 1e6) ** 0.5 / {scale})
img = torch.rand(3, side, side)
model = _model({name!r}, {scale})
upscale_image(model, img[:, :64, :64], tile={tile})
t = time.perf_counter()
out = upscale_image(model, img, tile={tile})
dt = time.perf_counter() - t
mp = out.shape[-1] * out.shape[-2] / 1e6
print(json.dumps({{"s_per_mp": dt / mp, "mp": mp,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""
    root = Path(__file__).resolve().parent.parent
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root)
    if r.returncode:
        raise RuntimeError(r.stderr[-2000:])
    return json.loads(r.stdout.strip().splitlines()[-1])


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
    big = _speed_probe("lrnet_s", 4, 2, 50.0, 512)
    body += (
        "\n\nA 4-megapixel RGB output (random content; the network runs on Y, chroma is bicubic), "
        "tiles of 256 input pixels, fp32, CPU, each row in a fresh process. MACs count the "
        "convolutions (`pixelsmith.nn.accounting.summary`), not the bicubic steps; "
        "GFLOP/s = 2 x MACs / time.\n\n"
        f"Tiled 50-megapixel output (lrnet_s x4, tiles of 512, 2 threads): {big['mp']:.1f} MP in "
        f"{big['s_per_mp'] * big['mp']:.0f} s, peak RSS {big['rss_mb']:.0f} MB."
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
