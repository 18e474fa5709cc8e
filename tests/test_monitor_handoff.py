"""Life after handoff (issue 14): ``score.py --monitor-out`` (a summary with no rows),
``monitor import`` (checked, stored as a drift report, agreeing with the app's own
drift of the same batch; tampered, foreign and repeated summaries refused), ``monitor
labels`` (late labels joined by id, every row accounted for, realized performance
recorded and verified), and ``drift --json`` with estimated and realized performance.
The package runs with this Python here; tests/test_export_venv.py runs the same round
trip in a fresh virtual environment."""

from __future__ import annotations

import json
import shutil
import sqlite3

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score, roc_auc_score

from conftest import run_cli
from expected_performance import expected_metrics
from export_helpers import FEATURES, approve, flights_late, score_py, summary_of, train_late

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(scope="module")
def handoff(tmp_path_factory):
    """An approved model on flights, exported; a batch scored with --monitor-out."""
    from mlops_desktop.core.export import export_version
    from mlops_desktop.core.workspace import Workspace

    base = tmp_path_factory.mktemp("handoff")
    data = base / "flights.csv"
    df = flights_late(data)
    with Workspace.create(base / "ws", actor="ann") as ws:
        ref = train_late(ws, data)
        approve(ws, ref)
        pkg = export_version(ws, ref, base / "pkg", actor="carl").path
    batch = df.sample(3000, random_state=3).reset_index(drop=True)
    batch.loc[:2, "carrier"] = ["ZZ-NEW-1", "ZZ-NEW-2", "ZZ-NEW-3"]  # categories the model never saw
    batch = batch.astype({"dep_delay": object})
    batch.loc[7, "dep_delay"] = "secret-text-7"  # a rejected row whose value must not travel
    batch.drop(columns=["late"]).to_csv(base / "batch.csv", index=False)
    scored = score_py(pkg, base / "batch.csv", "-o", base / "scored.csv", "--monitor-out", base / "summary.json",
                      cwd=base)
    assert scored.returncode == 0, scored.stderr
    return base, ref, df, batch, pkg, summary_of(scored)


def _at_threshold(proba, threshold):
    """The version's decision: "on time" when its probability reaches the threshold the
    approval's validation chose (classes: late, on time)."""
    assert threshold is not None  # approve() validates, which chooses one
    return np.where(proba[:, 1] >= threshold, "on time", "late")


def _cli(base, *args):
    return run_cli(*args, "--workspace", str(base / "ws"), "--as", "dora")


def test_the_summary_holds_no_row_and_no_value_of_an_id(handoff):
    base, _, _, batch, _, run = handoff
    text = (base / "summary.json").read_text()
    assert run["monitor_out"] == str(base / "summary.json")
    ids = batch["row_id"].astype(str)
    assert ids.nunique() == len(batch)  # a high-cardinality id column
    assert not [i for i in ids if f'"{i}"' in text]
    assert "secret-text-7" not in text and "ZZ-NEW" not in text
    body = json.loads(text)["body"]
    assert body["rows"] == {"read": 3000, "scored": 2999, "rejected": 1, "malformed": 0}
    assert body["rejects_by_reason"] == {"dep_delay: not a number": 1}
    assert body["features"]["carrier"]["new_rows"] == 3 and body["features"]["carrier"]["new_categories"] == 3
    assert body["package"]["model"] == "late" and len(body["package"]["artifact_sha256"]) == 64
    assert set(body["estimated_performance"]["metrics"]) == {"accuracy", "precision", "recall", "f1", "roc_auc"}
    assert body["scored_at"].endswith("Z")


def test_monitor_out_refuses_the_package_folder_and_goes_with_scoring(handoff, tmp_path):
    base, _, _, _, pkg, _ = handoff
    inside = score_py(pkg, base / "batch.csv", "-o", tmp_path / "o.csv", "--monitor-out", pkg / "m.json",
                      cwd=tmp_path)
    assert inside.returncode == 2 and "package folder" in inside.stderr and not (pkg / "m.json").exists()
    alone = score_py(pkg, "--drift", base / "batch.csv", "--monitor-out", tmp_path / "m.json", cwd=tmp_path)
    assert alone.returncode == 2 and "goes with an INPUT" in alone.stderr


