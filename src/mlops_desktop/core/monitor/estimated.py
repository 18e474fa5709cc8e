"""A batch's estimated performance (from the calibrated probabilities, while labels are
missing) and realized performance (once they are there), for a drift report; per
segment too for a segmented model. The arithmetic is ``mlops_model_support.performance``'s,
which an exported package runs too."""

from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np
import pandas as pd
from mlops_model_support import performance as perf
from mlops_model_support.labels import category_labels, class_label

#: segments with fewer rows than this get no figures of their own (bands too wide to read)
MIN_SEGMENT_ROWS = 50


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
            if rows.sum() < MIN_SEGMENT_ROWS:
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
            if rows.sum() >= MIN_SEGMENT_ROWS:
                out.segments[str(value)] = perf.realized(calibration, proba[known][rows],
                                                         [t for t, r in zip(text, rows) if r])
    return out
