"""The training runs behind every shipped colorization weight file, re-runnable.

    python benchmarks/train_colorize.py --list
    python benchmarks/train_colorize.py colornet_s_photos          # train (resumes), then ship
    python benchmarks/train_colorize.py colornet_s_photos --ship   # only copy weights + record

Each run is one ``pixelsmith train colorize`` (or ``colorize-gan``) command; its output folder is
``runs/<name>``. Shipping copies the weights to ``pixelsmith/pretrained/colorize_<name>.safetensors``
and writes ``colorize_<name>.json`` beside it: the command, the data, the validation metrics (the
colorization protocol on the run's validation photos, at the trainer's decoding: T = 0.38, half
the rebalancing undone), the steps and the wall time from the log, and the decoding it carries
(``DECODING``). The runs in ``RECIPES`` are recipes tried beside the default; they stay in
``runs/``.
Validation is on BSDS500's held-out tenth (or the ImageNet tuning tenth); the figures in
BENCHMARKS.md are on the ImageNet sample's held-out tenth and Kodak24, which neither training nor
validation sees.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import ROOT, read_log, runs_main, ship_run, train_run  # noqa: E402

DATA = "../shared/data"
TRAIN_SETS = ["imagenet_sample1000@train", "bsds500/train@train", "sun_hays80", "t91"]
VAL_SET = "bsds500/train@val"
# the ImageNet sample's training part split once more: @fit trains, @tune picks the checkpoint
FIT_SETS = ["imagenet_sample1000@fit", *TRAIN_SETS[1:]]
TUNE_SET = "imagenet_sample1000@tune"
# about half of each training set, chosen by a digit or letter of the file name that says nothing
# about the photo (a synset number's last digit, a random suffix): how much the photos count
HALF_FIT_SETS = [
    "imagenet_sample1000/n???????[02468]_*@fit",
    "bsds500/train/*[02468].jpg@train",
    "sun_hays80/*[a-m].jpg",
    "t91/t*[02468].bmp",
]


def _cmd(verb: str, steps: int, extra=(), train_sets=TRAIN_SETS, val_set=VAL_SET) -> list[str]:
    args = ["pixelsmith", "train", verb]
    for d in train_sets:
        args += ["--data", f"{DATA}/{d}"]
    return [
        *args,
        "--val-data",
        f"{DATA}/{val_set}",
        "--steps",
        str(steps),
        "--threads",
        "2",
        *extra,
    ]


def _recipe(steps: int, extra: list[str], train_sets=FIT_SETS) -> list[str]:
    """A recipe tried beside the default: trains on @fit, keeps the checkpoint by the floor margin
    on the ImageNet tuning tenth, which training does not see."""
    args = [*extra, "--keep-best", "floor_margin"]
    return _cmd("colorize", steps, args, train_sets=train_sets, val_set=TUNE_SET)


# recipes tried beside the default and not shipped: ``benchmarks/colorize.py --recipes`` measures
# their runs/ folders
RECIPES: dict[str, list[str]] = {
    # scale-augmented crops (short side 176..320): ~85 minutes on 2 cores
    "colornet_s_photos_multiscale": _recipe(
        4500, ["--short-side-max", "320", "--val-every", "500"]
    ),
    # the default's recipe on a short schedule (its learning rate anneals to zero in ~20 minutes)
    "colornet_s_photos_short": _recipe(1100, ["--val-every", "275"]),
    # the bigger net (3/8 of the paper's widths, 4.6M parameters): ~60 minutes on 2 cores
    "colornet_m_photos": _recipe(2000, ["--model", "colornet_m", "--val-every", "250"]),
    # the bigger net 2.5 times longer, in bfloat16 (a CPU with AVX-512 BF16 trains it at about
    # 1 s a step, against 1.7 in float32): ~95 minutes on 2 cores
    "colornet_m_photos_long": _recipe(
        5000, ["--model", "colornet_m", "--bf16", "--val-every", "500"]
    ),
    # the default's recipe without class rebalancing (lambda 1, the paper's "class" ablation),
    # in bfloat16: ~45 minutes on 2 cores
    "colornet_s_photos_class": _recipe(4500, ["--rebalance", "1", "--bf16", "--val-every", "500"]),
    # the shipped default's recipe, validated and kept as an exponential moving average of its
    # weights (decay 0.999, about the last 1000 steps): ~65 minutes on 2 cores
    "colorunet_s_photos_ema": _recipe(
        5000, ["--model", "colorunet_s", "--bf16", "--ema", "0.999", "--val-every", "500"]
    ),
    # the shipped default's recipe on about half of its training photos (the same steps, so each
    # photo is seen twice as often): what the number of photos is worth: ~65 minutes on 2 cores
    "colorunet_s_photos_half": _recipe(
        5000,
        ["--model", "colorunet_s", "--bf16", "--val-every", "500"],
        train_sets=HALF_FIT_SETS,
    ),
}

RUNS: dict[str, list[str]] = {
    # the shipped default: the residual U-Net body (ColorUNet, 4.6M parameters) in bfloat16, by
    # the recipe protocol (trained on @fit; its checkpoint and its decoding correction chosen on
    # the ImageNet tuning tenth, where it was the best of the recipes tried): ~65 minutes on 2
    # cores
    "colorunet_s_photos": _recipe(5000, ["--model", "colorunet_s", "--bf16", "--val-every", "500"]),
    # the default until 2026-12-06: ~65 minutes on 2 cores
    "colornet_s_photos": _cmd("colorize", 4500, ["--val-every", "1500"]),
    # the global-context branch on the shipped net, started from it: ~80 more minutes on 2 cores
    "colornet_s_photos_context": _cmd(
        "colorize",
        5000,
        ["--context", "--init", "pixelsmith/pretrained/colorize_colornet_s_photos.safetensors"]
        + ["--lr", "5e-4", "--val-every", "1000"],
    ),
    # the L2 baseline on the same network, a shorter run (see BENCHMARKS.md)
    "colornet_s_photos_l2": _cmd("colorize", 1500, ["--head", "regression", "--val-every", "1500"]),
    # the L2 baseline on the default's body, trained as the default was (@fit, 5000 steps in
    # bfloat16), its last weights: ~45 minutes on 2 cores
    "colorunet_s_photos_l2": _cmd(
        "colorize",
        5000,
        ["--model", "colorunet_s", "--head", "regression", "--bf16", "--val-every", "500"],
        train_sets=FIT_SETS,
        val_set=TUNE_SET,
    ),
    # NoGAN: generator with the perceptual loss of colornet_s.photos's encoder, critic, adversarial
    "deoldify_s_photos": _cmd(
        "colorize-gan",
        500,
        ["--perceptual", "colornet_s.photos", "--val-every", "500"]
        + ["--critic-steps", "150", "--gan-steps", "250"],
    ),
    **RECIPES,
}


# the decoding each shipped classification net carries (its arch_kwargs): the share of the
# rebalancing undone and the annealed mean's temperature with the best smaller floor margin on the
# run's validation photos, the ImageNet tuning tenth (``python benchmarks/colorize.py
# --decoding``); a net not named here is decoded at the task's defaults, correction 0.5 (chosen
# for colornet_s_photos on bsds500/train@val, ``--correction``) and the paper's T = 0.38
DECODING: dict[str, dict[str, float]] = {
    "colorunet_s_photos": {"correction": 0.1, "temperature": 0.6},
}


def train(name: str) -> None:
    train_run(name, RUNS[name])


def ship(name: str) -> None:
    from pixelsmith.weights import read_metadata, set_arch_kwargs

    if name in RECIPES:
        print(
            f"{name} is not shipped: python benchmarks/colorize.py --recipes measures runs/{name}"
        )
        return
    run = ROOT / "runs" / name
    dst = ROOT / "pixelsmith" / "pretrained" / f"colorize_{name}.safetensors"
    args = RUNS[name]
    weights = "best.safetensors" if "--keep-best" in args else "weights.safetensors"
    record = {
        "rerun": f"python benchmarks/train_colorize.py {name}",
        "data": [a for a, flag in zip(args[1:], args[:-1], strict=True) if flag == "--data"],
        "validation": f"{args[args.index('--val-data') + 1]} (colorization protocol, short side 256)",
    }
    if weights != "weights.safetensors":
        kept = json.loads(read_metadata(run / weights)["config"])["kept_step"]
        record["kept"] = f"{weights}: step {kept}, the best {args[args.index('--keep-best') + 1]}"
    last = read_log(run)[-1]
    if "critic_loss" in last:  # a NoGAN run: one log of its three phases
        record["nogan_last"] = {k: last[k] for k in ("step", "phase", "loss", "critic_loss")}
    record["metrics"] = json.loads(read_metadata(run / weights).get("metrics", "{}"))
    if name in DECODING:
        val = args[args.index("--val-data") + 1].removeprefix(f"{DATA}/")
        record["decoding"] = (
            f"{DECODING[name]}: the share of the rebalancing its decoding undoes and the annealed "
            f"mean's temperature by default, chosen on {val} "
            "(python benchmarks/colorize.py --decoding)"
        )
    ship_run(run, dst, record, weights=weights)
    if name in DECODING:
        set_arch_kwargs(dst, **DECODING[name])


if __name__ == "__main__":
    runs_main(__doc__, RUNS, train, ship)
