"""DuckDB against Polars on the work the app does out of core (issue 18's engine choice).

Each task runs in a fresh process (peak memory is that process's maximum resident size,
the interpreter and the library included), on the table of ``big_data.py``:

- ``bins``: drift counts: for every numeric column its count per reference decile bin
  (edges fixed beforehand) and missing count, for every text column its count per value;
- ``values``: profile's primitive: every column's distinct values with their counts
  (exact distributions: quantiles, means, histograms, top values follow from them);
- ``snapshot``: the file rewritten as a Parquet snapshot (the import's bulk work).

Usage: python bench/engines.py ROWS [--tasks bins,values,snapshot]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import big_data  # noqa: E402

NUMERIC = ["amount", "balance", "age", "score"]
TEXT = ["channel", "region", "merchant"]
ALL = ["transaction_id", "booked_at", *TEXT, *NUMERIC, "defaulted"]


def _edges(path: Path) -> dict[str, list[float]]:
    """Decile edges from the first row group (as a reference profile would fix them)."""
    import numpy as np
    import pyarrow.parquet as pq

    first = pq.ParquetFile(path).read_row_group(0, columns=NUMERIC)
    return {c: np.nanquantile(first[c].to_numpy(zero_copy_only=False).astype(float),
                              np.arange(1, 10) / 10).tolist() for c in NUMERIC}


def duckdb_task(task: str, path: Path, edges: dict, out: Path) -> None:
    import duckdb

    con = duckdb.connect(config={"memory_limit": "1GB", "threads": 2,
                                 "temp_directory": str(out.parent),
                                 "autoinstall_known_extensions": False,
                                 "autoload_known_extensions": False})
    src = f"read_parquet('{path}')"
    if task == "bins":
        for c in NUMERIC:
            bins = " + ".join(f"({c} > {e!r})::UTINYINT" for e in edges[c])
            con.execute(f"SELECT {bins} AS bin, count(*) FROM {src} GROUP BY bin").fetchall()
        for c in TEXT:
            con.execute(f"SELECT {c}, count(*) FROM {src} GROUP BY {c}").fetchall()
    elif task == "values":
        for c in ALL:
            con.execute(f"SELECT {c}, count(*) FROM {src} GROUP BY {c}").to_arrow_table()
    elif task == "snapshot":
        con.execute(f"COPY (SELECT * FROM {src}) TO '{out}' (FORMAT parquet, COMPRESSION snappy)")


def polars_task(task: str, path: Path, edges: dict, out: Path) -> None:
    import polars as pl

    lf = pl.scan_parquet(path)
    if task == "bins":
        for c in NUMERIC:
            bins = pl.sum_horizontal([(pl.col(c) > e).cast(pl.UInt8) for e in edges[c]])
            lf.group_by(bins.alias("bin")).agg(pl.len()).collect(engine="streaming")
        for c in TEXT:
            lf.group_by(c).agg(pl.len()).collect(engine="streaming")
    elif task == "values":
        for c in ALL:
            lf.group_by(c).agg(pl.len()).collect(engine="streaming").to_arrow()
    elif task == "snapshot":
        lf.sink_parquet(out, compression="snappy")


def child(engine: str, task: str, path: str) -> None:
    edges = _edges(Path(path))
    with tempfile.TemporaryDirectory(dir=big_data.DATA) as tmp:
        out = Path(tmp) / "snapshot.parquet"
        start = time.perf_counter()
        (duckdb_task if engine == "duckdb" else polars_task)(task, Path(path), edges, out)
        seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_mb": peak}))


def measure(engine: str, task: str, path: Path) -> dict:
    done = subprocess.run([sys.executable, __file__, "--child", engine, task, str(path)],
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(*sys.argv[2:5])
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("rows", type=int)
    parser.add_argument("--tasks", default="bins,values,snapshot")
    args = parser.parse_args()
    path = big_data.reference_file(args.rows)
    print(f"{args.rows:,} rows x 10 columns, {path.stat().st_size / 1e9:.2f} GB of Parquet")
    print(f"{'task':<10}{'engine':<8}{'seconds':>9}{'peak MB':>9}")
    for task in args.tasks.split(","):
        for engine in ("duckdb", "polars"):
            r = measure(engine, task, path)
            print(f"{task:<10}{engine:<8}{r['seconds']:>9.1f}{r['peak_mb']:>9.0f}", flush=True)


if __name__ == "__main__":
    main()
