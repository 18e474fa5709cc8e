"""Comparing batches with a reference: one :class:`DriftReport` per batch, a
:class:`DriftTimeline` across batches, and :func:`run_drift`, which does both and
stores the reports in the registry."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterator, Optional, Sequence

import pyarrow as pa

from mlops_model_support import drift as metrics
from mlops_model_support import performance as perf

from ..jobs import CancelToken, ProgressCallback, Steps, no_progress
from . import columns
from .batches import Batch, derived_batch
from .errors import DriftError
from .predictions import performance, score_batch, scored_in_parts
from .reference import Reference
from .summary import summarise
from .thresholds import Thresholds, effective_thresholds

if TYPE_CHECKING:
    from ..workspace import Workspace


@dataclass
class DriftReport:
    """One batch compared with one reference."""

    reference: dict[str, Any]
    #: {"label", "rows", "fingerprint", "source", "dataset_id"}
    batch: dict[str, Any]
    thresholds: dict[str, Any]
    comparison: metrics.Comparison
    summary: str
    #: target (label) drift, when the reference has a target and the batch holds it
    target: Optional[metrics.FeatureResult] = None
    #: {"target", "rows", "current": {...}, "holdout": {...}} for a labelled batch and a model
    performance: Optional[dict[str, Any]] = None
    #: per feature, overlaid distributions (see ``columns.overlay_chart``)
    charts: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    id: Optional[int] = None
    series_id: Optional[str] = None
    created_at: Optional[str] = None
    created_by: Optional[str] = None
    #: a classifier's performance estimated from its calibrated probabilities (no labels needed)
    estimated_performance: Optional[perf.PerformanceEstimate] = None
    #: its performance on the batch's labelled rows, by the estimate's definitions
    realized_performance: Optional[perf.RealizedPerformance] = None
    #: why there is no estimate (a regressor, no calibration), when there is none
    performance_note: str = ""
    #: where the realized performance came from when labels were joined later (not stored with the report)
    realized_note: str = ""

    @property
    def verdict(self) -> str:
        """"drift", "no drift" or "not comparable"."""
        return self.comparison.dataset.verdict

    @property
    def drifted(self) -> bool:
        """Whether the batch as a whole drifted (the dataset verdict)."""
        return self.comparison.dataset.drifted

    @property
    def label(self) -> str:
        """The batch's label, as reports and timelines show it."""
        return str(self.batch["label"])

    @property
    def features(self) -> list[metrics.FeatureResult]:
        """Each feature's result, in the reference's order."""
        return self.comparison.features

    @property
    def dataset(self) -> metrics.DatasetVerdict:
        """The verdict on the batch as a whole (share of drifted features, weighted by
        importance where known)."""
        return self.comparison.dataset

    @property
    def prediction(self) -> Optional[metrics.FeatureResult]:
        """The result for the model's predictions (None when the reference has no model)."""
        return self.comparison.prediction

    @property
    def has_not_comparable(self) -> bool:
        """Whether a feature, or the whole batch, could not be compared with the reference
        (the CLI exits with a user error then)."""
        return self.comparison.dataset.n_not_comparable > 0 or self.verdict == metrics.NOT_COMPARABLE

    def feature(self, name: str) -> metrics.FeatureResult:
        """The result of the feature named ``name``; raises NotFoundError when the report has
        none."""
        try:
            return self.comparison.feature(name)
        except KeyError:
            from ..errors import NotFoundError

            raise NotFoundError(f"The drift report has no feature {name!r}.") from None

    def to_dict(self) -> dict[str, Any]:
        """The report as ``drift --json`` prints it and the store keeps it."""
        c = self.comparison
        return metrics.json_safe({
            "id": self.id, "series_id": self.series_id, "created_at": self.created_at,
            "created_by": self.created_by, "reference": self.reference, "batch": self.batch,
            "thresholds": self.thresholds, "verdict": self.verdict, "drifted": self.drifted,
            "drifted_share": c.dataset.drifted_share, "summary": self.summary,
            "dataset": c.dataset.to_dict(), "features": [r.to_dict() for r in c.features],
            "prediction": c.prediction.to_dict() if c.prediction else None,
            "target": self.target.to_dict() if self.target else None,
            "performance": self.performance, "extra_columns": c.extra_columns,
            "charts": self.charts, "notes": self.notes, "seconds": round(self.seconds, 3),
            "estimated_performance": (self.estimated_performance.to_dict()
                                      if self.estimated_performance is not None else None),
            "realized_performance": (self.realized_performance.to_dict()
                                     if self.realized_performance is not None else None),
            "performance_note": self.performance_note})

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "DriftReport":
        """A report as stored (``to_dict``) back as an object."""
        comparison = metrics.Comparison(
            [metrics.FeatureResult.from_dict(r) for r in d["features"]],
            metrics.DatasetVerdict.from_dict(d["dataset"]), dict(d["thresholds"]), int(d["batch"]["rows"]),
            metrics.FeatureResult.from_dict(d["prediction"]) if d.get("prediction") else None,
            list(d.get("extra_columns") or []))
        return cls(d["reference"], d["batch"], d["thresholds"], comparison, d["summary"],
                   metrics.FeatureResult.from_dict(d["target"]) if d.get("target") else None,
                   d.get("performance"), d.get("charts") or {}, list(d.get("notes") or []),
                   float(d.get("seconds") or 0.0), d.get("id"), d.get("series_id"), d.get("created_at"),
                   d.get("created_by"),
                   perf.PerformanceEstimate.from_dict(d["estimated_performance"])
                   if d.get("estimated_performance") else None,
                   perf.RealizedPerformance.from_dict(d["realized_performance"])
                   if d.get("realized_performance") else None,
                   str(d.get("performance_note") or ""))


