"""Checks for a classification target: class balance, events per variable,
(quasi-)complete separation, and linearity of the logit (Box–Tidwell)."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Optional

import numpy as np
from scipy import stats

from .. import numbers
from . import rules
from .ols import LinearFit
from .prepare import Prepared
from .result import NOT_APPLICABLE, OK, PROBLEM, WARNING, CheckResult

# -- class balance ------------------------------------------------------------------------

BAL_ID, BAL_NAME = "class_balance", "Class balance"
BAL_WHY = ("With a rare class, accuracy looks good while the model ignores that class, and a "
           "random split may leave few of its rows for testing.")


def class_counts(prep: Prepared) -> np.ndarray:
    """The number of rows in each class of the target, in the order of ``prep.classes``."""
    return np.bincount(prep.y, minlength=len(prep.classes))


def class_balance(prep: Prepared) -> CheckResult:
    """How evenly the rows are spread over the target's classes (smallest against largest)."""
    counts = class_counts(prep)
    n = int(counts.sum())
    smallest, largest = int(counts.min()), int(counts.max())
    ratio = smallest / largest
    rare = prep.classes[int(counts.argmin())]
    tested = "How evenly the rows are spread over the classes of the target."
    figures = {"classes": [{"class": c, "rows": int(k), "share": k / n}
                           for c, k in zip(prep.classes, counts)],
               "smallest_class": rare, "smallest_rows": smallest, "ratio_smallest_to_largest": ratio,
               "thresholds": {"problem_below_rows": rules.MIN_CLASS_ROWS,
                              "warning_below_ratio": rules.CLASS_RATIO_WARNING}}
    if smallest < rules.MIN_CLASS_ROWS:
        verdict = PROBLEM
    elif ratio < rules.CLASS_RATIO_WARNING:
        verdict = WARNING
    else:
        verdict = OK
    decided = (f"cut-offs: the smallest class ({rare!r}) has {smallest:,} rows, {numbers.value(ratio)} times "
               f"the largest; fewer than {rules.MIN_CLASS_ROWS} rows is a problem, a ratio below "
               f"{rules.CLASS_RATIO_WARNING} a warning")
    if verdict == PROBLEM:
        action = (f"Collect more rows of {rare!r} or merge it with a similar class; with so few "
                  "rows it can be neither learnt nor validated.")
    elif verdict == WARNING:
        action = ("Use a stratified split, judge the model on recall, precision or PR-AUC for the "
                  "rare class, and consider class weights.")
    else:
        action = "Nothing to do; a stratified split still keeps the shares equal in every part."
    chart = {"kind": "bars", "title": "Rows per class", "x": [str(c) for c in prep.classes],
             "y": counts.tolist(), "labels": [str(c) for c in prep.classes], "x_label": "class",
             "y_label": "rows", "reference": {"problem_below": rules.MIN_CLASS_ROWS}}
    return CheckResult(BAL_ID, BAL_NAME, tested, verdict, effect=ratio,
                       effect_name="smallest-to-largest class ratio", decided_by=decided,
                       why=BAL_WHY, action=action, figures=figures, chart=chart)


# -- events per variable ---------------------------------------------------------------------

EPV_ID, EPV_NAME = "events_per_variable", "Events per variable"
EPV_WHY = ("Too few events per coefficient make a logistic model overfit: coefficients are "
           "biased away from zero and predicted probabilities too extreme.")


