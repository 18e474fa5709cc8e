"""Workspaces the security tests start from, built once per session and copied."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import SAMPLES
from mlops_desktop.core.workspace import Workspace


@pytest.fixture(scope="session")
def trained(tmp_path_factory) -> Path:
    """A closed workspace: penguins imported, and mass:1 (least squares) trained by ann."""
    from mlops_desktop.core.train import TrainSpec, train

    root = tmp_path_factory.mktemp("trained") / "ws"
    with Workspace.create(root, actor="ann") as ws:
        ws.import_file(SAMPLES / "penguins.csv", actor="ann")
        train(ws, TrainSpec(dataset="penguins", target="body_mass_g", models=["ols"], model_name="mass"),
              actor="ann")
    return root


@pytest.fixture(scope="session")
def approved(trained, tmp_path_factory) -> Path:
    """The trained workspace with mass:1 validated by ann and approved by bob."""
    from mlops_desktop.core.lifecycle import change_stage
    from mlops_desktop.core.validate.for_version import validate_version

    root = tmp_path_factory.mktemp("approved") / "ws"
    shutil.copytree(trained, root)
    with Workspace.open(root) as ws:
        validate_version(ws, "mass:1", actor="ann", n_bootstrap=50)
        change_stage(ws, "mass:1", "validated", actor="ann", override_reason="a test model")
        change_stage(ws, "mass:1", "approved", actor="bob", comment="Checked for the tests.")
    return root


@pytest.fixture
def ws_root(trained, tmp_path) -> Path:
    """A copy of the trained workspace, for one test to change."""
    shutil.copytree(trained, tmp_path / "ws")
    return tmp_path / "ws"


@pytest.fixture
def snapshot(ws_root) -> Path:
    """The snapshot file of penguins in ``ws_root``."""
    with Workspace.open(ws_root) as ws:
        return ws_root / ws.dataset("penguins").snapshot


@pytest.fixture
def model_file(ws_root) -> Path:
    """The model file of mass:1 in ``ws_root``."""
    from mlops_desktop.core.train import find_version

    with Workspace.open(ws_root) as ws:
        return ws.artifacts_dir / find_version(ws, "mass:1").artifact_sha256
