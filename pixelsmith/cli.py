"""``pixelsmith <verb>``: parses arguments, calls the API, prints.

A verb per task (``upscale``, ``colorize``, ``enhance``, ``develop``, ``inpaint``: ``Task.verb``)
is generated from the task class when it is asked for (:mod:`pixelsmith.commands.restore`), as
are ``run TASK``, ``video TASK``, ``eval TASK`` and ``train TASK``; the other verbs live in
:mod:`pixelsmith.commands`, :mod:`pixelsmith.batch`, :mod:`pixelsmith.video`,
:mod:`pixelsmith.web` and :mod:`pixelsmith.export`. Nothing here imports torch: ``pixelsmith
--help`` lists the verbs from the task modules' source.

Exit status: 0 done; 1 a file or the work failed (one line each: ``pixelsmith: error: ...``);
2 a usage error (click's); 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import sys

import click

from pixelsmith.commands.tasks import TaskGroup, verbs
from pixelsmith.errors import PixelsmithError


class _Group(TaskGroup):
    """The verbs: the fixed ones and one per task that has a verb. Turns a PixelsmithError
    anywhere below into ``pixelsmith: error: ...`` and exit code 1, Ctrl-C into exit code 130."""

    section = "Commands"

    def task_names(self) -> dict[str, str]:
        return verbs()

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.commands:
            return self.commands[name]
        task = verbs().get(name)
        return None if task is None else self.make(task, name)

    def resolve_command(self, ctx: click.Context, args: list[str]):
        return click.Group.resolve_command(self, ctx, args)

    def invoke(self, ctx: click.Context):
        import warnings

        from pixelsmith.errors import Note

        def one_line(message, category, filename, lineno, file=None, line=None) -> None:
            kind = "note" if issubclass(category, Note) else "warning"
            click.echo(f"pixelsmith: {kind}: {message}", err=True)

        warnings.showwarning = one_line
        try:
            return super().invoke(ctx)
        except PixelsmithError as e:
            click.echo(f"pixelsmith: error: {e}", err=True)
            sys.exit(1)
        except KeyboardInterrupt:
            click.echo("pixelsmith: interrupted", err=True)
            sys.exit(130)


def _verb(task: str, name: str) -> click.Command:
    from pixelsmith.commands.restore import verb_command

    return verb_command(task, name)


@click.group(cls=_Group, make=_verb, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="pixelsmith")
def main() -> None:
    """Restore and enhance photographs with convolutional networks."""


def _add_commands() -> None:
    """The verbs that are not a task's, each defined in its own module (heavy imports inside)."""
    from pixelsmith.commands import evaluate, info, train, viz
    from pixelsmith.commands.run import run_command
    from pixelsmith.export.command import export_command
    from pixelsmith.video import video_command
    from pixelsmith.web.command import serve_command

    for command in (
        *info.COMMANDS,
        evaluate.eval_group,
        train.train_group,
        viz.viz,
        export_command,
        run_command,
        serve_command,
        video_command,
    ):
        main.add_command(command)


_add_commands()

if __name__ == "__main__":
    main()
