"""``pixelsmith eval TASK``: measure models by the task's own protocol (``Task.evaluate``).

Generated per task: ``--data``, a repeatable ``--model``, and the task's evaluation and inference
options as flags; it prints the metrics ``evaluate`` returns, whatever they are.
"""

from __future__ import annotations

import math
from typing import Any

import click

from pixelsmith.commands.restore import model_help
from pixelsmith.commands.tasks import TaskGroup, summary
from pixelsmith.options import add_params, field_option, given, task_fields

USES = ("evaluation", "inference")

#: At most this many metrics go in one row per model; more are a row per metric.
WIDE = 8


def eval_command(task: str, name: str) -> click.Command:
    """The command ``pixelsmith eval TASK``."""
    from pixelsmith.tasks import task_class

    cls = task_class(task)
    fixed = cls.train_defaults.get("val_data")  # a task measured on one built-in set

    @click.pass_context
    def run(ctx: click.Context, data: str | None, models: tuple[str, ...], **_: Any) -> None:
        options = given(ctx, [f.name for f in task_fields(cls, USES)])
        evaluate(task, data or fixed, models, options)

    command = click.Command(
        name,
        callback=run,
        params=[
            click.Option(
                ["--data"],
                required=fixed is None,
                default=fixed,
                show_default=fixed is not None,
                help="What to measure on: a folder of photos (DIR@val: the held-out tenth "
                "that training never sees), or what the task's protocol reads (pairs: low/ and "
                "high/).",
            ),
            click.Option(
                ["--model", "models"],
                multiple=True,
                help=f"A model to measure; repeat to compare. {model_help(task)}",
            ),
        ],
        help=f"Measure {cls.title or task} models by the task's protocol.\n\n{summary(task)}",
        short_help=f"Measure {cls.title or task} models.",
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    return add_params(command, [field_option(f) for f in task_fields(cls, USES)])


def evaluate(task_name: str, data: str, models: tuple[str, ...], options: dict[str, Any]) -> None:
    """Measure each of ``models`` (default: the task's ``compare_models`` and its default model;
    a baseline without weights for these settings is named and left out) on ``data``; print a
    table."""
    import pixelsmith

    task = pixelsmith.get_task(task_name, **options)
    dataset = task.eval_dataset(data)
    count = f" ({len(dataset)})" if isinstance(dataset, (list, tuple)) or _sized(dataset) else ""
    settings = ", ".join(f"{k} {v}" for k, v in options.items())
    click.echo(f"Data: {data}{count}" + (f"  {settings}" if settings else ""))
    from pixelsmith.errors import PixelsmithError

    results = {}
    for m in models or dict.fromkeys((*task.compare_models, task.default_model)):
        try:
            net, info = pixelsmith.load_model(m, task=task)
        except PixelsmithError as e:
            if models:  # named by the user: an error
                raise
            click.echo(f"pixelsmith: note: {m} left out ({e})", err=True)
            continue
        results[info.name] = pixelsmith.evaluate(net, dataset, task)
    click.echo(table(results))


def _sized(dataset: Any) -> bool:
    return not isinstance(dataset, (str, bytes)) and hasattr(dataset, "__len__")


def table(results: dict[str, dict[str, float]]) -> str:
    """A row per model and a column per metric (a row per metric for many metrics)."""
    keys = list(dict.fromkeys(k for r in results.values() for k in r))
    rows, cols = (list(results), keys) if len(keys) <= WIDE else (keys, list(results))

    def cell(row: str, col: str) -> float:
        model, key = (row, col) if len(keys) <= WIDE else (col, row)
        return results[model].get(key, math.nan)

    first = max(12, *(len(r) + 2 for r in rows))
    widths = [max(9, len(c) + 2) for c in cols]
    lines = [f"{'model' if len(keys) <= WIDE else 'metric':<{first}}"]
    lines[0] += "".join(f"{c:>{w}}" for c, w in zip(cols, widths, strict=True))
    for r in rows:
        line = f"{r:<{first}}" + "".join(
            f"{_number(cell(r, c)):>{w}}" for c, w in zip(cols, widths, strict=True)
        )
        lines.append(line)
    return "\n".join(lines)


def _number(v: float) -> str:
    """Two decimals from 10 up (dB, percent), four below (SSIM, a fraction)."""
    return f"{v:.2f}" if abs(v) >= 10 else f"{v:.4f}"


@click.group("eval", cls=TaskGroup, make=eval_command)
def eval_group() -> None:
    """Measure models by a task's standard protocol (pixelsmith eval TASK --help)."""
