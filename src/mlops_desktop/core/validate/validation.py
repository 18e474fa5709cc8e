"""``validate_model``: a fitted model judged on a holdout, next to its baseline.

Order of work: check and score the holdout; choose the threshold (binary); metrics on
the holdout and in paired bootstrap resamples for model and baseline; the verdict
against the baseline; confusion matrix and curves; segment and subgroup metrics;
permutation importance and partial dependence.
"""

from __future__ import annotations

import time
from typing import Any, Optional, Sequence

import numpy as np
import pandas as pd
from sklearn.dummy import DummyClassifier, DummyRegressor


from .. import numbers
from ..errors import InvalidChoiceError
from ..jobs import CancelToken, ProgressCallback, Steps, no_progress
from . import curves, groups, inspection
from .errors import ValidationError
from .holdout import Holdout, predict, prepare_holdout
from .metrics import MAIN_METRICS, PRIMARY, label, point
from .paired import calibration_estimates, calibration_scorer_for, paired_metrics, scorer_for
from .results import BINARY, MULTICLASS, REGRESSION, MetricEstimate, ValidationReport
from .threshold import RULES, choose_threshold

#: below this many rows (or rows of the rarer class) the holdout is called small
SMALL_HOLDOUT_ROWS = 200
SMALL_CLASS_ROWS = 30
#: fewer resamples than this give rough intervals, and the report says so
FEW_BOOTSTRAPS = 200


def describe_estimator(model: Any) -> str:
    """The model's final estimator with its strategy, e.g. "DummyClassifier(strategy='prior')"."""
    est = model.steps[-1][1] if hasattr(model, "steps") else model
    strategy = getattr(est, "strategy", None)
    return f"{type(est).__name__}(strategy={strategy!r})" if strategy else type(est).__name__


#: where the baseline's probability turns into a label: its likelier class
BASELINE_THRESHOLD = 0.5


def _baseline(baseline: Any, holdout: Holdout, model: Any, notes: list[str]) -> tuple[Any, str]:
    """The given baseline, checked against the model, or one fitted on the holdout."""
    if baseline is None:
        if holdout.task == REGRESSION:
            baseline = DummyRegressor(strategy="mean").fit(holdout.X, holdout.y)
            what = "the holdout's mean target"
        else:
            baseline = DummyClassifier(strategy="prior").fit(holdout.X, holdout.y_labels)
            what = "the holdout's class shares"
        notes.append(f"No baseline model was given; the baseline predicts {what}. Fitted on the "
                     "holdout itself, it is a slightly stronger opponent than a baseline fitted "
                     "on training data, so the comparison is, if anything, strict.")
        return baseline, describe_estimator(baseline) + " fitted on the holdout"
    if holdout.task != REGRESSION:
        base_classes = [str(c) for c in getattr(baseline, "classes_", [])]
        if base_classes != [str(c) for c in model.classes_]:
            raise ValidationError(f"The baseline knows the classes {base_classes}, the model "
                                  f"{[str(c) for c in model.classes_]}; they must be trained on "
                                  "the same target.")
    return baseline, describe_estimator(baseline)