def events_per_variable(prep: Prepared) -> CheckResult:
    """Whether the smallest class has enough rows for the coefficients a logistic model estimates."""
    counts = class_counts(prep)
    events = int(counts.min())
    k = len(prep.columns)
    tested = ("Whether the smallest class has enough rows for the number of coefficients "
              "(design columns, intercept excluded) a logistic model estimates.")
    epv = events / k if k else None
    figures = {"events": events, "event_class": prep.classes[int(counts.argmin())],
               "candidate_parameters": k,
               "thresholds": {"warning_below": rules.EVENTS_PER_VARIABLE[0],
                              "problem_below": rules.EVENTS_PER_VARIABLE[1]}}
    if epv is None:
        verdict = OK
    elif epv < rules.EVENTS_PER_VARIABLE[1]:
        verdict = PROBLEM
    elif epv < rules.EVENTS_PER_VARIABLE[0]:
        verdict = WARNING
    else:
        verdict = OK
    decided = (f"cut-offs: {numbers.value(epv)} events per variable ({events:,} rows in the smallest class, "
               f"{k} candidate parameters); below {numbers.value(rules.EVENTS_PER_VARIABLE[0])} a warning, "
               f"below {numbers.value(rules.EVENTS_PER_VARIABLE[1])} a problem")
    if len(prep.classes) > 2:
        decided += "; with several classes the smallest class counts, per equation"
    action = ("Nothing to do." if verdict == OK else
              "Use fewer features or merge rare categories, collect more rows of the rare class, "
              "or use a penalised (regularised) model.")
    return CheckResult(EPV_ID, EPV_NAME, tested, verdict, statistic=epv,
                       statistic_name="events per variable", decided_by=decided, why=EPV_WHY,
                       action=action, figures=figures)


# -- separation -------------------------------------------------------------------------------

SEP_ID, SEP_NAME = "separation", "Separation (logistic regression)"
SEP_WHY = ("If a combination of features splits the classes perfectly, an unpenalised logistic "
           "regression has no finite coefficients: estimates and p-values blow up.")
SEP_TESTED = ("Whether a linear combination of the features puts every row of a class on one side "
              "and every other row on the other side (complete separation) or on the boundary "
              "(quasi-complete), found by linear programming (Konis 2007); with several classes, "
              "each class against the rest.")
LP_SUBSAMPLE = 5000   # rows the constraint generation starts from
LP_ADD_ROWS = 2000    # most violated rows added per round
LP_ROUNDS = 30        # rounds before solving the full programme at once
MARGIN_TOL = 1e-7


@dataclass
class Separation:
    """Whether a direction in the design separates the classes completely, quasi-completely or not at all."""
    kind: str                 # "complete" | "quasi" | "none"
    columns: list[str]        # design columns in the separating direction, largest weight first
    n_boundary: int           # rows on the separating plane (quasi-complete)


def _standardised(fit: LinearFit) -> np.ndarray:
    if not fit.kept:
        return np.ones((fit.n, 1))
    return np.column_stack([np.ones(fit.n), (fit.X - fit.mean) / (fit.scale / np.sqrt(fit.n))])


def _solve(A: np.ndarray, c_full: np.ndarray, complete: bool) -> Optional[np.ndarray]:
    """One linear programme over the rows ``A`` (see :func:`_lp`); the direction, or None."""
    from scipy.optimize import linprog

    n, k = A.shape
    if complete:  # maximise t subject to A b >= t, -1 <= b <= 1, t <= 1
        c = np.zeros(k + 1)
        c[-1] = -1.0
        A_ub = np.column_stack([-A, np.ones(n)])
        bounds = [(-1.0, 1.0)] * k + [(None, 1.0)]
    else:  # maximise the summed margins of all rows subject to A b >= 0
        c, A_ub, bounds = -c_full, -A, [(-1.0, 1.0)] * k
    res = linprog(c, A_ub=A_ub, b_ub=np.zeros(n), bounds=bounds, method="highs")
    if res.status != 0 or res.x is None:
        return None
    b = res.x[:k]
    scale = np.abs(b).max()
    if scale <= MARGIN_TOL or (complete and res.x[-1] <= MARGIN_TOL):
        return None
    return b / scale


