"""Alerts: what deserves the analyst's attention before modelling, each with a
severity, the column(s), the figure and one sentence."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Optional

from .. import numbers
from .columns import ColumnProfile

SEVERITY_ORDER = {"problem": 0, "warning": 1, "info": 2}

NEAR_CONSTANT_SHARE = 0.95
HIGH_CARDINALITY = 50
HEAVY_MISSING = 0.20
VERY_HEAVY_MISSING = 0.50
STRONG_SKEW = 2.0
MANY_OUTLIERS = 0.05
HIGH_CORRELATION = 0.90
LEAKAGE = 0.98
DUPLICATES_WARNING = 0.01
#: whole numbers with at most this many values are a scale or a count (a 1–6 rating, the
#: number of children): its quartiles fall on a few steps, so "beyond 1.5 IQR" is no outlier
ORDINAL_MAX_VALUES = 20
#: far values (see ``columns.FAR_IQRS``) in at most this share of rows look like typos; more
#: of them are a heavy tail, which the skew and outlier alerts describe
TYPO_MAX_SHARE = 0.01
#: zeros in at most this share of an otherwise positive column look like placeholders...
ZERO_MAX_SHARE = 0.05
#: ...when the smallest positive value is at least this share of the median (0 stands apart)
ZERO_GAP = 0.1
#: a near-constant column whose rare values relate to the target with a p-value below this
#: is a rare but strong predictor, not an uninformative column
RARE_STRONG_P = 1e-3


@dataclass
class Alert:
    """Something in the data an analyst should know before modelling, with its severity and the columns."""
    severity: str          # problem | warning | info
    kind: str              # constant, near_constant, high_cardinality, ...
    columns: list[str]
    figure: Optional[float]
    message: str
    #: a recipe step that addresses it, in words (see ``core.prepare.suggest``), when one does
    suggested_step: Optional[str] = None

    def to_dict(self) -> dict[str, Any]:
        """The alert's fields as a plain dict."""
        return asdict(self)


def column_alerts(col: ColumnProfile, n_rows: int,
                  relation: Optional[dict[str, Any]] = None) -> list[Alert]:
    """The alerts of one column; ``relation`` is its relation to the target, when one is set."""
    out: list[Alert] = []
    name = col.name
    if col.missing == n_rows and n_rows:
        return [Alert("problem", "empty", [name], 1.0, f"{name} is missing in every row.")]
    if col.distinct <= 1:
        out.append(Alert("warning", "constant", [name], float(col.distinct),
                         f"{name} holds a single value; it cannot help a model."))
    top_share = col.stats.get("top_share")
    if col.distinct > 1 and top_share is not None and top_share >= NEAR_CONSTANT_SHARE:
        out.append(_near_constant(name, top_share, f"the same value in {top_share:.1%} of rows",
                                  relation))
    if col.kind == "numeric" and col.distinct > 1 and col.stats.get("q05") == col.stats.get("q95"):
        out.append(_near_constant(name, None, "the same value in at least 90% of rows", relation))
    strays = col.stats.get("non_numbers")
    if strays:
        examples = ", ".join(f"{x['value']!r}" + (f" ({x['count']:,}×)" if x["count"] > 1 else "") for x in strays)
        count = col.stats["non_number_count"]
        out.append(Alert("warning", "mostly_numbers", [name], col.stats["numeric_share"],
                         f"{name} holds numbers except for {count:,} value{'s' if count != 1 else ''} "
                         f"({examples}), so it was read as {col.kind}. Fix those values in the file, or "
                         "set the column's type to numeric on the Data page (they then count as missing)."))
    elif col.kind == "categorical" and col.distinct > HIGH_CARDINALITY:
        out.append(Alert("warning", "high_cardinality", [name], float(col.distinct),
                         f"{name} has {col.distinct:,} distinct values; one-hot encoding it would add "
                         "as many columns. Group rare values or use another encoding."))
    if col.kind == "id" or (col.distinct == n_rows and n_rows >= 20 and col.kind in ("categorical", "text")):
        out.append(Alert("info", "id_like", [name], float(col.distinct),
                         f"{name} is unique per row, like an identifier; keep it out of the features."))
    if col.missing_share >= HEAVY_MISSING:
        severity = "problem" if col.missing_share >= VERY_HEAVY_MISSING else "warning"
        out.append(Alert(severity, "missing", [name], col.missing_share,
                         f"{name} is missing in {col.missing_share:.1%} of rows; check why before imputing."))
    skew = col.stats.get("skewness")
    if skew is not None and abs(skew) >= STRONG_SKEW:
        out.append(Alert("info", "skew", [name], skew,
                         f"{name} is strongly skewed (skewness {skew:.2f}); a log or rank transform may "
                         "suit linear models better."))
    share = col.stats.get("outliers_iqr_share")
    ordinal = bool(col.stats.get("whole_numbers")) and col.distinct <= ORDINAL_MAX_VALUES
    if share is not None and share >= MANY_OUTLIERS and not ordinal:
        out.append(Alert("warning", "outliers", [name], share,
                         f"{share:.1%} of {name} lies beyond 1.5 IQR of the quartiles; check for errors "
                         "or heavy tails."))
    out += _impossible_values(col)
    return out


