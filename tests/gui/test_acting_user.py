"""Who acts is always in the status bar and changed from there; a refused self-approval
keeps the comment and offers the window's ways out (issue 20, desktop habits)."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QApplication, QInputDialog

from .conftest import message_boxes, screenshot, wait_jobs


@pytest.fixture
def validated(window, qtbot, penguins_csv):
    """mass:1 trained by ann and validated, shown on the Registry page as ann."""
    from mlops_desktop.core.registry.lifecycle import change_stage
    from mlops_desktop.core.train import TrainSpec, train
    from mlops_desktop.core.validate.for_version import validate_version

    ws = window.state.workspace
    ws.import_file(penguins_csv, actor="ann")
    train(ws, TrainSpec(dataset="penguins", target="body_mass_g", models=["ols"], model_name="mass"), actor="ann")
    validate_version(ws, "mass:1", actor="ann", n_bootstrap=50)
    change_stage(ws, "mass:1", "validated", actor="ann")
    window.state.set_actor("ann")
    window.state.models_changed.emit("")
    window.go_to("Registry")
    page = window.page("Registry")
    page.select_ref("mass:1")
    wait_jobs(qtbot, window)
    return page


def input_dialog() -> QInputDialog:
    return next(w for w in QApplication.topLevelWidgets() if isinstance(w, QInputDialog) and w.isVisible())


def test_the_status_bar_shows_who_acts_and_changes_it(window, qtbot):
    button = window.actor_button
    assert button.isVisible() and button.text() == f"Acting as: {window.state.actor} ▾"
    screenshot(window, "habits_actor_status_bar")
    button.click()
    dialog = input_dialog()
    assert "not a password" in dialog.labelText()
    dialog.setTextValue("  Bea Second ")
    screenshot(dialog, "habits_actor_dialog")
    dialog.accept()
    assert window.state.actor == "Bea Second"
    assert button.text() == "Acting as: Bea Second ▾"
    assert window.state.prefs.display_name == "Bea Second"  # kept for the next session
    window.go_to("Workspace")
    assert window.page("Workspace").user_label.text().startswith("Bea Second")


def test_refused_self_approval_keeps_the_comment_and_offers_single_user_mode(validated, window, qtbot):
    from mlops_desktop.core.registry.lifecycle import single_user_mode, stage_history

    page, ws = validated, window.state.workspace
    assert not page.set_stage("approved", comment="Residuals and intervals checked.")
    box = message_boxes()[0]
    assert "cannot approve it too" in box.text() and "comment is kept" in box.text()
    assert "single-user mode" in box.informativeText() and "Acting as" in box.informativeText()
    screenshot(box, "habits_self_approval_refused")
    assert stage_history(ws, "mass:1")[-1]["to_stage"] == "validated"
    from mlops_desktop.gui.stage_dialog import draft_comment

    assert draft_comment(window.state, "mass:1", "approved") == "Residuals and intervals checked."
    alone = next(b for b in box.buttons() if b.text().startswith("Switch on single-user mode"))
    alone.click()
    assert single_user_mode(ws)
    last = stage_history(ws, "mass:1")[-1]
    assert (last["to_stage"], last["self_approved"], last["comment"]) == \
        ("approved", True, "Residuals and intervals checked.")
    assert draft_comment(window.state, "mass:1", "approved") == ""  # recorded: nothing left to keep
    qtbot.waitUntil(lambda: page.single_user.isChecked(), timeout=2000)
    qtbot.waitUntil(lambda: "self-approved" in page.detail_text.text(), timeout=5000)


def test_refused_self_approval_lets_a_colleague_act_with_the_comment_filled_in(validated, window, qtbot,
                                                                           monkeypatch):
    from mlops_desktop.core.registry.lifecycle import single_user_mode, stage_history

    page, ws = validated, window.state.workspace
    asked: list[str] = []

    def typed(parent, title, label, text=""):  # ann writes her comment; Bea, shown it, adds hers
        asked.append(text)
        return (text + " Bea agrees.") if text else "Card and intervals read.", True

    monkeypatch.setattr(QInputDialog, "getMultiLineText", staticmethod(typed))
    page.ask_stage("approved")  # ann types her comment: refused
    assert asked == [""]
    someone = next(b for b in message_boxes()[0].buttons() if b.text().startswith("Act as someone else"))
    someone.click()
    dialog = input_dialog()
    dialog.setTextValue("Bea")
    dialog.accept()  # Bea acts now: the comment dialog opens again, with ann's comment in it
    assert asked[1] == "Card and intervals read."
    last = stage_history(ws, "mass:1")[-1]
    assert (last["to_stage"], last["changed_by"], last["self_approved"], last["comment"]) == \
        ("approved", "Bea", False, "Card and intervals read. Bea agrees.")
    assert not single_user_mode(ws)
    assert window.actor_button.text() == "Acting as: Bea ▾"
    qtbot.waitUntil(lambda: "Approved by Bea" in page.detail_text.text(), timeout=2000)
