"""``verify`` names each kind of tampering: tests tamper as someone with the file
would (dropping the audit triggers, switching foreign keys off, editing with plain
sqlite3) and check that the report says what happened, with its ``kind``.

One workspace with every kind of record (dataset, column change, accepted warning,
runs, two model versions, validation, stage changes, alias, drift report) is built
once; each test tampers with its own copy.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from conftest import SAMPLES, run_cli
from mlops_desktop.core.workspace.integrity import verify_workspace
from mlops_desktop.core.store.audit import GENESIS_HASH, entry_hash
from mlops_desktop.core.workspace import Workspace


@pytest.fixture(scope="module")
def full_workspace(tmp_path_factory) -> Path:
    from mlops_desktop.core.registry.lifecycle import change_stage, set_alias
    from mlops_desktop.core.monitor import Reference, batch_from_dataset, run_drift
    from mlops_desktop.core.store import accepted_warnings
    from mlops_desktop.core.train import TrainSpec, train
    from mlops_desktop.core.validate.for_version import validate_version

    base = tmp_path_factory.mktemp("full")
    csv = base / "penguins.csv"
    shutil.copy(SAMPLES / "penguins.csv", csv)
    root = base / "ws"
    with Workspace.create(root, actor="ann") as ws:
        ws.import_file(csv, actor="ann")
        ws.update_column("penguins", "island", role="ignore", actor="ann")
        accepted_warnings.accept(ws.registry, dataset_id=1, target="body_mass_g",
                                 features=["flipper_length_mm"], check_id="normality",
                                 reason="large sample", actor="ann")
        spec = TrainSpec(dataset="penguins", target="body_mass_g", models=["ols"], model_name="mass")
        train(ws, spec, actor="ann")
        validate_version(ws, "mass:1", actor="ann", n_bootstrap=50)
        change_stage(ws, "mass:1", "validated", actor="ann")
        change_stage(ws, "mass:1", "approved", actor="bob", comment="sound")
        set_alias(ws, "mass", "production", 1, actor="bob")
        spec.features = ["flipper_length_mm", "bill_length_mm"]
        train(ws, spec, actor="ann")
        run_drift(ws, Reference.from_dataset(ws, "penguins"), [batch_from_dataset(ws, "penguins")],
                  actor="carl")
        assert verify_workspace(ws).ok, verify_workspace(ws).text()
    return root


@pytest.fixture
def ws_copy(full_workspace, tmp_path) -> Path:
    dest = tmp_path / "copy"
    shutil.copytree(full_workspace, dest)
    return dest


def _sql(root: Path, *statements: str | tuple[str, tuple], drop_triggers: bool | None = None) -> None:
    """Change the registry as an attacker with the file would: foreign keys off, and the
    audit log's triggers dropped when the statements edit or delete entries."""
    conn = sqlite3.connect(root / "registry.sqlite")
    conn.execute("PRAGMA foreign_keys = OFF")
    texts = [st if isinstance(st, str) else st[0] for st in statements]
    if drop_triggers is None:
        drop_triggers = any(("UPDATE audit_log" in t or "DELETE FROM audit_log" in t) for t in texts)
    if drop_triggers:
        for name in ("audit_log_no_update", "audit_log_no_delete"):
            conn.execute(f"DROP TRIGGER IF EXISTS {name}")
    for st in statements:
        sql, params = (st, ()) if isinstance(st, str) else st
        conn.execute(sql, params)
    conn.commit()
    conn.close()


def _one(root: Path, sql: str, params: tuple = ()) -> tuple:
    conn = sqlite3.connect(root / "registry.sqlite")
    try:
        return conn.execute(sql, params).fetchone()
    finally:
        conn.close()


def _entry(root: Path, seq: int) -> dict:
    conn = sqlite3.connect(root / "registry.sqlite")
    conn.row_factory = sqlite3.Row
    try:
        return dict(conn.execute("SELECT * FROM audit_log WHERE seq = ?", (seq,)).fetchone())
    finally:
        conn.close()


def _seq_of(root: Path, action: str, nth: int = 0) -> int:
    conn = sqlite3.connect(root / "registry.sqlite")
    try:
        return [r[0] for r in conn.execute("SELECT seq FROM audit_log WHERE action = ? ORDER BY seq",
                                           (action,))][nth]
    finally:
        conn.close()


def _verify(root: Path):
    with Workspace.open(root) as ws:
        return verify_workspace(ws)