def compare_batch(reference: Reference, batch: Batch, thresholds: Optional[Thresholds] = None, *,
                  cancel: Optional[CancelToken] = None) -> DriftReport:
    """Compare one batch with the reference (see ``metrics`` for the measures and rules)."""
    started = time.perf_counter()
    t = (thresholds or Thresholds()).to_dict()
    if batch.rows == 0:
        raise DriftError(f"The batch {batch.label} has no rows.")
    scope_note = ""
    if reference.recipe is not None:
        batch, scope_note = _prepared(reference, batch, cancel)
    present = set(batch.column_names)
    profiles = reference.profile.features

    def one(name: str) -> tuple[metrics.FeatureResult, Optional[dict[str, Any]]]:
        if cancel is not None:
            cancel.check()
        fp = profiles[name]
        if name not in present:
            return metrics.not_comparable(name, fp.kind, f"the batch has no column {name!r}",
                                          fp.distribution), None
        try:
            current = batch.distribution(name, fp.kind)
        except metrics.NotComparable as exc:
            return metrics.not_comparable(name, fp.kind, str(exc), fp.distribution), None
        result = metrics.compare_feature(fp, current, t)
        return result, columns.overlay_chart(fp, current) if result.comparable else None

    # numpy and Arrow release the GIL: the fingerprint is computed meanwhile. A batch on
    # disk is counted by the engine one feature at a time (it uses every core for one),
    # through one connection.
    with ThreadPoolExecutor(max_workers=2) as pool, \
            batch.on_disk.engine() if batch.on_disk is not None else nullcontext():
        fingerprint = pool.submit(batch.fingerprint)
        done = list(pool.map(one, profiles) if batch.table is not None else map(one, profiles))
        batch_fingerprint = fingerprint.result()
    results = [r for r, _ in done]
    charts = {r.name: c for r, c in done if c is not None}
    notes = [scope_note] if scope_note else []
    prediction, labelled, estimated, realized = _model_parts(reference, batch, t, notes, results)
    target = None
    if reference.target_profile is not None and reference.target in present:
        try:
            target = metrics.compare_feature(reference.target_profile, batch.distribution(
                reference.target, reference.target_profile.kind), t)
        except metrics.NotComparable as exc:
            target = metrics.not_comparable(reference.target, reference.target_profile.kind, str(exc))
    verdict = metrics.dataset_verdict(results, t, importance=reference.importance, prediction=prediction)
    extra = [c for c in batch.column_names if c not in reference.kinds and c != reference.target]
    comparison = metrics.Comparison(results, verdict, t, batch.rows, prediction, extra)
    if reference.skipped:
        notes.append("Not compared: " + "; ".join(f"{k} ({v})" for k, v in reference.skipped.items()) + ".")
    if extra:
        notes.append(f"Columns of the batch that the reference does not have (not compared): "
                     f"{', '.join(extra)}.")
    if batch.source.get("rows_without_date"):
        notes.append(f"{batch.source['rows_without_date']:,} rows without a date in "
                     f"{batch.source.get('split_by')} were left out of the periods.")
    summary = summarise(comparison, model_reference=reference.model is not None
                        or reference.description.get("type") == "model_version",
                        target=target, performance=labelled, estimated=estimated)
    batch_info = {"label": batch.label, "rows": batch.rows, "fingerprint": batch_fingerprint,
                  "source": batch.source, "dataset_id": batch.dataset_id}
    report = DriftReport(reference.to_dict(), batch_info, t, comparison, summary, target, labelled, charts,
                         notes, time.perf_counter() - started)
    report.estimated_performance, report.realized_performance = estimated, realized
    if reference.model is not None and estimated is None:
        report.performance_note = reference.calibration_note
    return report


