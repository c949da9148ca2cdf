"""The training runs behind every shipped super-resolution weight file, re-runnable.

    python benchmarks/train_superres.py --list
    python benchmarks/train_superres.py lrnet_s_x3          # train (resumes), then ship
    python benchmarks/train_superres.py lrnet_s_x3 --ship   # only copy weights + write the record

Each run is one ``pixelsmith train superres`` command; its output folder is ``runs/<name>``.
Shipping copies ``runs/<name>/weights.safetensors`` to ``pixelsmith/pretrained/superres_<name>.safetensors``
and writes ``superres_<name>.json`` beside it: the command, the data, the Set5 metrics (SRCNN protocol),
the steps and the wall time from the CSV log.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import ROOT, read_log, runs_main, ship_run, train_run  # noqa: E402

DATA = "../shared/data"
TRAIN_SETS = ["bsds500/train", "sun_hays80", "t91"]


def _cmd(
    scale: int, model: str, steps: int, batch: int, patch: int, lr: float, extra=()
) -> list[str]:
    args = ["pixelsmith", "train", "superres", "--scale", str(scale), "--model", model]
    for d in TRAIN_SETS:
        args += ["--data", f"{DATA}/{d}"]
    args += [
        "--val-data",
        f"{DATA}/set5",
        "--steps",
        str(steps),
        "--batch-size",
        str(batch),
        "--patch-size",
        str(patch),
        "--lr",
        str(lr),
        "--min-lr",
        "1e-5",
        "--val-every",
        "2000",
        "--ckpt-every",
        "500",
        "--threads",
        "2",
        *extra,
    ]
    return args


def _ship_path(name: str) -> Path:
    return ROOT / "pixelsmith" / "pretrained" / f"superres_{name}.safetensors"


def _ship_rel(name: str) -> str:
    return str(_ship_path(name).relative_to(ROOT))


RUNS: dict[str, list[str]] = {
    "lrnet_s_x3": _cmd(3, "lrnet_s", 40_000, 32, 72, 1e-3),
    "srcnn_955_x3": _cmd(3, "srcnn_955", 18_000, 32, 48, 1e-3),
    "lrnet_s_x2": _cmd(2, "lrnet_s", 6_000, 32, 48, 5e-4, ["--init", _ship_rel("lrnet_s_x3")]),
    "lrnet_s_x4": _cmd(4, "lrnet_s", 6_000, 32, 96, 5e-4, ["--init", _ship_rel("lrnet_s_x3")]),
    "srcnn_955_x2": _cmd(
        2, "srcnn_955", 3_000, 32, 48, 3e-4, ["--init", _ship_rel("srcnn_955_x3")]
    ),
    "srcnn_955_x4": _cmd(
        4, "srcnn_955", 3_000, 32, 48, 3e-4, ["--init", _ship_rel("srcnn_955_x3")]
    ),
    "srcnn_915_x3": _cmd(3, "srcnn_915", 18_000, 32, 48, 1e-3),
    "srcnn_915_x2": _cmd(
        2, "srcnn_915", 3_000, 32, 48, 3e-4, ["--init", _ship_rel("srcnn_915_x3")]
    ),
    "srcnn_915_x4": _cmd(
        4, "srcnn_915", 3_000, 32, 48, 3e-4, ["--init", _ship_rel("srcnn_915_x3")]
    ),
    "srcnn_935_x3": _cmd(3, "srcnn_935", 18_000, 32, 48, 1e-3),
    "srcnn_935_x2": _cmd(
        2, "srcnn_935", 3_000, 32, 48, 3e-4, ["--init", _ship_rel("srcnn_935_x3")]
    ),
    "srcnn_935_x4": _cmd(
        4, "srcnn_935", 3_000, 32, 48, 3e-4, ["--init", _ship_rel("srcnn_935_x3")]
    ),
    # the bigger-net trade-off: 3x the parameters of lrnet_s, ~2.5x slower per step
    "lrnet_m_x3": _cmd(3, "lrnet_m", 12_000, 32, 72, 1e-3),
    "lrnet_s_x3_blind": _cmd(
        3, "lrnet_s", 8_000, 32, 72, 5e-4, ["--blind", "--init", _ship_rel("lrnet_s_x3")]
    ),
    "lrnet_s_x2_blind": _cmd(
        2, "lrnet_s", 8_000, 32, 48, 3e-4, ["--blind", "--init", _ship_rel("lrnet_s_x3_blind")]
    ),
    "lrnet_s_x4_blind": _cmd(
        4, "lrnet_s", 8_000, 32, 96, 3e-4, ["--blind", "--init", _ship_rel("lrnet_s_x3_blind")]
    ),
}


def train(name: str) -> None:
    train_run(name, RUNS[name])


def ship(name: str) -> None:
    run = ROOT / "runs" / name
    last = read_log(run)[-1]
    metrics = dict(kv.split("=") for kv in last["metrics"].split(";") if kv)
    ship_run(
        run,
        _ship_path(name),
        {
            "rerun": f"python benchmarks/train_superres.py {name}",
            "data": [f"{DATA}/{d}" for d in TRAIN_SETS],
            "validation": f"{DATA}/set5 (SRCNN protocol: Y, shave = scale)",
            "set5": {k: float(v) for k, v in metrics.items()},
        },
    )


if __name__ == "__main__":
    runs_main(__doc__, RUNS, train, ship)
