"""Colorization figures for BENCHMARKS.md and docs/research/colorize.md: quality, the temperature
trade-off, the prior, a 24-megapixel run, and the figure of held-out examples.

    python benchmarks/colorize.py              # all but --recipes (about 10 minutes on 2 cores)
    python benchmarks/colorize.py --quality    # the table per method, held-out photos
    python benchmarks/colorize.py --temperature
    python benchmarks/colorize.py --correction # how much of the rebalancing to undo, on validation
    python benchmarks/colorize.py --decoding   # the default's temperature and beta, on @tune
    python benchmarks/colorize.py --decoding-of RUN  # the same grid for runs/RUN, then held-out
    python benchmarks/colorize.py --prior      # pixelsmith's prior vs the paper's prior_probs.npy
    python benchmarks/colorize.py --large      # time and peak memory of a 24-megapixel photo
    python benchmarks/colorize.py --figure     # docs/img/colorize_examples.png
    python benchmarks/colorize.py --recipes    # training recipes tried and not shipped (needs
                                               # their runs/: benchmarks/train_colorize.py NAME)
    python benchmarks/colorize.py --information  # each net's loss against a constant prediction

Quality (pixelsmith.tasks.colorize_protocol): each held-out colour photo is shrunk to a short side
of 256, its L given to the method; AuC of the per-pixel ab error over 0..150 (raw, and
class-rebalanced: each ground-truth ab bin counts equally), PSNR of the sRGB result, colourfulness
(Hasler & Suesstrunk) as a ratio to the ground truth's. Sets: the held-out tenth of the ImageNet
sample (``imagenet_sample1000@val``, never trained on) and Kodak24 (never trained on).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import markdown_table, update_section  # noqa: E402

import pixelsmith  # noqa: E402
from pixelsmith.models import ab_bins  # noqa: E402
from pixelsmith.paths import data_dir  # noqa: E402
from pixelsmith.tasks.colorize import CORRECTION  # noqa: E402
from pixelsmith.weights import read_metadata  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
NET = "colorunet_s.photos"  # the shipped default (``pixelsmith colorize`` with no --model)
# the default until 2026-12-06, the body of one L2 baseline, the context net and the GAN's loss
PREVIOUS = "colornet_s.photos"
CONTEXT = "colornet_s.photos_context"  # PREVIOUS with the global-context branch, trained on
# decoding as the paper does: T = 0.38, no share of the rebalancing undone
PAPER = {"correction": 0.0, "temperature": ab_bins.TEMPERATURE}
PREVIOUS_ROW = "the previous default (`colornet_s`, 1.4M parameters), annealed, its own share"
DEFAULT = "classification, annealed mean at its own temperature and share of the rebalancing undone (default)"
METHODS = [  # (label, model, task options); {}: the model's own decoding correction
    ("grayscale (ab = 0)", "grey", {}),
    ("L2 regression (the default's `colorunet_s` body)", "colorunet_s.photos_l2", {}),
    ("L2 regression (the `colornet_s` body)", "colornet_s.photos_l2", {}),
    ("classification, mode (paper)", NET, {"decoding": "mode", **PAPER}),
    ("classification, mean (paper)", NET, {"decoding": "mean", **PAPER}),
    ("classification, annealed mean T = 0.38 (paper)", NET, PAPER),
    (DEFAULT, NET, {}),
    (PREVIOUS_ROW, PREVIOUS, {}),
    ("`colornet_s` with the global-context branch, 5000 steps more", CONTEXT, {}),
    ("GAN (NoGAN schedule)", "deoldify_s.photos", {}),
]
# the floors' L2 regression: the default's network with 2 outputs (else the other body's)
L2_ROWS = (METHODS[1][0], METHODS[2][0])
VALIDATION = "bsds500/train@val"  # what the previous default's decoding was chosen on


def _sets() -> list[tuple[str, str]]:
    d = data_dir()
    if d is None:
        sys.exit("needs ../shared/data (or PIXELSMITH_DATA)")
    return [
        ("ImageNet sample, held-out tenth", f"{d}/imagenet_sample1000@val"),
        ("Kodak (`kodak24/`)", f"{d}/kodak24"),
    ]


def _cells(r: dict) -> list[str]:
    """A method's figures as table cells: AuC raw, AuC rebalanced, PSNR, colourfulness."""
    return [
        f"{r['auc_raw']:.2f}",
        f"{r['auc_rebalanced']:.2f}",
        f"{r['psnr']:.2f}",
        f"{r['colourfulness']:.3f}",
    ]


def _shipped(name: str) -> bool:
    return name == "grey" or name in pixelsmith.list_pretrained("colorize")


def _carried(name: str) -> dict[str, float]:
    """The decoding a shipped net carries in its weight file (``{}``: none)."""
    path = pixelsmith.list_pretrained("colorize")[name]
    kwargs = json.loads(read_metadata(path).get("arch_kwargs", "{}"))
    return {k: kwargs[k] for k in ("correction", "temperature") if k in kwargs}