def _verdict(primary: MetricEstimate, base: MetricEstimate, diff: MetricEstimate,
             n_bootstrap: int) -> tuple[bool, str]:
    """Beats the baseline when the interval of (model − baseline) on the primary metric
    excludes zero on the good side. One sentence saying so, with the figures."""
    name = primary.label
    if primary.value is None or base.value is None:
        return False, (f"Not decided: {name} is not defined on this holdout (see the notes), so "
                       "the model cannot be compared with the baseline.")
    if diff.low is None or diff.high is None:
        reason = ("no bootstrap resamples were drawn" if n_bootstrap == 0
                  else f"the difference in {name} was undefined in too many resamples")
        return False, (f"Not decided: {name} {numbers.value(primary.value)} against the baseline's "
                       f"{numbers.value(base.value)}, but {reason}, so there is no interval to judge it by.")
    better = "higher" if primary.higher_is_better else "lower"
    beats = diff.low > 0 if primary.higher_is_better else diff.high < 0
    worse = diff.high < 0 if primary.higher_is_better else diff.low > 0
    # Paired resamples make even a negligible gain "significant": the gain must also matter.
    margin = _practical_margin(primary.name, base.value)
    if beats and abs(diff.value) < margin:
        figures = (f"{name} {numbers.value(primary.value)} against the baseline's {numbers.value(base.value)}, a difference "
                   f"of {diff.value:+.3g} (95% interval {diff.low:+.3g} to {diff.high:+.3g})")
        return False, (f"Does not beat the baseline: {figures}; the interval excludes zero, but the "
                       f"gain is smaller than {numbers.value(margin)}, too small to matter.")
    overlap = ("the two metrics' own intervals overlap"
               if primary.low is not None and base.low is not None
               and primary.low <= base.high and base.low <= primary.high
               else "the two metrics' own intervals do not overlap")
    figures = (f"{name} {numbers.value(primary.value)} against the baseline's {numbers.value(base.value)}, a difference "
               f"of {diff.value:+.3g} (95% interval {diff.low:+.3g} to {diff.high:+.3g})")
    if beats:
        return True, (f"Beats the baseline: {figures}, which excludes zero ({better} is better); "
                      f"{overlap}.")
    if worse:
        return False, (f"Worse than the baseline: {figures}, entirely on the wrong side of zero "
                       f"({better} is better); {overlap}.")
    return False, (f"Does not beat the baseline: {figures}, which includes zero, so the model is "
                   f"not shown to be better; {overlap}.")


#: the least gain over the baseline that counts: a share of the baseline's error for
#: error metrics, an absolute amount for scores between 0 and 1
RELATIVE_MARGIN = 0.01
ABSOLUTE_MARGIN = 0.01


def _practical_margin(metric: str, baseline_value: float) -> float:
    if metric in ("rmse", "mae", "log_loss", "brier", "mape"):
        return RELATIVE_MARGIN * abs(baseline_value)
    return ABSOLUTE_MARGIN


def _confusion(holdout: Holdout, output: np.ndarray, threshold: Optional[float]) -> dict[str, Any]:
    """Rows are actual classes, columns predicted, as scikit-learn's confusion_matrix."""
    if holdout.task == BINARY:
        pos = holdout.positive_index
        neg = 1 - pos
        predicted = output[:, pos] >= threshold
        actual = holdout.positive
        matrix = [[int((~actual & ~predicted).sum()), int((~actual & predicted).sum())],
                  [int((actual & ~predicted).sum()), int((actual & predicted).sum())]]
        return {"labels": [str(holdout.classes[neg]), str(holdout.classes[pos])], "matrix": matrix,
                "threshold": threshold}
    k = len(holdout.classes)
    predicted = output.argmax(axis=1)
    matrix = np.zeros((k, k), dtype=int)
    np.add.at(matrix, (holdout.y_index, predicted), 1)
    return {"labels": [str(c) for c in holdout.classes], "matrix": matrix.tolist(),
            "threshold": None}


