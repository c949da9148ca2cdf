"""The suite's regression records, on small fixed subsets: tests/fixtures/record_subsets.json.

    python benchmarks/record_subsets.py     # 2 min 42 s on 2 free cores; rewrites the fixture

A shipped model's record (``pixelsmith/pretrained/*.json``) holds figures measured on a whole
held-out set; re-measuring them takes minutes per model, too long for a suite a contributor runs
often. So the record tests in ``tests/test_colorize.py`` measure the same figures on a small
subset, chosen by a fixed rule, and compare them with the reference figures this script measures
on that subset (relative tolerance). This script also measures every figure on the whole set and
checks it against the record (to the record test's old tolerance, 0.05), and the fixture keeps
those whole-set figures, so the test can check that the fixture belongs to the record; the full
tables stay in BENCHMARKS.md (``benchmarks/colorize.py``).

The subset: the photos of the set, ordered by file name, every ``STRIDE``-th from the first
(a spread over the ImageNet classes rather than the first few synsets). Run this script again when
a shipped weight file or the measurement protocol changes on purpose; the test names the weight
file's SHA-256 the fixture was made for.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import sys
from dataclasses import replace
from pathlib import Path

import torch

import pixelsmith
from pixelsmith.export.backend import BACKEND_ENV
from pixelsmith.paths import data_dir
from pixelsmith.tasks import get_task
from pixelsmith.weights import list_pretrained

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests/fixtures/record_subsets.json"
COMMAND = "python benchmarks/record_subsets.py"
SOURCE = "imagenet_sample1000@tune"  # the set both colorize records were measured on
STRIDE = 4  # 100 photos -> 25
DEFAULT = "colorunet_s.photos"
L2 = "colorunet_s.photos_l2"
# the grid of benchmarks/colorize.py --decoding
TEMPERATURES = (0.38, 0.5, 0.6, 0.7, 0.85, 1.0)
BETAS = (0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.4)
RECORD_DECODING = (0.38, 0.5)  # what the trainer measured the default's record with
RECORD_TOLERANCE = 0.05  # the whole-set figures against the record, as the test checked them
BACKEND = "torch"  # what the suite runs networks in (tests/conftest.py), and the trainer measured


def subset(paths: list[Path]) -> list[Path]:
    """The fixed rule: ordered by file name, every STRIDE-th from the first."""
    return sorted(paths, key=lambda p: p.name)[::STRIDE]


def neighbours(temperature: float, correction: float) -> list[tuple[float, float]]:
    """The decodings next to ``(temperature, correction)`` in the --decoding grid."""
    i, j = TEMPERATURES.index(temperature), BETAS.index(correction)
    out = []
    for di, dj in ((-1, 0), (1, 0), (0, -1), (0, 1)):
        if 0 <= i + di < len(TEMPERATURES) and 0 <= j + dj < len(BETAS):
            out.append((TEMPERATURES[i + di], BETAS[j + dj]))
    return out


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main() -> None:
    argparse.ArgumentParser(description=__doc__.split("\n\n")[0]).parse_args()
    d = data_dir()
    if d is None:
        sys.exit("../shared/data not found (set PIXELSMITH_DATA)")
    torch.set_num_threads(2)  # as tests/conftest.py
    os.environ[BACKEND_ENV] = BACKEND
    task = get_task("colorize")
    every = task.eval_dataset(str(d / SOURCE))
    few = subset(every)
    pretrained = list_pretrained()

    def measure(net, photos, temperature=None, correction=None) -> dict[str, float]:
        options = {"temperature": temperature, "correction": correction}
        return pixelsmith.evaluate(net, photos, replace(task, **options))

    def check_record(name: str, whole: dict[str, float]) -> dict[str, float]:
        record = json.loads(pretrained[name].with_suffix(".json").read_text())
        assert record["validation"].split()[0].endswith(SOURCE), record["validation"]
        for key, want in record["metrics"].items():
            if abs(whole[key] - want) > RECORD_TOLERANCE:
                sys.exit(f"{name}: {key} on the whole set is {whole[key]}, its record {want}")
        return record["metrics"]

    net, _ = pixelsmith.load_model(DEFAULT, task=task)
    carried = (net.temperature, net.correction)
    decodings = [RECORD_DECODING, carried, *neighbours(*carried)]
    default = {"weights_sha256": sha256(pretrained[DEFAULT]), "decodings": []}
    for t, c in dict.fromkeys(decodings):
        print(f"{DEFAULT} T = {t}, correction = {c}", flush=True)
        default["decodings"].append(
            {
                "temperature": t,
                "correction": c,
                "subset": measure(net, few, t, c),
                "whole": measure(net, every, t, c),
            }
        )
    check_record(DEFAULT, default["decodings"][0]["whole"])
    default["carried"] = {"temperature": carried[0], "correction": carried[1]}

    print(L2, flush=True)
    l2 = {"weights_sha256": sha256(pretrained[L2]), "subset": measure(L2, few)}
    l2["whole"] = measure(L2, every)
    check_record(L2, l2["whole"])

    doc = {
        "command": COMMAND,
        "date": datetime.date.today().isoformat(),
        "torch": torch.__version__,
        "backend": BACKEND,
        "source": SOURCE,
        "rule": f"the photos of {SOURCE} ordered by file name, every {STRIDE}th from the first",
        "photos": [p.name for p in few],
        "whole_set_photos": len(every),
        DEFAULT: default,
        L2: l2,
    }
    FIXTURE.parent.mkdir(parents=True, exist_ok=True)
    FIXTURE.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"wrote {FIXTURE.relative_to(ROOT)}: {len(few)} of {len(every)} photos")


if __name__ == "__main__":
    main()
