"""Two models scored on the same rows, and the paired bootstrap interval of their
difference.

A validation compares a model with its baseline this way, and a challenge compares a
challenger with the production version this way: one computation for both. Both
models' metrics are taken in the very same resamples of the rows (see
:mod:`.bootstrap`), so the interval of the difference reflects only how the two
disagree on the rows, not how the rows happened to be drawn.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

import numpy as np

from .bootstrap import bootstrap_metrics, percentile_interval
from .holdout import Holdout
from .metrics import (METRIC_INFO, BinaryScorer, CalibrationScorer, MulticlassScorer, RegressionScorer,
                      label, point)
from .results import BINARY, MULTICLASS, MetricEstimate

CALIBRATION_LABELS = {"calibration_slope": "calibration slope (ideal 1)",
                      "calibration_intercept": "calibration intercept (ideal 0)",
                      "ece": "expected calibration error (10 equal-count bins; ideal 0)"}


def scorer_for(holdout: Holdout, output: np.ndarray, threshold: Optional[float], with_mape: bool):
    """The scorer of a model's ``output`` on ``holdout`` (binary: positive at ``threshold``)."""
    if holdout.task == BINARY:
        return BinaryScorer(holdout.positive, output[:, holdout.positive_index], threshold)
    if holdout.task == MULTICLASS:
        return MulticlassScorer(holdout.y_index, output)
    return RegressionScorer(holdout.y, output, with_mape=with_mape)


def calibration_scorer_for(holdout: Holdout, output: np.ndarray) -> Optional[CalibrationScorer]:
    """The calibration scorer of a binary model's probabilities; None for other tasks or a
    holdout with one class (where calibration is not defined)."""
    if holdout.task != BINARY or not holdout.positive.any() or holdout.positive.all():
        return None
    return CalibrationScorer(holdout.positive, output[:, holdout.positive_index])


def metric_estimates(names: Sequence[str], task: str, values: dict[str, Optional[float]],
                     resampled: Optional[dict[str, np.ndarray]]) -> tuple[list[MetricEstimate], dict[str, int]]:
    """Each metric's value with its percentile interval over ``resampled``, and in how
    many resamples a metric was undefined (by name, when any)."""
    out, undefined = [], {}
    for name in names:
        low = high = None
        if resampled is not None and name in resampled:
            low, high, k = percentile_interval(resampled[name])
            if k:
                undefined[name] = k
        out.append(MetricEstimate(name, values.get(name), low, high, label=label(name, task),
                                  higher_is_better=METRIC_INFO[name].higher_is_better))
    return out, undefined


def calibration_estimates(scorer: Optional[CalibrationScorer], n: int,
                          resampled: Optional[dict[str, np.ndarray]]) -> list[MetricEstimate]:
    """Calibration slope, intercept and ECE on the rows, with percentile intervals."""
    if scorer is None:
        return []
    values = point(scorer, n)
    out = []
    for name, text in CALIBRATION_LABELS.items():
        low = high = None
        if resampled is not None:
            low, high, _ = percentile_interval(resampled[name])
        out.append(MetricEstimate(name, values.get(name), low, high, label=text,
                                  higher_is_better=name == "calibration_slope"))
    return out


@dataclass
class PairedMetrics:
    """Two models' metrics on the same rows and their paired differences."""

    first: list[MetricEstimate]
    second: list[MetricEstimate]
    #: second minus first, per metric, with the interval of the paired difference
    differences: list[MetricEstimate]
    #: resamples in which a metric of the first / the second model was undefined
    undefined_first: dict[str, int] = field(default_factory=dict)
    undefined_second: dict[str, int] = field(default_factory=dict)
    #: the resampled metrics of each further scorer (None without resamples)
    more: list[Optional[dict[str, np.ndarray]]] = field(default_factory=list)


def paired_metrics(first, second, names: Sequence[str], task: str, n: int, *, n_bootstrap: int, seed: int,
                   more: Sequence = (), on_chunk: Optional[Callable[[float], None]] = None) -> PairedMetrics:
    """``names`` of scorers ``first`` and ``second`` on the same ``n`` rows, and their
    differences (second − first), with 95% percentile intervals over ``n_bootstrap``
    resamples drawn from ``seed``, the same resamples for both (and for the scorers in
    ``more``, whose resampled metrics are returned as they are)."""
    values_first, values_second = point(first, n), point(second, n)
    resampled_first = resampled_second = differences = None
    extra: list[Optional[dict[str, np.ndarray]]] = [None] * len(more)
    if n_bootstrap > 0:
        resampled_first, resampled_second, *extra = bootstrap_metrics([first, second, *more], n, n_bootstrap,
                                                                      seed, on_chunk=on_chunk)
        differences = {k: resampled_second[k] - resampled_first[k] for k in resampled_second
                       if k in resampled_first}
    estimates_first, undefined_first = metric_estimates(names, task, values_first, resampled_first)
    estimates_second, undefined_second = metric_estimates(names, task, values_second, resampled_second)
    difference_values = {k: (values_second[k] - values_first[k]
                             if values_second.get(k) is not None and values_first.get(k) is not None else None)
                         for k in names}
    estimates_difference, _ = metric_estimates(names, task, difference_values, differences)
    return PairedMetrics(estimates_first, estimates_second, estimates_difference, undefined_first,
                         undefined_second, list(extra))
