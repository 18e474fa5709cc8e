"""Checks whose advice is a term: the formula that follows the advice, ready to apply.

A check that ends in a verdict tells the analyst to log-transform the target or to add
a square or a spline; here that advice becomes a formula (``log(wage) ~ …``,
``poly(experience, 2)``) that Check runs again and Train fits, so the checks end in a
better model. Each suggestion is attached to its check's result
(:attr:`CheckResult.suggestion`) and stored with the run; :func:`compare` sets a run and
the run with the suggestion applied side by side.

- normality of residuals, constant spread (regression): model the log of a positive
  target (log1p when it has zeros, Yeo–Johnson when it goes below zero);
- linearity (RESET): the numeric feature whose square explains most of what the fit
  leaves over, as an orthogonal polynomial ``poly(x, 2)``;
- linearity of the logit (Box–Tidwell): the most curved feature as a natural spline
  ``ns(x, df=3)``;
- multicollinearity: ``x`` and ``I(x ** 2)`` (or ``x ** 3``) as ``poly(x, k)``, whose
  columns are orthogonal, so their VIF is 1.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any, Optional

import numpy as np

from .ols import LinearFit
from .prepare import Prepared
from .result import OK, PROBLEM, WARNING, CheckReport, CheckResult

_POWER = re.compile(r"^I\((?P<x>.+?) \*\* (?P<k>[23])\)$")


@dataclass
class TermSuggestion:
    """A check's advice as a formula."""

    check_id: str
    #: what applying it does, in the analyst's words
    label: str
    #: the formula with the advice applied
    formula: str
    #: the formula it changes
    before: str

    def to_dict(self) -> dict[str, Any]:
        """The suggestion's fields as a plain dict."""
        return asdict(self)


def formula_of(prep: Prepared) -> Any:
    """The checks' design as a parsed formula: the one given, or ``target ~ features``."""
    from mlops_model_support.terms import quoted, written

    from ..train.formula import parse_formula

    text = prep.formula or written(quoted(prep.target), [quoted(f) for f in prep.features])
    return parse_formula(text)


def attach(prep: Prepared, fit: LinearFit, results: list[CheckResult]) -> None:
    """Set the suggestion of each result whose advice is a term (warnings and problems)."""
    current = formula_of(prep)
    for result in results:
        if result.verdict not in (WARNING, PROBLEM):
            continue
        found = _suggest(result, prep, fit, current)
        if found is not None and found.formula != current.text:
            result.suggestion = found.to_dict()


def _suggest(result: CheckResult, prep: Prepared, fit: LinearFit, current: Any) -> Optional[TermSuggestion]:
    if result.id in ("normality_residuals", "heteroscedasticity") and prep.task == "regression":
        return _target_transform(result, prep, current)
    if result.id == "linearity_reset":
        return _curved(result, prep, fit, current)
    if result.id == "linearity_logit":
        flagged = [r for r in result.figures.get("per_feature") or [] if r["feature"] in current.terms]
        if flagged:
            worst = min(flagged, key=lambda r: r["p_value"])["feature"]
            return _replaced(result, current, worst, [f"ns({worst}, df=3)"],
                             f"Model {worst} as a natural spline, ns({worst}, df=3)")
        return None
    if result.id == "vif":
        return _orthogonal_powers(result, current)
    return None


def _target_transform(result: CheckResult, prep: Prepared, current: Any) -> Optional[TermSuggestion]:
    from mlops_model_support.terms import quoted, written

    if current.target_transform is not None:
        return None  # the target is transformed already: the advice is not a term
    low = float(np.min(prep.y))
    name = "log" if low > 0 else ("log1p" if low >= 0 else "yeojohnson")
    target = quoted(prep.target)
    why = {"log": "", "log1p": f" ({prep.target} has zeros, so log(1 + {prep.target}))",
           "yeojohnson": f" ({prep.target} goes below zero, so the Yeo–Johnson transformation)"}[name]
    return TermSuggestion(result.id, f"Model {name}({prep.target}) instead of {prep.target}{why}; "
                                     "predictions still come back in its units",
                          written(f"{name}({target})", list(current.terms)), current.text)


