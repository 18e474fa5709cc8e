"""Model files: the skops files the app stores against the zlib pickles earlier versions
stored, for large models trained on the flights sample in tests/data: a random forest
(100 full-depth trees) and a histogram gradient boosting model per carrier (with a
fallback). Prints, for each, the time to save and to load and the size on disk, best of
``--repeat`` runs.

    .venv/bin/python bench/model_files.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import pickle
import shutil
import tempfile
import time
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
SAMPLE = HERE.parent / "tests" / "data" / "flights_6000.csv"
FEATURES = ["dep_delay", "distance", "carrier", "origin", "dest", "hour", "month", "air_time"]


def best(fn, repeat: int) -> tuple[float, object]:
    fastest, out = float("inf"), None
    for _ in range(repeat):
        started = time.perf_counter()
        out = fn()
        fastest = min(fastest, time.perf_counter() - started)
    return fastest, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    from mlops_desktop.core.model_format import model_from_bytes, model_to_bytes
    from mlops_desktop.core.train import TrainSpec, load_model, train
    from mlops_desktop.core.workspace import Workspace

    work = Path(tempfile.mkdtemp(prefix="bench-model-files-"))
    try:
        shutil.copy(SAMPLE, work / "flights.csv")
        with Workspace.create(work / "ws", actor="bench") as ws:
            ws.import_file(work / "flights.csv", name="flights", actor="bench")
            cases = {"random forest": dict(models=["random_forest"]),
                     "boosting per carrier": dict(models=["hgb"], segment_by="carrier", min_segment_rows=100)}
            for label, extra in cases.items():
                result = train(ws, TrainSpec(dataset="flights", target="arr_delay", features=FEATURES, cv_folds=2,
                                             model_name=label.replace(" ", "-"), **extra), actor="bench")
                model = load_model(ws, f"{result.model}:{result.version}")
                old_save, old = best(lambda: zlib.compress(pickle.dumps(model, protocol=5), 3), args.repeat)
                old_load, _ = best(lambda: pickle.loads(zlib.decompress(old)), args.repeat)
                new_save, new = best(lambda: model_to_bytes(model), args.repeat)
                new_load, _ = best(lambda: model_from_bytes(new), args.repeat)
                print(f"{label}: pickle+zlib save {old_save * 1e3:6.0f} ms, load {old_load * 1e3:5.0f} ms, "
                      f"{len(old) / 1e6:5.2f} MB | skops save {new_save * 1e3:6.0f} ms, load "
                      f"{new_load * 1e3:5.0f} ms, {len(new) / 1e6:5.2f} MB")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
