"""The registry: migrations, connection settings, the hash-chained audit log and
its tamper detection, snapshot checks, and column type/role changes."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from mlops_desktop.core.errors import InvalidChoiceError, NotFoundError, WorkspaceError
from mlops_desktop.core.workspace.integrity import verify_workspace
from mlops_desktop.core.store import Registry, audit, migrations
from mlops_desktop.core.store.audit import GENESIS_HASH, entry_hash
from mlops_desktop.core.workspace import REGISTRY_FILE, Workspace


def _raw(ws_root: Path) -> sqlite3.Connection:
    return sqlite3.connect(str(Path(ws_root) / REGISTRY_FILE))


def _migrations(root: Path) -> list[tuple]:
    conn = _raw(root)
    try:
        return conn.execute("SELECT version, name, applied_at FROM schema_migrations "
                            "ORDER BY version").fetchall()
    finally:
        conn.close()


@pytest.fixture
def closed_ws(tmp_path, penguins_csv) -> Path:
    """A workspace with a dataset and a few audit entries, closed again."""
    with Workspace.create(tmp_path / "ws", actor="alice") as ws:
        ws.import_file(penguins_csv, actor="alice")
        ws.update_column("penguins", "species", role="target", actor="bob")
        ws.update_column("penguins", "year", kind="categorical", actor="bob")
    return tmp_path / "ws"


# -- migrations --------------------------------------------------------------------------

def test_migrations_are_recorded(workspace):
    rows = _migrations(workspace.root)
    assert [(v, n) for v, n, _ in rows] == [(v, n) for v, n, _ in migrations.MIGRATIONS]
    assert rows[-1][0] == migrations.LATEST
    assert all(at.endswith("Z") and at[:4].isdigit() for _, _, at in rows)
    tables = set(workspace.registry.db.table_names())
    assert {"schema_migrations", "workspace_info", "audit_log", "datasets",
            "dataset_columns"} <= tables


def test_reopening_does_not_apply_migrations_again(closed_ws):
    before = _migrations(closed_ws)
    with Workspace.open(closed_ws) as ws:
        assert migrations.migrate(ws.registry) == []
        assert len(ws.datasets()) == 1
    assert _migrations(closed_ws) == before


def test_a_workspace_from_a_newer_app_is_refused(closed_ws):
    conn = _raw(closed_ws)
    conn.execute("INSERT INTO schema_migrations VALUES (?, 'from the future', '2099-01-01')",
                 (migrations.LATEST + 1,))
    conn.commit()
    conn.close()

    with pytest.raises(WorkspaceError, match="newer version") as err:
        Workspace.open(closed_ws)
    assert f"schema {migrations.LATEST + 1}" in str(err.value)
    assert f"up to {migrations.LATEST}" in str(err.value)


def test_an_older_workspace_is_migrated(closed_ws, monkeypatch):
    """A workspace made by this version gets a later migration when it is opened."""
    before = _migrations(closed_ws)
    current = [v for v, _, _ in migrations.MIGRATIONS]
    assert [v for v, _, _ in before] == current
    new = migrations.LATEST + 1
    extra = (new, "model notes", """
