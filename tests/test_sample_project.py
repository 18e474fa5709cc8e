"""The sample project: built by the app's own core from the bundled sample, every step
recorded, and nothing left behind when it fails or is cancelled."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from mlops_desktop.core.errors import JobCancelled, WorkspaceError
from mlops_desktop.core.jobs import CancelToken
from mlops_desktop.core.sample_project import build_sample_project, default_sample_project_dir, sample_file
from mlops_desktop.core.workspace import Workspace

from conftest import SAMPLES


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("sample") / "project"
    reports: list[tuple[float | None, str]] = []
    project = build_sample_project(root, actor="ana", progress=lambda f, m: reports.append((f, m)))
    return project, reports


def test_sample_file_is_the_bundled_penguins():
    assert sample_file().resolve() == (SAMPLES / "penguins.csv").resolve()


def test_holds_one_dataset_model_validation_and_drift_report(built):
    from mlops_desktop.core.checks import last_check_run
    from mlops_desktop.core.monitor import drift_reports
    from mlops_desktop.core.store import validations
    from mlops_desktop.core.train import find_version, runs

    project, _ = built
    source = pd.read_csv(SAMPLES / "penguins.csv")
    with Workspace.open(project.root) as ws:
        datasets = ws.datasets()
        assert [(d.id, d.name, d.n_rows, d.n_columns) for d in datasets] == \
            [(project.dataset_id, "penguins", len(source), source.shape[1])]
        roles = {c.name: c.role for c in ws.dataset(project.dataset_id).columns}
        assert (roles["species"], roles["year"], roles["island"]) == ("target", "ignore", "feature")
        assert [r.status for r in runs(ws)] == ["succeeded"]
        mv = find_version(ws, project.model)
        assert (mv.target, mv.stage) == ("species", "validated")
        assert "year" not in mv.features and "island" in mv.features
        stored = validations.latest(ws.registry, mv.id)
        assert stored is not None and stored["id"] == project.validation_id
        reports = drift_reports(ws)
        assert [r.id for r in reports] == [project.drift_report_id]
        checked = last_check_run(ws, project.dataset_id, "species")
        assert checked is not None and checked.id == project.check_run_id and checked.created_by == "ana"
        assert checked.task == "classification" and "class_balance" in {c.id for c in checked.checks}
        assert (reports[0].model_name, reports[0].model_version) == (mv.model, mv.version)
        assert ws.verify_audit() == []
        actions = [e.action for e in ws.audit_entries()]
        assert all(e.actor == "ana" for e in ws.audit_entries())
    for expected in ("workspace.created", "dataset.imported", "check.run_recorded", "model.version_created",
                     "model.validated", "model.stage_changed", "drift.report_created"):
        assert expected in actions


def test_model_predicts_its_holdout_as_recorded(built):
    """The registered model is a real fitted model: its holdout accuracy, computed here
    with numpy, is the one the run recorded."""
    from mlops_desktop.core.train import find_version, load_model, load_split

    project, _ = built
    with Workspace.open(project.root) as ws:
        mv = find_version(ws, project.model)
        model = load_model(ws, mv.ref)
        _train, holdout = load_split(ws, mv.run_id)
    holdout = holdout[holdout["species"].notna()]
    accuracy = float(np.mean(model.predict(holdout[mv.features]) == holdout["species"].to_numpy()))
    assert len(holdout) > 40
    assert accuracy == pytest.approx(mv.metrics["holdout"]["accuracy"])
    assert accuracy > 0.9  # species are well separated by the bill and flipper measurements


def test_drift_report_flags_the_one_island_batch(built):
    """The batch of one island drifts on island and the body measurements; checked
    against scipy's two-sample KS test on the same rows."""
    from mlops_desktop.core.monitor import load_report
    from mlops_desktop.core.train import find_version, load_split

    project, _ = built
    with Workspace.open(project.root) as ws:
        report = load_report(ws, project.drift_report_id)
        mv = find_version(ws, project.model)
        train, _ = load_split(ws, mv.run_id)
    source = pd.read_csv(SAMPLES / "penguins.csv")
    biscoe = source[source["island"] == "Biscoe"]
    assert project.drift_verdict == report.verdict == "drift"
    assert report.batch["rows"] == len(biscoe)
    assert report.feature("island").verdict == "major"
    ks = report.feature("flipper_length_mm")
    reference = stats.ks_2samp(train["flipper_length_mm"].dropna(), biscoe["flipper_length_mm"].dropna())
    assert ks.verdict != "no drift"
    assert ks.metrics["ks_statistic"] == pytest.approx(reference.statistic, abs=1e-9)
    assert ks.metrics["ks_p_value"] == pytest.approx(reference.pvalue, rel=1e-6)


def test_progress_rises_to_done(built):
    _, reports = built
    fractions = [f for f, _ in reports if f is not None]
    assert fractions == sorted(fractions)
    assert fractions[-1] == 1.0
    messages = " ".join(m for _, m in reports)
    for word in ("Importing", "Checking", "Training", "Validating", "Comparing"):
        assert word in messages


def test_refuses_a_folder_in_use_and_leaves_it_alone(tmp_path: Path, built):
    project, _ = built
    with pytest.raises(WorkspaceError, match="already a workspace"):
        build_sample_project(project.root, actor="ana")
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    with pytest.raises(WorkspaceError, match="not empty"):
        build_sample_project(busy, actor="ana")
    assert [p.name for p in busy.iterdir()] == ["notes.txt"]


@pytest.mark.parametrize("existing", [False, True])
def test_cancel_leaves_nothing_behind(tmp_path: Path, existing: bool):
    root = tmp_path / "project"
    if existing:
        root.mkdir()
    token = CancelToken()

    def progress(fraction, message):
        if message.startswith("Training"):
            token.cancel()  # the user presses Cancel while the model trains

    with pytest.raises(JobCancelled):
        build_sample_project(root, actor="ana", progress=progress, cancel=token)
    if existing:
        assert root.is_dir() and list(root.iterdir()) == []
    else:
        assert not root.exists()


def test_default_folder_skips_what_a_killed_build_left(_isolated_user_dirs: Path):
    first = default_sample_project_dir()
    assert first.name == "sample-project" and _isolated_user_dirs in first.parents
    first.mkdir(parents=True)
    assert default_sample_project_dir() == first  # empty: usable
    (first / "registry.sqlite-journal").write_text("left over")
    assert default_sample_project_dir() == first.with_name("sample-project-2")
    Workspace.create(first.with_name("sample-project-2"), actor="ana").close()
    assert default_sample_project_dir() == first.with_name("sample-project-2")  # built: opened again
