"""Running the checks that matter for a task, with progress and cancel."""

from __future__ import annotations

from typing import Callable, Optional

import numpy as np
import pandas as pd

from ..jobs import CancelToken, ProgressCallback, Steps, no_progress
from . import categories, classification, collinearity, regression, rules, suggestions, time_order
from .ols import fit as ols_fit
from .prepare import prepare
from .result import NOT_APPLICABLE, CheckReport, CheckResult

REGRESSION_CHECKS = ("obs_per_parameter", "vif", "linearity_reset", "normality_residuals",
                     "heteroscedasticity", "influence", "independence", "rare_categories")
CLASSIFICATION_CHECKS = ("class_balance", "events_per_variable", "separation", "vif",
                         "linearity_logit", "rare_categories")
TIME_CHECKS = ("stationarity", "time_leakage")
#: every check id, with its name
CHECK_NAMES = {
    "obs_per_parameter": regression.OPP_NAME, "vif": collinearity.NAME,
    "linearity_reset": regression.RESET_NAME, "normality_residuals": regression.NORM_NAME,
    "heteroscedasticity": regression.HET_NAME, "influence": regression.INF_NAME,
    "independence": regression.IND_NAME, "rare_categories": categories.NAME,
    "class_balance": classification.BAL_NAME, "events_per_variable": classification.EPV_NAME,
    "separation": classification.SEP_NAME, "linearity_logit": classification.BT_NAME,
    "stationarity": time_order.ST_NAME, "time_leakage": time_order.LK_NAME,
}
CHECK_IDS = tuple(CHECK_NAMES)

# numerical trouble in one check makes that check not applicable, not the whole run
_NUMERICAL_ERRORS = (np.linalg.LinAlgError, FloatingPointError, ZeroDivisionError, ValueError)


def _guard(check_id: str, run: Callable[[], CheckResult]) -> CheckResult:
    try:
        with np.errstate(all="ignore"):
            return run()
    except _NUMERICAL_ERRORS as exc:
        return CheckResult(check_id, CHECK_NAMES[check_id], "See the check's description.",
                           NOT_APPLICABLE,
                           decided_by=f"could not be computed on this data ({exc})",
                           action="Nothing to do for this check; see the reason.")


def run_checks(df: pd.DataFrame, target: str, *, task: Optional[str] = None,
               features: Optional[list[str]] = None, time_column: Optional[str] = None,
               kinds: Optional[dict[str, str]] = None, formula: Optional[str] = None,
               progress: ProgressCallback = no_progress,
               cancel: Optional[CancelToken] = None) -> CheckReport:
    """Run the assumption checks for ``target`` and return a :class:`CheckReport`.

    ``task`` is "regression" or "classification" (inferred when None); ``features``
    defaults to every column except the target, the time column and columns of kind
    id, text, constant or datetime; ``kinds`` maps column names to the dataset's column
    kinds. ``formula`` (``log(wage) ~ education + poly(experience, 2)``) makes the design
    the model's: its terms, its transformed target, its columns as the features. Raises
    :class:`CheckError`, :class:`NotFoundError` or :class:`InvalidChoiceError` when no
    check can run.
    """
    if cancel is not None:
        cancel.check()
    progress(0.0, "Preparing the data")
    prep = prepare(df, target, task=task, features=features, time_column=time_column, kinds=kinds,
                   formula=formula)
    ids = list(REGRESSION_CHECKS if prep.task == "regression" else CLASSIFICATION_CHECKS)
    if prep.time_column is not None:
        ids += TIME_CHECKS

    def scaled(fraction: Optional[float], message: str) -> None:
        progress(None if fraction is None else 0.1 + 0.9 * fraction, message)

    steps = Steps(scaled, cancel, weights={"fit": 1, **{i: 1 for i in ids}})
    steps.start("fit", "Fitting the linear model")
    fit = ols_fit(prep.X, prep.y.astype(float), prep.columns)

    notes = list(prep.notes)
    if prep.n_used >= rules.LARGE_SAMPLE:
        notes.append(f"With {prep.n_used:,} rows almost every test rejects, even for departures "
                     "too small to matter; verdicts therefore rest on effect sizes, as each "
                     "check's 'decided by' says.")
    elif prep.n_used < rules.SMALL_SAMPLE:
        notes.append(f"With only {prep.n_used} rows the tests have little power: an 'ok' verdict "
                     "is weak evidence, and only large departures show.")
    if fit.aliased:
        notes.append("Left out of the fit, being exact combinations of other columns: "
                     + ", ".join(prep.columns[j] for j in fit.aliased)
                     + " (see the multicollinearity check).")

    separated = False
    checks: dict[str, Callable[[], CheckResult]] = {
        "obs_per_parameter": lambda: regression.obs_per_parameter(prep),
        "vif": lambda: collinearity.check(prep, fit),
        "linearity_reset": lambda: regression.linearity_reset(prep, fit),
        "normality_residuals": lambda: regression.normality_residuals(prep, fit),
        "heteroscedasticity": lambda: regression.heteroscedasticity(prep, fit),
        "influence": lambda: regression.influence(prep, fit),
        "independence": lambda: regression.independence(prep, fit),
        "rare_categories": lambda: categories.check(prep),
        "class_balance": lambda: classification.class_balance(prep),
        "events_per_variable": lambda: classification.events_per_variable(prep),
        "separation": lambda: classification.separation(prep, fit),
        "linearity_logit": lambda: classification.linearity_logit(prep, fit, separated),
        "stationarity": lambda: time_order.stationarity(prep),
        "time_leakage": lambda: time_order.time_leakage(prep),
    }
    results: list[CheckResult] = []
    for check_id in ids:
        steps.start(check_id, f"Checking: {CHECK_NAMES[check_id]}")
        result = _guard(check_id, checks[check_id])
        if check_id == "separation":
            separated = classification.any_separation(result)
        results.append(result)
    suggestions.attach(prep, fit, results)
    steps.done("Checks done")
    return CheckReport(target=prep.target, task=prep.task, task_inferred=prep.task_inferred,
                       features=prep.features, time_column=prep.time_column, n_rows=prep.n_rows,
                       n_used=prep.n_used, n_dropped_missing=prep.n_dropped_missing,
                       checks=results, notes=notes, design_columns=list(prep.columns),
                       formula=prep.formula, target_label=prep.target_label)
