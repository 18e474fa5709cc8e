"""What a training run is asked to do: the target, features, split, model families,
cross-validation, search, segmentation and seed.

A :class:`TrainSpec` is stored with its run as JSON (``to_dict``); reproducing a run
rebuilds the spec from that JSON (``from_dict``) and trains again.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Optional

from ..errors import InvalidChoiceError

#: what the user may ask for; "classification" means binary or multiclass by the data
TASK_CHOICES = ("regression", "classification", "binary", "multiclass")
#: "auto": stratified for classification, random for regression
SPLIT_KINDS = ("auto", "random", "stratified", "time", "group")
DEFAULT_MODELS = ("linear", "hgb")
MAX_CV_FOLDS = 20
#: preprocessing choices that override the defaults of a model family
PREPROCESSING_KEYS = {
    "scale": "standardise numeric features (default: only for regularised linear and logistic models)",
    "encoding": "'onehot' or 'ordinal' for categories (default: one-hot for linear families, "
                "ordinal for trees)",
    "numeric_imputation": "'median' or 'mean' for missing numbers (default: median)",
    "rare_min_rows": "categories with fewer training rows are grouped as rare (default: 10; 0: never)",
}


@dataclass
class SplitSpec:
    """How rows are split into a training part and a holdout.

    ``kind``: auto, random, stratified, time (ordered by ``column``; the latest rows
    are the holdout) or group (whole groups of ``column`` go to one side).
    ``test_size``: the holdout's share of the rows; 0 trains on every row.
    """

    kind: str = "auto"
    column: Optional[str] = None
    test_size: float = 0.2

    def to_dict(self) -> dict[str, Any]:
        """The split as plain values, as the run records it."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "SplitSpec":
        """A split read back from :meth:`to_dict`'s form; raises InvalidChoiceError naming
        any unknown setting."""
        unknown = set(data) - {f.name for f in fields(cls)}
        if unknown:
            raise InvalidChoiceError(f"Unknown split setting(s): {', '.join(sorted(unknown))}.")
        return cls(**data)

    @classmethod
    def parse(cls, text: str, test_size: float = 0.2) -> "SplitSpec":
        """``random``, ``stratified``, ``time:COLUMN`` or ``group:COLUMN``."""
        kind, _, column = (text or "auto").strip().partition(":")
        kind = kind.strip().lower()
        column = column.strip() or None
        if kind in ("time", "group") and not column:
            raise InvalidChoiceError(f"Name the column for a {kind} split: '{kind}:COLUMN'.")
        if kind not in ("time", "group") and column:
            raise InvalidChoiceError(f"A {kind} split takes no column; use 'time:{column}' or "
                                     f"'group:{column}'.")
        spec = cls(kind=kind, column=column, test_size=test_size)
        spec.validate()
        return spec

    def validate(self) -> None:
        """Raise InvalidChoiceError, saying what to give instead, for an unknown kind, a time
        or group split without a column, or a holdout share outside [0, 1)."""
        if self.kind not in SPLIT_KINDS:
            raise InvalidChoiceError(f"Unknown split {self.kind!r}; use random, stratified, "
                                     "time:COLUMN or group:COLUMN.")
        if self.kind in ("time", "group") and not self.column:
            raise InvalidChoiceError(f"A {self.kind} split needs a column.")
        size = self.test_size
        if not isinstance(size, (int, float)) or isinstance(size, bool) or not math.isfinite(size) \
                or not 0 <= size < 1:
            raise InvalidChoiceError(f"The holdout share must be at least 0 and below 1 "
                                     f"(e.g. 0.2); got {size!r}.")

    def describe(self) -> str:
        """The split in a few words ("time by date, holdout 20%")."""
        where = f" by {self.column}" if self.column else ""
        return f"{self.kind}{where}, holdout {self.test_size:.0%}"


