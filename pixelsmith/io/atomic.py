"""Atomic file writes: a temporary file beside the target, flushed to disk, then moved onto it.

The temporary file is ``.NAME.PID-HOST.RANDOM.tmp``: NAME is the target's name (cut to 100 bytes),
PID the writer's process id, HOST 8 hex digits for the machine and PID namespace (so that two
containers sharing a folder never judge each other's PIDs), RANDOM 8 hex digits. A SIGTERM that
arrives while one is held removes it before the process dies; one left by ``kill -9``, an OOM kill
or a power cut is removed by :func:`remove_stale_temps`, which every :func:`atomic_write` runs on
its folder (at most once a minute per folder).
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import signal
import socket
import stat
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from ..errors import PixelsmithError
from .reasons import ALREADY_EXISTS, _os_reason

STALE_TEMP_AGE = 3600.0
"""Seconds after which a temporary file is stale even if its PID is alive (PID reuse, other hosts)."""

_NAME_BYTES = 100  # of the target's name kept in the temporary name
_SWEEP_INTERVAL = 60.0  # seconds between two automatic sweeps of one folder
_TEMP_NAME = re.compile(r"\..+\.(?P<pid>[0-9]{1,10})-(?P<host>[0-9a-f]{8})\.[0-9a-f]{8}\.tmp", re.S)

_active: set[str] = set()  # temporary files this process is writing now (full paths)
_active_lock = threading.RLock()  # reentrant: the SIGTERM clean-up may run while it is held
_swept: dict[str, float] = {}
_swept_lock = threading.Lock()
_host: str | None = None


def atomic_write(path: str | os.PathLike[str], data: bytes, *, overwrite: bool) -> None:
    """Write ``data`` to a temporary file beside ``path``, fsync it, and move it onto ``path``.

    Any failure (disk full, permissions, a file that appeared meanwhile without ``overwrite``)
    removes the temporary file and raises :class:`PixelsmithError` naming ``path``. So does a
    SIGTERM in the main thread while the program leaves SIGTERM at its default: the temporary file
    is removed, then the process dies of the SIGTERM as it would have. Stale temporary files of
    dead writers in the folder are removed first (see :func:`remove_stale_temps`).
    """
    with atomic_output(path, overwrite=overwrite) as tmp:
        try:
            with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_TRUNC), "wb") as f:
                f.write(data)
        except OSError as e:
            raise PixelsmithError(f"cannot write file: {_os_reason(e)}", path) from e


@contextmanager
def atomic_output(path: str | os.PathLike[str], *, overwrite: bool) -> Iterator[str]:
    """``with atomic_output(path, overwrite=False) as tmp:`` the name of an empty temporary file
    beside ``path`` for a writer that needs a file name (a video muxer); when the block ends
    without an error the file is fsynced and moved onto ``path``, otherwise it is removed (on a
    SIGTERM too). The guarantees and errors are :func:`atomic_write`'s."""
    path = Path(path)
    folder = path.parent
    problem = _name_length_problem(path)
    if problem:
        raise PixelsmithError(problem, path)
    _sweep(folder)
    with _removed_on_sigterm():
        try:
            keep_mode = overwrite and path.exists()
            mode = os.stat(path).st_mode & 0o7777 if keep_mode else _new_file_mode()
            fd, tmp_name = _create_temp(folder, path.name)
            os.close(fd)
        except OSError as e:
            raise PixelsmithError(f"cannot write file: {_os_reason(e)}", path) from e
        try:
            yield tmp_name
            fd = os.open(tmp_name, os.O_RDONLY)
            try:
                os.fsync(fd)
                # some file systems (FAT, SMB) refuse; the data is what matters
                with suppress(OSError):
                    os.fchmod(fd, mode)
            finally:
                os.close(fd)
            if overwrite:
                os.replace(tmp_name, path)
            else:
                _link_no_replace(tmp_name, path)
        except BaseException as e:
            with suppress(OSError):
                os.unlink(tmp_name)
            if isinstance(e, FileExistsError):
                raise PixelsmithError(ALREADY_EXISTS, path) from e
            if isinstance(e, OSError):
                raise PixelsmithError(f"cannot write file: {_os_reason(e)}", path) from e
            raise
        finally:
            _forget_temp(tmp_name)
    _fsync_folder(folder)


def remove_stale_temps(
    folder: str | os.PathLike[str], *, max_age: float = STALE_TEMP_AGE
) -> list[Path]:
    """Delete the temporary files that :func:`atomic_write` left in ``folder`` when it was killed.

    Only regular files named ``.NAME.PID-HOST.RANDOM.tmp`` are considered. One is stale when its
    writer ran on this machine (same HOST) and process PID is gone (or a zombie), or when it was
    last modified over ``max_age`` seconds ago (a writer on another machine or in another container,
    or a reused PID). Files this process is writing now, and every other file, are left alone.

    Best effort: a folder that cannot be listed, or a file that cannot be removed, is skipped.

    Returns:
        The paths removed.
    """
    if max_age < 0:
        raise ValueError(f"max_age must be >= 0, not {max_age}")
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    with _active_lock:  # taken after the listing: every listed file of ours is in it by now
        writing = {os.path.basename(name) for name in _active}
    now, me, host = time.time(), os.getpid(), _host_tag()
    for entry in entries:
        m = _TEMP_NAME.fullmatch(entry.name)
        if m is None or entry.name in writing:
            continue
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if not stat.S_ISREG(st.st_mode):
            continue
        pid = int(m["pid"])
        # our own PID but not being written: left by an earlier process that had this PID
        dead = m["host"] == host and (pid == me or not _pid_alive(pid))
        if not dead and now - st.st_mtime <= max_age:
            continue
        try:
            os.unlink(entry.path)
        except OSError:
            continue
        removed.append(Path(entry.path))
    return removed