def _own_decoding(name: str) -> dict[str, float]:
    """The decoding a shipped classification net decodes with by default, ``{"correction",
    "temperature"}`` (each, where it carries none, the task's default)."""
    return {"correction": CORRECTION, "temperature": ab_bins.TEMPERATURE, **_carried(name)}


def _shown(decoding: dict[str, float]) -> str:
    """``"beta 0.25, T = 0.38"``."""
    return f"beta {decoding['correction']:g}, T = {decoding['temperature']:g}"


def _shipped_steps(name: str) -> str:
    """``"kept / trained of planned"`` steps of a shipped weight file, from its record."""
    path = pixelsmith.list_pretrained("colorize")[name]
    config = json.loads(read_metadata(path)["config"])
    trained = json.loads(path.with_suffix(".json").read_text())["steps"]
    return f"{config.get('kept_step', trained)} / {trained} of {config['steps']}"


def quality() -> None:
    torch.set_num_threads(2)
    blocks = []
    for set_name, source in _sets():
        rows, results = [], {}
        for label, model, options in METHODS:
            if not _shipped(model):
                rows.append([label, model, "not shipped", "", "", ""])
                continue
            task = pixelsmith.get_task("colorize", **options)
            dataset = task.eval_dataset(source)
            r = results[label] = pixelsmith.evaluate(model, dataset, task)
            rows.append([label, f"`{model}`", *_cells(r)])
            print(set_name, rows[-1], flush=True)
        n = len(pixelsmith.get_task("colorize").eval_dataset(source))
        blocks.append(
            f"**{set_name}** ({n} photos; grey ones skipped by the protocol)\n\n"
            + markdown_table(
                [
                    "method",
                    "model",
                    "AuC raw %",
                    "AuC rebalanced %",
                    "PSNR dB",
                    "colourfulness / truth",
                ],
                rows,
            )
            + "\n\n"
            + _floors(results)
        )
    body = (
        "Each held-out colour photo shrunk to a short side of 256; the method sees its L only. AuC: "
        "area under the cumulative per-pixel ab error curve over 0..150 (raw: every pixel; "
        "rebalanced: every ground-truth ab bin equally, as in Zhang et al. 2016, Table 1). "
        "Colourfulness (Hasler & Suesstrunk 2003): the set's mean for the results over the "
        "truth's. None of these photos was trained on (the ImageNet sample's held-out tenth is "
        "fixed by file name, `pixelsmith.data.split`).\n\n" + "\n\n".join(blocks)
    )
    update_section("colorize-quality", "Colorization quality (held-out photos)", body)


def _floors(results: dict) -> str:
    """The issue's floors for the shipped default (annealed mean at its own decoding), checked."""
    grey = results.get("grayscale (ab = 0)")
    ours = results.get(DEFAULT)
    l2 = next((results[label] for label in L2_ROWS if label in results), None)
    if not (grey and ours):
        return ""
    checks = [
        (
            "rebalanced AuC >= grayscale + 5",
            ours["auc_rebalanced"] - grey["auc_rebalanced"] >= 5,
            f"{ours['auc_rebalanced'] - grey['auc_rebalanced']:+.2f}",
        ),
        (
            "raw AuC >= grayscale",
            ours["auc_raw"] >= grey["auc_raw"],
            f"{ours['auc_raw'] - grey['auc_raw']:+.2f}",
        ),
        (
            "colourfulness >= 0.6 of the truth",
            ours["colourfulness"] >= 0.6,
            f"{ours['colourfulness']:.3f}",
        ),
    ]
    if l2:
        checks.append(
            (
                "colourfulness above the L2 regression's",
                ours["colourfulness"] > l2["colourfulness"],
                f"{ours['colourfulness']:.3f} vs {l2['colourfulness']:.3f}",
            )
        )
    return (
        f"Floors for the shipped default (`{NET}`, annealed mean at its own {_shown(_own_decoding(NET))}): "
        + "; ".join(
            f"{name}: **{'met' if ok else 'not met'}** ({value})" for name, ok, value in checks
        )
        + "."
    )


def temperature() -> None:
    torch.set_num_threads(2)
    _, source = _sets()[0]
    rows = []
    for decoding, t in [
        ("mode", None),
        ("annealed", 0.1),
        ("annealed", 0.2),
        ("annealed", 0.38),
        ("annealed", 0.6),
        ("annealed", 0.8),
        ("mean", None),
    ]:
        task = pixelsmith.get_task(
            "colorize", decoding=decoding, **{**PAPER, **({"temperature": t} if t else {})}
        )
        r = pixelsmith.evaluate(NET, task.eval_dataset(source), task)
        label = decoding if t is None else f"annealed T = {t}"
        rows.append([label, *_cells(r)])
        print(rows[-1], flush=True)
    body = (
        f"`{NET}` on the ImageNet sample's held-out tenth, by decoding as the paper "
        "decodes (no rebalancing undone): the mode is the most colourful and the mean the most "
        "conservative; the annealed mean sits between.\n\n"
        + markdown_table(
            ["decoding", "AuC raw %", "AuC rebalanced %", "PSNR dB", "colourfulness / truth"], rows
        )
    )
    update_section("colorize-temperature", "Colorization: the temperature trade-off", body)


