"""``pixelsmith run``: a tree of photos with a corrupt one, a kill and a restart, ranks that split
the files, torchrun on two "machines", options checked against the task, a task registered later;
and training in the multi-machine form."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import ClassVar, Literal

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image
from torch import nn

import pixelsmith
from pixelsmith.batch import RunInterrupted, plan_tree, run_tree, shard_of
from pixelsmith.commands.run import run_command
from pixelsmith.errors import PixelsmithError
from pixelsmith.models import ModelSpec
from pixelsmith.tasks import TASKS, task_class
from pixelsmith.tasks.base import Prepared, Task

BICUBIC = ["--model", "bicubic", "--opt", "scale=2", "-q"]
FOLDERS = ["", "a", "a/b", "c", "c/d e"]  # nested, and a name with a space


def _tree(root: Path, n: int, side: int = 24) -> list[str]:
    """``n`` random photos (PNG and JPEG by turns) in nested folders below ``root``; their
    relative paths."""
    rng = np.random.default_rng(n)
    rels = []
    for i in range(n):
        rel = str(Path(FOLDERS[i % len(FOLDERS)]) / f"p{i:03d}.{'png' if i % 2 else 'jpg'}")
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (side, side, 3), dtype=np.uint8)).save(root / rel)
        rels.append(rel)
    return rels


def _out(rel: str) -> str:
    """The output's path below OUT_DIR for x2 super-resolution, by the rule pixelsmith
    upscale follows (NAME_x2.png), spelled out by hand."""
    p = Path(rel)
    return str(p.parent / f"{p.stem}_x2.png")


def _outputs(out: Path) -> set[str]:
    return {str(p.relative_to(out)) for p in out.rglob("*.png")}


def _invoke(*args: str | Path):
    return CliRunner().invoke(run_command, [str(a) for a in args])


def _records(out: Path, rank: str = "") -> list[dict]:
    """The run records in OUT_DIR, oldest first (each run keeps its own), of one rank
    (``"rank-0-of-2"``) or of whole runs."""
    found = sorted(out.glob("pixelsmith-run.*.json"))
    found = [p for p in found if (rank in p.name if rank else ".rank-" not in p.name)]
    return [json.loads(p.read_text()) for p in found]


def _marked(path: Path, task: str = "superres") -> None:
    """A small image at ``path`` that carries a pixelsmith mark of ``task``: an earlier result."""
    from pixelsmith.io import write_image

    path.parent.mkdir(parents=True, exist_ok=True)
    write_image(path, torch.zeros(1, 4, 4), mark={"task": task}, overwrite=True)


def _stamps(out: Path) -> dict[str, tuple[int, int]]:
    """Each output's (inode, mtime in ns): a file written again changes both."""
    return {
        str(p.relative_to(out)): (p.stat().st_ino, p.stat().st_mtime_ns) for p in out.rglob("*.png")
    }


