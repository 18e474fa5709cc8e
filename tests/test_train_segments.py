"""Segmentation ("many simple models"): one model per value with enough rows, a global
fallback for the rest, one registered version, results per segment, progress per
segment, and a reproduction that is identical."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlops_desktop.core.errors import InvalidChoiceError
from mlops_desktop.core.train import TrainSpec, load_model, load_split, reproduce, train
from mlops_desktop.core.train import environment
from mlops_desktop.core.train.estimators import SegmentRouter
from mlops_desktop.core.train.metrics import prediction_hash
from mlops_desktop.core.train.cv import predict_for_metrics as holdout_predictions
from mlops_desktop.core.workspace import Workspace

SIZES = {"north": 260, "south": 220, "east": 200, "west": 30}


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    """Stores whose demand follows a different slope per region (west is small)."""
    base = tmp_path_factory.mktemp("segments")
    rng = np.random.RandomState(0)
    slope = {"north": 3.0, "south": -2.0, "east": 0.5, "west": 1.0}
    rows = []
    for region, n in SIZES.items():
        price = rng.uniform(1, 10, size=n)
        promo = rng.choice(["yes", "no"], size=n)
        demand = 50 + slope[region] * price + np.where(promo == "yes", 5, 0) + rng.normal(0, 1, n)
        rows.append(pd.DataFrame({"chain": "acme", "region": region, "price": price, "promo": promo, "demand": demand,
                                  "busy": np.where(demand > 55, "high", "low")}))
    path = base / "stores.csv"
    pd.concat(rows, ignore_index=True).to_csv(path, index=False)
    with Workspace.create(base / "ws", actor="setup") as w:
        w.import_file(path, actor="setup")
        yield w


def test_one_model_per_large_segment_and_a_fallback(ws, monkeypatch):
    # two workers even for this small table, so the parallel path is the one tested
    monkeypatch.setattr(environment, "PARALLEL_MIN_CELLS", 0)
    messages = []
    result = train(ws, TrainSpec(dataset="stores", target="demand", models=["ols", "tree"],
                                 exclude=["busy"], segment_by="region", min_segment_rows=100,
                                 model_name="demand"),
                   actor="analyst", progress=lambda f, m: messages.append(m))
    assert result.segment_by == "region" and "region" not in [f["name"] for f in result.features]
    segments = result.chosen_candidate["segments"]
    assert [s["segment"] for s in segments] == ["north", "south", "east", "(fallback)"]
    fallback = segments[-1]
    assert fallback["serves"] == ["west", "missing or unseen values"]
    assert sum(s["holdout_rows"] for s in segments) == result.rows["holdout"]
    for s in segments[:-1]:
        assert s["train_rows"] >= 100 and s["cv"]["rmse"]["mean"] is not None
    # per-segment slopes fit far better than one global line
    assert result.chosen == "ols" and result.metrics["holdout"]["r2"] > 0.9
    for region in ("north", "south", "east"):
        assert any(f"segment {region} done" in m for m in messages)

    router = load_model(ws, "demand")
    assert isinstance(router, SegmentRouter)
    assert sorted(router.segment_pipelines_) == ["east", "north", "south"]
    _, holdout = load_split(ws, result.run_id)
    assert prediction_hash(holdout_predictions(router, holdout, None)) == result.prediction_sha256


def test_rows_go_to_their_segments_pipeline_and_unseen_ones_to_the_fallback(ws):
    router = load_model(ws, "demand")
    new = pd.DataFrame({"region": ["north", "south", "west", "mars", None],
                        "price": [5.0] * 5, "promo": ["no"] * 5})
    predicted = router.predict(new)
    assert predicted[0] == router.segment_pipelines_["north"].predict(new.iloc[[0]])[0]
    assert predicted[1] == router.segment_pipelines_["south"].predict(new.iloc[[1]])[0]
    np.testing.assert_array_equal(predicted[2:], router.fallback_.predict(new.iloc[2:]))
    assert predicted[0] == pytest.approx(65, abs=1.5) and predicted[1] == pytest.approx(40, abs=1.5)


def test_a_segmented_run_reproduces_identically(ws):
    result = train(ws, TrainSpec(dataset="stores", target="busy", models=["lasso"], segment_by="region",
                                 min_segment_rows=100, search_candidates=2, model_name="busy"),
                   actor="analyst")
    assert result.task == "binary"
    leak = next(e for e in result.excluded if e["column"] == "demand")
    assert "suspected leak" in leak["reason"]  # busy is demand above 55
    params = result.chosen_candidate["hyperparameters"]
    assert set(params) == {"fallback", "segments"} and set(params["segments"]) == {"north", "east"}
    # south's demand never exceeds 55: one class, nothing to learn there; the fallback serves it
    assert any("south hold a single class" in n for n in result.notes)
    assert "south" in result.chosen_candidate["segments"][-1]["serves"]
    again = reproduce(ws, result.run_id, actor="checker")
    assert again.identical, again.to_dict()


def test_a_segment_column_with_one_value_is_refused(ws):
    with pytest.raises(InvalidChoiceError, match="needs at least two values"):
        train(ws, TrainSpec(dataset="stores", target="demand", segment_by="chain", min_segment_rows=10),
              actor="a")


def test_no_segment_reaching_the_minimum_is_refused(ws):
    with pytest.raises(InvalidChoiceError, match="lower the minimum segment size"):
        train(ws, TrainSpec(dataset="stores", target="demand", segment_by="region",
                            min_segment_rows=10_000), actor="a")
