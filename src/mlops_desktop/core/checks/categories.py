"""Rare categories: levels of a categorical feature with too few rows to estimate."""

from __future__ import annotations

from . import ids, rules
from .prepare import Prepared
from .result import NOT_APPLICABLE, OK, WARNING, CheckResult

ID = ids.RARE_CATEGORIES
NAME = "Rare categories"
WHY = ("A category with few rows gets an unstable estimate, may be missing from a training or "
       "test split, and can on its own separate the classes.")
TESTED = (f"Whether any level of a categorical feature has fewer than {rules.RARE_LEVEL_ROWS} rows"
          " (and, for classification, which levels occur with one class only).")


def check(prep: Prepared) -> CheckResult:
    """Whether the categorical features have levels too rare for a model to learn from."""
    categorical = [f for f in prep.features if f in prep.level_counts]
    if not categorical:
        return CheckResult(ID, NAME, TESTED, NOT_APPLICABLE,
                           decided_by="no categorical features among the chosen features",
                           why=WHY, action="Nothing to do.")
    per_feature = []
    rare_bars: list[tuple[str, int]] = []
    n_rare = 0
    for f in categorical:
        counts = prep.level_counts[f]
        rare = counts[counts < rules.RARE_LEVEL_ROWS]
        n_rare += len(rare)
        entry = {"feature": f, "n_levels": int(len(counts)),
                 "rare_levels": [{"level": str(k), "rows": int(v)} for k, v in rare.items()],
                 "smallest_level": str(counts.index[-1]), "smallest_rows": int(counts.iloc[-1])}
        if prep.task == "classification" and f in prep.level_classes:
            table = prep.level_classes[f]
            single = table[(table > 0).sum(axis=1) == 1]
            entry["single_class_levels"] = [
                {"level": str(level), "rows": int(row.sum()),
                 "class": prep.classes[int(row.to_numpy().argmax())]}
                for level, row in single.iterrows()]
        per_feature.append(entry)
        rare_bars += [(f"{f}={k}", int(v)) for k, v in rare.items()]
    rare_bars.sort(key=lambda t: t[1])
    if n_rare:
        bars = rare_bars[:40]
        title = "Rarest category levels (rows)"
    else:
        bars = [(f"{f}={prep.level_counts[f].index[-1]}", int(prep.level_counts[f].iloc[-1]))
                for f in categorical]
        title = "Smallest level of each categorical feature (rows)"
    chart = {"kind": "bars", "title": title, "x": [b[0] for b in bars], "y": [b[1] for b in bars],
             "labels": [b[0] for b in bars], "x_label": "feature=level", "y_label": "rows",
             "reference": {"rare_below": rules.RARE_LEVEL_ROWS}}
    figures = {"features": per_feature, "n_rare_levels": n_rare,
               "rare_below_rows": rules.RARE_LEVEL_ROWS}
    smallest = min(int(prep.level_counts[f].iloc[-1]) for f in categorical)
    decided = f"cut-off: a level with fewer than {rules.RARE_LEVEL_ROWS} rows is rare"
    single = sum(len(e.get("single_class_levels", [])) for e in per_feature)
    if single:
        decided += (f"; {single} level(s) occur with one class only (see the separation check)")
    if not n_rare:
        return CheckResult(ID, NAME, TESTED, OK, statistic=smallest,
                           statistic_name="rows in the smallest level", decided_by=decided,
                           why=WHY, action="Nothing to do.", figures=figures, chart=chart)
    where = sorted({e["feature"] for e in per_feature if e["rare_levels"]})
    return CheckResult(ID, NAME, TESTED, WARNING, statistic=smallest,
                       statistic_name="rows in the smallest level",
                       decided_by=f"{decided}; {n_rare} rare level(s) in {', '.join(where)}",
                       why=WHY,
                       action=("Merge the rare levels into an 'other' level or into a similar "
                               "category, or drop the feature if it carries little information."),
                       figures=figures, chart=chart)
