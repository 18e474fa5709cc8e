"""The flights sample, grown to millions of rows for the drift, profile and reopen
benchmarks.

Plain copies of the 60,000-row sample would favour code that works on distinct values
or whole rows (every row repeated 22 times). Each copy after the first is therefore
perturbed: in the columns with more than 100 distinct values (times, delays, distances,
flight numbers) numbers move by a whole -2..+2 and timestamps by the copy's number of
hours; calendar fields, carriers, airports and tail numbers keep the sample's values, as
a longer period of real flights mostly repeats them. At 1.35 million rows this gives
507 distinct departure delays, 5,176 flight numbers and 8,775 hours (the sample: 395,
3,208 and 6,500), close to what a year of New York flights holds.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_SOURCE = HERE.parent.parent / "shared" / "datasets" / "flights_2013_sample.csv"
#: columns with more distinct values than this in the sample are perturbed in copies
MANY_VALUES = 100


def _perturbed(table, copy: int, rng):
    """One copy of ``table`` with its many-valued numbers and timestamps moved a little."""
    import pyarrow as pa
    import pyarrow.compute as pc

    columns = []
    for column in table.columns:
        kind = column.type
        if pc.count_distinct(column).as_py() > MANY_VALUES:
            if pa.types.is_integer(kind) or pa.types.is_floating(kind):
                column = pc.add(column, pa.array(rng.integers(-2, 3, len(column)), type=kind))
            elif pa.types.is_timestamp(kind):
                column = pc.add(column, pa.scalar(timedelta(hours=copy), type=pa.duration(kind.unit)))
        columns.append(column)
    return pa.table(columns, names=table.column_names)


def flights(source: Path, rows: int):
    """``rows`` rows grown from the sample at ``source`` (see the module's docstring)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv

    from mlops_desktop.core.data.types import normalise_table

    table = normalise_table(pacsv.read_csv(source))
    copies = -(-rows // table.num_rows)
    rng = np.random.default_rng(2013)
    parts = [table] + [_perturbed(table, k, rng) for k in range(1, copies)]
    return pa.concat_tables(parts).slice(0, rows).combine_chunks()
