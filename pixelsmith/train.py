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
import math
import os
import shlex
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from tqdm import tqdm

from pixelsmith.data.photos import step_generator
from pixelsmith.errors import PixelsmithError
from pixelsmith.models import create_model
from pixelsmith.tasks import Task
from pixelsmith.weights import WeightInfo, save_weights


@dataclass
class TrainConfig:
    """Everything a training run depends on. Each field is a ``--flag`` of ``pixelsmith train``."""

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
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        torch.save(obj, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class _Dist:
    """Rank and world size under torchrun; a single process otherwise."""

    def __init__(self, device: str) -> None:
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        self.enabled = self.world > 1
        if self.enabled and not torch.distributed.is_initialized():
            backend = "nccl" if device.startswith("cuda") else "gloo"
            torch.distributed.init_process_group(backend)

    @property
    def main(self) -> bool:
        return self.rank == 0

    def close(self) -> None:
        if self.enabled and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()


class Trainer:
    """Train ``task``'s model as ``config`` says; ``run()`` resumes from ``out/checkpoint.pt`` if present."""

    def __init__(self, config: TrainConfig, task: Task, command: str | None = None) -> None:
        self.config = config
        self.task = task
        self.command = command or shlex.join(["pixelsmith", *sys.argv[1:]])
        self.out = Path(config.out)
        self.ckpt_path = self.out / "checkpoint.pt"
        self.log_path = self.out / "log.csv"

    def run(self) -> Path:
        cfg = self.config
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        torch.set_flush_denormal(True)  # denormal floats slow CPU training by 10x as weights settle
        dist = _Dist(cfg.device)
        device = torch.device(cfg.device)
        if dist.enabled and device.type == "cuda":
            device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        if dist.main:
            self.out.mkdir(parents=True, exist_ok=True)

        data = self.task.load_data(cfg.data, cfg.patch_size, cache=cfg.cache_images)
        torch.manual_seed(cfg.seed)
        model = create_model(cfg.model, **self.task.model_kwargs(), **cfg.model_kwargs).to(device)
        if cfg.init:
            _init_from(model, cfg.init)
        ema = copy.deepcopy(model).requires_grad_(False) if cfg.ema else None
        opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        step, metrics = 0, {}
        if self.ckpt_path.exists():
            ck = torch.load(self.ckpt_path, map_location=device, weights_only=True)
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
                model, device_ids=[device.index] if device.type == "cuda" else None)

        bar = tqdm(total=cfg.steps, initial=step, disable=not dist.main, unit="step",
                   dynamic_ncols=True, mininterval=1.0)
        log = self._open_log(step) if dist.main else None
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
            if dist.main and (step % cfg.val_every == 0 or last) and cfg.val_data:
                metrics = self.task.evaluate(ema or model, cfg.val_data)
                bar.write(f"step {step}: " + ", ".join(f"{k} {v:.4f}" for k, v in metrics.items()))
            if dist.main and (step % cfg.ckpt_every == 0 or step % cfg.val_every == 0 or last):
                self._log(log, step, loss_sum / loss_n, lr, rate, metrics)
                loss_sum, loss_n = 0.0, 0
                _atomic_torch_save({
                    "step": step, "model": model.state_dict(), "optimizer": opt.state_dict(),
                    "ema": None if ema is None else ema.state_dict(), "metrics": metrics,
                    "config": dataclasses.asdict(cfg)}, self.ckpt_path)
        bar.close()
        final = self.out / "weights.safetensors"
        if dist.main:
            name, kwargs = model.pixelsmith_arch
            info = WeightInfo(task=self.task.name, arch=name, arch_kwargs=kwargs,
                              config={**dataclasses.asdict(cfg), "task": self.task.options()},
                              data=", ".join(cfg.data), metrics=metrics, command=self.command)
            save_weights(ema or model, final, info)
            log.close()
        dist.close()
        return final

    def _open_log(self, step: int):
        new = step == 0 or not self.log_path.exists()
        f = open(self.log_path, "w" if new else "a", newline="")
        if new:
            f.write("step,loss,lr,patches_per_s,elapsed_s,metrics\n")
        self._t_start = time.perf_counter()
        return f

    def _log(self, f, step: int, loss: float, lr: float, rate: float, metrics: dict) -> None:
        m = ";".join(f"{k}={v:.4f}" for k, v in metrics.items())
        csv.writer(f).writerow([step, f"{loss:.6g}", f"{lr:.3g}", f"{rate:.1f}",
                                f"{time.perf_counter() - self._t_start:.1f}", m])
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
        print(f"init from {path}: kept own initialisation for {', '.join(skipped)}", file=sys.stderr)


def check_config(cfg: TrainConfig) -> None:
    """Clear errors for a config that cannot run."""
    if not cfg.data:
        raise PixelsmithError("no training data: give --data FOLDER (one or more)")
    if cfg.steps <= 0 or cfg.batch_size <= 0:
        raise PixelsmithError("--steps and --batch-size must be positive")
