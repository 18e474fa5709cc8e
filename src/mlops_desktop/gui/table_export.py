"""Exporting a table on screen to a CSV file, as a job off the UI thread with progress and
cancel (a snapshot of millions of rows takes a while to write).

What to write is taken on the UI thread when the export starts (a Qt model is read only
there): the Arrow grids hand over their table's record batches, other tables their cells'
full values. The file is written through a temporary name, so it is whole or absent
(a cancelled export leaves nothing); UTF-8 with a byte-order mark, so spreadsheets read
accents right; text a spreadsheet would run as a formula is neutralised
(``mlops_model_support.spreadsheet``).
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Callable, Iterable, Optional

import pyarrow as pa
from mlops_model_support.spreadsheet import neutralise_cells, neutralise_table
from PySide6.QtWidgets import QAbstractItemView, QApplication, QWidget

from ..core.jobs import CancelToken, ProgressCallback, no_progress
from .jobs import Job, JobFunction, JobRunner
from .table_actions import cell_value, column_names, plain_text
from .user_files import write_user_file

def write_batches(path: Path, batches: Iterable[pa.RecordBatch], rows: int,
                  progress: ProgressCallback = no_progress, cancel: Optional[CancelToken] = None) -> None:
    """Write record batches to ``path`` as CSV with pyarrow's writer (BOM first, formulas
    neutralised), reporting the share of ``rows`` written."""
    import pyarrow.csv as pacsv

    done = 0
    with open(path, "wb") as fh:
        fh.write("\ufeff".encode("utf-8"))
        writer = None
        for batch in batches:
            if cancel is not None:
                cancel.check()
            part = neutralise_table(pa.Table.from_batches([batch]))
            if writer is None:
                writer = pacsv.CSVWriter(fh, part.schema)
            writer.write_table(part)
            done += batch.num_rows
            progress(done / rows if rows else 1.0, f"Exporting {done:,} of {rows:,} rows")
        if writer is not None:
            writer.close()


def csv_job(view: QAbstractItemView, path: Path | str) -> JobFunction:
    """The job that writes every row of ``view``'s table to ``path`` (the selection does
    not limit it); call on the UI thread, run anywhere."""
    source = getattr(view.model(), "csv_source", None)
    if source is not None:
        batches, rows = source()

        def write(tmp: Path, progress: ProgressCallback, cancel: CancelToken) -> None:
            write_batches(tmp, batches(), rows, progress, cancel)
    else:  # a small table of cells: their full values, not the rounded text
        model = view.model()
        names = column_names(view)
        cells = [[plain_text(cell_value(view, r, c)) for c in range(model.columnCount())]
                 for r in range(model.rowCount())]

        def write(tmp: Path, progress: ProgressCallback, cancel: CancelToken) -> None:
            with open(tmp, "w", encoding="utf-8-sig", newline="") as fh:
                out = csv.writer(fh)
                out.writerow(neutralise_cells(names))
                out.writerows(neutralise_cells(row) for row in cells)

    def work(progress: ProgressCallback, cancel: CancelToken) -> Path:
        return write_user_file(path, lambda tmp: write(tmp, progress, cancel), what="the table")

    return work


def export_csv(view: QAbstractItemView, path: Path | str) -> Path:
    """Write every row of ``view``'s table to ``path`` now, on this thread (scripts and tests)."""
    return csv_job(view, path)(no_progress, CancelToken())


def export_in_background(view: QAbstractItemView, path: Path | str,
                         on_error: Callable[[BaseException, str], None]) -> Job:
    """Start exporting ``view``'s table to ``path`` on the app's job runner (shown in the
    status bar with its progress and a Cancel button)."""
    return _runner_for(view).start(f"Exporting the table to {Path(path).name}", csv_job(view, path),
                                   on_error=on_error)


def _runner_for(view: QWidget) -> JobRunner:
    """The main window's job runner (a table may sit in a page or a dialog); a runner of
    the table's own when it is shown outside the main window."""
    widget: Optional[QWidget] = view
    while widget is not None:
        if isinstance(getattr(widget, "runner", None), JobRunner):
            return widget.runner
        widget = widget.parentWidget()
    for top in QApplication.topLevelWidgets():
        if isinstance(getattr(top, "runner", None), JobRunner):
            return top.runner
    own = view.findChild(JobRunner)
    return own if own is not None else JobRunner(view)
