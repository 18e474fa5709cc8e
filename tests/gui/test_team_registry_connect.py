"""The Workspace page's "Connect to a team registry…" against a real PostgreSQL server (the
throwaway cluster of tests/registry): the connection is checked off the UI thread and shows
the login and its roles, a password in the string is refused before anything is written,
and connecting opens the team workspace, named with the login in the page and status bar."""

from __future__ import annotations

import json

import pytest

from registry.conftest import Team, postgres_server  # noqa: F401 (the session's cluster)

from .conftest import screenshot, wait_jobs


@pytest.fixture
def team(postgres_server, tmp_path, monkeypatch):  # noqa: F811
    """A team registry set up by the database owner; ana and alex analysts, carol approver."""
    t = Team("postgresql", tmp_path / "set-up", monkeypatch, postgres_server)
    yield t
    t.close()


def _dialog(window):
    window.go_to("Workspace")
    page = window.page("Workspace")
    page.team_button.click()
    dialog = page.team_dialog
    assert dialog.isVisible()
    return dialog


def test_check_shows_the_login_and_its_role(window, qtbot, team, monkeypatch, tmp_path):
    monkeypatch.setenv("PGUSER", "carol")
    dialog = _dialog(window)
    folder = tmp_path / "carol"
    dialog.folder_edit.setText(str(folder))
    assert not dialog.check_button.isEnabled()  # nothing to check yet
    dialog.conninfo_edit.setText(team.conninfo)
    dialog.check_button.click()
    wait_jobs(qtbot, window)
    text = dialog.result_label.text()
    assert f"{team.dbname} on {team.cluster.dir} as carol" in text
    assert "Role: approver (holds approver, analyst)." in text
    screenshot(dialog, "team_connect_checked")
    assert not folder.exists()  # a check writes nothing

    monkeypatch.setenv("PGUSER", "ana")
    dialog.check_button.click()
    wait_jobs(qtbot, window)
    assert "as ana" in dialog.result_label.text() and "Role: analyst." in dialog.result_label.text()

    monkeypatch.setenv("PGUSER", "zed")  # a login the server does not know
    dialog.check_button.click()
    wait_jobs(qtbot, window)
    assert "that login does not exist on the server" in dialog.result_label.text()
    screenshot(dialog, "team_connect_unknown_login")

    monkeypatch.setenv("PGUSER", "carol")
    dialog.conninfo_edit.setText(f"host={tmp_path / 'no-server-here'} dbname={team.dbname}")
    assert dialog.result_label.text() == ""  # the answer for the string before is gone
    dialog.check_button.click()
    wait_jobs(qtbot, window)
    assert "the team registry cannot be reached" in dialog.result_label.text()
    assert "connection is bad" in dialog.result_label.toolTip()  # the driver's words, on hovering
    screenshot(dialog, "team_connect_unreachable")
    assert not folder.exists()


def test_a_password_in_the_string_is_refused_and_nothing_is_written(window, qtbot, team, monkeypatch,
                                                                      tmp_path):
    monkeypatch.setenv("PGUSER", "carol")
    local = window.state.workspace
    dialog = _dialog(window)
    folder = tmp_path / "carol"
    dialog.folder_edit.setText(str(folder))
    dialog.conninfo_edit.setText(f"{team.conninfo} password=secret")
    dialog.check_button.click()
    wait_jobs(qtbot, window)
    assert "holds a password; MLOps Desktop never stores one" in dialog.result_label.text()
    screenshot(dialog, "team_connect_password_refused")
    dialog.connect_button.click()
    wait_jobs(qtbot, window)
    assert "holds a password" in dialog.result_label.text()
    assert dialog.isVisible() and not folder.exists()
    assert window.state.workspace is local and window.state.team is None