def _lp(A: np.ndarray, complete: bool) -> Optional[np.ndarray]:
    """A direction b with A b >= 0 for every row and > 0 for some (or, ``complete``, for
    every row), A holding each row's features times ±1 for its class; None if none.

    Solved by constraint generation: start from a subsample of rows, add the rows the
    direction found violates, repeat. A subsample's optimum bounds the full problem's,
    so "no separation" in a subsample is final, and a direction that satisfies every
    row is the full problem's answer.
    """
    n = len(A)
    c_full = A.sum(axis=0)
    rng = np.random.default_rng(7)
    work = np.sort(rng.choice(n, LP_SUBSAMPLE, replace=False)) if n > LP_SUBSAMPLE else np.arange(n)
    for _ in range(LP_ROUNDS):
        b = _solve(A[work], c_full, complete)
        if b is None:
            return None
        margins = A @ b
        if complete:
            if margins.min() > MARGIN_TOL:
                return b
            bad = np.flatnonzero(margins <= MARGIN_TOL)
        else:
            if margins.min() >= -MARGIN_TOL:
                return b if margins.max() > 1e3 * MARGIN_TOL else None
            bad = np.flatnonzero(margins < -MARGIN_TOL)
        bad = np.setdiff1d(bad[np.argsort(margins[bad], kind="stable")][:LP_ADD_ROWS], work)
        if not len(bad):
            break
        work = np.union1d(work, bad)
    return _solve_full(A, c_full, complete)


def _solve_full(A: np.ndarray, c_full: np.ndarray, complete: bool) -> Optional[np.ndarray]:
    b = _solve(A, c_full, complete)
    if b is None:
        return None
    margins = A @ b
    if complete:
        return b if margins.min() > MARGIN_TOL else None
    return b if margins.min() >= -MARGIN_TOL and margins.max() > 1e3 * MARGIN_TOL else None


def separation_of(Z: np.ndarray, s: np.ndarray, names: list[str]) -> Separation:
    """Complete, quasi-complete or no separation of the rows with s = +1 from those with -1."""
    A = s[:, None] * Z
    b = _lp(A, complete=False)
    if b is None:
        return Separation("none", [], 0)
    full = _lp(A, complete=True)
    kind = "complete" if full is not None else "quasi"
    direction = full if full is not None else b
    margins = A @ direction
    weights = np.abs(direction[1:])
    order = [j for j in np.argsort(-weights, kind="stable") if weights[j] > 1e-6]
    cols = [names[j] for j in order]
    return Separation(kind, cols, int((np.abs(margins) <= MARGIN_TOL).sum()) if kind == "quasi" else 0)


def single_feature_separation(prep: Prepared) -> list[dict]:
    """Numeric features whose ranges for one class and the rest do not overlap."""
    out = []
    targets = range(len(prep.classes)) if len(prep.classes) > 2 else [1]
    for j, (name, feature) in enumerate(zip(prep.columns, prep.column_feature)):
        if prep.kinds.get(feature) != "numeric":
            continue
        x = prep.X[:, j]
        for k in targets:
            a, b = x[prep.y == k], x[prep.y != k]
            if a.max() < b.min() or b.max() < a.min():
                kind = "complete"
            elif a.max() <= b.min() or b.max() <= a.min():
                kind = "quasi"
            else:
                continue
            out.append({"feature": feature, "class": prep.classes[k], "kind": kind})
    return out


def separation(prep: Prepared, fit: LinearFit) -> CheckResult:
    """Whether some combination of features separates the classes, so a logistic fit has no finite solution."""
    Z = _standardised(fit)
    names = fit.names
    binary = len(prep.classes) == 2
    targets = [1] if binary else list(range(len(prep.classes)))
    per_class = []
    for k in targets:
        s = np.where(prep.y == k, 1.0, -1.0)
        sep = separation_of(Z, s, names)
        per_class.append({"class": prep.classes[k], "kind": sep.kind, "columns": sep.columns,
                          "n_boundary_rows": sep.n_boundary})
    single = single_feature_separation(prep)
    complete = [c for c in per_class if c["kind"] == "complete"]
    quasi = [c for c in per_class if c["kind"] == "quasi"]
    figures = {"per_class": per_class, "single_feature": single,
               "columns_tested": names, "aliased_left_out": [prep.columns[j] for j in fit.aliased]}

    def involved(cases: list[dict]) -> str:
        cols = list(dict.fromkeys(c for case in cases for c in case["columns"]))
        if not cols:
            return "the intercept alone"
        more = f" and {len(cols) - 8} more columns" if len(cols) > 8 else ""
        return ", ".join(cols[:8]) + more

    which = "" if binary else " (class against the rest)"
    if complete:
        verdict = PROBLEM
        decided = (f"linear programme: complete separation{which} for "
                   f"{', '.join(repr(c['class']) for c in complete)}, along {involved(complete)}")
        action = ("Check the features involved for leakage of the target; if the separation is "
                  "genuine, use a penalised (regularised) logistic regression or a tree model.")
    elif quasi:
        verdict = WARNING
        decided = (f"linear programme: quasi-complete separation{which} for "
                   f"{', '.join(repr(c['class']) for c in quasi)}, along {involved(quasi)}")
        action = ("Merge the rare categories involved, or use a penalised logistic regression "
                  "(e.g. Firth's correction); tree models are not affected.")
    else:
        verdict = OK
        decided = f"linear programme: no direction separates the classes{which}"
        action = "Nothing to do."
    if single:
        decided += ("; on its own " + ", ".join(
            f"{s['feature']} separates {s['class']!r} ({s['kind']})" for s in single[:5]))
    return CheckResult(SEP_ID, SEP_NAME, SEP_TESTED, verdict, decided_by=decided, why=SEP_WHY,
                       action=action, figures=figures)


