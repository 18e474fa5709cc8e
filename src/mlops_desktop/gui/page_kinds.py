"""The kinds of flow page: one that re-reads the workspace when something changed, one
whose charts are built the first time it shows, and both at once."""

from __future__ import annotations

from typing import Any, Callable, Optional

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QWidget


class _ReadsWhenStale:
    """Re-reads the workspace when something changed: at once while the page shows, else
    the next time it appears (a hidden page does no work). Subclasses implement
    ``reload()`` and clear ``stale`` there."""

    stale = True

    def reload(self) -> None:
        raise NotImplementedError

    def mark_stale(self) -> None:
        self.stale = True
        if self.isVisible():  # type: ignore[attr-defined]
            self.reload()


class ReloadingPage(_ReadsWhenStale, QWidget):
    """A flow page that re-reads the workspace when something changed (see ``mark_stale``)."""

    def showEvent(self, event: Any) -> None:
        if self.stale:
            self.reload()
        super().showEvent(event)

    def go_to(self, title: str) -> None:
        """Show another page of the main window."""
        go = getattr(self.window(), "go_to", None)
        if go is not None:
            go(title)


#: the delay before the next part handed to ``LazyPage.later`` is made: a timer, not a
#: zero-delay call, so the timers due meanwhile run between parts (Qt runs a chain of
#: zero-delay calls before any timer: the parts of a first visit then held the UI thread
#: as long as all of them together, 2.7 s on a loaded machine)
_TURN_MS = 1


class LazyPage(QWidget):
    """A flow page whose charts are built the first time it is shown, so that start-up
    never imports pyqtgraph. ``build()`` makes the widgets once; ``on_show()`` refreshes
    what the page shows each time it appears. ``page_built`` is emitted after ``build()``
    (the window then restores the page's splitter positions).

    A chart takes tens of milliseconds to make: ``build()`` hands the charts a page does
    not draw at once to ``later()``, which makes them one per turn of the event loop, so
    the first visit never holds the UI thread for all of them; a page calls
    ``finish_building()`` before it draws into them."""

    page_built = Signal()

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self._built = False
        self._later: list[Callable[[], None]] = []

    @property
    def built(self) -> bool:
        return self._built

    def ensure_built(self) -> None:
        if not self._built:
            self._built = True
            self.build()
            self.page_built.emit()

    def build(self) -> None:
        raise NotImplementedError

    def later(self, make: Callable[[], None]) -> None:
        """Make part of the page (a chart) on a later turn of the event loop, after the
        parts handed over before it."""
        self._later.append(make)
        if len(self._later) == 1:
            QTimer.singleShot(_TURN_MS, self._make_next)

    def _make_next(self) -> None:
        if self._later:
            self._later.pop(0)()
        if self._later:
            QTimer.singleShot(_TURN_MS, self._make_next)

    @property
    def building(self) -> bool:
        """Whether parts handed to ``later()`` are still to be made."""
        return bool(self._later)

    def when_built(self, draw: Callable[[], None]) -> None:
        """Run ``draw`` now, or after the parts still to be made when there are some (it
        draws into them)."""
        if self._later:
            self.later(draw)
        else:
            draw()

    def finish_building(self) -> None:
        """Make at once every part still waiting (the page is about to draw into them)."""
        self.ensure_built()
        while self._later:
            self._later.pop(0)()

    def on_show(self) -> None:
        """Called every time the page appears, after ``build()``."""

    def showEvent(self, event: Any) -> None:
        self.ensure_built()
        self.on_show()
        super().showEvent(event)


class LazyReloadingPage(_ReadsWhenStale, LazyPage):
    """A lazy page (charts built when first shown) that re-reads the workspace only
    after something changed (see ``mark_stale``), never while hidden."""

    def on_show(self) -> None:
        if self.stale:
            self.reload()
