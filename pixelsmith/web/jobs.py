"""A bounded job queue: a few workers, a small waiting room, progress, cancel and expiry.

``JobQueue(workers=N, max_waiting=M)`` runs at most N jobs at once and holds at most M more;
:meth:`JobQueue.submit` beyond that raises :class:`Busy` at once (the page answers 503), so many
users at once cost at most N jobs' memory. A job's work is a function ``work(job)`` that calls
``job.report(done, total)`` as it goes; once :meth:`JobQueue.cancel` was asked, the next report
raises :class:`Cancelled` (a queued job never starts). A finished job (done, failed or cancelled)
is kept ``keep_seconds``, then forgotten, its ``on_expire`` called (the server removes its files);
at most ``max_kept`` finished jobs are kept, the oldest going first.

Nothing here knows about images: :mod:`pixelsmith.web.runner` gives the work.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pixelsmith.errors import PixelsmithError

log = logging.getLogger(__name__)

QUEUED, RUNNING, DONE, FAILED, CANCELLED = "queued", "running", "done", "failed", "cancelled"
FINISHED = (DONE, FAILED, CANCELLED)


class Busy(Exception):
    """Every worker is busy and the waiting room is full."""


class Cancelled(Exception):
    """Raised inside a job's work by :meth:`Job.report` once the job was cancelled."""


@dataclass(eq=False)
class Job:
    """One job: its state, progress (``done`` of ``total`` steps), error message and result."""

    work: Callable[[Job], Any]
    on_expire: Callable[[], None] | None = None
    info: dict[str, Any] = field(default_factory=dict)  # shown as it is (task, file name ...)
    id: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    state: str = QUEUED
    done: int = 0
    total: int = 0
    message: str = ""
    result: Any = None
    finished_at: float | None = None
    _cancel: threading.Event = field(default_factory=threading.Event, repr=False)
    _forget: bool = field(default=False, repr=False)

    def report(self, done: int, total: int) -> None:
        """Progress from the work; raises :class:`Cancelled` once the job was cancelled."""
        self.done, self.total = done, total
        if self._cancel.is_set():
            raise Cancelled

    @property
    def cancelling(self) -> bool:
        return self._cancel.is_set()

    def to_json(self, position: int | None = None) -> dict[str, Any]:
        """What the page polls: ``position`` is the place in the waiting room (0: next)."""
        return {
            "id": self.id,
            "state": self.state,
            "done": self.done,
            "total": self.total,
            "message": self.message,
            "position": position,
            "cancelling": self.cancelling and self.state in (QUEUED, RUNNING),
            **self.info,
        }


