"""Data beyond memory (issue 18): import, profile and drift of a table of realistic
cardinality (``big_data.py``: ids, dates, categories of 5 to 5,000 levels, skewed
numbers with missing values), each against a DuckDB baseline doing the same work, with
time and peak memory, in one run.

Every measurement runs in a fresh process; peak memory is that process's maximum
resident size (interpreter and libraries included). Baselines (plain DuckDB, 1 GB
memory limit but for the profile, all cores):

- import: the Parquet file copied to a Parquet snapshot, every column's distinct values
  counted, the snapshot hashed (SHA-256);
- profile (8 GB limit: an exact quantile aggregate holds every value): per column count,
  missing, distinct; min, max, mean, standard deviation and seven quantiles of the
  numbers; the 10 most frequent values of the text columns;
- drift: for every compared feature of the reference and of the batch, its values with
  their counts (what the exact comparison rests on).

Targets: each within 1.5x its baseline, at most 1.5 GB peak.
Usage: python bench/big.py ROWS [--steps import,profile,drift] [--keep]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import big_data  # noqa: E402

TARGET_RATIO = 1.5
TARGET_PEAK_MB = 1536
NUMERIC = ["amount", "balance", "age", "score"]
TEXT = ["channel", "region", "merchant"]
FEATURES = TEXT + NUMERIC


def _baseline_con(memory_limit: str = "1GB"):
    import duckdb

    return duckdb.connect(config={"memory_limit": memory_limit, "temp_directory": str(big_data.DATA / "tmp")})


def baseline_import(src: Path, work: Path) -> None:
    con = _baseline_con()
    out = work / "snapshot.parquet"
    con.execute(f"COPY (SELECT * FROM read_parquet('{src}')) TO '{out}' (FORMAT parquet, COMPRESSION snappy)")
    names = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM read_parquet('{out}')").fetchall()]
    for name in names:
        con.execute(f'SELECT count(DISTINCT "{name}") FROM read_parquet(\'{out}\')').fetchall()
    with open(out, "rb") as fh:
        hashlib.file_digest(fh, "sha256")


def baseline_profile(src: Path, work: Path) -> None:
    # an exact quantile aggregate holds every value of its column: under 1 GB it runs out
    # of memory on 50M rows, so the baseline gets what it needs (ours stays under its limit)
    con = _baseline_con("8GB")
    rel = f"read_parquet('{src}')"
    names = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {rel}").fetchall()]
    for name in names:
        con.execute(f'SELECT count("{name}"), count(*) - count("{name}"), count(DISTINCT "{name}") '
                    f"FROM {rel}").fetchall()
    for name in NUMERIC:
        con.execute(f"SELECT min({name}), max({name}), avg({name}), stddev_samp({name}), "
                    f"quantile_cont({name}, [0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99]) FROM {rel}").fetchall()
    for name in TEXT:
        con.execute(f"SELECT {name}, count(*) AS n FROM {rel} GROUP BY {name} ORDER BY n DESC LIMIT 10").fetchall()


def baseline_drift(src: Path, work: Path) -> None:
    con = _baseline_con()
    for path in (src, big_data.drifted_file(_rows(src))):
        for name in FEATURES:
            con.execute(f"SELECT {name}, count(*) FROM read_parquet('{path}') GROUP BY {name}").fetchall()


def _rows(src: Path) -> int:
    return int(src.stem.split("-")[1])


def _workspace(work: Path):
    from mlops_desktop.core.workspace import Workspace

    return Workspace.open(work / "ws")


def ours_import(src: Path, work: Path) -> None:
    from mlops_desktop.core.workspace import Workspace

    shutil.rmtree(work / "ws", ignore_errors=True)
    ws = Workspace.create(work / "ws", actor="bench")
    ws.import_file(src, actor="bench", name="big")
    ws.close()


def ours_profile(src: Path, work: Path) -> None:
    from mlops_desktop.core.explore.profile import profile_dataset

    ws = _workspace(work)
    profile_dataset(ws, "big")
    ws.close()


def ours_drift(src: Path, work: Path) -> None:
    from mlops_desktop.core.monitor import compare_batch
    from mlops_desktop.core.monitor.batches import batch_from_file
    from mlops_desktop.core.monitor.reference import Reference

    ws = _workspace(work)
    reference = Reference.from_dataset(ws, "big", features=FEATURES)
    compare_batch(reference, batch_from_file(big_data.drifted_file(_rows(src))))
    ws.close()


TASKS = {"import": (baseline_import, ours_import), "profile": (baseline_profile, ours_profile),
         "drift": (baseline_drift, ours_drift)}


def child(step: str, who: str, src: str, work: str) -> None:
    fn = TASKS[step][0 if who == "baseline" else 1]
    start = time.perf_counter()
    fn(Path(src), Path(work))
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def measure(step: str, who: str, src: Path, work: Path) -> dict:
    done = subprocess.run([sys.executable, __file__, "--child", step, who, str(src), str(work)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(*sys.argv[2:6])
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("rows", type=int)
    parser.add_argument("--steps", default="import,profile,drift")
    parser.add_argument("--keep", action="store_true", help="keep the workspace under bench/data")
    args = parser.parse_args()
    t = time.perf_counter()
    src = big_data.reference_file(args.rows)
    big_data.drifted_file(args.rows)
    print(f"{args.rows:,} rows x 10 columns, {src.stat().st_size / 1e9:.2f} GB of Parquet "
          f"(made or found in {time.perf_counter() - t:.0f} s)")
    work = big_data.DATA / f"work-{args.rows}"
    work.mkdir(parents=True, exist_ok=True)
    (big_data.DATA / "tmp").mkdir(exist_ok=True)
    print(f"{'step':<9}{'DuckDB s':>10}{'ours s':>9}{'ratio':>7}{'DuckDB MB':>11}{'ours MB':>9}  target")
    for step in args.steps.split(","):
        base = measure(step, "baseline", src, work)
        ours = measure(step, "ours", src, work)
        if "error" in base or "error" in ours:
            print(f"{step:<9} failed: {base.get('error') or ours.get('error')}")
            continue
        ratio = ours["seconds"] / base["seconds"]
        ok = ratio <= TARGET_RATIO and ours["peak_mb"] <= TARGET_PEAK_MB
        print(f"{step:<9}{base['seconds']:>10.1f}{ours['seconds']:>9.1f}{ratio:>7.2f}{base['peak_mb']:>11.0f}"
              f"{ours['peak_mb']:>9.0f}  {'met' if ok else 'MISSED'}", flush=True)
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
