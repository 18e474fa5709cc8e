"""The one engine for work on tables larger than memory: DuckDB, under a memory limit.

Chosen after measuring DuckDB and Polars side by side on 50 million rows
(``bench/engines.py``, 1.1 GB of Parquet: bin counts 6.7 s at 325 MB against 7.6 s at
412 MB; value counts 18.2 s at 2.0 GB against 22.5 s at 2.5 GB; a snapshot copy 27.8 s
against 14.9 s, both under 1 GB): as fast on drift's bin counts,
faster on value counts, a quarter of the installed size, and a memory limit it keeps by
spilling to disk rather than by failing. Neither sends telemetry; the one way DuckDB
reaches the network, fetching an extension that a query names (``http://`` paths,
spatial types), is switched off here and the settings are locked.

DuckDB reads only files the app has checked: a workspace's snapshot (hashed at use) or
Arrow data streamed from a file opened through :mod:`..regular_files`.
"""

from __future__ import annotations

import os
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

if TYPE_CHECKING:
    import duckdb

#: what DuckDB may hold in memory before it spills to disk
MEMORY_LIMIT = "512MB"


@contextmanager
def connect(folder: Path, *, memory_limit: str = MEMORY_LIMIT) -> Iterator["duckdb.DuckDBPyConnection"]:
    """An in-memory DuckDB connection that never fetches anything from the network and
    spills to a temporary folder inside ``folder`` (a workspace's snapshots folder: the
    disk that holds the data), removed when the connection closes (or, after a crash,
    when the workspace is opened again)."""
    import duckdb

    from ..storage import temporary_name

    spill = Path(folder) / temporary_name("spill")
    spill.mkdir(parents=True)
    config: dict[str, Any] = {"memory_limit": memory_limit, "threads": max(os.cpu_count() or 1, 1),
                              "temp_directory": str(spill),
                              "autoinstall_known_extensions": False, "autoload_known_extensions": False,
                              "allow_community_extensions": False, "preserve_insertion_order": False,
                              # Parquet statistics leave NaN out of a column's range; with them
                              # propagated, DuckDB 2.0 drops NaN rows from filters such as
                              # isnan(x) or x > 2 (tests/test_profile_out_of_core.py)
                              "disabled_optimizers": "statistics_propagation"}
    try:
        con = duckdb.connect(":memory:", config=config)
        try:
            con.execute("SET lock_configuration = true")
            yield con
        finally:
            con.close()
    finally:
        shutil.rmtree(spill, ignore_errors=True)


def quoted(name: str) -> str:
    """A column name as a DuckDB identifier."""
    return '"' + name.replace('"', '""') + '"'


def parquet_source(path: Path, *, row_numbers: bool = False) -> str:
    """A snapshot file as a DuckDB table expression; ``row_numbers`` adds each row's
    0-based position in the file as ``file_row_number``."""
    return ("read_parquet('" + str(path).replace("'", "''") + "'"
            + (", file_row_number = true" if row_numbers else "") + ")")
