"""Atomic file writes: a temporary file beside the target, flushed to disk, then moved onto it."""

from __future__ import annotations

import errno
import os
import tempfile
from contextlib import suppress
from pathlib import Path

from ..errors import PixelsmithError
from .reasons import _os_reason


def atomic_write(path: Path, data: bytes, *, overwrite: bool) -> None:
    """Write ``data`` to a temporary file beside ``path``, fsync it, and move it onto ``path``.

    Any failure (disk full, permissions, a file that appeared meanwhile without ``overwrite``)
    removes the temporary file and raises :class:`PixelsmithError` naming ``path``.
    """
    folder = path.parent
    try:
        mode = os.stat(path).st_mode & 0o7777 if overwrite and path.exists() else _new_file_mode()
        fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=f".{path.name[:100]}.", suffix=".tmp")
    except OSError as e:
        raise PixelsmithError(f"cannot write file: {_os_reason(e)}", path) from e
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
            with suppress(OSError):  # some file systems (FAT, SMB) refuse; the data is what matters
                os.fchmod(f.fileno(), mode)
        if overwrite:
            os.replace(tmp_name, path)
        else:
            _link_no_replace(tmp_name, path)
    except BaseException as e:
        with suppress(OSError):
            os.unlink(tmp_name)
        if isinstance(e, FileExistsError):
            raise PixelsmithError(
                "file already exists (pass overwrite=True to replace it)", path
            ) from e
        if isinstance(e, OSError):
            raise PixelsmithError(f"cannot write file: {_os_reason(e)}", path) from e
        raise
    _fsync_folder(folder)


def _link_no_replace(tmp_name: str, path: Path) -> None:
    """Move ``tmp_name`` to ``path`` unless ``path`` appeared meanwhile (FileExistsError)."""
    try:
        os.link(tmp_name, path)
    except FileExistsError:
        raise
    except OSError:  # no hard links on this file system: fall back to a checked rename
        if path.exists():
            raise FileExistsError(errno.EEXIST, "file exists", str(path)) from None
        os.replace(tmp_name, path)
        return
    os.unlink(tmp_name)


def _new_file_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def _fsync_folder(folder: Path) -> None:
    with suppress(OSError, AttributeError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
