"""Alerts: what deserves the analyst's attention before modelling, each with a
severity, the column(s), the figure and one sentence."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Optional

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


@dataclass
class Alert:
    severity: str          # problem | warning | info
    kind: str              # constant, near_constant, high_cardinality, ...
    columns: list[str]
    figure: Optional[float]
    message: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def column_alerts(col: ColumnProfile, n_rows: int) -> list[Alert]:
    out: list[Alert] = []
    name = col.name
    if col.missing == n_rows and n_rows:
        return [Alert("problem", "empty", [name], 1.0, f"{name} is missing in every row.")]
    if col.distinct <= 1:
        out.append(Alert("warning", "constant", [name], float(col.distinct),
                         f"{name} holds a single value; it cannot help a model."))
    top_share = col.stats.get("top_share")
    if col.distinct > 1 and top_share is not None and top_share >= NEAR_CONSTANT_SHARE:
        out.append(Alert("warning", "near_constant", [name], top_share,
                         f"{name} has the same value in {top_share:.1%} of rows; it carries little information."))
    if col.kind == "numeric" and col.distinct > 1 and col.stats.get("q05") == col.stats.get("q95"):
        out.append(Alert("warning", "near_constant", [name], None,
                         f"{name} has the same value in at least 90% of rows."))
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
    if share is not None and share >= MANY_OUTLIERS:
        out.append(Alert("warning", "outliers", [name], share,
                         f"{share:.1%} of {name} lies beyond 1.5 IQR of the quartiles; check for errors "
                         "or heavy tails."))
    return out


def target_alerts(col: ColumnProfile, n_rows: int) -> list[Alert]:
    """The target's own trouble: with fewer than two values there is nothing to predict."""
    if not n_rows or col.distinct > 1:
        return []
    what = "is missing in every row" if col.count == 0 else "holds a single value"
    return [Alert("problem", "constant_target", [col.name], float(col.distinct),
                  f"The target {col.name} {what}: there is nothing to predict. Choose another target.")]


def table_alerts(n_rows: int, duplicates: dict[str, Any], correlations: dict[str, Any],
                 associations: dict[str, Any]) -> list[Alert]:
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
            if v is not None and v >= HIGH_CORRELATION:
                out.append(Alert("warning", "associated", [a, cats[j]], v,
                                 f"{a} and {cats[j]} are almost interchangeable (Cramér's V {v:.2f})."))
    return out


def leakage_alerts(target: str, relations: list[dict[str, Any]]) -> list[Alert]:
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
    return sorted(alerts, key=lambda a: (SEVERITY_ORDER[a.severity], a.kind, a.columns))
