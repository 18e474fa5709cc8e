"""Workspaces the security tests start from, and the attacker's trial (issue 12): a
workspace with every kind of governed record, and the tools of someone who has write access to its folder and sqlite3 — edit any row,
drop and recreate triggers, and append audit entries chained exactly as the app does
(the recipe is in the source). ``verify`` must name what they did, with its ``kind``.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Optional

import pytest

from conftest import SAMPLES
from mlops_desktop.core.workspace import Workspace


@pytest.fixture(scope="session")
def governed_workspace(tmp_path_factory) -> Path:
    """ann imported penguins, changed a column's role and trained mass:1..4; mass:1 is
    approved by bob and holds production (tagged, described, exported); mass:2 is
    validated; mass:3 is a draft without a validation; mass:4 is retired. Drift
    thresholds for mass are set; carl switched single-user mode on and off again."""
    from mlops_desktop.core.registry import annotations
    from mlops_desktop.core.workspace.integrity import verify_workspace
    from mlops_desktop.core.registry.lifecycle import change_stage, set_alias, set_single_user
    from mlops_desktop.core.monitor.thresholds import set_thresholds
    from mlops_desktop.core.store import exports
    from mlops_desktop.core.train import TrainSpec, find_version, train
    from mlops_desktop.core.validate.for_version import validate_version
    from mlops_desktop.core.workspace import Workspace

    base = tmp_path_factory.mktemp("governed")
    csv = base / "penguins.csv"
    shutil.copy(SAMPLES / "penguins.csv", csv)
    root = base / "ws"
    with Workspace.create(root, actor="ann") as ws:
        ws.import_file(csv, actor="ann")
        ws.update_column("penguins", "island", role="ignore", actor="ann")
        spec = TrainSpec(dataset="penguins", target="body_mass_g", models=["ols"], model_name="mass")
        for _ in range(4):
            train(ws, spec, actor="ann")
        for ref in ("mass:1", "mass:2"):
            validate_version(ws, ref, actor="ann", n_bootstrap=50)
            change_stage(ws, ref, "validated", actor="ann")
        change_stage(ws, "mass:1", "approved", actor="bob", comment="residuals look sound")
        change_stage(ws, "mass:4", "retired", actor="ann", comment="not needed")
        set_alias(ws, "mass", "production", 1, actor="bob", comment="first release")
        annotations.set_tag(ws, "mass", "team", "credit", actor="ann")
        annotations.set_tag(ws, "mass:1", "reviewed", "yes", actor="bob")
        annotations.set_description(ws, "mass", "body mass of penguins", actor="ann")
        annotations.set_description(ws, "mass:1", "the first release", actor="ann")
        set_thresholds(ws, {"psi_major": 0.3}, model_name="mass", actor="ann")
        set_single_user(ws, True, actor="carl")
        set_single_user(ws, False, actor="carl")
        mv = find_version(ws, "mass:1")
        exports.record(ws.registry, version_id=mv.id, ref=mv.ref, out_path=str(base / "out" / "mass-1"),
                       zip=False, manifest_sha256="a" * 64, files=12, size_bytes=12345,
                       exporter_version="1.0", actor="bob")
        report = verify_workspace(ws)
        assert report.ok, report.text()
    return root


@pytest.fixture
def ws_copy(governed_workspace, tmp_path) -> Path:
    dest = tmp_path / "ws"
    shutil.copytree(governed_workspace, dest)
    return dest


def verify_json(root: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    """``mlops-desktop verify --workspace ROOT --json [extra]``: exit code and output."""
    from mlops_desktop.cli import run

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = run(["verify", "--workspace", str(root), "--json", *extra])
    return code, json.loads(out.getvalue())


def named(report: dict[str, Any], kind: str, *words: str) -> list[str]:
    """The problems of ``kind`` whose sentence holds every one of ``words``."""
    return [p["message"] for p in report["problems"]
            if p["kind"] == kind and all(w in p["message"] for w in words)]


class Attacker:
    """Edits ``registry.sqlite`` as someone with the file and sqlite3 would, foreign keys
    off. :meth:`append` writes an audit entry chained exactly as the app does (the
    triggers allow appending, and the head follows)."""

    def __init__(self, root: Path) -> None:
        self.conn = sqlite3.connect(root / "registry.sqlite")
        self.conn.row_factory = sqlite3.Row
        self.conn.execute("PRAGMA foreign_keys = OFF")

    def sql(self, statement: str, params: tuple = ()) -> int:
        return int(self.conn.execute(statement, params).lastrowid or 0)

    def one(self, statement: str, params: tuple = ()) -> Any:
        row = self.conn.execute(statement, params).fetchone()
        return None if row is None else row[0]

    def version_id(self, number: int) -> int:
        return self.one("SELECT v.id FROM model_versions v JOIN registered_models m ON m.id = v.model_id"
                        " WHERE m.name = 'mass' AND v.version = ?", (number,))

    def append(self, actor: str, action: str, entity_type: str, entity_id: Optional[object], summary: str,
               details: dict[str, Any]) -> int:
        from mlops_desktop.core.store.audit import canonical_json, entry_hash

        last = self.conn.execute("SELECT seq, at, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
        seq = last["seq"] + 1
        at = (datetime.fromisoformat(last["at"].replace("Z", "+00:00")) + timedelta(seconds=1)) \
            .strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        eid = None if entity_id is None else str(entity_id)
        text = canonical_json(details)
        digest = entry_hash(seq, at, actor, action, entity_type, eid, summary, text, last["hash"])
        self.sql("INSERT INTO audit_log (seq, at, actor, action, entity_type, entity_id, summary, details,"
                 " prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                 (seq, at, actor, action, entity_type, eid, summary, text, last["hash"], digest))
        return seq

    # -- consistent forgeries: the record and its entry, as the app would write them ----------

    def stage_change(self, number: int, to: str, *, actor: str, comment: str = "",
                     override: Optional[str] = None, self_approved: bool = False,
                     validation_id: Optional[int] = None) -> None:
        vid = self.version_id(number)
        before = self.one("SELECT stage FROM model_versions WHERE id = ?", (vid,))
        self.sql("UPDATE model_versions SET stage = ? WHERE id = ?", (to, vid))
        change_id = self.sql(
            "INSERT INTO stage_changes (version_id, from_stage, to_stage, comment, baseline_override,"
            " self_approved, validation_id, changed_by, changed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?,"
            " '2030-01-01T00:00:00.000000Z')",
            (vid, before, to, comment, override, int(self_approved), validation_id, actor))
        self.append(actor, "model.stage_changed", "model_version", vid, f"mass:{number}: {before} → {to}",
                    {"from": before, "to": to, "comment": comment, "baseline_override": override,
                     "self_approved": self_approved, "validation_id": validation_id, "change_id": change_id})

    def validation(self, number: int, *, beats_baseline: bool, actor: str) -> int:
        import hashlib

        vid = self.version_id(number)
        report = json.dumps({"forged": True}, sort_keys=True)
        validation_id = self.sql(
            "INSERT INTO validations (version_id, data, beats_baseline, primary_metric, report, created_by,"
            " created_at) VALUES (?, 'holdout', ?, 'r2', ?, ?, '2030-01-01T00:00:00.000000Z')",
            (vid, int(beats_baseline), report, actor))
        self.append(actor, "model.validated", "model_version", vid, f"Validated mass:{number}",
                    {"validation_id": validation_id, "data": "holdout", "beats_baseline": beats_baseline,
                     "primary_metric": "r2",
                     "report_sha256": hashlib.sha256(report.encode("utf-8")).hexdigest()})
        return validation_id

    def single_user(self, on: bool, *, actor: str) -> None:
        self.sql("UPDATE workspace_settings SET value = ?, updated_by = ? WHERE key = 'single_user_mode'",
                 (json.dumps(on), actor))
        self.append(actor, "workspace.setting_changed", "workspace_setting", "single_user_mode",
                    "Single-user mode switched", {"key": "single_user_mode", "before": not on, "after": on})

    def alias(self, alias: str, number: int, *, actor: str) -> None:
        model_id = self.one("SELECT id FROM registered_models WHERE name = 'mass'")
        before = self.one("SELECT v.version FROM model_aliases a JOIN model_versions v ON v.id = a.version_id"
                          " WHERE a.model_id = ? AND a.alias = ?", (model_id, alias))
        self.sql("INSERT OR REPLACE INTO model_aliases (model_id, alias, version_id, set_by, set_at)"
                 " VALUES (?, ?, ?, ?, '2030-01-01T00:00:00.000000Z')",
                 (model_id, alias, self.version_id(number), actor))
        move_id = self.sql("INSERT INTO alias_moves (model_id, alias, from_version, to_version, reason, comment,"
                           " moved_by, moved_at) VALUES (?, ?, ?, ?, 'moved', '', ?,"
                           " '2030-01-01T00:00:00.000000Z')", (model_id, alias, before, number, actor))
        self.append(actor, "model.alias_moved", "model", model_id, f"mass: alias {alias} set to {number}",
                    {"model": "mass", "alias": alias, "reason": "moved", "comment": "", "move_id": move_id,
                     "before": {"version": before}, "after": {"version": number}})

    def close(self) -> None:
        self.conn.commit()
        self.conn.close()

    def __enter__(self) -> "Attacker":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- workspaces built once per session and copied -------------------------------------------

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
    from mlops_desktop.core.registry.lifecycle import change_stage
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
