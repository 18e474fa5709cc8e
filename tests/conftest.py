"""Shared fixtures. Every test runs with its own user folders (XDG_*), so nothing
touches the real user's settings, logs or default workspace."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "resources" / "samples"
DATA = Path(__file__).resolve().parent / "data"

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    home = tmp_path_factory.mktemp("user")
    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(var, str(home / var.lower()))
    monkeypatch.delenv("MLOPS_DESKTOP_WORKSPACE", raising=False)
    yield home


@pytest.fixture
def workspace(tmp_path: Path):
    """A fresh, open workspace."""
    from mlops_desktop.core.workspace import Workspace

    ws = Workspace.create(tmp_path / "ws", actor="tester")
    yield ws
    ws.close()


@pytest.fixture
def penguins_csv(tmp_path: Path) -> Path:
    dest = tmp_path / "penguins.csv"
    shutil.copy(SAMPLES / "penguins.csv", dest)
    return dest


@pytest.fixture(scope="session")
def governance_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two validated versions of "mass" (ann trained them) and a draft "species" (carl),
    built once per test process for the governance, lineage and CLI governance tests; each
    test works on its own copy (``governance_copy``)."""
    from mlops_desktop.core.registry.lifecycle import change_stage
    from mlops_desktop.core.train import TrainSpec, train
    from mlops_desktop.core.validate.for_version import validate_version
    from mlops_desktop.core.workspace import Workspace

    root = tmp_path_factory.mktemp("governance")
    csv = root / "penguins.csv"
    shutil.copy(SAMPLES / "penguins.csv", csv)
    ws = Workspace.create(root / "ws", actor="ann")
    ws.import_file(csv, actor="ann")
    ws.import_file(csv, name="penguins_copy", actor="carl")
    train(ws, TrainSpec(dataset="penguins", target="body_mass_g", models=["ols"], model_name="mass"), actor="ann")
    train(ws, TrainSpec(dataset="penguins", target="body_mass_g", models=["ridge"], exclude=["island"],
                        model_name="mass"), actor="ann")
    train(ws, TrainSpec(dataset="penguins_copy", target="species", models=["logistic"], model_name="species"),
          actor="carl")
    for ref in ("mass:1", "mass:2"):
        validate_version(ws, ref, actor="ann", n_bootstrap=200)
        change_stage(ws, ref, "validated", actor="ann")
    ws.close()
    return root / "ws"


@pytest.fixture
def governance_copy(governance_template: Path, tmp_path: Path):
    """A copy of the governance workspace, open, for one test to change."""
    from mlops_desktop.core.workspace import Workspace

    dest = tmp_path / "ws"
    shutil.copytree(governance_template, dest)
    opened = Workspace.open(dest)
    yield opened
    opened.close()


def run_cli(*args: str, env: dict | None = None, cwd: Path | None = None):
    """Run one CLI command in this process, through the CLI's entry function, with its
    output captured: what a user sees, without paying a Python start-up per call.
    ``subprocess_cli`` runs the real executable where the process boundary matters."""
    import contextlib
    import io
    import subprocess

    from mlops_desktop.cli import run

    out, err = io.StringIO(), io.StringIO()
    saved_env, saved_cwd = dict(os.environ), os.getcwd()
    os.environ.update(env or {})
    try:
        if cwd is not None:
            os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = run(list(args))
            except SystemExit as exc:  # argparse: --help, --version, a usage error
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    finally:
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
    return subprocess.CompletedProcess(["mlops-desktop", *args], code, out.getvalue(), err.getvalue())


def subprocess_cli(*args: str, env: dict | None = None, cwd: Path | None = None):
    """Run the CLI in a subprocess, as a user would."""
    import subprocess

    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "mlops_desktop", *args], capture_output=True,
                          text=True, env=full_env, cwd=cwd, timeout=300)
