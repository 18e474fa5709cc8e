"""Steps that address Explore's alerts and act on the checks' advice: a 0 standing in
for a missing measurement becomes missing, values far beyond the rest (typos) become
missing, rare categories are merged, numbers read as text are cast, duplicates and
columns that cannot help are dropped, a skewed measure gets its logarithm."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional

import numpy as np
import pandas as pd
from mlops_model_support.recipe import Cast, Derive, Drop, DropDuplicates, Recode, Replace, Step

if TYPE_CHECKING:
    from ..checks.result import CheckReport, CheckResult
    from ..explore.alerts import Alert
    from ..explore.columns import ColumnProfile
    from ..workspace import Workspace

#: categories with fewer rows than this are merged (the models' own rare-level rule)
RARE_ROWS = 10
OTHER = "Other"


@dataclass(frozen=True)
class Suggestion:
    """A step that addresses an alert, and why, in a sentence."""

    step: Step
    why: str

    @property
    def text(self) -> str:
        """The suggested step in words."""
        return self.step.describe()


def _name(column: str) -> str:
    from mlops_model_support.recipe import column_words as written

    return written(column)


def _round_up(value: float) -> float:
    """A bound shown to people: three significant digits, away from the data."""
    if value == 0 or not np.isfinite(value):
        return float(value)
    digits = 3 - int(np.floor(np.log10(abs(value)))) - 1
    scale = 10.0 ** digits
    return float(np.ceil(value * scale) / scale)


def _round_down(value: float) -> float:
    return -_round_up(-value)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def suggest(alert: "Alert", profile: Optional["ColumnProfile"] = None,
            values: Optional[pd.Series] = None, *, counts: Optional[pd.Series] = None) -> list[Suggestion]:
    """The steps that address ``alert`` (none for an alert no step fixes): zeros in a
    positive measure and typos become missing, rare categories (of a column with too many)
    merge, numbers read as text are cast, duplicates, useless columns and suspected leaks
    are dropped, a positive skewed measure gets its logarithm. ``profile``:
    the column's statistics; ``values``: the column itself, or ``counts``: its rows per
    category (:func:`label_counts`), to find rare categories."""
    kind = alert.kind
    column = alert.columns[0] if alert.columns else None
    name = _name(column) if column is not None else ""
    if kind == "zeros_in_positive" and column:
        return [Suggestion(Replace(column, f"{name} == 0"),
                           f"A 0 in {column} stands for a missing measurement: it becomes missing.")]
    if kind == "extreme_values" and column and profile is not None:
        st = profile.stats
        lo, hi = (st.get("far_fences") or [None, None])[:2]
        examples = st.get("far_examples") or []
        parts = []
        if hi is not None and any(v > hi for v in examples):
            parts.append(f"{name} > {_number(_round_up(hi))}")
        if lo is not None and any(v < lo for v in examples):
            parts.append(f"{name} < {_number(_round_down(lo))}")
        if parts:
            return [Suggestion(Replace(column, " or ".join(parts)),
                               f"Values of {column} far beyond the rest look like typos: they become missing.")]
        return []
    if kind == "high_cardinality" and column and (values is not None or counts is not None):
        step = merge_rare(column, values) if counts is None else merge_rare_counts(column, counts)
        return [Suggestion(step, f"Categories of {column} with fewer than {RARE_ROWS} rows are merged "
                                 f"into {OTHER}.")] if step is not None else []
    if kind == "mostly_numbers" and column:
        return [Suggestion(Cast(column, "number"),
                           f"{column} is read as a number; the values that are not numbers become missing.")]
    if kind == "duplicates":
        return [Suggestion(DropDuplicates(), "Rows that repeat an earlier row exactly are dropped.")]
    if (kind in ("constant", "empty", "id_like") or (kind == "near_constant" and alert.severity == "warning")) \
            and column:
        return [Suggestion(Drop((column,)), f"{column} cannot help a model: it is dropped.")]
    if kind == "leakage" and column:
        return [Suggestion(Drop((column,)), f"{column} may be a copy of the target or known only after the "
                                            "fact: it is dropped.")]
    if kind == "skew" and column and profile is not None:
        low = profile.stats.get("min")
        if low is not None and low > 0:  # zeros or negatives: no logarithm is offered
            return [_logarithm(column, f"The logarithm of {column} is far less skewed.")]
    return []


def _logarithm(column: str, why: str) -> Suggestion:
    name = _name(column)
    return Suggestion(Derive(f"log_{column}" if column.isidentifier() else f"log {column}", f"log({name})"), why)


def for_check(check: "CheckResult", target: str, target_min: Optional[float]) -> list[Suggestion]:
    """The steps that act on a check's own advice (none when it passed or no step does):
    rare levels of a feature merged into "Other" (two or more of them: one alone would
    only be renamed), features the model cannot tell apart from others dropped, and a
    strictly positive target's logarithm for skewed or uneven residuals (``target_min``:
    the target's smallest value; trained on, the new column is the target to choose)."""
    from ..checks import ids
    from ..checks.result import OK

    if check.verdict == OK:
        return []
    figures = check.figures or {}
    if check.id == ids.RARE_CATEGORIES:
        out = []
        for entry in figures.get("features") or []:
            rare = sorted(str(r["level"]) for r in entry.get("rare_levels") or [])
            if len(rare) >= 2:
                out.append(Suggestion(Recode(entry["feature"], tuple((v, OTHER) for v in rare)),
                                      f"The {len(rare)} rare levels of {entry['feature']} are merged into {OTHER}."))
        return out
    if check.id == ids.VIF and figures.get("aliased"):
        aliased = tuple(dict.fromkeys(str(a["feature"]) for a in figures["aliased"]))
        return [Suggestion(Drop(aliased), f"{', '.join(aliased)} duplicate other features: dropped.")]
    if check.id in (ids.NORMALITY, ids.HETEROSCEDASTICITY) and target_min is not None and target_min > 0:
        return [_logarithm(target, f"On the log scale the residuals of {target} are often closer to normal "
                                   f"and even; train on the new column as the target.")]
    return []