CORRECTIONS = (0.0, 0.25, 0.4, 0.45, 0.5, 0.55, 0.6, 0.75, 1.0)


def correction() -> None:
    """The share of the class rebalancing undone before decoding (annealed mean, T = 0.38), on
    validation photos (where the default was chosen) and on the held-out tenth (to show that the
    choice carries over)."""
    torch.set_num_threads(2)
    d = data_dir()
    if d is None:
        sys.exit("needs ../shared/data (or PIXELSMITH_DATA)")
    sets = [(f"validation (`{VALIDATION}`)", f"{d}/{VALIDATION}"), _sets()[0]]
    rows, chosen = [], {}
    for set_name, source in sets:
        task = pixelsmith.get_task("colorize", temperature=ab_bins.TEMPERATURE)
        dataset = task.eval_dataset(source)
        grey = pixelsmith.evaluate("grey", dataset, task)
        rows.append([set_name, "grey", "", *_cells(grey), "", ""])
        for model in (NET, PREVIOUS, CONTEXT):
            if not _shipped(model):
                continue
            for beta in CORRECTIONS:
                r = pixelsmith.evaluate(model, dataset, replace(task, correction=beta))
                if source.endswith(VALIDATION):  # the best margin; ties: the smaller beta
                    best = chosen.get(model)
                    if best is None or r["floor_margin"] > best[1]:
                        chosen[model] = (beta, r["floor_margin"])
                rows.append(
                    [
                        "",
                        f"`{model}`" if beta == CORRECTIONS[0] else "",
                        f"{beta:g}",
                        *_cells(r),
                        f"{r['auc_raw'] - grey['auc_raw']:+.2f}",
                        f"{r['auc_rebalanced'] - grey['auc_rebalanced'] - 5:+.2f}",
                    ]
                )
                print(rows[-1], flush=True)
    body = (
        "A net trained with the rebalanced loss predicts the colour odds tilted towards rare "
        "colours (the weighted cross-entropy is minimised by z proportional to w p), which is "
        "what makes its colours vivid and also what makes it wrong more often than grey on the "
        "many dull pixels. Decoding `z w^-beta` undoes a share beta of that tilt "
        "(`pixelsmith.models.ab_bins.undo_rebalancing`; beta = 0 is the paper's decoding). "
        "Annealed mean at T = 0.38. A net that carries a decoding of its own (the `correction` "
        "and `temperature` of its weight file, `benchmarks/train_colorize.py` DECODING) decodes "
        f"with it by default: `{NET}`'s was chosen on the ImageNet tuning tenth (section 'the "
        "default's decoding, chosen'). A net that carries none decodes at the task's "
        f"{CORRECTION:g}, the beta with the best smaller of the two AuC margins over the floors "
        f"for `{PREVIOUS}` on `{VALIDATION}` (13 photos, never trained on; this table). The "
        "held-out tenth is shown to check that a choice carries over, not to choose. Best here, "
        f"on `{VALIDATION}`: "
        + "; ".join(
            f"`{m}` beta {b:g} (margin {v:+.2f}; "
            + (f"it carries {_shown(_own_decoding(m))})" if _carried(m) else "it carries none)")
            for m, (b, v) in chosen.items()
        )
        + ".\n\n"
        + markdown_table(
            [
                "set",
                "model",
                "beta",
                "AuC raw %",
                "AuC rebalanced %",
                "PSNR dB",
                "colourfulness / truth",
                "raw - grey",
                "rebalanced - grey - 5",
            ],
            rows,
        )
    )
    update_section("colorize-correction", "Colorization: undoing the rebalancing at decoding", body)


DECODING_TEMPERATURES = (0.38, 0.5, 0.6, 0.7, 0.85, 1.0)
DECODING_BETAS = (0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.4)


def decoding_grid(model, tune, task, grey) -> tuple[dict, list[list[str]]]:
    """``model``'s floor margin on ``tune`` at each temperature x beta of the grid, and the
    table's rows."""
    rows, margins = [], {}
    for t in DECODING_TEMPERATURES:
        for beta in DECODING_BETAS:
            r = pixelsmith.evaluate(model, tune, replace(task, temperature=t, correction=beta))
            margins[t, beta] = r["floor_margin"]
            rows.append(
                [
                    f"{t:g}",
                    f"{beta:g}",
                    f"{r['auc_raw'] - grey['auc_raw']:+.2f}",
                    f"{r['auc_rebalanced'] - grey['auc_rebalanced'] - 5:+.2f}",
                    f"{r['floor_margin']:+.2f}",
                    f"{r['colourfulness']:.3f}",
                ]
            )
            print(rows[-1], flush=True)
    return margins, rows


def best_decoding(margins: dict) -> tuple[float, float]:
    """The (T, beta) with the best margin; ties: the paper's temperature first, then the smaller
    beta."""
    return max(margins, key=lambda k: (round(margins[k], 6), -abs(k[0] - 0.38), -k[1]))


