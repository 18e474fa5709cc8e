"""The Registry page: the list and its filters, lineage, history, comparison and the
lifecycle actions, through the widgets, with the core's rules deciding."""

from __future__ import annotations

import pytest

from .conftest import message_boxes, screenshot, wait_jobs


@pytest.fixture
def registry(window, penguins_csv):
    from mlops_desktop.core.train import TrainSpec, train
    from mlops_desktop.core.validate.for_version import validate_version

    ws = window.state.workspace
    ws.import_file(penguins_csv, actor="ann")
    for models in (["ols"], ["ridge"]):
        train(ws, TrainSpec(dataset="penguins", target="body_mass_g", models=models, model_name="mass"),
              actor="ann")
    train(ws, TrainSpec(dataset="penguins", target="flipper_length_mm", models=["ols"], model_name="flipper"),
          actor="ann")
    for ref in ("mass:1", "mass:2"):
        validate_version(ws, ref, actor="ann", n_bootstrap=100)
    window.state.models_changed.emit("")
    window.go_to("Registry")
    return window.page("Registry")


def close_boxes() -> list[str]:
    texts = []
    for box in message_boxes():
        texts.append(box.text())
        box.close()
    return texts


def test_lists_filters_and_shows_lineage_history_and_comparison(registry, window, qtbot):
    page = registry
    assert page.stack.currentWidget() is page.splitter
    assert sorted(r["ref"] for r in page.model.rows) == ["flipper:1", "mass:1", "mass:2"]
    assert page.count.text().startswith("3 versions")

    page.search.setText("mass")
    qtbot.waitUntil(lambda: len(page.model.rows) == 2, timeout=2000)
    page.stage.setCurrentIndex(page.stage.findData("validated"))
    assert page.model.rows == []
    page.stage.setCurrentIndex(0)
    page.tag.setText("=x")
    qtbot.waitUntil(lambda: "KEY=VALUE" in page.count.text(), timeout=2000)
    page.tag.setText("")
    page.search.setText("")
    qtbot.waitUntil(lambda: len(page.model.rows) == 3, timeout=2000)

    page.select_ref("mass:2")
    wait_jobs(qtbot, window)
    assert page.lineage.ref == "mass:2"
    assert page.detail_title.text().startswith("mass:2 — draft")
    top = page.lineage_nodes[0]
    assert top.label == "Dataset penguins" and top.detail.startswith("344 rows")
    labels = []

    def walk(node):
        labels.append(node.label)
        for child in node.children:
            walk(child)
    walk(top)
    assert "Run " + str(page.lineage.run.id) in labels
    assert "Version mass:2" in labels and any(label.startswith("Validation") for label in labels)
    assert "Version mass:2" in page.tree.toPlainText()
    assert page.history.rowCount() >= 3  # trained, registered, validated
    page.tabs.setCurrentIndex(2)
    assert page.compare_with.currentText() == "mass:1"
    aspects = [page.compare_table.item(r, 0).text() for r in range(page.compare_table.rowCount())]
    assert "Family" in aspects and any("(primary)" in a for a in aspects)
    family = aspects.index("Family")
    assert {page.compare_table.item(family, 1).text(), page.compare_table.item(family, 2).text()} == {"ols", "ridge"}
    screenshot(window, "registry_compare")
    page.tabs.setCurrentIndex(0)
    screenshot(window, "registry_lineage")


