"""Figures a new analyst reads right (issue 20): the target scatter is a random sample of
the rows, the influential rows are listed, the model card is in words with its purpose,
and Monitor shows the holdout figures Validate shows for the same version."""

from __future__ import annotations

import re
import sqlite3
from html import unescape
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import run_cli
from mlops_desktop.core.explore import target_charts

FLIGHTS = Path(__file__).resolve().parent / "data" / "flights_6000.csv"


def test_the_target_scatter_is_a_seeded_random_sample_not_the_first_rows():
    # a file sorted by its target, as diamonds.csv is by price: the first 2,000 rows would
    # show only the smallest delays
    flights = pd.read_csv(FLIGHTS).dropna(subset=["arr_delay", "dep_delay"]).sort_values("arr_delay")
    x, y = flights["dep_delay"].to_numpy(float), flights["arr_delay"].to_numpy(float)
    chart = target_charts.numeric_vs_numeric(x, y, "dep_delay", "arr_delay")
    assert chart["shown"] == target_charts.MAX_POINTS == len(chart["y"]) and chart["of"] == len(flights)
    first_rows_top = y[target_charts.MAX_POINTS - 1]
    assert max(chart["y"]) > first_rows_top + 50  # the sample reaches the long delays
    assert np.quantile(chart["y"], 0.9) == pytest.approx(np.quantile(y, 0.9), abs=15)
    assert target_charts.numeric_vs_numeric(x, y, "a", "b")["y"] == chart["y"]  # seeded
    small = target_charts.numeric_vs_numeric(x[:50], y[:50], "a", "b")
    assert small["shown"] == small["of"] == 50


@pytest.fixture
def penguins(workspace, penguins_csv):
    workspace.import_file(penguins_csv, actor="ann")
    return workspace


def test_the_influential_rows_are_listed_numbered_as_on_the_data_page(penguins, tmp_path):
    from mlops_desktop.core.checks.for_dataset import check_dataset
    from mlops_desktop.core.data.catalog import row_at
    from mlops_desktop.core.report import write_report

    report = check_dataset(penguins, "penguins", "body_mass_g",
                           features=["flipper_length_mm", "bill_length_mm", "species"])
    influence = report.check("influence")
    head, rows = influence.rows_to_look_at()
    top = influence.figures["top_rows"]
    assert head[0] == "row" and len(rows) == len(top) > 0
    assert [r[0] for r in rows] == [t["row"] + 1 for t in top]  # counted from 1
    ds = penguins.dataset("penguins")
    frame = penguins.load_dataframe(ds)
    first = row_at(penguins, ds, top[0]["row"])
    assert first["body_mass_g"] == frame["body_mass_g"].iloc[top[0]["row"]]
    assert first["species"] == frame["species"].iloc[top[0]["row"]]
    html = write_report(tmp_path / "checks.html", checks=report).read_text()
    assert "The rows to look at" in html and f"<td class='num'>{rows[0][0]}</td>" in html
    # every point of its chart names the row it is, so a click can show that row
    assert len(influence.chart["labels"]) == len(influence.chart["x"])
    assert all(0 <= int(label) < ds.n_rows for label in influence.chart["labels"])


def test_the_card_is_in_words_with_the_purpose_stored_and_audited(penguins, tmp_path):
    from mlops_desktop.core.registry.annotations import set_purpose
    from mlops_desktop.core.train import TrainSpec, find_version, train
    from mlops_desktop.core.validate import model_card_html, model_card_markdown
    from mlops_desktop.core.validate.for_version import model_card, validate_version

    train(penguins, TrainSpec(dataset="penguins", target="body_mass_g", models=["ols"], model_name="mass",
                              features=["flipper_length_mm", "species"], cv_folds=3), actor="ann")
    validate_version(penguins, "mass", actor="bob", n_bootstrap=50)
    done = set_purpose(penguins, "mass", "Estimate a penguin's mass for the field team.", actor="ann")
    assert done == {"ref": "mass:1", "before": "", "after": "Estimate a penguin's mass for the field team.",
                    "changed": True}
    assert set_purpose(penguins, "mass:1", done["after"], actor="ann")["changed"] is False
    assert find_version(penguins, "mass:1").purpose == done["after"]
    entry = penguins.audit_entries(limit=1)[0]
    assert (entry.action, entry.actor) == ("model.purpose_set", "ann")
    card = model_card(penguins, "mass:1")
    md, html = model_card_markdown(card), model_card_html(card)
    for text in (md, unescape(html)):
        assert "Estimate a penguin's mass for the field team." in text
        training = text[text.index("Training"):text.index("Assumption checks")]
        assert "{" not in training and "[" not in training  # no JSON
        assert "random; 20% held out" in training and "3 folds" in training
        assert "ordinary least squares" in training.lower() or "least squares" in training.lower()
        assert not re.search(r"\d\d:\d\d:\d\d\.\d", text)  # no microseconds
    assert re.search(r"created by ann on \d{4}-\d\d-\d\d \d\d:\d\d UTC", md)
    assert penguins.verify_audit() == []
    # a purpose changed behind the app's back is found
    with sqlite3.connect(penguins.root / "registry.sqlite") as db:
        db.execute("UPDATE model_versions SET purpose = 'something else'")
    problems = penguins.verify_audit()
    assert any("purpose" in p for p in problems), problems


def test_cli_models_purpose(penguins):
    from mlops_desktop.core.train import TrainSpec, train

    train(penguins, TrainSpec(dataset="penguins", target="body_mass_g", models=["ols"], model_name="mass",
                              features=["flipper_length_mm"], cv_folds=3), actor="ann")
    penguins.close()
    out = run_cli("models", "purpose", "mass:1", "Field estimates", "--workspace", str(penguins.root),
                  "--as", "ann")
    assert out.returncode == 0, out.stderr
    assert "mass:1: purpose set" in out.stdout


def test_monitor_measures_a_batch_as_validate_does_and_shows_its_holdout_figures(penguins):
    from mlops_desktop.core.monitor import batches
    from mlops_desktop.core.monitor.drift import compare_batch
    from mlops_desktop.core.monitor.for_version import reference_for_version
    from mlops_desktop.core.train import TrainSpec, find_version, load_split, train
    from mlops_desktop.core.validate.for_version import validate_version

    train(penguins, TrainSpec(dataset="penguins", target="sex", models=["logistic"], model_name="sex",
                              features=["body_mass_g", "bill_depth_mm", "species"], cv_folds=3), actor="ann")
    before = reference_for_version(penguins, "sex")
    assert "not validated yet" in before.holdout_source
    validation = validate_version(penguins, "sex", actor="bob", n_bootstrap=50)
    validated = {m.name: m.value for m in validation.report.metrics}
    assert validation.report.threshold is not None and validation.report.threshold != 0.5
    ref = reference_for_version(penguins, "sex")
    assert ref.holdout_metrics == validated
    assert f"validation {validation.validation_id}" in ref.holdout_source and "threshold" in ref.holdout_source
    # the holdout itself as a labelled batch: Monitor's figures are Validate's, to the digit
    _, holdout = load_split(penguins, find_version(penguins, "sex").run_id)
    holdout = holdout[holdout["sex"].notna()]
    report = compare_batch(ref, batches.batch_from_frame(holdout, label="the holdout again"))
    current = report.performance["current"]
    for name in ("accuracy", "balanced_accuracy", "f1", "roc_auc"):
        assert current[name] == pytest.approx(validated[name])
    assert "balanced_accuracy" not in report.summary  # metric names in words
    assert "the holdout figures are those of validation" in report.summary
