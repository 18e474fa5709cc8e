"""Model files of earlier versions (zlib-compressed pickles): refused at load with a
message that names ``mlops-desktop upgrade-models``; converted to skops files only in
the workspace that made them, after asking; never in a copied, moved or restored
workspace, nor for a run of another computer or with a log that does not verify; and
even then a pickle naming anything outside the model types runs nothing."""

from __future__ import annotations

import pickle
import shutil
import sqlite3
import zlib

import numpy as np
import pytest

from conftest import SAMPLES
from .forged_files import malicious_pickle

COMMAND = "mlops-desktop upgrade-models"


def _as_earlier_versions_saved(model) -> bytes:
    return zlib.compress(pickle.dumps(model, protocol=5), 3)


@pytest.fixture
def legacy(tmp_path, monkeypatch):
    """A workspace trained by an "earlier version": its model files are zlib pickles and
    its audit log records them. Returns the workspace folder and the fitted models."""
    import mlops_desktop.core.model_format as model_format
    from mlops_desktop.core.train import TrainSpec, train
    from mlops_desktop.core.workspace import Workspace

    fitted = {}

    def old_format(model):
        fitted[len(fitted)] = model
        return _as_earlier_versions_saved(model)

    shutil.copy(SAMPLES / "penguins.csv", tmp_path / "penguins.csv")
    with monkeypatch.context() as m:
        m.setattr(model_format, "model_to_bytes", old_format)
        with Workspace.create(tmp_path / "ws", actor="ann") as ws:
            ws.import_file(tmp_path / "penguins.csv", name="penguins", actor="ann")
            train(ws, TrainSpec(dataset="penguins", target="body_mass_g", models=["ols"], model_name="mass"),
                  actor="ann")
            train(ws, TrainSpec(dataset="penguins", target="species", models=["random_forest"],
                                model_name="species", cv_folds=2), actor="ann")
    return tmp_path / "ws", {"mass:1": fitted[0], "species:1": fitted[1]}


