"""What a training run and a reproduction return: plain data the GUI renders and the
CLI prints as JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from ..plain import json_safe


@dataclass
class TrainResult:
    """A finished run: the leaderboard of families, the chosen one, the registered
    version and everything needed to read the numbers correctly (notes)."""

    run_id: int
    status: str
    dataset: dict[str, Any]
    target: str
    task: str
    task_reason: str
    features: list[dict[str, str]]          # {"name", "kind"}
    excluded: list[dict[str, str]]          # {"column", "reason"}
    split: dict[str, Any]
    rows: dict[str, int]
    cv_folds: int
    primary_metric: str                     # what Validate judges against the baseline
    candidates: list[dict[str, Any]]        # one per family, in the order trained
    baseline: dict[str, Any]
    ranking_metric: str = ""                # what chose between the candidates
    chosen: Optional[str] = None
    model: Optional[str] = None
    version: Optional[int] = None
    stage: Optional[str] = None
    artifact_sha256: Optional[str] = None
    prediction_sha256: Optional[str] = None
    classes: Optional[list[Any]] = None
    segment_by: Optional[str] = None
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    library_versions: dict[str, str] = field(default_factory=dict)
    #: the model formula, as given (None: features without terms)
    formula: Optional[str] = None
    #: the chosen model's terms (see ``formula.model_terms``)
    terms: Optional[dict[str, Any]] = None

    @property
    def chosen_candidate(self) -> Optional[dict[str, Any]]:
        """The record of the candidate chosen as the version (None when none was chosen)."""
        return next((c for c in self.candidates if c["family"] == self.chosen), None)

    @property
    def metrics(self) -> dict[str, Any]:
        """The chosen family's cross-validated and holdout metrics."""
        c = self.chosen_candidate
        return {"cv": c["cv"], "holdout": c["holdout"]} if c else {"cv": {}, "holdout": None}

    def to_dict(self) -> dict[str, Any]:
        """What ``train --json`` prints: the run's fields with the chosen candidate's
        metrics."""
        d = dict(self.__dict__)
        d["metrics"] = self.metrics
        d["seconds"] = round(self.seconds, 3)
        return json_safe(d)


@dataclass
class ReproduceResult:
    """A reproduction: the same spec and seed trained again from the dataset's snapshot,
    compared with the original by a hash of the predictions and by the metrics."""

    run_id: int                             # the reproduction's own run
    reproduces: int                         # the original run
    identical: bool
    predictions_identical: bool
    metrics_equal: bool
    prediction_sha256: dict[str, Optional[str]]   # {"original", "reproduced"}
    metric_differences: list[dict[str, Any]]      # {"where", "metric", "original", "reproduced", "difference"}
    family: str
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """What ``reproduce --json`` prints."""
        d = dict(self.__dict__)
        d["seconds"] = round(self.seconds, 3)
        return json_safe(d)
