"""The NoGAN schedule of DeOldify (Antic 2019): most of the learning without a GAN, then a short one.

    1. generator: the ordinary :class:`~pixelsmith.trainer.Trainer` with the colorize task's
       perceptual loss (L1 + features), into ``OUT/generator/``;
    2. critic: :class:`~pixelsmith.models.unet_gan.PatchCritic` learns real photos from the frozen
       generator's results (hinge loss), ``critic_steps`` steps;
    3. adversarial: both together for ``gan_steps`` steps at ``gan_lr``; the generator's loss is
       the perceptual loss plus ``adv_weight`` times the critic's hinge term.

The critic sees Lab at 1/4 size (the generator's output grid): L / 100 and ab / 110. Each phase
resumes from its checkpoint (``OUT/generator/checkpoint.pt``, ``OUT/nogan.pt``); the batches are
the same stateless stream as the Trainer's. Returns ``OUT/weights.safetensors``, whose metadata
records the three phases and the feature network.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.nn import functional as F

from pixelsmith.config import TrainConfig
from pixelsmith.data.photos import step_generator
from pixelsmith.errors import PixelsmithError
from pixelsmith.tasks.colorize import AB_NORM, Colorize


@dataclass
class NoGANConfig:
    critic_steps: int = 400
    gan_steps: int = 600
    gan_lr: float = 1e-4
    adv_weight: float = 0.05
    critic_width: int = 32


def feature_network(name: str) -> tuple[torch.nn.Module, str]:
    """``name``: a VGG16 ``.pth``/``.pt`` file, or a pixelsmith colorization model (shipped name or
    weight file). Returns the loss and a description for the weight file's metadata."""
    from pixelsmith.nn.perceptual import ColorNetFeatures, PerceptualLoss, load_vgg16

    p = Path(name)
    if p.suffix.lower() in (".pth", ".pt"):
        return PerceptualLoss(load_vgg16(p), "vgg16"), f"vgg16 ({p.name})"
    from pixelsmith.resolver import load_model

    model, info = load_model(name, task="colorize")
    if not hasattr(model, "blocks"):
        raise PixelsmithError(f"{info.name} is not a ColorNet; its encoder cannot give features")
    return PerceptualLoss(ColorNetFeatures(model), "colornet"), f"colorization encoder {info.name}"


def _critic_input(lightness: torch.Tensor, ab: torch.Tensor) -> torch.Tensor:
    """L ``(N, 1, p, p)`` and ab ``(N, 2, p/4, p/4)`` in Lab units -> the critic's input."""
    return torch.cat([F.avg_pool2d(lightness, 4) / 100.0, ab / AB_NORM], 1)


def train_nogan(cfg: TrainConfig, task: Colorize, schedule: NoGANConfig, command: str = "") -> Path:
    from pixelsmith.models.unet_gan import PatchCritic
    from pixelsmith.resolver import load_model
    from pixelsmith.trainer import Trainer, _atomic_torch_save
    from pixelsmith.weights import WeightInfo, save_weights

    if not task.perceptual:
        raise PixelsmithError("the NoGAN schedule needs a perceptual loss: give --perceptual")
    if task._features is None:
        task = task.with_features(*feature_network(task.perceptual))
    out = Path(cfg.out)
    gen_cfg = dataclasses.replace(cfg, out=str(out / "generator"))
    gen_path = out / "generator" / "weights.safetensors"
    if not gen_path.exists():
        Trainer(gen_cfg, task, command=command).run()
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    gen, _ = load_model(gen_path, task=task)
    gen.train()
    critic = PatchCritic(schedule.critic_width)
    photos = task.load_data(cfg.data, cfg.patch_size)
    task = task.bind(gen)
    opt_d = torch.optim.Adam(critic.parameters(), lr=schedule.gan_lr * 2, betas=(0.0, 0.9))
    opt_g = torch.optim.Adam(gen.parameters(), lr=schedule.gan_lr, betas=(0.0, 0.9))
    state_path = out / "nogan.pt"
    step = 0
    if state_path.exists():
        ck = torch.load(state_path, weights_only=True)
        gen.load_state_dict(ck["generator"])
        critic.load_state_dict(ck["critic"])
        opt_d.load_state_dict(ck["opt_d"])
        opt_g.load_state_dict(ck["opt_g"])
        step = ck["step"]
        print(f"resuming the NoGAN phases at step {step}", file=sys.stderr)
    total = schedule.critic_steps + schedule.gan_steps
    log = open(out / "nogan_log.csv", "a")
    if step == 0:
        log.write("step,phase,loss_d,loss_g,elapsed_s\n")
    t0 = time.perf_counter()
    while step < total:
        gan = step >= schedule.critic_steps
        batch = task.make_batch(
            photos, cfg.batch_size, cfg.patch_size, step_generator(cfg.seed + 7, step)
        )
        L, ab = batch.inputs[0], batch.target
        real = _critic_input(L, ab)
        # critic: hinge loss, real photos vs the generator's results
        with torch.no_grad():
            fake_ab = gen(L) * AB_NORM
        loss_d = (
            F.relu(1 - critic(real)).mean() + F.relu(1 + critic(_critic_input(L, fake_ab))).mean()
        )
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        loss_g = torch.zeros(())
        if gan:  # generator: its own loss plus fooling the critic
            pred = gen(L)
            adv = -critic(_critic_input(L, pred * AB_NORM)).mean()
            loss_g = task.loss(pred, batch) + schedule.adv_weight * adv
            opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
            opt_g.step()
        step += 1
        if step % 50 == 0 or step == total:
            phase = "gan" if gan else "critic"
            log.write(
                f"{step},{phase},{loss_d.item():.4f},{loss_g.item():.4f},{time.perf_counter() - t0:.1f}\n"
            )
            log.flush()
            print(
                f"nogan step {step}/{total} ({phase}): critic {loss_d.item():.3f} generator {loss_g.item():.3f}",
                file=sys.stderr,
            )
        if step % 200 == 0 or step == total:
            _atomic_torch_save(
                {
                    "step": step,
                    "generator": gen.state_dict(),
                    "critic": critic.state_dict(),
                    "opt_d": opt_d.state_dict(),
                    "opt_g": opt_g.state_dict(),
                },
                state_path,
            )
    log.close()
    gen.eval()
    metrics = task.evaluate(gen, cfg.val_data) if cfg.val_data else {}
    name, kwargs = gen.pixelsmith_arch
    info = WeightInfo(
        task=task.name,
        arch=name,
        arch_kwargs=kwargs,
        config={
            **dataclasses.asdict(cfg),
            "task": task.options(),
            "nogan": dataclasses.asdict(schedule),
        },
        data=", ".join(cfg.data),
        metrics=metrics,
        command=command,
    )
    return save_weights(gen, out / "weights.safetensors", info)