def _cli(capsys, *argv: str) -> tuple[int, str, str]:
    from mlops_desktop.cli import run

    code = run(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _files_are_pickles(root) -> list[bool]:
    from mlops_desktop.core.legacy_models import HEAD_BYTES, looks_like_pickle

    return [looks_like_pickle(p.read_bytes()[:HEAD_BYTES]) for p in sorted((root / "artifacts").iterdir())]


def test_a_legacy_model_is_refused_and_the_message_names_the_command(legacy, capsys):
    from mlops_desktop.core.workspace.artifacts import UntrustedModelError
    from mlops_desktop.core.train import load_model
    from mlops_desktop.core.workspace import Workspace

    root, _ = legacy
    with Workspace.open(root) as ws:
        with pytest.raises(UntrustedModelError, match="is not a trusted model file: it is a pickle") as caught:
            load_model(ws, "mass:1")
    assert "audit log shows it was trained here" in str(caught.value) and COMMAND in str(caught.value)
    code, _out, err = _cli(capsys, "validate", "mass:1", "--workspace", str(root))
    assert code == 2 and COMMAND in err


def test_upgrade_models_asks_then_converts_what_this_workspace_made(legacy, capsys):
    import json

    import pandas as pd

    from mlops_desktop.core.workspace.integrity import verify_workspace
    from mlops_desktop.core.model_format import model_to_bytes
    from mlops_desktop.core.store import artifacts as artifact_rows
    from mlops_desktop.core.train import find_version, load_model
    from mlops_desktop.core.workspace import Workspace

    root, originals = legacy
    code, out, _err = _cli(capsys, "upgrade-models", "--workspace", str(root))  # nobody to ask: no change
    assert code == 0 and "Nothing was changed" in out and "--yes" in out
    assert _files_are_pickles(root) == [True, True]

    code, out, err = _cli(capsys, "upgrade-models", "--yes", "--json", "--as", "ann", "--workspace", str(root))
    assert code == 0, err
    report = json.loads(out)
    assert [c["ref"] for c in report["converted"]] == ["mass:1", "species:1"] and report["refused"] == []
    assert _files_are_pickles(root) == [False, False]

    rows = pd.read_csv(SAMPLES / "penguins.csv").dropna()
    with Workspace.open(root) as ws:
        assert verify_workspace(ws).ok, verify_workspace(ws).problems  # the log explains the new files
        for ref, original in originals.items():
            mv = find_version(ws, ref)
            converted = next(c for c in report["converted"] if c["ref"] == ref)
            assert mv.artifact_sha256 == converted["to_sha256"]
            # the same bytes a fresh save of the model gives: content addressing holds
            assert (ws.artifacts_dir / mv.artifact_sha256).read_bytes() == model_to_bytes(original)
            assert not artifact_rows.is_recorded(ws.registry, converted["from_sha256"])
            assert not (ws.artifacts_dir / converted["from_sha256"]).exists()
            model = load_model(ws, ref)
            np.testing.assert_array_equal(model.predict(rows), original.predict(rows))
        entries = [e for e in ws.audit_entries() if e.action == "model.file_converted"]
        assert sorted(e.details["from_sha256"] for e in entries) == sorted(c["from_sha256"] for c in report["converted"])
        assert {e.actor for e in entries} == {"ann"}
    code, out, _err = _cli(capsys, "upgrade-models", "--yes", "--workspace", str(root))
    assert code == 0 and "No model file needs converting" in out


def _copied(root, tmp_path):
    shutil.copytree(root, tmp_path / "copy")
    return tmp_path / "copy", "it was created at"


def _restored(root, tmp_path):
    from mlops_desktop.core.workspace.backup import backup, restore
    from mlops_desktop.core.workspace import Workspace

    with Workspace.open(root) as ws:
        backup(ws, tmp_path / "b.zip", actor="ann")
    restore(tmp_path / "b.zip", tmp_path / "restored", actor="ann")
    return tmp_path / "restored", "restored from a backup"


def _runs_recorded_on(host, reason):
    def change(root, _tmp_path):
        db = sqlite3.connect(root / "registry.sqlite")
        db.execute("UPDATE runs SET host = ?", (host,))
        db.commit()
        db.close()
        return root, reason
    return change


def _log_edited(root, _tmp_path):
    db = sqlite3.connect(root / "registry.sqlite")
    db.execute("DROP TRIGGER audit_log_no_update")
    db.execute("UPDATE audit_log SET actor = 'mallory' WHERE seq = 2")
    db.commit()
    db.close()
    return root, "its audit log does not verify"


FOREIGN = {"copied folder": _copied, "restored backup": _restored,
           "run on another computer": _runs_recorded_on("another-laptop", "ran on another computer (another-laptop)"),
           "run from before hosts were recorded": _runs_recorded_on(None, "was not recorded"),
           "audit log edited": _log_edited}


@pytest.mark.parametrize("case", list(FOREIGN))
def test_no_conversion_where_the_rule_does_not_hold(legacy, tmp_path, capsys, case):
    from mlops_desktop.core.workspace.artifacts import UntrustedModelError
    from mlops_desktop.core.legacy_models import review
    from mlops_desktop.core.train import load_model
    from mlops_desktop.core.workspace import Workspace

    root, _ = legacy
    where, reason = FOREIGN[case](root, tmp_path)
    with Workspace.open(where) as ws:
        found = review(ws)
        assert [m.ref for m in found.models] == ["mass:1", "species:1"] and found.convertible == []
        assert reason in (found.foreign or found.models[0].blocked)
        with pytest.raises(UntrustedModelError, match="It will not be converted") as caught:
            load_model(ws, "mass:1")
        assert COMMAND not in str(caught.value)
    code, out, err = _cli(capsys, "upgrade-models", "--yes", "--workspace", str(where))
    assert code == 2 and reason in out + err  # a foreign workspace is an error; a refused file is listed
    assert _files_are_pickles(where) == [True, True]


def test_a_forged_pickle_in_a_workspace_that_passes_the_rule_runs_nothing(tmp_path, monkeypatch, capsys):
    """The log is not signed: a pickle recorded as if this workspace made it passes the
    rule. The unpickler resolves only the model types, so its code still never runs."""
    import mlops_desktop.core.model_format as model_format
    from mlops_desktop.core.legacy_models import review
    from mlops_desktop.core.train import TrainSpec, train
    from mlops_desktop.core.workspace import Workspace

    marker = tmp_path / "the-pickle-ran"
    shutil.copy(SAMPLES / "penguins.csv", tmp_path / "penguins.csv")
    with monkeypatch.context() as m:
        m.setattr(model_format, "model_to_bytes", lambda model: malicious_pickle(marker))
        with Workspace.create(tmp_path / "ws", actor="ann") as ws:
            ws.import_file(tmp_path / "penguins.csv", name="penguins", actor="ann")
            train(ws, TrainSpec(dataset="penguins", target="body_mass_g", models=["ols"], model_name="mass"),
                  actor="ann")
            assert [m.ref for m in review(ws).convertible] == ["mass:1"]
    code, out, _err = _cli(capsys, "upgrade-models", "--yes", "--workspace", str(tmp_path / "ws"))
    assert code == 2
    assert "mass:1: it refers to builtins.exec, which no model of this app holds" in out
    assert not marker.exists()
    assert _files_are_pickles(tmp_path / "ws") == [True]


def test_the_app_asks_when_it_opens_such_a_workspace_and_converts(legacy, qtbot, tmp_path):
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QMessageBox

    from gui.conftest import screenshot, wait_jobs
    from mlops_desktop.core.train import load_model
    from mlops_desktop.gui.main_window import MainWindow
    from mlops_desktop.gui.state import AppState, Preferences

    import pandas as pd

    root, originals = legacy
    state = AppState(Preferences(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)))
    window = MainWindow(state)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    try:
        window.open_startup_workspace(str(root))
        wait_jobs(qtbot, window)
        ask = window.model_upgrade.dialog
        assert ask is not None and ask.isVisible() and "Convert them now?" in ask.text()
        assert "mass:1" in ask.text() and "species:1" in ask.text()
        screenshot(ask, "security_legacy_models_offer")
        convert = next(b for b in ask.buttons() if b.text() == "Convert")
        convert.click()
        wait_jobs(qtbot, window)
        done = window.model_upgrade.dialog
        assert done is not ask and done.isVisible() and "2 model file(s) converted" in done.text()
        assert done.icon() == QMessageBox.Icon.Information
        screenshot(done, "security_legacy_models_converted")
        done.done(0)
        assert _files_are_pickles(root) == [False, False]
        rows = pd.read_csv(SAMPLES / "penguins.csv").dropna()
        for ref, original in originals.items():  # the converted files predict as the models trained
            np.testing.assert_array_equal(load_model(window.state.workspace, ref).predict(rows),
                                          original.predict(rows))
        window.state.workspace_changed.emit()  # asked once: reopening does not ask again
        wait_jobs(qtbot, window)
        assert window.model_upgrade.dialog is done
    finally:
        window.runner.cancel_all()
        window.runner.wait(30_000)
        window.state.close()
