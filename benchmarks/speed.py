"""Speed of the shipped networks on this CPU by execution path, for BENCHMARKS.md.

    python benchmarks/speed.py                  # one model per family; writes the speed section
    python benchmarks/speed.py --all            # every shipped model
    python benchmarks/speed.py --models lrnet_s.x2 --quick --no-write   # a smoke test

For each model, the network alone (no prepare, tiling or decode) on one input of a tile's size
(``--side``, default 256, rounded up to the model's size multiple; a classifier's fixed input in
a batch of 256) with the inputs its task prepares (``pixelsmith.export.convert.input_layout``):

- ``eager``: the model as ``load_model`` gives it, fp32, under ``torch.inference_mode``;
- ``channels-last``: the model and its inputs in ``torch.channels_last``;
- ``torch.compile``: inductor, static shapes (the compile time is excluded and reported apart);
- ``bf16``: eager under ``torch.autocast("cpu", torch.bfloat16)``;
- ``ONNX Runtime``: the model's checked ONNX export (``pixelsmith.export``), CPU provider,
  as many threads as torch.

Each cell is seconds per output megapixel (per input megapixel for a classifier) and, in
brackets, the share of the machine's fp32 matmul peak it reaches: FLOPs per call counted by
``torch.utils.flop_counter.FlopCounterMode`` on the eager model (convolutions and matrix
products; not elementwise work nor SRCNN's bicubic step) over the time, against
``harness.matmul_gflops`` at the same thread count. The paths are timed in turns, one call each
per round after a warm-up, and each keeps its best round (a busy machine slows all alike). A
path whose output differs from eager fp32 by more than 1e-4 of the output's scale is marked
(bf16 always is: it is a different precision, listed for its speed); "fastest" names the fastest
path within that tolerance.

Two more columns time the whole inference flow, ``Pipeline.run`` (the task's
prepare, default tiling, the model, the task's decode) on a photo-like ``--pipeline-side`` px
square photo (512), eager and with the ONNX export: seconds per output megapixel of what a user
waits for (they need the ONNX Runtime path; a task that prepares no photo has none).

Families: variants that differ only in scale or training data (lrnet_s x2/x3/x4 and blind,
srcnn x2/x3/x4, the two pconv and VAE trainings, colornet's two heads) run one representative
unless ``--all``.
"""

from __future__ import annotations

import argparse
import copy
import math
import os
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import markdown_table, matmul_gflops, update_section  # noqa: E402

#: One shipped model per family (see the module doc).
FAMILIES = [
    "lrnet_s.x3",
    "lrnet_m.x3",
    "srcnn_915.x3",
    "srcnn_935.x3",
    "srcnn_955.x3",
    "colornet_s.photos",
    "deoldify_s.photos",
    "lowlight_unet.photos",
    "deepupe_s.photos",
    "zero_dce.photos",
    "sid_unet_s.unprocessed",
    "pconv_unet_s.photos",
    "inpaint_vae.photos",
    "smallconvnet.faces",
]
PATHS = ["eager", "channels-last", "torch.compile", "bf16", "ONNX Runtime"]
PIPELINE = ["eager", "ONNX Runtime"]
TOLERANCE = 1e-4


@dataclass
class Case:
    """One model on one input: what to call, what it costs, what eager fp32 gives."""

    name: str
    net: torch.nn.Module
    inputs: tuple[torch.Tensor, ...]
    pixels: int  # output pixels per call (input pixels for a classifier)
    per: str  # "output" or "input"
    flops: float
    reference: torch.Tensor
    task: Any = None
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    exported: Any = None  # the ONNX export, once the ONNX Runtime path has made it
    pipeline: dict[str, float] = field(default_factory=dict)  # path -> s per output MP