def validate_model(model: Any, X: pd.DataFrame, y: pd.Series, *, task: Optional[str] = None,
                   baseline: Any = None, threshold: Optional[float] = None,
                   threshold_rule: str = "f1", cost_fp: float = 1.0, cost_fn: float = 1.0,
                   target_value: Optional[float] = None, subgroup_columns: Sequence[str] = (),
                   segment_column: Optional[str] = None, n_bootstrap: int = 1000,
                   importance_repeats: int = 5, top_features: int = 5, seed: int = 0,
                   positive_class: Any = None, explainer: Any = None, progress: ProgressCallback = no_progress,
                   cancel: Optional[CancelToken] = None) -> ValidationReport:
    """Judge a fitted scikit-learn model (or pipeline taking the raw columns) on holdout
    rows ``X``/``y``, next to ``baseline`` (a fitted dummy pipeline; when None, one is
    fitted on the holdout and the report says so).

    ``task``: "regression", "binary" or "multiclass" (from the model when None).
    Binary models: ``threshold`` fixes the threshold; otherwise ``threshold_rule``
    chooses it on the holdout ("f1", "cost" with ``cost_fp``/``cost_fn``, "precision" or
    "recall" with ``target_value``). ``positive_class``: default the second of the sorted
    labels. ``subgroup_columns`` and ``segment_column`` name columns of ``X`` (they need
    not be model inputs). Intervals: 95% percentile bootstrap over holdout rows with
    ``n_bootstrap`` resamples from ``seed``, paired between model and baseline.
    ``explainer``: a ``mlops_model_support.contributions.Explainer`` of the model (of the
    same positive class): the report then holds the holdout's contributions per column.

    Raises :class:`ValidationError`, :class:`NotFoundError` or
    :class:`InvalidChoiceError` with a message saying what to change; ``JobCancelled``
    when ``cancel`` is set.
    """
    started = time.perf_counter()
    if threshold_rule not in RULES:
        raise InvalidChoiceError(f"Unknown threshold rule {threshold_rule!r}; use one of "
                                 f"{', '.join(RULES)}.")
    if n_bootstrap < 0 or importance_repeats < 0 or top_features < 0:
        raise InvalidChoiceError("Numbers of resamples, repeats and features cannot be negative.")
    subgroup_columns = list(dict.fromkeys(subgroup_columns))
    steps = Steps(progress, cancel, weights={"prepare": 1, "score": 2, "bootstrap": 6, "curves": 1,
                                             "groups": 1, "importance": 6, "dependence": 3,
                                             "contributions": 3})
    steps.start("prepare", "Checking the holdout")
    extra = subgroup_columns + ([segment_column] if segment_column else [])
    holdout = prepare_holdout(model, X, y, task=task, positive_class=positive_class,
                              extra_columns=extra)
    task = holdout.task
    notes = list(holdout.notes)

    steps.start("score", "Scoring the holdout with the model and the baseline")
    output = predict(model, holdout)
    baseline, baseline_description = _baseline(baseline, holdout, model, notes)
    base_output = predict(baseline, holdout)

    chosen, rule, reason = None, None, None
    if task == BINARY:
        if threshold is not None:
            rule = "fixed"
            chosen, reason = choose_threshold(holdout.positive, output[:, holdout.positive_index],
                                              "fixed", target_value=threshold)
        elif not holdout.positive.any() and threshold_rule in ("f1", "precision", "recall"):
            # a one-class holdout must still give a report, not an error
            rule = "fixed"
            chosen, reason = choose_threshold(holdout.positive, output[:, holdout.positive_index],
                                              "fixed")
            notes.append(f"The threshold rule '{threshold_rule}' needs positive rows and the holdout "
                         f"has none; the conventional threshold {chosen} was used instead.")
        else:
            rule = threshold_rule
            chosen, reason = choose_threshold(holdout.positive, output[:, holdout.positive_index],
                                              rule, cost_fp=cost_fp, cost_fn=cost_fn,
                                              target_value=target_value)
            if rule != "fixed":
                notes.append("The threshold was chosen on the holdout itself, so the metrics at "
                             "that threshold are slightly optimistic; their intervals do not "
                             "include the uncertainty of choosing it.")
    elif threshold is not None or threshold_rule != "f1":
        notes.append("A threshold applies to two-class models only; it was ignored"
                     + (" (the predicted class is the most probable one)." if task == MULTICLASS else "."))

    with_mape = task == REGRESSION and bool(np.all(holdout.y != 0))
    if task == REGRESSION and not with_mape:
        notes.append("MAPE is left out: the target is zero in some rows, where a percentage "
                     "error is not defined.")
    model_scorer = scorer_for(holdout, output, chosen, with_mape)
    # the baseline labels rows by its own rule (its likelier class, i.e. 0.5), not at the
    # model's threshold: at a low threshold a prior baseline would call every row positive
    # and look far worse than "always the majority class" really is
    base_scorer = scorer_for(holdout, base_output, None if chosen is None else BASELINE_THRESHOLD, with_mape)
    if chosen is not None and chosen != BASELINE_THRESHOLD:
        notes.append(f"The baseline's labels are its likelier class (threshold {BASELINE_THRESHOLD}); the "
                     f"model's are at its threshold {chosen:.3g}. Threshold-free metrics (ROC AUC, log "
                     "loss, Brier) compare the two directly.")
    names = [m for m in MAIN_METRICS[task] if with_mape or m != "mape"]
    values = point(model_scorer, holdout.n)

    steps.start("bootstrap", f"Bootstrap intervals ({n_bootstrap:,} resamples)")
    calibration_scorer = calibration_scorer_for(holdout, output)
    paired = paired_metrics(base_scorer, model_scorer, names, task, holdout.n, n_bootstrap=n_bootstrap,
                            seed=seed, more=[calibration_scorer] if calibration_scorer else [],
                            on_chunk=steps.within)
    metrics, baseline_metrics, differences = paired.second, paired.first, paired.differences
    undefined = paired.undefined_second
    calibration = calibration_estimates(calibration_scorer, holdout.n, paired.more[0] if paired.more else None)
    for name, k in undefined.items():
        if values.get(name) is None:
            continue  # undefined on the holdout itself: said once, below
        notes.append(f"{label(name, task)} was not defined in {k:,} of {n_bootstrap:,} resamples "
                     "(a resample without one of the classes, or with nothing predicted "
                     "positive); its interval uses the others" +
                     (" and is not given, as they are fewer than half." if
                      next(m for m in metrics if m.name == name).low is None else "."))
    if 0 < n_bootstrap < FEW_BOOTSTRAPS:
        notes.append(f"Only {n_bootstrap} bootstrap resamples: the interval ends are rough.")
    primary = PRIMARY[task]
    beats, verdict = _verdict(next(m for m in metrics if m.name == primary),
                              next(m for m in baseline_metrics if m.name == primary),
                              next(m for m in differences if m.name == primary), n_bootstrap)
    _undefined_notes(holdout, values, notes)

    steps.start("curves", "Curves and confusion matrix")
    classes = [str(c) for c in holdout.classes] if holdout.classes is not None else None
    confusion = None
    if task == BINARY:
        chart = curves.binary_curves(holdout.positive, output[:, holdout.positive_index], chosen)
        confusion = _confusion(holdout, output, chosen)
    elif task == MULTICLASS:
        chart = curves.multiclass_curves(holdout.y_index, output, classes)
        confusion = _confusion(holdout, output, None)
        if len(classes) > curves.MAX_CLASS_CURVES:
            notes.append(f"Curves are drawn for the first {curves.MAX_CLASS_CURVES} of "
                         f"{len(classes)} classes.")
    else:
        chart = curves.regression_curves(holdout.y, output)

    steps.start("groups", "Metrics per segment and subgroup")
    group_results = []
    for col, kind in ([(segment_column, "segment")] if segment_column else []) + \
            [(c, "subgroup") for c in subgroup_columns if c != segment_column]:
        steps.check()
        group_results.append(groups.group_report(
            model_scorer, holdout.frame[col], col, kind, n_bootstrap=n_bootstrap, seed=seed,
            classes=None if task == REGRESSION else holdout.y_index))
    for g in group_results:
        small = [x["value"] for x in g["groups"] if not x["reliable"]]
        if small:
            fewer = (f"fewer than {groups.MIN_RELIABLE_EVENTS} rows of some class"
                     if g["reliable_by"] == "events" else f"fewer than {groups.MIN_RELIABLE_ROWS} rows")
            notes.append(f"{g['column']}: {len(small)} group(s) have {fewer} ({', '.join(small[:5])}"
                         f"{'…' if len(small) > 5 else ''}); their metrics are unreliable.")
        if g["pooled_values"]:
            notes.append(f"{g['column']}: the {g['pooled_values']} rarest values are pooled as "
                         f"'{groups.OTHER}'.")

    steps.start("importance", "Permutation importance")
    importance: list[dict[str, Any]] = []
    if importance_repeats > 0:
        importance, more = inspection.importance(model, holdout, repeats=importance_repeats, seed=seed)
        notes += more
    steps.start("dependence", "Partial dependence")
    dependence: list[dict[str, Any]] = []
    if top_features > 0:
        top = [r["feature"] for r in importance[:top_features]] if importance else \
            list(holdout.X.columns[:top_features])
        dependence, more = inspection.dependence(model, holdout, top, seed=seed)
        notes += more
    steps.start("contributions", "Contributions of each column to each row's score")
    contributions: dict[str, Any] = {}
    if explainer is not None:
        from mlops_model_support.contributions import ExplainError

        from .explanations import holdout_contributions

        try:
            contributions = holdout_contributions(explainer, holdout.X, threshold=chosen, seed=seed)
        except ExplainError as exc:
            notes.append(f"No contributions per column: {exc}")
        if contributions.get("sampled"):
            notes.append(f"Contributions per column used a random sample of {contributions['rows']:,} of the "
                         f"{holdout.n:,} holdout rows (seed {seed}): this model's take long per row.")
    steps.done("Validation done")
    return ValidationReport(
        task=task, n_rows=holdout.n,
        positive_class=str(holdout.classes[holdout.positive_index]) if task == BINARY else None,
        classes=classes, metrics=metrics, baseline_metrics=baseline_metrics, beats_baseline=beats,
        baseline_verdict=verdict, threshold=chosen, threshold_rule=rule, confusion_matrix=confusion,
        curves=chart, subgroups=group_results, importance=importance, partial_dependence=dependence,
        notes=notes, differences=differences, primary_metric=primary, threshold_reason=reason,
        baseline_description=baseline_description,
        importance_metric=inspection.SCORING[task][1] if importance else "",
        n_bootstrap=n_bootstrap, seed=seed, seconds=time.perf_counter() - started,
        calibration=calibration, contributions=contributions)


