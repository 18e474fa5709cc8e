"""Speed of reason codes in an exported package (issue 15).

Data: the flights sample resampled as in bench/score.py (binary target: more than 15
minutes late). Two versions are trained, approved and exported:

- a histogram-gradient-boosting classifier (the app's defaults) on 100,000 rows. Target:
  ``score.py FILE --reasons 3`` on 100,000 rows within 3x the time of ``score.py FILE``
  on the same rows (whole processes, best of --repeat alternated runs);
- a large random forest (the app's: 100 fully grown trees) on --forest-train rows. Target: a documented row limit (reasons.json, README) and, past
  it, a clear message at once instead of hours of work. Printed: the limit, the time per
  1,000 rows with reasons, what the limit takes, and how soon a run past it stops.

Usage: python bench/reasons.py [--rows N] [--repeat K] [--forest-train N]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from score import FEATURES, measure, resample  # noqa: E402  (the same data and timing as the scoring bench)


def export(ws, ref: str, out: Path) -> Path:
    from mlops_desktop.core.export import export_version
    from mlops_desktop.core.registry.lifecycle import change_stage
    from mlops_desktop.core.validate.for_version import validate_version

    validate_version(ws, ref, actor="analyst", n_bootstrap=50)
    change_stage(ws, ref, "validated", actor="analyst", override_reason="benchmark")
    change_stage(ws, ref, "approved", actor="reviewer", comment="benchmark")
    return export_version(ws, ref, out, actor="analyst").path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3, help="runs of each (alternated); the best counts")
    ap.add_argument("--forest-train", type=int, default=50_000)
    args = ap.parse_args()

    from mlops_desktop.core.train import TrainSpec, train
    from mlops_desktop.core.workspace import Workspace

    work = Path(tempfile.mkdtemp(prefix="bench-reasons-"))
    try:
        started = time.perf_counter()
        train_csv, score_csv = work / "train.csv", work / "flights.csv"
        resample(100_000, seed=1).to_csv(train_csv, index=False)
        resample(args.rows, seed=2).to_csv(score_csv, index=False)
        resample(args.forest_train, seed=3).to_csv(work / "forest.csv", index=False)
        with Workspace.create(work / "ws", actor="analyst") as ws:
            ws.import_file(train_csv, name="flights", actor="analyst")
            ws.import_file(work / "forest.csv", name="forest rows", actor="analyst")
            done = train(ws, TrainSpec(dataset="flights", target="late", models=["hgb"], features=FEATURES,
                                       model_name="late", cv_folds=2, search_candidates=0), actor="analyst")
            hgb = export(ws, f"late:{done.version}", work / "pkg-hgb")
            done = train(ws, TrainSpec(dataset="forest rows", target="late", models=["random_forest"],
                                       features=FEATURES, model_name="forest", cv_folds=2, search_candidates=0),
                         actor="analyst")
            forest = export(ws, f"forest:{done.version}", work / "pkg-forest")
        print(f"set-up {time.perf_counter() - started:.0f} s")

        # -- gradient boosting: reasons for every row against plain scoring -------------------
        plain, reasons = [], []
        for _ in range(args.repeat):  # alternated, best of each: other programs slow either at random
            plain.append(measure([sys.executable, str(hgb / "score.py"), str(score_csv), "-o",
                                  str(work / "plain.parquet")]))
            reasons.append(measure([sys.executable, str(hgb / "score.py"), str(score_csv), "-o",
                                    str(work / "reasons.parquet"), "--reasons", "3"]))
        plain_s, reasons_s = min(s for s, _ in plain), min(s for s, _ in reasons)
        ratio = reasons_s / plain_s
        print("runs (s): plain " + ", ".join(f"{s:.2f}" for s, _ in plain)
              + "; --reasons 3 " + ", ".join(f"{s:.2f}" for s, _ in reasons))
        print(f"gradient boosting, {args.rows:,} rows: score.py {plain_s:.2f} s, with --reasons 3 {reasons_s:.2f} s: "
              f"{ratio:.2f}x (target <= 3x) {'OK' if ratio <= 3 else 'MISSED'}; peak RSS "
              f"{max(r for _, r in plain) / 2**20:.0f} MiB vs {max(r for _, r in reasons) / 2**20:.0f} MiB")

        # -- a large forest: its documented row limit, and a run past it ----------------------
        limit = json.loads((forest / "reasons.json").read_text())["row_limit"]
        documented = f"{limit:,} rows" in (forest / "README.md").read_text()
        sample = work / "forest-1000.csv"
        resample(1000, seed=4).to_csv(sample, index=False)
        small_plain, _ = measure([sys.executable, str(forest / "score.py"), str(sample), "-o",
                                  str(work / "f0.parquet")])
        small_reasons, _ = measure([sys.executable, str(forest / "score.py"), str(sample), "-o",
                                    str(work / "f1.parquet"), "--reasons", "3"])
        per_1000 = small_reasons - small_plain
        over = work / "forest-over.csv"
        resample(limit + 1000, seed=5).to_csv(over, index=False)
        t = time.perf_counter()
        refused = subprocess.run([sys.executable, str(forest / "score.py"), str(over), "-o",
                                  str(work / "f2.parquet"), "--reasons", "3"], capture_output=True, text=True)
        refused_s = time.perf_counter() - t
        print(f"random forest (100 trees on {args.forest_train:,} rows): row limit {limit:,} "
              f"({'in the README' if documented else 'NOT in the README'}); reasons for 1,000 rows take "
              f"{per_1000:.1f} s more than scoring them, so the limit takes about {per_1000 * limit / 1000 / 60:.1f} "
              f"min; a run of {limit + 1000:,} rows stops after {refused_s:.1f} s with exit {refused.returncode}:")
        print("  " + refused.stderr.strip().splitlines()[-1] if refused.stderr.strip() else "  (no message)")
        print(json.dumps({"rows": args.rows, "plain_s": round(plain_s, 2), "reasons_s": round(reasons_s, 2),
                          "ratio": round(ratio, 2), "forest_row_limit": limit,
                          "forest_reasons_s_per_1000": round(per_1000, 2), "forest_refused_after_s": round(refused_s, 1),
                          "forest_exit": refused.returncode}))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
