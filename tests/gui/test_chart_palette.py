"""Charts follow the application palette: forced dark, their background, axes and
titles change with it and back."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication

from .conftest import screenshot, wait_jobs


@pytest.fixture
def dark(qapp):
    """The dark palette for the length of a test, then the palette from before."""
    from mlops_desktop.gui.palette import dark_palette, set_app_palette

    before = QPalette(qapp.palette())
    set_app_palette(qapp, dark_palette())
    QApplication.processEvents()
    yield qapp.palette()
    set_app_palette(qapp, before)
    QApplication.processEvents()


def _colours(chart):
    item = chart.getPlotItem()
    return (chart.backgroundBrush().color().name(), item.getAxis("bottom").textPen().color().name(),
            item.getAxis("left").pen().color().name())


def test_chart_follows_the_palette_both_ways(qtbot, qapp):
    from mlops_desktop.gui.charts import Chart, Heatmap
    from mlops_desktop.gui.palette import dark_palette

    light = QPalette(qapp.palette())
    chart = Chart("Distribution")
    heatmap = Heatmap()
    for w in (chart, heatmap):
        qtbot.addWidget(w)
        w.show()
    chart.lines([0, 1, 2], {"a": [1, 2, 1], "b": [2, 1, 2]}, title="Two series", x_label="x")
    base, text = light.color(QPalette.ColorRole.Base).name(), light.color(QPalette.ColorRole.Text).name()
    assert _colours(chart) == (base, text, text)
    try:
        qapp.setPalette(dark_palette())
        QApplication.processEvents()
        dark = qapp.palette()
        dark_base, dark_text = dark.color(QPalette.ColorRole.Base).name(), dark.color(QPalette.ColorRole.Text).name()
        assert dark_base != base
        assert _colours(chart) == (dark_base, dark_text, dark_text)
        assert heatmap.plot.backgroundBrush().color().name() == dark_base
        assert dark_text in chart.getPlotItem().titleLabel.item.toHtml()  # the title too
        assert chart.legend.opts["labelTextColor"].name() == dark_text
        # a chart drawn after the switch starts dark as well
        later = Chart()
        qtbot.addWidget(later)
        later.histogram([0, 1, 2], [1, 2], title="Later", x_label="x")
        assert _colours(later) == (dark_base, dark_text, dark_text)
        assert dark_text in later.getPlotItem().getAxis("bottom").labelString()
    finally:
        qapp.setPalette(light)
        QApplication.processEvents()
    assert _colours(chart) == (base, text, text)


def test_saved_png_keeps_the_dark_background(qtbot, dark, tmp_path):
    from PySide6.QtGui import QImage

    from mlops_desktop.gui.charts import Chart

    chart = Chart()
    qtbot.addWidget(chart)
    chart.resize(500, 300)
    chart.show()
    chart.bars(["a", "b"], [3, 1], title="Dark bars")
    image = QImage(str(chart.save_png(tmp_path / "dark.png")))
    corner = image.pixelColor(3, 3)
    assert corner.name() == dark.color(QPalette.ColorRole.Base).name()


def test_follow_system_color_scheme_applies_dark_where_the_platform_does_not(qapp, monkeypatch):
    from PySide6.QtCore import Qt

    from mlops_desktop.gui.palette import follow_system_color_scheme, is_dark

    before = QPalette(qapp.palette())
    hints = qapp.styleHints()
    try:
        monkeypatch.setattr(type(hints), "colorScheme", lambda self: Qt.ColorScheme.Dark)
        follow_system_color_scheme(qapp)
        assert is_dark(qapp.palette())
        monkeypatch.setattr(type(hints), "colorScheme", lambda self: Qt.ColorScheme.Light)
        hints.colorSchemeChanged.emit(Qt.ColorScheme.Light)
        assert not is_dark(qapp.palette())
        assert qapp.palette().color(QPalette.ColorRole.Base) == before.color(QPalette.ColorRole.Base)
    finally:
        hints.colorSchemeChanged.disconnect()
        qapp.setPalette(before)
        qapp.setProperty("mlopsDarkPalette", False)


def test_dark_explore_page_screenshot(window, qtbot, dark):
    window.page("Data").open_sample()
    wait_jobs(qtbot, window)
    window.go_to("Explore")
    explore = window.page("Explore")
    qtbot.waitUntil(lambda: explore.profile is not None, timeout=20_000)
    wait_jobs(qtbot, window)
    explore.columns.setCurrentCell(4, 0)
    explore.show_column(4)
    explore.tabs.setCurrentIndex(1)
    assert explore.distribution.backgroundBrush().color().name() == dark.color(QPalette.ColorRole.Base).name()
    # the navigation has a style sheet of its own: it is polished again and goes dark too
    nav = window.nav.grab().toImage()
    assert nav.pixelColor(nav.width() - 5, nav.height() - 5).lightness() < 100
    screenshot(window, "polish_dark_explore")
    explore.tabs.setCurrentIndex(2)
    screenshot(window, "polish_dark_correlations")
