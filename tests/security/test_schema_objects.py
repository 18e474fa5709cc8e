"""Issue 12, item 10: schema objects. A trigger is code stored in the database that runs
whenever its table changes. ``verify`` compares the full SQL of the audit log's
protective triggers with what the migrations created (the name alone proves nothing)
and names any trigger or view no migration created; restore refuses a backup holding
one, before anything of it runs."""

from __future__ import annotations

import pytest

from mlops_desktop.core.workspace.backup import backup, restore
from mlops_desktop.core.errors import WorkspaceError
from mlops_desktop.core.workspace import Workspace

from .conftest import Attacker, named, verify_json

# the append-only rule, kept by name but switched off
NEUTERED = ("DROP TRIGGER audit_log_no_update",
            "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log WHEN 0\n"
            "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END")
# rewrites each new approval's approver as it is written
FOREIGN_TRIGGER = ("CREATE TRIGGER approver_fix AFTER INSERT ON stage_changes BEGIN "
                   "UPDATE stage_changes SET changed_by = 'bob' WHERE id = NEW.id; END",)
FOREIGN_VIEW = ("CREATE VIEW approvals AS SELECT * FROM stage_changes WHERE to_stage = 'approved'",)


def _alter(root, statements) -> None:
    with Attacker(root) as attacker:
        for statement in statements:
            attacker.sql(statement)


def test_a_protective_trigger_rewritten_under_its_own_name_is_named(ws_copy):
    _alter(ws_copy, NEUTERED)
    code, report = verify_json(ws_copy)
    assert code == 2
    assert named(report, "trigger_altered", "audit_log_no_update", "its SQL was changed"), report
    assert "audit_protection_removed" not in {p["kind"] for p in report["problems"]}


@pytest.mark.parametrize("statements, words", [(FOREIGN_TRIGGER, ("trigger 'approver_fix'", "stage_changes")),
                                               (FOREIGN_VIEW, ("view 'approvals'",))],
                         ids=["trigger", "view"])
def test_a_trigger_or_view_no_migration_created_is_named(ws_copy, statements, words):
    _alter(ws_copy, statements)
    code, report = verify_json(ws_copy)
    assert code == 2
    assert named(report, "schema_object_unknown", *words, "no version of MLOps Desktop creates"), report


@pytest.mark.parametrize("statements", [FOREIGN_TRIGGER, NEUTERED], ids=["foreign", "neutered"])
def test_restore_refuses_a_backup_holding_a_foreign_trigger(ws_copy, tmp_path, statements):
    _alter(ws_copy, statements)
    with Workspace.open(ws_copy) as ws:
        backup(ws, tmp_path / "backup.zip", actor="ann")
    target = tmp_path / "restored"
    with pytest.raises(WorkspaceError, match="cannot be restored: the (registry holds a trigger 'approver_fix'|"
                                             "trigger audit_log_no_update is not the one)"):
        restore(tmp_path / "backup.zip", target, actor="carl")
    assert not target.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]
