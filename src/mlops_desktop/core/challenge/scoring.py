"""Both versions scored on the same challenge rows, and what the scores say: every main
metric of each with the paired bootstrap interval of challenger − champion
(:mod:`..validate.paired`, the computation a validation compares with its baseline),
McNemar's test of their right and wrong decisions (classifiers), the calibration of
both (binary), and the rule's metric per segment with its paired interval."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import numpy as np
import pandas as pd

from .. import numbers
from ..validate.bootstrap import percentile_interval, resample_weights
from ..validate.groups import MIN_RELIABLE_EVENTS, MIN_RELIABLE_ROWS
from ..validate.holdout import Holdout, model_columns, predict, prepare_holdout
from ..validate.metrics import MAIN_METRICS, METRIC_INFO, point, subset
from ..validate.paired import calibration_estimates, calibration_scorer_for, paired_metrics, scorer_for
from ..validate.results import BINARY, REGRESSION, MetricEstimate
from .errors import ChallengeError
from .report import McNemar, MetricRow, SegmentRow
from .rule import Rule

MISSING_SEGMENT = "(missing)"
#: fewer discordant rows than this and McNemar's test is the exact binomial one
EXACT_BELOW = 25
#: a binary version without a chosen threshold decides for its likelier class
LIKELIER = 0.5


def threshold_or_likelier(threshold: Optional[float]) -> float:
    """The decision threshold a version uses: its chosen one, or the likelier class when it has none."""
    return LIKELIER if threshold is None else float(threshold)


@dataclass
class Scored:
    """The challenge rows and both versions' outputs on them (probabilities in the
    champion's class order, or predictions)."""

    holdout: Holdout
    champion: np.ndarray
    challenger: np.ndarray


def score_both(champion: Any, challenger: Any, frame: pd.DataFrame, target: str, *, task: str,
               positive_class: Optional[str], columns: list[str]) -> Scored:
    """Score ``frame``'s rows (those with a target) with both models. ``columns``: every
    column either model needs, and the segment column."""
    holdout = prepare_holdout(champion, frame[columns], frame[target], task=task, positive_class=positive_class)
    if holdout.task != REGRESSION:
        theirs = [str(c) for c in getattr(challenger, "classes_", [])]
        if theirs != [str(c) for c in holdout.classes]:
            raise ChallengeError(f"The challenger knows the classes {theirs}, production "
                                 f"{[str(c) for c in holdout.classes]}: they are not models of the same target.")
    first = predict(champion, holdout)
    second = predict(challenger, holdout, X=holdout.frame[model_columns(challenger, holdout.frame)])
    return Scored(holdout, first, second)


@dataclass
class Judged:
    """The challenger and the champion judged on the same rows: metrics, McNemar, calibration, segments."""
    metrics: list[MetricRow]
    mcnemar: Optional[McNemar]
    calibration: dict[str, list[MetricEstimate]]
    segments: list[SegmentRow]
    notes: list[str] = field(default_factory=list)


def judge(scored: Scored, rule: Rule, *, thresholds: tuple[Optional[float], Optional[float]],
          segments: Optional[tuple[str, Any, Any]], n_bootstrap: int, seed: int,
          on_chunk: Optional[Callable[[float], None]] = None) -> Judged:
    """The figures of a challenge. ``thresholds``: (champion's, challenger's) decision
    thresholds for a binary task; ``segments``: (column, champion model, challenger model)
    for a per-segment table, or None."""
    holdout, task = scored.holdout, scored.holdout.task
    notes: list[str] = []
    with_mape = task == REGRESSION and bool(np.all(holdout.y != 0))
    names = [m for m in MAIN_METRICS[task] if with_mape or m != "mape"]
    if rule.metric not in names:
        raise ChallengeError(f"{rule.metric} is not defined on these rows (a target of 0 leaves MAPE undefined); "
                             "declare another metric.")
    cuts = [threshold_or_likelier(t) if task == BINARY else None for t in thresholds]
    first = scorer_for(holdout, scored.champion, cuts[0], with_mape)
    second = scorer_for(holdout, scored.challenger, cuts[1], with_mape)
    calibrations = [calibration_scorer_for(holdout, out) for out in (scored.champion, scored.challenger)]
    more = [c for c in calibrations if c is not None]
    paired = paired_metrics(first, second, names, task, holdout.n, n_bootstrap=n_bootstrap, seed=seed, more=more,
                            on_chunk=on_chunk)
    rows = [MetricRow(a.name, a.label, a.higher_is_better, a, b, d)
            for a, b, d in zip(paired.first, paired.second, paired.differences)]
    for who, undefined in (("production", paired.undefined_first), ("the challenger", paired.undefined_second)):
        if rule.metric in undefined:
            notes.append(f"{METRIC_INFO[rule.metric].label} of {who} was not defined in {undefined[rule.metric]:,} "
                         f"of {n_bootstrap:,} resamples (a resample without one of the classes); the interval "
                         "uses the others.")
    calibration = {}
    if len(more) == 2:
        calibration = {side: calibration_estimates(scorer, holdout.n, resampled)
                       for side, scorer, resampled in zip(("champion", "challenger"), more, paired.more)}
    segment_rows: list[SegmentRow] = []
    if segments is not None:
        column, champion_model, challenger_model = segments
        segment_rows = _segments(holdout, first, second, rule, column, champion_model, challenger_model,
                                 n_bootstrap, seed)
        if len(segment_rows) > 1:
            notes.append(f"Each segment is judged by the same rule on its own rows, with intervals at "
                         f"{numbers.share(segment_rows[0].level, 2)} each, so that all {len(segment_rows)} hold "
                         "together with 95% confidence (Bonferroni): a segment passing by chance alone, and "
                         "promoted for it, stays as rare as for one comparison.")
    return Judged(rows, mcnemar(scored, thresholds) if task != REGRESSION else None, calibration, segment_rows,
                  notes)


