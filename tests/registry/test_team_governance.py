"""Aliases, their history, retiring, tags, descriptions and the registry list's filters,
on both backends (on PostgreSQL each person is a login with their role)."""

from __future__ import annotations

import pytest

from mlops_desktop.core.registry import annotations
from mlops_desktop.core.errors import InvalidChoiceError
from mlops_desktop.core.registry.lifecycle import (
    alias_history,
    aliases_of,
    change_stage,
    remove_alias,
    search_versions,
    set_alias,
    version_at,
)
from mlops_desktop.core.train import TrainSpec, train
from mlops_desktop.core.validate.for_version import validate_version


@pytest.fixture
def people(team, penguins_csv):
    """ana trained mass:1, mass:2 and species:1; carol validated and approved the mass versions."""
    ana = team.open("ana")
    ana.import_file(penguins_csv, actor="ana")
    for spec in (TrainSpec(dataset="penguins", target="body_mass_g", models=["ols"], model_name="mass"),
                 TrainSpec(dataset="penguins", target="body_mass_g", models=["ridge"], exclude=["island"],
                           model_name="mass"),
                 TrainSpec(dataset="penguins", target="species", models=["logistic"], model_name="species")):
        train(ana, spec, actor="ana")
    carol = team.open("carol")
    for ref in ("mass:1", "mass:2"):
        validate_version(ana, ref, actor="ana", n_bootstrap=50)
        change_stage(carol, ref, "validated", actor="carol")
        change_stage(carol, ref, "approved", actor="carol", comment="sound")
    return {"ana": ana, "carol": carol, "cody": team.open("cody")}


def test_aliases_move_are_kept_and_retiring_removes_them(people):
    ana, carol, cody = people["ana"], people["carol"], people["cody"]
    set_alias(carol, "mass", "production", 1, actor="carol", comment="first release")
    with pytest.raises(InvalidChoiceError, match="already points to mass:1"):
        set_alias(carol, "mass", "production", "1", actor="carol")
    moved = set_alias(cody, "mass", "production", "mass:2", actor="cody", comment="better RMSE")
    assert (moved["from_version"], moved["to_version"]) == (1, 2)
    set_alias(cody, "mass", "staging", 1, actor="cody")
    assert [(a["alias"], a["version"]) for a in aliases_of(ana, "mass")] == [("production", 2), ("staging", 1)]
    history = alias_history(ana, "mass")
    assert [(h["from_version"], h["to_version"], h["moved_by"]) for h in history] == [
        (None, 1, "carol"), (1, 2, "cody")]
    assert version_at(ana, "mass", "production", history[1]["moved_at"])["version"] == 2
    assert version_at(ana, "mass", "production", "2001-01-01") is None
    done = change_stage(carol, "mass:1", "retired", actor="carol", comment="replaced by 2")
    assert done["aliases_removed"] == ["staging"]
    remove_alias(carol, "mass", "production", actor="carol", comment="incident")
    assert aliases_of(ana, "mass") == []
    assert ana.verify_audit() == []


def test_tags_descriptions_and_the_registry_lists_filters(people):
    ana, carol = people["ana"], people["carol"]
    set_alias(carol, "mass", "production", 2, actor="carol")
    assert annotations.set_tag(ana, "mass:1", "owner", "ana", actor="ana")["before"] is None
    annotations.set_tag(ana, "species", "team", "field", actor="ana")
    changed = annotations.set_tag(carol, "species", "team", "lab", actor="carol")
    assert (changed["before"], changed["after"]) == ("field", "lab")
    annotations.set_description(ana, "mass:2", "Uses 100% of rows_without island", actor="ana")
    annotations.set_description(ana, "mass", "Body mass from measurements.", actor="ana")
    annotations.set_tag(ana, "mass:2", "period", "2007", actor="ana")
    assert annotations.remove_tag(ana, "mass:2", "period", actor="ana")["before"] == "2007"

    def refs(page) -> list[str]:
        return [r.ref for r in page.rows]

    assert refs(search_versions(ana)) == ["species:1", "mass:2", "mass:1"]
    assert refs(search_versions(ana, stage="approved")) == ["mass:2", "mass:1"]
    assert refs(search_versions(ana, text="MAS")) == ["mass:2", "mass:1"]  # any case
    assert refs(search_versions(ana, text="100%")) == ["mass:2"]  # % is literal
    assert refs(search_versions(ana, text="s_w")) == ["mass:2"]  # so is _
    assert refs(search_versions(ana, text="100_")) == []
    assert refs(search_versions(ana, tag="owner=ana")) == ["mass:1"]
    assert refs(search_versions(ana, tag="team=lab")) == ["species:1"]
    assert refs(search_versions(ana, dataset="penguins", model="mass", order="oldest")) == ["mass:1", "mass:2"]
    assert refs(search_versions(ana, limit=2, offset=1)) == ["mass:2", "mass:1"]
    assert refs(search_versions(ana, limit=None, offset=2)) == ["mass:1"]
    row = search_versions(ana, stage="approved").rows[0]
    assert row.aliases == ["production"] and row.description.startswith("Uses 100%")
    assert ana.verify_audit() == []
