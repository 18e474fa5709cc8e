"""Training one model family on prepared rows: search and cross-validate, fit the
chosen setting on the whole training part, score the holdout. With segmentation,
the same per segment (in parallel) plus a global fallback, assembled into one
:class:`~.estimators.SegmentRouter`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import numpy as np
import pandas as pd

from ..plain import json_safe
from . import metrics
from .cv import FoldPredictions, fit_quietly, predict_for_metrics
from .errors import TrainError
from .families import Family
from .prepare import PreparedData, make_folds
from .preprocess import build_pipeline, model_parameters, model_step
from .search import FIT_ERRORS, FamilyFailed, SearchOutcome, search

FALLBACK = "(fallback)"


@dataclass
class FamilyResult:
    """A family's outcome: its metrics, its chosen setting and the fitted model."""

    family: Family
    status: str                                   # succeeded | failed
    error: Optional[str] = None
    cv: dict[str, Any] = field(default_factory=dict)
    holdout: Optional[dict[str, Optional[float]]] = None
    #: the setting chosen by the search (reproduction applies exactly this)
    params: dict[str, Any] = field(default_factory=dict)
    #: every parameter of the fitted estimator (for the record)
    model_params: dict[str, Any] = field(default_factory=dict)
    trials: list[dict[str, Any]] = field(default_factory=list)
    segments: Optional[list[dict[str, Any]]] = None
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    model: Any = None
    #: predictions on the holdout (or on the training rows without a holdout)
    evaluation: Optional[np.ndarray] = None
    prediction_sha256: Optional[str] = None
    #: the cross-validation's predictions of each training row by a model not fitted on it
    out_of_fold: Optional[np.ndarray] = None

    def to_dict(self) -> dict[str, Any]:
        """One candidate as a run records it: family, status or error, cross-validated and
        holdout metrics, settings chosen, the search's trials, segments, notes and its
        predictions' digest."""
        return json_safe({
            "family": self.family.name, "label": self.family.label, "status": self.status,
            "error": self.error, "cv": self.cv, "holdout": self.holdout,
            "hyperparameters": self.params, "model_parameters": self.model_params,
            "candidates_evaluated": len(self.trials), "search": self.trials,
            "segments": self.segments, "notes": self.notes, "seconds": round(self.seconds, 3),
            "prediction_sha256": self.prediction_sha256,
        })


@dataclass
class Plan:
    """How hard a family works: the search size and budget, the workers, and (for a
    reproduction) the exact setting to use."""

    candidates: int
    time_budget_s: Optional[float]
    n_jobs: int
    fixed: Optional[dict[str, Any]] = None


def fit_family(prep: PreparedData, family: Family, plan: Plan, *,
               on_progress: Callable[[float, str], None], segmented: Optional[bool] = None) -> FamilyResult:
    """Train ``family`` (per segment when the spec segments, unless ``segmented`` is
    False); a failure caused by the data or settings (every candidate failed) is
    returned as a failed result, anything else propagates."""
    started = time.monotonic()
    if segmented is None:
        segmented = bool(prep.spec.segment_by)
    try:
        if segmented:
            result = _fit_segmented(prep, family, plan, on_progress)
        else:
            result = _fit_global(prep, family, plan, on_progress)
    except FamilyFailed as exc:
        result = FamilyResult(family, "failed", error=str(exc))
    except FIT_ERRORS as exc:  # the final fit failed where the folds did not
        result = FamilyResult(family, "failed", error=" ".join(str(exc).split()))
    result.seconds = time.monotonic() - started
    return result


def _template(prep: PreparedData, family: Family) -> Any:
    """The unfitted pipeline; a linear model's reference levels are the most frequent in
    the training rows."""
    from .families import LINEAR
    from .preprocess import reference_levels

    spec = prep.spec
    categorical = prep.choice.categorical
    # the level a linear model leaves out is the most frequent one (Check's rule); a model
    # per segment is fitted on that segment's rows, where the overall most frequent level
    # may be rare (grouped away), so segments keep the encoder's default (the first level);
    # a formula names its own reference levels
    reference = (reference_levels(prep.X_train, categorical)
                 if family.style == LINEAR and categorical and not spec.segment_by and spec.formula is None
                 else None)
    return build_pipeline(family, prep.choice.numeric, categorical, seed=spec.seed,
                          robust=spec.robust_errors, options=spec.preprocessing, reference=reference,
                          formula=spec.formula, retransform=spec.retransform, ordered=prep.orders)


def _final_fit(template: Any, family: Family, params: dict[str, Any], X: pd.DataFrame,
               y: np.ndarray, n_jobs: int) -> tuple[Any, list[str]]:
    from sklearn.base import clone

    model = clone(template)
    model.set_params(**model_parameters(model, params))
    if family.parallel_fit:
        model.set_params(**model_parameters(model, {"n_jobs": n_jobs}))
    return fit_quietly(model, X, y)


def _evaluation_rows(prep: PreparedData) -> tuple[pd.DataFrame, np.ndarray]:
    """The holdout, or the training rows when there is none (then only for the hash)."""
    if len(prep.holdout_rows):
        return prep.X_holdout, prep.y_holdout
    return prep.X_train, prep.y_train