def test_two_hundred_photos_with_one_corrupt_write_199_and_exit_1(tmp_path):
    src, out = tmp_path / "photos", tmp_path / "out"
    rels = _tree(src, 200)
    corrupt = rels[77]
    (src / corrupt).write_bytes(b"\xff\xd8\xff\xe0 this is no JPEG, cut short")
    r = _invoke("superres", src, out, *BICUBIC)
    assert r.exit_code == 1, r.output
    good = [rel for rel in rels if rel != corrupt]
    assert _outputs(out) == {_out(rel) for rel in good}  # mirrored names, nothing else
    errors = [line for line in r.stderr.splitlines() if line.startswith("pixelsmith: error:")]
    assert len(errors) == 1 and str(src / corrupt) in errors[0]
    assert "199 done, 0 skipped, 1 failed" in r.stderr
    (summary,) = _records(out)
    assert (summary["done"], summary["skipped"], summary["failed"]) == (199, 0, 1)
    assert summary["failures"][0]["path"] == str(src / corrupt)

    # the result of one file is the API's result on that file (the one inference path)
    for rel in (good[0], good[1], good[-1]):  # a JPEG and PNGs, at three depths
        with Image.open(out / _out(rel)) as im:
            got = np.asarray(im.convert("RGB"))
        want = pixelsmith.upscale(str(src / rel), scale=2, model="bicubic")
        assert got.shape == (48, 48, 3)
        np.testing.assert_array_equal(got, (want.clamp(0, 1) * 255).round().byte().permute(1, 2, 0))

    # run again: nothing is redone, the corrupt file is reported again
    before = _stamps(out)
    r = _invoke("superres", src, out, *BICUBIC)
    assert r.exit_code == 1 and "0 done, 199 skipped, 1 failed" in r.stderr
    assert _stamps(out) == before
    first, second = _records(out)  # each run keeps its own record
    assert (first["done"], second["done"], second["skipped"]) == (199, 0, 199)


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_killed_half_way_and_restarted_finishes_without_redoing_finished_files(tmp_path):
    from pixelsmith.io.atomic import _host_tag

    src, out = tmp_path / "photos", tmp_path / "out"
    rels = _tree(src, 200, side=48)
    proc = subprocess.Popen(
        [sys.executable, "-m", "pixelsmith.cli", "run", "superres", str(src), str(out), *BICUBIC],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if out.is_dir() and sum(1 for _ in out.rglob("*.png")) >= 20:
            break
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    finished = _stamps(out)
    assert 20 <= len(finished) < 200, "the run should have been killed part-way"

    # what a writer killed in the middle of a file leaves: a temporary file beside the output's
    # name (here for a file not done yet), and one of a writer on another machine, still fresh
    todo = [rel for rel in rels if _out(rel) not in finished]
    name = Path(_out(todo[0]))
    (out / name.parent).mkdir(parents=True, exist_ok=True)
    dead = out / name.parent / f".{name.name}.{_dead_pid()}-{_host_tag()}.0123abcd.tmp"
    other = out / name.parent / f".{name.name}.4242-{'0' * 8}.89abcdef.tmp"
    for tmp in (dead, other):
        tmp.write_bytes(b"\x89PNG\r\n\x1a\n half a file")

    events = []
    report = run_tree("superres", src, out, "bicubic", scale=2, on_event=events.append)
    assert sorted(
        str(Path(e.source).relative_to(src)) for e in events if e.kind == "done"
    ) == sorted(todo)
    assert len(report.skipped) == len(finished) and not report.failed
    after = _stamps(out)
    assert {k: after[k] for k in finished} == finished  # not one finished file was written again
    assert set(after) == {_out(rel) for rel in rels}
    with Image.open(out / name) as im:
        assert im.size == (96, 96)
    assert not dead.exists(), "the dead writer's temporary file is swept"
    assert other.exists(), "another machine's writer may still be at work: left alone"
    assert list(out.rglob("*.tmp")) == [other]  # and whatever the killed run left, swept


def test_interrupted_run_keeps_what_it_computed_and_the_rerun_does_the_rest(tmp_path):
    src, out = tmp_path / "photos", tmp_path / "out"
    rels = _tree(src, 30)

    def stop_after_five(event) -> None:
        if event.kind == "done" and len(seen) == 4:
            raise KeyboardInterrupt
        seen.append(event)

    seen: list = []
    with pytest.raises(RunInterrupted) as info:
        run_tree("superres", src, out, "bicubic", scale=2, on_event=stop_after_five)
    on_disk = _stamps(out)
    # the results already computed were written before stopping, and are in the report
    assert 5 <= len(info.value.report.done) == len(on_disk) < 30
    assert {Path(p) for p in info.value.report.done} == {out / k for k in on_disk}
    events = []
    report = run_tree("superres", src, out, "bicubic", scale=2, on_event=events.append)
    assert len(report.done) == 30 - len(on_disk) and len(report.skipped) == len(on_disk)
    assert {Path(e.target) for e in events if e.kind == "skipped"} == {out / k for k in on_disk}
    assert _outputs(out) == {_out(rel) for rel in rels}
    assert {k: v for k, v in _stamps(out).items() if k in on_disk} == on_disk


def test_two_ranks_write_every_output_exactly_once_and_resume_alike(tmp_path):
    src, out = tmp_path / "photos", tmp_path / "out"
    rels = _tree(src, 40)
    done = {}
    for rank in (0, 1):
        events = []
        run_tree(
            "superres", src, out, "bicubic", scale=2, rank=rank, world_size=2,
            on_event=events.append,
        )  # fmt: skip
        assert all(e.kind == "done" for e in events)
        done[rank] = [str(Path(e.source).relative_to(src)) for e in events]
    assert done[0] and done[1] and not set(done[0]) & set(done[1])
    assert sorted(done[0] + done[1]) == sorted(rels)
    assert _outputs(out) == {_out(rel) for rel in rels}
    # resuming: each rank finds its share done; a share of 3 ranks is done where it is done
    again = run_tree("superres", src, out, "bicubic", scale=2, rank=1, world_size=2)
    assert not again.done and len(again.skipped) == len(done[1])
    (out / _out(rels[5])).unlink()
    owner = shard_of(Path(rels[5]).as_posix(), 3)
    redo = [
        run_tree("superres", src, out, "bicubic", scale=2, rank=r, world_size=3) for r in range(3)
    ]
    assert [len(rep.done) for rep in redo] == [int(r == owner) for r in range(3)]
    assert sum(rep.share for rep in redo) == 40


def test_shares_are_balanced_and_stable_when_files_are_added():
    names = [f"shoot{i // 100}/IMG_{i:05d}.JPG" for i in range(3000)]
    before = {n: shard_of(n, 3) for n in names}
    counts = np.bincount(list(before.values()), minlength=3)
    assert all(abs(c - 1000) < 5 * np.sqrt(3000 * (1 / 3) * (2 / 3)) for c in counts), counts
    more = names + [f"new/{i}.png" for i in range(500)]
    assert {n: shard_of(n, 3) for n in more if n in before} == before


def test_torchrun_on_two_machines_splits_the_tree_and_rank_0_combines(tmp_path):
    """The multi-machine command of docs/batch.md, both "machines" on localhost: two torchrun
    agents (--nnodes 2, one process each) meeting at the master's address."""
    src, out = tmp_path / "photos", tmp_path / "out"
    rels = _tree(src, 24)
    torchrun = Path(sys.executable).with_name("torchrun")
    with socket.socket() as sock:  # a free port for the rendezvous
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    nodes = [
        subprocess.Popen(
            [
                str(torchrun),
                "--nnodes",
                "2",
                "--node-rank",
                str(node),
                "--nproc-per-node",
                "1",
                "--master-addr",
                "127.0.0.1",
                "--master-port",
                str(port),
                "-m",
                "pixelsmith.cli",
                "run",
                "superres",
                str(src),
                str(out),
                *BICUBIC,
                "--distributed",
            ],  # fmt: skip
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for node in (0, 1)
    ]
    results = [p.communicate(timeout=240) for p in nodes]
    assert [p.returncode for p in nodes] == [0, 0], results[0][1][-3000:] + results[1][1][-3000:]
    assert _outputs(out) == {_out(rel) for rel in rels}
    ranks = [_records(out, f"rank-{k}-of-2")[0] for k in (0, 1)]
    assert [s["rank"] for s in ranks] == [0, 1]
    assert all(s["done"] > 0 and s["skipped"] == 0 and s["failed"] == 0 for s in ranks)
    assert ranks[0]["done"] + ranks[1]["done"] == 24  # no file was done by both ranks
    (total,) = _records(out)
    assert (total["ranks"], total["done"], total["failed"]) == (2, 24, 0)
    assert "(all 2 ranks): 24 done, 0 skipped, 0 failed" in results[0][1]  # rank 0's line
    assert "all 2 ranks" not in results[1][1]


def test_out_dir_inside_in_dir_never_takes_its_results_for_inputs(tmp_path):
    src = tmp_path / "photos"
    rels = _tree(src, 6)
    out = src / "results"
    assert _invoke("superres", src, out, *BICUBIC).exit_code == 0
    r = _invoke("superres", src, out, *BICUBIC)
    assert r.exit_code == 0 and "0 done, 6 skipped, 0 failed" in r.stderr, r.output
    assert _outputs(out) == {_out(rel) for rel in rels}
    # nor does a run into another folder: the earlier results are left out, and said so
    r = _invoke("superres", src, tmp_path / "elsewhere", *BICUBIC)
    assert r.exit_code == 0, r.output
    assert _outputs(tmp_path / "elsewhere") == {_out(rel) for rel in rels}
    assert "6 results of earlier runs are in IN_DIR and were left out" in r.stderr


def test_what_cannot_run_is_refused_before_any_work(tmp_path):
    src = tmp_path / "photos"
    _tree(src, 3)
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(src / "p000.png")  # p000.jpg is there
    r = _invoke("superres", src, tmp_path / "out", *BICUBIC)
    assert r.exit_code == 1
    assert "p000.jpg and p000.png would both be written here" in r.stderr
    assert not (tmp_path / "out").exists()
    (src / "p000.png").unlink()
    r = _invoke("superres", src, src, *BICUBIC)
    assert r.exit_code == 1 and "OUT_DIR is IN_DIR" in r.stderr
    r = _invoke("superres", tmp_path / "nowhere", tmp_path / "out", *BICUBIC)
    assert r.exit_code == 1 and "input folder not found" in r.stderr
    r = _invoke("superres", src, tmp_path / "no" / "such" / "out", *BICUBIC)
    assert r.exit_code == 1 and "folder above OUT_DIR does not exist" in r.stderr
    r = _invoke("superres", src, tmp_path / "out", "--model", "nosuchnet")
    assert r.exit_code == 1 and "nosuchnet" in r.stderr
    r = _invoke("classify", src, tmp_path / "out")
    assert r.exit_code == 1 and "does not restore images" in r.stderr
    r = _invoke("superres", src, tmp_path / "out", *BICUBIC, "--distributed")
    assert r.exit_code == 1 and "RANK and WORLD_SIZE" in r.stderr
    r = _invoke("superres", src, tmp_path / "out", *BICUBIC, "--rank", "2", "--world-size", "2")
    assert r.exit_code == 1 and "rank 2 of world size 2" in r.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["superess"], "unknown task 'superess' (did you mean superres?)"),
        (
            ["superres", "--opt", "scal=2"],
            "no option 'scal' (did you mean scale?); superres options: scale (int, default 3), "
            "blind (bool, default False)",
        ),
        (["superres", "--opt", "scale=two"], "scale='two': scale takes int"),
        (["superres", "--opt", "blind=maybe"], "blind takes bool"),
        (["superres", "--opt", "scale"], "'scale' is not KEY=VALUE"),
        (["superres", "--opt", "scale=2", "--opt", "scale=3"], "scale is given twice"),
        (["colorize", "--opt", "_bins=1"], "no option '_bins'"),  # a task's own state
    ],
)
def test_bad_task_names_and_options_are_usage_errors(tmp_path, args, message):
    r = _invoke(args[0], tmp_path, tmp_path / "out", *args[1:])
    assert r.exit_code == 2
    assert message in " ".join(r.stderr.split()), r.stderr
    assert not (tmp_path / "out").exists()