def _near_constant(name: str, share: Optional[float], what: str,
                   relation: Optional[dict[str, Any]]) -> Alert:
    """Near-constant: little information, unless its rare values predict the target."""
    rare = (relation or {}).get("rare_values")
    if rare and rare.get("p_value") is not None and rare["p_value"] < RARE_STRONG_P:
        return Alert("info", "near_constant", [name], share,
                     f"{name} has {what}, but its other values are strongly related to the target: "
                     f"{rare['contrast']} ({rare['test']} {_p(rare['p_value'])}). It is a rare but "
                     "strong predictor; keep it, and check that a holdout has enough of its rare rows.")
    return Alert("warning", "near_constant", [name], share,
                 f"{name} has {what}; it carries little information.")


def _p(p: float) -> str:
    return "p < 1e-16" if p < 1e-16 else f"p = {p:.2g}"


def _impossible_values(col: ColumnProfile) -> list[Alert]:
    """Values a measurement cannot take: zeros in an otherwise positive measurement, and a
    few values so far from the rest that they look like typos."""
    if col.kind != "numeric":
        return []
    st, name, out = col.stats, col.name, []
    zeros, count = st.get("zeros") or 0, col.count
    low, median = st.get("min_positive"), st.get("median")
    if (zeros and not st.get("negatives") and count and zeros / count <= ZERO_MAX_SHARE
            and low is not None and median and low >= ZERO_GAP * median):
        out.append(Alert("warning", "zeros_in_positive", [name], zeros / count,
                         f"{name} is 0 in {zeros:,} rows ({zeros / count:.1%}) while every other value "
                         f"is at least {numbers.value(low)} (median {numbers.value(median)}): a 0 there is probably a "
                         "placeholder for a missing or failed measurement. Check those rows and set "
                         "them missing if so."))
    far = st.get("far_outliers") or 0
    if far and count and far / count <= TYPO_MAX_SHARE:
        examples = ", ".join(numbers.value(v) for v in st.get("far_examples") or [])
        out.append(Alert("warning", "extreme_values", [name], far / count,
                         f"{far:,} value{'s' if far != 1 else ''} of {name} ({examples}) lie more than "
                         f"10 IQR beyond the quartiles, while the middle half lies between "
                         f"{numbers.value(st.get('q25'))} and {numbers.value(st.get('q75'))}: they look like typos (a "
                         "misplaced decimal point, a wrong unit). Check and correct them."))
    return out


def target_alerts(col: ColumnProfile, n_rows: int) -> list[Alert]:
    """The target's own trouble: with fewer than two values there is nothing to predict."""
    if not n_rows or col.distinct > 1:
        return []
    what = "is missing in every row" if col.count == 0 else "holds a single value"
    return [Alert("problem", "constant_target", [col.name], float(col.distinct),
                  f"The target {col.name} {what}: there is nothing to predict. Choose another target.")]


def table_alerts(n_rows: int, duplicates: dict[str, Any], correlations: dict[str, Any],
                 associations: dict[str, Any], target: Optional[str] = None) -> list[Alert]:
    """Duplicates, and pairs of features that say the same thing. Pairs with the target are
    left out: a feature close to the target is what a model wants, or a leak (its own alert)."""
    out: list[Alert] = []
    if duplicates["count"]:
        severity = "warning" if duplicates["share"] >= DUPLICATES_WARNING else "info"
        out.append(Alert(severity, "duplicates", [], duplicates["share"],
                         f"{duplicates['count']:,} rows ({duplicates['share']:.1%}) repeat an earlier row "
                         "exactly; duplicates can leak between training and test sets."))
    names = correlations.get("columns", [])
    for i, a in enumerate(names):
        for j in range(i + 1, len(names)):
            b = names[j]
            if target in (a, b):
                continue
            r = correlations["pearson"][i][j]
            rho = correlations["spearman"][i][j]
            best = max((abs(v) for v in (r, rho) if v is not None), default=None)
            if best is not None and best >= HIGH_CORRELATION:
                which = "Pearson" if r is not None and abs(r) == best else "Spearman"
                out.append(Alert("warning", "correlated", [a, b], best,
                                 f"{a} and {b} are highly correlated ({which} {best:.2f}); linear models "
                                 "cannot tell their effects apart."))
    cats = associations.get("columns", [])
    for i, a in enumerate(cats):
        for j in range(i + 1, len(cats)):
            v = associations["cramers_v"][i][j]
            if v is not None and target not in (a, cats[j]) and v >= HIGH_CORRELATION:
                out.append(Alert("warning", "associated", [a, cats[j]], v,
                                 f"{a} and {cats[j]} are almost interchangeable (Cramér's V {v:.2f})."))
    return out


def leakage_alerts(target: str, relations: list[dict[str, Any]]) -> list[Alert]:
    """A problem alert for each column that predicts the target almost perfectly on its own."""
    out = []
    for rel in relations:
        strength = rel.get("leakage_score")
        if strength is not None and strength >= LEAKAGE:
            out.append(Alert("problem", "leakage", [rel["column"], target], strength,
                             f"{rel['column']} predicts {target} almost perfectly on its own "
                             f"({rel['leakage_measure']} {strength:.3f}): it may be a copy of the target "
                             "or only known after the fact. Exclude it unless you are sure."))
    return out


def sort_alerts(alerts: list[Alert]) -> list[Alert]:
    """The alerts with problems first, then warnings, then notes; by kind and columns within each."""
    return sorted(alerts, key=lambda a: (SEVERITY_ORDER[a.severity], a.kind, a.columns))
