"""The Trainer's adversarial phases (DeOldify's NoGAN schedule): the three phases run, resume
from a checkpoint inside the adversarial phase as the straight run, and take bf16 and EMA."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

import pixelsmith
from pixelsmith import trainer as trainer_module
from pixelsmith.config import TrainConfig
from pixelsmith.errors import PixelsmithError
from pixelsmith.models import create_model
from pixelsmith.tasks import get_task
from pixelsmith.tasks.colorize import Colorize
from pixelsmith.trainer import NoGANConfig, Trainer, train_nogan
from pixelsmith.weights import WeightInfo, read_weights, save_weights

#: 3 generator steps, then 2 of the critic alone, then 2 adversarial: 7 in all
GENERATOR, SCHEDULE = 3, NoGANConfig(critic_steps=2, gan_steps=2)


@pytest.fixture
def one_thread():
    """Tiny nets: one thread is faster than two fighting over a busy machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def setup(tmp_path, one_thread):
    """(a config writing into OUT, the colorize task with a colorization encoder's perceptual
    loss) for a folder of two random 64 x 64 photos."""
    from PIL import Image

    torch.manual_seed(3)
    encoder = create_model("colornet_s").eval()
    with torch.no_grad():
        encoder.out.weight.mul_(20)
    encoder = save_weights(
        encoder, tmp_path / "enc.safetensors", WeightInfo(task="colorize", arch="colornet_s")
    )
    folder = tmp_path / "photos"
    folder.mkdir()
    g = np.random.default_rng(1)
    for i in range(2):
        Image.fromarray(g.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(folder / f"{i}.png")

    def config(out: str, **changes) -> TrainConfig:
        base = dict(
            model="deoldify_s",
            data=[str(folder)],
            out=str(tmp_path / out),
            steps=GENERATOR,
            batch_size=2,
            patch_size=32,
            warmup_steps=1,
            ckpt_every=3,
            threads=1,
        )
        return TrainConfig(**{**base, **changes})

    return config, get_task("colorize", perceptual=str(encoder))


def test_nogan_schedule_runs_its_three_phases(setup, tmp_path):
    """A few steps of each phase in one run; the result loads as a colorizer and names its
    feature net; the generator before the GAN phases is kept."""
    config, task = setup
    path = train_nogan(config("gan"), task, SCHEDULE)
    _, info = read_weights(path)
    assert "colorization encoder" in info.config["task"]["feature_network"]
    assert info.config["nogan"]["gan_steps"] == 2
    assert (tmp_path / "gan/generator.safetensors").is_file()
    log = (tmp_path / "gan/log.csv").read_text().splitlines()
    assert log[0].endswith(",phase,critic_loss")
    rows = [line.split(",") for line in log[1:]]  # each phase's end, and every 3rd step
    assert [(r[0], r[6]) for r in rows] == [
        ("3", "generator"),
        ("5", "critic"),
        ("6", "adversarial"),
        ("7", "adversarial"),
    ]
    assert rows[0][7] == "nan" and all(np.isfinite(float(r[7])) for r in rows[1:])
    out = pixelsmith.colorize(torch.rand(1, 48, 64), str(path))
    assert out.shape == (3, 48, 64)


def test_the_schedule_needs_a_perceptual_loss_and_a_task_with_a_critic(setup):
    config, _ = setup
    with pytest.raises(PixelsmithError, match="perceptual"):
        train_nogan(config("a"), get_task("colorize"), SCHEDULE)
    with pytest.raises(PixelsmithError, match="no critic"):
        Trainer(config("b", model="lrnet_s"), get_task("superres", scale=2), gan=SCHEDULE).run()
    with pytest.raises(PixelsmithError, match="gan-steps"):
        Trainer(config("c"), setup[1], gan=NoGANConfig(gan_steps=-1))


class _Killed(Exception):
    pass


class _StopAt(Colorize):
    """Colorization that stops the run (as a kill would) at its ``stop``-th loss."""

    stop, calls = 0, 0

    def loss(self, prediction, batch):
        type(self).calls += 1
        if type(self).calls == type(self).stop:
            raise _Killed
        return super().loss(prediction, batch)


def test_the_adversarial_phase_resumes_from_its_checkpoint_as_the_straight_run(setup):
    """Killed in the adversarial phase and run again: the same weights as one straight run (the
    critic, its optimiser and the generator's are in the checkpoint)."""
    config, task = setup
    straight, _ = read_weights(train_nogan(config("a", ckpt_every=1), task, SCHEDULE))

    # losses: 3 generator steps, none in the critic's 2, then 1 per adversarial step: the 5th
    # is step 7's, so the last checkpoint is step 6's, inside the adversarial phase
    _StopAt.stop, _StopAt.calls = 5, 0
    killed = _StopAt(perceptual=task.perceptual)
    with pytest.raises(_Killed):
        train_nogan(config("b", ckpt_every=1), killed, SCHEDULE)
    ck = torch.load(config("b").out + "/checkpoint.pt", weights_only=True)
    assert ck["step"] == 6 and ck["adversary"] is not None
    resumed, _ = read_weights(train_nogan(config("b", ckpt_every=1), task, SCHEDULE))
    assert straight.keys() == resumed.keys()
    for k in straight:
        assert torch.equal(straight[k], resumed[k]), k

    with pytest.raises(PixelsmithError, match="cannot resume"):  # past the generator's steps
        Trainer(config("b"), task, gan=NoGANConfig(critic_steps=1, gan_steps=3)).run()


class _Recording(Colorize):
    """Colorization that records the dtype of every prediction and whether it is trained."""

    seen: list[tuple[torch.dtype, bool]] = []

    def training_forward(self, model, batch):
        prediction = super().training_forward(model, batch)
        type(self).seen.append((prediction.dtype, torch.is_grad_enabled()))
        return prediction


def test_bf16_and_ema_apply_to_the_adversarial_phase(setup, monkeypatch):
    config, task = setup
    # bf16 is refused on a CPU without bfloat16 instructions (slow there, but it computes)
    monkeypatch.setattr(trainer_module, "check_bf16", lambda device: None)
    saved = []
    save = trainer_module._atomic_torch_save
    monkeypatch.setattr(
        trainer_module,
        "_atomic_torch_save",
        lambda obj, path: (saved.append(copy.deepcopy(obj)), save(obj, path)),
    )
    _Recording.seen = []
    recording = _Recording(perceptual=task.perceptual)
    path = train_nogan(config("bf16", ckpt_every=1, bf16=True, ema=0.9), recording, SCHEDULE)

    # per step: the generator phase's prediction; the critic's fake (no grad); in the
    # adversarial phase the critic's fake and the generator's trained prediction
    assert (
        _Recording.seen
        == [(torch.bfloat16, True)] * 3
        + [(torch.bfloat16, False)] * 2
        + [
            (torch.bfloat16, False),
            (torch.bfloat16, True),
        ]
        * 2
    )

    by_step = {ck["step"]: ck for ck in saved}
    assert sorted(by_step) == list(range(1, 8))
    params = [name for name, _ in create_model("deoldify_s").named_parameters()]
    for step in (6, 7):  # adversarial steps: the generator moves, and its EMA follows
        before, now = by_step[step - 1], by_step[step]
        for k in params:
            want = before["ema"][k] + 0.1 * (now["model"][k] - before["ema"][k])
            torch.testing.assert_close(now["ema"][k], want, msg=k)
        assert any(not torch.equal(now["model"][k], before["model"][k]) for k in params)
        assert not torch.equal(
            now["adversary"]["critic"]["net.0.parametrizations.weight.original"],
            before["adversary"]["critic"]["net.0.parametrizations.weight.original"],
        )
    final, _ = read_weights(path)  # the EMA is what is saved
    shared = final.keys() & by_step[7]["ema"].keys()
    assert set(params) <= shared
    for k in shared:
        assert torch.equal(final[k], by_step[7]["ema"][k]), k


def test_the_phases_run_under_torchrun(setup, tmp_path):
    """Two ranks (gloo on CPU): the generator and the critic under DDP through all three phases;
    rank 0 alone writes the weights and the log."""
    import socket
    import subprocess
    import sys
    from pathlib import Path

    config, task = setup
    script = tmp_path / "run.py"
    script.write_text(
        "import sys\n"
        "from pixelsmith.config import TrainConfig\n"
        "from pixelsmith.tasks import get_task\n"
        "from pixelsmith.trainer import NoGANConfig, train_nogan\n"
        f"cfg = TrainConfig(**{config('ddp', ema=0.9).__dict__!r})\n"
        f"task = get_task('colorize', perceptual={task.perceptual!r})\n"
        "print(train_nogan(cfg, task, NoGANConfig(critic_steps=2, gan_steps=2)))\n"
    )
    with socket.socket() as sock:  # a free port for the rendezvous
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    torchrun = Path(sys.executable).with_name("torchrun")
    r = subprocess.run(
        [str(torchrun), "--nproc_per_node", "2", "--master_port", str(port), str(script)],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert r.returncode == 0, r.stderr[:2000] + "\n[...]\n" + r.stderr[-1000:]
    assert r.stdout.count("weights.safetensors") == 1, "only rank 0 reports the weight file"
    rows = [line.split(",") for line in (tmp_path / "ddp/log.csv").read_text().splitlines()[1:]]
    assert [(r[0], r[6]) for r in rows][-2:] == [("6", "adversarial"), ("7", "adversarial")]
    _, info = read_weights(tmp_path / "ddp/weights.safetensors")
    assert info.config["nogan"]["critic_steps"] == 2
