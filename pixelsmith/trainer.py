"""One Trainer for every task, readable top to bottom.

    config (dataclass) -> task.load_data -> for step: task.make_batch -> Batch -> model(*batch.inputs)
                       -> task.loss(prediction, batch) -> AdamW step
                       -> every val_every: task.evaluate -> CSV log -> atomic checkpoint
                                               (-> best.safetensors when --keep-best improves)

Resume is bit-exact on CPU: batches are a pure function of ``(seed, step, rank)``
(:func:`pixelsmith.data.photos.step_generator`), the learning rate a pure function of ``step``, and
the checkpoint holds the model, optimiser and EMA state. With ``workers > 0`` DataLoader worker
processes make the same batches beside the model. Multi-process training runs under
``torchrun --nproc_per_node N`` (DistributedDataParallel; gloo on CPU, nccl on CUDA); each rank
draws its own crops and rank 0 logs and writes files.

The loop never waits for the device to report the loss: losses are summed on the device and read
back at *sync points* (every ``SYNC_EVERY`` steps and at each log, validation and checkpoint).
There the run stops with a :class:`PixelsmithError` if the loss or the weights stopped being
finite, so a diverged run never writes NaN weights.

Adversarial phases (``gan``, a :class:`NoGANConfig`: DeOldify's NoGAN schedule, Antic 2019) follow
the ``steps`` of the ordinary loop, which are its first phase (the generator on its task's loss;
``out/generator.safetensors`` at their end). Then ``critic_steps`` train the task's critic
(:meth:`~pixelsmith.tasks.base.Task.critic`, hinge loss) on the batches' targets against the
generator's results, the generator frozen; then ``gan_steps`` train both, the generator on its
task's loss plus ``adv_weight`` times fooling the critic. They are steps of the same loop, so bf16,
EMA, DDP, the divergence stop and resume hold for them too; the checkpoint then holds the critic
and both phases' optimisers, and ``log.csv`` two more columns, ``phase`` and ``critic_loss``.
"""

from __future__ import annotations

import contextlib
import copy
import csv
import dataclasses
import io
import math
import os
import pickle
import shlex
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F
from tqdm import tqdm

from pixelsmith.config import TrainConfig
from pixelsmith.data.photos import step_generator
from pixelsmith.devices import pick_device
from pixelsmith.errors import PixelsmithError
from pixelsmith.io import atomic_write
from pixelsmith.models import create_model
from pixelsmith.resolver import check_arch_for_task, load_model
from pixelsmith.tasks import Task
from pixelsmith.tasks.base import Batch
from pixelsmith.weights import WeightInfo, save_weights

#: Steps between sync points that only refresh the progress bar and check for divergence.
SYNC_EVERY = 50


def _atomic_torch_save(obj: Any, path: Path) -> None:
    buf = io.BytesIO()
    torch.save(obj, buf)
    atomic_write(path, buf.getvalue(), overwrite=True)


#: Fields that shape the trajectory: a resumed run must agree on them to be bit-exact.
_TRAJECTORY = (
    "model",
    "model_kwargs",
    "data",
    "steps",
    "batch_size",
    "patch_size",
    "lr",
    "min_lr",
    "warmup_steps",
    "weight_decay",
    "grad_clip",
    "ema",
    "seed",
    "init",
)


@dataclass
class NoGANConfig:
    """The adversarial phases after a run's ``steps`` (DeOldify's NoGAN schedule).

    Attributes:
        critic_steps: phase 2: the critic alone, against the frozen generator's results.
        gan_steps: phase 3: the critic and the generator together.
        gan_lr: the generator's learning rate in phase 3 (Adam, betas (0, 0.9)); the critic's is
            twice it.
        adv_weight: the weight of the adversarial term in the generator's loss.
        critic_width: the width of the task's critic network.
    """

    critic_steps: int = 400
    gan_steps: int = 600
    gan_lr: float = 1e-4
    adv_weight: float = 0.05
    critic_width: int = 32