def _undefined_notes(holdout: Holdout, values: dict[str, Optional[float]], notes: list[str]) -> None:
    """Say why a metric is missing, and when the holdout is too small to say much."""
    if holdout.task == REGRESSION:
        if values.get("r2") is None:
            notes.append("R² is not defined: the target is constant in the holdout.")
        if holdout.n < SMALL_HOLDOUT_ROWS:
            notes.append(f"Small holdout ({holdout.n:,} rows): the intervals are wide.")
        return
    counts = np.bincount(holdout.y_index, minlength=len(holdout.classes))
    present = counts[counts > 0]
    if holdout.task == BINARY and len(present) < 2:
        only = holdout.classes[int(np.argmax(counts))]
        notes.append(f"The holdout holds one class only ({str(only)!r}): ROC AUC, PR AUC and "
                     "the curves are not defined, and the model cannot be compared with the "
                     "baseline on ROC AUC.")
    elif holdout.task == MULTICLASS and len(present) < len(holdout.classes):
        absent = [str(c) for c, k in zip(holdout.classes, counts) if k == 0]
        notes.append(f"The holdout has no rows of {', '.join(map(repr, absent))}: the one-vs-rest "
                     "averages of ROC AUC and PR AUC are not defined.")
    if holdout.n < SMALL_HOLDOUT_ROWS or present.min() < SMALL_CLASS_ROWS:
        notes.append(f"Small holdout ({holdout.n:,} rows, {int(present.min()):,} in the rarest "
                     "class present): the intervals are wide.")
