"""Which columns a model learns from, and why the others are left out.

By default every column except the target is a candidate; left out, each with its
reason: columns the analyst marked id or ignore, id-like columns, free text,
constants, columns with every value missing, dates (not usable as they are), columns
with very many categories, the split's and the segmentation's own columns, and
suspected target leakage (a column that predicts the target almost perfectly on its
own, measured on the training rows). Features the analyst names explicitly are used
as given, unless no model could use them (all missing, constant).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Optional

import numpy as np
import pandas as pd

from ..errors import InvalidChoiceError
from .errors import TrainError

if TYPE_CHECKING:
    from ..data.dataset import Dataset
    from .spec import TrainSpec

#: a categorical column with more levels than this is left out by default
MAX_CATEGORIES = 200
LEAKAGE_SAMPLE = 20_000
NUMERIC, CATEGORICAL = "numeric", "categorical"


@dataclass
class FeatureChoice:
    """The features (name -> numeric | categorical) and the columns left out, with reasons."""

    kinds: dict[str, str]
    excluded: list[dict[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def features(self) -> list[str]:
        """The chosen features, in order."""
        return list(self.kinds)

    @property
    def numeric(self) -> list[str]:
        """The chosen features treated as numbers."""
        return [c for c, k in self.kinds.items() if k == NUMERIC]

    @property
    def categorical(self) -> list[str]:
        """The chosen features treated as categories."""
        return [c for c, k in self.kinds.items() if k == CATEGORICAL]


def choose_features(ds: "Dataset", spec: "TrainSpec", train: pd.DataFrame, y: np.ndarray,
                    task: str) -> FeatureChoice:
    """The features for ``spec`` on the training rows ``train`` (with target ``y``)."""
    columns = {c.name: c for c in ds.columns}
    own = {spec.target: "the target"}
    if spec.split.kind == "time" and spec.split.column:
        own[spec.split.column] = "orders the time split"
    if spec.split.kind == "group" and spec.split.column:
        own[spec.split.column] = "groups the split (its values differ between training and holdout)"
    if spec.segment_by:
        own[spec.segment_by] = "is the segmentation column (one value per segment)"
    for name in [*(spec.features or []), *spec.exclude]:
        ds.column(name)  # a clear error for an unknown column

    explicit = spec.features is not None
    excluded: list[dict[str, str]] = []
    notes: list[str] = []
    kinds: dict[str, str] = {}
    candidates = list(dict.fromkeys(spec.features)) if explicit else [c.name for c in ds.columns]
    for name in candidates:
        col = columns[name]
        if name == spec.target:
            if explicit:
                raise InvalidChoiceError(f"The target {name!r} cannot also be a feature.")
            continue
        if name in spec.exclude:
            excluded.append(_out(name, "excluded by you"))
            continue
        if name in own and name != spec.target:
            if explicit and name == spec.segment_by:
                notes.append(f"{name} is the segmentation column, so it is not a feature "
                             "(it has one value within each segment).")
            if not explicit or name == spec.segment_by:
                excluded.append(_out(name, own[name]))
                continue
        values = train[name]
        reason = _unusable(values, col.kind)
        if reason:
            excluded.append(_out(name, reason))
            if explicit:
                notes.append(f"You chose {name}, but it {reason}; it was left out.")
            continue
        if col.kind == "datetime" or pd.api.types.is_datetime64_any_dtype(values):
            if explicit:
                raise InvalidChoiceError(
                    f"{name} holds dates, which a model cannot use as they are. Derive numeric "
                    "parts (year, month, day of week) as columns, or use it for a time split.")
            excluded.append(_out(name, "is a date or time (not usable as it is; derive numeric parts, "
                                       "or use it for a time-ordered split)"))
            continue
        kind = NUMERIC if col.kind == "numeric" else CATEGORICAL
        if not explicit:
            default_reason = _default_exclusion(col, values, kind)
            if default_reason:
                excluded.append(_out(name, default_reason))
                continue
        kinds[name] = kind
        if explicit and col.kind in ("id", "text"):
            notes.append(f"{name} looks {'id-like' if col.kind == 'id' else 'like free text'}; "
                         "it is used as a category because you chose it.")

    leaks = leakage_suspects(train, y, task, kinds)
    for name, (score, measure) in leaks.items():
        if explicit:
            notes.append(f"Warning: {name} predicts {spec.target} almost perfectly on its own "
                         f"({measure} {score:.3f}); it may leak the target. It is used because "
                         "you chose it.")
        else:
            del kinds[name]
            excluded.append(_out(name, f"is a suspected leak of the target: it predicts it almost "
                                       f"perfectly on its own ({measure} {score:.3f})"))
    if not kinds:
        left = "; ".join(f"{e['column']} {e['reason']}" for e in excluded[:8])
        raise TrainError(f"No usable features are left for {spec.target!r}"
                         + (f" ({left})" if left else "")
                         + ". Choose features with --features, or change column roles on the Data page.")
    return FeatureChoice(kinds, excluded, notes)


def _out(column: str, reason: str) -> dict[str, str]:
    return {"column": column, "reason": reason}


def _unusable(values: pd.Series, kind: str) -> Optional[str]:
    present = values.dropna()
    if len(present) == 0:
        return "has every value missing in the training rows"
    if kind == "constant" or present.nunique() < 2:
        return "has a single value in every training row (constant)"
    return None


def _default_exclusion(col: Any, values: pd.Series, kind: str) -> Optional[str]:
    # what the column holds says more than the role the import gave it for that reason
    if col.kind == "id":
        return "is id-like (a different value in almost every row)"
    if col.kind == "text":
        return "is free text"
    if col.role in ("id", "ignore"):
        return f"has the role {col.role!r} (set on the Data page)"
    if kind == CATEGORICAL:
        levels = int(values.nunique())
        if levels > MAX_CATEGORIES:
            return (f"has {levels:,} categories, too many to learn from (group them first, or "
                    "choose it explicitly)")
    return None


# -- leakage ------------------------------------------------------------------------------------

def leakage_suspects(train: pd.DataFrame, y: np.ndarray, task: str,
                     kinds: dict[str, str]) -> dict[str, tuple[float, str]]:
    """Features whose relation to the target alone reaches Explore's leakage bar, with the
    score and its measure: Explore's own measures, guards and threshold (one
    implementation, so the two pages cannot disagree), on at most
    :data:`LEAKAGE_SAMPLE` training rows (a fixed sample): a near-perfect relation shows
    as clearly in 20,000 rows as in millions."""
    import pyarrow as pa

    from ..explore import alerts, target_relations
    from .estimators import category_labels, numeric_values

    if not kinds:
        return {}
    if len(y) > LEAKAGE_SAMPLE:
        rows = np.sort(np.random.RandomState(0).choice(len(y), LEAKAGE_SAMPLE, replace=False))
        train, y = train.iloc[rows], y[rows]
    target = "\x00target"  # a name no column of a dataset can have
    columns = {name: pa.array(numeric_values(train[name]) if kind == NUMERIC
                              else category_labels(train[name]), from_pandas=True)
               for name, kind in kinds.items()}
    regression = task == "regression"
    columns[target] = pa.array(np.asarray(y, dtype=float) if regression else category_labels(y),
                               from_pandas=True)
    explore_kinds = {name: ("numeric" if kind == NUMERIC else "categorical") for name, kind in kinds.items()}
    explore_kinds[target] = "numeric" if regression else "categorical"
    section = target_relations(pa.table(columns), target, explore_kinds,
                               task="regression" if regression else "classification")
    return {r["column"]: (r["leakage_score"], r["leakage_measure"]) for r in section["relations"]
            if r.get("leakage_score") is not None and r["leakage_score"] >= alerts.LEAKAGE}
