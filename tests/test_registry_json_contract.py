"""The --json of `models show` (its lineage), `models compare` and `datasets lineage` is a
contract: every key printed when the typed results were introduced is still printed, at
the same place. New keys may be added; none may be renamed or dropped.

The workspace holds one of everything the lineage and the comparison describe: a
segmented version retrained from an approved one, a decided challenge between them,
validations, stage changes with comments, alias moves, an accepted warning, a
reproduction, a drift report, tags and descriptions (set through the CLI).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from conftest import DATA, run_cli

FEATURES = ["dep_delay", "distance", "hour", "carrier", "origin"]

#: where a dict's keys are names someone chose (tags, settings, library names, metric
#: names) rather than the contract's own: the key is pinned, its inside is not
OPAQUE = {
    "lineage.dataset.import_options", "lineage.dataset.prepared_from", "lineage.run.spec",
    "lineage.run.library_versions", "lineage.run.hyperparameters", "lineage.model.tags", "lineage.version.tags",
    "lineage.origin", "lineage.exports[]", "lineage.stage_changes[]",
    "data.a.split", "data.b.split", "data.a.rows", "data.b.rows",
    "segments.a.trained[]", "segments.b.trained[]", "segments.a.validated[].groups[].metrics",
    "segments.b.validated[].groups[].metrics", "segments.a.validated[].spread", "segments.b.validated[].spread",
    "spec.differences[].a", "spec.differences[].b", "spec.library_differences[].a",
    "spec.library_differences[].b",
    "dataset.import_options", "prepared_from", "runs[]", "versions[]",
    "tags", "model_tags", "a.tags", "b.tags",
}


def key_paths(value: Any, prefix: str = "") -> set[str]:
    """Every key path in a JSON value ("a.b", a list's items as "a[]"), not inside OPAQUE."""
    out: set[str] = set()
    if prefix in OPAQUE:
        return out
    if isinstance(value, dict):
        for k, v in value.items():
            path = f"{prefix}.{k}" if prefix else k
            out.add(path)
            out |= key_paths(v, path)
    elif isinstance(value, list):
        for item in value:
            out |= key_paths(item, prefix + "[]")
    return out


def _flights(path: Path, months: range) -> None:
    df = pd.read_csv(DATA / "flights_6000.csv")
    df = df[df["month"].isin(months)].copy()
    df["late"] = np.where(df["arr_delay"].isna(), None, np.where(df["arr_delay"] > 15, "yes", "no"))
    df.to_csv(path, index=False)


@pytest.fixture(scope="module")
def shown(tmp_path_factory) -> dict[str, Any]:
    """The three commands' --json on a workspace that has one of everything."""
    from mlops_desktop.core.challenge import challenge, retrain
    from mlops_desktop.core.checks import accept_warning
    from mlops_desktop.core.registry.lifecycle import change_stage, set_alias
    from mlops_desktop.core.monitor.batches import batch_from_frame
    from mlops_desktop.core.monitor.drift import run_drift
    from mlops_desktop.core.monitor.reference import resolve_reference
    from mlops_desktop.core.train import SplitSpec, TrainSpec, find_version, reproduce, train
    from mlops_desktop.core.validate.for_version import validate_version
    from mlops_desktop.core.workspace import Workspace

    folder = tmp_path_factory.mktemp("contract")
    root = folder / "ws"
    with Workspace.create(root, actor="ann") as ws:
        for name, months in (("early", range(1, 7)), ("later", range(7, 11)), ("all", range(1, 13))):
            _flights(folder / f"{name}.csv", months)
            ws.import_file(folder / f"{name}.csv", name=f"flights_{name}", actor="ann")
        train(ws, TrainSpec(dataset="flights_early", target="late", features=FEATURES, models=["logistic"],
                            split=SplitSpec("time", "time_hour", 0.2), segment_by="origin", cv_folds=3,
                            model_name="late"), actor="ann")
        validate_version(ws, "late:1", actor="ann", n_bootstrap=30)
        change_stage(ws, "late:1", "validated", actor="ann", override_reason="test model")
        change_stage(ws, "late:1", "approved", actor="bob", comment="Read the card.")
        set_alias(ws, "late", "production", 1, actor="bob", comment="first release")
        accept_warning(ws, "flights_early", "late", find_version(ws, "late:1").features, "class_balance",
                       "Rare lateness is the business.", "ann")
        reproduce(ws, find_version(ws, "late:1").run_id, actor="dan")
        batch = pd.read_csv(folder / "later.csv")
        run_drift(ws, resolve_reference(ws, "late:1"), [batch_from_frame(batch, label="later")], actor="eve")
        retrain(ws, "late:1", ["flights_later"], actor="ann")
        validate_version(ws, "late:2", actor="ann", n_bootstrap=30)
        challenge(ws, "late:2", on="flights_all", holdout="since:2013-11-01", n_bootstrap=30, seed=7, actor="ann")
    for args in (("tag", "late:2", "team", "ops"), ("tag", "late", "area", "flights"),
                 ("describe", "late:2", "Retrained on the summer."), ("describe", "late", "Late arrivals.")):
        assert run_cli("models", *args, "--workspace", str(root), "--as", "ann").returncode == 0

    def json_of(*args: str) -> dict[str, Any]:
        done = run_cli(*args, "--workspace", str(root), "--json")
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    out = {"show": [json_of("models", "show", ref) for ref in ("late:1", "late:2")],
           "compare": json_of("models", "compare", "late:1", "late:2"),
           "datasets": json_of("datasets", "lineage", "flights_early")}
    shutil.rmtree(folder)
    return out


SHOW = {
    "alias_history", "alias_history[].alias", "alias_history[].comment", "alias_history[].from_version",
    "alias_history[].id", "alias_history[].moved_at", "alias_history[].moved_by", "alias_history[].reason",
    "alias_history[].to_version", "aliases", "description", "lineage", "lineage.accepted_warnings",
    "lineage.accepted_warnings[].accepted_at", "lineage.accepted_warnings[].accepted_by",
    "lineage.accepted_warnings[].check_id", "lineage.accepted_warnings[].reason", "lineage.alias_moves",
    "lineage.alias_moves[].alias", "lineage.alias_moves[].comment", "lineage.alias_moves[].from_version",
    "lineage.alias_moves[].id", "lineage.alias_moves[].model", "lineage.alias_moves[].moved_at",
    "lineage.alias_moves[].moved_by", "lineage.alias_moves[].reason", "lineage.alias_moves[].to_version",
    "lineage.aliases", "lineage.approvals", "lineage.approvals[].at", "lineage.approvals[].by",
    "lineage.approvals[].comment", "lineage.approvals[].self_approved", "lineage.challenges",
    "lineage.challenges[].challenger", "lineage.challenges[].champion", "lineage.challenges[].created_by",
    "lineage.challenges[].dataset", "lineage.challenges[].decided_at", "lineage.challenges[].declared_at",
    "lineage.challenges[].id", "lineage.challenges[].rule", "lineage.challenges[].rule.margin",
    "lineage.challenges[].rule.metric", "lineage.challenges[].rule.rule", "lineage.challenges[].status",
    "lineage.challenges[].verdict", "lineage.challenges[].wins", "lineage.dataset", "lineage.dataset.columns",
    "lineage.dataset.created_at", "lineage.dataset.created_by", "lineage.dataset.fingerprint",
    "lineage.dataset.fingerprint_matches_run", "lineage.dataset.id", "lineage.dataset.import_options",
    "lineage.dataset.name", "lineage.dataset.prepared_from", "lineage.dataset.rows",
    "lineage.dataset.snapshot_sha256", "lineage.dataset.source_format", "lineage.dataset.source_path",
    "lineage.drift_reports", "lineage.drift_reports[].batch_label", "lineage.drift_reports[].batch_rows",
    "lineage.drift_reports[].created_at", "lineage.drift_reports[].created_by",
    "lineage.drift_reports[].drifted_share", "lineage.drift_reports[].id",
    "lineage.drift_reports[].n_drifted", "lineage.drift_reports[].n_features",
    "lineage.drift_reports[].reference", "lineage.drift_reports[].verdict", "lineage.exports",
    "lineage.graph", "lineage.graph.edges", "lineage.graph.edges[].from", "lineage.graph.edges[].label",
    "lineage.graph.edges[].to", "lineage.graph.nodes", "lineage.graph.nodes[].id",
    "lineage.graph.nodes[].kind", "lineage.graph.nodes[].label", "lineage.model", "lineage.model.created_at",
    "lineage.model.created_by", "lineage.model.description", "lineage.model.name", "lineage.model.tags",
    "lineage.origin", "lineage.ref", "lineage.reproductions", "lineage.reproductions[].created_by",
    "lineage.reproductions[].run_id", "lineage.reproductions[].same_predictions",
    "lineage.reproductions[].started_at", "lineage.reproductions[].status", "lineage.run",
    "lineage.run.created_by", "lineage.run.dataset_fingerprint", "lineage.run.duration_s",
    "lineage.run.family", "lineage.run.finished_at", "lineage.run.hyperparameters", "lineage.run.id",
    "lineage.run.kind", "lineage.run.library_versions", "lineage.run.prediction_sha256",
    "lineage.run.reproduces_run_id", "lineage.run.seed", "lineage.run.spec", "lineage.run.started_at",
    "lineage.run.status", "lineage.stage_changes", "lineage.validations",
    "lineage.validations[].beats_baseline", "lineage.validations[].created_at",
    "lineage.validations[].created_by", "lineage.validations[].data", "lineage.validations[].id",
    "lineage.validations[].primary_metric", "lineage.version", "lineage.version.artifact_sha256",
    "lineage.version.created_at", "lineage.version.created_by", "lineage.version.description",
    "lineage.version.family", "lineage.version.features", "lineage.version.id", "lineage.version.model",
    "lineage.version.ref", "lineage.version.stage", "lineage.version.tags", "lineage.version.target",
    "lineage.version.task", "lineage.version.version", "model_aliases", "model_aliases[].alias",
    "model_aliases[].ref", "model_aliases[].set_at", "model_aliases[].set_by", "model_aliases[].stage",
    "model_aliases[].version", "model_aliases[].version_id", "model_description", "model_id", "model_tags",
    "stage_history", "stage_history[].baseline_override", "stage_history[].changed_at",
    "stage_history[].changed_by", "stage_history[].comment", "stage_history[].from_stage",
    "stage_history[].id", "stage_history[].self_approved", "stage_history[].to_stage",
    "stage_history[].validation_id", "stage_history[].version_id", "tags",
}

COMPARE = {
    "a", "a.aliases", "a.approved_by", "a.created_at", "a.created_by", "a.description", "a.family", "a.model",
    "a.ref", "a.run_id", "a.seed", "a.self_approved", "a.stage", "a.tags", "a.target", "a.task", "a.version",
    "b", "b.aliases", "b.approved_by", "b.created_at", "b.created_by", "b.description", "b.family", "b.model",
    "b.ref", "b.run_id", "b.seed", "b.self_approved", "b.stage", "b.tags", "b.target", "b.task", "b.version",
    "challenge", "challenge.a", "challenge.a.high", "challenge.a.higher_is_better", "challenge.a.label",
    "challenge.a.low", "challenge.a.name", "challenge.a.value", "challenge.b", "challenge.b.high",
    "challenge.b.higher_is_better", "challenge.b.label", "challenge.b.low", "challenge.b.name",
    "challenge.b.value", "challenge.challenger", "challenge.champion", "challenge.id", "challenge.metric",
    "challenge.rows", "challenge.rule_text", "challenge.segments", "challenge.segments[].segment",
    "challenge.segments[].verdict", "challenge.segments[].wins", "challenge.sentence", "challenge.verdict",
    "challenge.wins", "checks", "checks.a", "checks.a.accepted_warnings",
    "checks.a.accepted_warnings[].accepted_at", "checks.a.accepted_warnings[].accepted_by",
    "checks.a.accepted_warnings[].check_id", "checks.a.accepted_warnings[].reason", "checks.b",
    "checks.b.accepted_warnings", "data", "data.a", "data.a.dataset", "data.a.dataset_id",
    "data.a.dataset_rows", "data.a.fingerprint", "data.a.rows", "data.a.source_path", "data.a.split",
    "data.b", "data.b.dataset", "data.b.dataset_id", "data.b.dataset_rows", "data.b.fingerprint",
    "data.b.rows", "data.b.source_path", "data.b.split", "data.same_data", "data.same_dataset",
    "data.same_target", "features", "features.added", "features.common", "features.removed", "metrics",
    "metrics.cross_validation", "metrics.cross_validation[].a", "metrics.cross_validation[].a.mean",
    "metrics.cross_validation[].a.std", "metrics.cross_validation[].b", "metrics.cross_validation[].b.mean",
    "metrics.cross_validation[].b.std", "metrics.cross_validation[].name", "metrics.holdout",
    "metrics.holdout[].a", "metrics.holdout[].a.high", "metrics.holdout[].a.low", "metrics.holdout[].a.value",
    "metrics.holdout[].b", "metrics.holdout[].b.high", "metrics.holdout[].b.low", "metrics.holdout[].b.value",
    "metrics.holdout[].difference_b_minus_a", "metrics.holdout[].higher_is_better",
    "metrics.holdout[].intervals_overlap", "metrics.holdout[].label", "metrics.holdout[].name",
    "metrics.holdout[].primary", "metrics.notes", "metrics.same_holdout", "metrics.validation",
    "metrics.validation.a", "metrics.validation.a.beats_baseline", "metrics.validation.a.created_at",
    "metrics.validation.a.created_by", "metrics.validation.a.data", "metrics.validation.a.primary_metric",
    "metrics.validation.a.rows", "metrics.validation.a.validation_id", "metrics.validation.b",
    "metrics.validation.b.beats_baseline", "metrics.validation.b.created_at",
    "metrics.validation.b.created_by", "metrics.validation.b.data", "metrics.validation.b.primary_metric",
    "metrics.validation.b.rows", "metrics.validation.b.validation_id", "same_version", "segments",
    "segments.a", "segments.a.segment_by", "segments.a.trained", "segments.a.validated",
    "segments.a.validated[].column", "segments.a.validated[].groups", "segments.a.validated[].groups[].count",
    "segments.a.validated[].groups[].metrics", "segments.a.validated[].groups[].reliable",
    "segments.a.validated[].groups[].value", "segments.a.validated[].kind",
    "segments.a.validated[].primary_metric", "segments.a.validated[].spread", "segments.b",
    "segments.b.segment_by", "segments.b.trained", "segments.b.validated", "segments.b.validated[].column",
    "segments.b.validated[].groups", "segments.b.validated[].groups[].count",
    "segments.b.validated[].groups[].metrics", "segments.b.validated[].groups[].reliable",
    "segments.b.validated[].groups[].value", "segments.b.validated[].kind",
    "segments.b.validated[].primary_metric", "segments.b.validated[].spread", "spec", "spec.differences",
    "spec.differences[].a", "spec.differences[].b", "spec.differences[].setting", "spec.library_differences",
    "spec.same",
}

DATASET = {
    "accepted_warnings", "accepted_warnings[].accepted_at", "accepted_warnings[].accepted_by",
    "accepted_warnings[].check_id", "accepted_warnings[].reason", "accepted_warnings[].target", "dataset",
    "dataset.columns", "dataset.created_at", "dataset.created_by", "dataset.fingerprint", "dataset.id",
    "dataset.import_options", "dataset.name", "dataset.rows", "dataset.snapshot_sha256",
    "dataset.source_format", "dataset.source_path", "drift_reports", "graph", "graph.edges",
    "graph.edges[].from", "graph.edges[].label", "graph.edges[].to", "graph.nodes", "graph.nodes[].id",
    "graph.nodes[].kind", "graph.nodes[].label", "prepared_from", "prepared_into", "runs", "same_data_as",
    "versions",
}


def test_models_show_keeps_every_lineage_key(shown):
    keys = {k for one in shown["show"] for k in key_paths(one)
            if k.startswith(("lineage", "description", "tags", "model_", "aliases", "alias_history", "stage_history"))}
    assert SHOW - keys == set()


def test_models_compare_keeps_every_key(shown):
    assert COMPARE - key_paths(shown["compare"]) == set()


def test_datasets_lineage_keeps_every_key(shown):
    assert DATASET - key_paths(shown["datasets"]) == set()


def test_every_part_of_the_contract_was_filled(shown):
    """The pins are only as good as the workspace: each list the contract describes held
    at least one item, so its items' keys were seen."""
    for part in ("reproductions", "validations", "stage_changes", "approvals", "alias_moves", "drift_reports",
                 "accepted_warnings", "challenges", "origin"):
        assert any(one["lineage"][part] for one in shown["show"]), part
    c = shown["compare"]
    assert c["challenge"] and c["metrics"]["holdout"] and c["segments"]["b"]["validated"]
    assert c["checks"]["a"]["accepted_warnings"]