def test_four_eyes_through_the_page(registry, window, qtbot):
    from mlops_desktop.core.registry.lifecycle import alias_history
    from mlops_desktop.core.train import find_version

    page = registry
    ws = window.state.workspace
    page.select_ref("mass:1")
    wait_jobs(qtbot, window)
    assert page.buttons["validated"].isEnabled() and not page.buttons["approved"].isEnabled()
    assert page.set_stage("validated")
    assert find_version(ws, "mass:1").stage == "validated"
    wait_jobs(qtbot, window)
    assert page.detail_title.text().startswith("mass:1 — validated")

    window.state.prefs.display_name = "ann"  # the trainer may not approve
    assert not page.set_stage("approved", comment="looks fine")
    texts = close_boxes()
    assert any("cannot approve it too" in t for t in texts)
    assert find_version(ws, "mass:1").stage == "validated"
    assert not page.set_alias("production")  # only an approved version may hold an alias
    assert any("approved" in t for t in close_boxes())

    window.state.prefs.display_name = "bob"
    assert page.set_stage("approved", comment="Intervals and residuals checked.")
    assert find_version(ws, "mass:1").stage == "approved"
    wait_jobs(qtbot, window)
    assert page.buttons["alias"].isEnabled()
    assert page.set_alias("production", comment="first release")
    wait_jobs(qtbot, window)
    assert "production" in page.detail_title.text()
    row = next(r for r in page.model.rows if r["ref"] == "mass:1")
    assert row["aliases"] == ["production"]
    assert [m["to_version"] for m in alias_history(ws, "mass", "production")] == [1]
    assert any("Approved by bob" in line for line in page.detail_text.text().split("<br>"))
    screenshot(window, "registry_approved")


def test_single_user_mode_records_self_approval(registry, window, qtbot, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    from mlops_desktop.core.registry.lifecycle import single_user_mode, stage_history

    page = registry
    ws = window.state.workspace
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    page.single_user.click()
    assert single_user_mode(ws)
    window.state.prefs.display_name = "ann"
    page.select_ref("mass:2")
    wait_jobs(qtbot, window)
    assert page.set_stage("validated")
    assert page.set_stage("approved", comment="Working alone; checked the card.")
    assert stage_history(ws, "mass:2")[-1]["self_approved"] is True
    wait_jobs(qtbot, window)
    assert "self-approved" in page.detail_text.text()


def test_empty_registry_says_what_to_do(window):
    window.go_to("Registry")
    page = window.page("Registry")
    assert page.stack.currentWidget() is page.empty
    screenshot(window, "registry_empty")


def test_the_data_page_names_the_models_trained_on_a_dataset(registry, window):
    window.go_to("Data")
    data = window.page("Data")
    data.refresh()
    ds = window.state.workspace.dataset("penguins")
    data._show_dataset(ds.id)
    form = data.details_form
    rows = {form.itemAt(i, form.ItemRole.LabelRole).widget().text(): form.itemAt(i, form.ItemRole.FieldRole).widget().text()
            for i in range(form.rowCount())}
    used = rows["Models trained on it:"]
    assert "mass:1 (draft)" in used and "mass:2 (draft)" in used and "flipper:1 (draft)" in used


def test_a_quick_second_selection_shows_only_its_own_detail(registry, window, qtbot, monkeypatch):
    """The detail is read off the UI thread: while mass:1 is still being read (held on an
    event) the page answers and says so; mass:2, chosen next, shows; mass:1's late result
    is dropped."""
    import threading

    from mlops_desktop.gui.pages import registry_page

    page = registry
    wait_jobs(qtbot, window)
    gate, reading = threading.Event(), threading.Event()
    read = registry_page.read_version_detail

    def held(root, ref, compare_with):
        if ref == "mass:1":
            reading.set()
            assert gate.wait(30), "the test never let the first read end"
        return read(root, ref, compare_with)

    monkeypatch.setattr(registry_page, "read_version_detail", held)
    page.select_ref("flipper:1")  # something else first, so that mass:1 is a new choice
    wait_jobs(qtbot, window)
    page.select_ref("mass:1")
    qtbot.waitUntil(reading.is_set, timeout=10000)
    assert page.lineage is None and page.detail_title.text() == "mass:1"
    assert "Reading mass:1" in page.detail_text.text()
    assert not any(b.isEnabled() for b in page.buttons.values())
    screenshot(window, "registry_reading")

    page.select_ref("mass:2")
    qtbot.waitUntil(lambda: page.lineage is not None, timeout=10000)
    assert page.lineage.ref == "mass:2"
    gate.set()  # mass:1's result arrives now, late
    wait_jobs(qtbot, window)
    assert page.lineage.ref == "mass:2" and page.detail_title.text().startswith("mass:2 — draft")
    assert page.compare_with.currentText() == "mass:1" and page.compare_table.rowCount() > 0
    assert page.compare_table.horizontalHeaderItem(1).text() == "mass:2"
