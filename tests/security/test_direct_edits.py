"""Issue 12, item 3: ``verify`` checks the rules, not only the hashes.

Two kinds of direct edit, each made with sqlite3 on a copy of one governed workspace:

- a record changed so that it no longer says what its audit entry says, for every
  governed field (who made it, metrics, validation reports, the single-user switch,
  drift thresholds, aliases, tags, descriptions, column roles, export paths, a stage
  change's comment, override and self-approval mark): ``record_altered`` (or
  ``missing_audit_entry`` for a value set without any entry);
- a change written consistently, record and correctly chained audit entry together
  (the triggers allow appending), that the lifecycle's rules forbid: the chain and the
  records agree, and only the replay of the rules names it, ``rule_broken``.
"""

from __future__ import annotations

import pytest

from .conftest import Attacker, named, verify_json

# (what the attacker does, SQL, the kind verify must report, words its sentence must hold)
RECORD_EDITS = [
    ("a version's trainer", "UPDATE model_versions SET created_by = 'bob' WHERE version = 2",
     "record_altered", ("model version mass:2", "its trainer is 'bob', not 'ann'")),
    ("a version's metrics", "UPDATE model_versions SET metrics = json_set(metrics, '$.holdout.r2', 0.99)"
                            " WHERE version = 1",
     "record_altered", ("model version mass:1", "its metrics' SHA-256")),
    ("a validation's report", "UPDATE validations SET report = json_set(report, '$.beats_baseline', 1)"
                              " WHERE id = 2",
     "record_altered", ("validation 2 of mass:2", "its report's SHA-256")),
    ("a validation's author", "UPDATE validations SET created_by = 'bob' WHERE id = 1",
     "record_altered", ("validation 1 of mass:1", "its validator is 'bob', not 'ann'")),
    ("the single-user switch", "UPDATE workspace_settings SET value = 'true' WHERE key = 'single_user_mode'",
     "record_altered", ("the workspace setting single_user_mode", "it is True", "set it to False")),
    ("drift thresholds", "UPDATE drift_thresholds SET thresholds = '{\"psi_major\": 0.9}'",
     "record_altered", ("the drift-threshold setting of model mass", "'psi_major': 0.9")),
    ("who moved an alias", "UPDATE alias_moves SET moved_by = 'carl'",
     "record_altered", ("alias move 1 (mass production)", "its mover is 'carl', not 'bob'")),
    ("a version's tag", "UPDATE version_tags SET value = 'no'",
     "record_altered", ("tag reviewed of model version mass:1", "it is 'no'", "set it to 'yes'")),
    ("a tag added", "INSERT INTO model_tags (model_id, key, value, set_by, set_at)"
                    " VALUES (1, 'risk', 'low', 'mallory', '2030-01-01')",
     "missing_audit_entry", ("tag risk of registered model mass",)),
    ("a version's description", "UPDATE model_versions SET description = 'approved by the board'"
                                " WHERE version = 1",
     "record_altered", ("the description of model version mass:1", "'approved by the board'")),
    ("a never-described version's description", "UPDATE model_versions SET description = 'safe'"
                                                " WHERE version = 3",
     "record_altered", ("the description of model version mass:3", "'safe'")),
    ("a model's description", "UPDATE registered_models SET description = 'audited'",
     "record_altered", ("the description of registered model mass", "'audited'")),
    ("a column's role, never changed in the app", "UPDATE dataset_columns SET role = 'ignore'"
                                                  " WHERE name = 'bill_depth_mm'",
     "record_altered", ("a column of dataset 1 (penguins)", "its import")),
    ("a column's role, changed in the app before", "UPDATE dataset_columns SET role = 'feature'"
                                                   " WHERE name = 'island'",
     "record_altered", ("column island of dataset 1 (penguins)", "role feature", "role ignore")),
    ("an export's path", "UPDATE exports SET out_path = '/mnt/elsewhere'",
     "record_altered", ("export 1 of mass:1", "its path is '/mnt/elsewhere'")),
    ("an approval's comment", "UPDATE stage_changes SET comment = '' WHERE to_stage = 'approved'",
     "record_altered", ("stage change", "of mass:1", "its comment is ''")),
    ("an approval marked self-approved", "UPDATE stage_changes SET self_approved = 1"
                                         " WHERE to_stage = 'approved'",
     "record_altered", ("of mass:1", "its self-approval mark is True, not False")),
    ("an override added", "UPDATE stage_changes SET baseline_override = 'trust me'"
                          " WHERE to_stage = 'validated'",
     "record_altered", ("its override is 'trust me', not None",)),
    ("a dataset's importer", "UPDATE datasets SET created_by = 'eve'",
     "record_altered", ("dataset 1 (penguins)", "its importer is 'eve', not 'ann'")),
    ("a run's trainer", "UPDATE runs SET created_by = 'bob' WHERE id = 2",
     "record_altered", ("run 2", "its trainer is 'bob', not 'ann'")),
]


@pytest.mark.parametrize("what, sql, kind, words", RECORD_EDITS, ids=[e[0] for e in RECORD_EDITS])
def test_a_record_edited_in_sql_is_named(ws_copy, what, sql, kind, words):
    with Attacker(ws_copy) as attacker:
        attacker.sql(sql)
    code, report = verify_json(ws_copy)
    assert code == 2 and report["ok"] is False
    assert named(report, kind, *words), report["problems"]


