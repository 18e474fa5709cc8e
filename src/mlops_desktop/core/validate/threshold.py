"""Choosing the probability above which a binary model says "positive".

A row is predicted positive when its score is at least the threshold. The candidates
are the distinct scores on the holdout (each one changes the confusion matrix) plus one
just above the highest score (nothing predicted positive), so every rule finds the
best of all confusion matrices the model can produce on these rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import numpy as np


from .. import numbers
from ..errors import InvalidChoiceError
from .errors import ValidationError

RULES = ("f1", "cost", "precision", "recall", "fixed")
RULE_NAMES = {"f1": "maximise F1", "cost": "minimise the cost of errors",
              "precision": "reach a target precision", "recall": "reach a target recall",
              "fixed": "a fixed threshold"}
#: the conventional threshold when "fixed" is asked for without a value
DEFAULT_FIXED = 0.5


@dataclass
class ThresholdTable:
    """Confusion counts at every candidate threshold, highest threshold first."""

    thresholds: np.ndarray
    tp: np.ndarray
    fp: np.ndarray
    positives: float
    negatives: float

    @property
    def fn(self) -> np.ndarray:
        """False negatives at each threshold."""
        return self.positives - self.tp

    @property
    def precision(self) -> np.ndarray:
        """Precision at each threshold (NaN where nothing is predicted positive)."""
        predicted = self.tp + self.fp
        out = np.full(len(predicted), np.nan)
        np.divide(self.tp, predicted, out=out, where=predicted > 0)
        return out

    @property
    def recall(self) -> np.ndarray:
        """Recall at each threshold (NaN when there are no positives)."""
        return self.tp / self.positives if self.positives else np.full(len(self.tp), np.nan)

    @property
    def f1(self) -> np.ndarray:
        """F1 at each threshold (NaN where it is not defined)."""
        den = 2 * self.tp + self.fp + self.fn
        out = np.full(len(den), np.nan)
        np.divide(2 * self.tp, den, out=out, where=den > 0)
        return out


def threshold_table(y_true: np.ndarray, scores: np.ndarray) -> ThresholdTable:
    """Counts at each distinct score (as threshold) and at one above the highest score."""
    y = np.asarray(y_true).astype(bool)
    s = np.asarray(scores, dtype=float)
    if len(s) == 0:
        raise ValidationError("A threshold cannot be chosen on an empty holdout.")
    if not np.all(np.isfinite(s)):
        raise ValidationError("The model's scores contain missing or infinite values.")
    order = np.argsort(-s, kind="mergesort")
    s, y = s[order], y[order]
    last_of_tie = np.r_[s[1:] != s[:-1], True]
    tp = np.cumsum(y)[last_of_tie].astype(float)
    fp = np.cumsum(~y)[last_of_tie].astype(float)
    above_all = np.nextafter(s[0], np.inf)
    return ThresholdTable(thresholds=np.r_[above_all, s[last_of_tie]], tp=np.r_[0.0, tp],
                          fp=np.r_[0.0, fp], positives=float(y.sum()), negatives=float((~y).sum()))


def choose_threshold(y_true, scores, rule: str, *, cost_fp: float = 1.0, cost_fn: float = 1.0,
                     target_value: Optional[float] = None) -> tuple[float, str]:
    """The threshold chosen by ``rule`` on these rows, and a sentence saying how.

    ``y_true``: True (or 1) for the positive class; ``scores``: the model's probability
    of the positive class. Rules:

    - ``"f1"``: the threshold with the highest F1;
    - ``"cost"``: the lowest total ``cost_fp × false positives + cost_fn × false negatives``;
    - ``"precision"``: the lowest threshold (most positives found) whose precision is at
      least ``target_value``;
    - ``"recall"``: the highest threshold (fewest false alarms) whose recall is at least
      ``target_value``;
    - ``"fixed"``: ``target_value`` itself (0.5 when not given).

    Ties go to the highest threshold. Raises :class:`ValidationError` when the rule
    cannot be met on these rows, :class:`InvalidChoiceError` for a bad rule or value.
    """
    if rule not in RULES:
        raise InvalidChoiceError(f"Unknown threshold rule {rule!r}; use one of {', '.join(RULES)}.")
    if rule == "fixed":
        t = DEFAULT_FIXED if target_value is None else float(target_value)
        if not np.isfinite(t):
            raise InvalidChoiceError("The fixed threshold must be a number.")
        source = "set by the analyst" if target_value is not None else "the conventional default"
        return t, f"fixed at {numbers.value(t)} ({source})"
    table = threshold_table(y_true, scores)
    if table.positives == 0 and rule != "cost":
        raise ValidationError(f"The rule '{RULE_NAMES[rule]}' needs positive rows in the holdout, "
                              "and it has none. Use a fixed threshold or a larger holdout.")
    if rule == "f1":
        f1 = np.nan_to_num(table.f1, nan=-1.0)
        i = int(np.argmax(f1))
        return float(table.thresholds[i]), (
            f"maximises F1 on the holdout (F1 {numbers.value(f1[i])}, precision {numbers.value(table.precision[i])}, "
            f"recall {numbers.value(table.recall[i])})")
    if rule == "cost":
        if cost_fp < 0 or cost_fn < 0 or not np.isfinite(cost_fp) or not np.isfinite(cost_fn):
            raise InvalidChoiceError("Costs of errors must be zero or positive numbers.")
        if cost_fp == 0 and cost_fn == 0:
            raise InvalidChoiceError("At least one of the two error costs must be above zero.")
        cost = cost_fp * table.fp + cost_fn * table.fn
        i = int(np.argmin(cost))
        n = table.positives + table.negatives
        return float(table.thresholds[i]), (
            f"minimises the cost {numbers.value(cost_fp)} × false positives + {numbers.value(cost_fn)} × false "
            f"negatives on the holdout (total {numbers.value(cost[i])}, {numbers.value(cost[i] / n)} per row; "
            f"{int(table.fp[i]):,} false positives, {int(table.fn[i]):,} false negatives)")
    if target_value is None or not (0 < float(target_value) <= 1):
        raise InvalidChoiceError(f"A target {rule} between 0 and 1 is needed, e.g. 0.9.")
    target = float(target_value)
    if rule == "precision":
        precision = table.precision
        ok = np.flatnonzero(np.nan_to_num(precision, nan=-1.0) >= target)
        if len(ok) == 0:
            best = int(np.nanargmax(precision))
            raise ValidationError(
                f"No threshold reaches a precision of {numbers.value(target)} on the holdout; the highest is "
                f"{numbers.value(precision[best])} (at threshold {numbers.value(table.thresholds[best])}). "
                "Choose a lower target precision.")
        i = int(ok[-1])  # lowest threshold: the most positives found at that precision
    else:
        ok = np.flatnonzero(table.recall >= target)
        i = int(ok[0])  # highest threshold: the fewest false positives at that recall
    return float(table.thresholds[i]), (
        f"the {'lowest' if rule == 'precision' else 'highest'} threshold with {rule} of at least "
        f"{numbers.value(target)} on the holdout (precision {numbers.value(table.precision[i])}, recall "
        f"{numbers.value(table.recall[i])})")


def decision_threshold(report: dict[str, Any], classes: Optional[list[str]]) -> tuple[Optional[float], Optional[str]]:
    """The decision threshold a validation report chose and its positive class, for a
    binary classifier with ``classes`` (labels as text); (None, None) when there is none
    (more classes, no threshold, or a validation of another labelling)."""
    threshold = report.get("threshold") if classes and len(classes) == 2 else None
    positive = report.get("positive_class") if threshold is not None else None
    if positive is not None and str(positive) not in (classes or []):
        return None, None
    return (None if threshold is None else float(threshold)), (None if positive is None else str(positive))