def _tune_set():
    d = data_dir()
    if d is None:
        sys.exit("needs ../shared/data (or PIXELSMITH_DATA)")
    task = pixelsmith.get_task("colorize")
    tune = task.eval_dataset(f"{d}/{TUNE}")
    return task, tune, pixelsmith.evaluate("grey", tune, task)


def decoding() -> None:
    """The shipped default's decoding, temperature x beta, on the photos its checkpoint was
    chosen on (the ImageNet tuning tenth, which it did not train on): the pair with the best
    smaller floor margin is the pair its weight file carries."""
    from pixelsmith.resolver import load_model

    torch.set_num_threads(2)
    task, tune, grey = _tune_set()
    net, _ = load_model(NET, task=task)
    margins, rows = decoding_grid(net, tune, task, grey)
    best = best_decoding(margins)
    body = (
        f"`{NET}` on `{TUNE}` ({len(tune)} photos, the photos its checkpoint was chosen on; it "
        "trained on the rest of the ImageNet training part): the annealed mean at each "
        "temperature (1 is the plain mean) after undoing a share beta of the rebalancing. "
        "Columns: raw AuC over grey's, rebalanced AuC over grey's + 5, and the smaller of the two "
        "(the floor margin; both floors are met when it is positive). "
        f"Best: T = {best[0]:g}, beta {best[1]:g} (margin {margins[best]:+.2f}), the decoding "
        "its weight file carries (`benchmarks/train_colorize.py` DECODING; "
        "`tests/test_colorize.py` checks that no neighbour in this grid beats it).\n\n"
        + markdown_table(
            [
                "temperature",
                "beta",
                "raw - grey",
                "rebalanced - grey - 5",
                "margin",
                "colourfulness",
            ],
            rows,
        )
    )
    update_section("colorize-decoding", "Colorization: the default's decoding, chosen", body)


def _held_out(task) -> list[tuple[list[Path], dict[str, float]]]:
    """Each held-out set's photos and grey's figures on them."""
    sets = [task.eval_dataset(source) for _, source in _sets()]
    return [(data, pixelsmith.evaluate("grey", data, task)) for data in sets]


def _held_out_cells(model, task, decoding: dict[str, float], held_out) -> list[str]:
    """Raw and rebalanced AuC over grey, the floor margin and colourfulness, set by set."""
    cells = []
    for data, grey in held_out:
        r = pixelsmith.evaluate(model, data, replace(task, **decoding))
        cells += [
            f"{r['auc_raw'] - grey['auc_raw']:+.2f}",
            f"{r['auc_rebalanced'] - grey['auc_rebalanced']:+.2f}",
            f"{r['floor_margin']:+.2f}",
            f"{r['colourfulness']:.3f}",
        ]
    return cells


def decoding_of(run: str) -> None:
    """The same grid for a recipe run's kept weights (``runs/NAME``): how a run is compared with
    the default on the default's own terms before it may replace it. The grid is printed; the
    held-out sets are then measured once at the run's best pair, beside the default at its own,
    and written to BENCHMARKS.md."""
    torch.set_num_threads(2)
    weights = _run_weights(run)
    if weights is None:
        sys.exit(f"runs/{run} holds no weights")
    from pixelsmith.models import model_spec
    from pixelsmith.resolver import load_model

    task, tune, grey = _tune_set()
    net, _ = load_model(weights, task=task)
    if model_spec(net).out_channels == 2:
        sys.exit(f"runs/{run} is a regression net: it has no decoding to choose")
    margins, _ = decoding_grid(net, tune, task, grey)
    best = best_decoding(margins)
    print(
        f"{run} ({weights.name}, steps {_kept_step(weights)}): best on {TUNE}: "
        f"T = {best[0]:g}, beta {best[1]:g}, margin {margins[best]:+.2f}"
    )
    own = _own_decoding(NET)
    default_margin = pixelsmith.evaluate(NET, tune, replace(task, **own))["floor_margin"]
    held_out = _held_out(task)
    rows = []
    for label, model, decoding, on_tune in (
        ("the shipped default", NET, own, default_margin),
        (
            f"`{run}`",
            net,
            {"temperature": best[0], "correction": best[1]},
            margins[best],
        ),
    ):
        cells = [label, f"T = {decoding['temperature']:g}, beta {decoding['correction']:g}"]
        cells.append(f"{on_tune:+.2f}")
        cells += _held_out_cells(model, task, decoding, held_out)
        rows.append(cells)
        print(rows[-1], flush=True)
    body = (
        f"A recipe run (`runs/{run}`, {weights.name}, steps {_kept_step(weights)}) decoded at the "
        f"pair of the default's temperature x beta grid with the best floor margin on `{TUNE}` "
        "(the grid is printed by the command), and the shipped default at its own; then "
        "measured once on the held-out sets. AuC columns are points over grey; the margin is the "
        "smaller of raw and rebalanced - 5 (positive when both floors are met).\n\n"
        + markdown_table(
            [
                "net",
                "decoding (chosen on @tune)",
                "margin on @tune",
                "ImageNet tenth: raw",
                "rebalanced",
                "margin",
                "colourfulness",
                "Kodak: raw",
                "rebalanced",
                "margin",
                "colourfulness",
            ],
            rows,
        )
    )
    update_section(
        "colorize-decoding-of", "Colorization: a recipe run at its own best decoding", body
    )


