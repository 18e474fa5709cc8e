"""'verify' on a team registry checks the copies stored on the server: a chunk changed by a
superuser (same size, one byte other), a chunk removed, a stored file removed are each
named, with the record whose file it is; whether the member's folder holds a sound copy
to compare chunk by chunk, or not (hashed whole on the server, or read through when
large)."""

from __future__ import annotations

import pytest

from mlops_desktop.core.workspace.integrity import verify_workspace
from mlops_desktop.core.store import stored_files
from mlops_desktop.core.train import find_version

from .test_team_lifecycle import _trained


def _superuser(team, statement: str, *params) -> None:
    import psycopg

    with psycopg.connect(f"{team.conninfo} user=postgres", autocommit=True) as conn:
        conn.execute(statement, params)


def _one_byte_changed(team, sha: str, n: int = 0) -> None:
    _superuser(team, "UPDATE stored_file_chunks SET data = set_byte(data, 7, (get_byte(data, 7) + 1) %% 256)"
                     " WHERE sha256 = %s AND n = %s", sha, n)


def _found(ws, kind: str) -> list:
    return [p for p in verify_workspace(ws).findings if p.kind == kind]


def test_sound_stored_copies_pass_and_are_counted(pg_team, penguins_csv):
    ana = _trained(pg_team, penguins_csv)
    report = verify_workspace(ana)
    assert report.ok, report.text()
    assert report.stored_files_checked == 2  # the snapshot and the model file
    assert report.to_dict()["stored_files_checked"] == 2
    assert "2 copies stored on the team registry" in report.text()


@pytest.mark.parametrize("local", ["sound copy here", "no copy here", "no copy, large"])
def test_a_chunk_changed_by_a_superuser_is_named(pg_team, penguins_csv, monkeypatch, local):
    ana = _trained(pg_team, penguins_csv)
    sha = find_version(ana, "mass:1").artifact_sha256
    _one_byte_changed(pg_team, sha)
    if local != "sound copy here":
        (ana.artifacts_dir / sha).unlink()
    if local == "no copy, large":
        monkeypatch.setattr(stored_files, "WHOLE_ON_SERVER", 0)  # every file counts as large: read through
    [damaged] = _found(ana, "stored_file_damaged")
    assert damaged.entity_type == "artifact" and damaged.entity_id == sha
    assert "the model file of mass:1" in damaged.message and f"artifacts/{sha}" in damaged.message
    assert ("chunk 0 of 1 differ" in damaged.message) == (local == "sound copy here"), damaged.message
    # the snapshot's copy is sound and not blamed
    assert len(_found(ana, "stored_file_damaged")) == 1


def test_a_changed_chunk_of_a_many_chunk_file_is_named_by_its_number(pg_team, penguins_csv, monkeypatch):
    monkeypatch.setattr(stored_files, "CHUNK", 2048)  # the snapshot is stored in several chunks
    ana = _trained(pg_team, penguins_csv)
    snapshot = ana.dataset("penguins")
    chunks = pg_team.cluster.sql(f"SELECT chunks FROM stored_files WHERE sha256 = '{snapshot.snapshot_sha256}'",
                                 pg_team.dbname)[0][0]
    assert chunks >= 3
    _one_byte_changed(pg_team, snapshot.snapshot_sha256, n=2)
    [damaged] = _found(ana, "stored_file_damaged")
    assert damaged.entity_type == "dataset" and damaged.entity_id == str(snapshot.id)
    assert "dataset 1 (penguins)" in damaged.message
    assert f"chunk 2 of {chunks} differ" in damaged.message


def test_a_removed_chunk_or_stored_file_is_named(pg_team, penguins_csv):
    ana = _trained(pg_team, penguins_csv)
    model_sha = find_version(ana, "mass:1").artifact_sha256
    snapshot_sha = ana.dataset("penguins").snapshot_sha256
    _superuser(pg_team, "DELETE FROM stored_file_chunks WHERE sha256 = %s", model_sha)
    _superuser(pg_team, "DELETE FROM stored_file_chunks WHERE sha256 = %s", snapshot_sha)
    _superuser(pg_team, "DELETE FROM stored_files WHERE sha256 = %s", snapshot_sha)
    [damaged] = _found(ana, "stored_file_damaged")
    assert damaged.entity_id == model_sha and "0 chunks of 0 bytes where 1 of" in damaged.message
    [missing] = _found(ana, "stored_file_missing")
    assert missing.entity_type == "dataset" and "holds no copy of snapshots/" in missing.message
    assert verify_workspace(ana).kinds() == {"stored_file_damaged", "stored_file_missing"}
