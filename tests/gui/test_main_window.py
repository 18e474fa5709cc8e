"""The app shell and the Data page, driven through their widgets."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtWidgets import QApplication, QComboBox

from .conftest import message_boxes, screenshot, wait_jobs


def test_text_renders_with_real_glyphs(qapp):
    # Missing fonts draw every glyph as a box without any error: check for real glyphs.
    metrics = QFontMetrics(QApplication.font())
    assert metrics.inFont("A")
    assert all(metrics.inFontUcs4(ord(ch)) for ch in "é€→×")  # used in our labels
    assert QFontMetrics(QFont(QApplication.font().family())).horizontalAdvance("MLOps") > 10


def test_navigation_lists_flow_pages_in_order(window):
    titles = [window.nav.item(i).text() for i in range(window.nav.count())]
    assert titles == ["1. Workspace", "2. Data", "3. Explore", "4. Check", "5. Train", "6. Validate", "7. Registry",
                      "8. Monitor", "9. Export"]
    window.nav.setCurrentRow(0)
    assert window.stack.currentWidget() is window.page("Workspace")
    assert str(window.state.workspace.root) in window.workspace_label.text()
    screenshot(window, "workspace_page")


def test_empty_data_page_offers_sample_and_import(window):
    page = window.page("Data")
    assert page.stack.currentWidget() is page.empty
    assert set(page.empty.buttons) == {"Open a sample dataset", "Import a file…"}
    screenshot(window, "data_page_empty")


def test_open_sample_imports_previews_and_records(window, qtbot):
    page = window.page("Data")
    page.empty.buttons["Open a sample dataset"].click()
    wait_jobs(qtbot, window)
    assert page.list.count() == 1
    ds = window.state.workspace.datasets()[0]
    assert (ds.name, ds.n_rows, ds.n_columns) == ("penguins", 344, 8)
    qtbot.waitUntil(lambda: page.preview_model.rowCount() == 344, timeout=10_000)
    assert page.preview_model.columnCount() == 8
    assert page.preview_model.headerData(0, Qt.Orientation.Horizontal) == "species"
    assert page.preview_model.data(page.preview_model.index(0, 0)) == "Adelie"
    screenshot(window, "data_page_preview")
    page.tabs.setCurrentIndex(1)
    screenshot(window, "data_page_columns")
    page.tabs.setCurrentIndex(2)
    assert ds.fingerprint in [page.details_form.itemAt(i).widget().text()
                              for i in range(page.details_form.count())
                              if page.details_form.itemAt(i).widget() is not None]
    screenshot(window, "data_page_details")


def test_role_change_in_columns_editor_is_recorded(window, qtbot):
    page = window.page("Data")
    page.open_sample()
    wait_jobs(qtbot, window)
    role_combo: QComboBox = page.columns_table.cellWidget(0, 2)
    role_combo.setCurrentText("target")
    ws = window.state.workspace
    assert ws.dataset("penguins").target == "species"
    kind_combo: QComboBox = page.columns_table.cellWidget(7, 1)  # year
    kind_combo.setCurrentText("categorical")
    assert ws.dataset("penguins").column("year").kind == "categorical"
    summaries = [e.summary for e in ws.audit_entries(entity_type="dataset")]
    assert any("role feature → target" in s for s in summaries)
    assert any("type numeric → categorical" in s for s in summaries)
    assert page.history.rowCount() == 3
    assert "target: species" in page.summary_label.text()


def test_import_dialog_detects_options_and_imports(window, qtbot, tmp_path: Path):
    csv = tmp_path / "prices.csv"
    csv.write_bytes("product;price;when\nKäse;1,5;2024-01-02\nBrot;2,25;2024-01-03\n".encode("cp1252"))
    page = window.page("Data")
    page.import_file(str(csv))
    dialog = page.last_dialog
    qtbot.waitUntil(lambda: dialog.model.rowCount() == 2, timeout=10_000)
    assert "semicolon" in dialog.status.text() and "cp1252" in dialog.status.text()
    assert dialog.model.data(dialog.model.index(0, 1)) == "1.5"
    screenshot(dialog, "import_dialog")
    dialog.name_edit.setText("prices")
    dialog.accept()
    wait_jobs(qtbot, window)
    ds = window.state.workspace.dataset("prices")
    assert ds.options["decimal"] == "," and ds.options["encoding"] == "cp1252"
    assert [c.kind for c in ds.columns] == ["categorical", "numeric", "datetime"] or \
        [c.name for c in ds.columns] == ["product", "price", "when"]


def test_bad_file_shows_readable_error_and_changes_nothing(window, qtbot, tmp_path: Path):
    bad = tmp_path / "ragged.csv"
    bad.write_text("a,b\n1,2\n3,4,5\n")
    ws = window.state.workspace
    before = len(ws.audit_entries())
    window.page("Data").start_import(str(bad), None, None)
    wait_jobs(qtbot, window)
    qtbot.waitUntil(lambda: len(message_boxes()) == 1, timeout=5_000)
    box = message_boxes()[0]
    assert "line 3" in box.text() and "ragged.csv" in box.text()
    assert box.detailedText() == ""  # a user error: no traceback
    screenshot(box, "error_dialog")
    box.close()
    assert len(ws.audit_entries()) == before
    assert ws.datasets() == []
    assert list((ws.root / "snapshots").iterdir()) == []


def test_preview_formats_only_visible_cells(qtbot):
    import pyarrow as pa
    from PySide6.QtWidgets import QTableView

    from mlops_desktop.gui.table_model import ArrowTableModel

    n = 1_000_000
    table = pa.table({"x": pa.array(range(n)), "label": pa.array([f"r{i % 97}" for i in range(n)])})
    requested: set[int] = set()

    class Counting(ArrowTableModel):
        def data(self, index, role=Qt.ItemDataRole.DisplayRole):
            if role == Qt.ItemDataRole.DisplayRole:
                requested.add(index.row())
            return super().data(index, role)

    model = Counting(table)
    view = QTableView()
    qtbot.addWidget(view)
    view.setModel(model)
    view.resize(600, 400)
    view.show()
    qtbot.waitExposed(view)
    view.scrollTo(model.index(500_000, 0))
    qtbot.wait(50)
    assert model.rowCount() == n
    assert 0 < len(requested) < 200
    assert any(abs(r - 500_000) < 100 for r in requested)
    assert model.data(model.index(500_000, 0)) == "500000"


def test_about_and_settings_dialogs(window, qtbot):
    window.open_settings()
    from mlops_desktop.gui.settings_dialog import SettingsDialog

    dialog = next(w for w in QApplication.topLevelWidgets() if isinstance(w, SettingsDialog))
    dialog.name_edit.setText("Ada Analyst")
    screenshot(dialog, "settings_dialog")
    dialog.accept()
    assert window.state.actor == "Ada Analyst"
    window.page("Data").open_sample()
    wait_jobs(qtbot, window)
    assert window.state.workspace.audit_entries(limit=1)[0].actor == "Ada Analyst"


def test_dropping_a_file_opens_the_import_dialog(window, qtbot, tmp_path: Path):
    from PySide6.QtCore import QMimeData, QPoint, QUrl
    from PySide6.QtGui import QDropEvent

    csv = tmp_path / "dropped.tsv"
    csv.write_text("a\tb\n1\tx\n2\ty\n")
    window.go_to("Workspace")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(csv))])
    event = QDropEvent(QPoint(400, 300), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)
    dialog = window.page("Data").last_dialog
    assert window.stack.currentWidget() is window.page("Data")
    assert dialog.path == csv
    qtbot.waitUntil(lambda: dialog.model.rowCount() == 2, timeout=10_000)
    assert "tab" in dialog.status.text()
    dialog.reject()


def test_import_dialog_offers_excel_sheets(window, qtbot, tmp_path: Path):
    import pandas as pd

    book = tmp_path / "book.xlsx"
    with pd.ExcelWriter(book) as writer:
        pd.DataFrame({"a": [1, 2]}).to_excel(writer, sheet_name="first", index=False)
        pd.DataFrame({"b": ["x", "y", "z"], "c": [1.5, 2.5, 3.5]}).to_excel(
            writer, sheet_name="second", index=False)
    page = window.page("Data")
    page.import_file(str(book))
    dialog = page.last_dialog
    assert [dialog.sheet.itemText(i) for i in range(dialog.sheet.count())] == ["first", "second"]
    assert dialog.sheet.isVisible() and not dialog.delimiter.isVisible()
    dialog.sheet.setCurrentText("second")
    qtbot.waitUntil(lambda: dialog.model.rowCount() == 3, timeout=10_000)
    screenshot(dialog, "import_dialog_excel")
    dialog.accept()
    wait_jobs(qtbot, window)
    ds = window.state.workspace.datasets()[0]
    assert (ds.name, ds.n_rows, ds.options["sheet"]) == ("book - second", 3, "second")
