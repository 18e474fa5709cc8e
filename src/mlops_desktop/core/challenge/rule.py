"""The rule a challenger must pass, declared before anything is scored, and the verdict
it gives on the paired interval of challenger − champion.

The interval is turned into the *gain*: challenger − champion for a metric where higher
is better, champion − challenger where lower is better, so a positive gain is always an
improvement. With margin M (in the metric's own units, M ≥ 0):

- **superiority**: the challenger wins when the whole interval of the gain is above M
  ("better"); it is "worse" when the whole interval is below 0; otherwise the data do not
  show it better by more than M ("inconclusive").
- **non-inferiority**: the challenger wins when the whole interval is above −M: "better"
  when it is also above 0, else "not worse" (within the margin); it is "worse" when the
  whole interval is below −M; otherwise "inconclusive".
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Optional

from .. import numbers
from ..validate.metrics import MAIN_METRICS, METRIC_INFO, PRIMARY, label
from .errors import ChallengeError

RULES = ("superiority", "non-inferiority")
VERDICTS = ("better", "not worse", "inconclusive", "worse")


@dataclass(frozen=True)
class Rule:
    """What the challenger must show: on ``metric``, by ``rule``, with ``margin``."""

    metric: str
    rule: str = "superiority"
    margin: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """The rule as plain values (metric, rule, margin), as it is stored with the
        challenge."""
        return {"metric": self.metric, "rule": self.rule, "margin": self.margin}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Rule":
        """A rule read back from :meth:`to_dict`'s form."""
        return cls(str(d["metric"]), str(d["rule"]), float(d["margin"]))

    @classmethod
    def checked(cls, task: str, metric: Optional[str], rule: str, margin: Any) -> "Rule":
        """The rule for a model of ``task`` (``metric`` None: the task's primary metric),
        or :class:`ChallengeError` saying what is wrong."""
        group = "binary" if task == "classification" else task
        metric = (metric or PRIMARY[group]).strip().lower()
        allowed = MAIN_METRICS[group]
        if metric not in allowed:
            raise ChallengeError(f"{metric!r} is not a metric of a {group} model; use one of "
                                 f"{', '.join(allowed)}.")
        rule = str(rule or "").strip().lower().replace("_", "-")
        if rule not in RULES:
            raise ChallengeError(f"Unknown rule {rule!r}; use superiority (the challenger must be better) or "
                                 "non-inferiority (it must not be worse by more than the margin).")
        try:
            value = float(margin)
        except (TypeError, ValueError):
            value = math.nan
        if not math.isfinite(value) or value < 0:
            raise ChallengeError(f"The margin must be a number, 0 or more, in the units of {label(metric, group)} "
                                 f"(e.g. 0.01); got {margin!r}.")
        if rule == "non-inferiority" and value == 0:
            raise ChallengeError("Non-inferiority needs a margin above 0 (how much worse would still be "
                                 "acceptable); with 0 it is the superiority rule.")
        return cls(metric, rule, value)

    @property
    def higher_is_better(self) -> bool:
        """Whether a larger value of the rule's metric is the better one."""
        return METRIC_INFO[self.metric].higher_is_better

    def describe(self, task: str = "") -> str:
        """The rule in a sentence."""
        name = numbers.metric_name(self.metric, task)
        if self.rule == "superiority":
            by = f"by more than {numbers.value(self.margin)}" if self.margin else "(the interval above 0)"
            return f"superiority on {name}: the challenger must be better {by}"
        return (f"non-inferiority on {name}: the challenger must not be worse than production by "
                f"{numbers.value(self.margin)} or more")

    def judge(self, low: Optional[float], high: Optional[float]) -> tuple[str, bool]:
        """(verdict, wins) for the interval of challenger − champion."""
        if low is None or high is None:
            return "inconclusive", False
        gain_low, gain_high = (low, high) if self.higher_is_better else (-high, -low)
        m = self.margin
        if self.rule == "superiority":
            if gain_low > m:
                return "better", True
            if gain_high < 0:
                return "worse", False
            return "inconclusive", False
        if gain_low > -m:
            return ("better" if gain_low > 0 else "not worse"), True
        if gain_high < -m:
            return "worse", False
        return "inconclusive", False

    def sentence(self, verdict: str, wins: bool, champion: Optional[float], challenger: Optional[float],
                 difference: Optional[float], low: Optional[float], high: Optional[float], *,
                 task: str = "", against: str = "production") -> str:
        """The verdict in words with the figures: "Better: ROC AUC 0.74 against production's
        0.715, a difference of +0.025 (95% interval +0.012 to +0.038), above the margin of
        0.01 (superiority). The challenger wins."."""
        name = numbers.metric_name(self.metric, task)
        if difference is None or low is None or high is None:
            return (f"Inconclusive: {name} or its interval is not defined on these rows (see the notes), so the "
                    f"rule cannot be judged. The challenger does not win.")
        better = "higher" if self.higher_is_better else "lower"
        figures = (f"{name} {numbers.value(challenger)} against {against}'s {numbers.value(champion)}, a "
                   f"difference of {numbers.signed(difference)} (95% interval "
                   f"{numbers.interval(low, high, sign=True)}; {better} is better)")
        m = numbers.value(self.margin)
        why = {
            ("superiority", "better"): f"better by more than the margin of {m}",
            ("superiority", "worse"): "worse: the whole interval is on the wrong side of 0",
            ("superiority", "inconclusive"): (f"not shown to be better by more than {m}" if self.margin else
                                              "not shown to be better: the interval includes 0"),
            ("non-inferiority", "better"): f"better, and so not worse by {m} or more",
            ("non-inferiority", "not worse"): f"not worse within the margin of {m}",
            ("non-inferiority", "worse"): f"worse by more than the margin of {m}",
            ("non-inferiority", "inconclusive"): f"not shown to be within {m} of it: the interval reaches past the margin",
        }[(self.rule, verdict)]
        head = {"better": "Better", "not worse": "Not worse", "worse": "Worse", "inconclusive": "Inconclusive"}[verdict]
        return (f"{head}: {figures}: {why} ({self.rule}). "
                + ("The challenger wins." if wins else "The challenger does not win."))
