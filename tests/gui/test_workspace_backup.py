"""Back up and restore from the Workspace page: jobs with progress, the restored
workspace opened, errors shown in a dialog."""

from __future__ import annotations

from conftest import SAMPLES

from .conftest import message_boxes, screenshot, wait_jobs


def test_back_up_and_restore_from_the_workspace_page(window, qtbot, tmp_path):
    import shutil

    ws = window.state.workspace
    shutil.copy(SAMPLES / "penguins.csv", tmp_path / "penguins.csv")
    ws.import_file(tmp_path / "penguins.csv", actor="ann")
    window.state.datasets_changed.emit(-1)
    window.go_to("Workspace")
    page = window.page("Workspace")
    assert page.backup_button.isEnabled() and page.restore_button.isEnabled()

    page.backup(str(tmp_path / "b.zip"))
    wait_jobs(qtbot, window)
    assert (tmp_path / "b.zip").is_file() and page.last_backup.members == 2
    [box] = message_boxes()
    assert "Backed up 2 files" in box.text()
    screenshot(window, "workspace_backup_done")
    box.close()
    assert window.state.workspace.audit_entries(limit=1)[0].action == "workspace.backed_up"

    page.restore(str(tmp_path / "b.zip"), str(tmp_path / "restored"))
    wait_jobs(qtbot, window)
    assert window.state.workspace.root == tmp_path / "restored"
    assert [d.name for d in window.state.workspace.datasets()] == ["penguins"]
    [box] = message_boxes()
    assert "everything intact" in box.text()
    screenshot(window, "workspace_restore_done")
    box.close()

    page.restore(str(tmp_path / "b.zip"), str(tmp_path / "restored"))  # not empty now
    wait_jobs(qtbot, window)
    [box] = message_boxes()
    assert box.windowTitle() == "Restore failed" and "not empty" in box.text()
    screenshot(window, "workspace_restore_refused")
    box.close()