def test_import_stores_a_drift_report_that_agrees_with_the_apps_drift(handoff, tmp_path):
    from mlops_desktop.core.monitor import (batch_from_file, compare_batch, drift_reports, load_report,
                                            resolve_reference)
    from mlops_desktop.core.workspace import Workspace

    base, ref, df, _, pkg, _ = handoff
    ws_copy = tmp_path / "ws"
    shutil.copytree(base / "ws", ws_copy)
    clean = df.sample(4000, random_state=8).reset_index(drop=True)
    clean["distance"] = clean["distance"] * 1.3  # a drift
    clean.loc[:399, "distance"] = 6000.0  # 10% beyond the training range: the estimate is unreliable
    clean.loc[:5, "origin"] = "XYZ"
    clean.drop(columns=["late"]).to_csv(tmp_path / "batch.csv", index=False)
    scored = score_py(pkg, tmp_path / "batch.csv", "-o", tmp_path / "o.csv", "--monitor-out",
                      tmp_path / "summary.json", cwd=tmp_path)
    assert scored.returncode == 0, scored.stderr
    done = run_cli("monitor", "import", str(tmp_path / "summary.json"), "--workspace", str(ws_copy), "--as", "dora",
                   "--json")
    assert done.returncode == 0, done.stderr
    imported = json.loads(done.stdout)["imported"][0]
    assert imported["batch"]["source"]["type"] == "it_summary"
    with Workspace.open(ws_copy) as ws:
        stored = load_report(ws, imported["id"])
        reference = resolve_reference(ws, ref)
        app = compare_batch(reference, batch_from_file(tmp_path / "batch.csv"))
        listed = drift_reports(ws, model_name="late", model_version=1)
        from mlops_desktop.core.registry.lineage import version_lineage

        lineage = version_lineage(ws, ref)
        entries = ws.audit_entries(limit=5)
    assert [r.id for r in listed] == [stored.id]
    assert any(d.id == stored.id for d in lineage.drift_reports)
    assert any(e.action == "drift.report_created" and e.details.get("imported_summary_sha256") for e in entries)
    assert stored.verdict == app.verdict == "drift"
    assert stored.dataset.drifted_features == app.dataset.drifted_features
    for a in app.features:
        b = stored.feature(a.name)
        assert b.verdict == a.verdict, a.name
        assert b.metrics["psi"] == pytest.approx(a.metrics["psi"], abs=1e-12), a.name
        assert b.metrics["missing_share_change"] == pytest.approx(a.metrics["missing_share_change"], abs=1e-12)
        if a.kind == "categorical":
            assert b.metrics["jensen_shannon"] == pytest.approx(a.metrics["jensen_shannon"], abs=1e-12)
            assert b.metrics["new_share"] == pytest.approx(a.metrics["new_share"], abs=1e-12)
        else:
            assert b.metrics["wasserstein_normalised"] == pytest.approx(a.metrics["wasserstein_normalised"],
                                                                        abs=2e-3)
            assert b.metrics["outside_range_share"] == pytest.approx(a.metrics["outside_range_share"], abs=1e-12)
    assert stored.prediction.verdict == app.prediction.verdict
    # the estimate: the same calibration and the same rows scored, so the same figures
    for k, m in app.estimated_performance.metrics.items():
        got = stored.estimated_performance.metrics[k]
        assert (got.estimate, got.low, got.high) == pytest.approx((m.estimate, m.low, m.high), abs=1e-9), k
    assert stored.estimated_performance.reliable is app.estimated_performance.reliable is False
    assert "distance" in stored.estimated_performance.reason