# training recipes tried beside the default (benchmarks/train_colorize.py), not shipped: each
# trains on imagenet_sample1000@fit and keeps its checkpoint by the floor margin on @tune
RECIPES = [
    ("crops at short sides 176..320 (scale augmentation)", "colornet_s_photos_multiscale"),
    ("the default's recipe on a 1100-step schedule", "colornet_s_photos_short"),
    ("the bigger net (`colornet_m`, 4.6M parameters), the default's recipe", "colornet_m_photos"),
    ("the bigger net, 5000 steps in bfloat16", "colornet_m_photos_long"),
    (
        "the default's recipe without rebalancing (lambda 1, the paper's 'class')",
        "colornet_s_photos_class",
    ),
    (
        "the default's recipe, its weights' moving average (decay 0.999) validated and kept",
        "colorunet_s_photos_ema",
    ),
    (
        "the default's recipe on about half of its training photos (564 of 1161)",
        "colorunet_s_photos_half",
    ),
]
RECIPE_BETAS = (0.0, 0.25, 0.5, 0.75)
TUNE = "imagenet_sample1000@tune"


def _run_weights(name: str) -> Path | None:
    run = ROOT / "runs" / name
    return next(
        (p for p in (run / "best.safetensors", run / "weights.safetensors") if p.exists()), None
    )


def _earlier_row(name: str) -> list[str] | None:
    """The row BENCHMARKS.md holds for the recipe run ``name`` from an earlier measurement, when
    its run is not on this machine (``runs/`` is local), as cells of today's columns and marked
    with the date it was measured; None when it holds none."""
    import re

    text = (ROOT / "BENCHMARKS.md").read_text()
    begin, end = "<!-- begin colorize-recipes -->", "<!-- end colorize-recipes -->"
    if begin not in text:
        return None
    section = text.split(begin, 1)[1].split(end, 1)[0]
    date = re.search(r"Date: (\d{4}-\d{2}-\d{2})", section)
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 2 or cells[1] != f"`{name}`" or cells[2] == "not trained here":
            continue
        if len(cells) == 12:  # measured before the steps column existed
            cells.insert(2, "(not recorded)")
        if "measured" not in cells[0]:
            when = date.group(1) if date else "earlier"
            cells[0] += f" (measured {when}; its run is not on this machine)"
        return cells
    return None


def _kept_step(weights: Path) -> str:
    """``"kept / trained of planned"`` steps of a recipe run's weight file (a run may have been
    stopped before its planned steps: its log says how far it went)."""
    from harness import read_log

    from pixelsmith.weights import read_metadata

    config = json.loads(read_metadata(weights)["config"])
    trained = int(read_log(weights.parent)[-1]["step"])
    kept = config.get("kept_step", trained)
    return f"{kept} / {trained} of {config['steps']}"


