"""Reason codes: for each row, the columns that pushed its score most towards the
decision it got, with their signed contributions and the row's values, as the app and an
exported package's ``score.py --reasons N`` give them.

The decision of a row: for a two-class model, its label at the decision threshold (the
positive class when the probability of the positive class is at least the threshold,
else the other class); for more classes, the predicted (most probable) class; a
regression has none. The reasons of a row are the columns whose contributions pushed
the score towards that decision (positive contributions for a row decided positive,
negative ones for a row decided negative; towards the predicted class for more
classes), largest first; for a regression, the largest contributions either way. Fewer
than N columns may qualify: the other reason cells stay empty.

``reasons-for adverse`` gives reasons only to the rows decided positive (the outcome the
model flags, e.g. a default): the decisions that need an adverse-action notice.

Contributions are on the model's raw output (``Contributions.outputs``): base value +
every contribution = the raw score of the row. Each row's ``reason_base``,
``reason_others`` (the sum of the contributions not listed) and ``reason_score`` make
this checkable: base + listed contributions + others = score.

Imports numpy, pandas and this package.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np
import pandas as pd

from .contributions import Contributions

#: which rows get reasons
ALL, ADVERSE = "all", "adverse"
REASONS_FOR = (ALL, ADVERSE)
#: reasons per row at most
MOST_REASONS = 20


class ReasonsError(ValueError):
    """Reasons cannot be given as asked (e.g. adverse decisions of a model with no
    decision threshold); the message says what to do instead."""


def cell_texts(values: pd.Series) -> np.ndarray:
    """A column's values as text for people, as the model read them: whole numbers
    without a decimal part, other numbers in their shortest exact form, categories as
    their labels; missing values as None."""
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        x = values.to_numpy(dtype=np.float64, na_value=np.nan)
        finite = np.isfinite(x)
        whole = finite & (np.mod(np.where(finite, x, 0.0), 1.0) == 0) & (np.abs(x) < 2 ** 53)
        text = np.where(whole, np.where(whole, x, 0).astype(np.int64).astype(str), x.astype(str)).astype(object)
        text[np.isnan(x)] = None
        return text
    out = values.to_numpy(dtype=object, na_value=None).copy()
    out[pd.isna(values).to_numpy()] = None
    return out


def reason_columns(top: int) -> list[tuple[str, str]]:
    """The output columns for ``top`` reasons, in order, with their type ("double" or
    "string")."""
    out = [("reason_base", "double")]
    for k in range(1, top + 1):
        out += [(f"reason_{k}", "string"), (f"reason_{k}_value", "string"), (f"reason_{k}_contribution", "double")]
    return out + [("reason_others", "double"), ("reason_score", "double")]


@dataclass
class Decisions:
    """Per row: the output explained (its position in ``Contributions.outputs``), the
    direction of its decision (+1 towards the output's class, -1 away from it, 0 a
    regression: either way) and whether it gets reasons."""

    output: np.ndarray
    direction: np.ndarray
    wanted: np.ndarray


def decisions(contributions: Contributions, *, threshold: Optional[float], reasons_for: str = ALL,
              positive_probability: Optional[np.ndarray] = None) -> Decisions:
    """Each row's decision. Two classes: positive when the probability of the explained
    (positive) class is at least ``threshold`` (the most probable class when None);
    ``positive_probability``: that probability as the model gave it (default: from the
    raw output). ``reasons_for`` ``"adverse"``: only the rows decided positive get
    reasons, which needs a threshold."""
    if reasons_for not in REASONS_FOR:
        raise ReasonsError(f"Reasons are for {' or '.join(REASONS_FOR)} rows, not {reasons_for!r}.")
    n = contributions.rows
    classes = contributions.classes
    if reasons_for == ADVERSE and (classes is None or len(classes) != 1 or threshold is None):
        raise ReasonsError("Reasons for adverse decisions need a two-class model with a decision threshold "
                           "(chosen at validation); this model has none. Ask for reasons of all rows instead.")
    if classes is None:
        return Decisions(np.zeros(n, dtype=np.intp), np.zeros(n), np.ones(n, dtype=bool))
    if len(classes) == 1:
        if positive_probability is None:
            raw = contributions.raw[:, 0]
            positive_probability = raw if contributions.scale == "probability" else 1.0 / (1.0 + np.exp(-raw))
        positive = positive_probability >= (0.5 if threshold is None else threshold)
        wanted = positive if reasons_for == ADVERSE else np.ones(n, dtype=bool)
        return Decisions(np.zeros(n, dtype=np.intp), np.where(positive, 1.0, -1.0), wanted)
    # more classes: the raw outputs order the classes as their probabilities do
    return Decisions(np.argmax(contributions.raw, axis=1), np.ones(n), np.ones(n, dtype=bool))


def reasons(contributions: Contributions, frame: pd.DataFrame, chosen: Decisions, top: int) -> dict[str, np.ndarray]:
    """The reason columns (see :func:`reason_columns`) for the rows of ``frame`` (the
    rows ``contributions`` explain): the ``top`` columns that pushed each row's score
    most towards its decision. Rows not wanted get empty cells."""
    if not 1 <= top <= MOST_REASONS:
        raise ReasonsError(f"Ask for 1 to {MOST_REASONS} reasons per row, not {top}.")
    n, p = contributions.rows, len(contributions.columns)
    rows = np.arange(n)
    values = contributions.values[rows, :, chosen.output]                      # (n, p)
    base = contributions.base[rows, chosen.output]
    score = contributions.raw[rows, chosen.output]
    strength = np.where(chosen.direction[:, None] == 0, np.abs(values), values * chosen.direction[:, None])
    order = np.argsort(-strength, axis=1, kind="stable")[:, :top]
    listed = np.take_along_axis(strength, order, axis=1) > 0
    listed &= chosen.wanted[:, None]
    names = np.asarray(contributions.columns, dtype=object)
    cells = np.column_stack([cell_texts(frame[c]) for c in contributions.columns]) if p else \
        np.empty((n, 0), dtype=object)
    out: dict[str, np.ndarray] = {"reason_base": np.where(chosen.wanted, base, np.nan)}
    shown = np.zeros(n)
    for k in range(top):
        if k >= p:
            out[f"reason_{k + 1}"] = np.full(n, None, dtype=object)
            out[f"reason_{k + 1}_value"] = np.full(n, None, dtype=object)
            out[f"reason_{k + 1}_contribution"] = np.full(n, np.nan)
            continue
        column = order[:, k]
        here = listed[:, k]
        contribution = values[rows, column]
        out[f"reason_{k + 1}"] = np.where(here, names[column], None).astype(object)
        out[f"reason_{k + 1}_value"] = np.where(here, cells[rows, column], None).astype(object)
        out[f"reason_{k + 1}_contribution"] = np.where(here, contribution, np.nan)
        shown += np.where(here, contribution, 0.0)
    out["reason_others"] = np.where(chosen.wanted, values.sum(axis=1) - shown, np.nan)
    out["reason_score"] = np.where(chosen.wanted, score, np.nan)
    return out


class ReasonCodes:
    """The reason columns of a scoring run, chunk by chunk: contributions are computed
    only for the rows that get reasons, and a run gives reasons to at most
    ``row_limit`` rows (past it, :class:`ReasonsError` says how to split the work).

    ``explainer``: a ``contributions.Explainer`` of the model; ``threshold`` and
    ``positive_class``: the decision threshold chosen at validation and its class (None
    when the model has none)."""

    def __init__(self, explainer: object, *, top: int, reasons_for: str, threshold: Optional[float],
                 positive_class: Optional[str], row_limit: int) -> None:
        if not 1 <= top <= MOST_REASONS:
            raise ReasonsError(f"Ask for 1 to {MOST_REASONS} reasons per row, not {top}.")
        if reasons_for not in REASONS_FOR:
            raise ReasonsError(f"Reasons are for {' or '.join(REASONS_FOR)} rows, not {reasons_for!r}.")
        classes = getattr(explainer, "classes", None)
        if reasons_for == ADVERSE and (classes is None or len(classes) != 1 or threshold is None):
            raise ReasonsError("--reasons-for adverse needs a two-class model with a decision threshold (chosen "
                               "at validation); this model has none: use --reasons-for all.")
        self.explainer, self.top, self.reasons_for = explainer, top, reasons_for
        self.threshold, self.positive_class, self.row_limit = threshold, positive_class, row_limit
        self.columns = reason_columns(top)
        #: rows given reasons so far
        self.explained = 0

    def add(self, frame: pd.DataFrame, probability: Optional[np.ndarray]) -> dict[str, np.ndarray]:
        """The reason columns for scored rows (``frame``: the model's typed inputs;
        ``probability``: the model's probability of the positive class, two classes only)."""
        n = len(frame)
        classes = getattr(self.explainer, "classes", None)
        binary = classes is not None and len(classes) == 1
        if self.reasons_for == ADVERSE and probability is not None:
            wanted = np.asarray(probability) >= self.threshold
        else:
            wanted = np.ones(n, dtype=bool)
        count = int(wanted.sum())
        if self.explained + count > self.row_limit:
            raise ReasonsError(
                f"Reasons with this model take long (a large forest): a run gives them to at most "
                f"{self.row_limit:,} rows, and this one has reached {self.explained + count:,}. Score the "
                f"file in parts of at most {self.row_limit:,} rows"
                + (", or ask for the adverse decisions only (--reasons-for adverse)." if binary and
                   self.reasons_for == ALL and self.threshold is not None else "."))
        self.explained += count
        rows = np.flatnonzero(wanted)
        part = frame.iloc[rows] if count < n else frame
        contributions = self.explainer.explain(part)  # type: ignore[attr-defined]
        chosen = decisions(contributions, threshold=self.threshold,
                           positive_probability=None if probability is None or not binary
                           else np.asarray(probability)[rows])
        found = reasons(contributions, part, chosen, self.top)
        out: dict[str, np.ndarray] = {}
        for name, kind in self.columns:
            full = np.full(n, np.nan) if kind == "double" else np.full(n, None, dtype=object)
            full[rows] = found[name]
            out[name] = full
        return out