def any_separation(result: CheckResult) -> bool:
    """Whether the separation check found (quasi-)separation for any class."""
    return any(c["kind"] != "none" for c in result.figures.get("per_class", []))


# -- linearity of the logit (Box–Tidwell) -------------------------------------------------------

BT_ID, BT_NAME = "linearity_logit", "Linearity of the logit (Box–Tidwell)"
BT_WHY = ("Logistic regression assumes each numeric feature acts linearly on the log-odds; a "
          "curved effect is misfitted, worst at the ends of the feature's range.")
BT_TESTED = ("Whether adding z·ln(z) for each numeric feature (z = 1 + (x − min)/sd) improves "
             "the logistic fit (Box–Tidwell; likelihood-ratio test of all terms, Wald test per "
             "feature).")


def box_tidwell_terms(prep: Prepared, fit: LinearFit) -> tuple[list[str], np.ndarray, list[dict]]:
    """The numeric features tested and their z·ln(z) columns.

    Each feature x is mapped to z = 1 + (x - min x) / sd(x) first. The textbook form uses
    x itself, but for a feature far from zero (a year, a body mass in grams) x·ln(x) is
    nearly collinear with x and the fit cannot tell them apart; anchoring every feature
    at 1 tests its curvature over the same relative range.
    """
    names, cols, transforms = [], [], []
    kept_names = set(fit.names)
    for j, (name, feature) in enumerate(zip(prep.columns, prep.column_feature)):
        if prep.kinds.get(feature) != "numeric" or name not in kept_names:
            continue
        x = prep.X[:, j]
        if len(np.unique(x)) <= 2:
            continue
        sd = float(x.std())
        z = 1.0 + (x - x.min()) / sd
        names.append(feature)
        cols.append(z * np.log(z))
        transforms.append({"feature": feature, "minimum": float(x.min()), "scale": sd})
    return names, (np.column_stack(cols) if cols else np.empty((prep.n_used, 0))), transforms