def _named(report, kind: str, *words: str) -> list[str]:
    """The problems of ``kind`` whose sentence holds every one of ``words``."""
    return [p.message for p in report.findings if p.kind == kind and all(w in p.message for w in words)]


def test_the_untouched_workspace_is_intact(ws_copy):
    report = _verify(ws_copy)
    assert report.ok and report.findings == [] and report.audit_entries > 15
    assert report.files_checked == 3  # one snapshot, two model files
    assert "everything is intact" in report.text() and "Last audit entry" in report.text()


# -- the audit log ----------------------------------------------------------------------------

def test_an_edited_entry_is_named(ws_copy):
    seq = _seq_of(ws_copy, "model.stage_changed", 1)  # the approval
    _sql(ws_copy, (f"UPDATE audit_log SET actor = 'mallory' WHERE seq = {seq}", ()))
    report = _verify(ws_copy)
    assert _named(report, "audit_entry_edited", f"audit entry {seq} was edited")
    assert _named(report, "audit_protection_removed", "audit_log_no_update", "audit_log_no_delete")


def test_an_edited_and_rehashed_entry_is_named(ws_copy):
    seq = _seq_of(ws_copy, "model.validated")
    row = _entry(ws_copy, seq)
    summary = "Validated mass:1: beats the baseline by far"
    digest = entry_hash(seq, row["at"], row["actor"], row["action"], row["entity_type"],
                        row["entity_id"], summary, row["details"], row["prev_hash"])
    _sql(ws_copy, ("UPDATE audit_log SET summary = ?, hash = ? WHERE seq = ?", (summary, digest, seq)))
    report = _verify(ws_copy)
    assert _named(report, "audit_entry_edited", f"audit entry {seq + 1} does not follow",
                  f"entry {seq} was replaced")


def test_a_deleted_entry_in_the_middle_is_named_with_the_record_it_covered(ws_copy):
    seq = _seq_of(ws_copy, "model.validated")
    _sql(ws_copy, f"DELETE FROM audit_log WHERE seq = {seq}")
    report = _verify(ws_copy)
    assert _named(report, "audit_entries_deleted", f"audit entries {seq}..{seq} are missing")
    assert _named(report, "missing_audit_entry", "validation 1 of mass:1", "model.validated")


def test_a_truncated_tail_is_named(ws_copy):
    """Deleting the last entries leaves an intact, shorter chain: the recorded head and
    the records whose entries went with them show it."""
    last = _one(ws_copy, "SELECT MAX(seq) FROM audit_log")[0]
    _sql(ws_copy, f"DELETE FROM audit_log WHERE seq > {last - 3}")
    report = _verify(ws_copy)
    assert _named(report, "audit_entries_truncated",
                  f"the last 3 audit entries ({last - 2}..{last}) are missing",
                  f"cut short after entry {last - 3}")
    assert not report.kinds() & {"audit_entry_edited", "audit_entries_deleted", "audit_chain_broken"}
    assert _named(report, "missing_audit_entry", "drift report 1")


def test_a_truncated_tail_with_the_head_deleted_too_is_named(ws_copy):
    last = _one(ws_copy, "SELECT MAX(seq) FROM audit_log")[0]
    _sql(ws_copy, "DROP TRIGGER audit_head_no_delete", "DELETE FROM audit_head",
         f"DELETE FROM audit_log WHERE seq > {last - 1}")
    report = _verify(ws_copy)
    assert _named(report, "audit_head_missing", "audit_head")
    assert _named(report, "audit_protection_removed", "audit_head_no_delete")
    assert _named(report, "missing_audit_entry", "drift report 1")


def test_a_truncated_tail_with_the_head_rewound_is_still_caught_by_the_records(ws_copy):
    """The thorough attacker rewinds the head as well: the chain and head agree again,
    but the drift report whose entry was cut has no entry."""
    last = _one(ws_copy, "SELECT MAX(seq) FROM audit_log")[0]
    prev = _entry(ws_copy, last - 1)
    _sql(ws_copy, "DROP TRIGGER audit_head_forward_only",
         f"DELETE FROM audit_log WHERE seq = {last}",
         ("UPDATE audit_head SET seq = ?, hash = ?, entries = entries - 1", (last - 1, prev["hash"])))
    report = _verify(ws_copy)
    assert not report.kinds() & {"audit_entries_truncated", "audit_entry_edited"}
    assert _named(report, "missing_audit_entry", "drift report 1", "drift.report_created")
    assert _named(report, "audit_protection_removed", "audit_head_forward_only")


