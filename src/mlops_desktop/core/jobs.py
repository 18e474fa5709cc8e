"""Progress reporting and cancellation for long core operations, without Qt.

A long function takes ``progress`` (a callable ``(fraction, message)``, where
``fraction`` is 0..1 or ``None`` when unknown) and ``cancel`` (a
:class:`CancelToken`). The GUI's job runner turns progress into signals; the CLI
passes :func:`no_progress` or prints.
"""

from __future__ import annotations

import threading
from typing import Callable, Optional

from .errors import JobCancelled

ProgressCallback = Callable[[Optional[float], str], None]


def no_progress(fraction: Optional[float], message: str) -> None:
    """A progress callback that ignores every report."""


class CancelToken:
    """A flag that one thread sets and a long operation checks between steps."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        """Ask the operation to stop at its next check."""
        self._event.set()

    @property
    def cancelled(self) -> bool:
        """Whether cancel was asked for: for work that must tidy up before it stops."""
        return self._event.is_set()

    def check(self) -> None:
        """Raise :class:`JobCancelled` if cancel was asked for."""
        if self._event.is_set():
            raise JobCancelled("cancelled by the user")


class Steps:
    """Maps the steps of an operation onto one 0..1 progress bar.

    ``Steps(progress, cancel, weights={"read": 6, "snapshot": 3, "register": 1})``
    then ``steps.start("read", "Reading file")`` reports the start of a step and
    checks for cancellation; ``steps.within(0.5)`` reports half-way through it.
    """

    def __init__(self, progress: ProgressCallback, cancel: Optional[CancelToken],
                 weights: dict[str, float]) -> None:
        self._progress = progress
        self._cancel = cancel
        total = float(sum(weights.values())) or 1.0
        self._starts: dict[str, float] = {}
        self._sizes: dict[str, float] = {}
        acc = 0.0
        for name, w in weights.items():
            self._starts[name] = acc / total
            self._sizes[name] = w / total
            acc += w
        self._current: Optional[str] = None
        self._message = ""

    def check(self) -> None:
        """Stop here (JobCancelled) if the user cancelled; without a token, never."""
        if self._cancel is not None:
            self._cancel.check()

    @property
    def current(self) -> Optional[str]:
        """The step started last."""
        return self._current

    def start(self, name: str, message: str) -> None:
        """Begin step ``name``: report where it starts on the bar, with ``message``."""
        self.check()
        self._current, self._message = name, message
        self._progress(self._starts[name], message)

    def within(self, fraction: float) -> None:
        """Report ``fraction`` (0..1, clipped) of the current step done."""
        self.check()
        if self._current is not None:
            name = self._current
            self._progress(self._starts[name] + self._sizes[name] * min(max(fraction, 0.0), 1.0),
                           self._message)

    def done(self, message: str = "Done") -> None:
        """Report the whole operation finished (a full bar)."""
        self._progress(1.0, message)