def recipes() -> None:
    """Each recipe's run: beta chosen on the ImageNet tuning tenth (the best floor margin), then
    measured once on the held-out sets beside the shipped default at its own beta."""
    torch.set_num_threads(2)
    task, tune, _ = _tune_set()
    held_out = _held_out(task)

    def held_out_cells(model, decoding: dict[str, float]) -> list[str]:
        return _held_out_cells(model, task, decoding, held_out)

    rows = []
    for label, name in (("the shipped default", NET), ("the previous default", PREVIOUS)):
        own = _own_decoding(name)
        path = pixelsmith.list_pretrained("colorize")[name]
        data = json.loads(path.with_suffix(".json").read_text())["data"]
        if any(TUNE.split("@")[0] + "@train" in d for d in data):
            how, on_tune = f"all of @train, beta chosen on `{VALIDATION}`", "(trained on)"
        else:
            how = "@fit, its checkpoint, beta and T chosen on @tune"
            margin = pixelsmith.evaluate(name, tune, replace(task, **own))["floor_margin"]
            on_tune = f"{margin:+.2f}"
        rows.append(
            [
                f"{label} (trained on {how})",
                f"`{name}`",
                _shipped_steps(name),
                _shown(own).removeprefix("beta "),
                on_tune,
                *held_out_cells(name, own),
            ]
        )
        print(rows[-1], flush=True)
    for label, name in RECIPES:
        weights = _run_weights(name)
        if weights is None:
            earlier = _earlier_row(name)
            rows.append(earlier or [label, f"`{name}`", "not trained here", "", "", *[""] * 8])
            continue
        margins = {
            beta: pixelsmith.evaluate(weights, tune, replace(task, correction=beta))["floor_margin"]
            for beta in RECIPE_BETAS
        }  # at the paper's temperature (the task's, for a net that carries none)
        beta = max(RECIPE_BETAS, key=lambda b: margins[b])  # ties: the smaller beta
        rows.append(
            [
                label,
                f"`{name}`",
                _kept_step(weights),
                f"{beta:g}",
                f"{margins[beta]:+.2f}",
                *held_out_cells(weights, {"correction": beta}),
            ]
        )
        print(rows[-1], flush=True)
    (imagenet, _), (kodak, _) = _sets()
    body = (
        "Recipes tried to move the shipped colorizer past the floors, each a run of "
        "`python benchmarks/train_colorize.py NAME` (the command is there) that trains on "
        "`imagenet_sample1000@fit` (the training part less its tuning tenth `@tune`) with BSDS500 "
        "train, Sun-Hays 80 and T91, and keeps its checkpoint by the floor margin on `@tune` "
        "(`--keep-best floor_margin`). The share of the rebalancing undone (beta) is chosen among "
        f"{', '.join(f'{b:g}' for b in RECIPE_BETAS)} on `@tune` too, at the paper's T = 0.38; "
        "the held-out sets are measured once, at that beta. The shipped default is the best "
        "recipe on `@tune` (a run of it, `colorunet_s_photos`), shipped with the beta and T "
        "chosen for it on `@tune` (section 'the default's decoding'); its row and the previous "
        "default's are at their own decoding. Raw and rebalanced are AuC points over grayscale on the "
        "same photos (the floors: raw >= 0, rebalanced >= 5); margin is the smaller of raw and "
        "rebalanced - 5 (positive when both floors are met), the figure each run was tuned by. "
        "For a run trained with another rebalancing lambda, beta is still the share of the "
        "paper's rebalancing left out at decoding (`pixelsmith.models.ab_bins.retilt`: the run's own "
        "tilt removed, 1 - beta of the paper's applied), so every row aims at the same colour "
        "odds. Steps: the kept checkpoint, the steps trained and the steps planned (a run "
        "stopped early says so). Recipe runs stay in `runs/`; one ships as the default (its row "
        "is the first); "
        "docs/research/colorize.md says what each one showed.\n\n"
        + markdown_table(
            [
                "recipe",
                "run",
                "steps: kept / trained of planned",
                "beta",
                "margin on @tune",
                f"{imagenet}: raw",
                "rebalanced",
                "margin",
                "colourfulness",
                f"{kodak}: raw",
                "rebalanced",
                "margin",
                "colourfulness",
            ],
            rows,
        )
    )
    update_section("colorize-recipes", "Colorization: training recipes tried", body)


INFO_BATCHES, INFO_BATCH, INFO_SEED = 8, 32, 2027  # 256 crops of 128 px from each set
INFO_FLOOR = 1e-4  # the uniform share mixed into the constant's odds


@torch.no_grad()
def information() -> None:
    """How much of its photos' colours each classification net has learned: its training loss
    (the rebalanced cross-entropy of the soft targets) on fixed crops of photos it trained on
    and of held-out photos, against the best constant prediction (the same odds at every pixel,
    fitted to the training crops). The gap, in nats, is what the net knows about colour beyond
    the photos' overall colour distribution."""
    from pixelsmith.data.photos import step_generator
    from pixelsmith.resolver import load_model

    torch.set_num_threads(2)
    d = data_dir()
    if d is None:
        sys.exit("needs ../shared/data (or PIXELSMITH_DATA)")
    task = pixelsmith.get_task("colorize")
    crops = {}
    for key, source in (
        ("fit", f"{d}/imagenet_sample1000@fit"),
        ("val", f"{d}/imagenet_sample1000@val"),
    ):
        photos = task.load_data([source], 128)
        crops[key] = [
            task.make_batch(photos, INFO_BATCH, 128, step_generator(INFO_SEED, s, 0))
            for s in range(INFO_BATCHES)
        ]
    nets = [
        ("the shipped default", f"`{NET}`", NET),
        ("the previous default", f"`{PREVIOUS}`", PREVIOUS),
        ("the previous default with the context branch", f"`{CONTEXT}`", CONTEXT),
    ]
    nets += [(label, f"`{name}`", _run_weights(name)) for label, name in RECIPES]
    rows = []
    for label, shown, weights in nets:
        if weights is None:
            continue
        model, _ = load_model(weights, task="colorize")
        model.eval()
        bound = task.bind(model)  # its loss weighs pixels by the net's own rebalancing weights
        bins = model.bins.float()
        lam = getattr(model, "rebalance", ab_bins.LAMBDA)
        w = ab_bins.rebalance_weights(model.prior.double(), bins.double(), lam).float()
        mass = torch.zeros(len(bins), dtype=torch.float64)
        for batch in crops["fit"]:  # the best constant: p proportional to E[w z] on the crops
            z = ab_bins.soft_encode(batch.target, bins)
            mass += (
                (z * w[ab_bins.nearest_bin(batch.target, bins)][:, None]).sum((0, 2, 3)).double()
            )
        # a bin no training crop touches keeps a little odds (1e-4 of a uniform share), so a
        # held-out pixel of a rare colour costs the constant a finite loss, as it costs the net
        odds = (1 - INFO_FLOOR) * mass / mass.sum() + INFO_FLOOR / len(bins)
        constant = odds.log().float()[None, :, None, None]
        cells = []
        for key in ("fit", "val"):
            net = sum(float(bound.loss(model(*b.inputs), b)) for b in crops[key]) / INFO_BATCHES
            const = (
                sum(
                    float(bound.loss(constant.expand(len(b), -1, *b.target.shape[-2:]), b))
                    for b in crops[key]
                )
                / INFO_BATCHES
            )
            cells += [f"{const:.3f}", f"{net:.3f}", f"{const - net:+.3f}"]
        rows.append([label, shown, *cells])
        print(rows[-1], flush=True)
    body = (
        "What each classification net has learned beyond the overall colour distribution: its "
        "training loss (the class-rebalanced cross-entropy of the soft targets, in nats, with the "
        "net's own rebalancing weights) on the same "
        f"{INFO_BATCHES * INFO_BATCH} crops of 128 px from ImageNet photos every net trained on "
        "(`imagenet_sample1000@fit`) and from the held-out tenth (`@val`), against the best "
        "constant prediction (one set of bin odds for every pixel, fitted to the training crops, "
        f"with {INFO_FLOOR:g} of a uniform share so that no bin has zero odds). "
        "Gap = constant - net: 0 means the net predicts no better than the colour distribution of "
        "all photos. Recipe runs are measured where their `runs/` folder is on this machine; "
        "`colorunet_s_photos_half` trained on 386 of the 803 photos of `@fit`, so its "
        "trained-on gap is over photos it saw and photos it did not.\n\n"
        + markdown_table(
            [
                "net",
                "weights",
                "trained-on crops: constant",
                "net",
                "gap",
                "held-out crops: constant",
                "net",
                "gap",
            ],
            rows,
        )
    )
    update_section("colorize-information", "Colorization: what the nets have learned", body)