# --- a task that lands later plugs in by registering itself ---------------------------------


class _Identity(nn.Module):
    spec = ModelSpec(in_channels=3, out_channels=3, receptive_field=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


@dataclasses.dataclass
class Negative(Task):
    """A photographic negative, ``1 - gain * x`` (``mode="keep"``: the photo as it is)."""

    gain: float = 1.0
    mode: Literal["negate", "keep"] = "negate"
    note: str | None = None
    _state: int = 0

    name: ClassVar[str] = "negative"

    def prepare(self, image: torch.Tensor, spec: ModelSpec) -> Prepared:
        return Prepared(image.expand(3, -1, -1)[None])

    def decode(self, outputs: torch.Tensor, prepared: Prepared) -> torch.Tensor:
        return outputs if self.mode == "keep" else 1 - self.gain * outputs

    def output_suffix(self) -> str:
        return "_neg"


def test_a_task_registered_later_runs_with_its_own_options(tmp_path, monkeypatch):
    from pixelsmith.options import parse_options

    monkeypatch.setitem(TASKS, "negative", f"{__name__}:Negative")
    got = parse_options(task_class("negative"), ["gain=0.5", "mode=keep", "note=none"])
    assert got == {"gain": 0.5, "mode": "keep", "note": None}
    with pytest.raises(Exception, match="mode='flip': mode takes one of negate, keep"):
        parse_options(task_class("negative"), ["mode=flip"])

    src, out = tmp_path / "photos", tmp_path / "out"
    rels = _tree(src, 5, side=16)
    report = run_tree("negative", src, out, _Identity(), gain=1.0)
    assert len(report.done) == 5
    for rel in rels:
        target = out / Path(rel).parent / f"{Path(rel).stem}_neg.png"
        with Image.open(src / rel) as a, Image.open(target) as b:
            np.testing.assert_array_equal(np.asarray(b), 255 - np.asarray(a.convert("RGB")))


def test_plan_mirrors_names_and_leaves_out_earlier_results(tmp_path):
    src = tmp_path / "in [2024]"  # glob's special characters are names here
    files = ["x.y.jpg", "a/b/IMG.JPEG", "a/.hidden.png", ".cache/c.png", "a/notes.txt"]
    files += ["old/x.y_x3.png", "old/deeper/z.png", "top_x3.png"]
    for rel in files:
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.zeros((4, 4), np.uint8)).save(src / rel, format="PNG")
    for rel in ("old/x.y_x3.png", "old/deeper/z.png", "top_x3.png"):
        _marked(src / rel)  # results of earlier runs (top_x3.png of no input here)
    (src / "old" / "pixelsmith-run.20260101T000000Z-1.json").write_text("{}")  # an OUT_DIR
    plan = plan_tree(src, tmp_path / "out", "_x3", {".png", ".jpg", ".jpeg"}, "superres")
    assert [(j.rel, str(j.target.relative_to(tmp_path))) for j in plan.jobs] == [
        ("a/b/IMG.JPEG", "out/a/b/IMG_x3.png"),
        ("top_x3.png", "out/top_x3_x3.png"),  # a photo for all this run can tell
        ("x.y.jpg", "out/x.y_x3.png"),
    ]
    assert sorted(str(p.relative_to(src)) for p in plan.left_out) == [
        "old/deeper/z.png",
        "old/x.y_x3.png",
    ]
    # an OUT_DIR above IN_DIR: the input at another input's output path is a result
    nested = tmp_path / "shoot"
    for rel in ("inner/top.jpg", "inner/inner/top.png"):
        (nested / rel).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.zeros((4, 4), np.uint8)).save(nested / rel, format="PNG")
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(nested / "inner" / "top_x3.png")
    # without a mark, inner/top_x3.png is a photo of the user's, which inner/top.png's result
    # would replace: refused
    with pytest.raises(PixelsmithError, match="is an input; pixelsmith never overwrites"):
        plan_tree(nested / "inner", nested, "_x3", {".png", ".jpg"}, "superres")
    _marked(nested / "inner" / "top_x3.png")
    plan = plan_tree(nested / "inner", nested, "_x3", {".png", ".jpg"}, "superres")
    assert [j.rel for j in plan.jobs] == ["inner/top.png", "top.jpg"]
    assert plan.left_out == [nested / "inner" / "top_x3.png"]
    # a result of another task is a photo to this one
    _marked(nested / "inner" / "top_x3.png", task="colorize")
    with pytest.raises(PixelsmithError, match="is an input"):
        plan_tree(nested / "inner", nested, "_x3", {".png", ".jpg"}, "superres")
    with pytest.raises(PixelsmithError, match="no image files in this folder or below it"):
        plan_tree(src / ".cache", tmp_path / "out", "_x3", {".bmp"})


