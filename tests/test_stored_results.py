"""Stored results open again as they were made, without recomputing: a check run (new
in migration 10), a model version's latest validation and a drift comparison of
several batches. Each stored record is audited and checked by ``verify``."""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import SAMPLES, run_cli
from mlops_desktop.core.workspace.integrity import verify_workspace
from mlops_desktop.core.workspace import Workspace


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict:
    """Penguins with a stored check run of body mass, one validated and one unvalidated
    version, and a drift comparison of two batches against the dataset."""
    from mlops_desktop.core.checks.for_dataset import check_dataset
    from mlops_desktop.core.monitor import Reference, batch_from_frame, run_drift
    from mlops_desktop.core.train import TrainSpec, train
    from mlops_desktop.core.validate.for_version import validate_version

    base = tmp_path_factory.mktemp("stored")
    csv = base / "penguins.csv"
    shutil.copy(SAMPLES / "penguins.csv", csv)
    root = base / "ws"
    with Workspace.create(root, actor="ann") as ws:
        ws.import_file(csv, actor="ann")
        check_dataset(ws, "penguins", "body_mass_g", store=True, actor="ann")  # an older run
        checks = check_dataset(ws, "penguins", "body_mass_g", features=["flipper_length_mm", "island"],
                               store=True, actor="bob")
        spec = TrainSpec(dataset="penguins", target="body_mass_g", models=["ols"], model_name="mass")
        train(ws, spec, actor="ann")
        train(ws, spec, actor="ann")
        validation = validate_version(ws, "mass:1", actor="cy", n_bootstrap=50)
        frame = ws.load_table(ws.dataset("penguins")).to_pandas()
        batches = [batch_from_frame(frame[frame["island"] == "Dream"], label="Dream"),
                   batch_from_frame(frame[frame["island"] != "Dream"], label="not Dream")]
        drift = run_drift(ws, Reference.from_dataset(ws, "penguins"), batches, actor="dee")
    return {"root": root, "checks": checks, "validation": validation, "drift": drift}


@pytest.fixture
def ws(built):
    with Workspace.open(built["root"]) as opened:
        yield opened


@pytest.fixture
def ws_copy(built, tmp_path) -> Path:
    dest = tmp_path / "copy"
    shutil.copytree(built["root"], dest)
    return dest


def _without_acceptances(d: dict) -> dict:
    return {**d, "checks": [{**c, "accepted": None} for c in d["checks"]]}


# -- check runs ------------------------------------------------------------------------------------