def _model_params(model: Any) -> dict[str, Any]:
    return json_safe(model_step(model).get_params(deep=False))


def _fit_global(prep: PreparedData, family: Family, plan: Plan,
                on_progress: Callable[[float, str], None]) -> FamilyResult:
    template = _template(prep, family)
    outcome = search(template, family.space, prep.X_train, prep.y_train, prep.folds, prep.task,
                     prep.classes, candidates=plan.candidates, time_budget_s=plan.time_budget_s,
                     seed=prep.spec.seed, fixed=plan.fixed, n_jobs=plan.n_jobs,
                     rank_by=prep.spec.ranking_metric,
                     on_progress=lambda f: on_progress(0.9 * f, f"{family.label}: cross-validation"))
    on_progress(0.9, f"{family.label}: fitting on the training part")
    model, fit_warnings = _final_fit(template, family, outcome.best_params, prep.X_train,
                                     prep.y_train, plan.n_jobs)
    from .coefficients import fit_warning

    note = fit_warning(model)
    result = FamilyResult(family, "succeeded", cv=outcome.cv, params=outcome.best_params,
                          model_params=_model_params(model),
                          trials=[t.to_dict() for t in outcome.trials],
                          notes=_merge(outcome.notes, fit_warnings, [note] if note else []), model=model,
                          out_of_fold=outcome.folds.predictions)
    _score(prep, result)
    return result


def _score(prep: PreparedData, result: FamilyResult) -> None:
    X_eval, y_eval = _evaluation_rows(prep)
    predicted = predict_for_metrics(result.model, X_eval, prep.classes)
    result.evaluation = predicted
    result.prediction_sha256 = metrics.prediction_hash(predicted)
    if len(prep.holdout_rows):
        result.holdout = metrics.compute(prep.task, y_eval, predicted, prep.classes)


def _merge(*lists: list[str]) -> list[str]:
    out: list[str] = []
    for items in lists:
        out += [m for m in items if m not in out]
    return out


# -- segments ------------------------------------------------------------------------------------

@dataclass
class _SegmentOutcome:
    key: str
    rows: np.ndarray                      # positions in the training part
    model: Any = None
    search: Optional[SearchOutcome] = None
    warnings: list[str] = field(default_factory=list)
    error: Optional[str] = None


def _segment_job(key: str, rows: np.ndarray, template: Any, family: Family, X: pd.DataFrame,
                 y: np.ndarray, folds: Any, task: str, classes: Optional[np.ndarray], seed: int,
                 candidates: int, budget: Optional[float], fixed: Optional[dict[str, Any]],
                 rank_by: Optional[str]) -> _SegmentOutcome:
    """Search, cross-validate and fit one segment (runs in a worker process)."""
    try:
        outcome = search(template, family.space, X, y, folds, task, classes, candidates=candidates,
                         time_budget_s=budget, seed=seed, fixed=fixed, rank_by=rank_by)
        model, fit_warnings = _final_fit(template, family, outcome.best_params, X, y, 1)
    except FamilyFailed as exc:
        return _SegmentOutcome(key, rows, error=str(exc))
    except FIT_ERRORS as exc:
        return _SegmentOutcome(key, rows, error=" ".join(str(exc).split()))
    return _SegmentOutcome(key, rows, model, outcome, fit_warnings)