def test_training_in_the_multi_node_form_steps_on_both_machines_batches(photo_dir, tmp_path):
    """Two machines' worth of ranks, as torchrun --nnodes 2 --nproc-per-node 1 starts them
    (docs/batch.md): each process is told RANK, WORLD_SIZE and the master's address, and its
    LOCAL_RANK is 0 on both "machines". The weights are one process stepping on the mean of rank
    0's and rank 1's losses; a trainer that took LOCAL_RANK for its rank would train both on rank
    0's crops, and both would write the weights. (The processes are started with the variables
    directly: two torchrun agents more would double the test's time; the single-machine torchrun
    form is tests/test_train.py's.)"""
    from pixelsmith.data.photos import step_generator
    from pixelsmith.models import create_model
    from pixelsmith.tasks.superres import SuperRes
    from pixelsmith.trainer import TrainConfig
    from pixelsmith.weights import read_weights

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    out, steps = tmp_path / "ddp", 2
    train = [sys.executable, "-m", "pixelsmith.cli", "train", "superres", "--scale", "2"]
    train += ["--model", "lrnet_s", "--width", "8", "--blocks", "1", "--batch-size", "2"]
    train += ["--patch-size", "24", "--lr", "3e-3", "--warmup-steps", "1", "--threads", "1"]
    train += ["--seed", "7", "--grad-clip", "0", "--data", str(photo_dir), "--out", str(out)]
    train += ["--steps", str(steps)]
    ranks = [
        subprocess.Popen(
            train,
            env={
                **os.environ,
                "RANK": str(rank),
                "WORLD_SIZE": "2",
                "LOCAL_RANK": "0",
                "MASTER_ADDR": "127.0.0.1",
                "MASTER_PORT": str(port),
                "OMP_NUM_THREADS": "1",
            },
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for rank in (0, 1)
    ]
    results = [p.communicate(timeout=240) for p in ranks]
    assert [p.returncode for p in ranks] == [0, 0], results[0][1][-2000:] + results[1][1][-2000:]
    assert "weights.safetensors" in results[0][0] and "weights.safetensors" not in results[1][0]
    ddp, _ = read_weights(out / "weights.safetensors")

    cfg = TrainConfig(
        model="lrnet_s", data=[str(photo_dir)], out=str(tmp_path / "unused"), steps=steps,
        batch_size=2, patch_size=24, lr=3e-3, warmup_steps=1, seed=7, grad_clip=0.0,
    )  # fmt: skip
    task = SuperRes(2)
    data = task.load_data(cfg.data, cfg.patch_size)
    torch.manual_seed(cfg.seed)
    model = create_model("lrnet_s", scale=2, width=8, blocks=1)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    for step in range(steps):
        batches = [task.make_batch(data, 2, 24, step_generator(7, step, rank)) for rank in (0, 1)]
        for group in opt.param_groups:
            group["lr"] = cfg.lr_at(step)
        opt.zero_grad()
        (sum(task.loss(model(*b.inputs), b) for b in batches) / 2).backward()
        opt.step()
    for k, v in model.state_dict().items():
        torch.testing.assert_close(ddp[k], v, atol=1e-6, rtol=1e-5)


def test_run_takes_the_verb_its_flags_and_the_tasks_declared_inputs(tmp_path):
    """``run upscale ... --scale 2`` is ``run superres ... --opt scale=2``; ``run inpaint
    --mask`` gives every photo the one hole; a missing mask is one error before any work."""
    src = tmp_path / "photos"
    rels = _tree(src, 3)
    r = _invoke("upscale", src, tmp_path / "a", "--model", "bicubic", "--scale", "2", "-q")
    assert r.exit_code == 0, r.output
    assert _outputs(tmp_path / "a") == {_out(rel) for rel in rels}
    r = _invoke("upscale", src, tmp_path / "b", "--scale", "2", "--opt", "scale=3")
    assert r.exit_code == 2 and "scale is given twice" in r.stderr

    mask = tmp_path / "hole.png"
    hole = np.zeros((24, 24), np.uint8)
    hole[8:16, 8:16] = 255
    Image.fromarray(hole).save(mask)
    r = _invoke("inpaint", src, tmp_path / "c", "--model", "telea", "--mask", mask, "-q")
    assert r.exit_code == 0, r.output
    with Image.open(src / rels[0]) as a, Image.open(tmp_path / "c" / _inpainted(rels[0])) as b:
        a, b = np.asarray(a.convert("RGB")).astype(int), np.asarray(b).astype(int)
    keep = hole == 0
    assert np.abs(a[keep] - b[keep]).max() <= 1 and np.abs(a[~keep] - b[~keep]).max() > 0
    r = _invoke("inpaint", src, tmp_path / "d", "--model", "telea", "--mask", tmp_path / "no.png")
    assert r.exit_code == 1 and r.stderr.count("no.png") == 1, r.stderr
    assert not (tmp_path / "d").exists()


def _inpainted(rel: str) -> str:
    return str(Path(rel).parent / f"{Path(rel).stem}_inpainted.png")