def make_case(name: str, side: int) -> Case:
    from torch.utils.flop_counter import FlopCounterMode

    from pixelsmith.export.convert import (
        example_inputs,
        input_layout,
        plan_sizes,
        resolve_for_export,
    )
    from pixelsmith.export.rewrites import _bake_parametrizations
    from pixelsmith.models import model_spec

    net, _, task = resolve_for_export(name, None)
    _bake_parametrizations(net)  # spectral norm's weights are fixed at inference: plain convs
    layout = input_layout(net, task)
    multiple = math.lcm(model_spec(net).size_multiple, task.align)
    _, _, fixed = plan_sizes(net, layout, task, multiple)
    if fixed:
        size = (256, *fixed)
    else:
        s = -(-side // multiple) * multiple
        size = (1, s, s)
    inputs = example_inputs(layout, size)
    counter = FlopCounterMode(display=False)
    with torch.inference_mode(), counter:
        out = net(*inputs)
    if out.dim() == 4:
        pixels, per = out.shape[0] * out.shape[2] * out.shape[3], "output"
    else:
        pixels, per = size[0] * size[1] * size[2], "input"
    flops = float(counter.get_total_flops())
    return Case(name, net, inputs, pixels, per, flops, out.float(), task)


def _paths(case: Case) -> dict[str, Any]:
    """``path -> (callable, inputs)`` builders; each may raise (then the path is skipped)."""

    def eager():
        return case.net, case.inputs

    def channels_last():
        net = copy.deepcopy(case.net).to(memory_format=torch.channels_last)
        return net, tuple(x.contiguous(memory_format=torch.channels_last) for x in case.inputs)

    def compiled():
        net = torch.compile(copy.deepcopy(case.net), dynamic=False)
        t = time.perf_counter()
        with torch.inference_mode():
            net(*case.inputs)
        case.results.setdefault("torch.compile", {})["compile_s"] = time.perf_counter() - t
        return net, case.inputs

    def bf16():
        def run(*xs):
            with torch.autocast("cpu", dtype=torch.bfloat16):
                return case.net(*xs)

        return run, case.inputs

    def onnxruntime():
        from pixelsmith.export.convert import export_bytes
        from pixelsmith.export.runtime import OrtRunner

        case.exported = export_bytes(case.name)
        return OrtRunner(case.exported.data), case.inputs

    return {
        "eager": eager,
        "channels-last": channels_last,
        "torch.compile": compiled,
        "bf16": bf16,
        "ONNX Runtime": onnxruntime,
    }


def measure(case: Case, paths: list[str], min_time: float, min_rounds: int = 5) -> None:
    """Build every path (a path that fails is skipped with its reason), check its output against
    eager fp32, then time the paths in turns, one call each per round, so that what else runs on
    the machine slows all of them alike; each path's time is its best round."""
    builders = _paths(case)
    scale = max(1.0, float(case.reference.abs().max()))
    ready = {}
    for path in paths:
        slot = case.results.setdefault(path, {})
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fn, inputs = builders[path]()
                with torch.inference_mode():
                    out = fn(*inputs)
                    fn(*inputs)  # warm-up
        except Exception as e:  # a path this build or model cannot take: say why, go on
            first = (str(e).strip().splitlines() or [""])[0]
            slot["skipped"] = f"{type(e).__name__}: {first[:160]}"
            continue
        diff = float((out.float() - case.reference).abs().max())
        slot.update(diff=diff, correct=diff <= TOLERANCE * scale)
        ready[path] = (fn, inputs)
    best = dict.fromkeys(ready, float("inf"))
    start, rounds = time.perf_counter(), 0
    with torch.inference_mode():
        while rounds < min_rounds or time.perf_counter() - start < min_time * len(ready):
            for path, (fn, inputs) in ready.items():
                t = time.perf_counter()
                fn(*inputs)
                best[path] = min(best[path], time.perf_counter() - t)
            rounds += 1
    for path, seconds in best.items():
        case.results[path]["seconds"] = seconds


def task_input(case: Case, side: int):
    """A photo-like ``side x side`` input of the model's task, as ``task.as_input`` gives it (with
    a transparent patch, the hole, for a task that needs one), or ``None`` for a task that
    prepares no photo (a classifier, a raw developer)."""
    from pixelsmith.export.convert import InputSpec, example_inputs

    c = case.task.example_shape[0]
    (photo,) = example_inputs([InputSpec("photo", c)], (1, side, side), seed=5)
    alpha = torch.ones(1, 1, side, side)
    alpha[..., side // 4 : side // 2, side // 3 : side // 2] = 0
    bound = case.task.bind(case.net)
    for candidate in (photo[0], torch.cat([photo, alpha], 1)[0]):
        try:
            given, _, _ = bound.as_input(candidate)
            bound.prepare(given, case.net.spec)
        except Exception:  # not this task's kind of input: try the next, or none
            continue
        return given
    return None


def measure_pipeline(case: Case, side: int, min_time: float, min_rounds: int = 3) -> None:
    """``Pipeline.run`` (prepare, tiles, model, decode) on a ``side`` px photo, eager vs the
    ONNX Runtime export, in turns: seconds per output megapixel, in ``case.pipeline``."""
    from pixelsmith.export.runtime import from_bytes
    from pixelsmith.pipeline import Pipeline

    given = task_input(case, side)
    if given is None or case.exported is None:
        return
    nets = {"eager": case.net, "ONNX Runtime": from_bytes(case.exported.data, "onnx")}
    pipes = {
        n: Pipeline.load(case.task, net, device="cpu", backend="torch") for n, net in nets.items()
    }
    best = dict.fromkeys(nets, float("inf"))
    pixels = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, pipe in pipes.items():  # warm-up, and the output's size
            out = pipe.run(given)
            pixels[name] = out.shape[-1] * out.shape[-2]
        start, rounds = time.perf_counter(), 0
        while rounds < min_rounds or time.perf_counter() - start < min_time * len(nets):
            for name, pipe in pipes.items():
                t = time.perf_counter()
                pipe.run(given)
                best[name] = min(best[name], time.perf_counter() - t)
            rounds += 1
    case.pipeline = {name: best[name] / (pixels[name] / 1e6) for name in nets}


def _cell(case: Case, path: str, peak: float) -> str:
    r = case.results.get(path, {})
    if "seconds" not in r:
        return "skipped" if r else "-"
    s_per_mp = r["seconds"] / (case.pixels / 1e6)
    share = case.flops / r["seconds"] / 1e9 / peak
    mark = "" if r["correct"] else " †"
    return f"{s_per_mp:.3g} s ({100 * share:.0f}%){mark}"


def fastest(case: Case) -> str:
    done = {p: r for p, r in case.results.items() if "seconds" in r and r["correct"]}
    if not done:
        return "-"
    best = min(done, key=lambda p: done[p]["seconds"])
    gain = done["eager"]["seconds"] / done[best]["seconds"] if "eager" in done else float("nan")
    return best if best == "eager" else f"{best} ({gain:.2f}x eager)"


def report(
    cases: list[Case],
    paths: list[str],
    peak: float,
    threads: int,
    side: int,
    pipeline_side: int,
) -> str:
    header = [
        "model",
        "input",
        "GFLOP / MP",
        *paths,
        "fastest within 1e-4",
        "pipeline: eager",
        "pipeline: ONNX Runtime",
    ]
    rows = []
    for c in cases:
        shape = "x".join(str(d) for d in c.inputs[0].shape)
        extra = f" (+{len(c.inputs) - 1} more)" if len(c.inputs) > 1 else ""
        gflop_per_mp = c.flops / 1e9 / (c.pixels / 1e6)
        per = "" if c.per == "output" else " (per input MP)"
        rows.append(
            [
                c.name + per,
                shape + extra,
                f"{gflop_per_mp:.2f}",
                *(_cell(c, p, peak) for p in paths),
                fastest(c),
                *(f"{c.pipeline[k]:.3g} s" if k in c.pipeline else "-" for k in PIPELINE),
            ]
        )
    notes = []
    for c in cases:
        for p in paths:
            r = c.results.get(p, {})
            if "skipped" in r:
                notes.append(f"- {c.name}, {p}: skipped ({r['skipped']})")
            elif r and not r.get("correct", True):
                notes.append(f"- {c.name}, {p}: max difference from eager fp32 {r['diff']:.2g} †")
        if "compile_s" in c.results.get("torch.compile", {}):
            notes.append(
                f"- {c.name}, torch.compile: first call (compilation) "
                f"{c.results['torch.compile']['compile_s']:.1f} s"
            )
    body = markdown_table(header, rows)
    body += (
        f"\n\nSeconds per output megapixel (each path's best round; the paths take turns) of "
        f"the network alone on one "
        f"input of about {side} px a side (rounded up to the model's size multiple; a "
        f"classifier: a batch of 256 at its fixed size, per input megapixel), {threads} "
        f"thread(s); in brackets the achieved FLOP rate as a share of the measured fp32 "
        f"matmul peak ({peak:.0f} GFLOP/s at {threads} thread(s)). FLOPs counted by "
        f"`torch.utils.flop_counter` (convolutions and matrix products). † differs from eager "
        f"fp32 by more than 1e-4 of the output's scale. The pipeline columns are the whole "
        f"inference flow (`Pipeline.run`: the task's prepare, default tiling, "
        f"the model, the task's decode) on a photo-like {pipeline_side} px square photo, eager "
        f"and with the ONNX export, in seconds per output megapixel; '-' for a task that "
        f"prepares no photo (the classifier, the raw developer)."
    )
    if notes:
        body += "\n\n" + "\n".join(notes)
    return body


def main(argv: list[str] | None = None) -> None:
    from pixelsmith.weights import list_pretrained

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default=None, help="comma-separated shipped names")
    ap.add_argument("--all", action="store_true", help="every shipped model")
    ap.add_argument("--paths", default=",".join(PATHS), help="comma-separated paths to time")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--side", type=int, default=256, help="input side (rounded up)")
    ap.add_argument(
        "--pipeline-side", type=int, default=512, help="photo side of the pipeline columns"
    )
    ap.add_argument("--quick", action="store_true", help="64 px inputs, short timings")
    ap.add_argument("--no-write", action="store_true", help="print only; leave BENCHMARKS.md")
    args = ap.parse_args(argv)
    names = (
        args.models.split(",") if args.models else list(list_pretrained()) if args.all else FAMILIES
    )
    unknown = [n for n in names if n not in list_pretrained()]
    if unknown:
        ap.error(f"not shipped: {', '.join(unknown)}")
    paths = [p for p in args.paths.split(",") if p]
    bad = [p for p in paths if p not in PATHS]
    if bad or "eager" not in paths:
        ap.error(f"paths are {', '.join(PATHS)} (eager included); got {args.paths}")
    side = 64 if args.quick else args.side
    pipeline_side = 96 if args.quick else args.pipeline_side
    min_time = 0.2 if args.quick else 1.0
    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    peak = matmul_gflops(args.threads)
    cases = []
    for name in names:
        case = make_case(name, side)
        measure(case, paths, min_time)
        measure_pipeline(case, pipeline_side, min_time)
        cases.append(case)
        line = ", ".join(f"{p} {_cell(case, p, peak)}" for p in paths)
        pipe = ", ".join(f"{k} {v:.3g} s/MP" for k, v in case.pipeline.items())
        print(f"{name}: {line}; pipeline: {pipe or '-'}", flush=True)
    body = report(cases, paths, peak, args.threads, side, pipeline_side)
    if args.no_write:
        print(body)
    else:
        update_section("speed", "Speed by execution path (CPU)", body)


if __name__ == "__main__":
    main()
