"""The Trainer: bit-exact resume after a kill, logs, weight metadata, torchrun, DataLoader
workers, --init, divergence, unreadable checkpoints and the torch settings a run restores."""

from __future__ import annotations

import dataclasses
import io
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from pixelsmith import trainer as trainer_module
from pixelsmith.config import build_config
from pixelsmith.errors import PixelsmithError
from pixelsmith.models import create_model
from pixelsmith.resolver import load_model
from pixelsmith.tasks.base import Batch
from pixelsmith.tasks.superres import SuperRes
from pixelsmith.trainer import TrainConfig, Trainer, _flush_denormal_is_on
from pixelsmith.weights import read_weights

SMALL = [
    "--model",
    "lrnet_s",
    "--width",
    "8",
    "--blocks",
    "1",
    "--batch-size",
    "4",
    "--patch-size",
    "24",
    "--lr",
    "3e-3",
    "--warmup-steps",
    "2",
    "--threads",
    "1",
    "--seed",
    "7",
]


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "pixelsmith.cli", *args]


def _config(photo_dir: Path, out: Path, steps: int, **kw) -> TrainConfig:
    return TrainConfig(
        model="lrnet_s",
        model_kwargs={"width": 8, "blocks": 1},
        data=[str(photo_dir)],
        out=str(out),
        steps=steps,
        batch_size=4,
        patch_size=24,
        lr=3e-3,
        warmup_steps=2,
        threads=1,
        seed=7,
        **kw,
    )


@pytest.fixture
def one_thread():
    n = torch.get_num_threads()
    yield
    torch.set_num_threads(n)