def test_tampered_foreign_and_repeated_summaries_are_refused_with_the_reason(handoff, tmp_path):
    from mlops_desktop.core.workspace import Workspace

    base, _, _, _, _, _ = handoff
    ws_copy = tmp_path / "ws"
    shutil.copytree(base / "ws", ws_copy)
    data = json.loads((base / "summary.json").read_text())
    data["body"]["rows"]["rejected"] = 0  # one number edited
    (tmp_path / "tampered.json").write_text(json.dumps(data))
    refused = run_cli("monitor", "import", str(tmp_path / "tampered.json"), "--workspace", str(ws_copy))
    assert refused.returncode == 2 and "does not match its SHA-256" in refused.stderr
    (tmp_path / "cut.json").write_text((base / "summary.json").read_text()[:5000])
    assert run_cli("monitor", "import", str(tmp_path / "cut.json"), "--workspace", str(ws_copy)).returncode == 2
    # a summary with a correct hash, from a model this workspace does not have
    from mlops_model_support.monitoring import body_hash

    foreign = json.loads((base / "summary.json").read_text())
    foreign["body"]["package"]["artifact_sha256"] = "0" * 64
    foreign["sha256"] = body_hash(foreign["body"])
    (tmp_path / "foreign.json").write_text(json.dumps(foreign))
    refused = run_cli("monitor", "import", str(tmp_path / "foreign.json"), "--workspace", str(ws_copy))
    assert refused.returncode == 2 and "another workspace" in refused.stderr
    with Workspace.open(ws_copy) as ws:
        from mlops_desktop.core.monitor import drift_reports

        assert drift_reports(ws) == []  # nothing stored for a refused summary
    assert run_cli("monitor", "import", str(base / "summary.json"), "--workspace", str(ws_copy)).returncode == 0
    again = run_cli("monitor", "import", str(base / "summary.json"), "--workspace", str(ws_copy))
    assert again.returncode == 2 and "imported before" in again.stderr


def test_drift_json_has_estimated_and_realized_performance(handoff, tmp_path):
    base, ref, df, _, _, _ = handoff
    ws_copy = tmp_path / "ws"
    shutil.copytree(base / "ws", ws_copy)
    rows = df.sample(2500, random_state=9)
    rows.drop(columns=["late"]).to_csv(tmp_path / "unlabelled.csv", index=False)
    rows.to_csv(tmp_path / "labelled.csv", index=False)
    out = run_cli("drift", "--reference", ref, "--current", str(tmp_path / "unlabelled.csv"), "--json",
                  "--workspace", str(ws_copy), "--as", "dora")
    assert out.returncode == 0, out.stderr
    batch = json.loads(out.stdout)["batches"][0]
    est = batch["estimated_performance"]["metrics"]
    assert set(est) == {"accuracy", "precision", "recall", "f1", "roc_auc"}
    for m in est.values():
        assert set(m) == {"estimate", "low", "high", "reliable", "reason"}
        assert m["low"] <= m["estimate"] <= m["high"] and m["reliable"] is True
    assert batch["realized_performance"] is None
    out = run_cli("drift", "--reference", ref, "--current", str(tmp_path / "labelled.csv"), "--json",
                  "--workspace", str(ws_copy), "--as", "dora")
    batch = json.loads(out.stdout)["batches"][0]
    real = batch["realized_performance"]["metrics"]
    from mlops_desktop.core.train import load_model
    from mlops_desktop.core.workspace import Workspace

    with Workspace.open(ws_copy) as ws:
        model = load_model(ws, ref)
    proba = model.predict_proba(rows[FEATURES])
    truth = rows["late"].to_numpy()
    predicted = _at_threshold(proba, batch["realized_performance"]["threshold"])
    assert real["accuracy"] == pytest.approx(accuracy_score(truth, predicted), abs=1e-12)
    assert real["roc_auc"] == pytest.approx(roc_auc_score(truth == "on time", proba[:, 1]), abs=1e-12)


