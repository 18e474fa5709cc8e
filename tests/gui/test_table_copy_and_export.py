"""Tables copy their selection as tab-separated text (Ctrl+C, right-click) and export
every row as CSV; the big Arrow grid does both from the Arrow table itself."""

from __future__ import annotations

import csv
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pytest
from PySide6.QtCore import QItemSelection, QItemSelectionModel, QPoint, Qt
from PySide6.QtGui import QContextMenuEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QFileDialog, QTableView

from .conftest import message_boxes, screenshot, wait_jobs


@pytest.fixture
def table(qtbot):
    from mlops_desktop.gui.tables import fill_table, make_table

    t = make_table(["Name", "Value", "Share"], name="values")
    fill_table(t, [["Käse", 1234.5678, None], ["tab\there", 2, 0.000012345], ["plain", -7, 1.0]])
    qtbot.addWidget(t)
    t.resize(500, 300)
    t.show()
    qtbot.waitExposed(t)
    return t


def _read_csv(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.reader(fh))


def test_ctrl_c_copies_the_selected_rows_with_full_values(table):
    assert table.item(0, 1).text() == "1,235"  # shown rounded, with a separator
    table.selectRow(0)
    QApplication.clipboard().clear()
    QTest.keyClick(table, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert QApplication.clipboard().text() == "Käse\t1234.5678\t\n"  # full value; missing is empty
    table.selectAll()
    QTest.keyClick(table, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert QApplication.clipboard().text().splitlines() == [
        "Käse\t1234.5678\t", '"tab\there"\t2\t1.2345e-05', "plain\t-7\t1.0"]


def test_copy_with_column_names_and_a_block_of_cells(table):
    from mlops_desktop.gui.table_actions import copy_selection

    table.clearSelection()
    model = table.model()
    selection = QItemSelection(model.index(1, 1), model.index(2, 2))
    table.selectionModel().select(selection, QItemSelectionModel.SelectionFlag.ClearAndSelect)
    assert copy_selection(table, headers=True) == "Value\tShare\n2\t1.2345e-05\n-7\t1.0\n"
    assert QApplication.clipboard().text() == "Value\tShare\n2\t1.2345e-05\n-7\t1.0\n"


def test_export_csv_writes_every_row_atomically(table, tmp_path: Path):
    from mlops_desktop.gui.table_export import export_csv

    table.selectRow(0)  # the selection does not limit the export
    path = export_csv(table, tmp_path / "values.csv")
    assert path.read_bytes()[:3] == b"\xef\xbb\xbf"  # a BOM: spreadsheets read "Käse" right
    assert _read_csv(path) == [["Name", "Value", "Share"], ["Käse", "1234.5678", ""],
                               ["tab\there", "2", "1.2345e-05"], ["plain", "-7", "1.0"]]
    assert [p.name for p in tmp_path.iterdir()] == ["values.csv"]


def test_right_click_menu_offers_copy_select_all_and_export(table, qtbot, tmp_path: Path, monkeypatch):
    event = QContextMenuEvent(QContextMenuEvent.Reason.Mouse, QPoint(20, 20),
                              table.viewport().mapToGlobal(QPoint(20, 20)))
    QApplication.sendEvent(table.viewport(), event)
    from mlops_desktop.gui.table_actions import TableActions

    menu = table.findChild(TableActions).last_menu
    assert menu.isVisible()
    texts = [a.text() for a in menu.actions() if not a.isSeparator()]
    assert texts == ["Copy", "Copy with column names", "Select all", "Export as CSV… (3 rows)"]
    screenshot(menu, "polish_table_menu")
    suggested = []
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(
        lambda parent, caption, directory, filters: (suggested.append(directory) or str(tmp_path / "out"), filters)))
    by_text = {a.text(): a for a in menu.actions()}
    by_text["Select all"].trigger()
    assert len(table.selectionModel().selectedRows()) == 3
    by_text["Export as CSV… (3 rows)"].trigger()
    menu.close()
    assert suggested[0].endswith("values.csv")
    qtbot.waitUntil((tmp_path / "out.csv").exists)  # written off the UI thread
    assert _read_csv(tmp_path / "out.csv")[0] == ["Name", "Value", "Share"]


def test_export_to_a_missing_folder_shows_a_readable_error(table, qtbot, tmp_path: Path, monkeypatch):
    from mlops_desktop.gui.table_actions import TableActions

    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(
        lambda *a: (str(tmp_path / "gone" / "x.csv"), "")))
    table.findChild(TableActions).ask_export()
    qtbot.waitUntil(lambda: bool(message_boxes()))  # the job's error, shown when it ends
    box = message_boxes()[-1]
    assert "does not exist" in box.text() and box.detailedText() == ""
    box.close()


