"""What the default backend (ONNX Runtime on the CPU, ``--backend auto``) costs and saves on one
photo, task by task, against PyTorch eager: each row in fresh processes, as a user's run is.

    python benchmarks/default_backend.py      # writes the default-backend section of BENCHMARKS.md

For each photo task's default model, at two photo sizes, the time to load the model and make
one ``pixelsmith.restore`` call (imports excluded; prepare, tiles, network, decode included) in a
new process: PyTorch eager; the default with an empty cache (the export and its check are paid
here); the default with the cache filled (a later run on the same machine). The best of
``REPEATS`` processes each.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import markdown_table, update_section  # noqa: E402

REPEATS = 3
THREADS = 2
#: (task, options, how the photo is made): astronaut 512 x 512; darkened for low-light; a
#: transparent disc for inpainting.
CASES = [
    ("superres", {"scale": 2}, "photo", 512),
    ("superres", {"scale": 2}, "photo", 1536),
    ("superres", {"scale": 4}, "photo", 512),
    ("colorize", {}, "photo", 512),
    ("colorize", {}, "photo", 2048),
    ("lowlight", {}, "dark", 512),
    ("lowlight", {}, "dark", 2048),
    ("inpaint", {}, "hole", 512),
    ("inpaint", {}, "hole", 2048),
]

PROBE = """
import json, sys, time
import numpy as np, torch
torch.set_num_threads({threads})
import pixelsmith
from skimage import data
from skimage.transform import resize
side = {side}
photo = resize(data.astronaut(), (side, side), order=1).astype(np.float32)
kind = {kind!r}
if kind == "dark":
    photo = photo * 0.08
elif kind == "hole":
    yy, xx = np.mgrid[:side, :side] * (512 / side)
    alpha = ((yy - 200) ** 2 + (xx - 260) ** 2 > 60 ** 2).astype(np.float32)
    photo = np.dstack([photo, alpha])
task = pixelsmith.get_task({task!r}, **{options!r})
from pixelsmith.pipeline import Pipeline
t0 = time.perf_counter()
net = Pipeline.load(task, None, device="cpu").net  # the engine a run chooses, exported if need be
t1 = time.perf_counter()
out = pixelsmith.restore(photo, task, model=net, device="cpu")
t2 = time.perf_counter()
print(json.dumps({{"resolve": t1 - t0, "run": t2 - t1, "kind": type(net).__name__,
                   "model": task.default_model, "pixels": int(np.prod(out.shape[:2]))}}))
"""


def _once(task: str, options: dict, kind: str, side: int, env: dict) -> dict:
    code = PROBE.format(threads=THREADS, task=task, options=options, kind=kind, side=side)
    r = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    return json.loads(r.stdout.strip().splitlines()[-1])


def main() -> None:
    rows = []
    base = {**os.environ, "OMP_NUM_THREADS": str(THREADS)}
    for task, options, kind, side in CASES:
        eager = [
            _once(task, options, kind, side, {**base, "PIXELSMITH_BACKEND": "torch"})
            for _ in range(REPEATS)
        ]
        cold, warm = [], []
        for _ in range(REPEATS):
            with tempfile.TemporaryDirectory() as cache:
                env = {**base, "PIXELSMITH_BACKEND": "auto", "PIXELSMITH_CACHE": cache}
                cold.append(_once(task, options, kind, side, env))
                warm.append(_once(task, options, kind, side, env))
        e = min(x["resolve"] + x["run"] for x in eager)
        c = min(x["resolve"] + x["run"] for x in cold)
        w = min(x["resolve"] + x["run"] for x in warm)
        label = f"{task} {' '.join(f'{k}={v}' for k, v in options.items())}".strip()
        mp = eager[0]["pixels"] / 1e6
        rows.append(
            [
                label,
                f"{side} x {side}",
                f"{mp:.2f} MP",
                f"{e:.2f} s",
                f"{c:.2f} s (of which export + check {min(x['resolve'] for x in cold):.2f} s)",
                f"{w:.2f} s",
                f"{e / w:.2f}x",
                warm[0]["kind"],
            ]
        )
        print(rows[-1], flush=True)
    body = (
        markdown_table(
            [
                "task (default model)",
                "input",
                "output",
                "PyTorch eager",
                "default, first run on the machine",
                "default, cache filled",
                "speed-up",
                "runs as",
            ],
            rows,
        )
        + f"\n\nOne `pixelsmith.restore` call on scikit-image's astronaut (resized to the input "
        "side; x0.08 for low-light; a transparent disc for inpainting) in a fresh process, "
        f"{THREADS} threads, imports excluded, loading the model (and, for the default, its "
        f"export or ONNX Runtime session) included, the best of {REPEATS} processes. The default is `--backend auto`: ONNX Runtime on the CPU. Its first run on a "
        "machine exports the network and checks it against PyTorch at two sizes (that time is "
        "given); later runs read the export from the cache folder (docs/export.md)."
    )
    update_section("default-backend", "The default CPU path against PyTorch eager", body)


if __name__ == "__main__":
    main()
