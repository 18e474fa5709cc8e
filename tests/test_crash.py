"""Crash safety: a process SIGKILLed in the middle of an import or of a training
registration leaves a workspace that passes verify, where no row points to a missing
file and no partial file sits under a final name. Its temporary files are recognisable
(``.tmp-<pid>-…``) and removed when the workspace is next opened, and its run is
marked failed.

The kill points are made exact by the child process itself: it wraps one of the
app's own functions (the test's code, not the app's) to write a marker and wait at
the chosen moment; one test instead kills at whatever moment a real, large import
has reached when its snapshot starts being written.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from conftest import DATA
from mlops_desktop.core.workspace.integrity import verify_workspace
from mlops_desktop.core.store import runs as run_rows
from mlops_desktop.core.workspace import Workspace
from wsstate import tmp_leftovers

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")

CHILD = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    root, marker, what, source = sys.argv[1], Path(sys.argv[2]), sys.argv[3], sys.argv[4]

    def stop_here():
        marker.touch()
        time.sleep(120)  # the parent kills us now

    def half_written(real):
        # write the file, then cut it in half and stop: killed mid-write
        def wrapper(folder, name, write):
            def partial(p):
                write(p)
                data = p.read_bytes()
                p.write_bytes(data[: len(data) // 2])
                stop_here()
            return real(folder, name, partial)
        return wrapper

    from mlops_desktop.core.workspace import Workspace
    ws = Workspace.open(root)
    if what == "import-snapshot":
        import mlops_desktop.core.data.importer as importer
        importer.write_temporary = half_written(importer.write_temporary)
        ws.import_file(source, name="big", actor="ann")
    elif what == "import-register":
        from mlops_desktop.core.store import datasets
        real_insert = datasets.insert
        def insert(*a, **k):
            row_id = real_insert(*a, **k)  # inside the open transaction
            stop_here()
        datasets.insert = insert
        ws.import_file(source, name="big", actor="ann")
    elif what == "import-real":
        ws.import_file(source, name="big", actor="ann")
    else:
        from mlops_desktop.core.train import TrainSpec, train
        if what == "train-artifact":
            import mlops_desktop.core.workspace.artifacts as artifacts
            artifacts.write_temporary = half_written(artifacts.write_temporary)
        elif what == "train-register":
            from mlops_desktop.core.store import models
            real_version = models.insert_version
            def insert_version(*a, **k):
                out = real_version(*a, **k)  # the artifact is written, the row not committed
                stop_here()
            models.insert_version = insert_version
        train(ws, TrainSpec(dataset="penguins", target="body_mass_g", models=["ols"], model_name="mass"),
              actor="ann")
    print("finished without being killed")
""")


@pytest.fixture
def ws_root(workspace, penguins_csv) -> Path:
    workspace.import_file(penguins_csv, actor="ann")
    root = workspace.root
    workspace.close()
    return root


def _kill_at(root: Path, what: str, source: Path | str, tmp_path: Path, *,
             when=None, timeout: float = 120, may_finish: bool = False) -> bool:
    """Run the child; SIGKILL it once ``when()`` is true (default: its marker exists).
    Returns whether it was killed: a kill timed by the clock (``may_finish``) can come
    after a quick child has already finished, which is then a run like any other."""
    marker = tmp_path / f"{what}.marker"
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(root), str(marker), what, str(source)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    when = when or marker.exists
    deadline = time.monotonic() + timeout
    try:
        while not when():
            if child.poll() is not None:
                out, err = child.communicate()
                if may_finish and child.returncode == 0 and "finished without being killed" in out:
                    return False
                pytest.fail(f"the child ended before the kill point ({child.returncode}): {out} {err}")
            assert time.monotonic() < deadline, "the kill point was never reached"
            time.sleep(0.001)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(30)  # reaped: its pid is gone
    assert child.returncode == -signal.SIGKILL
    return True


def _temporaries(root: Path) -> list[Path]:
    return [p for p in root.rglob(".tmp-*")]


