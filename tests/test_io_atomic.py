"""Tests for atomic_write's temporary files (SIGTERM, kill -9, stale ones) and check_writable."""

from __future__ import annotations

import errno
import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import torch
from io_helpers import _one_line_naming

import pixelsmith.io
import pixelsmith.io.atomic as atomic_module
from pixelsmith.errors import PixelsmithError
from pixelsmith.io import atomic_write, check_writable, remove_stale_temps, write_image

PACKAGE = Path(pixelsmith.io.__file__).parent.parent
SIZE = 8 << 20  # a large file: the kind a killed writer leaves behind

# A writer that stops, forever, once its temporary file holds all the data and before it is moved:
# it prints "writing" there, so the test signals it at a known point (no sleep that races).
# Only pixelsmith.io.atomic (and errors, reasons) is loaded, not torch: a quick start.
CHILD = """
import os, signal, sys, time, types
package, target, handler = sys.argv[1:4]
for name, folder in (("pixelsmith", package), ("pixelsmith.io", os.path.join(package, "io"))):
    module = types.ModuleType(name)
    module.__path__ = [folder]
    sys.modules[name] = module
import pixelsmith.io.atomic as atomic
if handler == "exit3":
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(3))
def stall(fd):
    print("writing", flush=True)
    time.sleep(600)
os.fsync = stall
atomic.atomic_write(target, b"x" * SIZE, overwrite=False)
print("finished", flush=True)
""".replace("SIZE", str(SIZE))


def _temps(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.name.endswith(".tmp"))


@contextmanager
def _stalled_writer(target: Path, handler: str = "default") -> Iterator[subprocess.Popen[str]]:
    """A child process stopped in the middle of ``atomic_write(target, ...)``."""
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(PACKAGE), str(target), handler],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 60)
        assert ready, "the writer did not start within 60 s"
        line = proc.stdout.readline()
        assert line == "writing\n", f"{line!r} {proc.stderr.read()}"
        (tmp,) = _temps(target.parent)
        assert tmp.stat().st_size == SIZE and f".{proc.pid}-" in tmp.name
        assert tmp.name.startswith(f".{target.name}.")
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=60)
        proc.stdout.close()
        proc.stderr.close()


def test_sigterm_removes_the_temporary_file_and_still_kills(tmp_path: Path) -> None:
    target = tmp_path / "big.bin"
    with _stalled_writer(target) as proc:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == -signal.SIGTERM  # died of the signal, as before
    assert list(tmp_path.iterdir()) == []


def test_sigterm_with_the_programs_own_handler(tmp_path: Path) -> None:
    """A handler of the program's is kept; when it raises, the temporary file goes too."""
    target = tmp_path / "big.bin"
    with _stalled_writer(target, handler="exit3") as proc:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 3
    assert list(tmp_path.iterdir()) == []


