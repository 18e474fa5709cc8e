"""What a validation returns: :class:`MetricEstimate` and :class:`ValidationReport`.

Plain, JSON-safe data (no NaN or infinity, ``None`` instead; no numpy scalars), so the
GUI renders it, the CLI prints it and the registry stores it as it is.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Optional

from ..checks.result import json_safe, number

REGRESSION = "regression"
BINARY = "binary"
MULTICLASS = "multiclass"
TASKS = (REGRESSION, BINARY, MULTICLASS)


@dataclass
class MetricEstimate:
    """A metric on the holdout with its 95% percentile bootstrap interval.

    ``low``/``high`` are None when no bootstrap ran or the metric was undefined in too
    many resamples; ``value`` is None when the metric is undefined on the holdout
    (ROC AUC with one class, say).
    """

    name: str
    value: Optional[float]
    low: Optional[float] = None
    high: Optional[float] = None
    label: str = ""
    #: True when larger is better, False when smaller is better
    higher_is_better: bool = True

    def __post_init__(self) -> None:
        self.value, self.low, self.high = number(self.value), number(self.low), number(self.high)

    def to_dict(self) -> dict[str, Any]:
        """The estimate as JSON-safe values."""
        return json_safe(asdict(self))


@dataclass
class ValidationReport:
    """A model judged on a holdout, next to its baseline."""

    task: str
    n_rows: int
    positive_class: Optional[str]
    classes: Optional[list[str]]
    metrics: list[MetricEstimate]
    baseline_metrics: list[MetricEstimate]
    beats_baseline: bool
    baseline_verdict: str
    threshold: Optional[float] = None
    #: "f1" | "cost" | "precision" | "recall" | "fixed" (binary only)
    threshold_rule: Optional[str] = None
    confusion_matrix: Optional[dict[str, Any]] = None
    curves: dict[str, Any] = field(default_factory=dict)
    subgroups: list[dict[str, Any]] = field(default_factory=list)
    importance: list[dict[str, Any]] = field(default_factory=list)
    partial_dependence: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: model minus baseline per metric, with the interval of the paired difference
    differences: list[MetricEstimate] = field(default_factory=list)
    #: the metric that decides ``beats_baseline``
    primary_metric: str = ""
    #: the sentence saying how the threshold was chosen, with its figures
    threshold_reason: Optional[str] = None
    #: what the baseline is, in words (e.g. "DummyClassifier(strategy='prior')")
    baseline_description: str = ""
    #: what permutation importance measures (e.g. "drop in ROC AUC")
    importance_metric: str = ""
    n_bootstrap: int = 0
    seed: int = 0
    seconds: float = 0.0
    #: binary models: calibration slope (ideal 1), calibration intercept (ideal 0) and
    #: expected calibration error (ideal 0), with bootstrap intervals
    calibration: list[MetricEstimate] = field(default_factory=list)
    #: each column's contribution to each row's score across the holdout, and kept rows
    #: (see ``explanations.holdout_contributions``); empty when not computed
    contributions: dict[str, Any] = field(default_factory=dict)

    def metric(self, name: str, *, baseline: bool = False) -> MetricEstimate:
        """The estimate called ``name`` (of the baseline when ``baseline``)."""
        for m in (self.baseline_metrics if baseline else self.metrics):
            if m.name == name:
                return m
        raise KeyError(name)

    def difference(self, name: str) -> MetricEstimate:
        """The difference from the baseline for the metric named ``name``; raises KeyError
        when there is none."""
        for m in self.differences:
            if m.name == name:
                return m
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-safe values, as ``validate --json`` prints it and the store
        keeps it."""
        d = asdict(self)
        for key in ("metrics", "baseline_metrics", "differences", "calibration"):
            d[key] = [m.to_dict() for m in getattr(self, key)]
        return json_safe(d)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ValidationReport":
        """Rebuild a report stored with :meth:`to_dict` (for a model card of a stored version)."""
        d = dict(d)
        for key in ("metrics", "baseline_metrics", "differences", "calibration"):
            d[key] = [MetricEstimate(**m) for m in d.get(key) or []]
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in d.items() if k in known})
