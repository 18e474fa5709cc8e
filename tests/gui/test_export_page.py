"""The Export page: only approved versions, what the package will hold, an export with
progress that lands in the registry, and a clear refusal for anything else."""

from __future__ import annotations

import json

import pytest

from .conftest import screenshot, wait_jobs


@pytest.fixture
def approved(window, penguins_csv):
    from mlops_desktop.core.registry.lifecycle import change_stage, set_alias
    from mlops_desktop.core.train import TrainSpec, train
    from mlops_desktop.core.validate.for_version import validate_version

    ws = window.state.workspace
    ws.import_file(penguins_csv, actor="ann")
    for _ in range(2):
        train(ws, TrainSpec(dataset="penguins", target="body_mass_g", models=["ols"], model_name="mass"),
              actor="ann")
    validate_version(ws, "mass:1", actor="ann", n_bootstrap=100)
    change_stage(ws, "mass:1", "validated", actor="ann")
    change_stage(ws, "mass:1", "approved", actor="bob", comment="Residuals and intervals checked.")
    set_alias(ws, "mass", "production", 1, actor="bob")
    window.state.models_changed.emit("")
    return window


def test_exports_an_approved_version_with_progress(approved, qtbot, tmp_path):
    from mlops_desktop.core.store import exports

    window = approved
    window.go_to("Export")
    page = window.page("Export")
    assert page.stack.currentWidget() is page.content
    assert [page.version.itemData(i) for i in range(page.version.count())] == ["mass:1"]  # approved only
    assert page.plan.exportable and "Approved by bob" in page.summary.text()
    paths = [page.files.item(r, 0).text() for r in range(page.files.rowCount())]
    for expected in ("model/model.skops", "score.py", "schema.json", "requirements.txt", "manifest.json",
                     "README.md", "MLmodel", "reference_profile.json"):
        assert expected in paths
    screenshot(window, "export_plan")

    out = tmp_path / "package"
    page.destination.setText(str(out))
    page.export()
    wait_jobs(qtbot, window, timeout_s=180)
    assert page.last_result is not None, page.result.text()
    manifest = json.loads((out / "manifest.json").read_text())
    assert (manifest["model"], manifest["version"]) == ("mass", 1)
    assert [a["by"] for a in manifest["approved_by"]] == ["bob"]
    assert "Exported" in page.result.text() and str(out) in page.result.text()
    assert page.open_button.isVisible()
    rows = exports.for_version(window.state.workspace.registry, page.plan.version_id)
    assert len(rows) == 1
    assert page.previous.rowCount() == 1
    screenshot(window, "export_done")

    page.export()  # the folder exists now: refused with a message, nothing changed
    wait_jobs(qtbot, window, timeout_s=60)
    assert len(exports.for_version(window.state.workspace.registry, page.plan.version_id)) == 1


def test_a_draft_version_says_why_it_cannot_be_exported(approved, qtbot):
    window = approved
    window.go_to("Registry")
    registry = window.page("Registry")
    registry.select_ref("mass:2")
    wait_jobs(qtbot, window)
    assert not registry.buttons["export"].isEnabled()
    registry.select_ref("mass:1")
    wait_jobs(qtbot, window)
    assert registry.buttons["export"].isEnabled()
    page = window.page("Export")
    page.select("mass:2")
    assert not page.approved_only.isChecked()
    assert page.version.currentData() == "mass:2"
    assert not page.plan.exportable and not page.export_button.isEnabled()
    assert "only an approved version can be exported" in page.summary.text()
    screenshot(window, "export_refused")


def test_empty_export_page_says_what_to_do(window):
    window.go_to("Export")
    page = window.page("Export")
    assert page.stack.currentWidget() is page.empty