def test_late_labels_are_joined_by_id_and_every_row_is_accounted_for(handoff, tmp_path):
    from mlops_desktop.core.workspace import Workspace

    base, ref, df, _, _, _ = handoff
    ws_copy = tmp_path / "ws"
    shutil.copytree(base / "ws", ws_copy)
    batch = df.sample(2000, random_state=21).reset_index(drop=True)
    batch.drop(columns=["late"]).to_csv(tmp_path / "march.csv", index=False)
    out = run_cli("drift", "--reference", ref, "--current", str(tmp_path / "march.csv"), "--json",
                  "--workspace", str(ws_copy), "--as", "dora")
    report_id = json.loads(out.stdout)["batches"][0]["id"]
    labels = batch[["row_id", "late"]].iloc[100:].copy()          # 100 batch rows never labelled
    labels.loc[labels.index[:10], "late"] = None                   # 10 labels still empty
    twice = labels.iloc[10:15].assign(late="on time")              # 5 ids given twice (conflicting)
    unknown = pd.DataFrame({"row_id": ["nobody-1", "nobody-2", "nobody-3"], "late": ["late"] * 3})
    labels = pd.concat([labels, twice, unknown]).sample(frac=1, random_state=1)
    labels.rename(columns={"late": "outcome"}).to_csv(tmp_path / "labels.csv", index=False)
    done = run_cli("monitor", "labels", ref, "--batch", str(report_id), "--labels", str(tmp_path / "labels.csv"),
                   "--id-column", "row_id", "--label-column", "outcome", "--json", "--workspace", str(ws_copy),
                   "--as", "dora")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    c = result["counts"]
    assert c == {"batch_rows": 2000, "label_rows": 1908, "matched": 1885, "unlabelled": 115, "unknown_ids": 3,
                 "duplicate_ids": 5, "duplicate_rows": 10, "batch_duplicate_rows": 0}
    matched = batch.iloc[115:]
    from mlops_desktop.core.train import load_model

    with Workspace.open(ws_copy) as ws:
        model = load_model(ws, ref)
        from mlops_desktop.core.monitor import load_report
        from mlops_desktop.core.monitor.for_version import reference_for_version

        stored = load_report(ws, report_id)
        calibration = reference_for_version(ws, ref).calibration
    proba = model.predict_proba(matched[FEATURES])
    predicted = _at_threshold(proba, result["realized_performance"]["threshold"])
    truth = matched["late"].to_numpy()
    real = result["realized_performance"]["metrics"]
    assert real["accuracy"] == pytest.approx(accuracy_score(truth, predicted), abs=1e-12)
    assert real["precision"] == pytest.approx(precision_score(truth, predicted, pos_label="on time"), abs=1e-12)
    assert real["recall"] == pytest.approx(recall_score(truth, predicted, pos_label="on time"), abs=1e-12)
    assert real["f1"] == pytest.approx(f1_score(truth, predicted, pos_label="on time"), abs=1e-12)
    assert real["roc_auc"] == pytest.approx(roc_auc_score(truth == "on time", proba[:, 1]), abs=1e-12)
    assert stored.realized_performance.metrics == real and "1,885 rows matched" in stored.realized_note
    # the estimate made before the labels came: the expected metrics of the whole batch
    expected = expected_metrics(calibration, model.predict_proba(batch[FEATURES]))
    estimated = stored.estimated_performance.metrics
    assert stored.estimated_performance.rows == 2000
    for name, value in expected.items():
        assert estimated[name].estimate == pytest.approx(value, abs=1e-9), name
    # verify covers the record; an edited result is found
    assert run_cli("verify", "--workspace", str(ws_copy)).returncode == 0
    with sqlite3.connect(ws_copy / "registry.sqlite") as conn:
        conn.execute("UPDATE realized_performance SET result = replace(result, '\"matched\":1885', "
                     "'\"matched\":1999')")
    broken = run_cli("verify", "--workspace", str(ws_copy), "--json")
    kinds = [p["kind"] for p in json.loads(broken.stdout)["problems"]]
    assert broken.returncode == 2 and "record_altered" in kinds


