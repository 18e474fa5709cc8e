"""The Data page pages through a snapshot larger than memory instead of loading it: the
rows a view shows are read a row group at a time off the UI thread, the grid shows the
snapshot's values wherever it is scrolled, a few row groups are kept, and scrolling
across the table never pauses the UI (the UI-pause measurement of test_responsiveness,
stretched by the machine's slowdown). Checked on a table that fits, with the size limit
lowered."""

from __future__ import annotations

import time

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from mlops_desktop.core.data import on_disk, streaming
from mlops_desktop.gui.paged_table_model import KEPT_GROUPS, LOADING

from .conftest import screenshot, wait_jobs
from .pauses import RUNS, GapMeter, assert_responsive, machine_slowdown

ROWS = 400_000


def test_a_large_snapshot_is_paged_and_scrolls_without_a_pause(window, qtbot, tmp_path, monkeypatch):
    rng = np.random.default_rng(11)
    table = pa.table({"id": np.arange(ROWS), "amount": rng.lognormal(3, 1, ROWS).round(2),
                      "shop": rng.choice(["north", "south", "east"], ROWS)})
    path = tmp_path / "big.parquet"
    pq.write_table(table, path)
    monkeypatch.setattr(streaming, "STREAM_ABOVE_BYTES", 0)
    monkeypatch.setattr(streaming, "BATCH_ROWS", 50_000)  # row groups of 50,000 rows
    monkeypatch.setattr(on_disk, "OUT_OF_CORE_BYTES", 0)
    page = window.page("Data")
    window.go_to("Data")
    page.start_import(str(path), None, "big")
    wait_jobs(qtbot, window, timeout_s=120)
    qtbot.waitUntil(lambda: page.preview_model is page.disk_model and page.disk_model.rowCount() == ROWS,
                    timeout=30_000)
    model = page.disk_model
    assert page.preview.model() is model and model.table is None  # nothing loaded whole
    assert len(model.on_disk.row_groups) == 8

    def shown(row: int, column: int) -> str:
        return model.data(model.index(row, column))

    pauses, slowdowns = [], []
    for run, row in enumerate((0, ROWS - 1, ROWS // 2)[:RUNS]):
        meter = GapMeter()
        meter.start()
        page.preview.scrollTo(model.index(row, 0))
        shown(row, 0)  # asks for the row group if the view has not yet
        qtbot.waitUntil(lambda: shown(row, 0) != LOADING, timeout=10_000)
        meter.stop()
        pauses.append(meter.max_gap_ms)
        slowdowns.append(machine_slowdown())
        assert shown(row, 0) == str(row)
        assert shown(row, 2) == table.column("shop")[row].as_py()
        if run == 0:
            time.sleep(0.1)
            qtbot.wait(100)
            screenshot(window, "data_page_paged")
    assert_responsive(pauses, slowdowns)
    assert len(model._kept) <= KEPT_GROUPS
    # exported whole, a row group at a time, as a job of the main window (its status bar
    # shows the progress and a Cancel button)
    import pyarrow.csv as pacsv
    from PySide6.QtWidgets import QFileDialog

    from mlops_desktop.gui.table_actions import TableActions

    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a: (str(tmp_path / "big.csv"), "")))
    page.preview.findChild(TableActions).ask_export()
    assert "Exporting the table to big.csv" in [job.title for job in window.runner.jobs]
    wait_jobs(qtbot, window, timeout_s=120)
    back = pacsv.read_csv(tmp_path / "big.csv")
    assert back.column("id").to_pylist() == table.column("id").to_pylist()
    assert back.column("shop").to_pylist() == table.column("shop").to_pylist()
