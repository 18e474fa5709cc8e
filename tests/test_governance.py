"""Governance in core: single-user self-approval, aliases and their history, retiring the
production version, tags and descriptions, the registry list's filters, and that each
refused change leaves the registry exactly as it was."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta, timezone

import pytest

from mlops_desktop.core.registry import annotations, lifecycle
from mlops_desktop.core.errors import InvalidChoiceError, MlopsError, NotFoundError
from mlops_desktop.core.registry.lifecycle import (
    alias_history,
    aliases_of,
    change_stage,
    remove_alias,
    search_versions,
    set_alias,
    set_single_user,
    single_user_mode,
    stage_history,
    version_at,
)
from mlops_desktop.core.train import find_version
from mlops_desktop.core.validate import model_card_markdown
from mlops_desktop.core.validate.card_html import model_card_html
from mlops_desktop.core.validate.for_version import model_card, validate_version


@pytest.fixture
def ws(governance_copy):
    """Two validated versions of "mass" and a draft "species" (tests/conftest.py)."""
    return governance_copy


def dump(ws) -> str:
    """Every row of the registry as SQL text: equal dumps mean nothing changed."""
    return "\n".join(ws.registry.db.conn.iterdump())


def audit_length(ws) -> int:
    return len(ws.audit_entries())


def approve_both(ws):
    change_stage(ws, "mass:1", "approved", actor="bob", comment="Residuals fine.")
    change_stage(ws, "mass:2", "approved", actor="bob", comment="Also fine.")


# -- refused changes change nothing -------------------------------------------------------------

@pytest.mark.parametrize("action,match", [
    (lambda ws: change_stage(ws, "species:1", "approved", actor="bob", comment="ok"),
     "only a validated version can be approved"),
    (lambda ws: change_stage(ws, "mass:1", "approved", actor="ann", comment="mine"), "four eyes"),
    (lambda ws: change_stage(ws, "mass:9", "approved", actor="bob", comment="ok"),
     "Model 'mass' has no version 9; it has 1, 2."),
    (lambda ws: set_alias(ws, "mass", "production", 1, actor="bob"), "mass:1 is validated; only an approved"),
    (lambda ws: set_alias(ws, "species", "production", 1, actor="bob"), "species:1 is draft"),
    (lambda ws: set_alias(ws, "mass", "production", 9, actor="bob"), "has no version 9; it has 1, 2"),
    (lambda ws: set_alias(ws, "mass", "Production", 1, actor="bob"), "not a valid alias name"),
    (lambda ws: set_alias(ws, "mass", "prod uction", 1, actor="bob"), "not a valid alias name"),
    (lambda ws: set_alias(ws, "mass", "production", "two", actor="bob"), "not a version number"),
    (lambda ws: set_alias(ws, "mass", "production", "species:1", actor="bob"), "not a version number"),
    (lambda ws: set_alias(ws, "nothing", "production", 1, actor="bob"), "no registered model 'nothing'"),
    (lambda ws: remove_alias(ws, "mass", "production", actor="bob"), "has no alias 'production'"),
    (lambda ws: annotations.set_tag(ws, "mass:7", "team", "x", actor="bob"), "has no version 7"),
    (lambda ws: annotations.set_tag(ws, "mass", "a=b", "x", actor="bob"), "not a valid tag key"),
    (lambda ws: annotations.set_tag(ws, "mass", "team", "  ", actor="bob"), "a value"),
    (lambda ws: annotations.remove_tag(ws, "mass:1", "team", actor="bob"), "has no tag 'team'"),
    (lambda ws: lifecycle.parse_version_ref("mass:x"), "not a model version"),
    (lambda ws: search_versions(ws, stage="shipped"), "Unknown stage"),
    (lambda ws: search_versions(ws, since="yesterday"), "not a date"),
])
def test_refused_changes_leave_the_registry_as_it_was(ws, action, match):
    before, n = dump(ws), audit_length(ws)
    with pytest.raises(MlopsError) as caught:
        action(ws)
    assert match in str(caught.value)
    assert dump(ws) == before and audit_length(ws) == n


def test_approving_your_own_model_needs_single_user_mode_and_is_recorded_as_self_approved(ws):
    assert single_user_mode(ws) is False  # off by default
    with pytest.raises(InvalidChoiceError, match="four eyes"):
        change_stage(ws, "mass:1", "approved", actor="ann", comment="I checked it.")
    switched = set_single_user(ws, True, actor="ann")
    assert switched == {"single_user": True, "before": False, "changed": True, "by": "ann"}
    entry = ws.audit_entries(limit=1)[0]
    assert entry.action == "workspace.setting_changed" and entry.actor == "ann"
    assert entry.details["before"] is False and entry.details["after"] is True
    n = audit_length(ws)
    assert set_single_user(ws, True, actor="ann")["changed"] is False
    assert audit_length(ws) == n  # switching to the state it is in records nothing

    done = change_stage(ws, "mass:1", "approved", actor="ann", comment="I checked it.")
    assert done["self_approved"] is True and done["by"] == "ann"
    history = stage_history(ws, "mass:1")
    assert history[-1]["to_stage"] == "approved" and history[-1]["self_approved"] is True
    entry = ws.audit_entries(limit=1)[0]
    assert entry.details["self_approved"] is True and "self-approved" in entry.summary

    # a second person's approval is not a self-approval, even in single-user mode
    assert change_stage(ws, "mass:2", "approved", actor="bob", comment="ok")["self_approved"] is False

    card = model_card(ws, "mass:1")
    assert card.self_approved and card.approvals[-1]["self_approved"] is True
    md = model_card_markdown(card)
    assert "(self-approved, single-user mode)" in md
    approvals = md.split("## Approvals", 1)[1]
    assert "ann" in approvals and "self-approved" in approvals and "I checked it." in approvals
    html = model_card_html(card)
    assert "self-approved" in html.split("Approvals", 1)[1]
    other = model_card_markdown(model_card(ws, "mass:2")).split("## Approvals", 1)[1]
    assert "bob" in other and "self-approved" not in other

    set_single_user(ws, False, actor="ann")
    assert single_user_mode(ws) is False
    validate_version(ws, "species:1", actor="carl", n_bootstrap=50)
    change_stage(ws, "species:1", "validated", actor="carl")
    with pytest.raises(InvalidChoiceError, match="four eyes"):
        change_stage(ws, "species:1", "approved", actor="carl", comment="mine")
    assert ws.verify_audit() == []


# -- aliases -------------------------------------------------------------------------------------

def test_alias_moves_are_recorded_and_queryable_in_time(ws):
    approve_both(ws)
    first = set_alias(ws, "mass", "production", 1, actor="bob", comment="first release")
    assert (first["from_version"], first["to_version"], first["ref"]) == (None, 1, "mass:1")
    with pytest.raises(InvalidChoiceError, match="already points to mass:1"):
        set_alias(ws, "mass", "production", "1", actor="bob")
    moved = set_alias(ws, "mass", "production", "mass:2", actor="cleo", comment="better RMSE")
    assert (moved["from_version"], moved["to_version"]) == (1, 2)
    set_alias(ws, "mass", "staging", 1, actor="cleo")
    assert [(a["alias"], a["version"], a["ref"]) for a in aliases_of(ws, "mass")] == [
        ("production", 2, "mass:2"), ("staging", 1, "mass:1")]
    removed = remove_alias(ws, "mass", "production", actor="dan", comment="incident")
    assert (removed["from_version"], removed["to_version"]) == (2, None)

    history = alias_history(ws, "mass")  # production by default
    assert [(h["from_version"], h["to_version"], h["moved_by"], h["reason"]) for h in history] == [
        (None, 1, "bob", "moved"), (1, 2, "cleo", "moved"), (2, None, "dan", "removed")]
    assert history[0]["comment"] == "first release"
    assert len(alias_history(ws, "mass", None)) == 4

    entries = [e for e in ws.audit_entries(entity_type="model", entity_id=find_version(ws, "mass:1").model_id)
               if e.action.startswith("model.alias")]
    assert [(e.details["before"]["version"], e.details["after"]["version"]) for e in reversed(entries)] == [
        (None, 1), (1, 2), (None, 1), (2, None)]
    assert entries[0].actor == "dan" and entries[0].action == "model.alias_removed"

    t = [datetime.strptime(h["moved_at"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
         for h in history]
    tiny = timedelta(microseconds=1)
    assert version_at(ws, "mass", "production", t[0] - tiny) is None
    assert version_at(ws, "mass", "production", t[0])["version"] == 1
    assert version_at(ws, "mass", "production", t[1] - tiny)["version"] == 1
    at = version_at(ws, "mass", "production", history[1]["moved_at"])
    assert at["version"] == 2 and at["set_by"] == "cleo" and at["since"] == history[1]["moved_at"]
    assert version_at(ws, "mass", "production", t[2]) is None  # removed
    naive = (t[1] + tiny).replace(tzinfo=None)  # naive means UTC
    assert version_at(ws, "mass", "production", naive)["version"] == 2
    with_offset = (t[1] + tiny).astimezone(timezone(timedelta(hours=2))).isoformat()
    assert version_at(ws, "mass", "production", with_offset)["version"] == 2
    assert version_at(ws, "mass", "production", "2001-01-01") is None
    assert version_at(ws, "mass", "staging", t[2])["version"] == 1
    assert ws.verify_audit() == []


def test_retiring_the_production_version_removes_its_aliases_in_the_same_change(ws):
    approve_both(ws)
    set_alias(ws, "mass", "production", 1, actor="bob")
    set_alias(ws, "mass", "champion", 1, actor="bob")
    set_alias(ws, "mass", "challenger", 2, actor="bob")
    n = audit_length(ws)
    done = change_stage(ws, "mass:1", "retired", actor="cleo", comment="replaced by 2")
    assert done["aliases_removed"] == ["champion", "production"]
    assert [a["alias"] for a in aliases_of(ws, "mass")] == ["challenger"]
    last = alias_history(ws, "mass")[-1]
    assert (last["from_version"], last["to_version"], last["reason"], last["moved_by"]) == (1, None, "retired", "cleo")
    new = ws.audit_entries(limit=audit_length(ws) - n)
    assert sorted(e.action for e in new) == ["model.alias_removed", "model.alias_removed", "model.stage_changed"]
    with pytest.raises(InvalidChoiceError, match="retired"):
        set_alias(ws, "mass", "production", 1, actor="bob")
    assert ws.verify_audit() == []


def test_a_failing_alias_removal_undoes_the_retirement(ws, monkeypatch):
    from mlops_desktop.core.store import aliases

    approve_both(ws)
    set_alias(ws, "mass", "production", 1, actor="bob")
    before, n = dump(ws), audit_length(ws)

    def broken(*args, **kwargs):
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(aliases, "move", broken)
    with pytest.raises(sqlite3.OperationalError):
        change_stage(ws, "mass:1", "retired", actor="cleo", comment="x")
    assert dump(ws) == before and audit_length(ws) == n
    assert find_version(ws, "mass:1").stage == "approved"


# -- tags and descriptions -------------------------------------------------------------------------

def test_tags_and_descriptions_on_models_and_versions_are_audited(ws):
    model_id = find_version(ws, "mass:1").model_id
    version_id = find_version(ws, "mass:2").id
    assert annotations.set_tag(ws, "mass", "team", "biology", actor="bob")["before"] is None
    changed = annotations.set_tag(ws, "mass", "team", "ecology", actor="cleo")
    assert (changed["before"], changed["after"], changed["on"]) == ("biology", "ecology", "model")
    n = audit_length(ws)
    assert annotations.set_tag(ws, "mass", "team", "ecology", actor="cleo")["changed"] is False
    assert audit_length(ws) == n
    annotations.set_tag(ws, "mass:2", "data.period", "2007-2009", actor="bob")
    assert annotations.tags_of(ws, "mass") == {"team": "ecology"}
    assert annotations.tags_of(ws, "mass:2") == {"data.period": "2007-2009"}
    assert annotations.tags_of(ws, "mass:1") == {}
    removed = annotations.remove_tag(ws, "mass:2", "data.period", actor="dan")
    assert removed["before"] == "2007-2009" and annotations.tags_of(ws, "mass:2") == {}

    annotations.set_description(ws, "mass:2", "Ridge without island.", actor="bob")
    old_model_text = annotations.description_of(ws, "mass")
    done = annotations.set_description(ws, "mass", "Body mass from measurements.", actor="bob")
    assert done["before"] == old_model_text and done["on"] == "model"
    assert find_version(ws, "mass:2").description == "Ridge without island."
    assert annotations.description_of(ws, "mass") == "Body mass from measurements."

    on_model = [e for e in ws.audit_entries(entity_type="model", entity_id=model_id)]
    assert [(e.action, e.details.get("before"), e.details.get("after")) for e in on_model[:3]] == [
        ("model.described", old_model_text, "Body mass from measurements."),
        ("tag.set", "biology", "ecology"), ("tag.set", None, "biology")]
    on_version = ws.audit_entries(entity_type="model_version", entity_id=version_id)
    assert [e.action for e in on_version[:3]] == ["model.described", "tag.removed", "tag.set"]
    assert on_version[1].actor == "dan" and on_version[1].details["after"] is None
    assert ws.verify_audit() == []


# -- the registry list ------------------------------------------------------------------------------

def refs(page) -> list[str]:
    return [r.ref for r in page.rows]


def test_search_filters_by_text_stage_tag_dataset_and_date(ws):
    approve_both(ws)
    set_alias(ws, "mass", "production", 2, actor="bob")
    annotations.set_tag(ws, "mass:1", "owner", "ann", actor="ann")
    annotations.set_tag(ws, "species", "team", "field", actor="carl")
    annotations.set_description(ws, "mass:2", "Uses 100% of rows_without island", actor="ann")

    everything = search_versions(ws)
    assert refs(everything) == ["species:1", "mass:2", "mass:1"] and everything.total == 3
    assert refs(search_versions(ws, stage="approved")) == ["mass:2", "mass:1"]
    assert refs(search_versions(ws, stage=["draft", "retired"])) == ["species:1"]
    assert refs(search_versions(ws, text="MAS")) == ["mass:2", "mass:1"]  # any case
    assert refs(search_versions(ws, text="100%")) == ["mass:2"]  # % is literal
    assert refs(search_versions(ws, text="s_w")) == ["mass:2"]  # so is _
    assert refs(search_versions(ws, text="100_")) == []
    assert refs(search_versions(ws, tag="owner")) == ["mass:1"]
    assert refs(search_versions(ws, tag="owner=ann")) == ["mass:1"]
    assert refs(search_versions(ws, tag="owner=bob")) == []
    assert refs(search_versions(ws, tag="team=field")) == ["species:1"]  # a tag of the model
    assert refs(search_versions(ws, dataset="penguins_copy")) == ["species:1"]
    assert refs(search_versions(ws, dataset=1)) == ["mass:2", "mass:1"]
    assert refs(search_versions(ws, model="mass", order="oldest")) == ["mass:1", "mass:2"]
    with pytest.raises(NotFoundError, match="No dataset"):
        search_versions(ws, dataset="nowhere")

    created = {r.ref: r.created_at for r in everything.rows}
    assert refs(search_versions(ws, since=created["mass:2"])) == ["species:1", "mass:2"]
    assert refs(search_versions(ws, until=created["mass:2"])) == ["mass:1"]  # a time is exclusive
    day = created["mass:1"][:10]
    assert search_versions(ws, until=day).total == 3  # a date includes its whole day
    assert search_versions(ws, since=day, until=day).total == 3
    next_day = (datetime.fromisoformat(day) + timedelta(days=1)).date().isoformat()
    assert search_versions(ws, since=next_day).total == 0
    with pytest.raises(InvalidChoiceError, match="empty"):
        search_versions(ws, since=next_day, until=day)

    combined = search_versions(ws, stage="approved", tag="owner", text="mass", dataset="penguins")
    assert refs(combined) == ["mass:1"]
    row = search_versions(ws, stage="approved").rows[0]
    assert row.aliases == ["production"] and row.dataset == "penguins" and row.description.startswith("Uses")
    assert search_versions(ws, stage="approved").rows[1].tags == {"owner": "ann"}

    page = search_versions(ws, limit=2)
    assert refs(page) == ["species:1", "mass:2"] and page.total == 3
    assert refs(search_versions(ws, limit=2, offset=2)) == ["mass:1"]
    assert json.loads(json.dumps(page.to_dict()))["versions"][0]["ref"] == "species:1"


def test_the_migration_made_the_governance_tables(ws):
    tables = {r["name"] for r in ws.registry.query("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"model_aliases", "alias_moves", "model_tags", "version_tags", "workspace_settings"} <= tables
    applied = {r["version"] for r in ws.registry.query("SELECT version FROM schema_migrations")}
    assert 7 in applied
    plan = " ".join(str(r["detail"]) for r in ws.registry.query(
        "EXPLAIN QUERY PLAN SELECT * FROM alias_moves WHERE model_id = 1 AND alias = 'production'"
        " AND moved_at <= '2030' ORDER BY moved_at DESC LIMIT 1"))
    assert "alias_moves_model_alias" in plan