def test_an_entry_inserted_in_the_middle_is_named(ws_copy):
    """Renumber the later entries and slip a correctly hashed entry in."""
    seq = _seq_of(ws_copy, "model.stage_changed", 1)
    before = _entry(ws_copy, seq - 1)
    forged = entry_hash(seq, before["at"], "mallory", "model.stage_changed", "model_version", "1",
                        "mass:1 approved", "{}", before["hash"])
    _sql(ws_copy, f"UPDATE audit_log SET seq = seq + 1000 WHERE seq >= {seq}",
         "UPDATE audit_log SET seq = seq - 999 WHERE seq >= 1000",
         ("INSERT INTO audit_log (seq, at, actor, action, entity_type, entity_id, summary, details,"
          " prev_hash, hash) VALUES (?, ?, 'mallory', 'model.stage_changed', 'model_version', '1',"
          " 'mass:1 approved', '{}', ?, ?)", (seq, before["at"], before["hash"], forged)))
    report = _verify(ws_copy)
    assert _named(report, "audit_entry_inserted", f"audit entry {seq + 1} does not follow",
                  f"links to entry {seq - 1}", f"entry {seq} was inserted")
    assert _named(report, "audit_entry_inserted", "is now numbered", "inserted before it")
    assert _named(report, "audit_entry_edited", f"audit entry {seq + 1} was edited", "renumbered")


def test_an_entry_appended_outside_the_app_is_named(ws_copy):
    """A forged last entry, correctly chained, written with the head's trigger dropped."""
    last = _entry(ws_copy, _one(ws_copy, "SELECT MAX(seq) FROM audit_log")[0])
    seq = last["seq"] + 1
    details = json.dumps({"change_id": 99, "from": "draft", "to": "approved"}, sort_keys=True,
                         separators=(",", ":"))
    digest = entry_hash(seq, last["at"], "mallory", "model.stage_changed", "model_version", "2",
                        "mass:2 approved", details, last["hash"])
    _sql(ws_copy, "DROP TRIGGER audit_head_follows",
         ("INSERT INTO audit_log (seq, at, actor, action, entity_type, entity_id, summary, details,"
          " prev_hash, hash) VALUES (?, ?, 'mallory', 'model.stage_changed', 'model_version', '2',"
          " 'mass:2 approved', ?, ?, ?)", (seq, last["at"], details, last["hash"], digest)))
    report = _verify(ws_copy)
    assert _named(report, "audit_entry_inserted", f"audit entries {seq}..{seq} come after",
                  "added outside the app")
    assert _named(report, "record_deleted", f"audit entry {seq} records stage change 99",
                  "forged")


def test_a_forged_entry_with_the_triggers_intact_is_caught_by_the_records(ws_copy):
    """Someone who knows the hash recipe appends a consistent entry through SQL (the
    head follows): the chain is intact, but the stage change it claims does not exist."""
    last = _entry(ws_copy, _one(ws_copy, "SELECT MAX(seq) FROM audit_log")[0])
    seq = last["seq"] + 1
    details = '{"change_id":42,"from":"draft","to":"approved"}'
    digest = entry_hash(seq, last["at"], "mallory", "model.stage_changed", "model_version", "2",
                        "mass:2 approved", details, last["hash"])
    _sql(ws_copy, ("INSERT INTO audit_log (seq, at, actor, action, entity_type, entity_id, summary,"
                   " details, prev_hash, hash) VALUES (?, ?, 'mallory', 'model.stage_changed',"
                   " 'model_version', '2', 'mass:2 approved', ?, ?, ?)",
                   (seq, last["at"], details, last["hash"], digest)), drop_triggers=False)
    report = _verify(ws_copy)
    # the change it claims does not exist, and the rules would have refused it anyway
    assert [p.kind for p in report.findings] == ["record_deleted", "rule_broken"]
    assert "stage change 42" in report.problems[0]
    assert "mass:2 is draft; only a validated version can be approved" in report.problems[1]


# -- records that disagree with their entries ---------------------------------------------------

def test_a_stage_changed_in_sql_is_named(ws_copy):
    _sql(ws_copy, "UPDATE model_versions SET stage = 'approved' WHERE version = 2")
    report = _verify(ws_copy)
    assert report.problems == ["model version mass:2 is approved in the registry, but its recorded "
                               "stage history ends at draft: its stage was changed outside the app."]
    assert report.findings[0].kind == "record_altered"
    assert report.findings[0].entity_type == "model_version"


