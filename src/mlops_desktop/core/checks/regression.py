"""Checks of an OLS fit: linearity, normality and constant spread of the residuals,
influential points, independence, and rows per parameter.

Every check takes the one :class:`LinearFit` of the run; the statistics are the ones
statsmodels and scipy give on the same design matrix.
"""

from __future__ import annotations

import warnings
from typing import Optional

import numpy as np
from scipy import stats

from .. import numbers
from . import ids, rules
from .ols import LinearFit, aux_r2, fit as ols_fit
from .prepare import Prepared
from .result import NOT_APPLICABLE, OK, PROBLEM, WARNING, CheckResult, quantile_positions, thin

# White's test with every square and cross product up to this many regressors; beyond it,
# levels and squares only (the number of cross products grows with the square)
WHITE_MAX_REGRESSORS = 10


def _na(check_id: str, name: str, tested: str, why: str, reason: str) -> CheckResult:
    return CheckResult(check_id, name, tested, NOT_APPLICABLE, decided_by=reason, why=why,
                       action="Nothing to do for this check; see the reason.")


def _no_residual_df(fit: LinearFit) -> Optional[str]:
    if fit.df_resid < 1:
        return (f"no residual degrees of freedom: {fit.n} rows for {fit.p} parameters, so the fit "
                "passes through every point and its residuals say nothing")
    return None


def robust_spread(values: np.ndarray) -> float:
    """The median absolute deviation scaled to a standard deviation under normality
    (``scipy.stats.median_abs_deviation(scale="normal")``): a few extreme residuals do
    not move it."""
    return float(np.median(np.abs(values - np.median(values))) * 1.4826022185056018)


