"""The hyperparameter search of one family: its default settings first, then up to
N settings drawn at random (seeded) from the family's ranges, each cross-validated,
until the candidates or the time budget run out. The best by the primary metric's
cross-validated mean wins (the earliest among equals).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import numpy as np
import pandas as pd

from . import metrics
from .cv import FoldPredictions, Folds, cross_validate

#: errors a candidate's own data or settings can cause: the candidate fails, the run goes on
FIT_ERRORS = (ValueError, np.linalg.LinAlgError, ArithmeticError)


class FamilyFailed(Exception):
    """Every candidate of a family failed; the message says why (the first failure)."""


@dataclass
class Trial:
    """One candidate setting and its cross-validated metrics."""

    params: dict[str, Any]
    cv: dict[str, dict[str, Optional[float]]] = field(default_factory=dict)
    error: Optional[str] = None
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """One trial as the run records it: its settings, cross-validated metrics or error,
        and time."""
        return {"params": self.params, "cv": self.cv, "error": self.error,
                "seconds": round(self.seconds, 3)}


@dataclass
class SearchOutcome:
    """The trials of a hyperparameter search, which one won, and its out-of-fold predictions."""
    trials: list[Trial]
    best: int
    folds: FoldPredictions
    notes: list[str] = field(default_factory=list)

    @property
    def best_params(self) -> dict[str, Any]:
        """The settings of the best trial."""
        return self.trials[self.best].params

    @property
    def cv(self) -> dict[str, dict[str, Optional[float]]]:
        """The best trial's cross-validated metrics (per metric, its mean and standard
        deviation over the folds)."""
        return self.trials[self.best].cv


def plain(value: Any) -> Any:
    """A sampled setting as plain JSON-able Python (numpy scalars become numbers)."""
    if isinstance(value, np.generic):
        return value.item()
    return value


def candidate_settings(space: dict[str, Any], n: int, seed: int) -> list[dict[str, Any]]:
    """The defaults ({}), then ``n`` settings drawn from ``space`` with ``seed``."""
    import warnings

    from sklearn.model_selection import ParameterSampler

    if not space or n <= 0:
        return [{}]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # a small grid gives fewer than n: fine
        drawn = list(ParameterSampler(space, n_iter=n, random_state=seed))
    return [{}] + [{k: plain(v) for k, v in sorted(d.items())} for d in drawn]


def search(template: Any, space: dict[str, Any], X: pd.DataFrame, y: np.ndarray, folds: Folds,
           task: str, classes: Optional[np.ndarray], *, candidates: int,
           time_budget_s: Optional[float], seed: int, fixed: Optional[dict[str, Any]] = None,
           n_jobs: int = 1, rank_by: Optional[str] = None,
           on_progress: Callable[[float], None] = lambda f: None) -> SearchOutcome:
    """Cross-validate the candidate settings of ``template`` (a pipeline whose last step
    is ``model``) and keep the best by ``rank_by`` (default: the primary metric).
    ``fixed`` evaluates exactly that one setting (reproduction).
    Raises :class:`FamilyFailed` when no candidate could be fitted."""
    from sklearn.base import clone

    from .preprocess import model_parameters

    settings = [fixed] if fixed is not None else candidate_settings(space, candidates, seed)
    primary = metrics.ranking_metric(task, rank_by)
    notes: list[str] = []
    trials: list[Trial] = []
    best, best_folds = -1, None
    started = time.monotonic()
    units = max(len(settings) * len(folds), 1)
    for i, params in enumerate(settings):
        if i > 0 and time_budget_s is not None and time.monotonic() - started >= time_budget_s:
            notes.append(f"The search stopped at its time budget ({time_budget_s:g} s) after "
                         f"{i} of {len(settings)} candidates.")
            break
        t0 = time.monotonic()
        model = clone(template)
        model.set_params(**model_parameters(model, params))
        try:
            result = cross_validate(model, X, y, folds, task, classes, n_jobs=n_jobs,
                                    on_fold=lambda k, i=i: on_progress((i * len(folds) + k + 1) / units))
        except FIT_ERRORS as exc:
            trials.append(Trial(params, error=_message(exc), seconds=time.monotonic() - t0))
            continue
        trial = Trial(params, metrics.summarise(result.fold_metrics, task), seconds=time.monotonic() - t0)
        trials.append(trial)
        notes += [w for w in result.warnings if w not in notes]
        if best < 0 or metrics.better(trial.cv[primary]["mean"], trials[best].cv[primary]["mean"], primary):
            best, best_folds = len(trials) - 1, result
    if best_folds is None:
        raise FamilyFailed(next(t.error for t in trials if t.error))
    return SearchOutcome(trials, best, best_folds, notes)


def _message(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 400 else text[:397] + "..."