def _draft_approved(a: Attacker) -> None:
    a.stage_change(3, "approved", actor="bob", comment="fine")


def _retired_approved(a: Attacker) -> None:
    a.stage_change(4, "approved", actor="bob", comment="needed after all")


def _approved_without_comment(a: Attacker) -> None:
    a.stage_change(2, "approved", actor="bob", comment="")


def _approved_by_its_trainer(a: Attacker) -> None:
    a.stage_change(2, "approved", actor="ann", comment="mine and fine")


def _approved_by_its_trainer_spelled_otherwise(a: Attacker) -> None:
    a.stage_change(2, "approved", actor="ANN", comment="mine and fine")


def _self_approved_unmarked(a: Attacker) -> None:
    a.single_user(True, actor="ann")
    a.stage_change(2, "approved", actor="ann", comment="mine and fine", self_approved=False)


def _validated_without_validation(a: Attacker) -> None:
    a.stage_change(3, "validated", actor="ann")


def _validated_past_a_lost_baseline(a: Attacker) -> None:
    validation_id = a.validation(3, beats_baseline=False, actor="ann")
    a.stage_change(3, "validated", actor="ann", validation_id=validation_id)


def _alias_on_a_validated_version(a: Attacker) -> None:
    a.alias("staging", 2, actor="bob")


def _alias_left_on_a_retired_version(a: Attacker) -> None:
    a.stage_change(1, "retired", actor="bob", comment="replaced")  # production stays on it


RULE_BREACHES = [
    (_draft_approved, "the stage change of mass:3 from draft to approved by bob",
     "mass:3 is draft; only a validated version can be approved."),
    (_retired_approved, "the stage change of mass:4 from retired to approved",
     "mass:4 is retired; a retired version cannot be approved again."),
    (_approved_without_comment, "the stage change of mass:2 from validated to approved",
     "An approval needs a comment"),
    (_approved_by_its_trainer, "by ann", "ann trained mass:2 and cannot approve it too"),
    (_approved_by_its_trainer_spelled_otherwise, "by ANN", "ANN trained mass:2 and cannot approve it too"),
    (_self_approved_unmarked, "by ann", "a self-approval is allowed in single-user mode only marked"),
    (_validated_without_validation, "the stage change of mass:3 from draft to validated",
     "mass:3 has no validation on record."),
    (_validated_past_a_lost_baseline, "the stage change of mass:3 from draft to validated",
     "mass:3 did not beat its baseline in its latest validation, and no override was given."),
    (_alias_on_a_validated_version, "the move of alias staging of mass to version 2 by bob",
     "mass:2 is validated; only an approved version can hold the alias 'staging'."),
    (_alias_left_on_a_retired_version, "alias production of mass, set to version 1",
     "mass:1 is retired; only an approved version can hold the alias 'production'."),
]


@pytest.mark.parametrize("forge, what, rule", RULE_BREACHES, ids=[b[0].__name__[1:] for b in RULE_BREACHES])
def test_a_consistent_change_that_breaks_a_rule_is_named(ws_copy, forge, what, rule):
    """Record and entry agree and the chain is whole: only the rules can tell."""
    with Attacker(ws_copy) as attacker:
        forge(attacker)
    code, report = verify_json(ws_copy)
    assert code == 2
    assert {p["kind"] for p in report["problems"]} == {"rule_broken"}, report["problems"]
    assert named(report, "rule_broken", what, "broke a rule" if "set to" not in what else "still on it",
                 rule), report["problems"]


def test_an_edited_trainer_does_not_let_the_trainer_approve(ws_copy):
    """The approval rule asks the audit log who trained the version: rewriting the
    record's created_by makes no second person, and verify names the edit."""
    from mlops_desktop.core.errors import InvalidChoiceError
    from mlops_desktop.core.registry.lifecycle import change_stage
    from mlops_desktop.core.workspace import Workspace

    with Attacker(ws_copy) as attacker:
        attacker.sql("UPDATE model_versions SET created_by = 'zoe' WHERE version = 2")
    with Workspace.open(ws_copy) as ws:
        with pytest.raises(InvalidChoiceError, match="ann trained mass:2 and cannot approve it too"):
            change_stage(ws, "mass:2", "approved", actor="ann", comment="zoe trained it")
    code, report = verify_json(ws_copy)
    assert code == 2 and named(report, "record_altered", "mass:2", "its trainer is 'zoe', not 'ann'")


def test_single_user_mode_switched_on_in_sql_does_not_make_a_self_approval_legal(ws_copy):
    """The app reads the switch from its record and lets ann approve her own version;
    the log says single-user mode was off then: the switch and the approval are named."""
    from mlops_desktop.core.registry.lifecycle import change_stage
    from mlops_desktop.core.workspace import Workspace

    with Attacker(ws_copy) as attacker:
        attacker.sql("UPDATE workspace_settings SET value = 'true' WHERE key = 'single_user_mode'")
    with Workspace.open(ws_copy) as ws:
        done = change_stage(ws, "mass:2", "approved", actor="ann", comment="on my own")
        assert done["self_approved"] is True
    code, report = verify_json(ws_copy)
    assert code == 2
    assert named(report, "record_altered", "the workspace setting single_user_mode")
    assert named(report, "rule_broken", "the stage change of mass:2 from validated to approved by ann",
                 "single-user mode is off")
