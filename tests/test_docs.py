"""docs/architecture.md is true: every module and folder it names exists, and every room of the
package's top floor is named there (a new module is placed in the map, or the test says so)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "pixelsmith"
TEXT = (ROOT / "docs" / "architecture.md").read_text()
#: every `name.py` or `name/` written in code spans, with an optional path before it
NAMED = re.findall(r"`((?:[\w.]+/)*[\w.]+(?:\.py|/))`", TEXT)


def _exists(name: str) -> bool:
    name = name.removeprefix("pixelsmith/")
    if "/" in name.rstrip("/"):
        return any((base / name).exists() for base in (PACKAGE, ROOT))
    if name.endswith("/"):
        return (PACKAGE / name).is_dir() or (ROOT / name).is_dir()
    return any(PACKAGE.rglob(name)) or (ROOT / name).exists()


def test_the_map_names_modules_that_exist():
    assert len(NAMED) > 40, "the pattern should find the map's modules"
    missing = sorted({n for n in NAMED if not _exists(n)})
    assert not missing, f"docs/architecture.md names what is not in the code: {missing}"


def test_every_room_of_the_package_is_on_the_map():
    rooms = {p.name for p in PACKAGE.glob("*.py")} | {
        p.name + "/" for p in PACKAGE.iterdir() if (p / "__init__.py").exists()
    }
    rooms -= {"__init__.py", "lazy.py", "paths.py", "errors.py", "version.py"}  # plumbing
    named = {n.removeprefix("pixelsmith/") for n in NAMED}
    left_out = sorted(r for r in rooms if r not in named)
    assert not left_out, f"docs/architecture.md does not place: {left_out}"
