"""Training speed: our runs against scikit-learn called directly with the same settings.

Two runs on the flights sample (arrival delay from schedule, departure delay, carrier,
airports and distance):

1. histogram gradient boosting, 5-fold cross-validation, 20% holdout;
2. the same, one model per carrier (16 models: 15 carriers with at least 40 training
   rows and a global fallback for the rest).

"Ours" is ``core.train.train`` from the registered dataset to the registered model
version (reading the snapshot, choosing features, the baseline, the artifact and the
registry rows included). "Direct" is the same pipeline, split, folds and seeds
through ``cross_validate`` and ``fit`` on the DataFrame already in memory, folds (and
segments) over two workers. Each is timed ``--repeat`` times (default 3, alternating)
after a warm-up; the best time counts (other work on the machine only ever adds time).
The overhead should stay under 10%.

    python bench/train.py [--source ../shared/datasets/flights_2013_sample.csv] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

DEFAULT_SOURCE = ROOT.parent / "shared" / "datasets" / "flights_2013_sample.csv"
TARGET = "arr_delay"
NUMERIC = ["month", "day", "sched_dep_time", "sched_arr_time", "dep_delay", "distance", "hour"]
CATEGORICAL = ["carrier", "origin", "dest"]
SEED, FOLDS, TEST_SIZE, WORKERS = 42, 5, 0.2, 2
MIN_SEGMENT_ROWS = 40


def direct_pipeline(numeric: list[str], categorical: list[str]):
    """The pipeline scikit-learn users would write for the same model."""
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OrdinalEncoder

    encoder = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=np.nan,
                             encoded_missing_value=np.nan, min_frequency=10, max_categories=255)
    pre = ColumnTransformer([("numeric", "passthrough", numeric), ("categorical", encoder, categorical)],
                            verbose_feature_names_out=False)
    positions = list(range(len(numeric), len(numeric) + len(categorical)))
    model = HistGradientBoostingRegressor(random_state=SEED, categorical_features=positions)
    return Pipeline([("preprocess", pre), ("model", model)])


def direct_frame(df):
    data = df.dropna(subset=[TARGET]).reset_index(drop=True)
    X = data[NUMERIC + CATEGORICAL].copy()
    for c in CATEGORICAL:
        X[c] = X[c].astype(object)
    return X, data[TARGET].to_numpy(dtype=float)


def _cv_and_fit(pipe, X, y, n_jobs):
    from sklearn.base import clone
    from sklearn.model_selection import KFold, cross_validate

    cross_validate(pipe, X, y, cv=KFold(FOLDS, shuffle=True, random_state=SEED), n_jobs=n_jobs,
                   scoring=["neg_root_mean_squared_error", "neg_mean_absolute_error", "r2"])
    return clone(pipe).fit(X, y)


def direct_global(df) -> float:
    from sklearn.metrics import mean_squared_error
    from sklearn.model_selection import train_test_split

    t0 = time.perf_counter()
    X, y = direct_frame(df)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=TEST_SIZE, random_state=SEED)
    model = _cv_and_fit(direct_pipeline(NUMERIC, CATEGORICAL), X_train, y_train, WORKERS)
    mean_squared_error(y_test, model.predict(X_test))
    return time.perf_counter() - t0


def _segment(X, y, numeric, categorical):
    return _cv_and_fit(direct_pipeline(numeric, categorical), X, y, 1)


def direct_segmented(df) -> float:
    from joblib import Parallel, delayed
    from sklearn.metrics import mean_squared_error
    from sklearn.model_selection import train_test_split

    t0 = time.perf_counter()
    X, y = direct_frame(df)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=TEST_SIZE, random_state=SEED)
    categorical = [c for c in CATEGORICAL if c != "carrier"]
    features = NUMERIC + categorical
    fallback = _cv_and_fit(direct_pipeline(NUMERIC, categorical), X_train[features], y_train, WORKERS)
    counts = X_train["carrier"].value_counts()
    carriers = [c for c, n in counts.items() if n >= MIN_SEGMENT_ROWS]
    masks = {c: (X_train["carrier"] == c).to_numpy() for c in carriers}
    models = dict(zip(carriers, Parallel(n_jobs=WORKERS)(
        delayed(_segment)(X_train.loc[masks[c], features], y_train[masks[c]], NUMERIC, categorical)
        for c in carriers)))
    predicted = fallback.predict(X_test[features])
    for c, model in models.items():
        rows = (X_test["carrier"] == c).to_numpy()
        if rows.any():
            predicted[rows] = model.predict(X_test.loc[rows, features])
    mean_squared_error(y_test, predicted)
    return time.perf_counter() - t0


def ours(ws, dataset: str, segmented: bool) -> tuple[float, object]:
    from mlops_desktop.core.train import SplitSpec, TrainSpec, train

    spec = TrainSpec(dataset=dataset, target=TARGET, features=NUMERIC + CATEGORICAL, models=["hgb"],
                     split=SplitSpec("random", test_size=TEST_SIZE), cv_folds=FOLDS, seed=SEED,
                     segment_by="carrier" if segmented else None, min_segment_rows=MIN_SEGMENT_ROWS,
                     model_name="bench-segmented" if segmented else "bench-hgb")
    t0 = time.perf_counter()
    result = train(ws, spec, actor="bench")
    return time.perf_counter() - t0, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE, help="the flights sample CSV")
    parser.add_argument("--repeat", type=int, default=3, help="timed repetitions (best counts)")
    args = parser.parse_args()
    if not args.source.is_file():
        print(f"No flights sample at {args.source}; pass --source.", file=sys.stderr)
        return 2

    from joblib import Parallel, delayed

    from mlops_desktop.core.workspace import Workspace

    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace.create(Path(tmp) / "ws", actor="bench")
        imported = ws.import_file(args.source, actor="bench", name="flights").dataset
        df = ws.load_dataframe(imported)
        print(f"flights sample: {len(df):,} rows; target {TARGET}; {len(NUMERIC) + len(CATEGORICAL)} "
              f"features; {FOLDS}-fold CV; {WORKERS} workers")
        Parallel(n_jobs=WORKERS)(delayed(abs)(i) for i in range(4))  # start the worker pool once
        direct_global(df)  # warm-up: imports, worker pool, caches
        rows = []
        for label, segmented, direct in (("hgb, 5-fold CV", False, direct_global),
                                         ("hgb per carrier (16 models)", True, direct_segmented)):
            d_times, o_times = [], []
            result = None
            for _ in range(args.repeat):
                d_times.append(direct(df))
                seconds, result = ours(ws, "flights", segmented)
                o_times.append(seconds)
            d, o = min(d_times), min(o_times)
            rows.append((label, d, o, (o - d) / d, result))
        print()
        print(f"{'run':<30} {'direct s':>9} {'ours s':>9} {'overhead':>9}   (best of {args.repeat}; "
              f"median direct {statistics.median(d_times):.2f} s, ours {statistics.median(o_times):.2f} s "
              "for the last)")
        for label, d, o, overhead, result in rows:
            print(f"{label:<30} {d:9.2f} {o:9.2f} {overhead:9.1%}")
        for label, d, o, overhead, result in rows:
            cv = result.metrics["cv"]["rmse"]
            print(f"  {label}: run {result.run_id}, CV RMSE {cv['mean']:.2f} ± {cv['std']:.2f}, holdout "
                  f"RMSE {result.metrics['holdout']['rmse']:.2f}"
                  + (f", {len(result.chosen_candidate['segments']) - 1} segment models + fallback"
                     if result.segment_by else ""))
        worst = max(r[3] for r in rows)
        if hasattr(os, "getloadavg"):  # other work on the machine makes single timings noisy
            print(f"load average during the bench: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
        print(f"\nlargest overhead {worst:.1%} ({'within' if worst < 0.10 else 'ABOVE'} the 10% bound)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
