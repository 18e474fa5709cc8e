"""The application's colours: a dark palette, and following the system's light or dark
scheme as it changes."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication


def dark_palette() -> QPalette:
    """A dark palette for the Fusion style, used when the system asks for dark and the
    platform does not provide one itself."""
    p = QPalette()
    colours = {QPalette.ColorRole.Window: "#2b2b2b", QPalette.ColorRole.WindowText: "#e6e6e6",
               QPalette.ColorRole.Base: "#1f1f1f", QPalette.ColorRole.AlternateBase: "#2b2b2b",
               QPalette.ColorRole.ToolTipBase: "#2b2b2b", QPalette.ColorRole.ToolTipText: "#e6e6e6",
               QPalette.ColorRole.Text: "#e6e6e6", QPalette.ColorRole.Button: "#353535",
               QPalette.ColorRole.ButtonText: "#e6e6e6", QPalette.ColorRole.BrightText: "#ff6b6b",
               QPalette.ColorRole.Link: "#7fb0ff", QPalette.ColorRole.Highlight: "#3d6fb6",
               QPalette.ColorRole.HighlightedText: "#ffffff", QPalette.ColorRole.PlaceholderText: "#8a8a8a",
               QPalette.ColorRole.Light: "#505050", QPalette.ColorRole.Midlight: "#404040",
               QPalette.ColorRole.Mid: "#303030", QPalette.ColorRole.Dark: "#151515",
               QPalette.ColorRole.Shadow: "#000000"}
    for role, colour in colours.items():
        p.setColor(role, QColor(colour))
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor("#7f7f7f"))
    return p


def is_dark(palette: QPalette) -> bool:
    return palette.color(QPalette.ColorRole.Window).lightness() < 128


def set_app_palette(app: QApplication, palette: QPalette) -> None:
    """Change the whole app's palette. Widgets with their own style sheet keep the colours
    they were polished with, so they are polished again."""
    app.setPalette(palette)
    for widget in app.allWidgets():
        if widget.styleSheet():
            widget.setStyleSheet(widget.styleSheet())


def follow_system_color_scheme(app: QApplication) -> None:
    """Follow the system's light or dark setting, now and when it changes. Where the
    platform already gives a dark palette nothing is changed; where it does not (some
    Linux desktops, older Windows styles), the Fusion style with a dark palette is used.
    Charts re-colour themselves on the palette change."""
    hints = app.styleHints()
    original = {"palette": QPalette(app.palette()), "style": app.style().name()}

    def apply(*_args: Any) -> None:
        scheme = hints.colorScheme()
        ours = bool(app.property("mlopsDarkPalette"))
        if scheme == Qt.ColorScheme.Dark and not is_dark(app.palette()):
            if app.style().name().lower() != "fusion":
                app.setStyle("Fusion")  # native light-only styles ignore a dark palette
            set_app_palette(app, dark_palette())
            app.setProperty("mlopsDarkPalette", True)
        elif scheme != Qt.ColorScheme.Dark and ours:
            if app.style().name() != original["style"]:
                app.setStyle(original["style"])
            set_app_palette(app, original["palette"])
            app.setProperty("mlopsDarkPalette", False)

    hints.colorSchemeChanged.connect(apply)
    apply()