class JobQueue:
    """``workers`` threads taking jobs from a waiting room of at most ``max_waiting``."""

    def __init__(
        self,
        workers: int = 1,
        max_waiting: int = 4,
        keep_seconds: float = 600.0,
        max_kept: int = 32,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if workers < 1 or max_waiting < 0 or keep_seconds <= 0 or max_kept < 1:
            raise ValueError(
                f"a job queue needs workers >= 1, max_waiting >= 0, keep_seconds > 0 and "
                f"max_kept >= 1, not {workers}, {max_waiting}, {keep_seconds}, {max_kept}"
            )
        self.workers, self.max_waiting = workers, max_waiting
        self.keep_seconds, self.max_kept = keep_seconds, max_kept
        self.clock = clock
        self._jobs: dict[str, Job] = {}
        self._waiting: deque[Job] = deque()
        self._running = 0
        self._lock = threading.Condition()
        self._threads: list[threading.Thread] = []
        self._stopping = False
        self._stopped = threading.Event()  # wakes the expiry thread

    # --- life ---------------------------------------------------------------------------------
    def start(self) -> None:
        with self._lock:
            if self._threads:
                return
            self._stopping = False
            self._stopped.clear()
            for i in range(self.workers):
                t = threading.Thread(target=self._serve, name=f"pixelsmith-job-{i}", daemon=True)
                t.start()
                self._threads.append(t)
            janitor = threading.Thread(target=self._sweep_often, name="pixelsmith-jobs-expiry")
            janitor.daemon = True
            janitor.start()
            self._threads.append(janitor)

    def stop(self, timeout: float = 10.0) -> None:
        """Cancel every job, wait for the workers (up to ``timeout`` s), forget every job."""
        with self._lock:
            self._stopping = True
            self._stopped.set()
            for job in self._jobs.values():
                job._cancel.set()
            self._lock.notify_all()
            threads, self._threads = self._threads, []
        for t in threads:
            t.join(timeout)
        with self._lock:
            jobs, self._jobs = list(self._jobs.values()), {}
            self._waiting.clear()
        for job in jobs:
            self._expire(job)

    # --- requests -----------------------------------------------------------------------------
    def submit(
        self,
        work: Callable[[Job], Any],
        on_expire: Callable[[], None] | None = None,
        info: dict[str, Any] | None = None,
    ) -> Job:
        """Queue ``work``; :class:`Busy` when ``workers`` jobs run and ``max_waiting`` wait.
        (``on_expire`` is not called for a refused job: the caller still holds its files.)"""
        self.sweep()
        with self._lock:
            if self._stopping:
                raise Busy("the server is stopping")
            if self._running + len(self._waiting) >= self.workers + self.max_waiting:
                raise Busy(
                    f"busy: {self._running} job(s) running and {len(self._waiting)} waiting; "
                    "try again in a minute"
                )
            job = Job(work, on_expire, dict(info or {}))
            self._jobs[job.id] = job
            self._waiting.append(job)
            self._lock.notify()
        return job

    def get(self, job_id: str) -> Job | None:
        """The job, or ``None`` when it is unknown or expired."""
        self.sweep()
        with self._lock:
            return self._jobs.get(job_id)

    def position(self, job: Job) -> int | None:
        """``job``'s place in the waiting room (0: next), ``None`` when it is not waiting."""
        with self._lock:
            try:
                return self._waiting.index(job)
            except ValueError:
                return None

    def cancel(self, job_id: str) -> Job | None:
        """Ask ``job_id`` to stop: a waiting job is cancelled at once, a running one at its next
        progress report; a finished job is left as it is."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or job.state in FINISHED:
                return job
            job._cancel.set()
            if job in self._waiting:
                self._waiting.remove(job)
                self._finish(job, CANCELLED, "cancelled")
        return job

    def forget(self, job_id: str) -> bool:
        """Drop a job and its files now (a running one is cancelled and dropped when it
        stops). ``False`` when there is no such job."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                return False
            job._forget = True
            if job.state not in FINISHED:
                job._cancel.set()
                if job in self._waiting:
                    self._waiting.remove(job)
                    self._finish(job, CANCELLED, "cancelled")
            if job.state not in FINISHED:
                return True  # the worker drops it when it stops
            del self._jobs[job_id]
        self._expire(job)
        return True

    def counts(self) -> dict[str, int]:
        with self._lock:
            return {"running": self._running, "waiting": len(self._waiting)}

    # --- expiry -------------------------------------------------------------------------------
    def sweep(self) -> None:
        """Forget finished jobs older than ``keep_seconds``, and the oldest beyond ``max_kept``."""
        now = self.clock()
        with self._lock:
            finished = sorted(
                (j for j in self._jobs.values() if j.finished_at is not None),
                key=lambda j: j.finished_at,
            )
            old = [j for j in finished if now - j.finished_at >= self.keep_seconds]
            young = finished[len(old) :]  # finished_at is sorted, so the old ones come first
            gone = old + young[: max(0, len(young) - self.max_kept)]
            for job in gone:
                del self._jobs[job.id]
        for job in gone:
            self._expire(job)

    def _sweep_often(self) -> None:
        while not self._stopped.wait(timeout=min(5.0, self.keep_seconds / 2)):
            self.sweep()

    def _expire(self, job: Job) -> None:
        if job.on_expire is not None:
            try:
                job.on_expire()
            except Exception:  # cleaning up must never stop the queue
                log.exception("cleaning up job %s failed", job.id)

    # --- the workers --------------------------------------------------------------------------
    def _serve(self) -> None:
        while True:
            with self._lock:
                while not self._waiting and not self._stopping:
                    self._lock.wait()
                if self._stopping:
                    return
                job = self._waiting.popleft()
                job.state = RUNNING
                self._running += 1
            state, message, result = self._run(job)
            with self._lock:
                self._running -= 1
                job.result = result
                self._finish(job, state, message)
                drop = job._forget
                if drop:
                    self._jobs.pop(job.id, None)
            if drop:
                self._expire(job)

    def _run(self, job: Job) -> tuple[str, str, Any]:
        try:
            job.report(job.done, job.total)  # cancelled before it started
            return DONE, "", job.work(job)
        except Cancelled:
            return CANCELLED, "cancelled", None
        except PixelsmithError as e:
            return FAILED, str(e), None
        except MemoryError:
            return FAILED, "out of memory: try a smaller image", None
        except Exception as e:  # a bug: logged with its traceback, one line to the page
            if "out of memory" in str(e).lower():
                return FAILED, "out of memory: try a smaller image", None
            log.exception("job %s failed", job.id)
            return FAILED, f"internal error ({type(e).__name__}); the server log has details", None

    def _finish(self, job: Job, state: str, message: str) -> None:
        job.state, job.message, job.finished_at = state, message, self.clock()
