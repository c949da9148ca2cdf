"""``pixelsmith VERB INPUTS...``: a task's verb, generated from the task class.

Its flags: the task's inference options (:func:`pixelsmith.options.task_fields`), its declared
per-photo inputs beside the photo (``--mask``), and the flags every verb shares (``--model``,
``--weights``, ``-o/--out``, ``--overwrite``, ``--tile``, ``--device``, ``--bf16``,
``--backend``, ``--max-output-pixels``, ``-q``). The work is :func:`pixelsmith.restore_files`.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from pixelsmith.options import (
    add_params,
    field_option,
    given,
    input_options,
    run_flags,
    task_fields,
)


def model_help(task: str) -> str:
    """``--model``'s help for ``task``: its default, its aliases, a shipped name."""
    from pixelsmith.tasks import task_class
    from pixelsmith.weights import list_pretrained

    cls = task_class(task)
    names = [a for a in cls.aliases if a != cls.default_model]
    shipped = list(list_pretrained(task))[:2]
    shown = ", ".join([f"{cls.default_model} (default)", *names])
    example = f" such as {' or '.join(shipped)}" if shipped else ""
    return f"{shown}, a shipped name{example} (pixelsmith models), an architecture or a file."


def task_params(task: str, uses: tuple[str, ...] = ("inference",)) -> list[click.Parameter]:
    """The flags of ``task``'s options of ``uses`` and of its per-photo inputs (``--mask``)."""
    from pixelsmith.tasks import task_class

    cls = task_class(task)
    return [*(field_option(f) for f in task_fields(cls, uses)), *input_options(cls.inputs)]


def split_given(ctx: click.Context, task: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(options, inputs)``: the task's options the user gave, and its per-photo inputs."""
    from pixelsmith.tasks import task_class

    cls = task_class(task)
    options = given(ctx, [f.name for f in task_fields(cls)])
    inputs = {n: ctx.params[n] for n in cls.inputs[1:] if ctx.params.get(n) is not None}
    return options, inputs


def shared_params(suffix: str = "_x3") -> list[click.Parameter]:
    """The flags every verb shares, made afresh for each verb (``suffix``: what the verb's
    task appends to a name, for the help)."""

    @click.command()
    @click.argument("inputs", nargs=-1, required=True)
    @click.option(
        "--out",
        "-o",
        type=click.Path(),
        default=None,
        help="Output folder (created if the folder above it exists), or a file name for a "
        f"single input. Default: beside each input, with the task's suffix (NAME{suffix}.png).",
    )
    @click.option(
        "--overwrite", is_flag=True, help="Replace earlier results (only files pixelsmith wrote)."
    )
    @run_flags()
    def shared(**kwargs: Any) -> None:
        pass

    return shared.params


def verb_command(task: str, verb: str) -> click.Command:
    """The command ``pixelsmith VERB`` of the registered task ``task``."""
    from pixelsmith.commands.tasks import summary, title_of

    @click.pass_context
    def run(ctx: click.Context, **_: Any) -> None:
        options, inputs = split_given(ctx, task)
        p = ctx.params
        restore_files(
            list(p["inputs"]), task, p["model"], p["weights"], inputs, p["quiet"],
            out=p["out"], overwrite=p["overwrite"], tile=p["tile"], device=p["device"],
            bf16=p["bf16"], backend=p["backend"], max_output_pixels=p["max_output_pixels"],
            **options,
        )  # fmt: skip

    title = title_of(task)
    command = click.Command(
        verb,
        callback=run,
        params=shared_params(_suffix(task)),
        help=f"{_about(title, summary(task))}\n\nINPUTS are files, folders or globs; each result goes "
        "beside its input (NAME<suffix>.png) or into --out.",
        short_help=title,
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    next(p for p in command.params if p.name == "model").help = model_help(task)
    return add_params(command, task_params(task))


def _suffix(task: str) -> str:
    """The suffix the task appends with its default options (``_x3``, ``_color``)."""
    from pixelsmith.tasks import get_task

    return get_task(task).output_suffix()


def _about(title: str, summary: str) -> str:
    """``Title: summary``, or the title alone where the summary only repeats it."""
    same = summary.rstrip(".").lower() == title.lower()
    return title + "." if same or not summary else f"{title}: {summary}"


def restore_files(
    inputs: list[str],
    task: str,
    model: str | None,
    weights: str | None,
    photo_inputs: dict[str, Any] | None,
    quiet: bool,
    **kwargs: Any,
) -> None:
    """Run :func:`pixelsmith.restore_files`: a line per result on stdout, a line per failure on
    stderr; any failure exits 1."""
    import pixelsmith
    from pixelsmith.resolver import with_weights

    def said(event) -> None:
        if event.kind == "done":
            click.echo(str(event.target))
        elif event.kind == "failed":
            click.echo(f"pixelsmith: error: {event.message}", err=True)

    report = pixelsmith.restore_files(
        inputs, task, with_weights(model, weights), inputs=photo_inputs or None,
        progress=False if quiet else None, on_event=said, **kwargs,
    )  # fmt: skip
    for p in report.left_out:
        click.echo(f"pixelsmith: note: {p} is an earlier result, not an input", err=True)
    if report.failed:
        total = len(report.failed) + len(report.done)
        if total > 1:
            click.echo(
                f"pixelsmith: {len(report.failed)} of {total} files failed; "
                f"{len(report.done)} written",
                err=True,
            )
        sys.exit(1)