def test_connecting_opens_the_team_workspace_as_the_login(window, qtbot, team, monkeypatch, tmp_path):
    from conftest import run_cli

    monkeypatch.setenv("PGUSER", "carol")
    dialog = _dialog(window)
    folder = tmp_path / "carol"
    dialog.folder_edit.setText(str(folder))
    dialog.conninfo_edit.setText(team.conninfo)
    dialog.connect_button.click()
    wait_jobs(qtbot, window)
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=5000)

    ws = window.state.workspace
    assert ws.is_team and ws.root == folder
    assert json.loads((folder / "team-registry.json").read_text()) == {"registry": team.conninfo}
    line = f"Team registry: {team.dbname} on {team.cluster.dir} — logged in as carol (approver)"
    page = window.page("Workspace")
    qtbot.waitUntil(lambda: page.registry_label.text() == line, timeout=5000)
    assert page.user_label.text().startswith("carol ")
    assert window.workspace_label.text() == line
    assert not window.actor_button.isVisible()  # the actor is the login: nothing to choose
    assert window.state.actor == "carol"
    screenshot(window, "team_connect_workspace_page")

    # the CLI's whoami on the same folder names the same login and roles
    result = run_cli("whoami", "--json", "--workspace", str(folder))
    assert result.returncode == 0, result.stderr
    me = json.loads(result.stdout)
    assert (me["login"], tuple(me["roles"])) == ("carol", window.state.team.roles)

    # a refused self-approval offers no "act as someone else" nor single-user mode: another login approves
    from mlops_desktop.core.errors import SelfApprovalRefused
    from mlops_desktop.gui.stage_dialog import offer_ways_out

    box = offer_ways_out(window, window.state, SelfApprovalRefused("refused", ref="mass:1", actor="carol"),
                         comment="checked", override=None, on_done=lambda: None, ask_again=lambda: None)
    assert [b.text().replace("&", "") for b in box.buttons()] == ["OK"]
    assert "from their own login" in box.informativeText()
    box.close()

    window.state.open_workspace(tmp_path / "ws")  # back to one's own workspace
    assert window.actor_button.isVisible() and window.workspace_label.text().startswith("Workspace: ")
    assert page.registry_label.text() == "This folder's registry.sqlite (a workspace of one's own)"


def test_a_second_login_approves_through_the_registry_page(window, qtbot, team, monkeypatch, tmp_path,
                                                           penguins_csv):
    """ana trains and validates from her own folder (the command line); carol connects
    hers from the GUI, sees ana's version and approves it on the Registry page; the record
    names carol, the server's login, and the trainer ana."""
    from conftest import run_cli

    ana_folder = str(tmp_path / "ana")
    monkeypatch.setenv("PGUSER", "ana")
    assert run_cli("init", "--registry", team.conninfo, "--workspace", ana_folder).returncode == 0
    for args in (["import", str(penguins_csv)],
                 ["train", "penguins", "--target", "body_mass_g", "--model", "ols", "--name", "mass"],
                 ["validate", "mass:1", "--bootstrap", "50"]):
        step = run_cli(*args, "--workspace", ana_folder)
        assert step.returncode == 0, (args, step.stderr)

    monkeypatch.setenv("PGUSER", "carol")
    dialog = _dialog(window)
    dialog.folder_edit.setText(str(tmp_path / "carol"))
    dialog.conninfo_edit.setText(team.conninfo)
    dialog.connect_button.click()
    wait_jobs(qtbot, window)
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=5000)
    assert window.state.actor == "carol"

    window.go_to("Registry")
    page = window.page("Registry")
    qtbot.waitUntil(lambda: any(r["ref"] == "mass:1" for r in page.model.rows), timeout=10000)
    page.select_ref("mass:1")
    wait_jobs(qtbot, window)
    assert not page.single_user.isVisible()  # the server keeps four eyes: no mode to switch
    assert page.set_stage("validated")
    wait_jobs(qtbot, window)
    assert page.set_stage("approved", comment="Residuals and intervals checked.")
    wait_jobs(qtbot, window)
    screenshot(window, "team_registry_approved_by_carol")

    shown = json.loads(run_cli("models", "show", "mass:1", "--json", "--workspace", ana_folder).stdout)
    assert shown["stage"] == "approved"
    assert shown["created_by"] == "ana"
    approvals = [c for c in shown["stage_history"] if c["to_stage"] == "approved"]
    assert [c["changed_by"] for c in approvals] == ["carol"]
    assert run_cli("verify", "--workspace", ana_folder).returncode == 0


