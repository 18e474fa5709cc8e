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
    assert "may not change a model version's stage" in cli("ana", "models", "stage", "mass:1", "validated").stderr
    assert cli("carol", "models", "stage", "mass:1", "validated").returncode == 0
    approved = cli("carol", "models", "stage", "mass:1", "approved", "--comment", "Sound residuals.")
    assert approved.returncode == 0, approved.stderr
    shown = json.loads(cli("ana", "models", "show", "mass:1", "--json").stdout)
    assert shown["stage"] == "approved"
    verified = cli("ana", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
