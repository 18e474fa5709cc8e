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

#: the same bar as Explore's leakage alert: the two pages must not disagree
LEAKAGE = 0.98
#: a categorical column with more levels than this is left out by default
MAX_CATEGORIES = 200
#: categories with fewer rows on average say too little for a leakage verdict
MIN_ROWS_PER_CATEGORY = 20
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
        return list(self.kinds)

    @property
    def numeric(self) -> list[str]:
        return [c for c, k in self.kinds.items() if k == NUMERIC]

    @property
    def categorical(self) -> list[str]:
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
    """Features whose relation to the target alone reaches :data:`LEAKAGE`, with the
    score and its measure (the measures Explore uses). Measured on at most
    :data:`LEAKAGE_SAMPLE` training rows (a fixed sample): a near-perfect relation
    shows as clearly in 20,000 rows as in millions."""
    if len(y) > LEAKAGE_SAMPLE:
        rows = np.sort(np.random.RandomState(0).choice(len(y), LEAKAGE_SAMPLE, replace=False))
        train, y = train.iloc[rows], y[rows]
    out = {}
    for name, kind in kinds.items():
        scored = _leakage_score(train[name], y, task, kind)
        if scored is not None and scored[0] >= LEAKAGE:
            out[name] = scored
    return out


def _leakage_score(x: pd.Series, y: np.ndarray, task: str,
                   kind: str) -> Optional[tuple[float, str]]:
    from .estimators import category_labels, numeric_values

    if kind == NUMERIC:
        values = numeric_values(x)
        mask = np.isfinite(values)
        if task == "regression":
            mask &= np.isfinite(np.asarray(y, dtype=float))
            if mask.sum() < 3:
                return None
            a, b = values[mask], np.asarray(y, dtype=float)[mask]
            r = _correlation(a, b)
            rho = _correlation(pd.Series(a).rank().to_numpy(), pd.Series(b).rank().to_numpy())
            scores = [(r * r, "R²"), (abs(rho), "|Spearman|")]
            return max((s for s in scores if np.isfinite(s[0])), default=None)
        if mask.sum() < 3:
            return None
        classes = pd.Series(y[mask]).astype(str).to_numpy()
        if task == "binary":
            return _auc(values[mask], classes)
        return _eta_squared(classes, values[mask]), "η²"
    labels = pd.Series(category_labels(x))
    present = labels.notna().to_numpy()
    n_levels = labels[present].nunique()
    if n_levels < 2 or present.sum() / n_levels < MIN_ROWS_PER_CATEGORY:
        return None
    if task == "regression":
        return _eta_squared(labels[present].to_numpy(), np.asarray(y, dtype=float)[present]), "η²"
    return _cramers_v(labels[present].to_numpy(), pd.Series(y[present]).astype(str).to_numpy()), \
        "Cramér's V"


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def _auc(values: np.ndarray, classes: np.ndarray) -> Optional[tuple[float, str]]:
    levels = np.unique(classes)
    if len(levels) != 2:
        return None
    positive = classes == levels[1]
    ranks = pd.Series(values).rank().to_numpy()
    n1, n0 = positive.sum(), (~positive).sum()
    auc = (ranks[positive].sum() - n1 * (n1 + 1) / 2) / (n1 * n0)
    return max(auc, 1 - auc), "univariate AUC"


def _eta_squared(groups: np.ndarray, values: np.ndarray) -> float:
    """The share of the variance of ``values`` between the groups."""
    frame = pd.DataFrame({"g": groups, "v": values}).dropna()
    total = ((frame.v - frame.v.mean()) ** 2).sum()
    if total <= 0:
        return float("nan")
    means = frame.groupby("g", sort=False).v.transform("mean")
    return float(((means - frame.v.mean()) ** 2).sum() / total)


def _cramers_v(a: np.ndarray, b: np.ndarray) -> float:
    from scipy.stats import chi2_contingency

    table = pd.crosstab(a, b).to_numpy()
    if min(table.shape) < 2:
        return float("nan")
    chi2 = chi2_contingency(table, correction=False)[0]
    return float(np.sqrt(chi2 / (table.sum() * (min(table.shape) - 1))))
