"""Inpainting figures for BENCHMARKS.md and docs/research/inpaint.md: the paper's Table 1 on
photos and masks no model trained on, a 24-megapixel run, and held-out examples.

    python benchmarks/inpaint.py            # everything (about 10 minutes on 2 cores)
    python benchmarks/inpaint.py --table    # L1 / PSNR / SSIM per hole-ratio bucket, every method
    python benchmarks/inpaint.py --large    # time and peak memory of a 24-megapixel photo
    python benchmarks/inpaint.py --figure   # docs/img/inpaint_examples.png, inpaint_vae.png

Table (pixelsmith.tasks.inpaint_protocol): the photos of ``kodak24/`` (12 here), centre-cropped to
512 x 512, each with one of NVIDIA's test masks per bucket (``masks_nvidia_test``, the paper's own
holes; photo ``i`` of ``n`` takes the bucket's mask at ``i / n`` of its list, so both the
50-px-margin half and the border-touching half are used): 72 cases per method. Metrics of the 8-bit composite against
the photo. Training used ImageNet, BSDS500 and SUN photos with generated masks; validation the
ImageNet sample's held-out tenth with generated masks.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import image_sheet, markdown_table, update_section  # noqa: E402

import pixelsmith  # noqa: E402
from pixelsmith.paths import data_dir  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CLASSICAL = [
    ("Telea (OpenCV)", "telea"),
    ("Navier-Stokes (OpenCV)", "navier_stokes"),
    ("biharmonic (scikit-image)", "biharmonic"),
]


def _data() -> Path:
    d = data_dir()
    if d is None:
        sys.exit("needs ../shared/data (or PIXELSMITH_DATA)")
    return Path(d)


def methods() -> list[tuple[str, str]]:
    """``(label, model)``: the classical fills, then every shipped inpainting model."""
    return CLASSICAL + [(name, name) for name in pixelsmith.list_pretrained("inpaint")]


def table() -> None:
    from pixelsmith.data.masks import BUCKETS, bucket_name
    from pixelsmith.tasks.inpaint_protocol import evaluate_inpainter, summarise

    torch.set_num_threads(2)
    d = _data()
    task = pixelsmith.get_task("inpaint", masks=str(d / "masks_nvidia_test"))
    cases = task.eval_dataset(str(d / "kodak24"))
    names = [bucket_name(b) for b in range(len(BUCKETS))]
    results = {}
    for label, model in methods():
        net, _ = pixelsmith.load_model(model, task=task)
        results[label] = summarise(evaluate_inpainter(task, net, cases))
        print(label, {k: round(v, 3) for k, v in results[label].items() if k.startswith("psnr")})
    rows = []
    for metric, fmt in (("l1", "{:.2f}"), ("psnr", "{:.2f}"), ("ssim", "{:.3f}")):
        for label, r in results.items():
            cells = [r[f"{metric}@{n}"] * (100 if metric == "l1" else 1) for n in names]
            rows.append(
                [metric.upper() if metric != "l1" else "L1 (%)", label]
                + [fmt.format(c) for c in cells]
            )
    classical = [label for label, _ in CLASSICAL]
    margins = []
    for label, r in results.items():
        if label in classical:
            continue
        best = [max(results[c][f"psnr@{n}"] for c in classical) for n in names]
        margins.append(
            [label] + [f"{r[f'psnr@{n}'] - b:+.2f}" for n, b in zip(names, best, strict=True)]
        )
    body = (
        f"Kodak24 ({len(cases) // len(names)} photos, centre 512 x 512) with NVIDIA's test masks, "
        f"one per photo and bucket "
        f"({len(cases)} cases per method); the 8-bit composite against the photo. L1 is the mean "
        f"absolute error over the whole image in percent, as in the paper's Table 1.\n\n"
        + markdown_table(["metric", "method", *names], rows)
        + "\n\nPSNR margin of each learned model over the best classical method in each bucket "
        "(floor: positive from 0.1 up, at least +0.5 dB in 0.2-0.3 and 0.4-0.5):\n\n"
        + markdown_table(["model", *names], margins)
    )
    update_section("inpaint", "Inpainting: the partial-convolution paper's Table 1 protocol", body)


LARGE_CODE = """
import json, resource, time, torch
torch.set_num_threads(2)
import pixelsmith
from pixelsmith.data.masks import random_mask
h, w = {h}, {w}
g = torch.Generator().manual_seed(0)
photo = torch.nn.functional.interpolate(torch.rand(1, 3, 30, 40, generator=g), size=(h, w), mode='bilinear')[0]
hole = 1 - torch.nn.functional.interpolate(random_mask(400, 600, g, ratio=(0.2, 0.3))[None], size=(h, w))[0]
net, _ = pixelsmith.load_model('{model}', task='inpaint')
t = time.perf_counter()
out = pixelsmith.inpaint(photo, hole, net)
dt = time.perf_counter() - t
print(json.dumps({{"s": dt, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "buffers_mb": (photo.numel() + hole.numel() + out.numel()) * 4 / 2**20}}))
"""


def large() -> None:
    rows = []
    task = pixelsmith.get_task("inpaint")
    name = f"{task.default_model}.{task.pretrained_tag()}"
    for label, h, w in [("0.26 MP (512 x 512)", 512, 512), ("24 MP (6000 x 4000)", 4000, 6000)]:
        code = LARGE_CODE.format(h=h, w=w, model=name)
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
        if r.returncode:
            raise SystemExit(r.stderr)
        m = json.loads(r.stdout.strip().splitlines()[-1])
        rows.append([label, f"{m['s']:.1f}", f"{m['rss_mb']:.0f}", f"{m['buffers_mb']:.0f}"])
        print(rows[-1], flush=True)
    body = (
        f"`pixelsmith.inpaint` with `{name}`, a mask with a fifth to a third of the photo in holes, "
        "2 threads, each in a fresh process, default tiling (the mask cut with the photo into "
        "windows of four receptive radii). Peak RSS includes Python, torch and the model; "
        '"image buffers" is the float32 photo, mask and result, which the in-memory API holds.\n\n'
        + markdown_table(["photo", "seconds", "peak RSS MB", "image buffers MB"], rows)
    )
    update_section("inpaint-large", "Inpainting of large photos (CPU)", body)


def figure() -> None:
    """Six held-out Kodak photos with NVIDIA masks of rising hole ratio: input, each method,
    the photo."""
    from pixelsmith.images import MaskedImage
    from pixelsmith.models import model_spec
    from pixelsmith.tasks.base import run_whole
    from pixelsmith.tasks.inpaint_protocol import case_input

    torch.set_num_threads(2)
    d = _data()
    task = pixelsmith.get_task("inpaint", masks=str(d / "masks_nvidia_test"))
    cases = task.eval_dataset(str(d / "kodak24"))
    n = len(cases) // 6  # photos: the cases run bucket by bucket
    picks = [cases[b * n + i % n] for b, i in ((1, 2), (2, 7), (3, 10), (4, 4), (5, 8), (2, 11))]
    shown = [CLASSICAL[0]] + [(n, n) for n in pixelsmith.list_pretrained("inpaint")]
    nets = [pixelsmith.load_model(m, task=task)[0] for _, m in shown]
    rows = []
    for case in picks:
        photo, known = case_input(case)
        masked = photo * known + (1 - known) * torch.tensor([1.0, 1.0, 1.0]).view(3, 1, 1)
        row = [masked]
        for net in nets:
            prepared = task.bind(net).prepare(MaskedImage(photo, known), model_spec(net))
            row.append(run_whole(task.bind(net), net, prepared))
        rows.append([*row, photo])
    labels = ["input (hole white)", *[label.split(" (")[0] for label, _ in shown], "photo"]
    image_sheet(rows, labels, ROOT / "docs/img/inpaint_examples.png")
    vae_figure(picks[:4])


def vae_figure(picks) -> None:
    """The VAE: the feature-consistency term against the plain ELBO, and the fill steered by
    brightness and by hue (docs/img/inpaint_vae.png)."""
    from pixelsmith.tasks.inpaint_protocol import case_input

    shipped = pixelsmith.list_pretrained("inpaint")
    if not {"inpaint_vae.photos", "inpaint_vae.plain"} <= set(shipped):
        print("inpaint_vae.photos / .plain not shipped: no VAE figure")
        return
    steer = [
        ("brightness 0.2", {"brightness": 0.2}),
        ("brightness 0.8", {"brightness": 0.8}),
        ("hue 0 (red)", {"hue": 0, "saturation": 0.6}),
        ("hue 240 (blue)", {"hue": 240, "saturation": 0.6}),
    ]
    rows = []
    for case in picks:
        photo, known = case_input(case)
        hole = 1 - known
        row = [photo * known + hole]
        row.append(pixelsmith.inpaint(photo, hole, "inpaint_vae.plain"))
        row.append(pixelsmith.inpaint(photo, hole, "inpaint_vae.photos"))
        for _, attributes in steer:
            row.append(pixelsmith.inpaint(photo, hole, "inpaint_vae.photos", attributes=attributes))
        rows.append([*row, photo])
    labels = ["input", "plain ELBO", "+ feature term", *[n for n, _ in steer], "photo"]
    image_sheet(rows, labels, ROOT / "docs/img/inpaint_vae.png", cell=180)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    for flag in ("table", "large", "figure"):
        ap.add_argument(f"--{flag}", action="store_true")
    a = ap.parse_args()
    everything = not (a.table or a.large or a.figure)
    if a.table or everything:
        table()
    if a.large or everything:
        large()
    if a.figure or everything:
        figure()


if __name__ == "__main__":
    main()
