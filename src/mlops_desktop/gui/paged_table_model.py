"""A table model over a dataset larger than memory: it pages through the snapshot on disk
a row group at a time instead of loading it. A row group the view asks for is read on a
worker thread (the cells show "…" meanwhile) and the few read last are kept, so
scrolling never waits on the disk on the UI thread."""

from __future__ import annotations

import bisect
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Callable, Iterator, Optional, Sequence

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt, Signal

from .table_model import _MISSING_BRUSH, Index, format_value

if TYPE_CHECKING:
    import pyarrow as pa

    from ..core.data.on_disk import OnDiskTable

#: row groups kept in memory (a streamed snapshot's group holds about a million rows)
KEPT_GROUPS = 3
LOADING = "…"


class OnDiskTableModel(QAbstractTableModel):
    """Read-only view of an :class:`OnDiskTable`; row headers count from 1."""

    _group_read = Signal(int, int, object)  # generation, row group, its columns

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._disk: Optional["OnDiskTable"] = None
        self._starts: list[int] = []
        self._numeric: list[bool] = []
        self._kept: dict[int, list["pa.Array"]] = {}  # in order of use, the newest last
        self._asked: set[int] = set()
        self._generation = 0
        self._reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rows")
        self._group_read.connect(self._keep)

    @property
    def table(self) -> None:
        """No table in memory (for callers of :class:`ArrowTableModel`)."""
        return None

    @property
    def on_disk(self) -> Optional["OnDiskTable"]:
        return self._disk

    def set_on_disk(self, table: Optional["OnDiskTable"]) -> None:
        import pyarrow as pa

        self.beginResetModel()
        self._generation += 1
        self._disk = table
        self._kept, self._asked = {}, set()
        self._starts, self._numeric = [], []
        if table is not None:
            start = 0
            for size in table.row_groups:
                self._starts.append(start)
                start += size
            self._numeric = [pa.types.is_integer(t) or pa.types.is_floating(t) for t in table.types]
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() or self._disk is None else self._disk.rows

    def columnCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() or self._disk is None else len(self._disk.names)

    def _cell(self, row: int, column: int) -> Any:
        """The Arrow scalar, or None while its row group is being read."""
        group = bisect.bisect_right(self._starts, row) - 1
        columns = self._kept.get(group)
        if columns is None:
            self._ask(group)
            return None
        self._kept[group] = self._kept.pop(group)  # the newest used
        return columns[column][row - self._starts[group]]

    def _ask(self, group: int) -> None:
        if group in self._asked or self._disk is None:
            return
        self._asked.add(group)
        disk, generation = self._disk, self._generation

        def read() -> None:
            part = disk.row_group(group)
            self._group_read.emit(generation, group, [c.combine_chunks() for c in part.columns])

        self._reader.submit(read)

    def _keep(self, generation: int, group: int, columns: list["pa.Array"]) -> None:
        if generation != self._generation:
            return
        self._asked.discard(group)
        self._kept[group] = columns
        while len(self._kept) > KEPT_GROUPS:
            self._kept.pop(next(iter(self._kept)))
        first = self._starts[group]
        last = first + len(columns[0]) - 1 if columns else first
        self.dataChanged.emit(self.index(first, 0), self.index(last, max(self.columnCount() - 1, 0)))

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or self._disk is None:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            value = self._cell(index.row(), index.column())
            return LOADING if value is None else format_value(value.as_py())
        if role == Qt.ItemDataRole.TextAlignmentRole:
            if self._numeric[index.column()]:
                return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            return int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole:
            value = self._cell(index.row(), index.column())
            if value is not None and not value.is_valid:
                return _MISSING_BRUSH
        return None

    def block_values(self, rows: Sequence[int], columns: Sequence[int]) -> list[list[Any]]:
        """The values of some rows and columns (for Copy), read from the row groups holding them."""
        import numpy as np

        if self._disk is None or not rows or not columns:
            return []
        names = [self._disk.names[c] for c in columns]
        part = self._disk.take_rows(np.asarray(rows, dtype=np.int64), names)
        return [list(values) for values in zip(*(part.column(n).to_pylist() for n in names))]

    def csv_source(self) -> tuple[Callable[[], Iterator[Any]], int]:
        """The file as it is now, for an export (gui.table_export): its record batches,
        read a batch at a time off the UI thread, and its row count."""
        if self._disk is None:
            return (lambda: iter(())), 0
        disk = self._disk
        return disk.batches, disk.rows

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role != Qt.ItemDataRole.DisplayRole or self._disk is None:
            return None
        if orientation == Qt.Orientation.Horizontal:
            return self._disk.names[section] if section < len(self._disk.names) else None
        return str(section + 1)
