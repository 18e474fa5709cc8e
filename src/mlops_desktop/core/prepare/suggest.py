"""Steps that address Explore's alerts, the way Check offers remedies: a 0 standing in
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
    from ..explore.alerts import Alert
    from ..explore.columns import ColumnProfile

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
        return self.step.describe()


def _name(column: str) -> str:
    from mlops_model_support.recipe import _name as written

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
            values: Optional[pd.Series] = None) -> list[Suggestion]:
    """The steps that address ``alert`` (none for an alert no step fixes). ``profile``:
    the column's statistics; ``values``: the column itself (to find rare categories)."""
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
    if kind == "high_cardinality" and column and values is not None:
        step = merge_rare(column, values)
        return [Suggestion(step, f"Categories of {column} with fewer than {RARE_ROWS} rows are merged "
                                 f"into {OTHER}.")] if step is not None else []
    if kind == "mostly_numbers" and column:
        return [Suggestion(Cast(column, "number"),
                           f"{column} is read as a number; the values that are not numbers become missing.")]
    if kind == "duplicates":
        return [Suggestion(DropDuplicates(), "Rows that repeat an earlier row exactly are dropped.")]
    if kind in ("constant", "empty", "id_like") and column:
        return [Suggestion(Drop((column,)), f"{column} cannot help a model: it is dropped.")]
    if kind == "skew" and column and profile is not None:
        low = profile.stats.get("min")
        if low is not None and low > 0:
            return [Suggestion(Derive(f"log_{column}" if column.isidentifier() else f"log {column}",
                                      f"log({name})"), f"The logarithm of {column} is far less skewed.")]
        if low is not None and low >= 0:
            return [Suggestion(Derive(f"log1p_{column}" if column.isidentifier() else f"log1p {column}",
                                      f"log1p({name})"), f"log(1 + {column}) is far less skewed.")]
    return []


def merge_rare(column: str, values: pd.Series, min_rows: int = RARE_ROWS) -> Optional[Recode]:
    """A recode merging the categories of ``values`` with fewer than ``min_rows`` rows
    into "Other", or None when fewer than two are that rare."""
    from mlops_model_support.labels import category_labels
    from mlops_model_support.recipe import MAX_VALUES

    counts = pd.Series(category_labels(values), dtype=object).value_counts()
    rare = [str(v) for v, n in counts.items() if n < min_rows and str(v) != OTHER]
    if len(rare) < 2:
        return None
    return Recode(column, tuple((v, OTHER) for v in sorted(rare)[:MAX_VALUES]))
