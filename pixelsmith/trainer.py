"""One Trainer for every task, readable top to bottom.

    config (dataclass) -> task.load_data -> for step: task.make_batch -> model -> task.loss -> AdamW step
                       -> every val_every: task.evaluate -> CSV log -> atomic checkpoint

Resume is bit-exact on CPU: batches are a pure function of ``(seed, step, rank)``
(:func:`pixelsmith.data.photos.step_generator`), the learning rate a pure function of ``step``, and
the checkpoint holds the model, optimiser and EMA state. Multi-process training runs under
``torchrun --nproc_per_node N`` (DistributedDataParallel; gloo on CPU, nccl on CUDA); each rank
draws its own crops and rank 0 logs and writes files.
"""

from __future__ import annotations

import copy
import csv
import dataclasses
import io
import math
import os
import shlex
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from tqdm import tqdm

from pixelsmith.data.photos import step_generator
from pixelsmith.errors import PixelsmithError
from pixelsmith.infer import pick_device
from pixelsmith.io import atomic_write
from pixelsmith.models import create_model
from pixelsmith.tasks import Task
from pixelsmith.weights import WeightInfo, save_weights


@dataclass
class TrainConfig:
    """Everything a training run depends on. Each field but ``model_kwargs`` is a ``--flag`` of
    ``pixelsmith train``; ``model_kwargs`` comes from model-specific flags such as ``--width``."""

    model: str = "lrnet_s"
    data: list[str] = field(default_factory=list)
    val_data: str = ""
    out: str = "runs/run"
    steps: int = 20_000
    batch_size: int = 32
    patch_size: int = 48
    lr: float = 1e-3
    min_lr: float = 1e-5
    warmup_steps: int = 200
    weight_decay: float = 0.0
    grad_clip: float = 1.0
    ema: float = 0.0
    seed: int = 0
    val_every: int = 1000
    ckpt_every: int = 500
    threads: int = 0
    device: str = "cpu"
    init: str = ""
    cache_images: bool = True
    model_kwargs: dict[str, Any] = field(default_factory=dict)

    def lr_at(self, step: int) -> float:
        """Linear warm-up, then cosine decay from ``lr`` to ``min_lr`` at ``steps``."""
        if step < self.warmup_steps:
            return self.lr * (step + 1) / self.warmup_steps
        t = (step - self.warmup_steps) / max(1, self.steps - self.warmup_steps)
        return self.min_lr + 0.5 * (self.lr - self.min_lr) * (1 + math.cos(math.pi * min(1.0, t)))


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

    def close(self) -> None:
        if self.enabled and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()


