"""Shared set-up of the export tests (no tests here): an approved model on flights,
its package, and virtual environments built from a package's requirements, cached
under ``.venv-cache/`` by the hash of what they hold (built once per CI run)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
from filelock import FileLock

from conftest import DATA, ROOT

FEATURES = ["carrier", "origin", "dep_delay", "distance", "hour"]
VENV_CACHE = Path(os.environ.get("MLOPS_TEST_VENV_CACHE", ROOT / ".venv-cache"))


def flights_late(path: Path) -> pd.DataFrame:
    """The flights sample with a binary target (arriving more than 15 minutes late)
    and a row id, written to ``path``."""
    df = pd.read_csv(DATA / "flights_6000.csv")
    df = df[df["arr_delay"].notna()].copy()
    df["late"] = np.where(df["arr_delay"] > 15, "late", "on time")
    df.insert(0, "row_id", [f"r{i}" for i in range(len(df))])
    df = df.drop(columns=["arr_delay", "arr_time", "air_time"])
    df.to_csv(path, index=False)
    return df


def approve(ws, ref: str, *, trainer: str = "ann", approver: str = "bob") -> None:
    """Validate, move to validated and approve (four eyes) a freshly trained version."""
    from mlops_desktop.core.registry.lifecycle import change_stage
    from mlops_desktop.core.validate.for_version import validate_version

    validate_version(ws, ref, actor=trainer, n_bootstrap=50)
    change_stage(ws, ref, "validated", actor=trainer, override_reason="test model")
    change_stage(ws, ref, "approved", actor=approver, comment="Checked the card and the holdout.")


def train_late(ws, data: Path, *, models=("logistic",), name: str = "late", **spec) -> str:
    from mlops_desktop.core.train import TrainSpec, train

    ws.import_file(data, name="flights", actor="ann")
    ws.update_column("flights", "row_id", role="id", actor="ann")
    result = train(ws, TrainSpec(dataset="flights", target="late", models=list(models), features=FEATURES,
                                 model_name=name, search_candidates=0, cv_folds=2, **spec), actor="ann")
    return f"{name}:{result.version}"


def _pins(requirements: Path) -> list[str]:
    return sorted(line.strip() for line in requirements.read_text().splitlines()
                  if line.strip() and not line.startswith("#"))


def venv_python(requirements: Path, extra: tuple[str, ...] = ()) -> Path:
    """A virtual environment with exactly ``requirements`` (and ``extra`` packages)
    installed, built once and reused while those stay the same."""
    pins = _pins(requirements)
    key = hashlib.sha256("\n".join([sys.version, *pins, "--", *extra]).encode()).hexdigest()[:16]
    target = VENV_CACHE / f"{'+'.join(e.split('=')[0] for e in extra) or 'package'}-{key}"
    python = target / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    if python.is_file() and (target / ".complete").is_file():
        return python
    VENV_CACHE.mkdir(parents=True, exist_ok=True)
    # one builder per environment: test workers running in parallel (pytest-xdist) wait for
    # the one that builds it, then use it, instead of building it twice or replacing it under use
    with FileLock(VENV_CACHE / f".{target.name}.lock", timeout=1800):
        if python.is_file() and (target / ".complete").is_file():
            return python
        building = VENV_CACHE / f".building-{uuid.uuid4().hex}"
        try:
            subprocess.run([sys.executable, "-m", "venv", str(building)], check=True, capture_output=True,
                           timeout=300)
            pip = [str(building / ("Scripts/python.exe" if os.name == "nt" else "bin/python")), "-m", "pip",
                   "install", "--quiet", "--disable-pip-version-check", "-r", str(requirements), *extra]
            # one download cache for every build (each test's own XDG_CACHE_HOME would give
            # each build an empty one: the same wheels fetched from PyPI once per environment)
            done = subprocess.run(pip, capture_output=True, text=True, timeout=1500,
                                  env={**os.environ, "PIP_CACHE_DIR": str(VENV_CACHE / "pip-cache")})
            if done.returncode != 0:
                raise RuntimeError(f"pip could not install the package's requirements:\n{done.stderr[-3000:]}")
            (building / ".complete").write_text("ok\n")
            shutil.rmtree(target, ignore_errors=True)
            os.rename(building, target)  # venvs are relocatable enough for `bin/python -m ...`
        finally:
            shutil.rmtree(building, ignore_errors=True)
    return python


#: what the Spark and MLflow tests add to a package's requirements
EXTRAS = ("pyspark", "mlflow-skinny")


def extras_python(requirements: Path) -> Path:
    """One environment for every Spark and MLflow test: the exact pins of every package
    the tests export (this environment's versions of the export's libraries and
    formulaic) with pyspark and mlflow-skinny, built once instead of once per package
    and extra (each build installs the whole scientific stack). That a package's own
    requirements are enough is proved in ``venv_python``'s environments, holding only them."""
    from mlops_desktop.core.export.contents import ROOT_REQUIREMENTS, pinned_requirements, requirements_text

    pins = pinned_requirements(ROOT_REQUIREMENTS + ("formulaic",))
    union = VENV_CACHE / f"extras-{hashlib.sha256(repr(pins).encode()).hexdigest()[:16]}.txt"
    needed = _pins(requirements)
    held = {f"{name}=={version}" for name, version in pins.items()}
    assert set(needed) <= held, f"the package pins what the extras environment does not: {set(needed) - held}"
    VENV_CACHE.mkdir(parents=True, exist_ok=True)
    if not union.is_file():
        text = requirements_text(pins, {})
        staged = union.with_name(f".{union.name}.{uuid.uuid4().hex}")
        staged.write_text(text)
        os.replace(staged, union)  # workers writing it at once write the same bytes
    return venv_python(union, EXTRAS)


def export_late(base: Path, prepare: Callable[[pd.DataFrame], pd.DataFrame] = lambda df: df) -> tuple[Path, pd.DataFrame, Any]:
    """An approved model on flights (``prepare`` may change the rows first) exported
    to ``base/pkg``: the package's folder, the rows and the app's model."""
    from mlops_desktop.core.export import export_version
    from mlops_desktop.core.train import load_model
    from mlops_desktop.core.workspace import Workspace

    data = base / "flights_late.csv"
    df = prepare(flights_late(data))
    df.to_csv(data, index=False)
    with Workspace.create(base / "ws", actor="ann") as ws:
        ref = train_late(ws, data)
        approve(ws, ref)
        pkg = export_version(ws, ref, base / "pkg", actor="carl").path
        app = load_model(ws, ref)
    return pkg, df, app


def score_py(pkg: Path, *args: Any, cwd: Path) -> subprocess.CompletedProcess:
    """The package's ``score.py`` run as IT runs it (with this Python)."""
    return subprocess.run([sys.executable, str(pkg / "score.py"), *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, timeout=600)


def summary_of(result: subprocess.CompletedProcess) -> dict[str, Any]:
    """The one-line JSON summary a ``score.py`` run printed last."""
    return json.loads(result.stdout.strip().splitlines()[-1])