@pytest.fixture
def grid(qtbot):
    from mlops_desktop.gui.table_model import ArrowTableModel
    from mlops_desktop.gui.table_actions import add_table_actions

    n = 200_000
    data = pa.table({"id": pa.array(range(n)),
                     "x": pa.array([i / 8 if i % 50 else None for i in range(n)], pa.float64()),
                     "label": pa.array([f"r{i % 97}, ok" for i in range(n)])})
    model = ArrowTableModel(data)
    view = QTableView()
    view.setModel(model)
    add_table_actions(view, "grid")
    qtbot.addWidget(view)
    view.resize(500, 300)
    view.show()
    qtbot.waitExposed(view)
    return view, data


def test_arrow_grid_copies_a_block_from_the_arrow_table(grid):
    view, _data = grid
    model = view.model()
    view.selectionModel().select(QItemSelection(model.index(49, 0), model.index(51, 2)),
                                 QItemSelectionModel.SelectionFlag.ClearAndSelect)
    QTest.keyClick(view, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    # row 50 has a missing x: an empty cell, not the grid's dash; commas stay inside the cell
    assert QApplication.clipboard().text() == "49\t6.125\tr49, ok\n50\t\tr50, ok\n51\t6.375\tr51, ok\n"
    from mlops_desktop.gui.table_actions import copy_selection

    assert copy_selection(view, headers=True).splitlines()[0] == "id\tx\tlabel"


def test_arrow_grid_exports_all_rows_with_pyarrow(grid, tmp_path: Path):
    from mlops_desktop.gui.table_export import export_csv

    view, data = grid
    path = export_csv(view, tmp_path / "grid.csv")
    assert path.read_bytes()[:3] == b"\xef\xbb\xbf"
    back = pacsv.read_csv(path)  # pyarrow skips the BOM
    assert back.num_rows == data.num_rows
    assert back.column("id").to_pylist() == data.column("id").to_pylist()
    assert back.column("x").null_count == data.column("x").null_count
    assert back.column("label").to_pylist()[:3] == ["r0, ok", "r1, ok", "r2, ok"]
    assert [p.name for p in tmp_path.iterdir()] == ["grid.csv"]


def test_copying_more_than_the_clipboard_takes_asks_for_export_instead(grid, monkeypatch):
    from mlops_desktop.gui import table_actions

    view, data = grid
    monkeypatch.setattr(table_actions, "COPY_CELL_LIMIT", 500_000)
    assert data.num_rows * data.num_columns > table_actions.COPY_CELL_LIMIT
    QApplication.clipboard().setText("before")
    view.selectAll()
    QTest.keyClick(view, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert QApplication.clipboard().text() == "before"
    box = message_boxes()[-1]
    assert "Export as CSV" in box.text()
    box.close()


def test_every_table_on_every_page_has_copy_and_export(window, qtbot):
    from mlops_desktop.gui.table_actions import TableActions

    window.page("Data").open_sample()
    wait_jobs(qtbot, window)
    missing = []
    for page in window.pages:
        if hasattr(page, "ensure_built"):
            page.ensure_built()
        for view in page.findChildren(QTableView):
            if view.findChild(TableActions) is None:
                missing.append(f"{page.title}: {view.model().headerData(0, Qt.Orientation.Horizontal)}")
    assert missing == []
    preview = window.page("Data").preview
    qtbot.waitUntil(lambda: preview.model().rowCount() == 344, timeout=10_000)
    preview.selectRow(0)
    preview.setFocus()
    QTest.keyClick(preview, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert QApplication.clipboard().text().startswith("Adelie\tTorgersen\t39.1\t18.7\t181")


def test_a_large_export_runs_as_a_job_with_progress_and_cancel(grid, qtbot, tmp_path: Path, monkeypatch):
    """Exporting the grid runs on the job runner (the UI thread only asks for the file
    name), reports its progress batch by batch, and a cancelled export leaves no file."""
    import threading

    from mlops_desktop.core.errors import JobCancelled
    from mlops_desktop.core.jobs import CancelToken
    from mlops_desktop.gui import table_export
    from mlops_desktop.gui.table_actions import TableActions

    view, data = grid
    threads, real = [], table_export.write_batches
    monkeypatch.setattr(table_export, "write_batches",
                        lambda *a, **k: threads.append(threading.current_thread()) or real(*a, **k))
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a: (str(tmp_path / "all"), "")))
    assert view.findChild(TableActions).ask_export() == tmp_path / "all.csv"
    runner = table_export._runner_for(view)
    assert [job.title for job in runner.jobs] == ["Exporting the table to all.csv"]  # shown with a Cancel button
    qtbot.waitUntil(lambda: not runner.jobs, timeout=30_000)
    assert threads and threads[0] is not threading.main_thread()
    assert pacsv.read_csv(tmp_path / "all.csv").num_rows == data.num_rows
    seen = []
    table_export.csv_job(view, tmp_path / "again.csv")(lambda f, m: seen.append(f), CancelToken())
    assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) == 4  # 200,000 rows, 65,536 a batch
    cancelled = CancelToken()
    cancelled.cancel()
    with pytest.raises(JobCancelled):
        table_export.csv_job(view, tmp_path / "never.csv")(lambda f, m: None, cancelled)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["again.csv", "all.csv"]  # no part of never.csv
