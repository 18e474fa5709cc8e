"""Charts can be copied and saved as PNG and SVG (atomically), from their right-click
menu too, and follow the light or dark palette."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor, QContextMenuEvent, QImage
from PySide6.QtWidgets import QApplication, QFileDialog

from .conftest import screenshot

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SVG_NS = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def chart(qtbot):
    from mlops_desktop.gui.charts import Chart

    c = Chart()
    qtbot.addWidget(c)
    c.resize(600, 400)
    c.show()
    qtbot.waitExposed(c)
    c.histogram([0, 1, 2, 3], [3, 5, 2], title="Distribution of bill length", x_label="bill length",
                marks=[(1.5, "mean")])
    QApplication.processEvents()
    return c


def _has_colour(image: QImage, colour: QColor, tolerance: int = 12) -> bool:
    for y in range(0, image.height(), 4):
        for x in range(0, image.width(), 4):
            c = image.pixelColor(x, y)
            if abs(c.red() - colour.red()) <= tolerance and abs(c.green() - colour.green()) <= tolerance \
                    and abs(c.blue() - colour.blue()) <= tolerance:
                return True
    return False


def test_chart_saves_a_valid_png(chart, tmp_path: Path):
    from mlops_desktop.gui.charts import BLUE, PNG_SCALE

    path = chart.save_png(tmp_path / "chart.png")
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC
    image = QImage(str(path))
    assert not image.isNull()
    width = chart.getPlotItem().sceneBoundingRect().width()
    assert abs(image.width() - width * PNG_SCALE) <= 2  # saved at twice the screen size
    assert image.height() > 300
    assert _has_colour(image, BLUE)  # the bars are in it, not an empty frame
    assert [p.name for p in tmp_path.iterdir()] == ["chart.png"]  # no temporary file left


def test_chart_saves_a_valid_svg_with_its_text(chart, tmp_path: Path):
    from PySide6.QtSvg import QSvgRenderer

    path = chart.save_svg(tmp_path / "chart.svg")
    root = ET.parse(path).getroot()
    assert root.tag == f"{SVG_NS}svg"
    texts = "".join("".join(t.itertext()) for t in root.iter(f"{SVG_NS}text"))
    assert "Distribution of bill length" in texts and "bill length" in texts and "mean" in texts
    shapes = [e for e in root.iter() if e.tag in (f"{SVG_NS}path", f"{SVG_NS}rect", f"{SVG_NS}polyline")]
    assert len(shapes) >= 10  # bars, axes and ticks are drawn as vectors
    renderer = QSvgRenderer(str(path))
    assert renderer.isValid()
    # rendered back, the SVG shows the blue bars
    image = QImage(600, 400, QImage.Format.Format_ARGB32)
    image.fill(QColor("white"))
    from PySide6.QtGui import QPainter

    painter = QPainter(image)
    renderer.render(painter)
    painter.end()
    from mlops_desktop.gui.charts import BLUE

    assert _has_colour(image, BLUE)
    assert [p.name for p in tmp_path.iterdir()] == ["chart.svg"]


def test_saving_to_a_missing_folder_is_a_clear_error(chart, tmp_path: Path):
    from mlops_desktop.core.errors import MlopsError

    with pytest.raises(MlopsError, match="does not exist"):
        chart.save_png(tmp_path / "nowhere" / "chart.png")
    with pytest.raises(MlopsError, match="does not exist"):
        chart.save_svg(tmp_path / "nowhere" / "chart.svg")
    assert list(tmp_path.iterdir()) == []


def test_copy_chart_puts_an_image_on_the_clipboard(chart):
    QApplication.clipboard().clear()
    image = chart.copy_to_clipboard()
    pasted = QApplication.clipboard().image()
    assert not pasted.isNull()
    assert (pasted.width(), pasted.height()) == (image.width(), image.height())


def test_right_click_menu_copies_and_saves(chart, tmp_path: Path, monkeypatch):
    event = QContextMenuEvent(QContextMenuEvent.Reason.Mouse, QPoint(50, 50),
                              chart.viewport().mapToGlobal(QPoint(50, 50)))
    QApplication.sendEvent(chart.viewport(), event)
    menu = chart.last_menu
    assert menu.isVisible()
    actions = {a.text(): a for a in menu.actions() if not a.isSeparator()}
    assert list(actions) == ["Copy chart", "Save chart as PNG…", "Save chart as SVG…"]
    screenshot(menu, "polish_chart_menu")
    asked = []

    def answer(parent, caption, directory, filters):
        asked.append((caption, directory, filters))
        return str(tmp_path / "from-menu"), filters  # no suffix typed: it is added

    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(answer))
    actions["Save chart as SVG…"].trigger()
    actions["Save chart as PNG…"].trigger()
    menu.close()
    assert (tmp_path / "from-menu.png").read_bytes()[:8] == PNG_MAGIC
    assert ET.parse(tmp_path / "from-menu.svg").getroot().tag == f"{SVG_NS}svg"
    assert asked[0][1].endswith("Distribution of bill length.svg")  # suggested from the title


def test_heatmap_is_saved_and_copied_like_a_chart(qtbot, tmp_path: Path):
    from mlops_desktop.gui.charts import Heatmap

    heatmap = Heatmap()
    qtbot.addWidget(heatmap)
    heatmap.resize(500, 400)
    heatmap.show()
    qtbot.waitExposed(heatmap)
    heatmap.set_matrix(["a", "b"], ["a", "b"], [[1.0, -0.8], [-0.8, 1.0]])
    QApplication.processEvents()
    png = QImage(str(heatmap.save_png(tmp_path / "h.png")))
    # -0.8 is four fifths of the way from white (250, 250, 250) to red (179, 38, 30)
    assert _has_colour(png, QColor(193, 80, 74), tolerance=15)
    root = ET.parse(heatmap.save_svg(tmp_path / "h.svg")).getroot()
    assert "-0.80" in "".join(root.itertext())
    assert not heatmap.copy_to_clipboard().isNull()
    assert heatmap.plot.contextMenuPolicy() == Qt.ContextMenuPolicy.CustomContextMenu