def _prepared(reference: Reference, batch: Batch, cancel: Optional[CancelToken] = None) -> tuple[Batch, str]:
    """A raw batch through the recipe of the version's training data: the rows in the
    model's scope (compared) and a note on those outside it. The batch keeps its own
    fingerprint (labels are joined to the batch as it was read). A batch larger than
    memory goes through the recipe a batch of rows at a time, to a batch on disk."""
    import pandas as pd

    from ..prepare.apply import frame_to_table
    from ..prepare.scope import ScopedRows, parts_as_model_takes, rows_as_model_takes

    what = f"the batch {batch.label}"
    prepared_by = batch.source.get("recipe_sha256")
    source = dict(batch.source)
    if batch.on_disk is not None:
        parts = parts_as_model_takes(reference.recipe, batch.on_disk, prepared_by, what, DriftError, cancel=cancel)
        if parts is None:
            return batch, ""
        scoped = ScopedRows(pd.DataFrame())

        def tables() -> Iterator[pa.Table]:
            kept = 0
            for part in parts:
                scoped.add(part)
                if len(part.frame):
                    kept += len(part.frame)
                    yield frame_to_table(part.frame.reset_index(drop=True))
            if not kept:
                raise DriftError(scoped.none_in_scope(what))

        prepared = derived_batch(batch, batch.label, tables(), source, batch.fingerprint())
    else:
        found = rows_as_model_takes(reference.recipe, batch.table.to_pandas, prepared_by, what, DriftError)
        if found is None:
            return batch, ""
        scoped = found
        if not len(scoped.frame):
            raise DriftError(scoped.none_in_scope(what))
        prepared = Batch(batch.label, frame_to_table(scoped.frame.reset_index(drop=True)), source, batch.fingerprint())
    if scoped.outside:
        source["rows_out_of_scope"] = scoped.outside
    return prepared, scoped.note(what)


def _model_parts(reference: Reference, batch: Batch, t: dict[str, Any], notes: list[str],
                 results: list[metrics.FeatureResult]) -> tuple[
        Optional[metrics.FeatureResult], Optional[dict[str, Any]], Optional[perf.PerformanceEstimate],
        Optional[perf.RealizedPerformance]]:
    """Prediction drift, a classifier's estimated performance and, for a labelled batch,
    its performance (the training metrics, and the estimate's metrics realized)."""
    if reference.model is None or reference.profile.predictions is None:
        return None, None, None, None
    from .estimated import estimate_batch, realized_batch, segment_values

    # only the columns read below: a batch's others (ids, free text) would fill memory for nothing
    wanted = [c for c in dict.fromkeys([*reference.model_features, reference.target, reference.segment_column])
              if c and c in batch.column_names]
    frame, sampled = batch.frame(wanted)
    if sampled:
        notes.append(sampled)
    model = scored_in_parts(reference.model)
    scores, proba, why = score_batch(model, frame, reference.model_features)
    pred_profile = reference.profile.predictions
    if scores is None:
        return metrics.not_comparable("prediction", pred_profile.kind, why), None, None, None
    try:
        prediction = metrics.compare_feature(pred_profile, metrics.distribution_of(scores, pred_profile.kind), t)
    except metrics.NotComparable as exc:
        prediction = metrics.not_comparable("prediction", pred_profile.kind, str(exc))
    performance_now = estimated = realized = None
    target = reference.target
    segments = segment_values(frame, reference.segment_column)
    if reference.calibration is not None and proba is not None:
        estimated = estimate_batch(reference.calibration, proba, results, segments)
    if target and target in frame.columns:
        if reference.evaluate is not None:
            performance_now = performance(model, frame, reference.model_features, target,
                                          reference.evaluate, reference.holdout_metrics)
            performance_now["holdout_source"] = reference.holdout_source
        else:
            notes.append("The batch is labelled, but no metric function was given: no performance.")
        if reference.calibration is not None and proba is not None:
            realized = realized_batch(reference.calibration, proba, frame[target], segments)
    return prediction, performance_now, estimated, realized


