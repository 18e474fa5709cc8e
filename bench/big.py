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
  their counts (what the exact comparison rests on);
- prepared (a raw batch for a model trained on data prepared by a recipe, see
  ``RECIPE``): the recipe in SQL over the batch, and the values with their counts of the
  model's features on the rows in its scope (ours also scores a sample of a million rows);
- split (the batch by month of ``booked_at``): each month's rows written to a Parquet
  file of its own (``PARTITION_BY``);
- timeline (``mlops-desktop drift --split-by booked_at``: the batch split by month, each
  month compared with the model's training data): per month, the values with their
  counts of every compared feature.

Targets: each within 1.5x its baseline, at most 1.5 GB peak.
Usage: python bench/big.py ROWS [--steps import,profile,drift,prepared,split] [--keep]
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
#: the recipe of the model's training data in the "prepared" step, and the same in SQL
RECIPE = ["recode channel: mail order -> phone", "replace balance < 0 with missing",
          "derive log_amount = log(amount)", "filter age >= 21"]
RECIPE_SQL = ("SELECT CASE WHEN channel = 'mail order' THEN 'phone' ELSE channel END AS channel, region, "
              "CASE WHEN balance < 0 THEN NULL ELSE balance END AS balance, ln(amount) AS log_amount, age, score "
              "FROM read_parquet('{path}') WHERE age >= 21")
PREPARED_FEATURES = ["channel", "region", "balance", "log_amount", "age"]
#: rows of the reference the model of the "prepared" step is trained on (not timed)
TRAINING_ROWS = 200_000


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


def baseline_prepared(src: Path, work: Path) -> None:
    con = _baseline_con()
    prepared = RECIPE_SQL.format(path=big_data.drifted_file(_rows(src)))
    for name in PREPARED_FEATURES:
        con.execute(f"SELECT {name}, count(*) FROM ({prepared}) GROUP BY {name}").fetchall()


def setup_prepared(src: Path, work: Path) -> None:
    """A model trained on the first rows of the reference, prepared by ``RECIPE`` (not timed)."""
    import pyarrow.parquet as pq

    from mlops_desktop.core.prepare import prepare_dataset, recipe_from_words
    from mlops_desktop.core.train import TrainSpec, train
    from mlops_desktop.core.workspace import Workspace

    shutil.rmtree(work / "ws-prepared", ignore_errors=True)
    sample = work / "training.parquet"
    pq.write_table(pq.ParquetFile(src).read_row_group(0).slice(0, TRAINING_ROWS), sample)
    with Workspace.create(work / "ws-prepared", actor="bench") as ws:
        ws.import_file(sample, actor="bench", name="training")
        prepare_dataset(ws, "training", recipe_from_words(RECIPE), name="ready", actor="bench")
        train(ws, TrainSpec(dataset="ready", target="score", features=PREPARED_FEATURES, models=["ols"],
                            model_name="scores"), actor="bench")


def ours_prepared(src: Path, work: Path) -> dict:
    """The whole comparison; its parts timed: the recipe applied to the batch (written to
    disk), and the model's scoring of its sample (the baseline does not score)."""
    from mlops_desktop.core.monitor import compare_batch, drift
    from mlops_desktop.core.monitor.batches import batch_from_file
    from mlops_desktop.core.monitor.for_version import reference_for_version
    from mlops_desktop.core.workspace import Workspace

    parts = {"recipe s": 0.0, "model s": 0.0}

    def timed(name, fn):
        def run(*args, **kwargs):
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                parts[name] += time.perf_counter() - start
        return run

    drift._prepared = timed("recipe s", drift._prepared)
    drift._model_parts = timed("model s", drift._model_parts)
    with Workspace.open(work / "ws-prepared") as ws:
        report = compare_batch(reference_for_version(ws, "scores:1"),
                               batch_from_file(big_data.drifted_file(_rows(src)), work_dir=work))
    assert report.batch["source"]["rows_out_of_scope"] > 0
    return parts


def baseline_split(src: Path, work: Path) -> None:
    con = _baseline_con()
    out = work / "months"
    shutil.rmtree(out, ignore_errors=True)
    con.execute(f"COPY (SELECT *, strftime(booked_at, '%Y-%m') AS month FROM read_parquet("
                f"'{big_data.drifted_file(_rows(src))}')) TO '{out}' (FORMAT parquet, PARTITION_BY (month))")
    shutil.rmtree(out)


def ours_split(src: Path, work: Path) -> None:
    from mlops_desktop.core.monitor.batches import batch_from_file, split_batch

    periods = split_batch(batch_from_file(big_data.drifted_file(_rows(src)), work_dir=work), "booked_at", "M")
    assert len(periods) >= 12


def baseline_timeline(src: Path, work: Path) -> None:
    con = _baseline_con()
    rel = f"read_parquet('{big_data.drifted_file(_rows(src))}')"
    for name in FEATURES:
        con.execute(f"SELECT date_trunc('month', booked_at) AS month, {name}, count(*) FROM {rel} "
                    "GROUP BY ALL").fetchall()


def ours_timeline(src: Path, work: Path) -> None:
    import contextlib
    import io

    from mlops_desktop.cli import run

    with contextlib.redirect_stdout(io.StringIO()) as out:
        code = run(["drift", "--reference", "training", "--current", str(big_data.drifted_file(_rows(src))),
                    "--split-by", "booked_at", "--no-store", "--json", "--workspace", str(work / "ws-prepared")])
    assert code in (0, 4), code
    assert len(json.loads(out.getvalue())["timeline"]["labels"]) == 12


TASKS = {"import": (baseline_import, ours_import), "profile": (baseline_profile, ours_profile),
         "drift": (baseline_drift, ours_drift), "prepared": (baseline_prepared, ours_prepared),
         "split": (baseline_split, ours_split), "timeline": (baseline_timeline, ours_timeline)}
#: work a step needs done first, not timed
SETUP = {"prepared": setup_prepared, "timeline": setup_prepared}


def child(step: str, who: str, src: str, work: str) -> None:
    fn = SETUP[step] if who == "setup" else TASKS[step][0 if who == "baseline" else 1]
    start = time.perf_counter()
    parts = fn(Path(src), Path(work)) or {}
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "parts": parts}))


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
        if step in SETUP:
            done = measure(step, "setup", src, work)
            if "error" in done:
                print(f"{step:<9} setup failed: {done['error']}")
                continue
        base = measure(step, "baseline", src, work)
        ours = measure(step, "ours", src, work)
        if "error" in base or "error" in ours:
            print(f"{step:<9} failed: {base.get('error') or ours.get('error')}")
            continue
        ratio = ours["seconds"] / base["seconds"]
        ok = ratio <= TARGET_RATIO and ours["peak_mb"] <= TARGET_PEAK_MB
        print(f"{step:<9}{base['seconds']:>10.1f}{ours['seconds']:>9.1f}{ratio:>7.2f}{base['peak_mb']:>11.0f}"
              f"{ours['peak_mb']:>9.0f}  {'met' if ok else 'MISSED'}", flush=True)
        if ours.get("parts"):
            print(f"{'':<9}of which " + ", ".join(f"{k} {v:.1f}" for k, v in ours["parts"].items()), flush=True)
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
