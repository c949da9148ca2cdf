"""The training configuration: one dataclass, a field per ``pixelsmith train`` flag.

Kept apart from :mod:`pixelsmith.trainer` (and free of torch) so the CLI can build its flags from
the fields without importing the trainer: ``pixelsmith --help`` stays fast.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from pixelsmith.errors import PixelsmithError


@dataclass
class TrainConfig:
    """Everything a training run depends on. Each field but ``model_kwargs`` is a ``--flag`` of
    ``pixelsmith train``; ``model_kwargs`` comes from model-specific flags such as ``--width``.

    ``keep_best`` names a validation metric (higher is better; ``NAME:min`` for lower): at each
    validation that improves it the run also writes ``best.safetensors``, the model as it was then
    (``weights.safetensors`` stays the last step's). The validation before the first step is a
    baseline only: the model as it starts is never kept, since an untrained net can score well
    by some metrics (a near-uniform colorizer reads close to grey).

    ``bf16`` runs forward and loss under bfloat16 autocast; it needs a CUDA device or a CPU with
    bfloat16 instructions (AVX-512 BF16 or AMX, where it is faster than float32); asking for
    it elsewhere is an error rather than a silently slower run. ``workers`` DataLoader processes make
    batches beside the model (0: in the training loop); the batches are the same either way.
    """

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
    workers: int = 0
    device: str = "cpu"
    bf16: bool = False
    init: str = ""
    keep_best: str = ""
    cache_images: bool = True
    model_kwargs: dict[str, Any] = field(default_factory=dict)

    def lr_at(self, step: int) -> float:
        """Linear warm-up, then cosine decay from ``lr`` to ``min_lr`` at ``steps``."""
        if step < self.warmup_steps:
            return self.lr * (step + 1) / self.warmup_steps
        t = (step - self.warmup_steps) / max(1, self.steps - self.warmup_steps)
        return self.min_lr + 0.5 * (self.lr - self.min_lr) * (1 + math.cos(math.pi * min(1.0, t)))


def build_config(
    config_file: str | None, overrides: dict[str, Any], defaults: dict[str, Any] | None = None
) -> TrainConfig:
    """A TrainConfig from defaults (TrainConfig's, then the task's ``defaults``), then an optional
    YAML file, then command-line flags."""
    values: dict[str, Any] = dict(defaults or {})
    if config_file:
        try:
            import yaml
        except ImportError:
            raise PixelsmithError(
                "reading --config needs PyYAML: pip install 'pixelsmith[yaml]'"
            ) from None
        try:
            with open(config_file) as f:
                loaded = yaml.safe_load(f) or {}
        except (OSError, yaml.YAMLError) as e:
            raise PixelsmithError(
                f"cannot read the config ({str(e).splitlines()[0]})", config_file
            ) from None
        if not isinstance(loaded, dict):
            raise PixelsmithError("a config file holds `field: value` lines", config_file)
        values.update(loaded)
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = set(values) - known
    if unknown:
        raise PixelsmithError(f"unknown config keys {sorted(unknown)}", config_file)
    for k, v in overrides.items():
        if v is not None and v != ():
            values[k] = list(v) if isinstance(v, tuple) else v
    return TrainConfig(**values)