def _name_length_problem(path: Path) -> str | None:
    """A one-line reason when ``path``'s file name is longer than its folder allows, else None."""
    n = len(os.fsencode(path.name))
    limit = 255
    with suppress(OSError, ValueError, AttributeError):
        limit = os.pathconf(path.parent, "PC_NAME_MAX")
    if n > limit:
        return f"file name is too long ({n} bytes; the limit is {limit})"
    return None


def _create_temp(folder: Path, name: str) -> tuple[int, str]:
    """Create an empty temporary file for ``name`` in ``folder``: ``(fd, path)``, mode 0o600.

    The path joins ``_active`` before the file exists, so a SIGTERM at any point finds it.
    """
    while len(os.fsencode(name)) > _NAME_BYTES:
        name = name[:-1]
    prefix = os.path.join(folder, f".{name}.{os.getpid()}-{_host_tag()}.")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    flags |= getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        tmp_name = f"{prefix}{os.urandom(4).hex()}.tmp"
        with _active_lock:
            _active.add(tmp_name)
        try:
            return os.open(tmp_name, flags, 0o600), tmp_name
        except FileExistsError:
            _forget_temp(tmp_name)
        except BaseException:
            _forget_temp(tmp_name)
            raise
    raise FileExistsError(errno.EEXIST, "no free temporary file name", prefix)  # pragma: no cover


def _forget_temp(tmp_name: str) -> None:
    with _active_lock:
        _active.discard(tmp_name)


class _Terminated(BaseException):
    """Raised by the SIGTERM handler of :func:`_removed_on_sigterm`; never leaves it."""


@contextmanager
def _removed_on_sigterm() -> Iterator[None]:
    """Inside, a SIGTERM removes this process's temporary files, then kills it as before.

    Only in the main thread (the only one where Python runs signal handlers), and only when
    SIGTERM has its default action: a program that handles or ignores SIGTERM keeps its own way.
    """
    sigterm = getattr(signal, "SIGTERM", None)
    if sigterm is None or threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(sigterm)
    if previous is not signal.SIG_DFL:
        yield
        return
    fired = False

    def on_sigterm(signum: int, frame: object) -> None:
        nonlocal fired
        if not fired:  # a second SIGTERM must not interrupt the clean-up of the first
            fired = True
            raise _Terminated

    try:
        signal.signal(sigterm, on_sigterm)
    except ValueError:  # not the main interpreter
        yield
        return
    try:
        yield
    except _Terminated:
        pass
    finally:
        signal.signal(sigterm, previous)
        if fired:
            _remove_own_temps()
            signal.raise_signal(sigterm)  # the default action: the process ends here
    if fired:  # pragma: no cover - only if SIGTERM is blocked in this thread
        raise SystemExit(128 + sigterm)


def _remove_own_temps() -> None:
    """Unlink every temporary file this process is writing (other threads' too: it is ending)."""
    with _active_lock:
        names = list(_active)
    mine = f".{os.getpid()}-{_host_tag()}."
    for tmp_name in names:
        if mine in os.path.basename(tmp_name):  # not a parent's, inherited through fork()
            with suppress(OSError):
                os.unlink(tmp_name)


def _host_tag() -> str:
    """8 hex digits naming this machine and PID namespace: PIDs mean something only within one."""
    global _host
    if _host is None:
        namespace = ""
        with suppress(OSError):
            namespace = os.readlink("/proc/self/ns/pid")
        _host = hashlib.sha1(f"{socket.gethostname()}|{namespace}".encode()).hexdigest()[:8]
    return _host


def _pid_alive(pid: int) -> bool:
    """Whether process ``pid`` (on this machine) exists and is not a zombie; True when unsure."""
    if pid <= 0 or sys.platform == "win32":  # os.kill(pid, 0) would terminate it on Windows
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (OSError, OverflowError):  # PermissionError: it exists, another user's
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            info = f.read()
        return info[info.rindex(b")") + 2 :][:1] != b"Z"
    except (OSError, ValueError):
        return True


def _sweep(folder: Path) -> None:
    """:func:`remove_stale_temps` on ``folder``, at most once per ``_SWEEP_INTERVAL`` seconds."""
    key = os.path.abspath(folder)
    now = time.monotonic()
    with _swept_lock:
        last = _swept.get(key)
        if last is not None and now - last < _SWEEP_INTERVAL:
            return
        _swept[key] = now
    with suppress(Exception):
        remove_stale_temps(folder)


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