def test_labels_refused_with_a_clear_message(handoff, tmp_path):
    base, ref, df, _, _, _ = handoff
    ws_copy = tmp_path / "ws"
    shutil.copytree(base / "ws", ws_copy)
    pd.DataFrame({"row_id": ["r1"], "late": ["late"]}).to_csv(tmp_path / "l.csv", index=False)
    missing = run_cli("monitor", "labels", ref, "--batch", "999", "--labels", str(tmp_path / "l.csv"),
                      "--id-column", "row_id", "--workspace", str(ws_copy))
    assert missing.returncode == 2 and "no drift report 999" in missing.stderr
    df.head(300).drop(columns=["late"]).to_csv(tmp_path / "b.csv", index=False)
    out = run_cli("drift", "--reference", ref, "--current", str(tmp_path / "b.csv"), "--json",
                  "--workspace", str(ws_copy))
    report_id = str(json.loads(out.stdout)["batches"][0]["id"])
    pd.DataFrame({"id": ["r1"], "late": ["late"]}).to_csv(tmp_path / "bad.csv", index=False)
    no_column = run_cli("monitor", "labels", ref, "--batch", report_id, "--labels", str(tmp_path / "bad.csv"),
                        "--id-column", "row_id", "--workspace", str(ws_copy))
    assert no_column.returncode == 2 and "has no column 'row_id'" in no_column.stderr
    (tmp_path / "b.csv").write_text((tmp_path / "b.csv").read_text().replace(",EWR,", ",JFK,", 1))
    changed = run_cli("monitor", "labels", ref, "--batch", report_id, "--labels", str(tmp_path / "l.csv"),
                      "--id-column", "row_id", "--workspace", str(ws_copy))
    assert changed.returncode == 2 and "has changed since it was compared" in changed.stderr


def test_the_html_report_and_the_model_card_show_the_performance(handoff, tmp_path):
    from mlops_desktop.core.monitor import load_report, write_drift_report
    from mlops_desktop.core.validate.card_markdown import model_card_markdown
    from mlops_desktop.core.validate.for_version import model_card
    from mlops_desktop.core.workspace import Workspace

    base, ref, df, _, pkg, _ = handoff
    exported = (pkg / "MODEL_CARD.md").read_text()
    section = exported[exported.index("## Monitoring"):exported.index("## Limitations")]
    assert "calibrated on" in section and "no concept drift" in section and "monitor import" in section
    ws_copy = tmp_path / "ws"
    shutil.copytree(base / "ws", ws_copy)
    rows = df.sample(1500, random_state=4)
    rows.drop(columns=["late"]).to_csv(tmp_path / "a.csv", index=False)
    rows.to_csv(tmp_path / "b.csv", index=False)
    out = run_cli("drift", "--reference", ref, "--current", str(tmp_path / "a.csv"), "--current",
                  str(tmp_path / "b.csv"), "--report", str(tmp_path / "drift.html"), "--json",
                  "--workspace", str(ws_copy))
    html = (tmp_path / "drift.html").read_text()
    assert "<h3>Performance</h3>" in html and "Performance across batches (ROC AUC)" in html
    assert "no concept drift" in html
    with Workspace.open(ws_copy) as ws:
        card = model_card_markdown(model_card(ws, ref))
        ids = [b["id"] for b in json.loads(out.stdout)["batches"]]
        write_drift_report(tmp_path / "again.html", [load_report(ws, i) for i in ids])
    section = card[card.index("## Monitoring"):card.index("## Limitations")]
    assert "| a.csv |" in section and "| b.csv |" in section
    assert (tmp_path / "again.html").read_text().count("<h3>Performance</h3>") == 2


def test_a_summary_with_a_correct_hash_but_a_strange_body_is_refused(handoff, tmp_path):
    from mlops_model_support.monitoring import body_hash

    base, _, _, _, _, _ = handoff
    ws_copy = tmp_path / "ws"
    shutil.copytree(base / "ws", ws_copy)
    for change in ({"rows": "many"}, {"features": {"distance": {"kind": "numeric", "rows": 5}}},
                   {"estimated_performance": {"metrics": 3}}):
        data = json.loads((base / "summary.json").read_text())
        data["body"].update(change)
        data["sha256"] = body_hash(data["body"])
        (tmp_path / "odd.json").write_text(json.dumps(data))
        refused = run_cli("monitor", "import", str(tmp_path / "odd.json"), "--workspace", str(ws_copy))
        assert refused.returncode == 2 and "is refused" in refused.stderr, (change, refused.stderr)
