"""Scoring speed and memory of an exported package, against a plain script.

Data: a 1.35-million-row CSV resampled (with replacement, seeded) from
tests/data/flights_6000.csv, with a binary target (arriving more than 15 minutes
late). A histogram-gradient-boosting classifier on carrier, origin, destination and
the numeric schedule columns (sched_dep_time, sched_arr_time, hour, minute, distance,
dep_delay) is trained on a 100,000-row resample of the same kind, approved and exported.

Ours: ``python score.py FILE -o OUT.parquet`` as a whole process (verification,
chunked reading, schema checks, unseen-category counts, rejects, Parquet output).
Baseline (issue 6): a plain script that loads the same pipeline with joblib, reads the
whole file with pandas, calls ``predict_proba`` and writes Parquet.
Targets: our throughput at least 0.9x the baseline's, our peak memory at most half of
it. Then a 10-million-row CSV (generated under bench/data/, not committed) scored by
score.py alone: rows per second and peak RSS, which must not grow with the file.
Peak RSS is each process's own maximum resident set (getrusage of the child). Each
side runs --repeat times, alternated; the best time of each counts (others' programs on a
shared machine only ever slow a run down).
Usage: python bench/score.py [--rows N] [--big-rows N] [--skip-big]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SAMPLE = ROOT / "tests" / "data" / "flights_6000.csv"
FEATURES = ["carrier", "origin", "dest", "sched_dep_time", "sched_arr_time", "hour", "minute", "distance",
            "dep_delay"]

BASELINE = """
import sys, joblib, pandas as pd
model = joblib.load(sys.argv[1])
df = pd.read_csv(sys.argv[2])
proba = model.predict_proba(df[{features!r}])
out = pd.DataFrame({{"probability_" + str(c): proba[:, i] for i, c in enumerate(model.classes_)}})
out.to_parquet(sys.argv[3])
"""


def resample(rows: int, seed: int):
    import numpy as np
    import pandas as pd

    df = pd.read_csv(SAMPLE)
    df = df[df["arr_delay"].notna()].reset_index(drop=True)
    df["late"] = np.where(df["arr_delay"] > 15, "late", "on time")
    df = df.drop(columns=["arr_delay", "arr_time", "air_time"])
    take = np.random.default_rng(seed).integers(0, len(df), size=rows)
    return df.iloc[take].reset_index(drop=True)


def write_big_csv(path: Path, rows: int) -> None:
    """The resampled flights, written in pieces so generating it stays small too."""
    piece = 1_000_000
    with open(path, "w", encoding="utf-8", newline="") as fh:
        for i, start in enumerate(range(0, rows, piece)):
            resample(min(piece, rows - start), seed=1000 + i).to_csv(fh, index=False, header=i == 0)


def measure(argv: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (bytes) of one process, measured by a wrapper process so
    that only this process's maximum counts."""
    wrapper = ("import resource, subprocess, sys, time\n"
               "t = time.perf_counter(); r = subprocess.run(sys.argv[1:]); s = time.perf_counter() - t\n"
               "print(s, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, r.returncode)\n")
    done = subprocess.run([sys.executable, "-c", wrapper, *argv], capture_output=True, text=True)
    seconds, rss_kb, code = done.stdout.split()[-3:]
    if int(code) != 0:
        raise SystemExit(f"{argv[:3]} failed ({code}):\n{done.stderr[-2000:]}")
    return float(seconds), int(rss_kb) * 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=1_350_000)
    ap.add_argument("--big-rows", type=int, default=10_000_000)
    ap.add_argument("--skip-big", action="store_true")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each (alternated); the best counts")
    args = ap.parse_args()

    from mlops_desktop.core.export import export_version
    from mlops_desktop.core.registry.lifecycle import change_stage
    from mlops_desktop.core.train import TrainSpec, load_model, train
    from mlops_desktop.core.validate.for_version import validate_version
    from mlops_desktop.core.workspace import Workspace

    work = Path(tempfile.mkdtemp(prefix="bench-score-"))
    try:
        started = time.perf_counter()
        train_csv, score_csv = work / "train.csv", work / "flights.csv"
        resample(100_000, seed=1).to_csv(train_csv, index=False)
        resample(args.rows, seed=2).to_csv(score_csv, index=False)
        with Workspace.create(work / "ws", actor="analyst") as ws:
            ws.import_file(train_csv, name="flights", actor="analyst")
            result = train(ws, TrainSpec(dataset="flights", target="late", models=["hgb"], features=FEATURES,
                                         model_name="late", cv_folds=2, search_candidates=0), actor="analyst")
            ref = f"late:{result.version}"
            validate_version(ws, ref, actor="analyst", n_bootstrap=50)
            change_stage(ws, ref, "validated", actor="analyst", override_reason="benchmark")
            change_stage(ws, ref, "approved", actor="reviewer", comment="benchmark")
            t = time.perf_counter()
            package = export_version(ws, ref, work / "pkg", actor="analyst").path
            export_s = time.perf_counter() - t
            # the baseline loads the same fitted pipeline as a plain joblib file
            import joblib

            artifact = work / "model.joblib"
            joblib.dump(load_model(ws, ref), artifact)
        print(f"set-up {time.perf_counter() - started:.1f} s (export {export_s:.1f} s); "
              f"{args.rows:,} rows, {score_csv.stat().st_size / 2**20:.0f} MiB CSV")

        (work / "baseline.py").write_text(BASELINE.format(features=FEATURES))
        ours_runs, base_runs = [], []
        for _ in range(args.repeat):  # alternated, best of each: other programs slow either at random
            ours_runs.append(measure([sys.executable, str(package / "score.py"), str(score_csv),
                                      "-o", str(work / "ours.parquet")]))
            base_runs.append(measure([sys.executable, str(work / "baseline.py"), str(artifact), str(score_csv),
                                      str(work / "baseline.parquet")]))
        ours_s, ours_rss = min(s for s, _ in ours_runs), max(r for _, r in ours_runs)
        base_s, base_rss = min(s for s, _ in base_runs), max(r for _, r in base_runs)
        print("runs (s): score.py " + ", ".join(f"{s:.2f}" for s, _ in ours_runs)
              + "; baseline " + ", ".join(f"{s:.2f}" for s, _ in base_runs))
        throughput = base_s / ours_s
        memory = ours_rss / base_rss
        print(f"score.py : {ours_s:7.2f} s  {args.rows / ours_s:>12,.0f} rows/s  peak RSS {ours_rss / 2**20:7.0f} MiB")
        print(f"baseline : {base_s:7.2f} s  {args.rows / base_s:>12,.0f} rows/s  peak RSS {base_rss / 2**20:7.0f} MiB")
        print(f"throughput ratio (ours / baseline): {throughput:.2f}x  (target >= 0.9x) "
              f"{'OK' if throughput >= 0.9 else 'MISSED'}")
        print(f"peak memory ratio (ours / baseline): {memory:.2f}  (target <= 0.5) "
              f"{'OK' if memory <= 0.5 else 'MISSED'}")

        if not args.skip_big:
            big = HERE / "data" / f"flights_{args.big_rows}.csv"
            big.parent.mkdir(exist_ok=True)
            if not big.is_file():
                t = time.perf_counter()
                write_big_csv(big, args.big_rows)
                print(f"wrote {big} ({big.stat().st_size / 2**30:.2f} GiB) in {time.perf_counter() - t:.0f} s")
            big_s, big_rss = measure([sys.executable, str(package / "score.py"), str(big),
                                      "-o", str(work / "big.parquet")])
            print(f"score.py on {args.big_rows:,} rows: {big_s:.1f} s, {args.big_rows / big_s:,.0f} rows/s, "
                  f"peak RSS {big_rss / 2**20:.0f} MiB (vs {ours_rss / 2**20:.0f} MiB for {args.rows:,} rows)")
        print(json.dumps({"rows": args.rows, "ours_s": round(ours_s, 2), "baseline_s": round(base_s, 2),
                          "ours_rss_mib": round(ours_rss / 2**20), "baseline_rss_mib": round(base_rss / 2**20),
                          "throughput_ratio": round(throughput, 3), "memory_ratio": round(memory, 3)}))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
