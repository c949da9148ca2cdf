"""The training runs behind every shipped colorization weight file, re-runnable.

    python benchmarks/train_colorize.py --list
    python benchmarks/train_colorize.py colornet_s_photos          # train (resumes), then ship
    python benchmarks/train_colorize.py colornet_s_photos --ship   # only copy weights + record

Each run is one ``pixelsmith train colorize`` (or ``colorize-gan``) command; its output folder is
``runs/<name>``. Shipping copies the weights to ``pixelsmith/pretrained/colorize_<name>.safetensors``
and writes ``colorize_<name>.json`` beside it: the command, the data, the validation metrics (the
colorization protocol on BSDS500's held-out tenth), the steps and the wall time from the log.
Validation is on BSDS500's held-out tenth; the figures in BENCHMARKS.md are on the ImageNet
sample's held-out tenth and Kodak24, which neither training nor validation sees.
"""

from __future__ import annotations

import argparse
import csv
import json
import shlex
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import machine  # noqa: E402

from pixelsmith.io import atomic_write  # noqa: E402
from pixelsmith.weights import read_metadata  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DATA = "../shared/data"
TRAIN_SETS = ["imagenet_sample1000@train", "bsds500/train@train", "sun_hays80", "t91"]
VAL_SET = "bsds500/train@val"


def _cmd(verb: str, steps: int, extra=()) -> list[str]:
    args = ["pixelsmith", "train", verb]
    for d in TRAIN_SETS:
        args += ["--data", f"{DATA}/{d}"]
    return [
        *args,
        "--val-data",
        f"{DATA}/{VAL_SET}",
        "--steps",
        str(steps),
        "--threads",
        "2",
        *extra,
    ]


RUNS: dict[str, list[str]] = {
    # the shipped default: ~65 minutes on 2 cores
    "colornet_s_photos": _cmd("colorize", 4500, ["--val-every", "1500"]),
    # the L2 baseline on the same network, a shorter run (see BENCHMARKS.md)
    "colornet_s_photos_l2": _cmd("colorize", 1500, ["--head", "regression", "--val-every", "1500"]),
    # NoGAN: generator with the perceptual loss of colornet_s.photos's encoder, critic, adversarial
    "deoldify_s_photos": _cmd(
        "colorize-gan",
        500,
        ["--perceptual", "colornet_s.photos", "--val-every", "500"]
        + ["--critic-steps", "150", "--gan-steps", "250"],
    ),
}


def train(name: str) -> None:
    args = RUNS[name] + ["--out", f"runs/{name}"]
    print(shlex.join(args), flush=True)
    exe = str(Path(sys.executable).with_name("pixelsmith"))
    subprocess.run([exe, *args[1:]], cwd=ROOT, check=True)


def ship(name: str) -> None:
    run = ROOT / "runs" / name
    log_dir = run / "generator" if (run / "generator").is_dir() else run
    with open(log_dir / "log.csv") as f:
        log = list(csv.DictReader(f))
    last = log[-1]
    dst = ROOT / "pixelsmith" / "pretrained" / f"colorize_{name}.safetensors"
    atomic_write(dst, (run / "weights.safetensors").read_bytes(), overwrite=True)
    meta = read_metadata(dst)
    metrics = json.loads(meta.get("metrics", "{}"))
    record = {
        "command": meta["command"],
        "rerun": f"python benchmarks/train_colorize.py {name}",
        "data": [f"{DATA}/{d}" for d in TRAIN_SETS],
        "validation": f"{DATA}/{VAL_SET} (colorization protocol, short side 256)",
        "metrics": metrics,
        "steps": int(last["step"]),
        "train_seconds_last_segment": float(last["elapsed_s"]),
        "final_loss": float(last["loss"]),
        "validation_log": {row["step"]: row["metrics"] for row in log if row["metrics"]},
        "machine": machine(),
    }
    if (run / "nogan_log.csv").exists():
        rows = (run / "nogan_log.csv").read_text().strip().splitlines()
        record["nogan_last"] = rows[-1]
    atomic_write(
        dst.with_suffix(".json"), (json.dumps(record, indent=2) + "\n").encode(), overwrite=True
    )
    print(f"shipped {dst.name}: {metrics}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("names", nargs="*")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--ship", action="store_true", help="only ship an already trained run")
    a = ap.parse_args()
    if a.list or not a.names:
        for n, args in RUNS.items():
            print(f"{n}: {shlex.join(args)}")
    for n in a.names:
        if not a.ship:
            train(n)
        ship(n)
