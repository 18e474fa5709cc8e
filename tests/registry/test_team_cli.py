"""The command line on a team registry: 'init --registry' connects a folder, 'whoami'
names the login and its roles, and a model trained by one login is approved by another."""

from __future__ import annotations

import json

from conftest import run_cli


def test_a_second_login_approves_through_the_cli(postgres_server, penguins_csv, tmp_path):
    db = postgres_server.new_database()
    conninfo = f"host={postgres_server.dir} dbname={db}"
    folder = str(tmp_path / "team")

    def cli(login: str, *args: str):
        return run_cli(*args, "--workspace", folder, env={"PGUSER": login})

    done = cli("postgres", "init", "--registry", conninfo, "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["login"] == "postgres"
    assert json.loads((tmp_path / "team" / "team-registry.json").read_text()) == {"registry": conninfo}
    postgres_server.grant_roles(db)
    me = cli("ana", "whoami", "--json")
    assert me.returncode == 0, me.stderr
    assert json.loads(me.stdout) == {"actor": "ana", "login": "ana", "roles": ["mlops_analyst"],
                                     "registry": f"{postgres_server.dir}/{db}"}
    assert "carol on the team registry" in cli("carol", "whoami").stdout
    assert "mlops_approver" in cli("carol", "whoami").stdout
    refused = cli("ana", "whoami", "--as", "bob")
    assert refused.returncode == 2 and "--as 'bob' is refused" in refused.stderr

    for args in (["import", str(penguins_csv)],
                 ["train", "penguins", "--target", "body_mass_g", "--model", "ols", "--name", "mass"],
                 ["validate", "mass:1", "--bootstrap", "50"]):
        step = cli("ana", *args)
        assert step.returncode == 0, (args, step.stderr)
    # the analyst marks her version validated; approving it takes another login with the approver role
    assert cli("ana", "models", "stage", "mass:1", "validated").returncode == 0
    refused = cli("ana", "models", "stage", "mass:1", "approved", "--comment", "mine")
    assert refused.returncode == 2 and "a colleague with the mlops_approver role approves mass:1" in refused.stderr
    assert "single-user" not in refused.stderr  # not offered on a team registry
    refused = cli("alex", "models", "stage", "mass:1", "approved", "--comment", "not mine")
    assert refused.returncode == 2 and "alex may not move a version to approved: that needs the mlops_approver " \
        "role" in refused.stderr, refused.stderr
    approved = cli("carol", "models", "stage", "mass:1", "approved", "--comment", "Sound residuals.")
    assert approved.returncode == 0, approved.stderr
    shown = json.loads(cli("ana", "models", "show", "mass:1", "--json").stdout)
    assert shown["stage"] == "approved"
    verified = cli("ana", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_a_team_workspace_is_not_backed_up_into_a_zip_and_the_gui_acts_as_the_login(
        postgres_server, tmp_path, monkeypatch):
    from mlops_desktop.core.workspace import Workspace

    db = postgres_server.new_database()
    monkeypatch.setenv("PGUSER", "postgres")
    Workspace.connect(tmp_path / "team", f"host={postgres_server.dir} dbname={db}").close()
    postgres_server.grant_roles(db)
    monkeypatch.setenv("PGUSER", "ana")
    done = run_cli("backup", str(tmp_path / "b.zip"), "--workspace", str(tmp_path / "team"))
    assert done.returncode == 2 and "back it up on the server (pg_dump" in done.stderr, done.stderr
    assert not (tmp_path / "b.zip").exists()

    from PySide6.QtCore import QSettings

    from mlops_desktop.gui.state import AppState, Preferences

    state = AppState(Preferences(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)))
    state.set_actor("somebody else")
    assert state.actor == "somebody else"
    state.open_workspace(tmp_path / "team")
    assert state.actor == "ana"  # on a team registry the login acts, whatever name is set
    state.workspace.close()