@dataclass
class DriftTimeline:
    """Batches in order: the batch verdicts and every feature's verdict and measures."""

    labels: list[str]
    verdicts: list[str]
    drifted_share: list[float]
    #: feature -> {"verdict": [...], "psi": [...], "distance": [...], "distance_name"}
    features: dict[str, dict[str, Any]]

    @classmethod
    def from_reports(cls, reports: Sequence[DriftReport]) -> "DriftTimeline":
        """The timeline of batches compared in order: per feature its verdict, PSI and
        distance in each batch (not comparable where it is absent)."""
        features: dict[str, dict[str, Any]] = {}
        for i, rep in enumerate(reports):
            for r in rep.features:
                entry = features.setdefault(r.name, {
                    "kind": r.kind, "verdict": [metrics.NOT_COMPARABLE] * len(reports),
                    "psi": [None] * len(reports), "distance": [None] * len(reports),
                    "distance_name": ("wasserstein_normalised" if r.kind == metrics.NUMERIC
                                      else "jensen_shannon")})
                entry["verdict"][i] = r.verdict
                entry["psi"][i] = r.metrics.get("psi")
                entry["distance"][i] = r.metrics.get(entry["distance_name"])
        return cls([r.label for r in reports], [r.verdict for r in reports],
                   [r.dataset.drifted_share for r in reports], features)

    def series(self, feature: str, measure: str = "psi") -> list[Optional[float]]:
        """One feature's measure ("psi", "distance" or "verdict") per batch."""
        return list(self.features[feature][measure])

    def to_dict(self) -> dict[str, Any]:
        """The timeline as JSON-safe values."""
        return metrics.json_safe({"labels": self.labels, "verdicts": self.verdicts,
                                  "drifted_share": self.drifted_share, "features": self.features})


@dataclass
class DriftRun:
    """A reference compared with one or more batches."""

    reference: dict[str, Any]
    thresholds: dict[str, Any]
    reports: list[DriftReport]
    series_id: str
    seconds: float = 0.0

    @property
    def drifted(self) -> bool:
        """Whether any batch drifted."""
        return any(r.drifted for r in self.reports)

    @property
    def has_not_comparable(self) -> bool:
        """Whether any batch has a feature, or a verdict, that could not be compared."""
        return any(r.has_not_comparable for r in self.reports)

    @property
    def timeline(self) -> Optional[DriftTimeline]:
        """The batches' timeline; None for a single batch."""
        return DriftTimeline.from_reports(self.reports) if len(self.reports) > 1 else None

    def to_dict(self) -> dict[str, Any]:
        """The run as ``drift --json`` prints it: the reference, every batch's report and the
        timeline."""
        timeline = self.timeline
        return {"reference": metrics.json_safe(self.reference), "thresholds": self.thresholds,
                "series_id": self.series_id, "drifted": self.drifted,
                "batches": [r.to_dict() for r in self.reports],
                "timeline": timeline.to_dict() if timeline else None, "seconds": round(self.seconds, 3)}


def run_drift(ws: Optional["Workspace"], reference: Reference, batches: Sequence[Batch], *,
              thresholds: Optional[Thresholds] = None, store: bool = True, actor: str = "",
              progress: ProgressCallback = no_progress,
              cancel: Optional[CancelToken] = None) -> DriftRun:
    """Compare every batch with the reference, in order; store each report in the
    workspace's registry (with its audit entry) unless ``store`` is False.
    Thresholds: ``thresholds``, else the workspace's and the model's overrides."""
    started = time.perf_counter()
    if not batches:
        raise DriftError("Give at least one current batch to compare with the reference.")
    if store and ws is None:
        raise DriftError("Storing drift reports needs a workspace.")
    if store and not actor:
        raise DriftError("Say who runs the comparison: storing a drift report records it.")
    t = thresholds or effective_thresholds(ws, reference.model_name)
    steps = Steps(progress, cancel, {f"b{i}": 1 for i in range(len(batches))})
    series_id = uuid.uuid4().hex
    reports = []
    for i, batch in enumerate(batches):
        steps.start(f"b{i}", f"Comparing {batch.label} with {reference.label}")
        report = compare_batch(reference, batch, t, cancel=cancel)
        report.series_id = series_id
        if store:
            from .history import save_report

            assert ws is not None
            save_report(ws, report, reference, batch_index=i, actor=actor)
        reports.append(report)
    steps.done("Drift reports ready")
    return DriftRun(reference.to_dict(), t.to_dict(), reports, series_id, time.perf_counter() - started)
