"""A team registry keeps the snapshots and model files: a second member on another
computer (another folder) gets them, checked against their SHA-256, and can validate
and approve; a file another member adds while a workspace is open is fetched when first
needed; a stored copy changed on the server is refused, never put in place."""

from __future__ import annotations

import psycopg
import pytest

from mlops_desktop.core.workspace.artifacts import artifact_path
from mlops_desktop.core.errors import WorkspaceError
from mlops_desktop.core.workspace.integrity import verify_workspace
from mlops_desktop.core.registry.lifecycle import change_stage
from mlops_desktop.core.store import stored_files
from mlops_desktop.core.storage import sha256_file
from mlops_desktop.core.train import find_version
from mlops_desktop.core.validate.for_version import validate_version
from mlops_desktop.core.workspace import Workspace

from .test_team_lifecycle import _trained


def test_a_member_on_another_computer_gets_the_files_and_approves(pg_team, penguins_csv, tmp_path,
                                                                   monkeypatch):
    ana = _trained(pg_team, penguins_csv)
    version = find_version(ana, "mass:1")
    snapshot = ana.dataset("penguins").snapshot
    monkeypatch.setenv("PGUSER", "carol")
    with Workspace.connect(tmp_path / "carol-laptop", pg_team.conninfo) as carol:
        model_file = artifact_path(carol, version.artifact_sha256)
        assert model_file.is_file() and sha256_file(model_file) == version.artifact_sha256
        assert sha256_file(carol.root / snapshot) == sha256_file(ana.root / snapshot)
        validate_version(carol, "mass:1", actor="carol", n_bootstrap=50)  # reads both files
        change_stage(carol, "mass:1", "validated", actor="carol")
        change_stage(carol, "mass:1", "approved", actor="carol", comment="Read the card.")
        report = verify_workspace(carol)
        assert report.ok, report.text()
    stored = ana.registry.query("SELECT sha256, size_bytes FROM stored_files ORDER BY sha256")
    assert {r["sha256"] for r in stored} == {version.artifact_sha256, ana.dataset("penguins").snapshot_sha256}


def test_a_stored_copy_changed_on_the_server_is_refused(pg_team, penguins_csv, tmp_path, monkeypatch):
    ana = _trained(pg_team, penguins_csv)
    sha = find_version(ana, "mass:1").artifact_sha256
    with psycopg.connect(f"{pg_team.conninfo} user=postgres", autocommit=True) as conn:
        conn.execute("UPDATE stored_file_chunks SET data = %s WHERE sha256 = %s AND n = 0", (b"not a model", sha))
    monkeypatch.setenv("PGUSER", "carol")
    with Workspace.connect(tmp_path / "carol-laptop", pg_team.conninfo) as carol:
        assert not artifact_path(carol, sha).exists()  # never put in place
        with pytest.raises(WorkspaceError, match="copy of artifacts/.* is damaged"):
            stored_files.fetch(carol.registry, sha, f"artifacts/{sha}")
        assert not artifact_path(carol, sha).exists()
        assert list((carol.root / "artifacts").iterdir()) == []  # no temporary left behind
        assert not verify_workspace(carol).ok


def test_analysts_may_store_files_but_never_change_them(pg_team, penguins_csv):
    _trained(pg_team, penguins_csv)
    with psycopg.connect(f"{pg_team.conninfo} user=ana", autocommit=True) as conn:
        for statement in ("UPDATE stored_file_chunks SET data = 'x'", "DELETE FROM stored_files"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)


def test_files_another_member_adds_later_are_fetched_when_first_needed(pg_team, penguins_csv, tmp_path,
                                                                         monkeypatch):
    """carol opened her workspace before ana imported and trained; without reopening she
    validates ana's version: its snapshot and model file are fetched as they are needed,
    checked against their SHA-256."""
    from mlops_desktop.core.train import TrainSpec, train

    monkeypatch.setenv("PGUSER", "carol")
    carol = Workspace.connect(tmp_path / "carol-laptop", pg_team.conninfo)
    pg_team.opened.append(carol)
    ana = pg_team.open("ana")
    ana.import_file(penguins_csv, actor="ana")
    train(ana, TrainSpec(dataset="penguins", target="body_mass_g", models=["ols"], model_name="mass"), actor="ana")
    version = find_version(ana, "mass:1")
    snapshot = ana.dataset("penguins").snapshot
    assert list(carol.artifacts_dir.iterdir()) == [] and list(carol.snapshots_dir.iterdir()) == []
    validate_version(carol, "mass:1", actor="carol", n_bootstrap=50)
    assert sha256_file(artifact_path(carol, version.artifact_sha256)) == version.artifact_sha256
    assert sha256_file(carol.root / snapshot) == sha256_file(ana.root / snapshot)
    report = verify_workspace(carol)
    assert report.ok, report.text()


def test_a_damaged_copy_is_refused_when_first_needed(pg_team, penguins_csv, tmp_path, monkeypatch):
    monkeypatch.setenv("PGUSER", "carol")
    carol = Workspace.connect(tmp_path / "carol-laptop", pg_team.conninfo)
    pg_team.opened.append(carol)
    ana = _trained(pg_team, penguins_csv)
    sha = find_version(ana, "mass:1").artifact_sha256
    with psycopg.connect(f"{pg_team.conninfo} user=postgres", autocommit=True) as conn:
        conn.execute("UPDATE stored_file_chunks SET data = %s WHERE sha256 = %s AND n = 0", (b"not a model", sha))
    with pytest.raises(WorkspaceError, match="copy of artifacts/.* is damaged"):
        validate_version(carol, "mass:1", actor="carol", n_bootstrap=50)
    assert not artifact_path(carol, sha).exists()
    assert list(carol.artifacts_dir.iterdir()) == []  # no temporary left behind
