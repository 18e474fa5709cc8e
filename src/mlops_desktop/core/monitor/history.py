"""Drift reports kept in the registry: saving a report (with its audit entry) and
reading the history of a dataset or a model version."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from ..store import drift_reports as rows

if TYPE_CHECKING:
    from ..workspace import Workspace
    from .drift import DriftReport, DriftRun
    from .reference import Reference


@dataclass
class StoredDriftReport:
    """A stored report's record, without its per-feature results."""

    id: int
    reference_type: str
    reference_label: str
    reference_dataset_id: Optional[int]
    reference_fingerprint: Optional[str]
    model_name: Optional[str]
    model_version: Optional[int]
    batch_label: str
    batch_fingerprint: str
    batch_rows: int
    batch_source: dict[str, Any]
    batch_dataset_id: Optional[int]
    series_id: str
    batch_index: int
    thresholds: dict[str, Any]
    verdict: str
    drifted_share: float
    n_features: int
    n_drifted: int
    summary: str
    results_sha256: str
    created_by: str
    created_at: str

    def to_dict(self) -> dict[str, Any]:
        """The stored report's fields as a plain dict."""
        return dict(self.__dict__)


def save_report(ws: "Workspace", report: "DriftReport", reference: "Reference", *, batch_index: int,
                actor: str, details: Optional[dict[str, Any]] = None) -> StoredDriftReport:
    """Store the report and its ``drift.report_created`` audit entry in one transaction;
    sets the report's id, creation time and author."""
    d = reference.description
    ref = {"type": d["type"], "label": d["label"], "dataset_id": d.get("dataset_id"),
           "fingerprint": d.get("fingerprint"), "model": d.get("model"), "version": d.get("version")}
    report.created_by = actor
    results = report.to_dict()
    stored = rows.insert(ws.registry, reference=ref, batch=report.batch, series_id=report.series_id or "",
                         batch_index=batch_index, thresholds=report.thresholds, verdict=report.verdict,
                         drifted_share=report.dataset.drifted_share, n_features=report.dataset.n_features,
                         n_drifted=report.dataset.n_drifted, summary=report.summary, results=results,
                         actor=actor, audit_entity=reference.audit_entity, details=details)
    report.id, report.created_at = stored["id"], stored["created_at"]
    return StoredDriftReport(**stored)


def drift_reports(ws: "Workspace", *, dataset: Optional[str | int] = None, model_name: Optional[str] = None,
                  model_version: Optional[int] = None, series_id: Optional[str] = None,
                  limit: Optional[int] = None) -> list[StoredDriftReport]:
    """Stored reports, newest first: all, or those against a dataset (id or name), a
    model (and version), or of one run (``series_id``, in batch order)."""
    dataset_id = ws.dataset(dataset).id if dataset is not None else None
    return [StoredDriftReport(**r) for r in rows.list_reports(
        ws.registry, dataset_id=dataset_id, model_name=model_name, model_version=model_version,
        series_id=series_id, limit=limit)]


def load_report(ws: "Workspace", report_id: int) -> "DriftReport":
    """A stored report with every result, as when it was made."""
    from .drift import DriftReport

    row = rows.get(ws.registry, report_id)
    report = DriftReport.from_dict(row["results"])
    report.id, report.created_at, report.created_by = row["id"], row["created_at"], row["created_by"]
    _labels_joined_later(ws, report)
    return report


def _labels_joined_later(ws: "Workspace", report: "DriftReport") -> None:
    """The realized performance of labels joined to the batch after it was compared
    (``monitor labels``; the newest join), when the batch had none of its own."""
    from mlops_model_support.performance import RealizedPerformance

    from ..store import realized

    if report.realized_performance is not None or report.id is None:
        return
    row = realized.latest(ws.registry, report.id)
    if row is None:
        return
    report.realized_performance = RealizedPerformance.from_dict(row["result"]["realized_performance"])
    c = row["result"]["counts"]
    report.realized_note = (f"Labels joined by {row['id_column']} on {row['created_at'][:10]} by {row['created_by']}"
                            f" ({Path(row['labels_source']).name}): {c['matched']:,} rows matched, "
                            f"{c['unlabelled']:,} without a label, {c['unknown_ids']:,} unknown ids, "
                            f"{c['duplicate_ids']:,} ids given twice or more.")


@dataclass
class StoredDriftRun:
    """One comparison as stored: the reports of its batches (a ``series_id``), in brief."""

    series_id: str
    reference_label: str
    created_by: str
    created_at: str
    #: the ids of its reports, in batch order
    report_ids: list[int]
    batch_labels: list[str]
    verdicts: list[str]

    @property
    def n_drifted(self) -> int:
        """How many of the run's batches drifted."""
        return sum(v == "drift" for v in self.verdicts)

    def to_dict(self) -> dict[str, Any]:
        """The stored run's fields as a plain dict, with the number of drifted batches."""
        return {**self.__dict__, "n_drifted": self.n_drifted}


def drift_runs(ws: "Workspace", *, dataset: Optional[str | int] = None, model_name: Optional[str] = None,
               model_version: Optional[int] = None, limit: int = 200) -> list[StoredDriftRun]:
    """Stored comparisons, newest first (one per run, however many batches it had):
    all, or those against a dataset (id or name; the dataset itself, not a model
    trained on it) or a model version. The newest ``limit`` reports are read."""
    reports = drift_reports(ws, dataset=dataset, model_name=model_name, model_version=model_version,
                            limit=limit)
    if dataset is not None:
        reports = [r for r in reports if r.reference_type == "dataset"]
    runs: dict[str, StoredDriftRun] = {}
    for r in reports:  # newest first: a run's first report seen is its newest
        run = runs.setdefault(r.series_id, StoredDriftRun(r.series_id, r.reference_label, r.created_by,
                                                          r.created_at, [], [], []))
        run.report_ids.append(r.id)
        run.batch_labels.append(r.batch_label)
        run.verdicts.append(r.verdict)
    for run in runs.values():  # batch order: ids grow as the batches are stored
        order = sorted(range(len(run.report_ids)), key=run.report_ids.__getitem__)
        run.report_ids, run.batch_labels, run.verdicts = ([xs[i] for i in order] for xs in
                                                          (run.report_ids, run.batch_labels, run.verdicts))
    return list(runs.values())


def load_run(ws: "Workspace", series_id: str) -> "DriftRun":
    """A stored comparison with every batch's report, as when it was made (nothing is
    recomputed: no reference is built, no model loaded, no batch read)."""
    from ..errors import NotFoundError
    from .drift import DriftRun

    stored = drift_reports(ws, series_id=series_id)
    if not stored:
        raise NotFoundError(f"There is no stored drift comparison {series_id!r}.")
    reports = [load_report(ws, r.id) for r in stored]
    return DriftRun(reports[0].reference, reports[0].thresholds, reports, series_id,
                    sum(r.seconds for r in reports))