def _binned(x: np.ndarray, y: np.ndarray, bins: int = 20, spread: bool = False) -> dict:
    """Mean (or robust spread) of y in equal-count bins of x, for a chart's guide line."""
    order = np.argsort(x, kind="stable")
    groups = [g for g in np.array_split(order, min(bins, max(len(x) // 5, 1))) if len(g)]
    centres = [float(np.mean(x[g])) for g in groups]
    values = [robust_spread(y[g]) if spread and len(g) > 1 else float(np.mean(y[g]))
              for g in groups]
    return {"x": centres, "y": values}


def _resid_chart(fit: LinearFit, title: str, *, spread: bool) -> dict:
    idx = thin(fit.n)
    return {"kind": "scatter", "title": title, "x": fit.fitted[idx].tolist(),
            "y": fit.resid[idx].tolist(), "labels": None, "x_label": "fitted value",
            "y_label": "residual",
            "reference": {"zero_line": 0.0,
                          ("binned_spread" if spread else "binned_mean"):
                              _binned(fit.fitted, fit.resid, spread=spread)}}


# -- observations per parameter --------------------------------------------------------

OPP_ID, OPP_NAME = "obs_per_parameter", "Observations per parameter"
OPP_WHY = ("With few rows per coefficient the fit follows noise: coefficients are unstable and "
           "the model does worse on new data than it appears to.")


def obs_per_parameter(prep: Prepared, *, what: str = "parameter") -> CheckResult:
    """Whether there are enough rows for the number of coefficients the model estimates."""
    n, p = prep.n_used, len(prep.columns) + 1
    tested = ("Whether there are enough rows for the number of coefficients the model estimates "
              "(design columns plus the intercept).")
    ratio = n / p
    figures = {"rows": n, "parameters": p, "features": len(prep.features),
               "design_columns": len(prep.columns),
               "thresholds": {"warning_below": rules.OBS_PER_PARAMETER[0],
                              "problem_below": rules.OBS_PER_PARAMETER[1]}}
    decided = (f"cut-offs: {numbers.value(ratio)} rows per {what} ({n:,} rows, {p} parameters); below "
               f"{numbers.value(rules.OBS_PER_PARAMETER[0])} a warning, below {numbers.value(rules.OBS_PER_PARAMETER[1])} "
               "a problem")
    if p >= n:
        verdict = PROBLEM
        decided = (f"more parameters ({p}) than rows ({n}): the fit is not determined and fits "
                   "the data exactly; " + decided)
    elif ratio < rules.OBS_PER_PARAMETER[1]:
        verdict = PROBLEM
    elif ratio < rules.OBS_PER_PARAMETER[0]:
        verdict = WARNING
    else:
        verdict = OK
    action = ("Nothing to do." if verdict == OK else
              "Use fewer features (merge rare categories, drop redundant ones), collect more "
              "rows, or use a regularised model.")
    return CheckResult(OPP_ID, OPP_NAME, tested, verdict, statistic=ratio,
                       statistic_name="rows per parameter", decided_by=decided, why=OPP_WHY,
                       action=action, figures=figures)


# -- linearity (RESET) ----------------------------------------------------------------

RESET_ID, RESET_NAME = "linearity_reset", "Linearity (Ramsey RESET)"
RESET_TESTED = ("Whether the squares and cubes of the fitted values explain what the linear fit "
                "leaves over (Ramsey's RESET, F test).")
RESET_WHY = ("A curved relationship fitted with a straight line leaves systematic errors: "
             "predictions are biased in parts of the range.")


def reset_test(fit: LinearFit) -> dict:
    """RESET with powers 2 and 3 of the fitted values; F test (statsmodels
    ``linear_reset(res, power=3, use_f=True)``).

    The fitted values are standardised first (with X in the model, z² and z³ span the same
    space as ŷ² and ŷ³, and stay well scaled), then made orthogonal to X with the fit's
    Q, so the extra sum of squares needs no second factorisation of the design.
    """
    z = fit.fitted - fit.fitted.mean()
    sd = z.std()
    z = z / sd if sd > 0 else z
    W = np.column_stack([z ** 2, z ** 3])
    W = W - W.mean(axis=0)
    if fit.Q.shape[1]:
        W = W - fit.Q @ (fit.Q.T @ W)
    extra = ols_fit(W, fit.resid)  # both sides orthogonal to the constant and to X
    q = len(extra.kept)
    ssr_u = extra.ssr
    df2 = fit.df_resid - q
    if q < 1 or df2 < 1 or ssr_u <= 0:
        return {"F": None, "p": None, "df_num": q, "df_denom": df2, "cohen_f2": None}
    F = ((fit.ssr - ssr_u) / q) / (ssr_u / df2)
    p = float(stats.f.sf(F, q, df2))
    return {"F": float(F), "p": p, "df_num": q, "df_denom": df2,
            "cohen_f2": float((fit.ssr - ssr_u) / ssr_u)}


def linearity_reset(prep: Prepared, fit: LinearFit) -> CheckResult:
    """Whether the mean of the target is linear in the features (Ramsey's RESET)."""
    reason = _no_residual_df(fit)
    if reason is None and not fit.kept:
        reason = "no non-constant feature column is left to test"
    if reason is None and fit.df_resid < 3:
        reason = f"too few residual degrees of freedom ({fit.df_resid}) to add two terms"
    if reason:
        return _na(RESET_ID, RESET_NAME, RESET_TESTED, RESET_WHY, reason)
    r = reset_test(fit)
    if r["F"] is None:
        return _na(RESET_ID, RESET_NAME, RESET_TESTED, RESET_WHY,
                   "the fitted values take too few distinct values for their powers to add "
                   "anything")
    effect_level = rules.level(r["cohen_f2"], rules.COHEN_F2)
    verdict, decided = rules.test_verdict(
        r["p"], effect_level, fit.n, test="RESET test",
        effect_text=rules.bounds_text("Cohen's f² of the added powers", r["cohen_f2"],
                                      rules.COHEN_F2, absolute=False),
        df_for_power=fit.df_resid)
    action = ("Nothing to do." if verdict == OK else
              "Add transformed terms (logs, squares, splines) or interactions for the features "
              "that bend, or use a model that handles nonlinearity (e.g. gradient boosting).")
    return CheckResult(RESET_ID, RESET_NAME, RESET_TESTED, verdict, statistic=r["F"],
                       statistic_name="F", p_value=r["p"], effect=r["cohen_f2"],
                       effect_name="Cohen's f² of the added powers", decided_by=decided,
                       why=RESET_WHY, action=action,
                       figures={"F": r["F"], "p_value": r["p"], "df_num": r["df_num"],
                                "df_denom": r["df_denom"], "powers": [2, 3]},
                       chart=_resid_chart(fit, "Residuals against fitted values", spread=False))


# -- normality of residuals ---------------------------------------------------------------

NORM_ID, NORM_NAME = ids.NORMALITY, "Normality of residuals"
NORM_TESTED = (f"Whether the residuals follow a normal distribution (Shapiro–Wilk up to "
               f"{rules.SHAPIRO_MAX_ROWS:,} rows, Jarque–Bera always; Q-Q plot).")
NORM_WHY = ("Coefficient p-values, confidence and prediction intervals assume roughly normal "
            "residuals; with many rows coefficient tests are robust to this, prediction "
            "intervals are not.")


def normality_residuals(prep: Prepared, fit: LinearFit) -> CheckResult:
    """Whether the residuals look normally distributed (Jarque–Bera), which the p-values assume."""
    from statsmodels.stats.stattools import jarque_bera

    reason = _no_residual_df(fit)
    if reason is None and fit.n < 3:
        reason = "fewer than 3 rows"
    if reason is None and np.ptp(fit.resid) == 0:
        reason = "the fit is exact: every residual is zero"
    if reason:
        return _na(NORM_ID, NORM_NAME, NORM_TESTED, NORM_WHY, reason)
    resid = fit.resid
    jb, jb_p, skew, kurt = (float(v) for v in jarque_bera(resid))
    excess = kurt - 3.0
    sw = sw_p = None
    if fit.n <= rules.SHAPIRO_MAX_ROWS:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            w = stats.shapiro(resid)
        sw, sw_p = float(w.statistic), float(w.pvalue)
    effect_level = max(rules.level(skew, rules.SKEWNESS), rules.level(excess, rules.EXCESS_KURTOSIS))
    p = sw_p if sw_p is not None else jb_p
    test = "Shapiro–Wilk test" if sw_p is not None else "Jarque–Bera test"
    effect_text = (f"skewness {numbers.value(skew)} and excess kurtosis {numbers.value(excess)} (warning from "
                   f"|{numbers.value(rules.SKEWNESS[0])}| or |{numbers.value(rules.EXCESS_KURTOSIS[0])}|, problem from "
                   f"|{numbers.value(rules.SKEWNESS[1])}| or |{numbers.value(rules.EXCESS_KURTOSIS[1])}|)")
    verdict, decided = rules.test_verdict(p, effect_level, fit.n, test=test, effect_text=effect_text,
                                          df_for_power=fit.df_resid)
    if sw_p is None:
        decided += f"; Shapiro–Wilk is not used above {rules.SHAPIRO_MAX_ROWS:,} rows"
    (osm, osr), (slope, intercept, r) = stats.probplot(resid, dist="norm")
    idx = quantile_positions(len(osm))
    chart = {"kind": "qq", "title": "Normal Q-Q plot of the residuals", "x": osm[idx].tolist(),
             "y": osr[idx].tolist(), "labels": None, "x_label": "theoretical normal quantile",
             "y_label": "residual",
             "reference": {"slope": float(slope), "intercept": float(intercept), "r": float(r)}}
    action = ("Nothing to do." if verdict == OK else
              "Look at the points that leave the line in the Q-Q plot, transform the target "
              "(e.g. log for right-skewed positive values), or use bootstrap intervals.")
    return CheckResult(NORM_ID, NORM_NAME, NORM_TESTED, verdict,
                       statistic=sw if sw is not None else jb,
                       statistic_name="Shapiro–Wilk W" if sw is not None else "Jarque–Bera",
                       p_value=p, effect=skew, effect_name="skewness of residuals",
                       decided_by=decided, why=NORM_WHY, action=action,
                       figures={"shapiro_w": sw, "shapiro_p": sw_p, "jarque_bera": jb,
                                "jarque_bera_p": jb_p, "skewness": skew, "kurtosis": kurt,
                                "excess_kurtosis": excess},
                       chart=chart)


# -- heteroscedasticity -------------------------------------------------------------------

HET_ID, HET_NAME = ids.HETEROSCEDASTICITY, "Constant spread of residuals (heteroscedasticity)"
HET_TESTED = ("Whether the spread of the residuals changes with the features or the fitted "
              "values (Breusch–Pagan in Koenker's studentised form, White's test, and "
              "Brown–Forsythe across groups of fitted values), measured by how much the robust "
              "spread of the residuals differs between those groups.")
HET_WHY = ("When the spread of the errors changes with the features, standard errors and "
           "p-values are wrong and prediction intervals are too narrow in some ranges and too "
           "wide in others.")


def breusch_pagan(fit: LinearFit) -> dict:
    """statsmodels ``het_breuschpagan(resid, exog, robust=True)``: LM = n·R² of e² on X."""
    u = fit.resid ** 2
    u = u - u.mean()
    tss = float(u @ u)
    proj = fit.Q.T @ u  # the fit's Q spans the centred design: no second factorisation
    r2 = float(proj @ proj) / tss if tss > 0 else 0.0
    df = fit.X.shape[1]
    lm = fit.n * r2
    return {"lm": lm, "p": float(stats.chi2.sf(lm, df)), "df": df, "r2": r2}


def white_design(X: np.ndarray, *, cross: bool) -> np.ndarray:
    """The regressors of White's auxiliary regression, without the constant.

    With ``cross``: every product x_i·x_j (i <= j) of the design with its constant, as
    statsmodels ``het_white`` builds it (the constant's products are the levels).
    Without: the levels and the squares of non-binary columns.
    """
    n, k = X.shape
    if cross:
        full = np.column_stack([np.ones(n), X])
        i0, i1 = np.triu_indices(k + 1)
        prods = full[:, i0] * full[:, i1]
        return prods[:, 1:]  # the first product is the constant squared
    binary = np.array([np.isin(np.unique(X[:, j]), (0.0, 1.0)).all() for j in range(k)], dtype=bool)
    return np.column_stack([X, X[:, ~binary] ** 2]) if (~binary).any() else X


def white(fit: LinearFit) -> dict:
    """White's test of the squared residuals on the design (with cross terms when few enough), as a dict."""
    k = fit.X.shape[1]
    cross = k <= WHITE_MAX_REGRESSORS
    Z = white_design(fit.X, cross=cross)
    if Z.shape[1] >= fit.n - 1:
        return {"lm": None, "p": None, "df": None, "r2": None, "adj_r2": None,
                "variant": "skipped", "terms": Z.shape[1]}
    r2, df = aux_r2(Z, fit.resid ** 2)
    lm = fit.n * r2
    dof = fit.n - df - 1
    adj = 1.0 - (1.0 - r2) * (fit.n - 1) / dof if dof > 0 else None
    return {"lm": lm, "p": float(stats.chi2.sf(lm, df)) if df > 0 else None, "df": df, "r2": r2,
            "adj_r2": adj, "variant": "full" if cross else "squares", "terms": Z.shape[1]}


def spread_by_fitted(fit: LinearFit) -> dict:
    """The residuals in :data:`rules.SPREAD_GROUPS` equal-count groups of fitted values:
    each group's robust spread (see :func:`robust_spread`), the largest over the smallest,
    and the Brown–Forsythe test of equal spread (``scipy.stats.levene(center="median")``).
    None figures when a group would hold fewer than :data:`rules.SPREAD_MIN_GROUP_ROWS`."""
    k = rules.SPREAD_GROUPS
    if fit.n < k * rules.SPREAD_MIN_GROUP_ROWS:
        return {"ratio": None, "p": None, "groups": []}
    order = np.argsort(fit.fitted, kind="stable")
    groups = np.array_split(order, k)
    spreads = [robust_spread(fit.resid[g]) for g in groups]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bf = stats.levene(*(fit.resid[g] for g in groups), center="median")
    low = min(spreads)
    ratio = max(spreads) / low if low > 0 else None
    p = float(bf.pvalue) if np.isfinite(bf.pvalue) else None
    return {"ratio": ratio, "p": p, "statistic": float(bf.statistic),
            "groups": [{"fitted_from": float(fit.fitted[g].min()), "fitted_to": float(fit.fitted[g].max()),
                        "rows": int(len(g)), "spread": sd} for g, sd in zip(groups, spreads)]}


def heteroscedasticity(prep: Prepared, fit: LinearFit) -> CheckResult:
    """Whether the spread of the residuals changes with the features (Breusch–Pagan and White)."""
    reason = _no_residual_df(fit)
    if reason is None and not fit.kept:
        reason = "no non-constant feature column is left to test"
    if reason is None and fit.n <= fit.p + 1:
        reason = "too few rows for the auxiliary regression"
    if reason is None and np.ptp(fit.resid ** 2) == 0:
        reason = "every squared residual is the same"
    if reason:
        return _na(HET_ID, HET_NAME, HET_TESTED, HET_WHY, reason)
    bp = breusch_pagan(fit)
    wh = white(fit)
    groups = spread_by_fitted(fit)
    tests = [("Breusch–Pagan", bp["p"]), ("White", wh["p"]), ("Brown–Forsythe", groups["p"])]
    tests = [(name, p) for name, p in tests if p is not None]
    p = min(p for _, p in tests)
    test = (" or ".join(name for name, _ in tests) + " test" +
            (" (the smallest p)" if len(tests) > 1 else ""))
    effect = groups["ratio"]
    verdict, decided = rules.test_verdict(
        p, rules.level(effect, rules.SPREAD_RATIO), fit.n, test=test,
        effect_text=rules.bounds_text(
            f"the largest over the smallest spread of the residuals across "
            f"{rules.SPREAD_GROUPS} groups of fitted values", effect, rules.SPREAD_RATIO,
            absolute=False) if effect is not None else
        (f"no spread ratio (fewer than {rules.SPREAD_MIN_GROUP_ROWS} rows per group of fitted "
         "values)"),
        df_for_power=fit.df_resid)
    decided += "; " + ", ".join(f"{name} {numbers.p_phrase(q)}" for name, q in tests)
    decided += (f"; R² of the Breusch–Pagan auxiliary regression {numbers.value(bp['r2'])} (not used for "
                "the verdict: a few extreme residuals swamp it)")
    if wh["variant"] == "squares":
        decided += (f"; White's test uses levels and squares only (no cross products) because the "
                    f"design has {fit.X.shape[1]} columns (> {WHITE_MAX_REGRESSORS})")
    elif wh["variant"] == "skipped":
        decided += f"; White's test skipped: its {wh['terms']} terms need more rows"
    action = ("Nothing to do." if verdict == OK else
              "Use robust (HC3) standard errors, transform the target (e.g. log), or model the "
              "spread (weighted least squares).")
    return CheckResult(HET_ID, HET_NAME, HET_TESTED, verdict, statistic=bp["lm"],
                       statistic_name="Breusch–Pagan LM", p_value=bp["p"], effect=effect,
                       effect_name="spread ratio across fitted-value groups",
                       decided_by=decided, why=HET_WHY, action=action,
                       figures={"breusch_pagan": bp, "white": wh, "spread_by_fitted": groups,
                                "p_used": p},
                       chart=_resid_chart(fit, "Residuals against fitted values", spread=True))


# -- influential points -------------------------------------------------------------------

INF_ID, INF_NAME = "influence", "Influential points (Cook's distance, leverage)"
INF_WHY = "A few rows with high leverage and large residuals can pull the whole fit towards them."


def influence_measures(fit: LinearFit) -> dict:
    """Leverage, internally studentised residuals and Cook's distance, as statsmodels'
    ``OLSInfluence`` gives them (``hat_matrix_diag``, ``resid_studentized_internal``,
    ``cooks_distance[0]``); None where the leverage is 1."""
    h = fit.hat_diag
    s2 = fit.sigma2
    with np.errstate(all="ignore"):
        one = h > 1 - 1e-10
        r = fit.resid / np.sqrt(s2 * (1 - h))
        cooks = r ** 2 * h / (fit.p * (1 - h))
    r[one] = np.nan
    cooks[one] = np.nan
    return {"leverage": h, "studentized": r, "cooks": cooks, "leverage_one": one}


def influence(prep: Prepared, fit: LinearFit) -> CheckResult:
    """Whether single rows steer the fit (Cook's distance and leverage)."""
    tested = ("Whether single rows steer the fit: Cook's distance (cut-offs 4/n and 1) and "
              "leverage (cut-off 2p/n).")
    reason = _no_residual_df(fit)
    if reason is None and not fit.sigma2:
        reason = "the fit is exact: every residual is zero"
    if reason:
        return _na(INF_ID, INF_NAME, tested, INF_WHY, reason)
    m = influence_measures(fit)
    n, p = fit.n, fit.p
    h, cooks, r = m["leverage"], m["cooks"], m["studentized"]
    cooks_cut, lev_cut = 4.0 / n, 2.0 * p / n
    finite = np.isfinite(cooks)
    n_cooks_cut = int((cooks[finite] > cooks_cut).sum())
    n_cooks_one = int((cooks[finite] > rules.COOKS_PROBLEM).sum())
    n_cooks_half = int((cooks[finite] > rules.COOKS_WARNING).sum())
    n_lev_cut = int((h > lev_cut).sum())
    n_lev_half = int((h > rules.LEVERAGE_WARNING).sum())
    n_one = int(m["leverage_one"].sum())
    max_cooks = float(np.nanmax(cooks)) if finite.any() else None
    order = np.argsort(np.where(finite, -cooks, np.inf), kind="stable")[:10]
    top = [{"row": int(prep.rows[i]), "cooks_distance": cooks[i], "leverage": float(h[i]),
            "studentized_residual": r[i]} for i in order if finite[i]]
    figures = {"cooks_cutoff": cooks_cut, "leverage_cutoff": lev_cut,
               "n_cooks_above_cutoff": n_cooks_cut, "n_cooks_above_0_5": n_cooks_half,
               "n_cooks_above_1": n_cooks_one, "n_leverage_above_cutoff": n_lev_cut,
               "n_leverage_above_0_5": n_lev_half, "n_leverage_one": n_one,
               "max_cooks_distance": max_cooks, "max_leverage": float(h.max()),
               "top_rows": top,
               "rows_leverage_one": [int(prep.rows[i]) for i in np.flatnonzero(m["leverage_one"])][:20]}
    if n_cooks_one:
        verdict = PROBLEM
    elif n_cooks_half or n_lev_half or n_one:
        verdict = WARNING
    else:
        verdict = OK
    decided = (f"cut-offs: {n_cooks_one} row(s) with Cook's distance above 1 (a problem), "
               f"{n_cooks_half} above 0.5 and {n_lev_half} with leverage above 0.5 (a warning); "
               f"{n_cooks_cut:,} above the screening cut-off 4/n = {numbers.value(cooks_cut)} and {n_lev_cut:,} "
               f"with leverage above 2p/n = {numbers.value(lev_cut)} are worth a look but not alarming alone")
    if n_one:
        decided += (f"; {n_one} row(s) have leverage 1: they alone determine a coefficient "
                    "(typically a category seen once)")
    action = ("Nothing to do." if verdict == OK else
              "Look at the listed rows: fix data errors; if they are genuine, check that the "
              "conclusions hold without them, or use a robust regression.")
    flagged = np.flatnonzero(finite & (cooks > cooks_cut))
    flagged = flagged[np.argsort(-cooks[flagged], kind="stable")][:1000]
    idx = thin(n, keep=flagged)
    idx = idx[np.isfinite(r[idx])]  # rows with leverage 1 have no studentised residual
    chart = {"kind": "scatter", "title": "Studentised residuals against leverage",
             "x": h[idx].tolist(), "y": r[idx].tolist(), "labels": [str(prep.rows[i]) for i in idx],
             "x_label": "leverage", "y_label": "studentised residual",
             "reference": {"leverage_cutoff": lev_cut, "residual_cutoffs": [-2.0, 2.0],
                           "cooks_distance": cooks[idx].tolist()}}
    return CheckResult(INF_ID, INF_NAME, tested, verdict, statistic=max_cooks,
                       statistic_name="largest Cook's distance", decided_by=decided, why=INF_WHY,
                       action=action, figures=figures, chart=chart)


# -- independence -----------------------------------------------------------------------

IND_ID, IND_NAME = "independence", "Independence of residuals"
IND_WHY = ("Correlated residuals mean the rows are not independent: standard errors are too "
           "small and a random split overstates accuracy.")


def ljung_box_lags(n: int) -> int:
    """How many lags Ljung–Box tests for n residuals: a fifth of them, between 1 and 10."""
    return max(1, min(10, n // 5))


def independence(prep: Prepared, fit: LinearFit) -> CheckResult:
    """Whether each residual is correlated with the next, in time order or row order (Durbin–Watson, Ljung–Box)."""
    from statsmodels.stats.diagnostic import acorr_ljungbox
    from statsmodels.stats.stattools import durbin_watson

    timed = prep.time_column is not None
    order_text = f"in the order of {prep.time_column!r}" if timed else "in row order"
    tested = (f"Whether each residual is correlated with the next {order_text} (Durbin–Watson"
              + ("; Ljung–Box over several lags)." if timed else ")."))
    reason = _no_residual_df(fit)
    if reason is None and (fit.n < 3 or fit.ssr <= 0):
        reason = "too few rows, or every residual is zero"
    if reason:
        return _na(IND_ID, IND_NAME, tested, IND_WHY, reason)
    e = fit.resid
    dw = float(durbin_watson(e))
    r1 = float((e[1:] @ e[:-1]) / (e @ e))
    effect_level = rules.level(r1, rules.AUTOCORRELATION)
    effect_text = rules.bounds_text("lag-1 autocorrelation of the residuals", r1,
                                    rules.AUTOCORRELATION)
    figures: dict = {"durbin_watson": dw, "lag1_autocorrelation": r1, "order": order_text}
    if timed and fit.n > 5:
        lags = ljung_box_lags(fit.n)
        lb = acorr_ljungbox(e, lags=[lags], return_df=True)
        lb_stat, lb_p = float(lb["lb_stat"].iloc[0]), float(lb["lb_pvalue"].iloc[0])
        figures.update(ljung_box=lb_stat, ljung_box_p=lb_p, ljung_box_lags=lags)
        verdict, decided = rules.test_verdict(lb_p, effect_level, fit.n, test="Ljung–Box test",
                                              effect_text=effect_text, df_for_power=fit.df_resid)
        p_value = lb_p
    else:
        verdict = (OK, WARNING, PROBLEM)[effect_level]
        decided = (f"Durbin–Watson {numbers.value(dw)} (ok between 1.6 and 2.4, a problem below 1 or above "
                   f"3), i.e. {effect_text}")
        if not timed:
            decided += ("; in row order, which only matters if the rows are in collection order; "
                        "set a time-order column to test in time order")
        p_value = None
    action = ("Nothing to do." if verdict == OK else
              "Use a time-ordered or grouped split, add lagged or trend features, or use a "
              "time-series model.")
    idx = thin(fit.n)
    labels = None
    if timed and prep.time is not None:
        labels = [str(v) for v in prep.time.iloc[idx]]
    chart = {"kind": "line", "title": f"Residuals {order_text}", "x": idx.tolist(),
             "y": e[idx].tolist(), "labels": labels, "x_label": "position " + order_text,
             "y_label": "residual", "reference": {"zero_line": 0.0}}
    return CheckResult(IND_ID, IND_NAME, tested, verdict, statistic=dw,
                       statistic_name="Durbin–Watson", p_value=p_value, effect=r1,
                       effect_name="lag-1 autocorrelation of the residuals", decided_by=decided,
                       why=IND_WHY, action=action, figures=figures, chart=chart)