def test_a_recent_team_workspace_opens_off_the_ui_thread(window, qtbot, team, monkeypatch, tmp_path):
    """Double-clicking a team workspace in the recent list connects in the background: while
    the connection is held (on an event) the window answers, the status bar says what it
    does and the workspace open before stays open; then the team workspace is current."""
    import threading

    from mlops_desktop.core.workspace import Workspace
    from mlops_desktop.gui import workspace_opening

    monkeypatch.setenv("PGUSER", "carol")
    folder = tmp_path / "carol"
    Workspace.connect(folder, team.conninfo).close()
    own = window.state.workspace
    window.state.prefs.add_recent(folder)
    window.go_to("Workspace")
    page = window.page("Workspace")
    page.reload()
    item = next(page.recent.item(i) for i in range(page.recent.count())
                if page.recent.item(i).data(0x0100) == str(folder))

    gate, connecting = threading.Event(), threading.Event()
    opened = workspace_opening.opened_workspace

    def held(*args, **kwargs):
        connecting.set()
        gate.wait(30)
        return opened(*args, **kwargs)

    monkeypatch.setattr(workspace_opening, "opened_workspace", held)
    page.recent.itemDoubleClicked.emit(item)
    try:
        qtbot.waitUntil(connecting.is_set, timeout=10000)
        assert window.state.workspace is own  # the UI thread went on; nothing switched yet
        qtbot.waitUntil(lambda: "connecting to its team registry" in window.job_status.label.text(), timeout=5000)
        assert window.job_status.isVisible() and window.job_status.cancel_button.isEnabled()
        screenshot(window, "team_workspace_opening")
    finally:  # whatever happened, the connection goes on and ends (else it would hold the server)
        gate.set()
        wait_jobs(qtbot, window)
    ws = window.state.workspace
    assert ws.is_team and ws.root == folder and window.state.actor == "carol"


def test_a_team_workspace_whose_server_cannot_be_reached_says_so(window, qtbot, tmp_path):
    """A team workspace whose server does not answer: a dialog names the database and the
    host first, then why in one sentence and what to do, with the driver's own words under
    "Show Details"; the workspace open before stays open and usable."""
    from .conftest import message_boxes

    folder = tmp_path / "gone"
    folder.mkdir()
    nowhere = f"host={tmp_path / 'no-server'} dbname=registry"  # a socket folder nobody listens in
    (folder / "team-registry.json").write_text(json.dumps({"registry": nowhere}), encoding="utf-8")
    own = window.state.workspace
    window.go_to("Workspace")
    page = window.page("Workspace")
    page._open(str(folder), create=False)
    wait_jobs(qtbot, window)
    qtbot.waitUntil(lambda: bool(message_boxes()), timeout=10000)
    box = message_boxes()[0]
    where, blank, why, what = box.text().split("\n")
    assert where == f'Database "registry" on {tmp_path / "no-server"}: the team registry cannot be reached.'
    assert blank == "" and why == "No server is running in that socket folder."
    assert what.startswith("Check that the server is running")
    assert box.windowTitle() == "Cannot open the team workspace gone"
    assert "No such file or directory" in box.detailedText() and ".s.PGSQL.5432" in box.detailedText()
    screenshot(box, "team_workspace_unreachable")
    from PySide6.QtWidgets import QMessageBox

    shown = next(b for b in box.buttons() if box.buttonRole(b) == QMessageBox.ButtonRole.ActionRole)
    shown.click()  # "Show Details..."
    screenshot(box, "team_workspace_unreachable_details")
    box.close()
    assert window.state.workspace is own and own.datasets() == []