def prior() -> None:
    import numpy as np

    from pixelsmith.weights import read_weights

    d = data_dir()
    folder = d / "weights/colorization_zhang2016"
    paper_bins = np.load(folder / "pts_in_hull.npy").astype(int)
    paper = np.load(folder / "prior_probs.npy").astype(float)
    state, info = read_weights(pixelsmith.list_pretrained()[NET])
    ours = state["prior"].double().numpy()
    ours_bins = state["bins"].int().numpy()
    index = {tuple(b): i for i, b in enumerate(paper_bins.tolist())}
    mapped = np.array([paper[index[tuple(b)]] for b in ours_bins.tolist()])
    outside = 1 - mapped.sum()
    mapped = mapped / mapped.sum()
    tv = 0.5 * np.abs(mapped - ours).sum()
    corr = np.corrcoef(np.log(mapped + 1e-8), np.log(ours + 1e-8))[0, 1]
    top = lambda p: ", ".join(f"({a},{b})" for a, b in ours_bins[np.argsort(-p)[:5]].tolist())  # noqa: E731
    chroma = np.hypot(*ours_bins.T)
    paper_chroma = np.hypot(*paper_bins.T)
    rows = [
        [
            "mass on bins of chroma > 80: paper's file (pts_in_hull order)",
            f"{paper[paper_chroma > 80].sum():.3f}",
        ],
        ["mass on bins of chroma > 80: pixelsmith's", f"{ours[chroma > 80].sum():.3f}"],
        ["paper's mass on its 51 bins outside the sRGB cells", f"{outside:.4f}"],
        ["total variation distance, on the 262 shared bins", f"{tv:.3f}"],
        ["correlation of log-probabilities", f"{corr:.3f}"],
        ["bins with zero count in pixelsmith's photos", f"{int((ours == 0).sum())} of {len(ours)}"],
        ["5 most frequent bins, paper (ImageNet train)", top(mapped)],
        ["5 most frequent bins, pixelsmith's training photos", top(ours)],
    ]
    body = (
        f"The empirical ab distribution that `pixelsmith train colorize` computed from its "
        f"training photos ({info.data}) and saved in `{NET}`, against the paper's "
        "`prior_probs.npy` (from a TF reimplementation's resources, see PROVENANCE.md), matched "
        "bin by bin by ab value through `pts_in_hull.npy`. Read in that order, the shared file "
        "puts most of its mass on the most saturated bins, which natural photos do not (the "
        "paper's Figure 3 peaks at grey): its ordering is not `pts_in_hull.npy`'s, or it is not "
        "the paper's prior, so this comparison says nothing about the paper; pixelsmith computes "
        "its own prior and does not use the file.\n\n" + markdown_table(["", "value"], rows)
    )
    update_section("colorize-prior", "Colorization: the ab prior", body)


