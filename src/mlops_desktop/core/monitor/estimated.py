"""A batch's estimated performance (from the calibrated probabilities, while labels are
missing) and realized performance (once they are there), for a drift report; per
segment too for a segmented model. The arithmetic is ``mlops_model_support.performance``'s,
which an exported package runs too."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Optional, Sequence

import numpy as np
import pandas as pd
from mlops_model_support import performance as perf
from mlops_model_support.labels import category_labels, class_label

from ..jobs import CancelToken, ProgressCallback, no_progress

if TYPE_CHECKING:
    from ..workspace import Workspace



def segment_values(frame: pd.DataFrame, column: Optional[str]) -> Optional[np.ndarray]:
    """Each row's segment as the model reads it (text; missing as "(missing)"), or None."""
    if not column or column not in frame.columns:
        return None
    labels = category_labels(frame[column])
    return np.where(pd.isna(labels), "(missing)", labels).astype(object)


def estimate_batch(calibration: perf.Calibration, proba: np.ndarray, results: Sequence[Any],
                   segments: Optional[np.ndarray] = None) -> perf.PerformanceEstimate:
    """The estimate for every scored row of a batch, marked unreliable by the range
    rule on the batch's drift results; per segment when ``segments`` is given."""
    reliable, reason = perf.range_check(perf.outside_shares(results))
    tally = perf.Tally(calibration)
    tally.add(proba)
    out = perf.estimate(tally, reliable=reliable, reason=reason)
    if segments is not None:
        for value in sorted(set(segments.tolist())):
            rows = segments == value
            if rows.sum() < perf.MIN_SEGMENT_ROWS:
                continue
            part = perf.Tally(calibration)
            part.add(proba[rows])
            out.segments[str(value)] = perf.estimate(part, reliable=reliable, reason=reason)
    return out


def realized_batch(calibration: perf.Calibration, proba: np.ndarray, labels: pd.Series,
                   segments: Optional[np.ndarray] = None) -> Optional[perf.RealizedPerformance]:
    """The metrics of the rows with a label (None when no row has one)."""
    known = labels.notna().to_numpy()
    if not known.any():
        return None
    text = [class_label(v) for v in labels[known]]
    out = perf.realized(calibration, proba[known], text)
    if segments is not None:
        seg = segments[known]
        for value in sorted(set(seg.tolist())):
            rows = seg == value
            if rows.sum() >= perf.MIN_SEGMENT_ROWS:
                out.segments[str(value)] = perf.realized(calibration, proba[known][rows],
                                                         [t for t, r in zip(text, rows) if r])
    return out


# -- across batches ------------------------------------------------------------------------

@dataclass
class PerformancePoint:
    """One batch on the performance timeline."""

    report_id: int
    label: str
    #: when the batch happened: its period (split by date), IT's scoring time, else when it was compared
    when: str
    verdict: str
    estimated: Optional[perf.PerformanceEstimate]
    realized: Optional[perf.RealizedPerformance]


@dataclass
class PerformanceHistory:
    """Every stored batch of a model version with an estimate or realized figures, in
    time order."""

    points: list[PerformancePoint] = field(default_factory=list)

    def series(self, metric: str) -> dict[str, list[Optional[float]]]:
        """Per point: "estimate", "low", "high", "realized" of ``metric`` (None where unknown)."""
        out: dict[str, list[Optional[float]]] = {"estimate": [], "low": [], "high": [], "realized": []}
        for p in self.points:
            m = p.estimated.metrics.get(metric) if p.estimated is not None else None
            out["estimate"].append(m.estimate if m is not None else None)
            out["low"].append(m.low if m is not None else None)
            out["high"].append(m.high if m is not None else None)
            out["realized"].append(p.realized.metrics.get(metric) if p.realized is not None else None)
        return out


def batch_time(report: Any) -> str:
    """When a stored batch happened, for ordering a timeline (ISO text)."""
    source = report.batch.get("source") or {}
    return str(source.get("period") or source.get("scored_at") or report.created_at or "")


def performance_history(ws: "Workspace", model_name: str, version: int, *, limit: int = 500,
                        progress: ProgressCallback = no_progress,
                        cancel: Optional[CancelToken] = None) -> PerformanceHistory:
    """The version's stored batches (its newest ``limit`` reports) with their estimated
    and realized performance, oldest batch first. Each report is read whole, so the
    Monitor page reads them off the UI thread, with progress and cancel."""
    from .history import drift_reports, load_report

    points = []
    stored_reports = drift_reports(ws, model_name=model_name, model_version=version, limit=limit)
    for i, stored in enumerate(stored_reports):
        if cancel is not None:
            cancel.check()
        progress(i / len(stored_reports), f"Reading the performance of {len(stored_reports):,} batches")
        report = load_report(ws, stored.id)
        if report.estimated_performance is None and report.realized_performance is None:
            continue
        points.append(PerformancePoint(stored.id, report.label, batch_time(report), report.verdict,
                                       report.estimated_performance, report.realized_performance))
    points.sort(key=lambda p: (p.when, p.report_id))
    return PerformanceHistory(points)