def _logit_fit(y: np.ndarray, exog: np.ndarray, multinomial: bool):
    """A statsmodels Logit / MNLogit fit, or a reason why it has no finite solution."""
    import statsmodels.api as sm
    from statsmodels.tools.sm_exceptions import (ConvergenceWarning, HessianInversionWarning,
                                                 PerfectSeparationWarning)

    model = (sm.MNLogit if multinomial else sm.Logit)(y, exog)
    with warnings.catch_warnings():
        warnings.simplefilter("error", PerfectSeparationWarning)
        warnings.simplefilter("error", ConvergenceWarning)
        warnings.simplefilter("ignore", HessianInversionWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            res = model.fit(method="newton", maxiter=100, disp=0)
        except PerfectSeparationWarning:
            return None, "the classes are (quasi-)separated, so the logistic fit has no finite solution"
        except ConvergenceWarning:
            return None, "the logistic fit did not converge"
        except np.linalg.LinAlgError:
            return None, "the logistic fit is singular"
    if not np.isfinite(res.llf) or not np.all(np.isfinite(np.asarray(res.params))):
        return None, "the logistic fit has no finite solution"
    return res, None


def linearity_logit(prep: Prepared, fit: LinearFit, separated: bool) -> CheckResult:
    """Whether each numeric feature is linear in the logit (Box–Tidwell terms)."""
    names, terms, shifts = box_tidwell_terms(prep, fit)
    na = None
    if not names:
        na = "no numeric feature with more than two values to test"
    elif separated:
        na = ("the classes are (quasi-)separated (see the separation check), so the logistic fit "
              "has no finite solution and the logit's shape cannot be tested")
    if na:
        return CheckResult(BT_ID, BT_NAME, BT_TESTED, NOT_APPLICABLE, decided_by=na, why=BT_WHY,
                           action="Nothing to do for this check; see the reason.")
    multinomial = len(prep.classes) > 2
    base_exog = fit.exog
    aug_exog = np.column_stack([base_exog, terms])
    base, why_base = _logit_fit(prep.y, base_exog, multinomial)
    aug, why_aug = (None, None) if base is None else _logit_fit(prep.y, aug_exog, multinomial)
    if base is None or aug is None:
        return CheckResult(BT_ID, BT_NAME, BT_TESTED, NOT_APPLICABLE,
                           decided_by=f"not computed: {why_base or why_aug}", why=BT_WHY,
                           action="Nothing to do for this check; see the reason.")
    k = terms.shape[1]
    n_eq = len(prep.classes) - 1
    lr = max(2.0 * (aug.llf - base.llf), 0.0)
    df = k * n_eq
    p = float(stats.chi2.sf(lr, df))
    gain = float((aug.llf - base.llf) / -aug.llnull) if aug.llnull < 0 else None
    pvals = np.asarray(aug.pvalues)
    coefs = np.asarray(aug.params)
    per_feature = []
    for i, name in enumerate(names):
        row = base_exog.shape[1] + i
        pv = pvals[row] if pvals.ndim == 1 else pvals[row, :]
        cf = coefs[row] if coefs.ndim == 1 else coefs[row, :]
        per_feature.append({"feature": name, "p_value": float(np.nanmin(np.atleast_1d(pv))),
                            "coefficient": (float(cf) if np.ndim(cf) == 0 else
                                            [float(v) for v in np.atleast_1d(cf)])})
    flagged = [r["feature"] for r in per_feature if r["p_value"] < rules.ALPHA]
    verdict, decided = rules.test_verdict(
        p, rules.level(gain, rules.PSEUDO_R2_GAIN), prep.n_used, test="likelihood-ratio test",
        effect_text=rules.bounds_text("the gain in McFadden's pseudo-R²", gain,
                                      rules.PSEUDO_R2_GAIN, absolute=False))
    if multinomial:
        decided += "; multinomial logit, per-feature p-values are the smallest over the equations"
    if flagged:
        decided += f"; per-feature Wald p < {rules.ALPHA}: {', '.join(flagged)}"
    action = ("Nothing to do." if verdict == OK else
              f"Transform the curved features ({', '.join(flagged) or 'see the chart'}) with logs, "
              "splines or bins, or use a model that handles nonlinearity.")
    chart = {"kind": "bars", "title": "Box–Tidwell p-value per numeric feature",
             "x": [r["feature"] for r in per_feature], "y": [r["p_value"] for r in per_feature],
             "labels": [r["feature"] for r in per_feature], "x_label": "feature",
             "y_label": "p-value of z·ln(z)", "reference": {"alpha": rules.ALPHA}}
    return CheckResult(BT_ID, BT_NAME, BT_TESTED, verdict, statistic=lr,
                       statistic_name="likelihood ratio (χ²)", p_value=p, effect=gain,
                       effect_name="gain in McFadden's pseudo-R²", decided_by=decided, why=BT_WHY,
                       action=action,
                       figures={"lr_statistic": lr, "df": df, "per_feature": per_feature,
                                "transform": shifts, "llf_base": float(base.llf),
                                "llf_augmented": float(aug.llf), "llnull": float(aug.llnull)},
                       chart=chart)
