"""Undo and redo (Edit menu, Ctrl+Z and Ctrl+Shift+Z) for the edits an analyst makes:
column types and roles, accepted warnings, tags and descriptions. Each step is a new
recorded change, never the removal of an audit entry; the stack is the page's own
(issue 20, desktop habits)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QComboBox

from .conftest import screenshot, wait_jobs


def undo(window) -> None:
    QTest.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)


def redo(window) -> None:
    QTest.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)


def role_combo(page, column: str) -> QComboBox:
    table = page.columns_table
    row = next(r for r in range(table.rowCount()) if table.item(r, 0).text() == column)
    return table.cellWidget(row, 2)


def roles(ws) -> dict[str, str]:
    return {c.name: c.role for c in ws.dataset("penguins").columns}


def test_column_roles_undo_and_redo_as_recorded_changes(window, qtbot):
    page = window.page("Data")
    page.open_sample()
    wait_jobs(qtbot, window)
    ws = window.state.workspace
    assert not window.undo_action.isEnabled()
    role_combo(page, "species").setCurrentText("target")
    role_combo(page, "island").setCurrentText("target")  # species becomes a feature again
    assert roles(ws)["island"] == "target" and roles(ws)["species"] == "feature"
    assert window.undo_action.text() == "&Undo penguins: island role feature → target"
    window.activateWindow()
    undo(window)
    assert roles(ws)["island"] == "feature" and roles(ws)["species"] == "target"  # both as they were
    assert role_combo(page, "species").currentText() == "target"  # the page shows it
    changes = [e for e in ws.audit_entries() if e.action == "dataset.column_changed"]
    assert [e.summary.split(": ", 1)[1] for e in changes[:2]] == [
        "column species: role feature → target", "column island: role target → feature"]  # newest first
    assert len(changes) == 4 and ws.verify_audit() == []  # two edits, two recorded steps back
    redo(window)
    assert roles(ws)["island"] == "target" and roles(ws)["species"] == "feature"
    undo(window)
    undo(window)
    assert roles(ws)["species"] == "feature" and not window.undo_action.isEnabled()
    assert window.redo_action.text() == "&Redo penguins: species role feature → target"
    window.menuBar().actions()[1].menu().popup(window.mapToGlobal(window.rect().topLeft()))
    screenshot(window.menuBar().actions()[1].menu(), "habits_edit_menu_redo")
    window.menuBar().actions()[1].menu().close()
    # the stack is the page's: on another page Ctrl+Z has nothing to undo
    window.go_to("Explore")
    assert not window.redo_action.isEnabled()
    wait_jobs(qtbot, window)  # the Explore page profiles the dataset
    window.go_to("Data")
    assert window.redo_action.isEnabled()
    # another workspace: the steps of the first one are gone
    window.state.open_workspace(ws.root.parent / "other", create=True)
    window.go_to("Data")
    assert not window.redo_action.isEnabled() and page.undo_stack.count() == 0
    wait_jobs(qtbot, window)


def test_accepting_a_warning_is_undone_by_a_recorded_withdrawal(window, qtbot):
    from mlops_desktop.core.checks import accepted_warnings

    window.page("Data").open_sample()
    wait_jobs(qtbot, window)
    ws = window.state.workspace
    ws.update_column("penguins", "body_mass_g", role="target", actor="tester")
    window.state.datasets_changed.emit(-1)
    window.go_to("Check")
    page = window.page("Check")
    page.run_button.click()
    wait_jobs(qtbot, window)
    qtbot.waitUntil(lambda: page.report is not None, timeout=30_000)
    check = next(c for c in page.report.checks if c.verdict in ("warning", "problem"))
    row = page.report.checks.index(check)
    page.table.setCurrentCell(row, 0)
    page.accept(check.id, "Curvature is small; a tree model follows it anyway.")
    first = check.accepted["id"]
    assert window.undo_action.text() == f"&Undo accept the “{check.name}” warning"
    window.activateWindow()
    undo(window)
    assert check.accepted is None and page.accepted_label.text() == ""
    assert not page.table.item(row, 0).text().endswith("✓")
    assert accepted_warnings(ws, "penguins") == []
    last = ws.audit_entries(limit=1)[0]
    assert last.action == "check.warning_withdrawn" and last.details["accepted_warning_id"] == first
    assert any(e.action == "check.warning_accepted" for e in ws.audit_entries())  # the acceptance stays on record
    redo(window)
    assert check.accepted["id"] != first and check.accepted["reason"].startswith("Curvature is small")
    assert "Accepted by" in page.accepted_label.text() and page.table.item(row, 0).text().endswith("✓")
    screenshot(window, "habits_undo_check_redone")
    assert ws.verify_audit() == []


@pytest.fixture
def registry(window, qtbot, penguins_csv):
    """mass:1 on the Registry page."""
    from mlops_desktop.core.train import TrainSpec, train

    ws = window.state.workspace
    ws.import_file(penguins_csv, actor="ann")
    train(ws, TrainSpec(dataset="penguins", target="body_mass_g", models=["ols"], model_name="mass"), actor="ann")
    window.state.models_changed.emit("")
    window.go_to("Registry")
    page = window.page("Registry")
    page.select_ref("mass:1")
    wait_jobs(qtbot, window)
    return page


def test_tags_and_descriptions_undo_and_redo(window, qtbot, registry):
    from mlops_desktop.core.registry.annotations import description_of, tags_of

    ws, page = window.state.workspace, registry
    assert page.tag_version("team", "quality")
    assert page.tag_version("team", "pricing")
    assert page.describe_version("Body mass from flipper length, for the feed plan.")
    assert page.tag_version("team", None)  # removed
    window.activateWindow()
    undo(window)
    assert tags_of(ws, "mass:1") == {"team": "pricing"}
    undo(window)
    assert description_of(ws, "mass:1") == ""
    undo(window)
    assert tags_of(ws, "mass:1") == {"team": "quality"}
    qtbot.waitUntil(lambda: "team=quality" in page.detail_text.text(), timeout=2000)
    redo(window)
    redo(window)
    assert tags_of(ws, "mass:1") == {"team": "pricing"}
    assert description_of(ws, "mass:1").startswith("Body mass")
    undo(window)
    undo(window)
    undo(window)
    assert tags_of(ws, "mass:1") == {} and not window.undo_action.isEnabled()
    actions = [e.action for e in ws.audit_entries() if e.action in ("tag.set", "tag.removed", "model.described")]
    assert len(actions) == 12 and ws.verify_audit() == []  # 4 edits, 6 steps back, 2 redone: each recorded
    screenshot(window, "habits_undo_registry")


def test_a_step_the_rules_now_refuse_shows_why_and_leaves_the_stack(window, registry):
    from mlops_desktop.core.registry.annotations import remove_tag, tags_of

    from .conftest import message_boxes

    ws, page = window.state.workspace, registry
    assert page.tag_version("team", "quality")
    remove_tag(ws, "mass:1", "team", actor="someone else")  # meanwhile, from the CLI say
    window.activateWindow()
    undo(window)  # undoing "tag team=quality" removes the tag, which is gone already
    boxes = message_boxes()
    assert len(boxes) == 1 and "no tag 'team'" in boxes[0].text()
    boxes[0].close()
    assert page.undo_stack.count() == 0 and tags_of(ws, "mass:1") == {}
