"""Chart widgets on pyqtgraph: histograms, bars, box plots, scatter plots and a
heatmap with hover values. They draw data the core computed; no statistics here.

Every chart follows the application palette (light or dark) and has a right-click menu
to copy it or save it as PNG or SVG."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QBuffer, QByteArray, QEvent, QIODevice, QPoint, QRect, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPalette, QPen
from PySide6.QtWidgets import QApplication, QFileDialog, QLabel, QMenu, QVBoxLayout, QWidget

from ..core import numbers

pg.setConfigOptions(background="w", foreground="#333", antialias=True)

BLUE = QColor(59, 110, 168)
PALETTE = [QColor(c) for c in ("#3b6ea8", "#e07b39", "#3f9b5b", "#b3261e", "#7b5ea7", "#8c6d31",
                               "#d16ba5", "#5f6b7a")]
PNG_SCALE = 2.0  # saved and copied images at twice the screen size: sharp in documents and slides
_PALETTE_EVENTS = (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange)


def chart_colours(widget: QWidget) -> tuple[QColor, QColor]:
    """Background and foreground for a chart: the palette's base and text colours, so a
    chart reads well in a light and in a dark theme."""
    palette = widget.palette()
    return palette.color(QPalette.ColorRole.Base), palette.color(QPalette.ColorRole.Text)


def apply_palette(view: pg.PlotWidget, legend: Optional[pg.LegendItem] = None,
                  source: Optional[QWidget] = None) -> tuple[QColor, QColor]:
    """Colour a plot's background, axes, title and legend from the palette of ``source``
    (the widget that received the palette change; the plot itself by default)."""
    bg, fg = chart_colours(source or view)
    item = view.getPlotItem()
    if item is None:  # a closed chart (pyqtgraph drops its plot on close): nothing to colour
        return bg, fg
    view.setBackground(bg)
    for name in ("left", "bottom", "top", "right"):
        axis = item.getAxis(name)
        axis.setPen(fg)
        axis.setTextPen(fg)
    item.titleLabel.setAttr("color", fg.name())
    item.titleLabel.setText(item.titleLabel.text)
    if legend is not None:
        legend.setLabelTextColor(fg)
        legend.setBrush(QColor(bg.red(), bg.green(), bg.blue(), 200))
    return bg, fg


class ChartExport:
    """Copy and save for a chart widget: ``_export_view()`` names the plot to render."""

    def _export_view(self) -> pg.PlotWidget:
        raise NotImplementedError

    def chart_title(self) -> str:
        """The chart's title as shown (used for file names), or "chart"."""
        text = re.sub(r"<[^>]+>", "", self._export_view().getPlotItem().titleLabel.text or "")
        return text.strip() or "chart"

    def render_image(self, scale: float = PNG_SCALE) -> QImage:
        """The chart as an image through pyqtgraph's ImageExporter, on its own background."""
        from pyqtgraph.exporters import ImageExporter

        view = self._export_view()
        item = view.getPlotItem()
        exporter = ImageExporter(item)
        params = exporter.parameters()
        params["background"] = view.backgroundBrush().color()
        params["width"] = max(int(round(item.sceneBoundingRect().width() * scale)), 1)
        return exporter.export(toBytes=True)

    def render_svg(self) -> bytes:
        """The chart as SVG. pyqtgraph's SVGExporter fails on current Qt (its path parser
        expects "x,y" pairs, pyqtgraph issues 3485 and 3495), so Qt's own SVG generator
        draws the widget: vector paths and real text."""
        from PySide6.QtSvg import QSvgGenerator

        view = self._export_view()
        data = QByteArray()
        buffer = QBuffer(data)
        buffer.open(QIODevice.OpenModeFlag.WriteOnly)
        generator = QSvgGenerator()
        generator.setOutputDevice(buffer)
        generator.setSize(view.size())
        generator.setViewBox(QRect(QPoint(0, 0), view.size()))
        generator.setResolution(int(view.logicalDpiX()))  # otherwise axes and data disagree in scale
        generator.setTitle(self.chart_title())
        generator.setDescription("A chart from MLOps Desktop")
        painter = QPainter(generator)
        try:
            view.render(painter)
        finally:
            painter.end()
        buffer.close()
        return bytes(data.data())

    def copy_to_clipboard(self) -> QImage:
        """Put the chart on the clipboard as an image (paste it into a document or mail)."""
        image = self.render_image()
        QApplication.clipboard().setImage(image)
        return image

    def save_png(self, path: Path | str) -> Path:
        """Write the chart as a PNG file, atomically. Raises MlopsError when it cannot."""
        from .user_files import write_user_file

        image = self.render_image()

        def write(tmp: Path) -> None:
            if not image.save(str(tmp), "PNG"):
                raise OSError(f"the image could not be encoded to {tmp.name}")

        return write_user_file(path, write, what="the chart")

    def save_svg(self, path: Path | str) -> Path:
        """Write the chart as an SVG file, atomically. Raises MlopsError when it cannot."""
        from .user_files import write_user_file

        data = self.render_svg()
        return write_user_file(path, lambda tmp: tmp.write_bytes(data), what="the chart")

    def save_as(self, kind: str) -> Optional[Path]:
        """Ask where to save the chart as ``kind`` ("png" or "svg"), then save it."""
        from .errors import show_error

        widget: QWidget = self  # type: ignore[assignment]
        name = re.sub(r"[^\w\- .]+", "", self.chart_title()).strip() or "chart"
        filters = {"png": "PNG image (*.png)", "svg": "SVG drawing (*.svg)"}
        path, _ = QFileDialog.getSaveFileName(widget, f"Save the chart as {kind.upper()}",
                                              str(Path.home() / f"{name}.{kind}"), filters[kind])
        if not path:
            return None
        if not path.lower().endswith(f".{kind}"):
            path += f".{kind}"
        try:
            return self.save_png(path) if kind == "png" else self.save_svg(path)
        except Exception as exc:
            show_error(widget, "Cannot save the chart", exc)
            return None

    def context_menu(self) -> QMenu:
        """The right-click menu: copy, save as PNG, save as SVG."""
        widget: QWidget = self  # type: ignore[assignment]
        menu = QMenu(widget)
        menu.addAction("Copy chart", self.copy_to_clipboard)
        menu.addSeparator()
        menu.addAction("Save chart as PNG…", lambda: self.save_as("png"))
        menu.addAction("Save chart as SVG…", lambda: self.save_as("svg"))
        return menu

    def _show_menu(self, pos: QPoint) -> None:
        menu = self.context_menu()
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.last_menu = menu
        menu.popup(self._export_view().viewport().mapToGlobal(pos))  # pos is in viewport coordinates


