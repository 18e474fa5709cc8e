"""Running core work off the UI thread, with progress and cancel.

A job is a plain function ``fn(progress, cancel)`` from the core. ``JobRunner.start``
runs it on a worker thread; progress reports arrive on the UI thread as signals
(throttled, so a chatty job cannot flood the event loop); the result or the error
comes back the same way.
"""

from __future__ import annotations

import time
import traceback
from typing import Any, Callable, Optional

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from ..core.errors import JobCancelled
from ..core.jobs import CancelToken

JobFunction = Callable[[Callable[[Optional[float], str], None], CancelToken], Any]
PROGRESS_INTERVAL_S = 0.05


class Job(QObject):
    """One piece of background work. Connect to its signals before it starts."""

    progress = Signal(float, str)      # fraction (-1 when unknown), message
    succeeded = Signal(object)          # the function's return value
    failed = Signal(object, str)        # the exception, its formatted traceback
    cancelled = Signal()
    ended = Signal()                    # after any of the three above

    def __init__(self, title: str, fn: JobFunction, parent: Optional[QObject] = None) -> None:
        super().__init__(parent)
        self.title = title
        self.fn = fn
        self.token = CancelToken()
        self.running = False
        self.last_fraction = -1.0
        self.last_message = title

    def cancel(self) -> None:
        self.token.cancel()


class _Runnable(QRunnable):
    def __init__(self, job: Job) -> None:
        super().__init__()
        self.job = job
        self._last_emit = 0.0

    def _progress(self, fraction: Optional[float], message: str) -> None:
        now = time.monotonic()
        if fraction is not None and fraction >= 1.0 or now - self._last_emit >= PROGRESS_INTERVAL_S:
            self._last_emit = now
            self.job.progress.emit(-1.0 if fraction is None else float(fraction), message)

    def run(self) -> None:
        job = self.job
        try:
            result = job.fn(self._progress, job.token)
        except JobCancelled:
            job.cancelled.emit()
        except BaseException as exc:  # reported to the user by the runner, never lost
            if job.token.cancelled:
                job.cancelled.emit()
            else:
                job.failed.emit(exc, traceback.format_exc())
        else:
            if job.token.cancelled:
                job.cancelled.emit()
            else:
                job.succeeded.emit(result)
        job.ended.emit()


class JobRunner(QObject):
    """Starts jobs on a thread pool and keeps track of the running ones."""

    job_started = Signal(object)
    job_ended = Signal(object)

    def __init__(self, parent: Optional[QObject] = None) -> None:
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(2)
        self.jobs: list[Job] = []

    def start(self, title: str, fn: JobFunction, *,
              on_success: Optional[Callable[[Any], None]] = None,
              on_error: Optional[Callable[[BaseException, str], None]] = None,
              on_cancel: Optional[Callable[[], None]] = None,
              visible: bool = True) -> Job:
        job = Job(title, fn, self)
        if on_success:
            job.succeeded.connect(on_success)
        if on_error:
            job.failed.connect(on_error)
        if on_cancel:
            job.cancelled.connect(on_cancel)
        job.progress.connect(lambda f, m, j=job: self._remember(j, f, m))
        job.ended.connect(lambda j=job: self._ended(j))
        job.running = True
        if visible:
            self.jobs.append(job)
            self.job_started.emit(job)
        self.pool.start(_Runnable(job))
        return job

    @staticmethod
    def _remember(job: Job, fraction: float, message: str) -> None:
        job.last_fraction, job.last_message = fraction, message

    def _ended(self, job: Job) -> None:
        job.running = False
        if job in self.jobs:
            self.jobs.remove(job)
            self.job_ended.emit(job)
        job.deleteLater()

    def cancel_all(self) -> None:
        for job in list(self.jobs):
            job.cancel()

    def wait(self, timeout_ms: int = 30_000) -> bool:
        return self.pool.waitForDone(timeout_ms)