CREATE TABLE model_notes (
    id INTEGER PRIMARY KEY,
    dataset_id INTEGER NOT NULL REFERENCES datasets (id),
    note TEXT NOT NULL
);
CREATE TRIGGER model_notes_no_delete BEFORE DELETE ON model_notes
BEGIN SELECT RAISE(ABORT, 'notes are kept'); END;
ALTER TABLE datasets ADD COLUMN description TEXT NOT NULL DEFAULT '';
""")
    monkeypatch.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS + [extra])
    monkeypatch.setattr(migrations, "LATEST", new)

    with Workspace.open(closed_ws) as ws:
        after = _migrations(closed_ws)
        assert after[:len(before)] == before  # earlier migrations untouched
        assert [(v, n) for v, n, _ in after] == [(v, n) for v, n, _ in before] + [(new, "model notes")]
        assert "model_notes" in ws.registry.db.table_names()
        ds = ws.registry.query_one("SELECT name, description FROM datasets")
        assert ds == {"name": "penguins", "description": ""}  # existing rows kept
        assert ws.verify_audit() == []
    with Workspace.open(closed_ws) as ws:
        assert migrations.migrate(ws.registry) == []
    assert _migrations(closed_ws) == after


def test_a_failing_migration_leaves_the_version_unrecorded(closed_ws, monkeypatch):
    current = [v for v, _, _ in migrations.MIGRATIONS]
    broken = (migrations.LATEST + 1, "broken", "CREATE TABLE half_done (x INTEGER);\nTHIS IS NOT SQL;\n")
    monkeypatch.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS + [broken])
    monkeypatch.setattr(migrations, "LATEST", broken[0])
    with pytest.raises(WorkspaceError, match="Cannot open the registry"):
        Workspace.open(closed_ws)
    assert [v for v, _, _ in _migrations(closed_ws)] == current
    conn = _raw(closed_ws)
    try:  # the migration's first statement was rolled back with it
        assert conn.execute("SELECT name FROM sqlite_master WHERE name = 'half_done'").fetchall() == []
    finally:
        conn.close()


def test_connection_settings(workspace):
    db = workspace.registry.db
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert db.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000
    # WAL is a property of the file: a plain connection sees it too
    conn = _raw(workspace.root)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        conn.close()


def test_foreign_keys_are_enforced(workspace):
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
        with workspace.registry.transaction() as db:
            db.execute("INSERT INTO dataset_columns (dataset_id, position, name, physical_type,"
                       " inferred_kind, kind, role, n_missing, n_distinct)"
                       " VALUES (999, 0, 'x', 'int64', 'numeric', 'numeric', 'feature', 0, 1)")


@pytest.mark.parametrize("make, message", [
    (lambda p: None, "does not exist"),
    (lambda p: p.mkdir(), "is not a workspace"),
])
def test_opening_something_that_is_not_a_workspace(tmp_path, make, message):
    target = tmp_path / "nothing"
    make(target)
    with pytest.raises(WorkspaceError, match=message):
        Workspace.open(target)


def test_a_registry_that_is_not_a_database_is_refused(tmp_path):
    root = tmp_path / "ws"
    root.mkdir()
    (root / REGISTRY_FILE).write_bytes(b"this is not an SQLite database at all" * 100)
    with pytest.raises(WorkspaceError, match="Cannot open the registry"):
        Workspace.open(root)


def test_create_refuses_folders_in_use(tmp_path, closed_ws):
    with pytest.raises(WorkspaceError, match="already a workspace"):
        Workspace.create(closed_ws, actor="x")
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "holiday.jpg").write_bytes(b"...")
    with pytest.raises(WorkspaceError, match="not empty"):
        Workspace.create(busy, actor="x")
    assert sorted(p.name for p in busy.iterdir()) == ["holiday.jpg"]
    a_file = tmp_path / "file"
    a_file.write_text("x")
    with pytest.raises(WorkspaceError, match="is a file"):
        Workspace.create(a_file, actor="x")


def test_open_or_create(tmp_path):
    ws, created = Workspace.open_or_create(tmp_path / "new", actor="x")
    ws.close()
    assert created is True
    ws, created = Workspace.open_or_create(tmp_path / "new", actor="x")
    ws.close()
    assert created is False


# -- the audit log -----------------------------------------------------------------------

def test_entries_form_a_hash_chain(closed_ws):
    with Workspace.open(closed_ws) as ws:
        entries = list(reversed(ws.audit_entries()))
        assert [e.seq for e in entries] == [1, 2, 3, 4]
        assert [e.action for e in entries] == ["workspace.created", "dataset.imported",
                                               "dataset.column_changed", "dataset.column_changed"]
        assert [e.actor for e in entries] == ["alice", "alice", "bob", "bob"]
        assert entries[0].prev_hash == GENESIS_HASH
        for prev, cur in zip(entries, entries[1:]):
            assert cur.prev_hash == prev.hash
        for e in entries:
            details = audit.canonical_json(e.details)
            assert e.hash == entry_hash(e.seq, e.at, e.actor, e.action, e.entity_type,
                                        e.entity_id, e.summary, details, e.prev_hash)
        assert len({e.hash for e in entries}) == 4
        assert ws.verify_audit() == []
        assert [e.seq for e in ws.audit_entries(limit=2)] == [4, 3]
        assert [e.seq for e in ws.audit_entries(entity_type="dataset", entity_id=1)] == [4, 3, 2]


@pytest.mark.parametrize("sql", [
    "UPDATE audit_log SET summary = 'nothing happened' WHERE seq = 2",
    "DELETE FROM audit_log WHERE seq = 2",
    "DELETE FROM audit_log",
])
def test_update_and_delete_are_refused(closed_ws, sql):
    with Workspace.open(closed_ws) as ws:
        before = ws.audit_entries()
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            with ws.registry.transaction() as db:
                db.execute(sql)
        assert ws.audit_entries() == before
    conn = _raw(closed_ws)  # and through any other connection
    try:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute(sql)
    finally:
        conn.close()


def test_append_needs_the_changes_transaction(workspace):
    with pytest.raises(RuntimeError, match="inside the change's transaction"):
        audit.append(workspace.registry, actor="x", action="a", entity_type="t", entity_id=1,
                     summary="s")
    before = workspace.audit_entries()
    with pytest.raises(ZeroDivisionError):
        with workspace.registry.transaction():
            audit.append(workspace.registry, actor="x", action="a", entity_type="t",
                         entity_id=1, summary="rolled back with the change")
            1 / 0
    assert workspace.audit_entries() == before


def test_concurrent_writers_keep_one_chain(closed_ws):
    """Two connections appending at once (BEGIN IMMEDIATE serialises them)."""
    errors: list[BaseException] = []

    def writer(who: str) -> None:
        try:
            with Registry(closed_ws / REGISTRY_FILE) as reg:
                for i in range(15):
                    with reg.transaction():
                        audit.append(reg, actor=who, action="test.note", entity_type="test",
                                     entity_id=i, summary=f"{who} {i}")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(w,)) for w in ("w1", "w2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with Workspace.open(closed_ws) as ws:
        seqs = [e.seq for e in reversed(ws.audit_entries())]
        assert seqs == list(range(1, 4 + 30 + 1))
        assert ws.verify_audit() == []


def _tamper(root: Path, *statements: tuple[str, tuple]) -> None:
    """Do what someone with the file could do: drop the triggers, then edit."""
    conn = _raw(root)
    conn.execute("DROP TRIGGER audit_log_no_update")
    conn.execute("DROP TRIGGER audit_log_no_delete")
    for sql, params in statements:
        conn.execute(sql, params)
    conn.commit()
    conn.close()


def _row(root: Path, seq: int) -> dict:
    conn = _raw(root)
    conn.row_factory = sqlite3.Row
    try:
        return dict(conn.execute("SELECT * FROM audit_log WHERE seq = ?", (seq,)).fetchone())
    finally:
        conn.close()


def _problems(root: Path) -> list[str]:
    with Workspace.open(root) as ws:
        chain = ws.verify_audit()
        report = verify_workspace(ws)
    assert report.problems == chain and not report.ok
    return chain


def test_editing_an_entry_is_detected(closed_ws):
    _tamper(closed_ws, ("UPDATE audit_log SET actor = 'mallory' WHERE seq = 3", ()))
    problems = _problems(closed_ws)
    assert any("audit entry 3 was edited" in p for p in problems), problems


def test_editing_an_entrys_details_is_detected(closed_ws):
    row = _row(closed_ws, 2)
    details = row["details"].replace('"rows":344', '"rows":343')
    assert details != row["details"]
    _tamper(closed_ws, ("UPDATE audit_log SET details = ? WHERE seq = 2", (details,)))
    assert any("audit entry 2 was edited" in p for p in _problems(closed_ws))


def test_rehashing_an_edited_entry_is_still_detected(closed_ws):
    """Editing an entry and recomputing its own hash breaks the next entry's link."""
    row = _row(closed_ws, 2)
    summary = "Imported nothing"
    new_hash = entry_hash(2, row["at"], row["actor"], row["action"], row["entity_type"],
                          row["entity_id"], summary, row["details"], row["prev_hash"])
    _tamper(closed_ws, ("UPDATE audit_log SET summary = ?, hash = ? WHERE seq = 2",
                        (summary, new_hash)))
    problems = _problems(closed_ws)
    assert any("audit entry 3 does not follow" in p for p in problems), problems


