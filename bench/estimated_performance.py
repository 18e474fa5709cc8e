"""Estimated performance speed (issue 14): what the estimate adds to a drift run on a
1-million-row batch.

A classifier (gradient boosting) trained through the app on a simulated credit-default
task (250,000 rows: 200,000 to train on, 50,000 holdout rows to calibrate on), then a
1,000,000-row batch without labels compared with the version, as ``drift`` does:
the drift run without the estimate (reference and comparison, fastest of three), and
what the estimate adds, each part on its own (fastest of three): fitting the
calibration on the holdout, and the batch's tally and bands. Timing the parts alone
keeps the figure steady on a shared machine, where two runs of the whole differ by
more than the estimate costs. Target: the estimate adds at most 20% to the drift run.
Usage: python bench/estimated_performance.py [--rows N]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))


def best(fn, repeat: int = 2):
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def main() -> None:
    import numpy as np

    from test_estimated_performance import credit

    from mlops_desktop.core.monitor import batch_from_frame, compare_batch
    from mlops_desktop.core.monitor import for_version
    from mlops_desktop.core.train import TrainSpec, train
    from mlops_desktop.core.workspace import Workspace

    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    rng = np.random.default_rng(1)
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        credit(250_000, rng).to_parquet(base / "credit.parquet")
        ws = Workspace.create(base / "ws", actor="bench")
        ws.import_file(base / "credit.parquet", name="credit", actor="bench")
        ws.update_column("credit", "applicant", role="id", actor="bench")
        result = train(ws, TrainSpec(dataset="credit", target="default", models=["hgb"], model_name="credit",
                                     search_candidates=0, cv_folds=2, seed=7), actor="bench")
        ref = f"credit:{result.version}"
        batch = batch_from_frame(credit(args.rows, rng).drop(columns=["default"]), label="batch")
        real_fit = for_version.version_calibration

        def without_calibration():
            for_version.version_calibration = lambda *a, **k: (None, "timed without")
            try:
                return for_version.reference_for_version(ws, ref)
            finally:
                for_version.version_calibration = real_fit

        full = for_version.reference_for_version(ws, ref)
        drift_s, _ = best(lambda: compare_batch(without_calibration(), batch), repeat=3)
        from mlops_desktop.core.train import find_version, load_split

        from mlops_desktop.core.monitor.estimated import estimate_batch

        mv = find_version(ws, ref)
        _, holdout = load_split(ws, mv.run_id)
        fit_s, _ = best(lambda: real_fit(ws, mv, full.model, holdout, full.model_features), repeat=3)
        frame = batch.table.to_pandas()
        proba = full.model.predict_proba(frame[full.model_features])
        report = compare_batch(full, batch)
        estimate_s, est = best(lambda: estimate_batch(full.calibration, proba, report.features), repeat=3)
        full_s, _ = best(lambda: compare_batch(full, batch), repeat=2)
        ws.close()
    added = fit_s + estimate_s
    print(f"batch: {args.rows:,} rows; reference: 200,000 training rows, 50,000 holdout rows")
    print(f"drift run without the estimate (reference + compare)  {drift_s:7.2f} s")
    print(f"calibration fit (once per drift run)                   {fit_s:7.2f} s")
    print(f"estimate of the batch (tally and bands)                {estimate_s:7.2f} s")
    print(f"added by the estimate                                  {added:7.2f} s = "
          f"{100 * added / drift_s:+.1f}% (target: at most +20%)")
    print(f"compare with the estimate, end to end (for reference)  {full_s:7.2f} s (the batch is scored once for "
          "prediction drift and the estimate)")
    print("estimate: " + ", ".join(f"{k} {m.estimate:.3f} ({m.low:.3f}-{m.high:.3f})"
                                   for k, m in est.metrics.items()))


if __name__ == "__main__":
    main()
