"""A page's first visit makes its charts one per turn of the event loop (``LazyPage.later``):
the timers due meanwhile (the UI-pause measurement's, a progress bar's) run between two
parts, so the longest pause of a first visit is one chart, not all of them. Checked by
order, not by time: a timer overdue when a part ends runs before the next part."""

from __future__ import annotations

import time

from PySide6.QtCore import QTimer

from mlops_desktop.gui.page_kinds import LazyPage

PART_S = 0.03  # longer than the timer's interval: it is overdue whenever a part ends


class _Parts(LazyPage):
    def __init__(self, log: list[str]) -> None:
        self.log = log
        super().__init__()

    def _part(self, name: str) -> None:
        self.log.append(name)
        started = time.perf_counter()
        while time.perf_counter() - started < PART_S:  # work on the UI thread, as making a chart is
            pass

    def build(self) -> None:
        for i in range(4):
            self.later(lambda i=i: self._part(f"part {i}"))


def test_timers_run_between_the_parts_a_first_visit_makes_later(qtbot):
    log: list[str] = []
    page = _Parts(log)
    qtbot.addWidget(page)
    tick = QTimer()
    tick.setInterval(10)
    tick.timeout.connect(lambda: log.append("tick") if log[-1:] != ["tick"] else None)
    tick.start()
    page.show()  # builds the page: the parts are made on later turns
    qtbot.waitUntil(lambda: not page.building, timeout=10_000)
    tick.stop()
    parts = [i for i, what in enumerate(log) if what != "tick"]
    assert len(parts) == 4
    between = [log[a + 1:b] for a, b in zip(parts, parts[1:])]
    assert all("tick" in events for events in between), f"a timer was held back between parts: {log}"


def test_finish_building_makes_every_part_left_at_once(qtbot):
    log: list[str] = []
    page = _Parts(log)
    qtbot.addWidget(page)
    page.show()
    page.finish_building()  # the page is about to draw into its charts
    assert log == [f"part {i}" for i in range(4)] and not page.building