def test_deleting_an_entry_is_detected(closed_ws):
    _tamper(closed_ws, ("DELETE FROM audit_log WHERE seq = 2", ()))
    problems = _problems(closed_ws)
    assert any("entries 2..2 are missing" in p for p in problems), problems
    assert any("audit entry 3 does not follow" in p for p in problems), problems


def test_deleting_the_first_entry_is_detected(closed_ws):
    _tamper(closed_ws, ("DELETE FROM audit_log WHERE seq = 1", ()))
    problems = _problems(closed_ws)
    assert any("entries 1..1 are missing" in p for p in problems), problems


def test_a_forged_entry_appended_is_detected(closed_ws):
    last = _row(closed_ws, 4)
    _tamper(closed_ws, (
        "INSERT INTO audit_log (seq, at, actor, action, entity_type, entity_id, summary,"
        " details, prev_hash, hash) VALUES (5, ?, 'mallory', 'model.approved', 'model', '1',"
        " 'Approved', '{}', ?, ?)", (last["at"], last["hash"], "f" * 64)))
    problems = _problems(closed_ws)
    assert any("audit entry 5 was edited" in p for p in problems), problems


def test_a_forged_entry_inserted_in_the_middle_is_detected(closed_ws):
    """Shift the later entries up and slip a correctly hashed entry in at seq 3."""
    prev = _row(closed_ws, 2)
    at = prev["at"]
    forged_hash = entry_hash(3, at, "mallory", "model.approved", "model", "1", "Approved", "{}",
                             prev["hash"])
    _tamper(closed_ws,
            ("UPDATE audit_log SET seq = seq + 100 WHERE seq >= 3", ()),
            ("UPDATE audit_log SET seq = seq - 99 WHERE seq >= 100", ()),
            ("INSERT INTO audit_log (seq, at, actor, action, entity_type, entity_id, summary,"
             " details, prev_hash, hash) VALUES (3, ?, 'mallory', 'model.approved', 'model', '1',"
             " 'Approved', '{}', ?, ?)", (at, prev["hash"], forged_hash)))
    problems = _problems(closed_ws)
    # the forged entry itself is consistent, but the entry after it no longer follows
    assert not any("audit entry 3 " in p for p in problems), problems
    assert any("audit entry 4 does not follow" in p for p in problems), problems
    assert any("audit entry 4 was edited" in p for p in problems), problems