LARGE_CODE = """
import json, resource, sys, time, torch
torch.set_num_threads(2)
import pixelsmith
h, w = {h}, {w}
g = torch.Generator().manual_seed(0)
grey = torch.nn.functional.interpolate(torch.rand(1, 1, 30, 40, generator=g), size=(h, w), mode='bilinear')[0]
net, _ = pixelsmith.load_model('{net}', task='colorize')
t = time.perf_counter()
out = pixelsmith.colorize(grey, net, render_factor={rf})
dt = time.perf_counter() - t
print(json.dumps({{"s": dt, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "input_mb": grey.numel() * 4 / 2**20, "output_mb": out.numel() * 4 / 2**20}}))
"""


def large() -> None:
    rows = []
    for label, h, w, rf in [
        ("0.17 MP (512 x 341)", 341, 512, 16),
        ("24 MP (6000 x 4000)", 4000, 6000, 16),
        ("24 MP, render factor 32", 4000, 6000, 32),
    ]:
        code = LARGE_CODE.format(h=h, w=w, rf=rf, net=NET)
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
        if r.returncode:
            raise SystemExit(r.stderr)
        m = json.loads(r.stdout.strip().splitlines()[-1])
        rows.append(
            [
                label,
                rf,
                f"{m['s']:.2f}",
                f"{m['rss_mb']:.0f}",
                f"{m['input_mb'] + m['output_mb']:.0f}",
            ]
        )
        print(rows[-1], flush=True)
    body = (
        f"`pixelsmith.colorize` of a grey photo with `{NET}`, 2 threads, each in a fresh "
        "process. The network sees the photo at the render size (short side 16 x render factor) "
        "and the ab it predicts is joined with the full-size L in bands of 256 rows, so the "
        "313-style bin output exists at the render size only. Peak RSS includes Python, torch "
        'and the model (about 300 MB at rest); "image buffers" is the float32 input plus the '
        "float32 RGB result, which any in-memory API must hold.\n\n"
        + markdown_table(
            ["photo", "render factor", "seconds", "peak RSS MB", "image buffers MB"], rows
        )
    )
    update_section("colorize-large", "Colorization of large photos (CPU)", body)


def figure() -> None:
    """A dozen held-out photos: input, each method, truth."""
    from PIL import Image, ImageDraw

    from pixelsmith.color import has_colour
    from pixelsmith.data.split import list_split
    from pixelsmith.tasks.colorize_protocol import _grey_rgb, eval_photo

    torch.set_num_threads(2)
    _, source = _sets()[0]
    photos = [p for p in list_split([source]) if has_colour(eval_photo(p))][:12]
    short = {  # column titles that fit a 160 px cell
        L2_ROWS[0]: "L2 (colorunet_s)",
        L2_ROWS[1]: "L2 (colornet_s)",
        "classification, mode (paper)": "mode",
        "classification, annealed mean T = 0.38 (paper)": "annealed (paper)",
        DEFAULT: "default: {correction:g} undone, T {temperature:g}".format(**_own_decoding(NET)),
        PREVIOUS_ROW: "colornet_s (before)",
        "GAN (NoGAN schedule)": "GAN",
    }
    columns = (
        [("input (L)", None, {})]
        + [(short[label], m, o) for label, m, o in METHODS if label in short and _shipped(m)]
        + [("truth", "truth", {})]
    )
    cell = 160
    sheet = Image.new("RGB", (cell * len(columns), 18 + cell * len(photos)), "white")
    draw = ImageDraw.Draw(sheet)
    for j, (label, _, _) in enumerate(columns):
        draw.text((j * cell + 4, 3), label, fill="black")
    models = {
        m: pixelsmith.load_model(m, task="colorize")[0]
        for _, m, _ in columns
        if m not in (None, "truth")
    }
    for i, path in enumerate(photos):
        truth = eval_photo(path)
        from pixelsmith.color import rgb_to_lab

        grey = _grey_rgb(rgb_to_lab(truth[None])[:, :1])[0]
        for j, (_, m, o) in enumerate(columns):
            if m is None:
                img = grey.expand(3, -1, -1)
            elif m == "truth":
                img = truth
            else:
                img = pixelsmith.colorize(grey, models[m], render_factor=0, **o)
            pil = Image.fromarray(
                (img.clamp(0, 1).permute(1, 2, 0).numpy() * 255).round().astype("uint8")
            )
            pil.thumbnail((cell - 4, cell - 4))
            sheet.paste(pil, (j * cell + 2, 18 + i * cell + 2))
        print(path.name, flush=True)
    out = ROOT / "docs/img/colorize_examples.png"
    sheet.save(out)
    print(out)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parts = ("quality", "temperature", "correction", "decoding", "prior", "large", "figure")
    extra = ("recipes", "information")  # these two measure recipe runs in runs/ too
    for flag in (*parts, *extra):
        ap.add_argument(f"--{flag}", action="store_true")
    ap.add_argument(
        "--decoding-of",
        metavar="RUN",
        help="the --decoding grid for runs/RUN (printed), then the held-out sets at its best",
    )
    args = ap.parse_args()
    if args.decoding_of:
        decoding_of(args.decoding_of)
    chosen = [f for f in (*parts, *extra) if getattr(args, f)]
    for name in chosen or ([] if args.decoding_of else parts):
        globals()[name]()


if __name__ == "__main__":
    main()