def test_kill_9_leftover_removed_by_the_next_write(tmp_path: Path) -> None:
    target = tmp_path / "big.bin"
    with _stalled_writer(target) as proc:
        proc.kill()
        assert proc.wait(timeout=60) == -signal.SIGKILL
    (leftover,) = _temps(tmp_path)  # nothing can catch SIGKILL
    atomic_write(tmp_path / "next.bin", b"next", overwrite=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["next.bin"]


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", ""])
    proc.wait()
    return proc.pid


def test_remove_stale_temps_touches_only_its_own_naming(tmp_path: Path) -> None:
    host = atomic_module._host_tag()
    other_host = "0" * 8 if host != "0" * 8 else "1" * 8
    dead, live = _dead_pid(), 1  # PID 1 always exists
    hour_ago = time.time() - 2 * 3600

    def temp(name: str, pid: int, tag: str, *, old: bool = False) -> Path:
        p = tmp_path / f".{name}.{pid}-{tag}.0123abcd.tmp"
        p.write_bytes(b"partial")
        if old:
            os.utime(p, (hour_ago, hour_ago))
        return p

    stale = [
        temp("dead.png", dead, host),
        temp("mine.png", os.getpid(), host),  # our PID, not being written: an earlier process's
        temp("reused.png", live, host, old=True),  # live PID, but an hour old: PID reused
        temp("far.png", dead, other_host, old=True),
    ]
    kept = [
        temp("live.png", live, host),
        temp("far-fresh.png", dead, other_host),  # another machine's PIDs mean nothing here
        tmp_path / ".old-style.png.abc123_x.tmp",
        tmp_path / "notes.tmp",
        tmp_path / f".x.png.{dead}-{host}.0123abcd.tmp.bak",
        tmp_path / f".x.png.{dead}-{host}.0123abcd.TMP",
        tmp_path / "photo.png",
    ]
    for p in kept[2:]:
        p.write_bytes(b"foreign")
    folder_named_so = tmp_path / f".dir.{dead}-{host}.0123abcd.tmp"
    folder_named_so.mkdir()
    link_named_so = tmp_path / f".link.{dead}-{host}.0123abcd.tmp"
    link_named_so.symlink_to(kept[-1])
    fd, writing = atomic_module._create_temp(tmp_path, "busy.png")  # ours, being written now
    try:
        atomic_write(tmp_path / "new.png", b"new", overwrite=False)
        remaining = set(tmp_path.iterdir())
        assert not remaining & set(stale)
        expected = {*kept, folder_named_so, link_named_so, Path(writing), tmp_path / "new.png"}
        assert remaining == expected
        assert remove_stale_temps(tmp_path) == []
    finally:
        os.close(fd)
        atomic_module._forget_temp(writing)
    assert remove_stale_temps(tmp_path) == [Path(writing)]
    assert remove_stale_temps(tmp_path / "missing") == []


def test_sigterm_handler_only_while_writing_and_only_in_the_main_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        pytest.skip("something in this process already handles SIGTERM")
    seen: list[object] = []
    real_fsync = os.fsync

    def recording_fsync(fd: int) -> None:
        seen.append(signal.getsignal(signal.SIGTERM))
        real_fsync(fd)

    monkeypatch.setattr(atomic_module.os, "fsync", recording_fsync)
    atomic_write(tmp_path / "main.bin", b"main", overwrite=False)
    assert callable(seen[0]) and seen[0] is not signal.SIG_DFL
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    errors: list[BaseException] = []

    def in_thread() -> None:
        try:
            atomic_write(tmp_path / "thread.bin", b"thread", overwrite=False)
        except BaseException as e:
            errors.append(e)

    seen.clear()
    thread = threading.Thread(target=in_thread)
    thread.start()
    thread.join(timeout=60)
    assert not errors and (tmp_path / "thread.bin").read_bytes() == b"thread"
    assert seen[0] is signal.SIG_DFL  # the handler is left alone off the main thread

    def programs_own(signum: int, frame: object) -> None:  # pragma: no cover - never called
        pass

    previous = signal.signal(signal.SIGTERM, programs_own)
    try:
        seen.clear()
        atomic_write(tmp_path / "own.bin", b"own", overwrite=False)
        assert seen[0] is programs_own and signal.getsignal(signal.SIGTERM) is programs_own
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert _temps(tmp_path) == []


def test_name_too_long(tmp_path: Path) -> None:
    path = tmp_path / ("a" * 300 + ".png")
    for attempt in (
        lambda: write_image(path, torch.rand(3, 4, 4)),
        lambda: check_writable(path, overwrite=False),
        lambda: atomic_write(path, b"data", overwrite=True),
    ):
        with pytest.raises(PixelsmithError, match=r"file name is too long \(304 bytes") as err:
            attempt()
        _one_line_naming(err, path)
    assert list(tmp_path.iterdir()) == []


def test_longest_names_still_written(tmp_path: Path) -> None:
    """The temporary name must fit too: 252 bytes of emoji leave no room for a suffix."""
    path = tmp_path / ("\N{GRINNING FACE}" * 62 + ".png")
    assert len(os.fsencode(path.name)) == 252
    write_image(path, torch.rand(3, 4, 4))
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_check_writable(tmp_path: Path) -> None:
    good = tmp_path / "out.png"
    check_writable(good, overwrite=False)
    assert list(tmp_path.iterdir()) == []  # the real attempt leaves nothing
    a_file = tmp_path / "file.txt"
    a_file.write_bytes(b"x")
    a_folder = tmp_path / "sub"
    a_folder.mkdir()
    cases = [
        (tmp_path / "missing" / "out.png", False, "output folder does not exist"),
        (a_file / "out.png", False, "output folder is not a folder"),
        (a_folder, True, "is a folder, not a file"),
        (a_file, False, r"file already exists \(use --overwrite, or overwrite=True from Python\)"),
    ]
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "pipe.png")
        cases.append((tmp_path / "pipe.png", True, "not a regular file"))
    for path, overwrite, pattern in cases:
        with pytest.raises(PixelsmithError, match=pattern) as err:
            check_writable(path, overwrite=overwrite)
        _one_line_naming(err, path)
    check_writable(a_file, overwrite=True)
    for overwrite in (False, True):
        with pytest.raises(PixelsmithError, match="is an input"):
            check_writable(
                a_file, overwrite=overwrite, inputs=[tmp_path / "sub" / ".." / "file.txt"]
            )
    assert a_file.read_bytes() == b"x"


def test_check_writable_refused_by_the_os(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Root passes os.access everywhere; the real attempt is what finds the folder closed."""
    path = tmp_path / "out.png"

    def denied(*args: object, **kwargs: object) -> None:
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(atomic_module.os, "open", denied)
    with pytest.raises(PixelsmithError, match="not writable.*read-only file system") as err:
        check_writable(path, overwrite=False)
    monkeypatch.undo()
    _one_line_naming(err, path)
    if Path("/proc/self").exists():  # refuses new files, even for root
        with pytest.raises(PixelsmithError, match="output folder") as err:
            check_writable(Path("/proc/out.png"), overwrite=False)
        _one_line_naming(err, Path("/proc/out.png"))


def test_check_writable_permission_denied(tmp_path: Path) -> None:
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        if getattr(os, "geteuid", lambda: 1)() == 0:
            pytest.skip(
                "root writes into a 0o555 folder (see test_check_writable_refused_by_the_os)"
            )
        with pytest.raises(PixelsmithError, match="not writable") as err:
            check_writable(folder / "out.png", overwrite=False)
        _one_line_naming(err, folder / "out.png")
    finally:
        folder.chmod(0o755)
