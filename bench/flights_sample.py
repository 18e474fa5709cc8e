"""The flights sample the drift and profile benchmarks repeat to millions of rows."""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_SOURCE = HERE.parent.parent / "shared" / "datasets" / "flights_2013_sample.csv"


def flights(source: Path, rows: int):
    """``rows`` rows of the sample at ``source``, repeated as many times as needed."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    from mlops_desktop.core.data.types import normalise_table

    table = normalise_table(pacsv.read_csv(source))
    copies = -(-rows // table.num_rows)
    return pa.concat_tables([table] * copies).slice(0, rows).combine_chunks()