# -- snapshots ---------------------------------------------------------------------------

def test_verify_reports_an_intact_workspace(closed_ws):
    with Workspace.open(closed_ws) as ws:
        report = verify_workspace(ws)
    assert report.ok and report.problems == []
    assert (report.audit_entries, report.files_checked) == (4, 1)
    assert "everything is intact" in report.text()


def test_a_modified_snapshot_is_detected(closed_ws):
    with Workspace.open(closed_ws) as ws:
        snap = ws.root / ws.dataset("penguins").snapshot
    data = bytearray(snap.read_bytes())
    data[len(data) // 2] ^= 0xFF
    snap.write_bytes(bytes(data))
    with Workspace.open(closed_ws) as ws:
        report = verify_workspace(ws)
    assert not report.ok
    assert report.problems == [f"dataset 1 (penguins): its snapshot {snap.parent.name}/"
                               f"{snap.name} was modified."]
    assert "1 problem(s)" in report.text()


def test_a_missing_snapshot_is_detected(closed_ws):
    with Workspace.open(closed_ws) as ws:
        snap = ws.root / ws.dataset("penguins").snapshot
        snap.unlink()
        report = verify_workspace(ws)
        assert not report.ok
        assert len(report.problems) == 1 and "is missing" in report.problems[0]
        with pytest.raises(WorkspaceError, match="snapshot of dataset 'penguins' is missing"):
            ws.load_table(ws.dataset("penguins"))


def test_a_shared_snapshot_is_checked_once(workspace, penguins_csv):
    workspace.import_file(penguins_csv, actor="t")
    workspace.import_file(penguins_csv, actor="t")
    report = verify_workspace(workspace)
    assert report.ok and report.files_checked == 1 and report.audit_entries == 3


# -- column kinds and roles --------------------------------------------------------------

@pytest.fixture
def penguins(workspace, penguins_csv):
    workspace.import_file(penguins_csv, actor="alice")
    return workspace


def _col(ws, name):
    return ws.dataset("penguins").column(name)


def test_changing_a_role_is_recorded_with_before_and_after(penguins):
    n_before = len(penguins.audit_entries())
    col = penguins.update_column("penguins", "species", role="target", actor="bob")

    assert (col.kind, col.role) == ("categorical", "target")
    assert penguins.dataset("penguins").target == "species"
    entries = penguins.audit_entries()
    assert len(entries) == n_before + 1
    entry = entries[0]
    assert (entry.action, entry.actor, entry.entity_type, entry.entity_id) == (
        "dataset.column_changed", "bob", "dataset", "1")
    assert entry.details == {"column": "species",
                             "before": {"kind": "categorical", "role": "feature"},
                             "after": {"kind": "categorical", "role": "target"}}
    assert "species" in entry.summary and "feature → target" in entry.summary
    assert penguins.verify_audit() == []


def test_changing_a_kind_is_recorded_and_kept(penguins):
    assert _col(penguins, "year").kind == "numeric"
    penguins.update_column(1, "year", kind="categorical", actor="bob")
    assert (_col(penguins, "year").kind, _col(penguins, "year").inferred_kind) == (
        "categorical", "numeric")
    entry = penguins.audit_entries(limit=1)[0]
    assert entry.details["before"] == {"kind": "numeric", "role": "feature"}
    assert entry.details["after"] == {"kind": "categorical", "role": "feature"}
    # kept across a reopen
    root = penguins.root
    with Workspace.open(root) as again:
        assert again.dataset("penguins").column("year").kind == "categorical"


def test_a_second_target_demotes_the_first(penguins):
    penguins.update_column("penguins", "species", role="target", actor="bob")
    penguins.update_column("penguins", "sex", role="target", actor="carol")

    ds = penguins.dataset("penguins")
    assert [c.name for c in ds.columns if c.role == "target"] == ["sex"]
    assert ds.column("species").role == "feature"
    entry = penguins.audit_entries(limit=1)[0]
    assert entry.details["previous_target"] == "species"
    assert entry.details["after"] == {"kind": "categorical", "role": "target"}


def test_a_target_can_be_cleared(penguins):
    penguins.update_column("penguins", "species", role="target", actor="bob")
    penguins.update_column("penguins", "species", role="ignore", actor="bob")
    assert penguins.dataset("penguins").target is None


@pytest.mark.parametrize("kwargs, error, message", [
    ({"kind": "float"}, InvalidChoiceError, "Unknown column type 'float'"),
    ({"role": "label"}, InvalidChoiceError, "Unknown column role 'label'"),
    ({"kind": "numeric", "role": "boss"}, InvalidChoiceError, "role 'boss'"),
])
def test_invalid_kind_or_role_is_refused(penguins, kwargs, error, message):
    before = penguins.audit_entries()
    with pytest.raises(error, match=message):
        penguins.update_column("penguins", "species", actor="bob", **kwargs)
    assert penguins.audit_entries() == before
    assert (_col(penguins, "species").kind, _col(penguins, "species").role) == (
        "categorical", "feature")


def test_unknown_dataset_or_column(penguins):
    with pytest.raises(NotFoundError, match="no column 'beak'.*species"):
        penguins.update_column("penguins", "beak", role="target", actor="bob")
    with pytest.raises(NotFoundError, match="No dataset with id or name 'whales'.*penguins"):
        penguins.update_column("whales", "species", role="target", actor="bob")
    with pytest.raises(NotFoundError):
        penguins.dataset(42)


def test_a_change_to_the_same_values_records_nothing(penguins):
    before = penguins.audit_entries()
    col = penguins.update_column("penguins", "species", kind="categorical", role="feature",
                                 actor="bob")
    assert (col.kind, col.role) == ("categorical", "feature")
    assert penguins.audit_entries() == before