@dataclass
class TrainSpec:
    """Everything a training run needs to know; all but ``dataset`` and ``target`` have
    defaults. ``features=None`` lets the run choose (and say what it left out and why)."""

    dataset: str | int
    target: str
    task: Optional[str] = None
    features: Optional[list[str]] = None
    exclude: list[str] = field(default_factory=list)
    models: list[str] = field(default_factory=lambda: list(DEFAULT_MODELS))
    split: SplitSpec = field(default_factory=SplitSpec)
    cv_folds: int = 5
    search_candidates: int = 0
    #: seconds for each family's search (shared among its segments); None: no limit
    search_time_budget_s: Optional[float] = 300.0
    segment_by: Optional[str] = None
    min_segment_rows: int = 200
    seed: int = 42
    model_name: Optional[str] = None
    #: heteroscedasticity-robust (HC3) standard errors for ordinary least squares
    robust_errors: bool = False
    preprocessing: dict[str, Any] = field(default_factory=dict)
    #: the metric that ranks the candidates (one of the task's); None: the primary metric
    ranking_metric: Optional[str] = None
    #: model terms in Wilkinson–Rogers notation, ``log(wage) ~ education + poly(experience, 2)``:
    #: its left names the target (and its transformation), its right the features and terms
    formula: Optional[str] = None
    #: how predictions of a transformed target come back in its units (see formula.RETRANSFORMS)
    retransform: str = "smearing"

    def to_dict(self) -> dict[str, Any]:
        """The settings as plain values, as the run records them and the wizard remembers
        them."""
        d = asdict(self)
        d["split"] = self.split.to_dict()
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TrainSpec":
        """Settings read back from :meth:`to_dict`'s form (the split as a dict or as text,
        "time:date"); raises InvalidChoiceError naming any unknown setting."""
        data = dict(data)
        unknown = set(data) - {f.name for f in fields(cls)}
        if unknown:
            raise InvalidChoiceError(f"Unknown training setting(s): {', '.join(sorted(unknown))}.")
        split = data.pop("split", None)
        if isinstance(split, str):
            split = SplitSpec.parse(split)
        elif isinstance(split, dict):
            split = SplitSpec.from_dict(split)
        return cls(**data, split=split or SplitSpec())

    def validate(self) -> None:
        """Checks that need no data: each raises :class:`InvalidChoiceError`."""
        if not str(self.target or "").strip():
            raise InvalidChoiceError("Choose a target column.")
        if self.task is not None and self.task not in TASK_CHOICES:
            raise InvalidChoiceError(f"Unknown task {self.task!r}; use one of {', '.join(TASK_CHOICES)}.")
        self.split.validate()
        if not self.models:
            raise InvalidChoiceError("Choose at least one model family.")
        if not _whole(self.cv_folds) or not 2 <= self.cv_folds <= MAX_CV_FOLDS:
            raise InvalidChoiceError(f"Cross-validation needs between 2 and {MAX_CV_FOLDS} folds; "
                                     f"got {self.cv_folds!r}.")
        if not _whole(self.search_candidates) or self.search_candidates < 0:
            raise InvalidChoiceError("The number of search candidates must be 0 (no search) or more.")
        budget = self.search_time_budget_s
        if budget is not None and (not isinstance(budget, (int, float)) or not budget >= 0):
            raise InvalidChoiceError("The search time budget must be 0 seconds or more.")
        if not _whole(self.min_segment_rows) or self.min_segment_rows < 1:
            raise InvalidChoiceError("The minimum segment size must be at least 1 row.")
        if not _whole(self.seed) or self.seed < 0 or self.seed >= 2**32:
            raise InvalidChoiceError("The seed must be a whole number from 0 to 4294967295.")
        if self.model_name is not None and (not self.model_name.strip() or ":" in self.model_name):
            raise InvalidChoiceError("A model name must not be empty or contain ':' "
                                     "(it separates the name from the version).")
        if self.ranking_metric is not None:
            from .metrics import CLASSIFICATION_METRICS, REGRESSION_METRICS, ranking_metric

            known = REGRESSION_METRICS + CLASSIFICATION_METRICS
            if self.ranking_metric not in known:
                raise InvalidChoiceError(f"Unknown ranking metric {self.ranking_metric!r}; use one of "
                                         f"{', '.join(known)}.")
            if self.task is not None:
                ranking_metric(self.task, self.ranking_metric)  # a regression metric for classes, say
        unknown = set(self.preprocessing) - set(PREPROCESSING_KEYS)
        if unknown:
            raise InvalidChoiceError(f"Unknown preprocessing setting(s): {', '.join(sorted(unknown))}; "
                                     f"known: {', '.join(PREPROCESSING_KEYS)}.")
        encoding = self.preprocessing.get("encoding")
        if encoding not in (None, "onehot", "ordinal"):
            raise InvalidChoiceError("Category encoding must be 'onehot' or 'ordinal'.")
        imputation = self.preprocessing.get("numeric_imputation")
        if imputation not in (None, "median", "mean"):
            raise InvalidChoiceError("Numeric imputation must be 'median' or 'mean'.")
        rare = self.preprocessing.get("rare_min_rows")
        if rare is not None and (not _whole(rare) or rare < 0):
            raise InvalidChoiceError("rare_min_rows must be a whole number, 0 or more.")
        scale = self.preprocessing.get("scale")
        if scale is not None and not isinstance(scale, bool):
            raise InvalidChoiceError("scale must be true or false.")
        self._validate_formula()

    def _validate_formula(self) -> None:
        from .formula import RETRANSFORMS, parse_formula

        if self.retransform not in RETRANSFORMS:
            raise InvalidChoiceError(f"Unknown back-transformation {self.retransform!r}; use "
                                     f"{', '.join(RETRANSFORMS)}.")
        if self.formula is None:
            return
        parsed = parse_formula(self.formula)
        if parsed.target != self.target:
            raise InvalidChoiceError(f"The formula's target is {parsed.target!r} but the run's target "
                                     f"is {self.target!r}; they must be the same column.")
        if self.features is not None:
            raise InvalidChoiceError("With a formula the features are the columns its terms read; "
                                     "do not choose features as well.")
        ignored = sorted({"encoding", "rare_min_rows"} & set(self.preprocessing))
        if ignored:
            raise InvalidChoiceError(f"With a formula, categories are encoded by its terms (e.g. "
                                     f"C(x, contr.treatment('level'))): {', '.join(ignored)} cannot be set.")
        if self.segment_by is not None and self.segment_by in parsed.variables:
            raise InvalidChoiceError(f"{self.segment_by} segments the run; it cannot also be a term.")


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
