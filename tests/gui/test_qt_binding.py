"""The Qt binding must keep Python's reference counts right. PySide6 6.12.0 dropped a
reference to None every time a signal reached a Python slot; on Python 3.11 the app (and
this test suite) then aborted at exit with "deallocating None". pyproject.toml keeps that
release out; this test catches a binding with the same fault."""

from __future__ import annotations

import gc
import sys


def test_signals_and_plain_calls_keep_none_and_bools_alive(qtbot):
    from PySide6.QtWidgets import QCheckBox, QLabel, QPushButton

    box, button, label = QCheckBox(), QPushButton(), QLabel()
    qtbot.addWidget(label)
    qtbot.addWidget(box)
    qtbot.addWidget(button)
    seen: list[bool] = []
    box.toggled.connect(lambda on: seen.append(on))
    button.clicked.connect(lambda _checked=False: None)
    gc.collect()
    before = (sys.getrefcount(None), sys.getrefcount(True), sys.getrefcount(False))
    for _ in range(2000):
        box.setChecked(not box.isChecked())
        button.click()
        label.setText("a call that returns nothing")
        label.update()
    seen.clear()
    gc.collect()
    after = (sys.getrefcount(None), sys.getrefcount(True), sys.getrefcount(False))
    # a faulty binding loses one reference per call: thousands; normal noise is a few
    lost = [b - a for a, b in zip(before, after)]
    assert min(lost) > -100, f"references lost to None/True/False: {lost}"
