"""Multicollinearity: variance inflation factors, generalised VIFs for categorical
features, condition numbers, and exact linear dependencies (aliased columns)."""

from __future__ import annotations

import numpy as np

from .. import numbers
from . import ids, rules
from .ols import LinearFit
from .prepare import Prepared
from .result import OK, PROBLEM, WARNING, CheckResult

ID = ids.VIF
NAME = "Multicollinearity (VIF)"
WHY = ("Collinear features make coefficients unstable, and their signs and p-values "
       "unreliable; predictions on similar data can still be fine.")


def vifs(fit: LinearFit) -> np.ndarray:
    """VIF of each kept column: the diagonal of the inverse correlation matrix, from R⁻¹."""
    if not fit.kept:
        return np.empty(0)
    rinv = fit.inverse_r_rows()
    return np.einsum("ij,ij->i", rinv, rinv)


def generalised_vifs(fit: LinearFit, owner: list[str]) -> dict[str, tuple[float, int]]:
    """GVIF (Fox & Monette 1992) of each feature with more than one design column."""
    if not fit.kept:
        return {}
    Xs = (fit.X - fit.mean) / fit.scale
    corr = Xs.T @ Xs
    _, logdet_all = np.linalg.slogdet(corr)
    out = {}
    for feature in dict.fromkeys(owner):
        idx = [i for i, o in enumerate(owner) if o == feature]
        if len(idx) < 2:
            continue
        rest = [i for i in range(len(owner)) if i not in idx]
        _, ld1 = np.linalg.slogdet(corr[np.ix_(idx, idx)])
        ld2 = np.linalg.slogdet(corr[np.ix_(rest, rest)])[1] if rest else 0.0
        out[feature] = (float(np.exp(ld1 + ld2 - logdet_all)), len(idx))
    return out


def condition_numbers(fit: LinearFit) -> dict[str, float | None]:
    """The centred-and-scaled condition number (used for judging), Belsley's unit-length
    one with the intercept, and statsmodels' (raw design with the intercept)."""
    out: dict[str, float | None] = {"centred_scaled": None, "unit_length": None, "statsmodels": None}
    exog = fit.exog
    with np.errstate(all="ignore"):
        if fit.kept:
            s = np.linalg.svd(fit.R, compute_uv=False)
            out["centred_scaled"] = float(s[0] / s[-1]) if s[-1] > 0 else None
        unit = exog / np.sqrt((exog ** 2).sum(axis=0))
        s = np.linalg.svd(unit, compute_uv=False)
        out["unit_length"] = float(s[0] / s[-1]) if s[-1] > 0 else None
        s = np.linalg.svd(exog, compute_uv=False)  # statsmodels: from the singular values
        out["statsmodels"] = float(s[0] / s[-1]) if s[-1] > 0 else None
    return out


def aliased_combinations(prep: Prepared, fit: LinearFit) -> list[dict]:
    """For each aliased column, the kept columns it is (numerically) a combination of."""
    out = []
    for j in fit.aliased:
        name = prep.columns[j]
        x = prep.X[:, j]
        if np.ptp(x) == 0:
            out.append({"column": name, "feature": prep.column_feature[j],
                        "combination": "constant", "text": f"{name} is constant"})
            continue
        xc = x - x.mean()
        if fit.kept:
            coef_s = np.linalg.lstsq(fit.R, fit.Q.T @ xc, rcond=None)[0]
            coef = coef_s / fit.scale
            weights = np.abs(coef_s) / max(np.sqrt(xc @ xc), 1e-300)
        else:
            coef = np.empty(0)
            weights = np.empty(0)
        terms = [(fit.names[i], float(coef[i])) for i in np.flatnonzero(weights > 1e-6)]
        intercept = float(x.mean() - (fit.mean @ coef if fit.kept else 0.0))
        text = " + ".join(f"{numbers.value(c)}·{n}" for n, c in terms) or "a constant"
        if terms and abs(intercept) > 1e-9 * max(1.0, np.abs(x).max()):
            text += f" + {numbers.value(intercept)}"
        out.append({"column": name, "feature": prep.column_feature[j],
                    "combination": [{"column": n, "coefficient": c} for n, c in terms],
                    "intercept": intercept, "text": f"{name} = {text}"})
    return out