def _fit_segmented(prep: PreparedData, family: Family, plan: Plan,
                   on_progress: Callable[[float, str], None]) -> FamilyResult:
    from .estimators import SegmentRouter, segment_keys

    spec = prep.spec
    column = spec.segment_by
    X, y = prep.X_train, prep.y_train
    keys = segment_keys(X[column])
    counts = pd.Series(keys).dropna().value_counts()
    notes: list[str] = []
    big = [k for k, n in counts.items() if n >= spec.min_segment_rows]
    small = [k for k in counts.index if k not in big]
    if prep.classes is not None:
        single = [k for k in big if len(np.unique(y[keys == k])) < 2]
        if single:
            notes.append(f"Segment(s) {', '.join(single)} hold a single class; their rows use the "
                         "fallback model.")
            big = [k for k in big if k not in single]
    fixed = plan.fixed or {}
    n_parts = len(big) + 1
    budget = None if plan.time_budget_s is None else plan.time_budget_s / n_parts
    template = _template(prep, family)

    # the fallback first, on every training row, with its folds in parallel
    on_progress(0.0, f"{family.label}: fallback model (all rows)")
    outcome = search(template, family.space, X, y, prep.folds, prep.task, prep.classes,
                     candidates=plan.candidates, time_budget_s=budget, seed=spec.seed,
                     fixed=fixed.get("fallback") if plan.fixed is not None else None,
                     n_jobs=plan.n_jobs, rank_by=spec.ranking_metric,
                     on_progress=lambda f: on_progress(f / n_parts * 0.9, f"{family.label}: fallback model"))
    fallback, fallback_warnings = _final_fit(template, family, outcome.best_params, X, y, plan.n_jobs)
    notes = _merge(notes, outcome.notes, fallback_warnings)
    pooled = FoldPredictions(outcome.folds.predictions.copy(), outcome.folds.fold_of.copy(), [])

    # then the segments, in parallel, each searched on its own rows
    jobs = []
    groups = prep.groups_train
    for key in big:
        rows = np.flatnonzero(keys == key)
        try:
            folds, _ = make_folds(prep.split.kind, prep.task, spec.cv_folds, spec.seed, y[rows],
                                  None if groups is None else groups[rows])
        except TrainError as exc:
            notes.append(f"Segment {key} uses the fallback model: {exc}")
            continue
        segment_fixed = None
        if plan.fixed is not None:
            segment_fixed = fixed.get("segments", {}).get(key)
            if segment_fixed is None:
                notes.append(f"Segment {key} had no model in the recorded run; it uses the fallback.")
                continue
        jobs.append((key, rows, template, family, X.iloc[rows], y[rows], folds, prep.task,
                     prep.classes, spec.seed, plan.candidates, budget, segment_fixed, spec.ranking_metric))
    outcomes = []
    if plan.n_jobs > 1 and len(jobs) > 1:
        from joblib import Parallel, delayed

        results = Parallel(n_jobs=plan.n_jobs, return_as="generator")(
            delayed(_segment_job)(*job) for job in jobs)
    else:
        results = (_segment_job(*job) for job in jobs)
    try:
        for i, done in enumerate(results):
            outcomes.append(done)
            on_progress((1 + (i + 1) / max(len(jobs), 1) * (n_parts - 1)) / n_parts * 0.95,
                        f"{family.label}: segment {done.key} done ({i + 1} of {len(jobs)})")
    finally:
        close = getattr(results, "close", None)
        if close is not None:
            close()

    pipelines: dict[str, Any] = {}
    per_segment: dict[str, _SegmentOutcome] = {}
    for done in outcomes:
        if done.error:
            notes.append(f"Segment {done.key} uses the fallback model: {done.error}")
            continue
        pipelines[done.key] = done.model
        per_segment[done.key] = done
        pooled.predictions[done.rows] = done.search.folds.predictions
        pooled.fold_of[done.rows] = done.search.folds.fold_of
        notes = _merge(notes, [f"Segment {done.key}: {w}" for w in done.search.notes + done.warnings])
    if not pipelines:
        raise FamilyFailed(f"No segment of {column} could be trained; see the notes.")

    fold_metrics = []
    for f in range(spec.cv_folds):
        rows = np.flatnonzero(pooled.fold_of == f)
        if len(rows):
            fold_metrics.append(metrics.compute(prep.task, y[rows], pooled.predictions[rows], prep.classes))
    router = SegmentRouter.from_fitted(column, pipelines, fallback,
                                       segment_rows={k: int(n) for k, n in counts.items()},
                                       min_rows=spec.min_segment_rows)
    params = {"fallback": outcome.best_params,
              "segments": {k: o.search.best_params for k, o in per_segment.items()}}
    result = FamilyResult(family, "succeeded", cv=metrics.summarise(fold_metrics, prep.task),
                          params=params, model_params=_model_params(fallback),
                          trials=[t.to_dict() for t in outcome.trials], notes=notes, model=router,
                          out_of_fold=pooled.predictions)
    _score(prep, result)
    result.segments = _segment_table(prep, router, result.evaluation, per_segment, outcome, counts, small)
    on_progress(1.0, f"{family.label}: done")
    return result


def _segment_table(prep: PreparedData, router: Any, evaluation: np.ndarray, per_segment: dict[str, Any],
                   fallback: SearchOutcome, counts: pd.Series, small: list[str]) -> list[dict[str, Any]]:
    """One row per segment model and one for the fallback: rows, setting, CV and holdout."""
    holdout_routes = router.routes(prep.X_holdout) if len(prep.holdout_rows) else np.empty(0, object)
    y_holdout = prep.y_holdout
    predicted = evaluation if len(prep.holdout_rows) else None

    def holdout_for(mask: np.ndarray) -> Optional[dict[str, Optional[float]]]:
        if predicted is None or not mask.any():
            return None
        return metrics.compute(prep.task, y_holdout[mask], predicted[mask], prep.classes)

    rows = []
    for key in sorted(per_segment, key=lambda k: (-int(counts[k]), k)):
        done = per_segment[key]
        mask = holdout_routes == key
        rows.append({"segment": key, "model": "segment", "train_rows": int(counts[key]),
                     "holdout_rows": int(mask.sum()), "hyperparameters": done.search.best_params,
                     "cv": done.search.cv, "holdout": holdout_for(mask)})
    routed = [k for k in counts.index if k not in per_segment]
    mask = np.array([r is None for r in holdout_routes], dtype=bool)
    rows.append({"segment": FALLBACK, "model": "fallback", "train_rows": int(len(prep.train_rows)),
                 "holdout_rows": int(mask.sum()), "hyperparameters": fallback.best_params,
                 "cv": fallback.cv, "holdout": holdout_for(mask),
                 "serves": sorted(routed) + ["missing or unseen values"],
                 "small_segments": sorted(small)})
    return json_safe(rows)
