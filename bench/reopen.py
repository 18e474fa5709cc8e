"""Reopening stored results against computing them again, on the flights sample.

A workspace with the flights (60,000 rows by default) as a dataset. Three results are
computed and stored, then opened again from the registry as the pages do:

1. the validation of a gradient boosting model of the arrival delay (bootstrap
   intervals, permutation importance, partial dependence) against ``latest_validation``
   and the model card drawn from it;
2. the assumption checks of the arrival delay against ``last_check_run``;
3. the drift comparison of July–December with January–June, split by month (six
   batches) against ``load_run`` of the stored comparison.

Each reopening is timed ``--repeat`` times (default 5); the best time counts.

    python bench/reopen.py [--source ../shared/datasets/flights_2013_sample.csv] [--rows 60000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from flights_sample import DEFAULT_SOURCE, flights  # bench/ is the running script's folder
from registry import best  # the best of several runs: other work on the machine only ever adds time

TARGET = "arr_delay"
FEATURES = ["month", "day", "sched_dep_time", "sched_arr_time", "dep_delay", "distance", "hour", "carrier",
            "origin", "dest"]


def timed(fn) -> tuple[float, object]:
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--rows", type=int, default=60_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    import pyarrow as pa
    import pyarrow.parquet as pq

    from mlops_desktop.core.checks import last_check_run
    from mlops_desktop.core.checks.for_dataset import check_dataset
    from mlops_desktop.core.monitor import (Batch, Reference, drift_runs, load_run, run_drift,
                                            split_batch)
    from mlops_desktop.core.train import TrainSpec, train
    from mlops_desktop.core.validate.card_markdown import model_card_markdown
    from mlops_desktop.core.validate.for_version import latest_validation, model_card, validate_version
    from mlops_desktop.core.workspace import Workspace

    table = flights(args.source, args.rows)
    month = table.column("month").to_numpy()
    with tempfile.TemporaryDirectory() as tmp:
        first, second = Path(tmp) / "first_half.parquet", Path(tmp) / "second_half.parquet"
        pq.write_table(table.filter(pa.array(month <= 6)), first)
        pq.write_table(table.filter(pa.array(month > 6)), second)
        ws = Workspace.create(Path(tmp) / "ws", actor="bench")
        ds = ws.import_file(first, name="flights", actor="bench").dataset
        batch_ds = ws.import_file(second, name="flights-h2", actor="bench").dataset
        trained = train(ws, TrainSpec(dataset=ds.id, target=TARGET, features=FEATURES, models=["hgb"]),
                        actor="bench")
        ref = f"{trained.model}:{trained.version}"

        rows = []
        compute, _ = timed(lambda: validate_version(ws, ref, actor="bench"))

        def reopen_validation():
            stored = latest_validation(ws, ref)
            return model_card_markdown(model_card(ws, ref, validation=stored.report))

        reopen, _ = best(reopen_validation, args.repeat)
        rows.append(("validation of an HGB model (holdout, 1,000 bootstrap resamples)", compute, reopen))

        compute, _ = timed(lambda: check_dataset(ws, ds.id, TARGET, store=True, actor="bench"))
        reopen, _ = best(lambda: last_check_run(ws, ds.id, TARGET), args.repeat)
        rows.append(("assumption checks of the arrival delay", compute, reopen))

        def compare():
            batch = Batch("July to December", ws.load_table(batch_ds), {"type": "dataset"})
            return run_drift(ws, Reference.from_dataset(ws, ds.id), split_batch(batch, "time_hour", "M"),
                             actor="bench")

        compute, made = timed(compare)
        series = drift_runs(ws, dataset=ds.id)[0].series_id
        reopen, opened = best(lambda: load_run(ws, series), args.repeat)
        assert [r.to_dict() for r in opened.reports] == [r.to_dict() for r in made.reports]
        rows.append((f"drift of July–December by month ({len(made.reports)} batches)", compute, reopen))
        ws.close()

    print(f"flights: {table.num_rows:,} rows ({int((month <= 6).sum()):,} January–June as the dataset)")
    print(f"{'result':<66} {'compute':>9} {'reopen':>9} {'faster':>8}")
    for what, compute, reopen in rows:
        print(f"{what:<66} {compute:8.2f}s {reopen * 1000:7.1f}ms {compute / reopen:7.0f}x")


if __name__ == "__main__":
    main()
