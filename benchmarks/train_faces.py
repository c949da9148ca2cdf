"""The training run behind ``pixelsmith/weights/classify_smallconvnet_faces.safetensors``.

    python benchmarks/train_faces.py            # train from scratch (seconds on one core),
                                                # ship, print the held-out accuracy

SmallConvNet (``smallconvnet``, defaults) on scikit-image's ``lfw_subset`` faces vs non-faces with
pixelsmith's Trainer: 150 training images, flips and 2-pixel shifts, cross-entropy, AdamW, one CPU
thread, seed 0. The run folder is ``runs/classify_faces`` (replaced on each run). Shipping copies
its ``weights.safetensors`` and writes ``classify_smallconvnet_faces.json`` beside it (the command,
the held-out metrics, the steps and the wall time).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import time
from pathlib import Path

import torch

from pixelsmith.resolver import load_model
from pixelsmith.tasks.classify import FacesTask
from pixelsmith.trainer import TrainConfig, Trainer

ROOT = Path(__file__).resolve().parent.parent
NAME = "classify_smallconvnet_faces"
COMMAND = "python benchmarks/train_faces.py"


def config(out: Path, steps: int = 500) -> TrainConfig:
    return TrainConfig(
        model="smallconvnet",
        data=["lfw_subset"],
        val_data="lfw_subset",
        out=str(out),
        steps=steps,
        batch_size=32,
        lr=3e-3,
        min_lr=1e-5,
        warmup_steps=50,
        weight_decay=1e-4,
        val_every=100,
        ckpt_every=100,
        threads=1,
        seed=0,
    )


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--steps", type=int, default=500)
    a = ap.parse_args()
    os.chdir(ROOT)  # the run folder is recorded relative to the checkout
    out = Path("runs") / "classify_faces"
    shutil.rmtree(out, ignore_errors=True)
    cfg = config(out, a.steps)
    command = COMMAND + (f" --steps {a.steps}" if a.steps != 500 else "")
    t0 = time.perf_counter()
    weights = Trainer(cfg, FacesTask(), command=command).run()
    seconds = time.perf_counter() - t0

    dst = ROOT / "pixelsmith" / "weights" / f"{NAME}.safetensors"
    shutil.copyfile(weights, dst)
    model, info = load_model(dst)
    metrics = FacesTask().evaluate(model)
    record = {
        "command": command,
        "data": "skimage.data.lfw_subset(): 150 training / 50 held-out images (25 + 25 per class)",
        "held_out": metrics,
        "steps": cfg.steps,
        "train_seconds": round(seconds, 1),
        "threads": cfg.threads,
        "parameters": sum(p.numel() for p in model.parameters()),
        "torch": torch.__version__,
    }
    dst.with_suffix(".json").write_text(json.dumps(record, indent=2) + "\n")
    size = dst.stat().st_size / 1024
    print(
        f"shipped {dst.relative_to(ROOT)} ({size:.0f} kB): held-out accuracy "
        f"{metrics['accuracy']:.3f}, loss {metrics['loss']:.4f} ({seconds:.0f} s)"
    )


if __name__ == "__main__":
    main()
