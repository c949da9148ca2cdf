"""check_writable: will writing this output file work? Asked before the expensive work, not after."""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterable
from contextlib import suppress
from pathlib import Path

from ..errors import PixelsmithError
from .atomic import _create_temp, _forget_temp, _name_length_problem, _removed_on_sigterm
from .reasons import ALREADY_EXISTS, _os_reason

_DENIED = (errno.EACCES, errno.EPERM, errno.EROFS)


def check_writable(
    path: str | os.PathLike[str],
    *,
    overwrite: bool,
    inputs: Iterable[str | os.PathLike[str]] = (),
) -> None:
    """Check that :func:`write_image` (or :func:`atomic_write`) could create ``path`` now.

        Checks, in order: the file name fits the file system (255 bytes on most); the folder exists
        and is a folder; ``path`` is not a folder or another non-regular file (pipe, device); without
        ``overwrite``, ``path`` does not exist; it is none of ``inputs`` (under any spelling or link),
    even with ``overwrite``;
        the folder is writable, by ``os.access`` and then by creating and removing an empty temporary
        file there (``os.access`` says yes to root even on a folder where nothing can be created).
        Nothing is left behind.

        Raises:
            PixelsmithError: the first problem found, in one line naming ``path``.
    """
    path = Path(path)
    folder = path.parent
    problem = _name_length_problem(path)
    if problem:
        raise PixelsmithError(problem, path)
    try:
        folder_mode = os.stat(folder).st_mode
    except FileNotFoundError:
        raise PixelsmithError(f"output folder does not exist: {folder}", path) from None
    except NotADirectoryError:
        raise PixelsmithError(f"output folder is not a folder: {folder}", path) from None
    except OSError as e:
        raise PixelsmithError(f"cannot reach the output folder: {_os_reason(e)}", path) from e
    if not stat.S_ISDIR(folder_mode):
        raise PixelsmithError(f"output folder is not a folder: {folder}", path)
    try:
        exists = os.path.lexists(path)
        mode = os.stat(path).st_mode if exists and os.path.exists(path) else None
    except OSError as e:
        raise PixelsmithError(f"cannot write file: {_os_reason(e)}", path) from e
    if mode is not None and stat.S_ISDIR(mode):
        raise PixelsmithError("is a folder, not a file", path)
    if mode is not None and not stat.S_ISREG(mode):
        raise PixelsmithError(
            "is not a regular file (a pipe, socket or device); not replacing it", path
        )
    target = path.resolve()
    for inp in inputs:
        q = Path(inp)
        same = q.resolve() == target
        if not same and exists and q.exists():
            with suppress(OSError):
                same = os.path.samefile(q, path)
        if same:
            raise PixelsmithError("is an input; pixelsmith never overwrites its inputs", path)
    if exists and not overwrite:
        raise PixelsmithError(ALREADY_EXISTS, path)
    if not os.access(folder, os.W_OK | os.X_OK):
        raise PixelsmithError(f"output folder is not writable: {folder}", path)
    _try_create(folder, path)


def _try_create(folder: Path, path: Path) -> None:
    """Create and remove an empty temporary file in ``folder``, as :func:`atomic_write` would."""
    with _removed_on_sigterm():
        try:
            fd, tmp_name = _create_temp(folder, path.name)
        except OSError as e:
            if e.errno in _DENIED:
                raise PixelsmithError(
                    f"output folder is not writable: {folder} ({_os_reason(e)})", path
                ) from e
            raise PixelsmithError(
                f"cannot create a file in the output folder {folder}: {_os_reason(e)}", path
            ) from e
        try:
            with suppress(OSError):
                os.close(fd)
            with suppress(OSError):  # if it stays, the next remove_stale_temps removes it
                os.unlink(tmp_name)
        finally:
            _forget_temp(tmp_name)
