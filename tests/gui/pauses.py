"""Measuring UI pauses while work runs in the background, the same way in every test.

A pause is measured on several runs of the same work and judged by its median: on a
busy machine (two cores shared with other processes) one run's longest pause can be
the machine's, while a freeze of ours (work on the UI thread) is in every run. The
limit is 200 ms on an idle machine; on a loaded one every pause stretches by the share
of the CPU the UI thread gets, so after each run the test measures that slowdown (the
wall time of a short busy loop over its own CPU time: 1 when idle, about 5 when a dozen
busy processes share two cores) and the limit grows by the same factor. A freeze of
ours lasts as long as the work (seconds of CPU, stretched by the same factor), and
``test_responsiveness.test_the_measure_catches_a_freeze`` shows the judgement still fails it.
"""

from __future__ import annotations

import gc
import statistics
import time

from PySide6.QtCore import QTimer

MAX_GAP_MS = 200
#: how many times a pause is measured; the median of the longest pauses is judged
RUNS = 3
#: how long the busy loop that measures the machine's slowdown runs
SLOWDOWN_PROBE_S = 0.3


class GapMeter:
    """Records the longest pause between ticks of a 10 ms timer on the UI thread."""

    def __init__(self) -> None:
        self.timer = QTimer()
        self.timer.setInterval(10)
        self.timer.timeout.connect(self._tick)
        self.last = None
        self.max_gap_ms = 0.0
        self.ticks = 0

    def _tick(self) -> None:
        now = time.perf_counter()
        if self.last is not None:
            self.max_gap_ms = max(self.max_gap_ms, (now - self.last) * 1000)
        self.last = now
        self.ticks += 1

    def start(self) -> None:
        # The collector's debt is paid now, not during the measure: objects earlier tests
        # in this process left behind made it start a full collection mid-measure (a 1.35 s
        # pause at a machine slowdown of 7.8, in an import after the big-dataset test). A
        # collection holds the interpreter's lock, so the UI thread waits for all of it
        # whichever thread started it, and a full one walks everything the process holds
        # (more after the heavy files): whether one fell inside a measure depended on what
        # ran before. Collections of the measured work's own objects still count.
        gc.collect()
        self.last = time.perf_counter()
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()


def machine_slowdown() -> float:
    """How much longer than its CPU time work on this thread takes now (1 on an idle
    machine): the wall time of a short busy loop over the thread's CPU time for it."""
    wall, cpu = time.perf_counter(), time.thread_time()
    while time.perf_counter() - wall < SLOWDOWN_PROBE_S:
        sum(range(1000))
    return max(1.0, (time.perf_counter() - wall) / max(time.thread_time() - cpu, 1e-3))


def assert_responsive(pauses_ms: list[float], slowdowns: list[float]) -> None:
    """The median of the runs' longest pauses is under MAX_GAP_MS stretched by the
    median slowdown of the machine measured after each run."""
    assert len(pauses_ms) >= RUNS and len(slowdowns) >= RUNS
    median, slowdown = statistics.median(pauses_ms), statistics.median(slowdowns)
    print(f"longest pauses {[round(p) for p in pauses_ms]} ms; slowdowns {[round(x, 1) for x in slowdowns]}")
    assert median < MAX_GAP_MS * slowdown, (
        f"the UI froze: longest pauses {', '.join(f'{p:.0f}' for p in pauses_ms)} ms (median {median:.0f} ms), "
        f"above {MAX_GAP_MS} ms times the machine's slowdown ({', '.join(f'{x:.1f}' for x in slowdowns)}; "
        f"median {slowdown:.1f})")
