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
