"""Tasks: each is a degradation and its inverse (see shared/DESIGN.md and docs/architecture.md).

A task says how to make a training pair from clean photos, which loss to use, how to measure the
result, and how to turn a user's image into the model's input and back
(:class:`~pixelsmith.tasks.base.Task`). :func:`get_task` builds one by name.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from pixelsmith.errors import PixelsmithError

if TYPE_CHECKING:
    from pixelsmith.tasks.base import Task

#: Loaded on first use (PEP 562), so that reading the registry loads no torch (``pixelsmith
#: --help`` lists the task verbs from it).
_BASE_NAMES = ("Batch", "Prepared", "Task", "option")


def __getattr__(name: str) -> Any:
    if name in _BASE_NAMES:
        from pixelsmith.tasks import base

        return getattr(base, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


#: Task name -> "module:class", imported on first use.
TASKS = {
    "superres": "pixelsmith.tasks.superres:SuperRes",
    "colorize": "pixelsmith.tasks.colorize:Colorize",
    "lowlight": "pixelsmith.tasks.lowlight:Lowlight",
    "develop": "pixelsmith.tasks.develop:Develop",
    "inpaint": "pixelsmith.tasks.inpaint:Inpaint",
    "classify": "pixelsmith.tasks.classify:FacesTask",
}


def task_class(name: str) -> type[Task]:
    try:
        module, cls = TASKS[name].split(":")
    except KeyError:
        raise PixelsmithError(f"unknown task {name!r}; tasks: {', '.join(TASKS)}") from None
    return getattr(import_module(module), cls)


def get_task(task: str | Task, **options: Any) -> Task:
    """A task by name with its options (``get_task("superres", scale=2, blind=True)``), or a
    :class:`Task` instance as it is (then no options may be given). ``TypeError`` names an
    option the task does not take, or one given a value of the wrong type."""
    from pixelsmith.tasks.base import Task

    if isinstance(task, Task):
        if options:
            raise TypeError(f"options {sorted(options)} given with a {task.name} task instance")
        return task
    from pixelsmith.options import check_options

    cls = task_class(task)
    return cls(**check_options(cls, task, options))


__all__ = ["TASKS", "Batch", "Prepared", "Task", "get_task", "option", "task_class"]
