"""What a check returns: :class:`CheckResult`, and :class:`CheckReport` for a run.

Everything in a result is plain, JSON-safe data: no NaN or infinity (``None``
instead), no numpy scalars, at most a few thousand points per chart.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Optional

import numpy as np

from ..plain import json_safe  # noqa: F401  (re-exported: checks use it from here)

OK = "ok"
WARNING = "warning"
PROBLEM = "problem"
NOT_APPLICABLE = "not_applicable"
VERDICTS = (OK, WARNING, PROBLEM, NOT_APPLICABLE)

#: Most points a chart carries; larger samples are thinned deterministically.
MAX_CHART_POINTS = 5000


@dataclass
class CheckResult:
    """One check: what it tested, its verdict with the figures that decided it, why it matters, what to do."""
    id: str
    name: str
    tested: str
    verdict: str
    statistic: Optional[float] = None
    statistic_name: Optional[str] = None
    p_value: Optional[float] = None
    effect: Optional[float] = None
    effect_name: Optional[str] = None
    decided_by: str = ""
    why: str = ""
    action: str = ""
    figures: dict[str, Any] = field(default_factory=dict)
    chart: Optional[dict[str, Any]] = None
    #: the analyst's latest acceptance of this check's warning, if any (see acceptance.py)
    accepted: Optional[dict[str, Any]] = None
    #: recipe steps, in words, that act on ``action`` (see ``core.prepare.suggest.for_check``);
    #: attached when a run is made or opened, never stored with it
    suggested_steps: list[str] = field(default_factory=list)
    #: the advice as a formula to apply, when it is a term (see suggestions.TermSuggestion)
    suggestion: Optional[dict[str, Any]] = None

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"unknown verdict {self.verdict!r}")
        self.statistic = number(self.statistic)
        self.p_value = number(self.p_value)
        self.effect = number(self.effect)
        self.figures = json_safe(self.figures or {})
        self.chart = json_safe(self.chart) if self.chart is not None else None

    def to_dict(self) -> dict[str, Any]:
        """The result as JSON-safe values, as ``check --json`` prints it."""
        return json_safe(asdict(self))

    def rows_to_look_at(self) -> tuple[list[str], list[list[Any]]]:
        """The rows the advice points to (the most influential points), as a header and
        rows; row numbers count from 1, as on the Data page. Empty when none."""
        top = self.figures.get("top_rows") or []
        if not top:
            return [], []
        head = ["row", "Cook's distance", "leverage", "studentised residual"]
        return head, [[int(r["row"]) + 1, r.get("cooks_distance"), r.get("leverage"),
                       r.get("studentized_residual")] for r in top]


@dataclass
class CheckReport:
    """Every check run for one target and set of features, with the rows they used."""
    target: str
    task: str
    task_inferred: bool
    features: list[str]
    time_column: Optional[str]
    n_rows: int
    n_used: int
    n_dropped_missing: int
    checks: list[CheckResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: the columns of the design matrix the checks ran on (categorical features one-hot)
    design_columns: list[str] = field(default_factory=list)
    #: the model formula the design came from (None: the features, categories one-hot)
    formula: Optional[str] = None
    #: the target as the fit saw it, e.g. "log(wage)" (empty in runs stored before formulas)
    target_label: str = ""
    #: set once the run is stored (see ``history.save_check_run``)
    id: Optional[int] = None
    created_at: Optional[str] = None
    created_by: Optional[str] = None

    def check(self, check_id: str) -> CheckResult:
        """The result of the check with this id; raises KeyError when the report has none."""
        for c in self.checks:
            if c.id == check_id:
                return c
        raise KeyError(check_id)

    @property
    def verdict_counts(self) -> dict[str, int]:
        """How many checks ended on each verdict (every verdict listed, zero included)."""
        counts = {v: 0 for v in VERDICTS}
        for c in self.checks:
            counts[c.verdict] += 1
        return counts

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-safe values with the verdict counts, as ``check --json`` prints
        it and the store keeps it."""
        d = asdict(self)
        d["checks"] = [c.to_dict() for c in self.checks]
        d["verdict_counts"] = self.verdict_counts
        return json_safe(d)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "CheckReport":
        """A report as stored (:meth:`to_dict`) back as an object."""
        checks = [CheckResult(**{k: v for k, v in c.items() if k in CheckResult.__dataclass_fields__})
                  for c in d.get("checks") or []]
        known = set(cls.__dataclass_fields__) - {"checks"}
        return cls(**{k: v for k, v in d.items() if k in known}, checks=checks)


def number(value: Any) -> Optional[float]:
    """A finite float, or None for missing, NaN and infinite values."""
    if value is None:
        return None
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def thin(n: int, limit: int = MAX_CHART_POINTS, *, keep: Optional[np.ndarray] = None) -> np.ndarray:
    """Sorted positions of at most ``limit`` of ``n`` points, chosen deterministically.

    ``keep`` (positions) are always included first, then a fixed-seed random sample.
    """
    if n <= limit:
        return np.arange(n)
    chosen = np.unique(keep)[:limit] if keep is not None and len(keep) else np.empty(0, dtype=int)
    rest = limit - len(chosen)
    if rest > 0:
        pool = np.setdiff1d(np.arange(n), chosen, assume_unique=True)
        rng = np.random.default_rng(20240611)
        chosen = np.concatenate([chosen, rng.choice(pool, size=rest, replace=False)])
    return np.sort(chosen.astype(int))


def quantile_positions(n: int, limit: int = MAX_CHART_POINTS) -> np.ndarray:
    """Evenly spaced positions in a sorted sample of ``n``, ends included (for Q-Q plots)."""
    if n <= limit:
        return np.arange(n)
    return np.unique(np.round(np.linspace(0, n - 1, limit)).astype(int))