def decisions(holdout: Holdout, output: np.ndarray, threshold: Optional[float]) -> np.ndarray:
    """Whether each row's decision is right: binary positive at ``threshold`` (None: the
    likelier class), otherwise the most probable class."""
    if holdout.task == BINARY:
        predicted = output[:, holdout.positive_index] >= threshold_or_likelier(threshold)
        return predicted == holdout.positive
    return output.argmax(axis=1) == holdout.y_index


def mcnemar(scored: Scored, thresholds: tuple[Optional[float], Optional[float]]) -> McNemar:
    """McNemar's test of the two versions' right and wrong decisions on the same rows
    (statsmodels): exact binomial below :data:`EXACT_BELOW` discordant rows, else the
    chi-square with continuity correction."""
    from statsmodels.stats.contingency_tables import mcnemar as test

    a = decisions(scored.holdout, scored.champion, thresholds[0])
    b = decisions(scored.holdout, scored.challenger, thresholds[1])
    both, a_only, b_only, neither = (int((a & b).sum()), int((a & ~b).sum()), int((~a & b).sum()),
                                     int((~a & ~b).sum()))
    if a_only + b_only == 0:
        return McNemar(both, a_only, b_only, neither, 0.0, 1.0, True)
    exact = a_only + b_only < EXACT_BELOW
    result = test([[both, a_only], [b_only, neither]], exact=exact, correction=True)
    return McNemar(both, a_only, b_only, neither, float(result.statistic), float(result.pvalue), exact)


def _route(model: Any, key: Optional[str]) -> str:
    pipelines = getattr(model, "segment_pipelines_", None)
    return "segment" if pipelines is not None and key in pipelines else "fallback"


def _segments(holdout: Holdout, first: Any, second: Any, rule: Rule, column: str, champion: Any, challenger: Any,
              n_bootstrap: int, seed: int) -> list[SegmentRow]:
    """The rule's metric per value of ``column`` (the routing key of the segment models),
    with the paired interval over the same resamples as the overall figures. With k
    segments each interval is at level 1 − 0.05/k (Bonferroni), so that the k verdicts,
    which decide which segments may be promoted, hold together at 95%."""
    from ..train.estimators import segment_keys

    keys = segment_keys(holdout.frame[column])
    labels = np.array([MISSING_SEGMENT if k is None else k for k in keys], dtype=object)
    names, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    groups = [np.flatnonzero(inverse == g) for g in range(len(names))]
    pairs = [(subset(first, rows), subset(second, rows)) for rows in groups]
    level = segment_level(len(groups))
    resampled: list[list[np.ndarray]] = [[] for _ in groups]
    if n_bootstrap > 0:
        for weights in resample_weights(holdout.n, n_bootstrap, seed):
            for g, (rows, (a, b)) in enumerate(zip(groups, pairs)):
                w = weights[:, rows]
                resampled[g].append(b.metrics(w)[rule.metric] - a.metrics(w)[rule.metric])
    out = []
    for g in np.argsort(-counts, kind="mergesort"):
        a, b = (point(s, len(groups[g])).get(rule.metric) for s in pairs[g])
        low, high = (percentile_interval(np.concatenate(resampled[g]), level)[:2] if resampled[g] else (None, None))
        verdict, wins = rule.judge(low, high)
        key = None if names[g] == MISSING_SEGMENT else str(names[g])
        if holdout.classes is not None:
            fewest = int(np.bincount(holdout.y_index[groups[g]], minlength=len(holdout.classes)).min())
            reliable = fewest >= MIN_RELIABLE_EVENTS
        else:
            reliable = len(groups[g]) >= MIN_RELIABLE_ROWS
        out.append(SegmentRow(str(names[g]), key, int(counts[g]), bool(reliable), a, b,
                              None if a is None or b is None else b - a, low, high, verdict,
                              bool(wins and key is not None), _route(champion, key), _route(challenger, key),
                              level))
    return out


def segment_level(k: int) -> float:
    """The level of each of ``k`` per-segment intervals that hold together at 95%
    (Bonferroni: conservative, and valid whatever the segments' dependence)."""
    return 1.0 - 0.05 / max(k, 1)
