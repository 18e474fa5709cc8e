"""Import speed: a 1-million-row CSV through the app's import, against the plain
baseline of ``pyarrow.csv.read_csv`` plus writing the same Parquet snapshot.

The file is made by resampling rows of the flights sample (../shared/datasets, or a
path given with --source) and cached under bench/data/. Target: ratio <= 1.5.
Usage: python bench/import_csv.py [--rows N] [--repeat K] [--source CSV]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_SOURCE = HERE.parent.parent / "shared" / "datasets" / "flights_2013_sample.csv"
TARGET_RATIO = 1.5


def make_file(source: Path, rows: int) -> Path:
    import numpy as np
    import pyarrow.csv as pacsv

    out = HERE / "data" / f"flights_{rows}.csv"
    if out.is_file():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    table = pacsv.read_csv(source)
    idx = np.random.default_rng(0).integers(0, table.num_rows, rows)
    pacsv.write_csv(table.take(idx), out)
    return out


def baseline(path: Path, tmp: Path) -> float:
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    start = time.perf_counter()
    table = pacsv.read_csv(path)
    pq.write_table(table, tmp / "baseline.parquet")
    return time.perf_counter() - start


def ours(path: Path, tmp: Path, run: int) -> float:
    from mlops_desktop.core.workspace import Workspace

    ws = Workspace.create(tmp / f"ws{run}", actor="bench")
    start = time.perf_counter()
    ws.import_file(path, actor="bench")
    took = time.perf_counter() - start
    ws.close()
    return took


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    args = parser.parse_args()
    path = make_file(args.source, args.rows)
    size_mb = path.stat().st_size / 1e6
    import mlops_desktop.core.workspace  # noqa: F401  (imports are not part of the timing)
    import pyarrow.parquet  # noqa: F401

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        base, mine = [], []
        for run in range(args.repeat):  # interleaved, so both see the same cache state
            base.append(baseline(path, tmp))
            mine.append(ours(path, tmp, run))
    b, m = statistics.median(base), statistics.median(mine)
    print(f"file: {path.name}, {args.rows:,} rows, {size_mb:.0f} MB")
    print("baseline read_csv + write_parquet (s): " + ", ".join(f"{t:.3f}" for t in base))
    print("mlops-desktop import (s):              " + ", ".join(f"{t:.3f}" for t in mine))
    print(f"median baseline {b:.3f} s, ours {m:.3f} s, ratio {m / b:.2f} (target <= {TARGET_RATIO})")


if __name__ == "__main__":
    main()