def train_nogan(
    config: TrainConfig, task: Task, schedule: NoGANConfig, command: str = ""
) -> Path | None:
    """Train ``task``'s generator by the NoGAN schedule: ``config.steps`` on its perceptual loss,
    then ``schedule``'s adversarial phases, in one :class:`Trainer` run into ``config.out``.
    Returns the final weight file (``None`` on ranks other than 0)."""
    if not task.options().get("perceptual"):
        raise PixelsmithError("the NoGAN schedule needs a perceptual loss: give --perceptual")
    return Trainer(config, task, command=command or None, gan=schedule).run()


class _Adversary:
    """The critic of the adversarial phases, its optimiser, and the generator's optimiser of
    phase 3 (Adam with betas (0, 0.9), as DeOldify; the critic at twice the generator's rate)."""

    def __init__(
        self,
        task: Task,
        schedule: NoGANConfig,
        model: nn.Module,
        device: torch.device,
        dist: _Dist,
        cfg: TrainConfig,
    ) -> None:
        with torch.random.fork_rng(devices=[]):  # the same critic on every rank and resume
            torch.manual_seed(cfg.seed + 1)
            self.critic = task.critic(schedule.critic_width).to(device)
        self.net = self.critic
        if dist.enabled:
            self.net = nn.parallel.DistributedDataParallel(
                self.critic, device_ids=[device.index] if device.type == "cuda" else None
            )
        self.opt = torch.optim.Adam(
            self.critic.parameters(), lr=2 * schedule.gan_lr, betas=(0.0, 0.9)
        )
        self.opt_g = torch.optim.Adam(model.parameters(), lr=schedule.gan_lr, betas=(0.0, 0.9))
        self.adv_weight, self.device_type = schedule.adv_weight, device.type
        self.bf16, self.grad_clip = cfg.bf16, cfg.grad_clip

    def step(
        self, task: Task, net: nn.Module, model: nn.Module, batch: Batch, train_generator: bool
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One step of the critic (hinge loss: the batch's targets real, the generator's results
        fake) and, if ``train_generator``, one of the generator (``net``: ``model``, under DDP
        wrapped). Returns (the loss of what was trained last: the generator's, else the critic's;
        the critic's), both still on the device."""

        def autocast():
            return torch.autocast(self.device_type, torch.bfloat16, enabled=self.bf16)

        with torch.no_grad(), autocast():
            fake = task.training_forward(model, batch)
        with autocast():  # one critic call: DDP wants one forward per backward
            scores = self.net(torch.cat([task.critic_input(batch), task.critic_input(batch, fake)]))
        real, faked = scores.float().chunk(2)
        loss_d = F.relu(1 - real).mean() + F.relu(1 + faked).mean()
        self.opt.zero_grad(set_to_none=True)
        loss_d.backward()
        self.opt.step()
        loss_d = loss_d.detach()
        if not train_generator:
            return loss_d, loss_d
        self.critic.requires_grad_(False)  # the generator's loss trains the generator only
        try:
            with autocast():
                pred = task.training_forward(net, batch)
                adv = -self.critic(task.critic_input(batch, pred)).float().mean()
                loss_g = task.loss(pred, batch) + self.adv_weight * adv
        finally:
            self.critic.requires_grad_(True)
        self.opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        if self.grad_clip:
            nn.utils.clip_grad_norm_(model.parameters(), self.grad_clip)
        self.opt_g.step()
        return loss_g.detach(), loss_d

    def state_dict(self) -> dict[str, Any]:
        return {
            "critic": self.critic.state_dict(),
            "critic_optimizer": self.opt.state_dict(),
            "optimizer": self.opt_g.state_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.critic.load_state_dict(state["critic"])
        self.opt.load_state_dict(state["critic_optimizer"])
        self.opt_g.load_state_dict(state["optimizer"])


class _Dist:
    """Rank and world size under torchrun; a single process otherwise."""

    def __init__(self, device: torch.device) -> None:
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        self.local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        self.enabled = self.world > 1
        if self.enabled and not torch.distributed.is_initialized():
            if device.type == "cuda":
                torch.cuda.set_device(self.local_rank)
            torch.distributed.init_process_group("nccl" if device.type == "cuda" else "gloo")

    @property
    def main(self) -> bool:
        return self.rank == 0

    def leave_together(self) -> None:
        """Wait for every rank at the end of a run: a rank that destroys its process group while
        rank 0 still writes the weights can abort in gloo's threads ("terminate called without an
        active exception"), and torchrun then stops rank 0 too."""
        if self.enabled and torch.distributed.is_initialized():
            torch.distributed.barrier()

    def close(self) -> None:
        if self.enabled and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()


class StepBatches(torch.utils.data.Dataset):
    """Item ``step`` is that step's batch, a pure function of ``(seed, step, rank)``: DataLoader
    workers can make any step's batch, and a sampler over the steps returns them in order."""

    def __init__(self, task: Task, data: Any, cfg: TrainConfig, rank: int) -> None:
        self.task, self.data, self.cfg, self.rank = task, data, cfg, rank

    def __len__(self) -> int:
        return self.cfg.steps

    def __getitem__(self, step: int) -> Batch:
        gen = step_generator(self.cfg.seed, step, self.rank)
        return self.task.make_batch(self.data, self.cfg.batch_size, self.cfg.patch_size, gen)


def _one_thread(worker_id: int) -> None:
    torch.set_num_threads(1)  # workers share the CPU with the model; don't let each take many


def cpu_has_bf16() -> bool:
    """Whether this CPU computes bfloat16 in hardware (oneDNN's check: AVX-512 BF16 or AMX)."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def check_bf16(device: torch.device) -> None:
    """``--bf16`` runs on a CUDA device, or on a CPU with bfloat16 instructions (where it trains
    convolutions faster than float32); elsewhere it would be slower than float32, so
    it is an error rather than a silent slow run."""
    if device.type == "cuda" or (device.type == "cpu" and cpu_has_bf16()):
        return
    raise PixelsmithError(
        f"--bf16 needs a CUDA device or a CPU with bfloat16 instructions (AVX-512 BF16 or AMX); "
        f"this run is on {device.type} without them: drop --bf16"
    )


class Trainer:
    """Train ``task``'s model as ``config`` says, then through ``gan``'s adversarial phases if
    given; ``run()`` resumes from ``out/checkpoint.pt`` if present."""

    def __init__(
        self,
        config: TrainConfig,
        task: Task,
        command: str | None = None,
        gan: NoGANConfig | None = None,
    ) -> None:
        check_config(config, task)
        if gan is not None:
            check_schedule(gan)
        self.config = config
        self.task = task
        self.gan = gan
        self.total_steps = config.steps + (gan.critic_steps + gan.gan_steps if gan else 0)
        self.command = command or shlex.join([Path(sys.argv[0]).name, *sys.argv[1:]])
        self.out = Path(config.out)
        self.ckpt_path = self.out / "checkpoint.pt"
        self.log_path = self.out / "log.csv"

    def phase_at(self, step: int) -> str:
        """The phase of the step after ``step`` steps: "generator" (the ordinary loop), then with
        ``gan`` "critic" and "adversarial"."""
        if self.gan is None or step < self.config.steps:
            return "generator"
        return "critic" if step < self.config.steps + self.gan.critic_steps else "adversarial"

    def run(self) -> Path | None:
        """Train to ``config.steps`` (and through the adversarial phases); returns the final weight
        file (``None`` on ranks other than 0).

        Sets torch's thread count (``config.threads``) and flush-denormal mode for the run and puts
        both back afterwards, also when it raises."""
        threads, flush = torch.get_num_threads(), _flush_denormal_is_on()
        try:
            if self.config.threads:
                torch.set_num_threads(self.config.threads)
            # denormal floats slow CPU training by 10x as weights settle
            torch.set_flush_denormal(True)
            device = pick_device(self.config.device)
            if self.config.bf16:
                check_bf16(device)
            dist = _Dist(device)
            try:
                if dist.enabled and device.type == "cuda":
                    device = torch.device("cuda", dist.local_rank)
                weights = self._train(device, dist)
                dist.leave_together()  # not on an error: the other ranks may never arrive
                return weights
            finally:
                dist.close()
        finally:
            torch.set_num_threads(threads)
            torch.set_flush_denormal(flush)

    def _train(self, device: torch.device, dist: _Dist) -> Path | None:
        cfg = self.config
        if dist.main:
            self.out.mkdir(parents=True, exist_ok=True)
            for stale in self.out.glob(".*.tmp"):  # left by a run killed while writing a file
                stale.unlink(missing_ok=True)

        torch.manual_seed(cfg.seed)  # data sampling has its own generators (step_generator)
        model = create_model(cfg.model, **self.task.model_kwargs(), **cfg.model_kwargs).to(device)
        if not any(p.requires_grad for p in model.parameters()):
            raise PixelsmithError(f"model {cfg.model!r} has no weights to train")
        if cfg.init:
            _init_from(model, cfg.init)
        data = self.task.load_data(cfg.data, cfg.patch_size, cache=cfg.cache_images)
        self.task.setup_model(model, data)
        ema = copy.deepcopy(model).requires_grad_(False) if cfg.ema else None
        opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        adversary = None
        if self.gan is not None:
            adversary = _Adversary(self.task, self.gan, model, device, dist, cfg)
        step, metrics, saved = 0, {}, None  # saved: the step of the last good checkpoint
        best = None  # {"step", "value"} of the best validation by cfg.keep_best
        if self.ckpt_path.exists():
            ck = self._load_checkpoint(device)
            model.load_state_dict(ck["model"])
            opt.load_state_dict(ck["optimizer"])
            if ema is not None:
                ema.load_state_dict(ck["ema"])
            if adversary is not None and ck.get("adversary") is not None:
                adversary.load_state_dict(ck["adversary"])
            step, metrics, saved = ck["step"], ck.get("metrics", {}), ck["step"]
            best = ck.get("best")
            if dist.main:
                print(f"resuming from {self.ckpt_path} at step {step}", file=sys.stderr)
        task = self.task.bind(model)  # after resuming: the checkpoint holds what setup_model put
        wanted = task.loss_models()  # networks the loss uses (a perceptual loss's features)
        if wanted:
            task = task.with_loss_models(
                {role: load_model(name, device, task=t)[0] for role, (name, t) in wanted.items()}
            )
        net = model
        if dist.enabled:
            net = nn.parallel.DistributedDataParallel(
                model, device_ids=[device.index] if device.type == "cuda" else None
            )
        batches = torch.utils.data.DataLoader(
            StepBatches(task, data, cfg, dist.rank),
            batch_size=None,  # each item is already a batch
            sampler=range(step, self.total_steps),
            num_workers=cfg.workers,
            worker_init_fn=_one_thread,
            generator=torch.Generator(),  # leave the global RNG alone
        )

        bar = tqdm(
            total=self.total_steps,
            initial=step,
            disable=not dist.main or not sys.stderr.isatty(),  # a bar only on a terminal
            unit="step",
            dynamic_ncols=True,
            mininterval=1.0,
        )
        log = self._open_log(step) if dist.main else contextlib.nullcontext()
        with bar, log:
            if dist.main and step == 0 and cfg.val_data:  # a baseline; bad val data fails now
                metrics = task.evaluate(model, cfg.val_data)
                self._check_keep_best(metrics)  # a metric it lacks fails now, not after a segment
                self._log(log, 0, float("nan"), 0.0, 0.0, metrics)
            t0, seen = time.perf_counter(), 0
            # (the trained loss, the critic's) since the last log row; NaN and inf stick
            loss_sum = torch.zeros(2, device=device)
            logged = synced = step  # the steps of the last log row and of the last sync point
            for batch in batches:
                model.train()
                batch = batch.to(device)
                phase = self.phase_at(step)
                if phase == "generator":
                    lr = cfg.lr_at(step)
                    for group in opt.param_groups:
                        group["lr"] = lr
                    with torch.autocast(device.type, torch.bfloat16, enabled=cfg.bf16):
                        loss = task.loss(task.training_forward(net, batch), batch)
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    if cfg.grad_clip:
                        nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
                    opt.step()
                    loss_sum[0] += loss.detach().float()
                else:
                    lr = self.gan.gan_lr
                    loss, critic_loss = adversary.step(
                        task, net, model, batch, train_generator=phase == "adversarial"
                    )
                    loss_sum += torch.stack([loss, critic_loss]).float()
                if ema is not None:
                    with torch.no_grad():
                        for pe, pm in zip(ema.parameters(), model.parameters(), strict=True):
                            pe.lerp_(pm, 1 - cfg.ema)
                        # buffers (batch norm's running statistics) follow the trained model
                        for be, bm in zip(ema.buffers(), model.buffers(), strict=True):
                            be.copy_(bm)
                step += 1
                seen += len(batch) * dist.world
                bar.update(1)

                last = step == self.total_steps
                # a GAN run logs, validates and checkpoints at the end of each phase
                phase_end = self.gan is not None and self.phase_at(step) != phase
                validate = bool(cfg.val_data) and (
                    step % cfg.val_every == 0 or last or (phase_end and phase == "generator")
                )
                save = step % cfg.ckpt_every == 0 or validate or last or phase_end
                if not (save or step % SYNC_EVERY == 0):
                    continue
                # A sync point: read the loss back (the mean over all ranks) and check the weights.
                # Every rank sees the same numbers, so all ranks stop together if training diverged.
                total = loss_sum.clone()
                if dist.enabled:
                    torch.distributed.all_reduce(total)
                loss_mean, critic_mean = (total / dist.world / (step - logged)).tolist()
                critic = None if adversary is None else adversary.critic
                loss_ok = math.isfinite(loss_mean) and math.isfinite(critic_mean)
                if not loss_ok or not _all_finite(model, ema, critic):
                    raise self._diverged(synced, step, saved, loss_ok)
                synced, rate = step, seen / (time.perf_counter() - t0)
                bar.set_postfix(loss=f"{loss_mean:.4g}", patches_per_s=f"{rate:.0f}", refresh=False)
                if not save:
                    continue
                loss_sum.zero_()
                logged = step
                if not dist.main:
                    continue
                fresh = {}
                if validate:
                    metrics = fresh = task.evaluate(ema or model, cfg.val_data)
                    bar.write(
                        f"step {step}: " + ", ".join(f"{k} {v:.4f}" for k, v in fresh.items())
                    )
                    best = self._keep_best(ema or model, best, step, fresh)
                critic_mean = critic_mean if phase != "generator" else float("nan")
                self._log(log, step, loss_mean, lr, rate, fresh, phase, critic_mean)
                if phase_end and phase == "generator":  # NoGAN's pretrained generator
                    save_weights(
                        ema or model, self.out / "generator.safetensors", self._info(model, metrics)
                    )
                _atomic_torch_save(
                    {
                        "step": step,
                        "model": model.state_dict(),
                        "optimizer": opt.state_dict(),
                        "ema": None if ema is None else ema.state_dict(),
                        "adversary": None if adversary is None else adversary.state_dict(),
                        "metrics": metrics,
                        "best": best,
                        "config": dataclasses.asdict(cfg),
                        "gan": self._gan_record(),
                    },
                    self.ckpt_path,
                )
                saved = step
        if not dist.main:
            return None
        # The weights were checked to be finite at the last step (a sync point) or the checkpoint.
        final = self.out / "weights.safetensors"
        return save_weights(ema or model, final, self._info(model, metrics))

    def _info(self, model: nn.Module, metrics: dict[str, float], **config: Any) -> WeightInfo:
        """The metadata of a weight file of this run (``config``: extra entries, e.g. the step)."""
        cfg = self.config
        name, kwargs = model.pixelsmith_arch
        return WeightInfo(
            task=self.task.name,
            arch=name,
            arch_kwargs=kwargs,
            config={
                **dataclasses.asdict(cfg),
                "task": self.task.options(),
                **({"nogan": self._gan_record()} if self.gan else {}),
                **config,
            },
            data=", ".join(cfg.data),
            metrics=metrics,
            command=self.command,
        )

    def _keep_best(
        self, model: nn.Module, best: dict | None, step: int, metrics: dict[str, float]
    ) -> dict | None:
        """``out/best.safetensors`` when ``metrics`` improve on ``best`` by ``--keep-best``;
        returns the best so far."""
        if not self.config.keep_best:
            return best
        self._check_keep_best(metrics)
        name, _, sense = self.config.keep_best.partition(":")
        value = float(metrics[name])
        sign = -1.0 if sense == "min" else 1.0
        if best is not None and not sign * value > sign * best["value"]:
            return best
        save_weights(
            model, self.out / "best.safetensors", self._info(model, metrics, kept_step=step)
        )
        return {"step": step, "value": value}

    def _check_keep_best(self, metrics: dict[str, float]) -> None:
        """``--keep-best`` names one of the metrics the validation gives (or is not set)."""
        name = self.config.keep_best.partition(":")[0]
        if name and name not in metrics:
            raise PixelsmithError(
                f"--keep-best {name}: the validation gives {', '.join(metrics) or 'no metrics'}"
            )

    def _load_checkpoint(self, device: torch.device) -> dict[str, Any]:
        """``out/checkpoint.pt``, checked to be readable and from a run with the same trajectory."""
        unreadable = (RuntimeError, EOFError, OSError, ValueError, pickle.UnpicklingError)
        try:
            ck = torch.load(self.ckpt_path, map_location=device, weights_only=True)
            if not (isinstance(ck, dict) and {"step", "model", "optimizer"} <= ck.keys()):
                raise ValueError("not a pixelsmith checkpoint")
        except unreadable as e:  # truncated (a full disk), overwritten, not a checkpoint
            reason = (str(e).strip().splitlines() or [type(e).__name__])[0]
            raise PixelsmithError(
                f"cannot read the checkpoint ({reason}); delete it to start over, "
                "or use another --out",
                self.ckpt_path,
            ) from None
        self._check_resumable(ck.get("config", {}))
        if ck["step"] > self.config.steps and ck.get("gan") != self._gan_record():
            raise PixelsmithError(
                f"cannot resume: the checkpoint is at step {ck['step']}, past the "
                f"{self.config.steps} generator steps, of the adversarial phases "
                f"{ck.get('gan')} (this run: {self._gan_record()}); use another --out",
                self.ckpt_path,
            )
        return ck

    def _gan_record(self) -> dict[str, Any] | None:
        return None if self.gan is None else dataclasses.asdict(self.gan)

    def _diverged(
        self, synced: int, step: int, saved: int | None, loss_ok: bool
    ) -> PixelsmithError:
        """The error for a run whose loss or weights became NaN or inf after step ``synced``."""
        what = "the weights" if loss_ok else "the loss"
        when = f"at step {step}" if step - synced == 1 else f"between steps {synced + 1} and {step}"
        good = "no checkpoint yet" if saved is None else f"{self.ckpt_path} (step {saved})"
        return PixelsmithError(
            f"training diverged: {what} became NaN or inf {when}; last good checkpoint: {good}; "
            "try a lower --lr"
        )

    def _check_resumable(self, saved: dict[str, Any]) -> None:
        now = dataclasses.asdict(self.config)
        differ = [k for k in _TRAJECTORY if k in saved and saved[k] != now[k]]
        if differ:
            changes = ", ".join(f"{k} {saved[k]!r} -> {now[k]!r}" for k in differ)
            raise PixelsmithError(
                f"cannot resume: the checkpoint was trained with other settings "
                f"({changes}); use another --out, or --init to start from it",
                self.ckpt_path,
            )

    def _open_log(self, step: int):
        """The CSV log, without rows past ``step`` (written after the last checkpoint of a killed run)."""
        header = "step,loss,lr,patches_per_s,elapsed_s,metrics"
        header += ",phase,critic_loss\n" if self.gan else "\n"
        rows = []
        if step and self.log_path.exists():
            with open(self.log_path, newline="") as f:
                rows = [r for r in list(csv.reader(f))[1:] if r and int(r[0]) <= step]
        f = open(self.log_path, "w", newline="")
        f.write(header)
        csv.writer(f).writerows(rows)
        self._t_start = time.perf_counter()
        return f

    def _log(
        self,
        f,
        step: int,
        loss: float,
        lr: float,
        rate: float,
        metrics: dict,
        phase: str = "generator",
        critic_loss: float = float("nan"),
    ) -> None:
        m = ";".join(f"{k}={v:.4f}" for k, v in metrics.items())
        row = [
            step,
            f"{loss:.6g}",
            f"{lr:.3g}",
            f"{rate:.1f}",
            f"{time.perf_counter() - self._t_start:.1f}",
            m,
        ]
        if self.gan:
            row += [phase, f"{critic_loss:.6g}"]
        csv.writer(f).writerow(row)
        f.flush()


def _init_from(model: nn.Module, path: str) -> None:
    """Start from another model's weights where the shapes agree (e.g. x3 -> x4: all but the tail)."""
    from pixelsmith.weights import read_weights

    state, _ = read_weights(path)
    own = model.state_dict()
    fits = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    model.load_state_dict(fits, strict=False)
    skipped = sorted(set(own) - set(fits))
    if skipped:
        print(
            f"init from {path}: kept own initialisation for {', '.join(skipped)}", file=sys.stderr
        )


def check_config(cfg: TrainConfig, task: Task | None = None) -> None:
    """Clear errors for a config that cannot run."""
    from pixelsmith.models import list_models

    if not cfg.data:
        raise PixelsmithError("no training data: give --data FOLDER (one or more)")
    for name in ("steps", "batch_size", "patch_size", "val_every", "ckpt_every"):
        if getattr(cfg, name) <= 0:
            raise PixelsmithError(f"--{name.replace('_', '-')} must be positive")
    if not 0 <= cfg.ema < 1:
        raise PixelsmithError("--ema is a decay in [0, 1): 0 turns it off, 0.999 is typical")
    if cfg.keep_best:
        if not cfg.val_data:
            raise PixelsmithError("--keep-best needs validation data: give --val-data")
        if cfg.keep_best.partition(":")[2] not in ("", "max", "min"):
            raise PixelsmithError(
                f"--keep-best is METRIC, METRIC:max or METRIC:min, not {cfg.keep_best!r}"
            )
    if cfg.workers < 0 or cfg.threads < 0:
        raise PixelsmithError("--workers and --threads must be 0 or more")
    if task is not None and cfg.model in list_models():
        check_arch_for_task(cfg.model, task)


def check_schedule(gan: NoGANConfig) -> None:
    """Clear errors for adversarial phases that cannot run."""
    if gan.critic_steps < 0 or gan.gan_steps < 0:
        raise PixelsmithError("--critic-steps and --gan-steps must be 0 or more")
    if not gan.gan_lr > 0 or gan.adv_weight < 0 or gan.critic_width <= 0:
        raise PixelsmithError(
            "--gan-lr must be positive, --adv-weight 0 or more, the critic's width positive"
        )


def _all_finite(*modules: nn.Module | None) -> bool:
    """Whether every floating-point weight and buffer of ``modules`` is finite (one device sync)."""
    flags = [
        torch.isfinite(t).all()
        for m in modules
        if m is not None
        for t in m.state_dict().values()
        if t.is_floating_point()
    ]
    return bool(torch.stack(flags).all()) if flags else True


def _flush_denormal_is_on() -> bool:
    """Whether this thread flushes denormal floats to zero (torch has no getter for the setting):
    half the smallest normal float32 is a denormal, which comes out as 0 when flushing."""
    return torch.tensor([2.0**-126]).div(2).item() == 0.0
