"""What the CLI verbs do, as plain functions (so they are testable without a shell)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from pixelsmith.api import load_sr_model
from pixelsmith.errors import PixelsmithError
from pixelsmith.io import WRITE_FORMATS, list_images, read_image, write_image
from pixelsmith.tasks.superres import SuperRes, upscale_image
from pixelsmith.train import TrainConfig
from pixelsmith.weights import shipped_weights


def _output_paths(inputs: list[Path], out: str | None, suffix: str, overwrite: bool) -> list[Path]:
    """Where each input's result goes; every clash is found before any work is done."""
    if out is None:
        targets = [p.with_name(f"{p.stem}{suffix}.png") for p in inputs]
    elif Path(out).suffix and not Path(out).is_dir():
        o = Path(out)
        if o.suffix.lower() not in WRITE_FORMATS:
            raise PixelsmithError(
                f"cannot write {o.suffix} files (use {', '.join(WRITE_FORMATS)})", o
            )
        if len(inputs) > 1:
            raise PixelsmithError(
                "--out names one file but there are several inputs; give a folder", o
            )
        targets = [o]
    else:
        if not Path(out).is_dir():
            raise PixelsmithError("output folder does not exist", out)
        targets = [Path(out) / f"{p.stem}{suffix}.png" for p in inputs]
    sources = {p.resolve() for p in inputs}
    seen: dict[Path, Path] = {}
    for src, dst in zip(inputs, targets, strict=True):
        key = dst.resolve()
        if key in sources:
            raise PixelsmithError("is an input; pixelsmith never overwrites its inputs", dst)
        if key in seen:
            raise PixelsmithError(
                f"{seen[key].name} and {src.name} would both be written here", dst
            )
        if dst.exists() and not overwrite:
            raise PixelsmithError("file already exists (pass --overwrite to replace it)", dst)
        seen[key] = src
    return targets


def upscale_files(
    inputs: list[str],
    scale: int,
    *,
    model: str = "lrnet",
    blind: bool = False,
    tile: int = 256,
    out: str | None = None,
    overwrite: bool = False,
    device: str = "cpu",
    bf16: bool = False,
) -> list[Path]:
    """Upscale every image named by ``inputs``; returns the written paths.

    Alpha is upscaled bicubically and restored; grey stays grey; inputs are never overwritten.
    """
    from pixelsmith.infer import pick_device, run_tiled
    from pixelsmith.models.bicubic import Bicubic

    files = list_images(inputs)
    targets = _output_paths(files, out, f"_x{scale}", overwrite)
    dev = pick_device(device)
    net, _ = load_sr_model(model, scale, blind, dev)
    written = []
    for src, dst in tqdm(
        list(zip(files, targets, strict=True)), unit="image", disable=len(files) < 2
    ):
        img, meta = read_image(src)
        big = upscale_image(
            net, img, tile=tile, device=dev, dtype=torch.bfloat16 if bf16 else torch.float32
        )
        if meta.alpha is not None:
            meta.alpha = run_tiled(Bicubic(scale), meta.alpha, scale=scale, tile=tile).clamp_(0, 1)
        deep = meta.bit_depth > 8 and dst.suffix.lower() in (".png", ".tif", ".tiff")
        written.append(
            write_image(
                dst, big, meta=meta, overwrite=overwrite, inputs=files, bit_depth=16 if deep else 8
            )
        )
    return written


def eval_superres(data: str, scale: int, models: list[str], blind: bool = False) -> str:
    """A table of mean PSNR/SSIM per model on ``data`` by the SRCNN protocol."""
    if not Path(data).exists():
        raise PixelsmithError("data folder does not exist", data)
    task = SuperRes(scale)
    lines = [
        f"Set: {data}  scale x{scale}  (Y channel, shave {scale}, MATLAB bicubic)",
        f"{'model':<28}{'PSNR dB':>9}{'SSIM':>8}",
    ]
    shipped = shipped_weights()
    for m in models:
        net, info = load_sr_model(m, scale, blind)
        r = task.evaluate(net, data)
        if info is None or m in shipped:
            name = m
        elif Path(m).suffix or Path(m).is_file():
            name = Path(m).name
        else:  # a short name: the architecture it resolved to
            name = info.arch + (" blind" if blind else "")
        lines.append(f"{name:<28}{r['psnr']:>9.2f}{r['ssim']:>8.4f}")
    return "\n".join(lines)


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


#: ``pixelsmith train classify`` starts from these instead of the SR-oriented TrainConfig defaults.
CLASSIFY_DEFAULTS: dict[str, Any] = {
    "model": "smallconvnet",
    "data": ["lfw_subset"],
    "val_data": "lfw_subset",
    "out": "runs/classify",
    "steps": 500,
    "batch_size": 32,
    "lr": 3e-3,
    "warmup_steps": 50,
    "weight_decay": 1e-4,
    "val_every": 100,
    "ckpt_every": 100,
}

#: An input shape (C, H, W) that each task's models accept, for summaries.
EXAMPLE_SHAPES = {"superres": (1, 64, 64), "classify": (1, 25, 25)}


def resolve_model(name: str, scale: int = 3) -> torch.nn.Module:
    """An architecture name (fresh weights), a shipped weight name, a weight file, or an SRCNN
    authors' ``.mat`` file (which does not record its ``scale``)."""
    from pixelsmith.models import create_model, list_models
    from pixelsmith.weights import load_model, load_srcnn_official

    if name in list_models():
        return create_model(name)
    if name.endswith(".mat"):
        return load_srcnn_official(name, scale)
    return load_model(name)[0]


def model_summary(name: str, input_shape: str | None) -> str:
    from pixelsmith.models import model_task
    from pixelsmith.nn.accounting import summary

    model = resolve_model(name)
    if input_shape:
        try:
            shape = tuple(int(v) for v in input_shape.split(","))
        except ValueError:
            raise PixelsmithError(
                f"--input-shape must be C,H,W integers, got {input_shape!r}"
            ) from None
    else:
        shape = EXAMPLE_SHAPES[model_task(model.pixelsmith_arch[0])]
    return str(summary(model, shape))
