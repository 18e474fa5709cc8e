"""One person, one name (issue 12, item 7): a name typed to look like the trainer's
(an invisible character, a look-alike letter from another script, full-width letters,
a capital I for an l, an accent) is the trainer for the four-eyes rule, in the CLI and
in core (which the GUI calls with its "acting as" name); names that differ stay
two people; the name is recorded as typed."""

from __future__ import annotations

import shutil

import pytest

from conftest import SAMPLES, run_cli
from mlops_desktop.core.errors import MlopsError
from mlops_desktop.core.registry.lifecycle import change_stage, same_person, set_single_user, stage_history
from mlops_desktop.core.train import TrainSpec, find_version, train
from mlops_desktop.core.validate.for_version import validate_version
from mlops_desktop.core.workspace import Workspace

LOOK_ALIKES = {
    "zero-width space after": "alice\u200b",
    "zero-width joiner inside": "al\u200dice",
    "soft hyphen inside": "al\u00adice",
    "right-to-left override before": "\u202ealice",
    "variation selector after": "alice\ufe0f",
    "tag characters after": "alice\U000e0041\U000e007f",
    "Cyrillic a": "\u0430lice",
    "Cyrillic e": "alic\u0435",
    "Greek capital alpha": "\u0391lice",
    "Latin alpha": "\u0251lice",
    "full-width letters": "\uff41\uff4c\uff49\uff43\uff45",
    "mathematical bold letters": "\U0001d41a\U0001d425\U0001d422\U0001d41c\U0001d41e",
    "capital I for l": "aIice",
    "digit one for l": "a1ice",
    "an accent added": "alicé",
    "a combining accent added": "alice\u0301",
    "upper case and spaces": "  ALICE ",
}


def _trained(root, trainer: str) -> str:
    ws = Workspace.create(root, actor=trainer)
    shutil.copy(SAMPLES / "penguins.csv", root.parent / "penguins.csv")
    ws.import_file(root.parent / "penguins.csv", actor=trainer)
    train(ws, TrainSpec(dataset="penguins", target="body_mass_g", models=["ols"], model_name="mass"),
          actor=trainer)
    validate_version(ws, "mass:1", actor=trainer, n_bootstrap=50)
    change_stage(ws, "mass:1", "validated", actor=trainer)
    ws.close()
    return "mass:1"


@pytest.fixture(scope="module")
def by_alice(tmp_path_factory):
    root = tmp_path_factory.mktemp("alice") / "ws"
    _trained(root, "alice")
    return root


@pytest.fixture
def ws(by_alice, tmp_path):
    shutil.copytree(by_alice, tmp_path / "ws")
    with Workspace.open(tmp_path / "ws") as opened:
        yield opened


@pytest.mark.parametrize("approver", list(LOOK_ALIKES.values()), ids=list(LOOK_ALIKES))
def test_a_look_alike_name_is_the_trainer(ws, approver):
    with pytest.raises(MlopsError, match="cannot approve it too"):
        change_stage(ws, "mass:1", "approved", actor=approver, comment="looks fine to me")
    assert find_version(ws, "mass:1").stage == "validated"


def test_in_single_user_mode_a_look_alike_approval_is_recorded_as_self_approved_and_as_typed(ws):
    set_single_user(ws, True, actor="alice")
    done = change_stage(ws, "mass:1", "approved", actor="\u0430lice", comment="alone in the team")
    assert done["self_approved"] is True
    approval = stage_history(ws, "mass:1")[-1]
    assert approval["self_approved"] is True
    assert approval["changed_by"] == "\u0430lice"  # recorded as typed


@pytest.mark.parametrize("trainer, approver", [("ana", "anna"), ("alice", "alicia"), ("bob", "rob"),
                                               ("ann", "anne"), ("ann smith", "annsmith"),
                                               ("Maria", "Mario"), ("王伟", "王玮")])
def test_names_that_differ_stay_two_people(trainer, approver):
    assert not same_person(trainer, approver)


def test_a_second_person_still_approves(ws):
    done = change_stage(ws, "mass:1", "approved", actor="anna", comment="Residuals look sound.")
    assert done["self_approved"] is False and find_version(ws, "mass:1").stage == "approved"


@pytest.mark.parametrize("trainer, approver", [("José", "Jose"), ("JOSÉ", "jose"),
                                               ("Jose\u0301", "José"), ("Zoë", "Zoe")])
def test_an_accent_does_not_make_a_second_person(trainer, approver):
    assert same_person(trainer, approver)


def test_the_cli_refuses_a_look_alike_approver_and_a_name_with_nothing_visible(ws):
    root = str(ws.root)
    ws.close()
    for name in ("alice\u200b", "\uff41\uff4c\uff49\uff43\uff45", "aIice"):
        done = run_cli("models", "stage", "mass:1", "approved", "--comment", "ok", "--as", name,
                       "--workspace", root)
        assert done.returncode == 2 and "four eyes" in done.stderr, (name, done.stderr)
    blank = run_cli("models", "stage", "mass:1", "approved", "--comment", "ok", "--as", "\u200b\u2060",
                    "--workspace", root)
    assert blank.returncode == 2 and "--as needs a person's name" in blank.stderr, blank.stderr
    with Workspace.open(root) as again:
        assert find_version(again, "mass:1").stage == "validated"


def test_core_refuses_an_approver_with_nothing_visible(ws):
    with pytest.raises(MlopsError, match="nothing visible"):
        change_stage(ws, "mass:1", "approved", actor="\u200b", comment="who?")
    assert find_version(ws, "mass:1").stage == "validated"
