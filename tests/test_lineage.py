"""Comparing two real versions and the lineage of a version and of a dataset: what each
holds, checked against the registry's own records and independent sources."""

from __future__ import annotations

import json
import math
import sys
import types

import pandas as pd
import pytest
import sklearn

from conftest import SAMPLES
from mlops_desktop.core.checks import accept_warning
from mlops_desktop.core.registry.compare import compare_versions
from mlops_desktop.core.registry.lifecycle import change_stage, set_alias
from mlops_desktop.core.registry.lineage import dataset_lineage, model_audit_trail, version_lineage
from mlops_desktop.core.store import drift_reports, validations
from mlops_desktop.core.train import TrainSpec, find_version, reproduce, run, train
from mlops_desktop.core.validate.for_version import validate_version


@pytest.fixture
def ws(governance_copy):
    """Two validated versions of "mass" and a draft "species" (tests/conftest.py)."""
    return governance_copy


def test_compare_two_validated_versions(ws):
    a, b = find_version(ws, "mass:1"), find_version(ws, "mass:2")
    accept_warning(ws, "penguins", "body_mass_g", a.features, "normality_residuals",
                   "Large sample; intervals come from the bootstrap.", "ann")
    typed = compare_versions(ws, "mass:1", "mass:2")
    c = typed.to_dict()  # what `models compare --json` prints
    json.dumps(c, allow_nan=False)  # JSON-safe
    assert typed.a.ref == c["a"]["ref"] and typed.features.removed == ("island",)
    assert typed.metrics.holdout[0].a.value == c["metrics"]["holdout"][0]["a"]["value"]

    assert c["a"]["ref"] == "mass:1" and c["b"]["family"] == "ridge" and not c["same_version"]
    assert c["data"]["same_data"] and c["data"]["same_dataset"] and c["data"]["same_target"]
    assert c["data"]["a"]["fingerprint"] == ws.dataset("penguins").fingerprint
    assert c["data"]["a"]["rows"]["train"] + c["data"]["a"]["rows"]["holdout"] == c["data"]["a"]["rows"]["used"]
    assert c["features"]["removed"] == sorted(set(a.features) - set(b.features), key=a.features.index) == ["island"]
    assert c["features"]["added"] == [] and set(c["features"]["common"]) == set(a.features) & set(b.features)

    diff = {d["setting"]: (d["a"], d["b"]) for d in c["spec"]["differences"]}
    assert diff["family"] == ("ols", "ridge") and diff["spec.exclude"] == ([], ["island"])
    assert diff["spec.models"] == (["ols"], ["ridge"])
    assert "spec.model_name" not in diff and "spec.model_name" not in c["spec"]["same"]
    assert "spec.seed" in c["spec"]["same"] and c["spec"]["library_differences"] == []
    # the table the page and the command print names the settings in words, not as JSON paths
    from mlops_desktop.core.registry.comparison_table import version_rows

    labels = [row[0] for row in version_rows(typed)]
    assert "models tried" in labels and "exclude" in labels
    assert not any(label.startswith(("spec.", "hyperparameters.")) for label in labels)

    stored = {k: {m["name"]: m for m in validations.latest(ws.registry, v.id)["report"]["metrics"]}
              for k, v in (("a", a), ("b", b))}
    rows = {r["name"]: r for r in c["metrics"]["holdout"]}
    assert set(rows) == set(stored["a"]) and rows["rmse"]["primary"]
    for name, r in rows.items():
        for side in ("a", "b"):
            assert r[side] == {k: stored[side][name][k] for k in ("value", "low", "high")}
        assert math.isclose(r["difference_b_minus_a"], stored["b"][name]["value"] - stored["a"][name]["value"])
        lo_a, hi_a, lo_b, hi_b = r["a"]["low"], r["a"]["high"], r["b"]["low"], r["b"]["high"]
        assert r["intervals_overlap"] == (max(lo_a, lo_b) <= min(hi_a, hi_b))
    assert c["metrics"]["notes"] == [] and c["metrics"]["same_holdout"]  # same data, split and seed
    cv = {r["name"]: r for r in c["metrics"]["cross_validation"]}
    assert cv["rmse"]["a"]["mean"] == a.metrics["cv"]["rmse"]["mean"]

    accepted = c["checks"]["a"]["accepted_warnings"]
    assert [(w["check_id"], w["accepted_by"]) for w in accepted] == [("normality_residuals", "ann")]
    assert c["checks"]["b"]["accepted_warnings"] == []  # another feature set
    assert c["segments"] == {"a": None, "b": None}