class Chart(ChartExport, pg.PlotWidget):
    """A plot with a title and plain axes, cleared before each drawing."""

    #: the label of a scatter point that was clicked (see ``scatter(point_labels=)``)
    point_clicked = Signal(object)

    def __init__(self, title: str = "", parent: Optional[QWidget] = None) -> None:
        # enableMenu=False: pyqtgraph's own menu is never shown (ours replaces it), and
        # building it was half the time a chart took to make (a page builds several at once)
        super().__init__(parent, enableMenu=False)
        self.setMinimumHeight(120)
        self.setMinimumWidth(200)
        self.getPlotItem().setMenuEnabled(False)
        self.getPlotItem().hideButtons()
        self.setMouseEnabled(x=False, y=False)
        for axis in ("left", "bottom"):
            self.getPlotItem().getAxis(axis).enableAutoSIPrefix(False)  # no "(x0.001)" in labels
        self._title = title
        self.legend: Optional[pg.LegendItem] = None
        #: the axis ("bottom" or "left") that names categories, and their labels: the
        #: bottom axis shows as many as fit without overlapping, again on every resize
        self._categories: Optional[tuple[str, list[str]]] = None
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(self._show_menu)
        self._bg, self._fg = apply_palette(self)
        self._themed = True

    def _export_view(self) -> pg.PlotWidget:
        return self

    def apply_palette(self) -> None:
        """Re-colour the chart from the current palette (light or dark theme)."""
        self._bg, self._fg = apply_palette(self, self.legend)  # axis pens re-colour their labels too

    def changeEvent(self, event: QEvent) -> None:
        if event.type() in _PALETTE_EVENTS and self.__dict__.get("_themed"):  # not during __init__
            self.apply_palette()
        super().changeEvent(event)

    def _add_legend(self, offset: tuple[int, int] = (-10, 10)) -> pg.LegendItem:
        """A legend in a corner (top right unless ``offset`` says otherwise)."""
        self.legend = self.getPlotItem().addLegend(offset=offset, labelTextColor=self._fg)
        self.legend.setBrush(QColor(self._bg.red(), self._bg.green(), self._bg.blue(), 200))
        return self.legend

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        self._place_category_ticks()

    def _category_ticks(self, axis: str, labels: Sequence[Any], limit: int) -> None:
        """Name the categories along ``axis``, each cut to ``limit`` characters."""
        self._categories = (axis, [str(x) if len(str(x)) <= limit else str(x)[:limit - 1] + "…" for x in labels])
        self._place_category_ticks()

    def _place_category_ticks(self) -> None:
        if self.__dict__.get("_categories") is None:  # also while pyqtgraph builds the widget
            return
        axis, labels = self._categories
        step = 1
        if axis == "bottom" and labels:  # every k-th label, so that none overlaps the next
            room = max(self.getPlotItem().getViewBox().width(), 1.0)
            widest = max(self.fontMetrics().horizontalAdvance(x) for x in labels) + 10
            step = max(1, math.ceil(len(labels) * widest / room))
        self.getPlotItem().getAxis(axis).setTicks([[(i, x) for i, x in enumerate(labels) if i % step == 0]])

    def reset(self, title: str = "", x_label: str = "", y_label: str = "") -> None:
        self.clear()
        self._categories = None
        if self.legend is not None:
            self.legend.scene().removeItem(self.legend) if self.legend.scene() else None
            self.legend = None
            # the plot item keeps the legend it made and would hand back that removed one:
            # every chart after the first drew without a legend
            self.getPlotItem().legend = None
        item = self.getPlotItem()
        item.setTitle(title or self._title or None, color=self._fg.name())  # None: no empty title row
        item.setLabel("bottom", x_label, color=self._fg.name())
        item.setLabel("left", y_label, color=self._fg.name())
        item.getAxis("bottom").setTicks(None)
        item.getAxis("left").setTicks(None)
        item.invertY(False)
        item.enableAutoRange()  # a range fixed for the last drawing must not hold for this one

    def histogram(self, edges: Sequence[float], counts: Sequence[int], *, title: str = "",
                  x_label: str = "", marks: Sequence[tuple[float, str]] = ()) -> None:
        self.reset(title, x_label, "rows")
        if not counts:
            return
        edges = np.asarray(edges, dtype=float)
        self.addItem(pg.BarGraphItem(x0=edges[:-1], x1=edges[1:], height=np.asarray(counts, float),
                                     brush=BLUE, pen=pg.mkPen("w", width=0.5)))
        for value, label in marks:
            line = pg.InfiniteLine(pos=value, angle=90, pen=pg.mkPen("#b3261e", style=Qt.PenStyle.DashLine),
                                   label=label, labelOpts={"position": 0.92, "color": "#b3261e"})
            self.addItem(line)

    def overlay(self, edges: Sequence[float], reference: Sequence[float], current: Sequence[float], *,
                title: str = "", x_label: str = "", y_label: str = "share of rows") -> None:
        """Two distributions over the same bins, drawn see-through on top of each other."""
        self.reset(title, x_label, y_label)
        self._add_legend()
        e = np.asarray(edges, dtype=float)
        for name, values, colour in (("reference", reference, QColor(59, 110, 168, 110)),
                                     ("current", current, QColor(224, 123, 57, 110))):
            item = pg.BarGraphItem(x0=e[:-1], x1=e[1:], height=np.asarray(values, float), brush=colour,
                                   pen=pg.mkPen(colour.darker(150), width=1))
            self.addItem(item)
            self.legend.addItem(item, name)
        top = max([0.0, *[v for v in (*reference, *current) if v is not None]])
        self.setYRange(0, max(top, 1e-12), padding=0.05)

    def bars(self, labels: Sequence[str], values: Sequence[float], *, title: str = "",
             y_label: str = "rows", colours: Optional[Sequence[QColor]] = None,
             reference: Optional[float] = None, x_label: str = "",
             y_range: Optional[tuple[float, float]] = None, reference_label: str = "") -> None:
        """Vertical bars with the labels under them, thinned so that none overlaps (a
        timeline's periods, bins of dates); the y axis starts at zero."""
        self.reset(title, x_label, y_label)
        if not values:
            return
        x = np.arange(len(values))
        heights = np.asarray([np.nan if v is None else v for v in values], float)
        brushes = list(colours) if colours else [BLUE] * len(values)
        ok = np.isfinite(heights)  # a batch without the measure has no bar (not a zero one)
        self.addItem(pg.BarGraphItem(x=x[ok], height=heights[ok], width=0.7,
                                     brushes=[b for b, keep in zip(brushes, ok) if keep]))
        self._category_ticks("bottom", labels, 12)
        self.setXRange(-0.6, len(values) - 0.4, padding=0)
        if y_range is not None:
            self.setYRange(*y_range, padding=0.02)
        else:
            self.setYRange(0, max(float(np.nanmax(heights)) if ok.any() else 0.0, reference or 0.0, 1e-12),
                           padding=0.05)
        if reference is not None:
            self.addItem(pg.InfiniteLine(pos=reference, angle=0, label=reference_label or None,
                                         labelOpts={"position": 0.98, "color": "#b3261e", "anchors": [(1, 0), (1, 0)]},
                                         pen=pg.mkPen("#b3261e", style=Qt.PenStyle.DashLine)))

    def hbars(self, labels: Sequence[str], values: Sequence[float], *, title: str = "",
              x_label: str = "", reference: Optional[float] = None) -> None:
        """Horizontal bars, labels on the left: readable however long the labels are."""
        self.reset(title, x_label, "")
        if not values:
            return
        y = np.arange(len(values))
        self.addItem(pg.BarGraphItem(x0=np.zeros(len(values)), y=y, height=0.7,
                                     width=np.asarray(values, float), brush=BLUE))
        self._category_ticks("left", labels, 24)
        self.getPlotItem().invertY(True)
        if reference is not None:
            self.addItem(pg.InfiniteLine(pos=reference, angle=90,
                                         pen=pg.mkPen("#b3261e", style=Qt.PenStyle.DashLine)))

    def paired_hbars(self, labels: Sequence[str], series: dict[str, Sequence[Optional[float]]], *,
                     title: str = "", x_label: str = "share of rows") -> None:
        """Two or more series per category as horizontal bars side by side, with a legend
        (shares of each category in the reference and in the batch); the axis starts at
        zero, labels on the left never overlap."""
        self.reset(title, x_label, "")
        self._add_legend(offset=(-10, -10))  # bottom right: the smallest categories are there
        k = max(len(series), 1)
        height = 0.8 / k
        y = np.arange(len(labels), dtype=float)
        for i, (name, values) in enumerate(series.items()):
            v = np.asarray([0.0 if x is None else x for x in values], float)
            item = pg.BarGraphItem(x0=np.zeros(len(v)), y=y - 0.4 + height * (i + 0.5), height=height * 0.95,
                                   width=v, brush=PALETTE[i % len(PALETTE)])
            self.addItem(item)
            self.legend.addItem(item, str(name))
        self._category_ticks("left", labels, 24)
        self.getPlotItem().invertY(True)
        self.setYRange(-0.6, len(labels) - 0.4, padding=0)
        top = max((max((x or 0.0) for x in values) for values in series.values() if len(values)), default=0.0)
        self.setXRange(0, max(top, 1e-12) * 1.15, padding=0)  # room on the right for the legend

    def box(self, stats: dict[str, Any], *, title: str = "",
            x_range: Optional[tuple[float, float]] = None) -> None:
        """A horizontal box plot from quartiles, fences and extremes."""
        self.reset(title, "", "")
        q1, med, q3 = stats.get("q25"), stats.get("median"), stats.get("q75")
        if q1 is None or med is None or q3 is None:
            return
        lo_f, hi_f = stats.get("iqr_fences") or [q1, q3]
        lo = max(stats.get("min", lo_f), lo_f)
        hi = min(stats.get("max", hi_f), hi_f)
        pen = pg.mkPen(BLUE, width=2)
        self.addItem(pg.BarGraphItem(x0=[q1], x1=[q3], y0=[-0.25], height=[0.5],
                                     brush=QColor(59, 110, 168, 60), pen=pen))
        for x in (med,):
            self.addItem(pg.PlotDataItem([x, x], [-0.25, 0.25], pen=pg.mkPen("#b3261e", width=2)))
        self.addItem(pg.PlotDataItem([lo, q1], [0, 0], pen=pen))
        self.addItem(pg.PlotDataItem([q3, hi], [0, 0], pen=pen))
        for x in (lo, hi):
            self.addItem(pg.PlotDataItem([x, x], [-0.15, 0.15], pen=pen))
        extremes = [v for v in (stats.get("min"), stats.get("max")) if v is not None and (v < lo or v > hi)]
        if extremes:
            self.addItem(pg.ScatterPlotItem(extremes, [0] * len(extremes), size=6, brush="#b3261e"))
        self.getPlotItem().getAxis("left").setTicks([[]])
        self.setYRange(-0.6, 0.6, padding=0)
        if x_range is not None:
            self.setXRange(*x_range)

    def scatter(self, x: Sequence[float], y: Sequence[float], *, title: str = "", x_label: str = "",
                y_label: str = "", line: Optional[tuple[float, float, float, float]] = None,
                hline: Optional[float] = None, connect: bool = False,
                point_labels: Optional[Sequence[Any]] = None) -> None:
        """Points (``connect``: joined as a curve, e.g. ROC), a reference line, a zero line.
        With ``point_labels`` a click on a point emits ``point_clicked`` with its label."""
        self.reset(title, x_label, y_label)
        xs = np.asarray([np.nan if v is None else v for v in x], float)
        ys = np.asarray([np.nan if v is None else v for v in y], float)
        ok = np.isfinite(xs) & np.isfinite(ys)
        if connect:
            self.addItem(pg.PlotDataItem(xs[ok], ys[ok], pen=pg.mkPen(BLUE, width=2), symbol="o",
                                         symbolSize=4, symbolBrush=BLUE, symbolPen=None))
        else:
            data = None if point_labels is None else [l for l, keep in zip(point_labels, ok) if keep]
            points = pg.ScatterPlotItem(xs[ok], ys[ok], size=6 if data else 4, pen=None,
                                        brush=QColor(59, 110, 168, 110), data=data, hoverable=data is not None,
                                        hoverBrush=QColor("#b3261e") if data else None)
            if data is not None:
                points.sigClicked.connect(lambda _item, spots, _ev: spots and self.point_clicked.emit(spots[0].data()))
            self.addItem(points)
        if line is not None:
            self.addItem(pg.PlotDataItem([line[0], line[2]], [line[1], line[3]],
                                         pen=pg.mkPen("#b3261e", width=1.5, style=Qt.PenStyle.DashLine)))
        if hline is not None:
            self.addItem(pg.InfiniteLine(pos=hline, angle=0, pen=pg.mkPen("#b3261e", width=1.5)))

    def beeswarm(self, columns: Sequence[str], contributions: Sequence[Sequence[float]],
                 shades: Sequence[Sequence[Optional[float]]], *, title: str = "", x_label: str = "",
                 point_labels: Optional[Sequence[Sequence[Any]]] = None) -> None:
        """One band per column (the first at the top), one point per row at its
        contribution, spread across the band so that the points show how many there are;
        coloured by ``shades`` (0: the column's low values, blue; 1: its high ones, red;
        None: missing, grey). A click on a point emits ``point_clicked`` with its label."""
        self.reset(title, x_label, "")
        rng = np.random.default_rng(0)  # the same spread at every drawing
        for i, (xs, tones) in enumerate(zip(contributions, shades)):
            x = np.asarray(xs, dtype=float)
            if not len(x):
                continue
            # points spread more where they are many: the width of a band follows the density
            order = np.argsort(x)
            rank = np.empty(len(x))
            rank[order] = np.arange(len(x))
            span = max(float(x.max() - x.min()), 1e-12)
            bins = np.clip(((x - x.min()) / span * 40).astype(int), 0, 40)
            crowd = np.bincount(bins, minlength=41)[bins] / max(len(x), 1)
            y = i + (rng.random(len(x)) - 0.5) * np.minimum(0.8, 0.15 + 6 * crowd)
            brushes = [QColor(150, 150, 150, 160) if t is None else
                       QColor(int(59 + (179 - 59) * t), int(110 + (38 - 110) * t), int(168 + (30 - 168) * t), 170)
                       for t in tones]
            data = None if point_labels is None else list(point_labels[i])
            points = pg.ScatterPlotItem(x, y, size=5, pen=None, brush=brushes, data=data, hoverable=data is not None,
                                        hoverBrush=QColor("#222") if data is not None else None)
            if data is not None:
                points.sigClicked.connect(lambda _item, spots, _ev: spots and self.point_clicked.emit(spots[0].data()))
            self.addItem(points)
        self.addItem(pg.InfiniteLine(pos=0.0, angle=90, pen=pg.mkPen("#888", style=Qt.PenStyle.DashLine)))
        self._category_ticks("left", columns, 24)
        self.getPlotItem().invertY(True)
        self.setYRange(-0.6, len(columns) - 0.4, padding=0)

    def waterfall(self, names: Sequence[str], contributions: Sequence[float], base: float, *, title: str = "",
                  x_label: str = "") -> None:
        """From the base value to the score: one bar per name (the first at the top), each
        starting where the one above ended; red where it raises the score, blue where it
        lowers it; dashed lines at the base value and at the score (the title says both)."""
        self.reset(title, x_label, "")
        c = np.asarray(contributions, dtype=float)
        ends = base + np.cumsum(c)
        starts = ends - c
        up = c >= 0
        for keep, colour in ((up, QColor("#b3261e")), (~up, QColor(59, 110, 168))):
            if keep.any():
                y = np.flatnonzero(keep)
                self.addItem(pg.BarGraphItem(x0=np.minimum(starts, ends)[keep], x1=np.maximum(starts, ends)[keep],
                                             y=y, height=0.6, brush=colour, pen=pg.mkPen(colour.darker(130))))
        for where in (base, float(ends[-1]) if len(ends) else base):
            self.addItem(pg.InfiniteLine(pos=where, angle=90, pen=pg.mkPen("#666", style=Qt.PenStyle.DashLine)))
        self._category_ticks("left", names, 32)
        self.getPlotItem().invertY(True)
        self.setYRange(-0.8, len(names) - 0.2, padding=0)

    def lines(self, x: Sequence[float], series: dict[str, Sequence[float]], *, title: str = "",
              x_label: str = "", y_label: str = "", from_zero: bool = False) -> None:
        """One line per series, with a legend (a feature's distribution per class, partial
        dependence); ``from_zero`` for shares, so that a small difference looks small."""
        self.reset(title, x_label, y_label)
        self._add_legend()
        top = 0.0
        for i, (name, values) in enumerate(series.items()):
            ys = [np.nan if v is None else v for v in values]
            self.plot(list(x), ys, pen=pg.mkPen(PALETTE[i % len(PALETTE)], width=2), name=str(name))
            finite = [v for v in ys if np.isfinite(v)]
            top = max([top, *finite])
        if from_zero:
            self.setYRange(0, max(top, 1e-12), padding=0.05)

    def band_lines(self, series: Sequence[dict[str, Any]], *, title: str = "", x_label: str = "",
                   y_label: str = "", diagonal: bool = False, hline: Optional[float] = None,
                   emphasis: Optional[str] = None) -> None:
        """Lines over each other, each with a shaded band (an interval the core computed):
        ``series`` items hold name, x, y, low and high. ``emphasis`` names the series drawn
        thicker (the one selected elsewhere); ``diagonal`` adds the line y = x."""
        self.reset(title, x_label, y_label)
        legend = self._add_legend()
        if diagonal:  # a ROC chart: its lower right is empty, the legend goes there
            legend.anchor((1, 1), (1, 1), offset=(-10, -10))
            self.addItem(pg.PlotDataItem([0, 1], [0, 1], pen=pg.mkPen("#888", width=1, style=Qt.PenStyle.DashLine)))
        if hline is not None:
            self.addItem(pg.InfiniteLine(pos=hline, angle=0, pen=pg.mkPen("#888", width=1)))
        for i, s in enumerate(series):
            colour = PALETTE[i % len(PALETTE)]
            x = np.asarray([np.nan if v is None else v for v in s["x"]], float)
            low = np.asarray([np.nan if v is None else v for v in s["low"]], float)
            high = np.asarray([np.nan if v is None else v for v in s["high"]], float)
            ok = np.isfinite(x) & np.isfinite(low) & np.isfinite(high)
            if ok.sum() >= 2:
                shade = QColor(colour)
                shade.setAlpha(45)
                lower, upper = pg.PlotCurveItem(x[ok], low[ok]), pg.PlotCurveItem(x[ok], high[ok])
                self.addItem(pg.FillBetweenItem(lower, upper, brush=shade))
            y = np.asarray([np.nan if v is None else v for v in s["y"]], float)
            ok = np.isfinite(x) & np.isfinite(y)
            width = 3.5 if s["name"] == emphasis else 2
            line = pg.PlotDataItem(x[ok], y[ok], pen=pg.mkPen(colour, width=width), name=str(s["name"]))
            self.addItem(line)

    def stacked(self, labels: Sequence[str], series: dict[str, Sequence[float]], *, title: str = "",
                y_label: str = "share") -> None:
        """Stacked bars: per category, the share of each class."""
        self.reset(title, "", y_label)
        self._add_legend()
        x = np.arange(len(labels))
        bottom = np.zeros(len(labels))
        for i, (name, values) in enumerate(series.items()):
            v = np.asarray(values, float)
            item = pg.BarGraphItem(x=x, y0=bottom, height=v, width=0.7,
                                   brush=PALETTE[i % len(PALETTE)], name=str(name))
            self.addItem(item)
            self.legend.addItem(item, str(name))
            bottom = bottom + v
        self._category_ticks("bottom", labels, 10)