def test_the_last_check_run_opens_as_it_was_stored(built, ws):
    from mlops_desktop.core.checks import last_check_run
    from mlops_desktop.core.store import check_runs

    made = built["checks"]
    opened = last_check_run(ws, "penguins", "body_mass_g")
    assert opened is not None and opened.id == made.id == 2  # the newer of the two runs
    assert (opened.created_by, opened.features) == ("bob", ["flipper_length_mm", "island"])
    assert opened.to_dict() == made.to_dict()
    assert last_check_run(ws, "penguins", "species") is None  # never checked for that target
    # the audit entry holds the SHA-256 of exactly what is stored
    stored = check_runs.get(ws.registry, made.id)
    entry = next(e for e in ws.audit_entries() if e.action == "check.run_recorded"
                 and e.details["check_run_id"] == made.id)
    text = json.dumps(stored["report"], sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    assert entry.details["report_sha256"] == hashlib.sha256(text.encode()).hexdigest()
    assert (entry.actor, entry.entity_type, entry.entity_id) == ("bob", "dataset", "1")


def test_a_warning_accepted_after_the_run_shows_when_it_opens(built, ws_copy):
    from mlops_desktop.core.checks import accept_warning, last_check_run

    with Workspace.open(ws_copy) as ws:
        run = last_check_run(ws, "penguins", "body_mass_g")
        warned = next(c for c in run.checks if c.verdict in ("warning", "problem"))
        assert warned.accepted is None
        accept_warning(ws, "penguins", "body_mass_g", run.features, warned.id, "ranking only", "eve",
                       result=warned)
        again = last_check_run(ws, "penguins", "body_mass_g")
    assert again.check(warned.id).accepted["reason"] == "ranking only"
    assert _without_acceptances(again.to_dict()) == _without_acceptances(built["checks"].to_dict())


def test_opening_a_check_run_loads_neither_statsmodels_nor_scipy(built):
    """Reading is instant: the checks themselves (statsmodels, scipy) are not imported."""
    code = textwrap.dedent("""
        import sys, time
        from mlops_desktop.core.workspace import Workspace
        from mlops_desktop.core.checks import last_check_run
        with Workspace.open(sys.argv[1]) as ws:
            run = last_check_run(ws, "penguins", "body_mass_g")
        assert run is not None and run.checks
        print(sorted(m for m in ("statsmodels", "scipy", "sklearn") if m in sys.modules))
    """)
    done = subprocess.run([sys.executable, "-c", code, str(built["root"])], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_an_edited_or_deleted_check_run_is_named(ws_copy):
    def tamper(*statements: str) -> list[tuple[str, str]]:
        conn = sqlite3.connect(ws_copy / "registry.sqlite")
        conn.create_function("sha256", 1, lambda t: hashlib.sha256(t.encode()).hexdigest())
        for sql in statements:
            conn.execute(sql)
        conn.commit()
        conn.close()
        with Workspace.open(ws_copy) as ws:
            return [(p.kind, p.message) for p in verify_workspace(ws).findings]

    edited = tamper("UPDATE check_runs SET report = replace(report, '\"warning\"', '\"ok\"') WHERE id = 2")
    assert any(k == "record_altered" and "check run 2" in m and "SHA-256" in m for k, m in edited), edited
    # the same edit with the hash recomputed still differs from the audit entry
    rehashed = tamper("UPDATE check_runs SET report_sha256 = sha256(report) WHERE id = 2",
                      "DELETE FROM check_runs WHERE id = 1")
    assert not any("SHA-256" in m for _, m in rehashed), rehashed
    assert any(k == "record_altered" and "check run 2" in m and "report or its dataset differs" in m
               for k, m in rehashed), rehashed
    assert any(k == "record_deleted" and "check run 1" in m for k, m in rehashed), rehashed


def test_a_backup_keeps_the_check_runs(built, tmp_path):
    from mlops_desktop.core.workspace.backup import backup, restore
    from mlops_desktop.core.checks import last_check_run

    with Workspace.open(built["root"]) as ws:
        backup(ws, tmp_path / "b.zip", actor="ann")
    restored = restore(tmp_path / "b.zip", tmp_path / "restored", actor="ann")
    assert restored.ok
    with Workspace.open(tmp_path / "restored") as ws:
        assert last_check_run(ws, "penguins", "body_mass_g").to_dict() == built["checks"].to_dict()


def test_the_cli_stores_a_run_and_shows_the_last_one(built, ws_copy):
    shown = run_cli("check", "penguins", "--target", "body_mass_g", "--last", "--workspace", str(ws_copy),
                    "--json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["id"] == built["checks"].id
    missing = run_cli("check", "penguins", "--target", "species", "--last", "--workspace", str(ws_copy))
    assert missing.returncode == 2 and "--store" in missing.stderr
    stored = run_cli("check", "penguins", "--target", "species", "--store", "--as", "fay",
                     "--workspace", str(ws_copy), "--json")
    assert stored.returncode == 0, stored.stderr
    data = json.loads(stored.stdout)
    assert data["created_by"] == "fay" and data["id"] == 3
    text = run_cli("check", "penguins", "--target", "species", "--last", "--workspace", str(ws_copy))
    assert "Stored as check run 3" in text.stdout and "by fay" in text.stdout


# -- validations --------------------------------------------------------------------------------------

def test_the_latest_validation_opens_without_loading_the_model(built, ws, monkeypatch):
    import mlops_desktop.core.train as train_module
    from mlops_desktop.core.validate.for_version import latest_validation

    def refuse(*_a, **_k):
        raise AssertionError("reopening a validation must not load the model")

    monkeypatch.setattr(train_module, "load_model", refuse)
    made = built["validation"]
    opened = latest_validation(ws, "mass:1")
    assert (opened.validation_id, opened.data, opened.created_by) == (made.validation_id, made.data, "cy")
    assert opened.created_at and opened.to_dict() == made.to_dict()
    assert opened.report.curves and opened.report.importance  # the charts' data, not only the metrics
    assert latest_validation(ws, "mass:2") is None


# -- drift comparisons -------------------------------------------------------------------------------

def test_a_drift_comparison_of_two_batches_opens_with_both(built, ws):
    from mlops_desktop.core.monitor import drift_runs, load_run

    made = built["drift"]
    listed = drift_runs(ws, dataset="penguins")
    assert len(listed) == 1
    stored = listed[0]
    assert (stored.series_id, stored.created_by) == (made.series_id, "dee")
    assert stored.batch_labels == ["Dream", "not Dream"]
    assert stored.report_ids == [r.id for r in made.reports]
    assert stored.verdicts == [r.verdict for r in made.reports]
    opened = load_run(ws, stored.series_id)
    assert [r.to_dict() for r in opened.reports] == [r.to_dict() for r in made.reports]
    assert opened.timeline.to_dict() == made.timeline.to_dict()
    assert drift_runs(ws, model_name="mass") == []  # against the dataset, not a model


def test_a_comparison_against_a_model_is_listed_under_the_model_only(built, ws_copy):
    from mlops_desktop.core.monitor import batch_from_dataset, drift_runs, resolve_reference, run_drift

    with Workspace.open(ws_copy) as ws:
        made = run_drift(ws, resolve_reference(ws, "mass:1"), [batch_from_dataset(ws, "penguins")], actor="dee")
        assert [r.series_id for r in drift_runs(ws, model_name="mass", model_version=1)] == [made.series_id]
        assert drift_runs(ws, model_name="mass", model_version=2) == []
        assert [r.series_id for r in drift_runs(ws, dataset="penguins")] == [built["drift"].series_id]
        assert [r.series_id for r in drift_runs(ws)] == [made.series_id, built["drift"].series_id]