class Trainer:
    """Train ``task``'s model as ``config`` says; ``run()`` resumes from ``out/checkpoint.pt`` if present."""

    def __init__(self, config: TrainConfig, task: Task, command: str | None = None) -> None:
        check_config(config, task)
        self.config = config
        self.task = task
        self.command = command or shlex.join([Path(sys.argv[0]).name, *sys.argv[1:]])
        self.out = Path(config.out)
        self.ckpt_path = self.out / "checkpoint.pt"
        self.log_path = self.out / "log.csv"

    def run(self) -> Path | None:
        """Train to ``config.steps``; returns the final weight file (``None`` on ranks other than 0)."""
        cfg = self.config
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        torch.set_flush_denormal(True)  # denormal floats slow CPU training by 10x as weights settle
        device = pick_device(cfg.device)
        dist = _Dist(device)
        if dist.enabled and device.type == "cuda":
            device = torch.device("cuda", dist.local_rank)
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
        ema = copy.deepcopy(model).requires_grad_(False) if cfg.ema else None
        opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        step, metrics = 0, {}
        if self.ckpt_path.exists():
            ck = torch.load(self.ckpt_path, map_location=device, weights_only=True)
            self._check_resumable(ck.get("config", {}))
            model.load_state_dict(ck["model"])
            opt.load_state_dict(ck["optimizer"])
            if ema is not None:
                ema.load_state_dict(ck["ema"])
            step, metrics = ck["step"], ck.get("metrics", {})
            if dist.main:
                print(f"resuming from {self.ckpt_path} at step {step}", file=sys.stderr)
        net = model
        if dist.enabled:
            net = nn.parallel.DistributedDataParallel(
                model, device_ids=[device.index] if device.type == "cuda" else None
            )

        bar = tqdm(
            total=cfg.steps,
            initial=step,
            disable=not dist.main,
            unit="step",
            dynamic_ncols=True,
            mininterval=1.0,
        )
        log = self._open_log(step) if dist.main else None
        if (
            dist.main and step == 0 and cfg.val_data
        ):  # a baseline, and bad validation data fails now
            metrics = self.task.evaluate(model, cfg.val_data)
            self._log(log, 0, float("nan"), 0.0, 0.0, metrics)
        t0, seen, loss_sum, loss_n = time.perf_counter(), 0, 0.0, 0
        while step < cfg.steps:
            model.train()
            gen = step_generator(cfg.seed, step, dist.rank)
            inputs, targets = self.task.make_batch(data, cfg.batch_size, cfg.patch_size, gen)
            inputs, targets = inputs.to(device), targets.to(device)
            lr = cfg.lr_at(step)
            for group in opt.param_groups:
                group["lr"] = lr
            loss = self.task.loss(net(inputs), targets)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.grad_clip:
                nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            opt.step()
            if ema is not None:
                with torch.no_grad():
                    for pe, pm in zip(ema.parameters(), model.parameters(), strict=True):
                        pe.lerp_(pm, 1 - cfg.ema)
            step += 1
            seen += inputs.shape[0] * dist.world
            loss_sum, loss_n = loss_sum + loss.item(), loss_n + 1
            rate = seen / (time.perf_counter() - t0)
            bar.update(1)
            bar.set_postfix(loss=f"{loss.item():.4g}", patches_per_s=f"{rate:.0f}", refresh=False)

            last = step == cfg.steps
            fresh = {}
            if dist.main and (step % cfg.val_every == 0 or last) and cfg.val_data:
                metrics = fresh = self.task.evaluate(ema or model, cfg.val_data)
                bar.write(f"step {step}: " + ", ".join(f"{k} {v:.4f}" for k, v in metrics.items()))
            if dist.main and (step % cfg.ckpt_every == 0 or fresh or last):
                self._log(log, step, loss_sum / loss_n, lr, rate, fresh)
                loss_sum, loss_n = 0.0, 0
                _atomic_torch_save(
                    {
                        "step": step,
                        "model": model.state_dict(),
                        "optimizer": opt.state_dict(),
                        "ema": None if ema is None else ema.state_dict(),
                        "metrics": metrics,
                        "config": dataclasses.asdict(cfg),
                    },
                    self.ckpt_path,
                )
        bar.close()
        final = None
        if dist.main:
            final = self.out / "weights.safetensors"
            name, kwargs = model.pixelsmith_arch
            info = WeightInfo(
                task=self.task.name,
                arch=name,
                arch_kwargs=kwargs,
                config={**dataclasses.asdict(cfg), "task": self.task.options()},
                data=", ".join(cfg.data),
                metrics=metrics,
                command=self.command,
            )
            save_weights(ema or model, final, info)
            log.close()
        dist.close()
        return final

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
        header = "step,loss,lr,patches_per_s,elapsed_s,metrics\n"
        rows = []
        if step and self.log_path.exists():
            with open(self.log_path, newline="") as f:
                rows = [r for r in list(csv.reader(f))[1:] if r and int(r[0]) <= step]
        f = open(self.log_path, "w", newline="")
        f.write(header)
        csv.writer(f).writerows(rows)
        self._t_start = time.perf_counter()
        return f

    def _log(self, f, step: int, loss: float, lr: float, rate: float, metrics: dict) -> None:
        m = ";".join(f"{k}={v:.4f}" for k, v in metrics.items())
        csv.writer(f).writerow(
            [
                step,
                f"{loss:.6g}",
                f"{lr:.3g}",
                f"{rate:.1f}",
                f"{time.perf_counter() - self._t_start:.1f}",
                m,
            ]
        )
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
    from pixelsmith.models import list_models, model_task

    if not cfg.data:
        raise PixelsmithError("no training data: give --data FOLDER (one or more)")
    for name in ("steps", "batch_size", "patch_size", "val_every", "ckpt_every"):
        if getattr(cfg, name) <= 0:
            raise PixelsmithError(f"--{name.replace('_', '-')} must be positive")
    if not 0 <= cfg.ema < 1:
        raise PixelsmithError("--ema is a decay in [0, 1): 0 turns it off, 0.999 is typical")
    if task is not None and cfg.model in list_models() and model_task(cfg.model) != task.name:
        raise PixelsmithError(
            f"{cfg.model} is a {model_task(cfg.model)} model; {task.name} models: "
            f"{', '.join(list_models(task.name))}"
        )
