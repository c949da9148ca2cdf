"""The commands the registered tasks give: a verb per task (``Task.verb``) and a subcommand per
task in ``run``, ``video``, ``eval`` and ``train``, made when asked for.

Listing them (``pixelsmith --help``) reads each task's ``verb`` and docstring from its module's
source, without importing it (a task module imports torch); a module already imported (a task
registered at run time) is read as it is. A task registered in :data:`pixelsmith.tasks.TASKS`
gets its commands with no change here.
"""

from __future__ import annotations

import ast
import difflib
import importlib
import importlib.util
import inspect
import sys
from collections.abc import Callable
from functools import lru_cache

import click


@lru_cache(maxsize=64)
def _read(entry: str) -> tuple[str, str, str]:
    """``(verb, title, docstring)`` of the task class at ``entry`` (``"module:Class"``)."""
    module, name = entry.split(":")
    if module in sys.modules:
        cls = getattr(sys.modules[module], name)
        return getattr(cls, "verb", ""), getattr(cls, "title", ""), inspect.getdoc(cls) or ""
    try:
        origin = importlib.util.find_spec(module).origin
        with open(origin, encoding="utf-8") as f:
            tree = ast.parse(f.read())
        node = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == name)
    except Exception:  # no source to read: import it
        cls = getattr(importlib.import_module(module), name)
        return getattr(cls, "verb", ""), getattr(cls, "title", ""), inspect.getdoc(cls) or ""
    found = {"verb": "", "title": ""}
    for stmt in node.body:
        target = stmt.targets[0] if isinstance(stmt, ast.Assign) else getattr(stmt, "target", None)
        value = getattr(stmt, "value", None)
        if isinstance(target, ast.Name) and target.id in found and isinstance(value, ast.Constant):
            found[target.id] = str(value.value)
    return found["verb"], found["title"], ast.get_docstring(node) or ""


def verb_of(task: str) -> str:
    """The verb of the registered task ``task`` (``"upscale"``), or ``""``."""
    from pixelsmith.tasks import TASKS

    return _read(TASKS[task])[0]


def summary(task: str) -> str:
    """The first sentence of the task class's docstring, as plain text."""
    from pixelsmith.options import plain
    from pixelsmith.tasks import TASKS

    doc = _read(TASKS[task])[2].split("\n\n")[0]
    return plain(" ".join(doc.split()))


def title_of(task: str) -> str:
    """What a user calls the task (``"Super-resolution"``), capitalised; its name if untitled."""
    from pixelsmith.tasks import TASKS

    title = _read(TASKS[task])[1] or task
    return title[:1].upper() + title[1:]


def verbs() -> dict[str, str]:
    """``{verb: task}`` of every registered task that has a verb, in registry order."""
    from pixelsmith.tasks import TASKS

    return {v: t for t in TASKS if (v := verb_of(t))}


def task_named(name: str) -> str | None:
    """The registered task a user means by ``name``: its name or its verb."""
    from pixelsmith.tasks import TASKS

    return name if name in TASKS else verbs().get(name)


class TaskGroup(click.Group):
    """A group with a subcommand per registered task (by its name; its verb works too), made by
    ``make(task, name)`` when asked for; the listing reads no task module."""

    section = "Tasks"

    def __init__(self, *args, make: Callable[[str, str], click.Command], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.make = make

    def task_names(self) -> dict[str, str]:
        """``{name listed: task}``."""
        from pixelsmith.tasks import TASKS

        return {t: t for t in TASKS}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*super().list_commands(ctx), *self.task_names()]

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.commands:
            return self.commands[name]
        task = self.task_names().get(name) or task_named(name)
        return None if task is None else self.make(task, name)

    def resolve_command(self, ctx: click.Context, args: list[str]):
        name = args[0] if args else ""
        if not name.startswith("-") and self.get_command(ctx, name) is None:
            known = [*self.commands, *self.task_names()]
            close = difflib.get_close_matches(name, [*known, *verbs()], n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            ctx.fail(f"unknown task {name!r}{hint}; tasks: {', '.join(known)}")
        return super().resolve_command(ctx, args)

    def task_line(self, task: str) -> str:
        """A task's line in the listing."""
        return title_of(task)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(n, c.get_short_help_str(60)) for n, c in self.commands.items() if not c.hidden]
        for name, task in self.task_names().items():
            verb = verb_of(task)
            also = f" (also: {verb})" if verb and verb != name else ""
            rows.append((name, self.task_line(task) + also))
        if rows:
            with formatter.section(self.section):
                formatter.write_dl(sorted(rows))
