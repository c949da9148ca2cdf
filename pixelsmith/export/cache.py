"""Exports kept on disk, so that running a network on ONNX Runtime (the default on the CPU) costs
its export and parity check once per machine and weights, not once per process.

A file is named by a digest of everything its bytes depend on: the weights, the architecture
and its kwargs, the task, the format, pixelsmith's source files, and the versions of pixelsmith,
PyTorch, onnx and ONNX Runtime. A changed weight file, a changed checkout or an upgrade therefore
misses the cache instead of reusing a stale graph. Files are written atomically
(:func:`pixelsmith.io.atomic_write`); a folder that cannot be written (read-only home, full disk)
costs only the cache, never the run; a file that cannot be read back is made again.
"""

from __future__ import annotations

import functools
import hashlib
import warnings
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

from pixelsmith.paths import cache_dir

SUBDIR = "exports"
_warned: set[str] = set()


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "-"


@functools.cache
def code_digest() -> str:
    """A digest of pixelsmith's own source files: an export depends on the model's code and
    the exporter's, and a changed checkout (a fix, not yet a new version number) must miss."""
    package = Path(__file__).resolve().parent.parent
    h = hashlib.blake2b(digest_size=16)
    for path in sorted(package.rglob("*.py")):
        h.update(str(path.relative_to(package)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def cache_key(*parts: str) -> str:
    """The digest naming a cached export of ``parts`` (weights digest, architecture, task,
    format), with pixelsmith's code and the versions its bytes depend on folded in."""
    versions = [_version(p) for p in ("pixelsmith", "torch", "onnx", "onnxruntime")]
    h = hashlib.blake2b(digest_size=20)
    for part in (*parts, code_digest(), *versions):
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()


def cached_bytes(key: str, suffix: str, make: Callable[[], bytes], load: Callable[[bytes], object]):
    """``load(bytes)`` for the cached file ``key + suffix``, making and storing it with
    ``make()`` first when it is missing or does not load."""
    folder = cache_dir()
    path = None if folder is None else folder / SUBDIR / f"{key}{suffix}"
    if path is not None and path.is_file():
        try:
            return load(path.read_bytes())
        except Exception:  # damaged or foreign: make it again below
            pass
    data = make()
    result = load(data)
    if path is not None:
        _store(path, data)
    return result


def _store(path: Path, data: bytes) -> None:
    from pixelsmith.io import atomic_write

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, data, overwrite=True)
    except Exception as e:  # the cache is an optimisation: say so once, and go on
        folder = str(path.parent)
        if folder not in _warned:
            _warned.add(folder)
            warnings.warn(
                f"cannot keep exports in {folder} ({e}); each process exports again "
                "(set PIXELSMITH_CACHE to a writable folder, or to off)",
                stacklevel=3,
            )
