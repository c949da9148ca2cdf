"""Speed and memory of MATLAB-bicubic ``imresize``: x2 of a 3000x4000 RGB float32 photo.

    python benchmarks/resize.py                            # pixelsmith.resize as it is now
    git show <commit>:pixelsmith/resize.py > /tmp/old_resize.py      # any earlier version
    python benchmarks/resize.py --compare /tmp/old_resize.py   # and a saved copy beside it

Each implementation runs in a fresh process: wall time of the first call (tables built) and of a
second one (tables cached), the RSS before the call and the peak RSS (``ru_maxrss``), and the largest
difference from the first implementation's output on a sparse grid of samples. Prints a markdown
table; with ``--write`` it also replaces the ``resize`` section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import resource
import shlex
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import machine, markdown_table, update_section  # noqa: E402

SHAPE = (3, 3000, 4000)
SCALE = 2
SAMPLE = (slice(None), slice(None, None, 97), slice(None, None, 89))


def _load(source: str):
    """``pixelsmith.resize``, or the module in the file ``source``."""
    if source == "pixelsmith":
        import pixelsmith.resize

        return pixelsmith.resize
    spec = importlib.util.spec_from_file_location("resize_under_test", source)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def _child(source: str, threads: int) -> None:
    import torch

    torch.set_num_threads(threads)
    imresize = _load(source).imresize
    x = torch.rand(SHAPE, generator=torch.Generator().manual_seed(0))
    before = _rss_mib()
    times, out = [], None
    for _ in range(2):
        out = None  # the first output is freed before the second call
        t = time.perf_counter()
        out = imresize(x, SCALE)
        times.append(time.perf_counter() - t)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    result = {
        "shape": list(out.shape),
        "first_s": times[0],
        "second_s": times[1],
        "rss_before_mib": before,
        "peak_rss_mib": peak,
        "sample": out[SAMPLE].double().flatten().tolist(),
    }
    print(json.dumps(result))


def measure(source: str, threads: int) -> dict:
    """Run the benchmark for ``source`` in a fresh interpreter; its JSON result."""
    cmd = [sys.executable, __file__, "--child", source, "--threads", str(threads)]
    r = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(r.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--compare",
        action="append",
        default=[],
        metavar="FILE",
        help="also time the imresize in this copy of resize.py (repeatable)",
    )
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: all)")
    parser.add_argument("--write", action="store_true", help="write the table to BENCHMARKS.md")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    import torch

    threads = args.threads or torch.get_num_threads()
    if args.child is not None:
        _child(args.child, threads)
        return
    sources = ["pixelsmith", *args.compare]
    results = {s: measure(s, threads) for s in sources}
    ref = torch.tensor(results["pixelsmith"]["sample"])
    rows = []
    for source, r in results.items():
        diff = (torch.tensor(r["sample"]) - ref).abs().max().item()
        rows.append(
            [
                "pixelsmith.resize (working tree)" if source == "pixelsmith" else f"`{source}`",
                "x".join(map(str, r["shape"])),
                f"{r['first_s']:.2f}",
                f"{r['second_s']:.2f}",
                f"{r['rss_before_mib']:.0f}",
                f"{r['peak_rss_mib']:.0f}",
                f"{diff:.1e}",
            ]
        )
    header = [
        "implementation",
        "output",
        "1st call s",
        "2nd call s",
        "RSS before MiB",
        "peak RSS MiB",
        "max diff",
    ]
    h, w = SHAPE[1:]
    intro = (
        f"imresize x{SCALE} of a {w}x{h} RGB float32 image, {threads} threads, fresh process each"
    )
    if args.write:
        update_section(
            "resize", "MATLAB-bicubic imresize", intro + "\n\n" + markdown_table(header, rows)
        )
        return
    print(intro + "\n")
    print(markdown_table(header, rows))
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    cmd = shlex.join(["python", *sys.argv])
    print(f"\nMachine: {machine()}. Command: `{cmd}`. Date: {stamp}.")


if __name__ == "__main__":
    main()