def test_a_swapped_model_file_is_named(ws_copy):
    first = _one(ws_copy, "SELECT artifact_sha256 FROM model_versions WHERE version = 1")[0]
    _sql(ws_copy, ("UPDATE model_versions SET artifact_sha256 = ? WHERE version = 2", (first,)))
    report = _verify(ws_copy)
    assert _named(report, "record_altered", "model version mass:2", f"model file {first[:12]}…",
                  "its model was swapped")


def test_an_alias_moved_in_sql_is_named(ws_copy):
    second = _one(ws_copy, "SELECT id FROM model_versions WHERE version = 2")[0]
    _sql(ws_copy, f"UPDATE model_aliases SET version_id = {second}")
    report = _verify(ws_copy)
    assert _named(report, "record_altered", "alias production of mass points to version 2",
                  "recorded moves end at version 1")


def test_a_stage_change_added_in_sql_is_named(ws_copy):
    _sql(ws_copy, "INSERT INTO stage_changes (version_id, from_stage, to_stage, changed_by, changed_at)"
                  " SELECT id, 'draft', 'retired', 'mallory', '2030-01-01' FROM model_versions"
                  " WHERE version = 2",
         "UPDATE model_versions SET stage = 'retired' WHERE version = 2")
    report = _verify(ws_copy)
    assert [p.kind for p in report.findings] == ["missing_audit_entry"]
    assert "stage change 3 of mass:2 has no audit entry" in report.problems[0]


def test_a_deleted_record_is_named(ws_copy):
    _sql(ws_copy, "DELETE FROM accepted_warnings")
    report = _verify(ws_copy)
    seq = _seq_of(ws_copy, "check.warning_accepted")
    assert _named(report, "record_deleted", f"audit entry {seq} records accepted warning 1")


def test_an_edited_drift_report_is_named(ws_copy):
    _sql(ws_copy, "UPDATE drift_reports SET verdict = 'drift', results = replace(results, 'no drift',"
                  " 'drift')")
    report = _verify(ws_copy)
    assert _named(report, "record_altered", "drift report 1", "results no longer match")
    assert _named(report, "record_altered", "drift report 1", "verdict or results differ")


# -- references that point nowhere ---------------------------------------------------------------

def test_a_version_pointing_to_a_missing_run_is_named(ws_copy):
    _sql(ws_copy, "UPDATE model_versions SET run_id = 17 WHERE version = 2")
    report = _verify(ws_copy)
    assert _named(report, "dangling_reference", "model version mass:2 points to run 17, which does "
                  "not exist.")


def test_a_deleted_run_and_dataset_are_named(ws_copy):
    _sql(ws_copy, "DELETE FROM runs WHERE id = 1", "DELETE FROM datasets WHERE id = 1")
    report = _verify(ws_copy)
    assert _named(report, "dangling_reference", "model version mass:1 points to run 1, which does not "
                  "exist.")
    assert _named(report, "dangling_reference", "run 2 points to dataset 1, which does not exist.")
    assert _named(report, "dangling_reference", "8 columns (species, island, bill_length_mm, "
                  "bill_depth_mm, flipper_length_mm, …) point to dataset 1, which does not exist.")
    assert _named(report, "record_deleted", "records dataset 1 being imported")
    assert _named(report, "record_deleted", "records run 1 being started")


def test_a_version_whose_artifact_row_is_gone_is_named(ws_copy):
    sha = _one(ws_copy, "SELECT artifact_sha256 FROM model_versions WHERE version = 1")[0]
    _sql(ws_copy, ("DELETE FROM artifacts WHERE sha256 = ?", (sha,)))
    report = _verify(ws_copy)
    assert _named(report, "dangling_reference", f"model version mass:1 points to artifact {sha[:12]}…, "
                  "which is not recorded.")


# -- files ---------------------------------------------------------------------------------------

def test_a_missing_and_a_modified_model_file_are_named(ws_copy):
    one, two = [r for r in sorted((ws_copy / "artifacts").iterdir()) if not r.name.startswith(".")]
    one.unlink()
    two.write_bytes(two.read_bytes() + b"\0")
    report = _verify(ws_copy)
    assert _named(report, "artifact_missing", f"artifact {one.name[:12]}…", "the model file of mass:",
                  "is missing")
    assert _named(report, "artifact_modified", f"artifact {two.name[:12]}…", "was modified")
    assert len(report.findings) == 2