def attach_steps(ws: "Workspace", dataset_id: int, report: "CheckReport",
                 target_values: Optional[pd.Series] = None) -> "CheckReport":
    """Each check's :func:`for_check` steps, in words, on ``report`` (the target's values
    read from the dataset unless given: only its smallest value is needed)."""
    if target_values is None and any(c.verdict != "ok" for c in report.checks):
        ds = ws.dataset(dataset_id)
        target_values = ws.load_table(ds, [report.target]).to_pandas()[report.target]
    low = None
    if target_values is not None and pd.api.types.is_numeric_dtype(target_values) \
            and not pd.api.types.is_bool_dtype(target_values) and target_values.notna().any():
        low = float(target_values.min())
    for check in report.checks:
        check.suggested_steps = [s.text for s in for_check(check, report.target, low)]
    return report


def merge_rare(column: str, values: pd.Series, min_rows: int = RARE_ROWS) -> Optional[Recode]:
    """A recode merging the categories of ``values`` with fewer than ``min_rows`` rows
    into "Other", or None when fewer than two are that rare."""
    return merge_rare_counts(column, label_counts(values), min_rows)


def label_counts(values: pd.Series) -> pd.Series:
    """The rows of each category of a column (as the models label them), missing aside."""
    from mlops_model_support.labels import category_labels

    return pd.Series(category_labels(values), dtype=object).value_counts()


def merge_rare_counts(column: str, counts: pd.Series, min_rows: int = RARE_ROWS) -> Optional[Recode]:
    """:func:`merge_rare` from the rows of each category (``counts``, by label)."""
    from mlops_model_support.recipe import MAX_VALUES

    rare = [str(v) for v, n in counts.items() if n < min_rows and str(v) != OTHER]
    if len(rare) < 2:
        return None
    return Recode(column, tuple((v, OTHER) for v in sorted(rare)[:MAX_VALUES]))
