"""Package attributes loaded on first use (PEP 562), so that importing a package stays light:
``import pixelsmith`` and ``pixelsmith --help`` load no torch."""

from __future__ import annotations

import sys
from collections.abc import Callable
from importlib import import_module
from typing import Any


def lazy_getattr(module_name: str, table: dict[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``module_name``: the attribute ``name`` is the attribute of
    that name of the module ``table[name]`` (a dotted path), imported on first use and then kept
    in the module, so the next lookup costs nothing."""

    def __getattr__(name: str) -> Any:
        if name not in table:
            raise AttributeError(f"module {module_name!r} has no attribute {name!r}")
        value = getattr(import_module(table[name]), name)
        setattr(sys.modules[module_name], name, value)
        return value

    return __getattr__
