"""Issue 12, item 1: a backup whose model file is a malicious pickle, with the registry,
the audit log and the manifest rewritten so that everything matches, restores, and
``verify`` finds it intact. Every command and page that loads a model then refuses the
file as not a trusted model file, and the pickle's code never runs (its marker file
never appears)."""

from __future__ import annotations

import shutil

import pytest

from conftest import SAMPLES
from .forged_files import approved_workspace, forged_backup, malicious_pickle, swap_model_file

NOT_TRUSTED = "is not a trusted model file"


@pytest.fixture(scope="module")
def attack(tmp_path_factory):
    """The sender's workspace (an approved OLS model, mass:1), its backup with the model
    file swapped for a malicious pickle, and the receiver's restore of it."""
    from mlops_desktop.core.workspace.backup import backup, restore
    from mlops_desktop.core.train import find_version
    from mlops_desktop.core.workspace import Workspace

    base = tmp_path_factory.mktemp("attack")
    shutil.copy(SAMPLES / "penguins.csv", base / "penguins.csv")
    sender = approved_workspace(base / "sender", base / "penguins.csv", trainer="mallory", approver="trent")
    with Workspace.open(sender) as ws:
        version_id = find_version(ws, "mass:1").id
        backup(ws, base / "honest.zip", actor="mallory")
    marker = base / "the-pickle-ran"
    sha = forged_backup(base / "honest.zip", base / "forged.zip", version_id, malicious_pickle(marker),
                        base / "work")
    result = restore(base / "forged.zip", base / "received", actor="victim")
    return {"base": base, "marker": marker, "sha": sha, "restore": result,
            "workspace": base / "received", "csv": base / "penguins.csv"}


def test_the_forged_backup_restores_intact_but_its_pickle_is_named(attack):
    result = attack["restore"]
    assert result.ok, result.problems  # the forgery is complete: verify cannot tell
    assert result.pickled_models == ["mass:1"]
    assert not attack["marker"].exists()


def test_loading_the_model_refuses_the_pickle_and_says_why(attack):
    from mlops_desktop.core.workspace.artifacts import UntrustedModelError
    from mlops_desktop.core.train import load_model
    from mlops_desktop.core.workspace import Workspace

    with Workspace.open(attack["workspace"]) as ws:
        with pytest.raises(UntrustedModelError) as caught:
            load_model(ws, "mass:1")
    message = str(caught.value)
    assert f"The model file of mass:1 ({attack['workspace'] / 'artifacts' / attack['sha']}) {NOT_TRUSTED}" in message
    assert "it is a pickle" in message and "It was not loaded" in message
    assert "will not be converted" in message and "restored from a backup" in message
    assert "upgrade-models" not in message  # a restored workspace is never offered the conversion
    assert not attack["marker"].exists()


