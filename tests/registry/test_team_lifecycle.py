"""The registry's rules on both backends: four eyes, the stage history, the audit chain."""

from __future__ import annotations

import pytest

from mlops_desktop.core.errors import MlopsError
from mlops_desktop.core.registry.lifecycle import change_stage, stage_history
from mlops_desktop.core.train import TrainSpec, find_version, train
from mlops_desktop.core.validate.for_version import validate_version


def _trained(team, penguins_csv, person: str = "ana"):
    ws = team.open(person)
    ws.import_file(penguins_csv, actor=person)
    train(ws, TrainSpec(dataset="penguins", target="body_mass_g", models=["ols"], model_name="mass"),
          actor=person)
    validate_version(ws, "mass:1", actor=person, n_bootstrap=50)
    return ws


def test_a_second_person_approves_what_the_first_trained(team, penguins_csv):
    ana = _trained(team, penguins_csv)
    carol = team.open("carol")
    change_stage(carol, "mass:1", "validated", actor="carol")
    with pytest.raises(MlopsError, match="cannot approve it too|may not"):
        change_stage(ana, "mass:1", "approved", actor="ana", comment="mine")
    change_stage(carol, "mass:1", "approved", actor="carol", comment="Residuals look sound.")
    assert find_version(ana, "mass:1").stage == "approved"
    assert [(h["to_stage"], h["changed_by"]) for h in stage_history(ana, "mass:1")] == [
        ("validated", "carol"), ("approved", "carol")]
    assert ana.verify_audit() == []
    assert carol.verify_audit() == []
