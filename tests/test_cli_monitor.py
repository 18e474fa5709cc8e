"""``mlops-desktop drift``, ``drift-thresholds`` and ``drift-reports`` as a user (or a
scheduled job) runs them: exit 0 without drift, 4 with drift, 2 on bad input."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from conftest import DATA, run_cli
from mlops_desktop.core.workspace import Workspace


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    base = tmp_path_factory.mktemp("drift-cli")
    df = pd.read_csv(DATA / "flights_6000.csv")
    order = np.random.default_rng(0).permutation(len(df))
    files = {"half_a": df.iloc[order[:3000]], "half_b": df.iloc[order[3000:]],
             "first": df[df.month <= 6], "second": df[df.month > 6],
             "no_dest": df.iloc[order[3000:]].drop(columns=["dest"])}
    paths = {}
    for name, frame in files.items():
        paths[name] = base / f"{name}.csv"
        frame.to_csv(paths[name], index=False)
    with Workspace.create(base / "ws", actor="setup") as ws:
        ws.import_file(paths["half_a"], name="half a", actor="setup")
        ws.import_file(paths["first"], name="first half", actor="setup")
    return base, paths


def _args(base, *args: str) -> list[str]:
    return [*args, "--workspace", str(base / "ws")]


def _clean(result) -> None:
    assert "Traceback" not in result.stdout + result.stderr


def test_no_drift_exits_0_with_json(setup):
    base, paths = setup
    result = run_cli(*_args(base, "drift", "--reference", "half a", "--current", str(paths["half_b"]), "--json",
                            "--as", "nightly"))
    _clean(result)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data) >= {"reference", "thresholds", "series_id", "drifted", "batches", "timeline", "exit_code",
                         "report"}
    assert data["drifted"] is False and data["exit_code"] == 0 and data["timeline"] is None
    assert data["reference"]["type"] == "dataset" and data["reference"]["name"] == "half a"
    [batch] = data["batches"]
    assert set(batch) >= {"id", "batch", "verdict", "summary", "dataset", "features", "thresholds", "notes"}
    assert batch["verdict"] == "no drift" and batch["batch"]["label"] == "half_b.csv"
    feature = batch["features"][0]
    assert set(feature) >= {"name", "kind", "verdict", "decided_by", "metrics", "noise", "rules", "bins"}
    assert batch["created_by"] == "nightly" and isinstance(batch["id"], int)


def test_drift_exits_4_and_writes_the_report(setup):
    base, paths = setup
    report = base / "drift.html"
    result = run_cli(*_args(base, "drift", "--reference", "first half", "--current", str(paths["second"]),
                            "--report", str(report)))
    _clean(result)
    assert result.returncode == 4, result.stderr
    assert "[DRIFT] second.csv" in result.stdout and "month" in result.stdout
    assert f"Report written to {report}" in result.stdout
    assert 10_000 < report.stat().st_size < 2_000_000 and "<svg" in report.read_text(encoding="utf-8")


def test_a_timeline_by_month(setup):
    base, paths = setup
    result = run_cli(*_args(base, "drift", "--reference", "half a", "--current", str(paths["half_b"]),
                            "--split-by", "time_hour", "--freq", "M", "--json", "--no-store"))
    _clean(result)
    data = json.loads(result.stdout)
    labels = data["timeline"]["labels"]
    assert labels[:3] == ["2013-01", "2013-02", "2013-03"] and len(data["batches"]) == len(labels)
    assert all(b["id"] is None for b in data["batches"])  # --no-store
    assert result.returncode == (4 if data["drifted"] else 0)


def test_bad_input_exits_2(setup):
    base, paths = setup
    missing = run_cli(*_args(base, "drift", "--reference", "half a", "--current", str(paths["no_dest"]),
                             "--json"))
    _clean(missing)
    assert missing.returncode == 2
    assert json.loads(missing.stdout)["exit_code"] == 2
    assert "dest: the batch has no column 'dest'" in missing.stderr

    for args, message in [
        (["--current", str(base / "nope.csv")], "is neither a file nor a dataset"),
        (["--current", str(paths["half_b"]), "--split-by", "carrier"],
         "of half_b.csv does not hold dates: 'EV' (row 1)"),
        (["--current", str(paths["half_b"]), "--freq", "M"], "--freq goes with --split-by"),
    ]:
        result = run_cli(*_args(base, "drift", "--reference", "half a", *args))
        _clean(result)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert message in result.stderr and result.stdout == ""
    unknown = run_cli(*_args(base, "drift", "--reference", "churn:2", "--current", str(paths["half_b"])))
    assert unknown.returncode == 2 and "No dataset with id or name 'churn:2'" in unknown.stderr


def test_thresholds_and_the_report_history(setup):
    base, paths = setup
    result = run_cli(*_args(base, "drift-thresholds", "--set", "psi_moderate=0.2", "--set", "psi_major=0.5",
                            "--json"))
    _clean(result)
    data = json.loads(result.stdout)
    assert data["effective"]["psi_moderate"] == 0.2 and data["workspace"] == {"psi_moderate": 0.2,
                                                                              "psi_major": 0.5}
    bad = run_cli(*_args(base, "drift-thresholds", "--set", "psi_major=0.1"))
    assert bad.returncode == 2 and "psi_major" in bad.stderr
    text = run_cli(*_args(base, "drift-thresholds", "--model", "late", "--set", "wasserstein=0.2"))
    assert text.returncode == 0 and "wasserstein" in text.stdout and "model" in text.stdout
    run = run_cli(*_args(base, "drift", "--reference", "first half", "--current", str(paths["second"]),
                         "--json"))
    assert json.loads(run.stdout)["thresholds"]["psi_moderate"] == 0.2
    reset = run_cli(*_args(base, "drift-thresholds", "--reset", "--json"))
    assert json.loads(reset.stdout)["workspace"] == {}

    listing = run_cli(*_args(base, "drift-reports", "--reference", "first half", "--json"))
    _clean(listing)
    rows = json.loads(listing.stdout)
    assert rows and all(r["reference_label"] == "dataset first half" for r in rows)
    shown = run_cli(*_args(base, "drift-reports", "--show", str(rows[0]["id"])))
    assert shown.returncode == 0 and "[DRIFT]" in shown.stdout
    audit = run_cli(*_args(base, "audit", "--json"))
    actions = [e["action"] for e in json.loads(audit.stdout)]
    assert "drift.report_created" in actions and "drift.thresholds_changed" in actions