def _cli(capsys, *argv: str) -> tuple[int, str, str]:
    from mlops_desktop.cli import run

    code = run(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


LOADING_COMMANDS = {
    "models show": ["models", "show", "mass:1"],
    "validate": ["validate", "mass:1", "--bootstrap", "20"],
    "export": ["export", "mass:1", "--out", "{base}/package"],
    "drift": ["drift", "--reference", "mass:1", "--current", "{csv}"],
}


@pytest.mark.parametrize("case", list(LOADING_COMMANDS))
def test_every_command_that_loads_the_model_refuses_it_with_exit_code_2(attack, capsys, case):
    argv = [a.format(base=attack["base"], csv=attack["csv"]) for a in LOADING_COMMANDS[case]]
    code, out, err = _cli(capsys, *argv, "--workspace", str(attack["workspace"]))
    assert code == 2, (out, err)
    assert err.startswith("error: The model file of mass:1") and NOT_TRUSTED in err
    assert "Traceback" not in err
    assert not attack["marker"].exists()
    assert not (attack["base"] / "package").exists()


def test_upgrade_models_refuses_a_restored_workspace(attack, capsys):
    code, _out, err = _cli(capsys, "upgrade-models", "--yes", "--workspace", str(attack["workspace"]))
    assert code == 2
    assert "will not be converted" in err and "restored from a backup" in err
    assert not attack["marker"].exists()


def test_reproduce_retrains_from_the_snapshot_without_touching_the_model_file(attack, capsys):
    code, out, err = _cli(capsys, "reproduce", "1", "--workspace", str(attack["workspace"]))
    assert code == 0, err
    assert not attack["marker"].exists()


def test_a_swapped_file_that_verify_flags_is_refused_before_it_is_read(tmp_path):
    """Rows edited, audit log left alone: verify names the swap, and loading refuses the
    file without reading it (the audit log records another file)."""
    import sqlite3

    from mlops_desktop.core.workspace.artifacts import ArtifactError
    from mlops_desktop.core.workspace.integrity import verify_workspace
    from mlops_desktop.core.train import TrainSpec, find_version, load_model, train
    from mlops_desktop.core.workspace import Workspace

    shutil.copy(SAMPLES / "penguins.csv", tmp_path / "penguins.csv")
    with Workspace.create(tmp_path / "ws", actor="ann") as ws:
        ws.import_file(tmp_path / "penguins.csv", name="penguins", actor="ann")
        for name, target in (("mass", "body_mass_g"), ("other", "flipper_length_mm")):
            train(ws, TrainSpec(dataset="penguins", target=target, models=["ridge"], model_name=name),
                  actor="ann")
        mass, other = find_version(ws, "mass:1"), find_version(ws, "other:1")
    db = sqlite3.connect(tmp_path / "ws" / "registry.sqlite")
    # a valid model file, only not this version's
    db.execute("UPDATE model_versions SET artifact_sha256 = ? WHERE id = ?", (other.artifact_sha256, mass.id))
    db.commit()
    db.close()
    with Workspace.open(tmp_path / "ws") as ws:
        assert any("its model was swapped" in p for p in verify_workspace(ws).problems)
        with pytest.raises(ArtifactError, match="the audit log records .* the model was swapped"):
            load_model(ws, "mass:1")


@pytest.mark.parametrize("kind", ["plain pickle", "skops naming builtins.exec"])
def test_other_forged_files_are_refused_too(tmp_path, kind):
    """A pickle without the zlib wrapper, and a skops file that asks skops to build an
    untrusted callable, are refused as not trusted, and nothing runs."""
    import io
    import json
    import zipfile

    from mlops_desktop.core.workspace.artifacts import UntrustedModelError
    from mlops_desktop.core.train import TrainSpec, find_version, load_model, train
    from mlops_desktop.core.workspace import Workspace

    marker = tmp_path / "ran"
    if kind == "plain pickle":
        data = malicious_pickle(marker, compressed=False)
        expected = "it is a pickle"
    else:
        schema = {"__class__": "exec", "__module__": "builtins", "__loader__": "FunctionNode",
                  "content": {"module_path": "builtins", "function": "exec"}, "__id__": 1,
                  "protocol": 2, "_skops_version": "0.16.0"}
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as zf:
            zf.writestr("schema.json", json.dumps(schema))
        data = buffer.getvalue()
        expected = "builtins.exec"
    shutil.copy(SAMPLES / "penguins.csv", tmp_path / "penguins.csv")
    with Workspace.create(tmp_path / "ws", actor="ann") as ws:
        ws.import_file(tmp_path / "penguins.csv", name="penguins", actor="ann")
        train(ws, TrainSpec(dataset="penguins", target="body_mass_g", models=["ridge"], model_name="mass"),
              actor="ann")
        version_id = find_version(ws, "mass:1").id
    swap_model_file(tmp_path / "ws" / "registry.sqlite", version_id, data, tmp_path / "ws" / "artifacts")
    with Workspace.open(tmp_path / "ws") as ws:
        with pytest.raises(UntrustedModelError, match=NOT_TRUSTED) as caught:
            load_model(ws, "mass:1")
    assert expected in str(caught.value)
    assert not marker.exists()


# -- the pages that load a model -----------------------------------------------------------------

@pytest.fixture
def received_window(qtbot, tmp_path, attack):
    from PySide6.QtCore import QSettings

    from mlops_desktop.gui.main_window import MainWindow
    from mlops_desktop.gui.state import AppState, Preferences

    state = AppState(Preferences(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)))
    win = MainWindow(state)
    qtbot.addWidget(win)
    win.resize(1280, 800)
    win.show()
    qtbot.waitExposed(win)
    win.open_startup_workspace(str(attack["workspace"]))
    yield win
    win.runner.cancel_all()
    win.runner.wait(30_000)
    win.state.close()


def _close_boxes() -> list[str]:
    from gui.conftest import message_boxes

    texts = []
    for box in message_boxes():
        texts.append(box.text())
        box.done(0)
    return texts


def test_the_pages_that_load_a_model_refuse_it_in_the_error_dialog(received_window, qtbot, attack, tmp_path):
    from gui.conftest import message_boxes, screenshot, wait_jobs

    window = received_window
    wait_jobs(qtbot, window)
    # opening the workspace says at once that its model file will not be loaded
    offer = window.model_upgrade.dialog
    assert offer is not None and offer.isVisible()
    assert "will not be converted either" in offer.text() and "restored from a backup" in offer.text()
    assert offer.buttons()[0].text() != "Convert"
    screenshot(offer, "security_restored_pickle_on_open")
    _close_boxes()

    window.go_to("Validate")
    validate = window.page("Validate")
    validate.reload()
    validate.model_combo.setCurrentIndex(validate.model_combo.findData("mass:1"))
    validate.run_validation()
    wait_jobs(qtbot, window)
    refused = [b for b in message_boxes() if NOT_TRUSTED in b.text()]
    assert refused, "no error dialog on Validate"
    screenshot(refused[0], "security_validate_refuses_pickle")
    _close_boxes()

    window.go_to("Monitor")
    monitor = window.page("Monitor")
    monitor.reload()
    choices = [monitor.reference.itemData(i) for i in range(monitor.reference.count())]
    monitor.reference.setCurrentIndex(choices.index(("model", "mass:1")))
    monitor.add_batch("file", str(attack["csv"]))
    monitor.compare()
    wait_jobs(qtbot, window)
    assert any(NOT_TRUSTED in t for t in _close_boxes()), "no error dialog on Monitor"

    window.go_to("Export")
    export = window.page("Export")
    export.select("mass:1")
    assert export.plan is not None and export.plan.exportable
    export.destination.setText(str(tmp_path / "package"))
    export.export()
    wait_jobs(qtbot, window)
    refused = [b for b in message_boxes() if NOT_TRUSTED in b.text()]
    assert refused, [b.text() for b in message_boxes()]
    screenshot(refused[0], "security_export_refuses_pickle")
    _close_boxes()
    assert not (tmp_path / "package").exists()
    assert not attack["marker"].exists()
