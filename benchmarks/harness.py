"""Shared by every benchmark script: machine facts, a matmul peak, and updating BENCHMARKS.md.

Each script prints its table and replaces its own section of BENCHMARKS.md (between
``<!-- begin NAME -->`` and ``<!-- end NAME -->``), stamped with the machine, the command and the date.
"""

from __future__ import annotations

import datetime
import os
import platform
import shlex
import sys
import time
from pathlib import Path

import torch

from pixelsmith.io import atomic_write

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS_MD = ROOT / "BENCHMARKS.md"


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> str:
    return (
        f"{cpu_name()}, {os.cpu_count()} cores, torch {torch.__version__}, "
        f"Python {platform.python_version()}"
    )


def matmul_gflops(threads: int, n: int = 2048, repeats: int = 5) -> float:
    """Measured fp32 matmul throughput with ``threads`` threads, GFLOP/s (best of ``repeats``)."""
    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    a, b = torch.rand(n, n), torch.rand(n, n)
    a @ b
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t)
    torch.set_num_threads(old)
    return 2 * n**3 / best / 1e9


def markdown_table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def update_section(name: str, title: str, body: str) -> None:
    """Replace (or append) the section ``name`` of BENCHMARKS.md and print it."""
    cmd = shlex.join(["python", *sys.argv])
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    section = (
        f"<!-- begin {name} -->\n## {title}\n\n{body}\n\n"
        f"Machine: {machine()}. Command: `{cmd}`. Date: {stamp}.\n<!-- end {name} -->"
    )
    print(section)
    text = (
        BENCHMARKS_MD.read_text()
        if BENCHMARKS_MD.exists()
        else (
            "# Benchmarks\n\nEvery figure here is written by a script in `benchmarks/`; re-run it to "
            "refresh its section.\n"
        )
    )
    begin, end = f"<!-- begin {name} -->", f"<!-- end {name} -->"
    if begin in text:
        head, rest = text.split(begin, 1)
        text = head + section + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    atomic_write(BENCHMARKS_MD, text.encode(), overwrite=True)


def image_sheet(
    rows: list[list[torch.Tensor]], labels: list[str], path: Path, cell: int = 220
) -> None:
    """A grid of images ``(3, H, W)`` with column labels, saved as PNG."""
    import numpy as np
    from PIL import Image, ImageDraw

    sheet = Image.new("RGB", (cell * len(labels), 18 + cell * len(rows)), "white")
    draw = ImageDraw.Draw(sheet)
    for j, label in enumerate(labels):
        draw.text((j * cell + 4, 3), label, fill="black")
    for i, row in enumerate(rows):
        for j, img in enumerate(row):
            a = (img.clamp(0, 1).permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
            pil = Image.fromarray(a)
            pil.thumbnail((cell - 4, cell - 4))
            sheet.paste(pil, (j * cell + 2, 18 + i * cell + 2))
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path)
    print(path, flush=True)


# --- training records: the runs behind shipped weight files -----------------------------------


def train_run(name: str, args: list[str]) -> None:
    """Run the ``pixelsmith train ...`` command ``args`` into ``runs/<name>`` (it resumes)."""
    import subprocess

    args = [*args, "--out", f"runs/{name}"]
    print(shlex.join(args), flush=True)
    exe = str(Path(sys.executable).with_name("pixelsmith"))
    subprocess.run([exe, *args[1:]], cwd=ROOT, check=True)


def read_log(run: Path) -> list[dict[str, str]]:
    """The rows of a run's ``log.csv``."""
    import csv

    with open(run / "log.csv") as f:
        return list(csv.DictReader(f))


def ship_run(
    run: Path,
    dst: Path,
    record: dict,
    log_dir: Path | None = None,
    weights: str = "weights.safetensors",
) -> dict:
    """Copy ``run``'s ``weights`` to ``dst`` and write ``dst``'s ``.json`` record: ``record`` plus
    the command (from the weights' metadata), the steps, time and loss of the last log row, the
    validation log and the machine."""
    import json

    from pixelsmith.weights import read_metadata

    log = read_log(log_dir or run)
    last = log[-1]
    atomic_write(dst, (run / weights).read_bytes(), overwrite=True)
    record = {
        "command": read_metadata(dst)["command"],
        **record,
        "steps": int(last["step"]),
        "train_seconds_last_segment": float(last["elapsed_s"]),
        "final_loss": float(last["loss"]),
        "validation_log": {row["step"]: row["metrics"] for row in log if row["metrics"]},
        "machine": machine(),
    }
    atomic_write(
        dst.with_suffix(".json"), (json.dumps(record, indent=2) + "\n").encode(), overwrite=True
    )
    print(f"shipped {dst.name}: {last['metrics']}")
    return record


def runs_main(doc: str, runs: dict[str, list[str]], train, ship) -> None:
    """The command line of a ``train_*.py`` record script: ``NAME...`` trains then ships,
    ``--ship`` only ships, ``--list`` (or nothing) lists the runs."""
    import argparse

    ap = argparse.ArgumentParser(
        description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("names", nargs="*")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--ship", action="store_true", help="only ship an already trained run")
    a = ap.parse_args()
    if a.list or not a.names:
        for n, args in runs.items():
            print(f"{n}: {shlex.join(args)}")
    for n in a.names:
        if n not in runs:
            sys.exit(f"unknown run {n!r}; --list shows them")
        if not a.ship:
            train(n)
        ship(n)
