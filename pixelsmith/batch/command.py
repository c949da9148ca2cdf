"""The click command ``pixelsmith run TASK IN_DIR OUT_DIR``: arguments, lines, exit status."""

from __future__ import annotations

import difflib
import sys
from pathlib import Path
from typing import Any

import click

from pixelsmith.batch.options import parse_options, task_options, type_name
from pixelsmith.batch.plan import run_stamp, summary_path
from pixelsmith.batch.ranks import combine, meeting, rank_device, ranks_from_env
from pixelsmith.batch.run import RunEvent, RunInterrupted, check_rank, run_tree, write_summary
from pixelsmith.errors import PixelsmithError
from pixelsmith.run_options import max_output_pixels_option, network_options, tile_option


def _line(s: dict[str, Any]) -> str:
    return f"{s['done']} done, {s['skipped']} skipped, {s['failed']} failed in {s['seconds']:.1f} s"


class _RunCommand(click.Command):
    """Its help lists each task and the options ``--opt`` takes (imports the tasks: only then)."""

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        from pixelsmith.tasks import TASKS

        rows = []
        for name in TASKS:
            try:
                opts = task_options(name)
            except Exception as e:  # a task that cannot be imported here
                rows.append((name, f"(unavailable: {e})"))
                continue
            shown = ", ".join(f"{k}={type_name(t)} [{d!r}]" for k, (t, d) in opts.items())
            rows.append((name, shown or "(no options)"))
        with formatter.section("Tasks and their --opt KEY=VALUE options"):
            formatter.write_dl(rows)
        super().format_epilog(ctx, formatter)


@click.command("run", cls=_RunCommand, context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("task")
@click.argument("in_dir", type=click.Path(path_type=Path))
@click.argument("out_dir", type=click.Path(path_type=Path))
@click.option("--model", default=None, help="A model of the task (default: the task's default).")
@click.option(
    "--opt",
    "opts",
    multiple=True,
    metavar="KEY=VALUE",
    help="A task option (repeatable), e.g. --opt scale=2; the list is below.",
)
@tile_option()
@network_options
@max_output_pixels_option("a file's result")
@click.option(
    "--overwrite", is_flag=True, help="Redo every file (default: skip outputs already complete)."
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=2,
    show_default=True,
    help="Threads that decode inputs, and threads that encode results, beside the model.",
)
@click.option(
    "--distributed",
    is_flag=True,
    help="Take this rank's share of the files: RANK and WORLD_SIZE from torchrun's environment.",
)
@click.option("--rank", type=click.IntRange(min=0), default=None, help="This rank (0 .. N-1).")
@click.option(
    "--world-size", type=click.IntRange(min=1), default=None, help="The number of ranks N."
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def run_command(
    task: str,
    in_dir: Path,
    out_dir: Path,
    model: str | None,
    opts: tuple[str, ...],
    distributed: bool,
    rank: int | None,
    world_size: int | None,
    quiet: bool,
    device: str,
    **kwargs: Any,
) -> None:
    """Run TASK on every image below IN_DIR, writing the mirrored tree OUT_DIR.

    IN_DIR/a/b.jpg becomes OUT_DIR/a/b<suffix>.png (b_x3.png for x3 super-resolution). Outputs
    that an earlier run made with the same model, options and input are skipped, so rerunning
    the command after a kill or a crash finishes the job without redoing a file; results of
    another model or options, or of an input since replaced, are redone. A file at an output's
    name that pixelsmith did not write is never replaced. A bad file is reported and the run
    goes on; the exit status is 1 if any file failed. Each run's record (counts and every
    failure) is kept in OUT_DIR/pixelsmith-run.TIME.json.

    With --distributed (or --rank and --world-size) each of N ranks takes about 1/N of the files;
    launch it with torchrun on one or several machines (docs/batch.md).
    """
    from pixelsmith.tasks import TASKS

    if task not in TASKS:
        close = difflib.get_close_matches(task, TASKS, n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise click.BadParameter(
            f"unknown task {task!r}{hint}; tasks: {', '.join(TASKS)}", param_hint="TASK"
        )
    options = parse_options(task, opts)
    if (rank is None) != (world_size is None):
        raise click.UsageError("give --rank and --world-size together")
    try:
        local_rank, from_env = 0, rank is None
        if rank is None and distributed:
            rank, world_size, local_rank = ranks_from_env()
        elif rank is None:
            rank, world_size = 0, 1
        check_rank(rank, world_size)
        if world_size > 1:
            device = rank_device(device, local_rank)
        meet = distributed and world_size > 1 and from_env
        _run(task, in_dir, out_dir, model, options, rank, world_size, quiet, device, meet, kwargs)
    except PixelsmithError as e:
        click.echo(f"pixelsmith: error: {e}", err=True)
        sys.exit(1)


def _run(
    task: str,
    in_dir: Path,
    out_dir: Path,
    model: str | None,
    options: dict[str, Any],
    rank: int,
    world_size: int,
    quiet: bool,
    device: str,
    meet: bool,
    kwargs: dict[str, Any],
) -> None:
    """``run_command`` once the arguments are checked: the run, its lines, the combined summary
    (``meet``: the ranks came from torchrun, whose store they meet at)."""
    who = f" (rank {rank} of {world_size})" if world_size > 1 else ""

    def said(event: RunEvent) -> None:
        if event.kind == "failed":
            click.echo(f"pixelsmith: error: {event.message}", err=True)

    try:
        report = run_tree(
            task, in_dir, out_dir, model,
            device=device, rank=rank, world_size=world_size,
            progress=False if quiet else None, on_event=said, **kwargs, **options,
        )  # fmt: skip
    except RunInterrupted as e:
        r = e.report
        click.echo(
            f"pixelsmith run{who}: interrupted after {len(r.done)} done, {len(r.skipped)} "
            f"skipped, {len(r.failed)} failed; run the same command again to finish",
            err=True,
        )
        sys.exit(130)
    for p in report.left_out[:1]:
        click.echo(
            f"pixelsmith: note: {len(report.left_out)} results of earlier runs are in IN_DIR "
            f"and were left out ({p}, ...)",
            err=True,
        )
    mine = report.counts()
    click.echo(f"pixelsmith run{who}: {_line(mine)}", err=True)
    failed = not report.ok
    if meet:
        with meeting(mine, world_size) as everyone:
            if everyone is not None:
                total = combine(everyone)
                failed = total["failed"] > 0  # every rank exits as the whole run did
                if rank == 0:
                    write_summary(summary_path(out_dir, 0, 1, run_stamp()), total)
                    click.echo(f"pixelsmith run (all {world_size} ranks): {_line(total)}", err=True)
    if failed:
        sys.exit(1)