def test_compare_with_a_segmented_and_an_unvalidated_version(ws):
    train(ws, TrainSpec(dataset="penguins", target="body_mass_g", models=["ols"], segment_by="sex",
                        min_segment_rows=50, model_name="mass"), actor="ann")
    validate_version(ws, "mass:3", actor="ann", n_bootstrap=50)
    c = compare_versions(ws, "mass:1", "mass:3").to_dict()
    seg = c["segments"]["b"]
    assert seg["segment_by"] == "sex"
    assert {s["segment"] for s in seg["trained"]} >= {"female", "male"}
    validated = next(g for g in seg["validated"] if g["kind"] == "segment")
    assert validated["column"] == "sex"
    holdout = validations.latest(ws.registry, find_version(ws, "mass:3").id)["report"]["n_rows"]
    assert sum(g["count"] for g in validated["groups"]) == holdout
    assert any(d["setting"] == "spec.segment_by" and d["b"] == "sex" for d in c["spec"]["differences"])

    other = compare_versions(ws, "mass:1", "species:1").to_dict()
    assert not other["data"]["same_dataset"] and other["data"]["same_data"]  # same file, imported twice
    assert not other["data"]["same_target"]
    assert all(r["b"] is None and r["difference_b_minus_a"] is None for r in other["metrics"]["holdout"])
    assert other["metrics"]["validation"]["b"] is None and not other["metrics"]["same_holdout"]
    assert any("species:1 has no validation" in n for n in other["metrics"]["notes"])
    json.dumps(other, allow_nan=False)