def check(prep: Prepared, fit: LinearFit) -> CheckResult:
    """Whether features are near linear combinations of each other (VIF and condition number)."""
    tested = ("Whether features are close to linear combinations of each other: the variance "
              "inflation factor (VIF) of each feature and the condition number of the centred, "
              "scaled design.")
    if len(prep.columns) < 2 and not fit.aliased:
        return CheckResult(ID, NAME, tested, OK, statistic=1.0 if fit.kept else None,
                           statistic_name="largest VIF", decided_by="only one design column: "
                           "nothing for it to be collinear with", why=WHY, action="Nothing to do.",
                           figures={"vif": [{"column": c, "feature": o, "vif": 1.0} for c, o in
                                            zip(prep.columns, prep.column_feature)]})
    v = vifs(fit)
    kept_owner = [prep.column_feature[j] for j in fit.kept]
    per_column = [{"column": fit.names[i], "feature": kept_owner[i], "vif": float(v[i])}
                  for i in range(len(v))]
    gvif = generalised_vifs(fit, kept_owner) if len(fit.kept) > 1 else {}
    # one figure per feature: the VIF of its column, or for a categorical feature with several
    # columns the GVIF^(1/(2 df)) squared, which is on the VIF scale
    per_feature = []
    for feature in dict.fromkeys(kept_owner):
        if feature in gvif:
            g, df = gvif[feature]
            adj = g ** (1.0 / (2 * df))
            per_feature.append({"feature": feature, "vif": adj ** 2, "gvif": g, "df": df,
                                "gvif_adjusted": adj})
        else:
            i = kept_owner.index(feature)
            per_feature.append({"feature": feature, "vif": float(v[i]), "gvif": None, "df": 1,
                                "gvif_adjusted": float(np.sqrt(v[i]))})
    cond = condition_numbers(fit)
    aliased = aliased_combinations(prep, fit)
    worst = max(per_feature, key=lambda r: r["vif"]) if per_feature else None
    max_vif = worst["vif"] if worst else None
    figures = {"vif": per_column, "vif_per_feature": per_feature, "aliased": aliased,
               "condition_number": cond["centred_scaled"],
               "condition_number_unit_length": cond["unit_length"],
               "condition_number_statsmodels": cond["statsmodels"],
               "thresholds": {"warning": rules.VIF[0], "problem": rules.VIF[1]}}
    chart = {"kind": "bars", "title": "Variance inflation factor per design column",
             "x": [r["column"] for r in per_column], "y": [r["vif"] for r in per_column],
             "labels": [r["feature"] for r in per_column], "x_label": "design column",
             "y_label": "VIF", "reference": {"warning": rules.VIF[0], "problem": rules.VIF[1]}}
    if aliased:
        texts = "; ".join(a["text"] for a in aliased)
        return CheckResult(
            ID, NAME, tested, PROBLEM, statistic=None, statistic_name="largest VIF",
            effect=cond["centred_scaled"], effect_name="condition number (centred, scaled design)",
            decided_by=(f"perfect collinearity: {len(aliased)} design column(s) are exact linear "
                        f"combinations of others ({texts}); their VIF is infinite and they are "
                        "left out of every other check"),
            why=WHY, action=("Remove " + ", ".join(repr(a['feature']) for a in aliased)
                             + " or the features they duplicate: the model cannot tell them apart."),
            figures=figures, chart=chart)
    assert max_vif is not None and worst is not None
    verdict = OK if max_vif < rules.VIF[0] else (WARNING if max_vif < rules.VIF[1] else PROBLEM)
    high = [r["feature"] for r in per_feature if r["vif"] >= rules.VIF[0]]
    decided = (f"VIF cut-offs: largest VIF {numbers.value(max_vif)} ({worst['feature']}); warning from "
               f"{numbers.value(rules.VIF[0])}, problem from {numbers.value(rules.VIF[1])}. For a categorical feature "
               "with several columns the generalised VIF, GVIF^(1/(2·df)) squared, is used")
    if verdict == OK:
        action = "Nothing to do."
    else:
        action = (f"Drop or combine the collinear features ({', '.join(high)}), e.g. keep one of "
                  "each correlated group, or use a regularised model if only predictions matter.")
    return CheckResult(ID, NAME, tested, verdict, statistic=max_vif, statistic_name="largest VIF",
                       effect=cond["centred_scaled"],
                       effect_name="condition number (centred, scaled design)",
                       decided_by=decided, why=WHY, action=action, figures=figures, chart=chart)