def _check_after_crash(root: Path) -> Workspace:
    """Open (which tidies up), then: verify passes, every file under a final name is
    whole, no row points to a missing file, no temporary is left."""
    import pyarrow.parquet as pq

    ws = Workspace.open(root)
    report = verify_workspace(ws)
    assert report.ok, report.text()
    assert tmp_leftovers(root) == []
    for f in ws.artifacts_dir.iterdir():  # content-addressed: a whole file hashes to its name
        assert hashlib.sha256(f.read_bytes()).hexdigest() == f.name
    for f in ws.snapshots_dir.glob("*.parquet"):
        pq.read_metadata(f)  # a cut parquet file has no footer and fails here
    for v in ws.registry.query("SELECT artifact_sha256 FROM model_versions"):
        assert (ws.artifacts_dir / v["artifact_sha256"]).is_file()
    for d in ws.datasets():
        assert (root / d.snapshot).is_file()
    return ws


@pytest.fixture
def big_csv(tmp_path) -> Path:
    """About 300,000 rows: its snapshot takes long enough to write to be caught."""
    import pandas as pd

    frame = pd.read_csv(DATA / "flights_6000.csv")
    big = pd.concat([frame] * 50, ignore_index=True)
    path = tmp_path / "big.csv"
    big.to_csv(path, index=False)
    return path


def test_killed_while_writing_an_imports_snapshot(ws_root, penguins_csv, tmp_path):
    _kill_at(ws_root, "import-snapshot", penguins_csv, tmp_path)
    [partial] = _temporaries(ws_root)
    assert partial.parent.name == "snapshots" and partial.name.startswith(".tmp-")
    with _check_after_crash(ws_root) as ws:
        assert [d.name for d in ws.datasets()] == ["penguins"]


def test_killed_while_registering_an_import(ws_root, big_csv, tmp_path):
    """The snapshot is published under its final name, the dataset row not committed:
    the row rolls back; the snapshot left is whole."""
    _kill_at(ws_root, "import-register", big_csv, tmp_path)
    with _check_after_crash(ws_root) as ws:
        assert [d.name for d in ws.datasets()] == ["penguins"]
        assert ws.audit_entries(limit=1)[0].action == "dataset.imported"
        assert len(list(ws.snapshots_dir.glob("*.parquet"))) == 2  # penguins's, and the whole orphan


@pytest.mark.parametrize("delay", [0.0, 0.05, 0.3])
def test_killed_at_some_point_of_a_real_import(ws_root, big_csv, tmp_path, delay):
    """No hook: kill a real import ``delay`` seconds after its snapshot's temporary file
    appears; whatever moment that is, the workspace is consistent."""
    seen: dict[str, float] = {}

    def snapshot_started() -> bool:
        if "at" not in seen and any((ws_root / "snapshots").glob(".tmp-*")):
            seen["at"] = time.monotonic()
        return "at" in seen and time.monotonic() - seen["at"] >= delay

    killed = _kill_at(ws_root, "import-real", big_csv, tmp_path, when=snapshot_started, may_finish=True)
    with _check_after_crash(ws_root) as ws:
        names = sorted(d.name for d in ws.datasets())
        assert names in (["penguins"], ["big", "penguins"]) if killed else names == ["big", "penguins"]


def test_killed_while_writing_a_models_file(ws_root, tmp_path):
    _kill_at(ws_root, "train-artifact", "", tmp_path)
    [partial] = _temporaries(ws_root)
    assert partial.parent.name == "artifacts"
    with _check_after_crash(ws_root) as ws:
        [run] = run_rows.list_all(ws.registry)
        assert (run.status, run.error) == ("failed", "the app stopped during training")
        assert ws.registry.query("SELECT * FROM model_versions") == []


def test_killed_while_registering_a_model_version(ws_root, tmp_path):
    """The model file is published, its rows are inside an uncommitted transaction: the
    rows roll back, the run is marked failed, the whole (unreferenced) file stays."""
    _kill_at(ws_root, "train-register", "", tmp_path)
    with _check_after_crash(ws_root) as ws:
        [run] = run_rows.list_all(ws.registry)
        assert (run.status, run.error) == ("failed", "the app stopped during training")
        assert ws.registry.query("SELECT * FROM model_versions") == []
        assert ws.registry.query("SELECT * FROM artifacts") == []
        [finished] = [e for e in ws.audit_entries(entity_type="run", entity_id=run.id)
                      if e.action == "run.finished"]
        assert finished.actor == "mlops-desktop" and finished.details["status"] == "failed"