class Heatmap(ChartExport, QWidget):
    """A correlation matrix as coloured cells, with the pair and value under the mouse."""

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.plot = pg.PlotWidget(enableMenu=False)  # as Chart: ours is the menu
        self.plot.getPlotItem().setMenuEnabled(False)
        self.plot.getPlotItem().hideButtons()
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.getPlotItem().invertY(True)
        self.image = pg.ImageItem()
        self.plot.addItem(self.image)
        self.hover = QLabel("Point at a cell to see the pair and its value.")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.hover)
        self.rows: list[str] = []
        self.cols: list[str] = []
        self.values = np.zeros((0, 0))
        self._labels: list[pg.TextItem] = []
        self.plot.scene().sigMouseMoved.connect(self._moved)
        cmap = pg.ColorMap([-1.0, 0.0, 1.0], [(179, 38, 30), (250, 250, 250), (59, 110, 168)])
        self.image.setLookupTable(cmap.getLookupTable(-1.0, 1.0, 256))
        self.image.setLevels((-1, 1))
        self.plot.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.plot.customContextMenuRequested.connect(self._show_menu)
        apply_palette(self.plot, source=self)
        self._themed = True

    def _export_view(self) -> pg.PlotWidget:
        return self.plot

    def chart_title(self) -> str:
        return "correlations"

    def apply_palette(self) -> None:
        """Re-colour the axes and background from the current palette; the cells keep
        their own colour scale."""
        apply_palette(self.plot, source=self)  # the inner plot may not have its new palette yet

    def changeEvent(self, event: QEvent) -> None:
        if event.type() in _PALETTE_EVENTS and self.__dict__.get("_themed"):  # not during __init__
            self.apply_palette()
        super().changeEvent(event)

    def set_matrix(self, rows: Sequence[str], cols: Sequence[str],
                   matrix: Sequence[Sequence[Optional[float]]]) -> None:
        self.rows, self.cols = list(rows), list(cols)
        for label in self._labels:
            self.plot.removeItem(label)
        self._labels = []
        if not self.rows or not self.cols:
            self.values = np.zeros((0, 0))
            self.image.clear()
            self.hover.setText("Not enough columns of this kind for this measure.")
            return
        self.hover.setText("Point at a cell to see the pair and its value.")
        self.values = np.array([[np.nan if v is None else v for v in r] for r in matrix], float)
        # ImageItem is indexed [x, y]: columns along x, rows along y
        self.image.setImage(np.nan_to_num(self.values.T, nan=0.0), levels=(-1, 1))
        bottom = self.plot.getPlotItem().getAxis("bottom")
        left = self.plot.getPlotItem().getAxis("left")
        bottom.setTicks([[(i + 0.5, c[:8]) for i, c in enumerate(self.cols)]])
        left.setTicks([[(i + 0.5, r[:14]) for i, r in enumerate(self.rows)]])
        self.plot.setXRange(0, max(len(self.cols), 1), padding=0)
        self.plot.setYRange(0, max(len(self.rows), 1), padding=0)
        if len(self.rows) * len(self.cols) <= 256:  # values in the cells while they stay legible
            for r in range(len(self.rows)):
                for c in range(len(self.cols)):
                    v = self.value_at(c, r)
                    if v is None:
                        continue
                    label = pg.TextItem(numbers.fixed(v, 2), color="w" if abs(v) > 0.6 else "#333",
                                        anchor=(0.5, 0.5))
                    label.setPos(c + 0.5, r + 0.5)
                    self.plot.addItem(label)
                    self._labels.append(label)

    def value_at(self, col: int, row: int) -> Optional[float]:
        v = self.values[row, col]
        return None if np.isnan(v) else float(v)

    def _moved(self, pos: Any) -> None:
        if not self.rows:
            return
        p = self.plot.getPlotItem().vb.mapSceneToView(pos)
        col, row = int(np.floor(p.x())), int(np.floor(p.y()))
        if 0 <= row < len(self.rows) and 0 <= col < len(self.cols):
            self.hover.setText(self.describe(col, row))

    def describe(self, col: int, row: int) -> str:
        v = self.value_at(col, row)
        shown = "not defined" if v is None else numbers.value(v)
        return f"{self.rows[row]} × {self.cols[col]}: {shown}"


def sparkline_painter(painter: QPainter, rect: Any, counts: Sequence[float]) -> None:
    """Draw a tiny histogram or bar chart inside a table cell."""
    if not counts:
        return
    top = max(counts) or 1
    n = len(counts)
    w = (rect.width() - 4) / n
    painter.save()
    painter.setPen(QPen(Qt.PenStyle.NoPen))
    painter.setBrush(BLUE)
    for i, c in enumerate(counts):
        h = (rect.height() - 6) * c / top
        painter.drawRect(int(rect.x() + 2 + i * w), int(rect.bottom() - 3 - h), max(int(w) - 1, 1), int(h))
    painter.restore()