def test_resume_after_kill_is_bit_exact(photo_dir, tmp_path, one_thread):
    steps = 300
    straight = Trainer(_config(photo_dir, tmp_path / "a", steps, ckpt_every=10), SuperRes(2)).run()

    out = tmp_path / "b"
    proc = subprocess.Popen(
        _cli(
            "train",
            "superres",
            "--scale",
            "2",
            *SMALL,
            "--data",
            str(photo_dir),
            "--out",
            str(out),
            "--steps",
            str(steps),
            "--ckpt-every",
            "10",
        ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    ckpt = out / "checkpoint.pt"
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if ckpt.exists() and torch.load(ckpt, weights_only=True)["step"] >= 20:
            break
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    killed_at = torch.load(ckpt, weights_only=True)["step"]
    assert 0 < killed_at < steps, "the run should have been killed part-way"
    assert not (out / "weights.safetensors").exists()

    resumed = Trainer(_config(photo_dir, out, steps, ckpt_every=10), SuperRes(2)).run()
    a, _ = read_weights(straight)
    b, _ = read_weights(resumed)
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    assert not list(out.glob("*.tmp")), "no temporary files left behind"


def test_training_learns_and_records_everything(photo_dir, tmp_path, one_thread, shared_data):
    cfg = _config(
        photo_dir, tmp_path, 60, val_every=60, ckpt_every=10, val_data=str(shared_data / "set5")
    )
    path = Trainer(cfg, SuperRes(2), command="pixelsmith train superres (test)").run()
    model, info = load_model(path)
    assert info.task == "superres" and info.arch == "lrnet_s"
    assert info.arch_kwargs == {"scale": 2, "width": 8, "blocks": 1}
    assert info.config["steps"] == 60 and info.config["task"] == {"scale": 2, "blind": False}
    assert info.command == "pixelsmith train superres (test)"
    assert set(info.metrics) == {"psnr", "ssim"}
    # an untrained LRNet is nearest-neighbour upsampling (its last layer starts at zero)
    nearest = SuperRes(2).evaluate(
        create_model("lrnet_s", scale=2, width=8, blocks=1), shared_data / "set5"
    )
    assert info.metrics["psnr"] > nearest["psnr"] + 0.5
    log = (tmp_path / "log.csv").read_text().splitlines()
    assert log[0].startswith("step,loss,lr")
    rows = [line.split(",") for line in log[1:]]
    assert [int(r[0]) for r in rows] == [0, 10, 20, 30, 40, 50, 60]
    # the step-0 row is the untrained model's validation; only it and the last row carry metrics
    assert rows[0][5] == f"psnr={nearest['psnr']:.4f};ssim={nearest['ssim']:.4f}"
    assert [bool(r[5]) for r in rows] == [True] + [False] * 5 + [True]
    losses = [float(r[1]) for r in rows[1:]]
    assert losses[-1] < losses[0]


def test_resume_refuses_other_settings(photo_dir, tmp_path, one_thread):
    Trainer(_config(photo_dir, tmp_path, 4, ckpt_every=2), SuperRes(2)).run()
    with pytest.raises(PixelsmithError, match="batch_size 4 -> 8"):
        cfg = dataclasses.replace(_config(photo_dir, tmp_path, 4, ckpt_every=2), batch_size=8)
        Trainer(cfg, SuperRes(2)).run()


def test_config_errors_are_clear(photo_dir, tmp_path):
    for bad, match in (
        ({"val_every": 0}, "--val-every"),
        ({"ema": 1.0}, "--ema"),
        ({"model": "smallconvnet"}, "classify model"),
    ):
        cfg = dataclasses.replace(_config(photo_dir, tmp_path, 4), **bad)
        with pytest.raises(PixelsmithError, match=match):
            Trainer(cfg, SuperRes(2))


def test_learning_rate_schedule():
    cfg = TrainConfig(steps=100, lr=1e-3, min_lr=1e-5, warmup_steps=10)
    assert cfg.lr_at(0) == pytest.approx(1e-4)
    assert cfg.lr_at(9) == pytest.approx(1e-3)
    assert cfg.lr_at(10) == pytest.approx(1e-3)
    assert cfg.lr_at(55) == pytest.approx(1e-5 + 0.5 * (1e-3 - 1e-5))
    assert cfg.lr_at(100) == pytest.approx(1e-5)


def test_config_layers_yaml_then_flags(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("steps: 5\nlr: 0.01\nbatch_size: 2\n")
    cfg = build_config(str(f), {"lr": 0.5, "data": ("x", "y"), "steps": None})
    assert (cfg.steps, cfg.lr, cfg.batch_size, cfg.data) == (5, 0.5, 2, ["x", "y"])
    f.write_text("stepz: 5\n")
    with pytest.raises(PixelsmithError, match="stepz"):
        build_config(str(f), {})


def test_torchrun_equals_one_process_on_both_ranks_batches(photo_dir, tmp_path, one_thread):
    """DistributedDataParallel on CPU (gloo) under torchrun: two ranks averaging their gradients
    give the weights of one process stepping on the mean of both ranks' losses."""
    out, steps = tmp_path / "ddp", 3
    torchrun = Path(sys.executable).with_name("torchrun")
    with socket.socket() as sock:  # a free port for the rendezvous
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    r = subprocess.run(
        [
            str(torchrun),
            "--nproc_per_node",
            "2",
            "--master_port",
            str(port),
            "-m",
            "pixelsmith.cli",
            "train",
            "superres",
            "--scale",
            "2",
            *SMALL,
            "--grad-clip",
            "0",
            "--data",
            str(photo_dir),
            "--out",
            str(out),
            "--steps",
            str(steps),
        ],
        capture_output=True,
        text=True,
        timeout=240,
    )
    # the head of stderr holds a rank's own error; the tail is torchrun's report of it
    assert r.returncode == 0, r.stderr[:2000] + "\n[...]\n" + r.stderr[-1000:]
    assert r.stdout.count("weights.safetensors") == 1, "only rank 0 reports the weight file"
    ddp, info = read_weights(out / "weights.safetensors")
    assert info.config["steps"] == steps

    from pixelsmith.data.photos import step_generator

    cfg = _config(photo_dir, tmp_path / "unused", steps, grad_clip=0.0)
    task = SuperRes(2)
    data = task.load_data(cfg.data, cfg.patch_size)
    torch.manual_seed(cfg.seed)
    model = create_model("lrnet_s", scale=2, width=8, blocks=1)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    for step in range(steps):
        losses = []
        for rank in (0, 1):
            batch = task.make_batch(
                data, cfg.batch_size, cfg.patch_size, step_generator(7, step, rank)
            )
            losses.append(task.loss(model(*batch.inputs), batch))
        for group in opt.param_groups:
            group["lr"] = cfg.lr_at(step)
        opt.zero_grad()
        (sum(losses) / 2).backward()
        opt.step()
    for k, v in model.state_dict().items():
        torch.testing.assert_close(ddp[k], v, atol=1e-6, rtol=1e-5)


def test_uncached_photo_folder_gives_the_same_crops(photo_dir):
    from pixelsmith.data.photos import PhotoFolder, step_generator

    cached, lazy = PhotoFolder([photo_dir]), PhotoFolder([photo_dir], cache=False)
    assert lazy.images == [] and len(lazy) == len(cached) == 4
    a = cached.random_crops(6, 32, step_generator(1, 2))
    b = lazy.random_crops(6, 32, step_generator(1, 2))
    assert torch.equal(a, b)


def test_ema_after_one_step_follows_the_formula(photo_dir, tmp_path, one_thread):
    """EMA with decay d after one step is d * init + (1 - d) * (the plain model after that step)."""
    torch.manual_seed(7)  # the Trainer seeds, then builds the model
    w0 = create_model("lrnet_s", scale=2, width=8, blocks=1).state_dict()
    w1, _ = read_weights(Trainer(_config(photo_dir, tmp_path / "p", 1), SuperRes(2)).run())
    we, _ = read_weights(Trainer(_config(photo_dir, tmp_path / "e", 1, ema=0.9), SuperRes(2)).run())
    for k in w0:
        torch.testing.assert_close(we[k], 0.9 * w0[k] + 0.1 * w1[k], atol=1e-7, rtol=1e-5)


def test_ema_weights_are_a_smoothed_copy(photo_dir, tmp_path, one_thread):
    plain = Trainer(_config(photo_dir, tmp_path / "p", 20), SuperRes(2)).run()
    ema = Trainer(_config(photo_dir, tmp_path / "e", 20, ema=0.9), SuperRes(2)).run()
    a, _ = read_weights(plain)
    b, _ = read_weights(ema)
    assert any(not torch.equal(a[k], b[k]) for k in a)
    ck = torch.load(tmp_path / "e" / "checkpoint.pt", weights_only=True)
    assert ck["ema"] is not None and torch.equal(ck["ema"]["head.weight"], b["head.weight"])


class NaNLossAfter(SuperRes):
    """Super-resolution whose loss turns NaN after ``after`` good steps: divergence on cue."""

    def __init__(self, after: int) -> None:
        super().__init__(2)
        self.after, self.calls = after, 0

    def loss(self, prediction: torch.Tensor, batch: Batch) -> torch.Tensor:
        self.calls += 1
        loss = super().loss(prediction, batch)
        return loss * float("nan") if self.calls > self.after else loss


def _all_finite(path: Path) -> bool:
    ck = torch.load(path, weights_only=True)
    return all(torch.isfinite(v).all() for v in ck["model"].values())


def test_divergence_stops_naming_the_steps_and_the_last_good_checkpoint(
    photo_dir, tmp_path, one_thread
):
    cfg = _config(photo_dir, tmp_path, 40, ckpt_every=10)
    with pytest.raises(PixelsmithError) as e:
        Trainer(cfg, NaNLossAfter(15)).run()
    msg = str(e.value)
    assert "\n" not in msg and "loss became NaN or inf between steps 11 and 20" in msg
    assert f"last good checkpoint: {tmp_path / 'checkpoint.pt'} (step 10)" in msg
    assert torch.load(tmp_path / "checkpoint.pt", weights_only=True)["step"] == 10
    assert _all_finite(tmp_path / "checkpoint.pt")
    assert not (tmp_path / "weights.safetensors").exists()
    rows = (tmp_path / "log.csv").read_text().splitlines()[1:]
    assert [int(r.split(",")[0]) for r in rows] == [10]


def test_a_huge_learning_rate_fails_on_the_command_line_and_writes_no_nan_weights(
    photo_dir, tmp_path
):
    out = tmp_path / "run"
    args = ["train", "superres", "--scale", "2", *SMALL, "--data", str(photo_dir)]
    r = subprocess.run(
        _cli(*args, "--out", str(out), "--steps", "30", "--ckpt-every", "1", "--lr", "1e6"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 1, r.stderr[-2000:]  # the work failed: 1 (2 is a usage error)
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("pixelsmith: error: training diverged:"), last
    assert "at step" in last and "last good checkpoint:" in last
    assert not (out / "weights.safetensors").exists()
    if (out / "checkpoint.pt").exists():  # written at a step whose weights were still finite
        assert _all_finite(out / "checkpoint.pt")
        step = torch.load(out / "checkpoint.pt", weights_only=True)["step"]
        assert f"checkpoint.pt (step {step})" in last
    else:
        assert "no checkpoint yet" in last


def test_workers_give_the_same_weights_also_after_a_resume(photo_dir, tmp_path, one_thread):
    steps = 8
    inline, _ = read_weights(Trainer(_config(photo_dir, tmp_path / "a", steps), SuperRes(2)).run())
    workers, _ = read_weights(
        Trainer(_config(photo_dir, tmp_path / "b", steps, workers=2), SuperRes(2)).run()
    )
    # a run that stops at step 8 with a good checkpoint at step 4, resumed with workers
    with pytest.raises(PixelsmithError, match="diverged"):
        Trainer(_config(photo_dir, tmp_path / "c", steps, ckpt_every=4), NaNLossAfter(4)).run()
    cfg = _config(photo_dir, tmp_path / "c", steps, ckpt_every=4, workers=2)
    resumed, _ = read_weights(Trainer(cfg, SuperRes(2)).run())
    for k in inline:
        assert torch.equal(inline[k], workers[k]), k
        assert torch.equal(inline[k], resumed[k]), k


def test_init_keeps_the_tensors_whose_shapes_agree(photo_dir, tmp_path, one_thread):
    """x3 -> x4: everything but the tail comes from the x3 file, the tail is x4's fresh init."""
    other_seed = dataclasses.replace(_config(photo_dir, tmp_path / "x3", 3), seed=1)
    x3 = Trainer(other_seed, SuperRes(3)).run()
    source, _ = read_weights(x3)
    # learning rate 0: the final weights are the starting point
    cfg = dataclasses.replace(
        _config(photo_dir, tmp_path / "x4", 1, init=str(x3)), lr=0.0, min_lr=0.0
    )
    got, info = read_weights(Trainer(cfg, SuperRes(4)).run())
    torch.manual_seed(cfg.seed)  # the Trainer seeds, then builds the model
    fresh = create_model("lrnet_s", scale=4, width=8, blocks=1).state_dict()
    assert info.config["init"] == str(x3)
    tail = {"tail.weight", "tail.bias"}
    assert got.keys() == source.keys() == fresh.keys()
    for k in got.keys() - tail:
        assert not torch.equal(source[k], fresh[k]), k  # else the test proves nothing
        assert torch.equal(got[k], source[k]), k
    for k in tail:
        assert got[k].shape != source[k].shape and torch.equal(got[k], fresh[k]), k
    assert source["tail.weight"].abs().max() > 0  # x3's trained tail was not simply zeros


def test_an_unreadable_checkpoint_names_the_file(photo_dir, tmp_path, one_thread):
    cfg = _config(photo_dir, tmp_path, 2)
    Trainer(cfg, SuperRes(2)).run()
    ckpt = tmp_path / "checkpoint.pt"
    good = ckpt.read_bytes()
    buf = io.BytesIO()
    torch.save(torch.zeros(3), buf)
    for bad in (good[: len(good) // 2], b"", b"not a checkpoint", buf.getvalue()):
        ckpt.write_bytes(bad)
        with pytest.raises(PixelsmithError) as e:
            Trainer(cfg, SuperRes(2)).run()
        msg = str(e.value)
        assert msg.startswith(f"{ckpt}: cannot read the checkpoint") and "\n" not in msg, msg
        assert "delete it" in msg and "--out" in msg


@pytest.mark.parametrize("flush", [True, False])
def test_run_puts_threads_and_flush_denormal_back(photo_dir, tmp_path, flush, monkeypatch):
    monkeypatch.setattr("pixelsmith.trainer.cpu_has_bf16", lambda: False)  # bf16 must fail
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        if not torch.set_flush_denormal(flush) and flush:
            pytest.skip("this CPU has no flush-denormal mode")
        assert _flush_denormal_is_on() == flush
        Trainer(_config(photo_dir, tmp_path / "ok", 2), SuperRes(2)).run()  # threads=1
        assert torch.get_num_threads() == 2 and _flush_denormal_is_on() == flush
        with pytest.raises(PixelsmithError, match="--bf16 needs a CUDA device or a CPU"):
            Trainer(_config(photo_dir, tmp_path / "bf16", 2, bf16=True), SuperRes(2)).run()
        assert torch.get_num_threads() == 2 and _flush_denormal_is_on() == flush
    finally:
        torch.set_num_threads(threads)
        torch.set_flush_denormal(False)


def test_bf16_on_the_cpu_needs_bfloat16_instructions(photo_dir, tmp_path, monkeypatch, one_thread):
    """Without them it is an error (bf16 would be slower than float32); with them it trains, and
    the weights it saves are float32 and finite."""
    assert isinstance(trainer_module.cpu_has_bf16(), bool)
    monkeypatch.setattr(trainer_module, "cpu_has_bf16", lambda: False)
    with pytest.raises(PixelsmithError, match="bfloat16 instructions"):
        Trainer(_config(photo_dir, tmp_path / "no", 2, bf16=True), SuperRes(2)).run()
    assert not (tmp_path / "no").exists()
    monkeypatch.setattr(trainer_module, "cpu_has_bf16", lambda: True)  # emulated if it has none
    path = Trainer(_config(photo_dir, tmp_path / "yes", 3, bf16=True), SuperRes(2)).run()
    state, info = read_weights(path)
    assert info.config["bf16"] is True
    assert all(t.dtype == torch.float32 and torch.isfinite(t).all() for t in state.values())


def test_ema_keeps_batch_norm_statistics_of_the_trained_model(tmp_path, one_thread):
    """The EMA copy averages the parameters; its batch-norm running statistics are the trained
    model's (an EMA copy left with its initial statistics, zero mean and unit variance, would
    normalise every layer wrongly)."""
    from PIL import Image

    from pixelsmith.tasks import get_task

    folder = tmp_path / "photos"
    folder.mkdir()
    g = np.random.default_rng(0)
    for i in range(2):
        img = np.clip(g.normal(120, 40, (48, 48, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(img).save(folder / f"p{i}.png")
    cfg = TrainConfig(
        model="colornet_s", data=[str(folder)], out=str(tmp_path / "run"), steps=3,
        batch_size=2, patch_size=32, warmup_steps=1, threads=1, ema=0.9,
    )  # fmt: skip
    ema, _ = read_weights(Trainer(cfg, get_task("colorize")).run())
    trained = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)["model"]
    stats = [k for k in trained if k.endswith(("running_mean", "running_var"))]
    assert stats
    for k in stats:
        torch.testing.assert_close(ema[k], trained[k])
    mean = "blocks.0.4.running_mean"  # block 1's batch norm: 0 at the start, moved by 3 batches
    assert ema[mean].abs().max() > 1e-3


def test_bf16_and_workers_are_command_line_flags():
    from click.testing import CliRunner

    from pixelsmith.cli import main

    r = CliRunner().invoke(main, ["train", "superres", "--help"])
    assert r.exit_code == 0 and "--bf16 / --no-bf16" in r.output and "--workers" in r.output
    assert TrainConfig().bf16 is False and TrainConfig().workers == 0


class _ScriptedValidation(SuperRes):
    """SuperRes whose validation reads a given score per step and keeps each model it saw."""

    def __init__(self, scores: dict[int, float]) -> None:
        super().__init__(2)
        self.scores, self.seen, self.calls = scores, {}, 0

    def evaluate(self, model, dataset):
        step = sorted(self.scores)[self.calls]
        self.calls += 1
        self.seen[step] = {k: v.clone() for k, v in model.state_dict().items()}
        return {"score": self.scores[step]}


@pytest.mark.parametrize(
    ("sense", "scores", "kept"),
    [
        ("", {0: 1.0, 2: 3.0, 4: 2.0, 6: 5.0, 8: 4.0}, 6),
        (":min", {0: 5.0, 2: 3.0, 4: 4.0, 6: 1.0, 8: 2.0}, 6),
        (":max", {0: 1.0, 2: 9.0, 4: 9.0, 6: 2.0, 8: 3.0}, 2),  # a tie keeps the first
        ("", {0: 9.0, 2: 3.0, 4: 2.0, 6: 5.0, 8: 4.0}, 6),  # the untrained baseline is never kept
    ],
)
def test_keep_best_writes_the_model_of_the_best_validation(
    photo_dir, tmp_path, one_thread, sense, scores, kept
):
    task = _ScriptedValidation(scores)
    cfg = _config(
        photo_dir, tmp_path, 8, val_every=2, val_data="scripted", keep_best="score" + sense
    )
    Trainer(cfg, task).run()
    state, info = read_weights(tmp_path / "best.safetensors")
    assert info.config["kept_step"] == kept and info.metrics == {"score": scores[kept]}
    for k, v in task.seen[kept].items():
        assert torch.equal(state[k], v), k
    ck = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    assert ck["best"] == {"step": kept, "value": scores[kept]}
    last, _ = read_weights(tmp_path / "weights.safetensors")  # the last step's, as always
    assert any(not torch.equal(last[k], state[k]) for k in state)


def test_keep_best_errors_are_clear(photo_dir, tmp_path, one_thread):
    with pytest.raises(PixelsmithError, match="needs validation data"):
        Trainer(_config(photo_dir, tmp_path, 2, keep_best="psnr"), SuperRes(2))
    with pytest.raises(PixelsmithError, match="METRIC:min"):
        Trainer(_config(photo_dir, tmp_path, 2, val_data="x", keep_best="psnr:up"), SuperRes(2))
    cfg = _config(photo_dir, tmp_path, 2, val_every=2, val_data="x", keep_best="psnr")
    with pytest.raises(PixelsmithError, match="validation gives score"):
        Trainer(cfg, _ScriptedValidation({0: 1.0, 2: 2.0})).run()


def test_photo_crops_at_a_random_short_side_cover_the_scaled_square(one_thread):
    from pixelsmith.data.photos import PhotoFolder, step_generator

    # a horizontal ramp of one level a column: a crop of r px shrunk to s has slope r/s levels
    h, w = 200, 250
    ramp = torch.arange(w).expand(3, h, w).to(torch.uint8).contiguous()
    folder = PhotoFolder.from_images([ramp], [Path("ramp.png")])
    crops = folder.random_crops(8, 40, step_generator(0, 1), augment=False, short_sides=(100, 100))
    slope = (crops[:, 0, :, 30] - crops[:, 0, :, 10]).double().mean() * 255 / 20
    assert slope == pytest.approx(200 / 100, rel=1e-3)  # r = 40 * 200 / 100 = 80 px
    # a short side above the photo's never enlarges: the crops are plain 40-px squares
    crops = folder.random_crops(8, 40, step_generator(0, 1), augment=False, short_sides=(400, 500))
    slope = (crops[:, 0, :, 30] - crops[:, 0, :, 10]).double().mean() * 255 / 20
    assert slope == pytest.approx(1, rel=1e-3)