def _curved(result: CheckResult, prep: Prepared, fit: LinearFit, current: Any) -> Optional[TermSuggestion]:
    """The numeric term whose centred square, made orthogonal to the design, takes most
    out of the residual sum of squares."""
    best, gain = None, 0.0
    for j, term in enumerate(prep.column_feature):
        if prep.kinds.get(term) != "numeric" or term not in current.terms or j not in fit.kept:
            continue
        x = prep.X[:, j]
        if len(np.unique(x)) <= 2:
            continue
        w = (x - x.mean()) ** 2
        w = w - w.mean()
        if fit.Q.shape[1]:
            w = w - fit.Q @ (fit.Q.T @ w)
        size = float(w @ w)
        if size <= 1e-12 * float(np.sum((x - x.mean()) ** 4)):
            continue
        explained = float(w @ fit.resid) ** 2 / size
        if explained > gain:
            best, gain = term, explained
    if best is None:
        return None
    return _replaced(result, current, best, [f"poly({best}, 2)"],
                     f"Let {best} bend: an orthogonal polynomial, poly({best}, 2)")


def _orthogonal_powers(result: CheckResult, current: Any) -> Optional[TermSuggestion]:
    """``x + I(x ** 2)`` (and ``I(x ** 3)``) as ``poly(x, k)``, when they are the collinear ones."""
    high = {r["feature"] for r in result.figures.get("vif_per_feature") or []
            if r["vif"] >= result.figures.get("thresholds", {}).get("warning", np.inf)}
    for term in current.terms:
        matched = _POWER.match(term)
        if matched is None or term not in high:
            continue
        x = matched["x"]
        powers = [t for t in current.terms if (m := _POWER.match(t)) and m["x"] == x]
        degree = max(int(_POWER.match(t)["k"]) for t in powers)
        old = [x, *powers] if x in current.terms else powers
        terms = _without(current.terms, old[1:])
        new = f"poly({x}, {degree})"
        return _replaced(result, _with_terms(current, terms), old[0], [new],
                         f"Replace {' + '.join(old)} by {new}, whose columns are orthogonal (VIF 1)")
    return None


def _without(terms: tuple[str, ...], drop: list[str]) -> tuple[str, ...]:
    return tuple(t for t in terms if t not in drop)


def _with_terms(current: Any, terms: tuple[str, ...]) -> Any:
    from dataclasses import replace

    return replace(current, terms=terms)


def _replaced(result: CheckResult, current: Any, old: str, new: list[str], label: str) -> TermSuggestion:
    from mlops_model_support.terms import written

    terms: list[str] = []
    for term in current.terms:
        if term == old:
            terms += [t for t in new if t not in terms]
        elif term not in new:
            terms.append(term)
    return TermSuggestion(result.id, label, written(current.lhs(), terms), current.text)


# -- before and after -----------------------------------------------------------------------------

@dataclass
class CheckChange:
    """One check before and after a formula changed."""

    check_id: str
    name: str
    before: Optional[str]        # verdict, None when the check did not run
    after: Optional[str]
    figure_name: Optional[str]
    figure_before: Optional[float]
    figure_after: Optional[float]

    @property
    def better(self) -> bool:
        """Whether the verdict improved (problem < warning < ok; a missing verdict ranks
        lowest)."""
        order = {PROBLEM: 0, WARNING: 1, OK: 2}
        return order.get(self.after or "", -1) > order.get(self.before or "", -1)


def compare(before: CheckReport, after: CheckReport) -> list[CheckChange]:
    """Each check of either run, its verdict and its main figure before and after."""
    out = []
    ids = list(dict.fromkeys([c.id for c in before.checks] + [c.id for c in after.checks]))
    for check_id in ids:
        a = next((c for c in before.checks if c.id == check_id), None)
        b = next((c for c in after.checks if c.id == check_id), None)
        shown = a or b
        name, value_a = _figure(a)
        _, value_b = _figure(b)
        out.append(CheckChange(check_id, shown.name, a.verdict if a else None, b.verdict if b else None,
                               name or _figure(b)[0], value_a, value_b))
    return out


def _figure(check: Optional[CheckResult]) -> tuple[Optional[str], Optional[float]]:
    if check is None:
        return None, None
    for name, value in ((check.effect_name, check.effect), (check.statistic_name, check.statistic)):
        if value is not None:
            return name, value
    return None, None
