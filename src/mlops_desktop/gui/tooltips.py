"""Tooltips a person can read: long ones are broken into lines (Qt shows plain text on
one line, which runs off the screen's edge) and stay while the pointer rests on what
they explain, instead of vanishing after about ten seconds."""

from __future__ import annotations

import textwrap
from typing import Optional

from PySide6.QtCore import QEvent, QModelIndex, QObject, QRect, Qt
from PySide6 import QtGui
from PySide6.QtGui import QHelpEvent
from PySide6.QtWidgets import QAbstractItemView, QApplication, QToolTip, QWidget

#: characters per line of a wrapped tooltip
LINE_CHARACTERS = 80
#: how long a tooltip stays while the pointer rests inside the thing it explains
SHOW_MS = 60_000


def wrapped(text: str) -> str:
    """Plain ``text`` with each paragraph broken into lines of at most LINE_CHARACTERS;
    rich text (which Qt wraps itself) as it is."""
    if QtGui.Qt.mightBeRichText(text):  # in QtGui's Qt namespace, not QtCore's
        return text
    return "\n".join(textwrap.fill(line, LINE_CHARACTERS, break_long_words=False, break_on_hyphens=False)
                     if line.strip() else line for line in text.splitlines())


def _tip_at(obj: QObject, event: QHelpEvent) -> tuple[Optional[str], Optional[QWidget], QRect]:
    """The tooltip text for the point of ``event`` on ``obj``, the widget it belongs to
    and the rectangle it is about (the cell of a table, or the whole widget)."""
    parent = obj.parent() if isinstance(obj, QWidget) else None
    if isinstance(parent, QAbstractItemView) and obj is parent.viewport():
        index: QModelIndex = parent.indexAt(event.pos())
        if not index.isValid():
            return None, None, QRect()
        text = index.data(Qt.ItemDataRole.ToolTipRole)
        return (str(text) if text else None), obj, parent.visualRect(index)
    if isinstance(obj, QWidget) and obj.toolTip():
        return obj.toolTip(), obj, obj.rect()
    return None, None, QRect()


class ReadableToolTips(QObject):
    """An application-wide event filter: shows every widget's and table cell's tooltip
    wrapped, for SHOW_MS while the pointer stays on it. Others (headers, menus, charts)
    keep Qt's own handling."""

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if event.type() != QEvent.Type.ToolTip or not isinstance(event, QHelpEvent):
            return False
        text, widget, rect = _tip_at(obj, event)
        if not text or widget is None:
            return False
        QToolTip.showText(event.globalPos(), wrapped(text), widget, rect, SHOW_MS)
        return True


def install(app: QApplication) -> None:
    """Install the filter once per application."""
    if app.property("mlopsReadableToolTips"):
        return
    app.setProperty("mlopsReadableToolTips", True)
    app.installEventFilter(ReadableToolTips(app))
