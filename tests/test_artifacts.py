"""Content-addressed artifacts: stored under their SHA-256, checked before every load,
and removed when no registry row came to point to them."""

from __future__ import annotations

import hashlib

import pytest

from mlops_desktop.core.workspace.artifacts import (
    ArtifactError,
    discard_unreferenced,
    load_model_file,
    save_model_file,
    verify_all,
    verify_artifact,
)
from mlops_desktop.core.store import artifacts as artifact_rows
from mlops_desktop.core.store import utc_now
from wsstate import tmp_leftovers


def _fitted(value: float = 1.0):
    """A small fitted model (a stored model file holds a fitted estimator)."""
    import numpy as np
    from sklearn.linear_model import LinearRegression

    x = np.arange(6.0).reshape(-1, 1)
    return LinearRegression().fit(x, value * x[:, 0] + 1.0)


def _record(ws, stored) -> None:
    with ws.registry.transaction():
        artifact_rows.insert(ws.registry, sha256=stored.sha256, size_bytes=stored.size_bytes,
                             kind="model", created_by="tester", created_at=utc_now())


def test_a_saved_model_is_named_by_its_hash_and_loads_back(workspace):
    model = _fitted()
    stored = save_model_file(workspace, model)
    assert stored.path == workspace.artifacts_dir / stored.sha256
    assert hashlib.sha256(stored.path.read_bytes()).hexdigest() == stored.sha256
    assert stored.size_bytes == stored.path.stat().st_size
    assert tmp_leftovers(workspace.root) == []
    _record(workspace, stored)
    assert verify_artifact(workspace, stored.sha256) is None
    loaded = load_model_file(workspace, stored.sha256)
    assert type(loaded) is type(model) and loaded.coef_.tolist() == model.coef_.tolist()


def test_saving_the_same_content_twice_keeps_one_file(workspace):
    first = save_model_file(workspace, _fitted())
    second = save_model_file(workspace, _fitted())  # an equal model, another object
    assert first.sha256 == second.sha256
    assert [p.name for p in workspace.artifacts_dir.iterdir()] == [first.sha256]
    _record(workspace, first)
    with workspace.registry.transaction():  # recording it again is not an error
        assert not artifact_rows.insert(workspace.registry, sha256=first.sha256, size_bytes=1,
                                        kind="model", created_by="x", created_at=utc_now())


def test_a_modified_file_is_refused_before_it_is_read(workspace):
    stored = save_model_file(workspace, _fitted())
    _record(workspace, stored)
    data = bytearray(stored.path.read_bytes())
    data[-1] ^= 0xFF
    stored.path.write_bytes(bytes(data))
    assert "was modified" in verify_artifact(workspace, stored.sha256)
    assert verify_all(workspace) == (1, [verify_artifact(workspace, stored.sha256)])
    with pytest.raises(ArtifactError, match="modified after it was saved"):
        load_model_file(workspace, stored.sha256)


def test_an_unrecorded_or_missing_artifact_is_refused(workspace):
    stored = save_model_file(workspace, _fitted(2.0))
    with pytest.raises(ArtifactError, match="not recorded"):
        load_model_file(workspace, stored.sha256)
    _record(workspace, stored)
    stored.path.unlink()
    with pytest.raises(ArtifactError, match="missing"):
        load_model_file(workspace, stored.sha256)
    with pytest.raises(ArtifactError, match="not an artifact hash"):
        load_model_file(workspace, "../registry.sqlite")


def test_discard_removes_only_files_no_row_records(workspace):
    kept = save_model_file(workspace, _fitted(1.0))
    orphan = save_model_file(workspace, _fitted(3.0))
    _record(workspace, kept)
    assert discard_unreferenced(workspace, kept.sha256) is False and kept.path.is_file()
    assert discard_unreferenced(workspace, orphan.sha256) is True and not orphan.path.exists()
    assert discard_unreferenced(workspace, orphan.sha256) is False


def test_the_stored_file_is_a_skops_file_that_skops_reads_with_the_trusted_types(workspace):
    import numpy as np
    import skops.io as sio

    from mlops_desktop.core.model_format import TRUSTED_TYPES

    model = _fitted(2.5)
    stored = save_model_file(workspace, model)
    assert stored.path.read_bytes()[:4] == b"PK\x03\x04"  # a zip: skops, not a pickle
    again = sio.load(stored.path, trusted=sorted(TRUSTED_TYPES))
    np.testing.assert_array_equal(again.coef_, model.coef_)


def test_verify_names_a_modified_or_missing_model_file(tmp_path):
    """The workspace check (CLI verify) covers model files, not only snapshots."""
    import shutil

    from conftest import SAMPLES
    from mlops_desktop.core.workspace.integrity import verify_workspace
    from mlops_desktop.core.train import TrainSpec, find_version, train
    from mlops_desktop.core.workspace import Workspace

    ws = Workspace.create(tmp_path / "ws", actor="ann")
    shutil.copy(SAMPLES / "penguins.csv", tmp_path / "p.csv")
    ws.import_file(tmp_path / "p.csv", actor="ann")
    train(ws, TrainSpec(dataset="p", target="body_mass_g", models=["ols"], model_name="m"), actor="ann")
    assert verify_workspace(ws).ok
    path = ws.artifacts_dir / find_version(ws, "m").artifact_sha256
    path.write_bytes(path.read_bytes() + b"x")
    report = verify_workspace(ws)
    assert not report.ok and any(find_version(ws, "m").artifact_sha256[:12] in p for p in report.problems)
    path.unlink()
    assert not verify_workspace(ws).ok