def test_a_missing_and_a_modified_snapshot_are_named(ws_copy, tmp_path):
    [snap] = (ws_copy / "snapshots").glob("*.parquet")
    other = tmp_path / "other"
    shutil.copytree(ws_copy, other)
    snap.write_bytes(snap.read_bytes()[:-10])
    (other / "snapshots" / snap.name).unlink()
    assert [p.kind for p in _verify(ws_copy).findings] == ["snapshot_modified"]
    assert [p.kind for p in _verify(other).findings] == ["snapshot_missing"]


def test_a_snapshot_path_leading_out_of_the_workspace_is_named(ws_copy):
    _sql(ws_copy, "UPDATE datasets SET snapshot = '../../etc/hostname'")
    report = _verify(ws_copy)
    assert _named(report, "record_altered", "points outside the workspace's snapshots folder")


# -- the command ----------------------------------------------------------------------------------

def test_the_cli_lists_problems_with_their_kind_and_exits_2(ws_copy):
    ok = run_cli("verify", "--workspace", str(ws_copy), "--json")
    assert ok.returncode == 0 and json.loads(ok.stdout)["ok"] is True
    last = _one(ws_copy, "SELECT MAX(seq) FROM audit_log")[0]
    _sql(ws_copy, f"DELETE FROM audit_log WHERE seq = {last}")
    result = run_cli("verify", "--workspace", str(ws_copy), "--json")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] is False
    kinds = {p["kind"] for p in report["problems"]}
    assert {"audit_entries_truncated", "audit_protection_removed"} <= kinds
    assert all(set(p) >= {"kind", "message"} for p in report["problems"])
    text = run_cli("verify", "--workspace", str(ws_copy))
    assert text.returncode == 2 and f"the last 1 audit entry ({last}..{last}) is missing" in text.stdout


def test_an_upgraded_workspace_gets_its_head_from_the_existing_log(tmp_path):
    """Migration 8 on a workspace made before it, whose log already has entries: the
    head starts at the log's end, and later cuts show."""
    from mlops_desktop.core.store import migrations

    root = tmp_path / "old"
    root.mkdir()
    conn = sqlite3.connect(root / "registry.sqlite")
    conn.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
                 " applied_at TEXT NOT NULL)")
    for version, name, sql in migrations.MIGRATIONS:
        if version < 8:
            for statement in migrations.statements(sql):
                conn.execute(statement)
            conn.execute("INSERT INTO schema_migrations VALUES (?, ?, '2024-01-01')", (version, name))
    prev = GENESIS_HASH
    for seq in (1, 2):
        digest = entry_hash(seq, "2024-01-01T00:00:00.000000Z", "ann", "note", "workspace", None,
                            f"entry {seq}", "{}", prev)
        conn.execute("INSERT INTO audit_log VALUES (?, '2024-01-01T00:00:00.000000Z', 'ann', 'note',"
                     " 'workspace', NULL, ?, '{}', ?, ?)", (seq, f"entry {seq}", prev, digest))
        prev = digest
    conn.commit()
    conn.close()
    with Workspace.open(root) as ws:
        head = ws.registry.query_one("SELECT seq, hash, entries FROM audit_head")
        assert (head["seq"], head["hash"], head["entries"]) == (2, prev, 2)
        assert verify_workspace(ws).ok
    _sql(root, "DELETE FROM audit_log WHERE seq = 2")
    assert _named(_verify(root), "audit_entries_truncated", "the last 1 audit entry (2..2)")


def test_the_fast_chain_hash_is_the_canonical_one():
    """verify's fast path writes the canonical JSON by hand: it must give the very hash
    that entry_hash (and audit.append) gives, for any text."""
    from mlops_desktop.core.store.audit import _fast_hash

    cases = [(1, "2024-01-01T00:00:00.000000Z", "ann", "a", "t", None, "s", "{}", GENESIS_HASH),
             (123456, 'q"uote\\', "Zoë ✓ 山", "act\n", "model_version", "42",
              "tab\t nul\x00 ls\u2028 emoji \U0001F600", '{"a":"\\u00e9","b":[1,2.5,null]}', "f" * 64)]
    for case in cases:
        assert _fast_hash(*case) == entry_hash(*case)