def test_version_lineage_from_dataset_to_drift_reports(ws, monkeypatch):
    from mlops_desktop.core import store as registry_package
    from mlops_desktop.core.monitor.batches import batch_from_frame
    from mlops_desktop.core.monitor.drift import run_drift
    from mlops_desktop.core.monitor.reference import resolve_reference

    change_stage(ws, "mass:1", "approved", actor="bob", comment="Sound residuals.")
    set_alias(ws, "mass", "production", 1, actor="bob", comment="go live")
    reproduced = reproduce(ws, find_version(ws, "mass:1").run_id, actor="dan")
    drift = run_drift(ws, resolve_reference(ws, "mass:1"),
                      [batch_from_frame(pd.read_csv(SAMPLES / "penguins.csv"), label="all penguins")], actor="eve")

    typed = version_lineage(ws, "mass:1")
    lin = typed.to_dict()  # what `models show --json` prints under "lineage"
    json.dumps(lin, allow_nan=False)
    assert typed.run.id == 1 and typed.approvals[0].by == "bob" and typed.aliases == ("production",)
    ds, r = ws.dataset("penguins"), run(ws, 1)
    assert lin["dataset"]["fingerprint"] == ds.fingerprint == r.dataset_fingerprint
    assert lin["dataset"]["fingerprint_matches_run"] is True
    assert lin["dataset"]["source_path"] == ds.source_path and lin["dataset"]["source_path"].endswith("penguins.csv")
    assert lin["dataset"]["import_options"] == ds.options and lin["dataset"]["import_options"]["delimiter"] == ","
    assert lin["run"]["id"] == 1 and lin["run"]["seed"] == 42 and lin["run"]["spec"] == r.spec
    assert lin["run"]["library_versions"]["scikit-learn"] == sklearn.__version__
    assert lin["run"]["library_versions"]["pandas"] == pd.__version__
    assert lin["reproductions"] == [{"run_id": reproduced.run_id, "status": "succeeded",
                                     "started_at": run(ws, reproduced.run_id).started_at,
                                     "created_by": "dan", "same_predictions": True}]
    assert lin["version"]["ref"] == "mass:1" and lin["version"]["artifact_sha256"] == find_version(ws, "mass:1").artifact_sha256
    assert [(s["to_stage"], s["changed_by"]) for s in lin["stage_changes"]] == [("validated", "ann"), ("approved", "bob")]
    assert lin["approvals"] == [{"by": "bob", "at": lin["stage_changes"][1]["changed_at"],
                                 "comment": "Sound residuals.", "self_approved": False}]
    assert lin["aliases"] == ["production"]
    assert [(m["alias"], m["to_version"], m["comment"]) for m in lin["alias_moves"]] == [("production", 1, "go live")]
    assert [v["beats_baseline"] for v in lin["validations"]] == [True]
    stored = drift_reports.list_reports(ws.registry, series_id=drift.series_id)
    assert [d["id"] for d in lin["drift_reports"]] == [s["id"] for s in stored] and len(stored) == 1
    assert lin["drift_reports"][0]["created_by"] == "eve"
    assert lin["exports"] == []  # no export yet
    nodes = {n["id"] for n in lin["graph"]["nodes"]}
    assert {"dataset:1", "run:1", "version:1"} <= nodes
    assert {"from": "dataset:1", "to": "run:1", "label": "trained on"} in lin["graph"]["edges"]
    assert all(e["from"] in nodes and e["to"] in nodes for e in lin["graph"]["edges"])

    # exports come from the export feature's registry module
    fake = types.ModuleType("mlops_desktop.core.store.exports")
    fake.for_version = lambda reg, version_id: [{"id": 7, "version_id": version_id, "out_path": "/out/mass-1.zip"}]
    monkeypatch.setitem(sys.modules, fake.__name__, fake)
    monkeypatch.setattr(registry_package, "exports", fake, raising=False)
    lin = version_lineage(ws, "mass:1").to_dict()
    assert lin["exports"] == [{"id": 7, "version_id": find_version(ws, "mass:1").id, "out_path": "/out/mass-1.zip"}]
    assert {"from": "version:1", "to": "export:7", "label": "exported"} in lin["graph"]["edges"]


def test_dataset_lineage_lists_every_run_and_version_that_used_it(ws):
    reproduce(ws, 1, actor="dan")
    lin = dataset_lineage(ws, "penguins")
    json.dumps(lin, allow_nan=False)
    assert lin["dataset"]["name"] == "penguins" and lin["same_data_as"] == [ws.dataset("penguins_copy").id]
    assert [(r["run_id"], r["kind"], r["model"], r["version"]) for r in lin["runs"]] == [
        (1, "train", "mass", 1), (2, "train", "mass", 2), (4, "reproduce", None, None)]
    assert lin["runs"][2]["reproduces_run_id"] == 1
    assert [v["ref"] for v in lin["versions"]] == ["mass:1", "mass:2"]
    assert {"from": "run:2", "to": f"version:{find_version(ws, 'mass:2').id}", "label": "registered"} in lin["graph"]["edges"]
    other = dataset_lineage(ws, "penguins_copy")
    assert [v["ref"] for v in other["versions"]] == ["species:1"] and [r["run_id"] for r in other["runs"]] == [3]


def test_the_audit_trail_of_a_model_holds_its_versions_and_runs_only(ws):
    change_stage(ws, "mass:1", "approved", actor="bob", comment="ok")
    set_alias(ws, "mass", "production", 1, actor="bob")
    trail = model_audit_trail(ws, "mass")
    actions = [e["action"] for e in trail]
    assert actions[:2] == ["model.alias_moved", "model.stage_changed"]
    assert {"model.registered", "model.version_created", "run.started", "run.finished", "model.validated"} <= set(actions)
    species = find_version(ws, "species:1")
    assert not any(e["summary"].startswith(("species", "Model species")) for e in trail)
    assert not any(e["entity_type"] == "model_version" and e["entity_id"] == str(species.id) for e in trail)
    assert [e["seq"] for e in trail] == sorted((e["seq"] for e in trail), reverse=True)
    assert len(model_audit_trail(ws, "mass", limit=3)) == 3
