"""The holdout as the metrics need it: checked, target rows only, and scored by a model.

Everything a user can get wrong (no rows, a missing column, a class the model never
saw, a model that is not fitted) stops here with a message that says what to do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

import numpy as np
import pandas as pd
from sklearn.base import is_classifier
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from ..errors import InvalidChoiceError, NotFoundError
from .errors import ValidationError
from .results import BINARY, MULTICLASS, REGRESSION, TASKS


@dataclass
class Holdout:
    """Holdout rows with a target value, in the form the scorers use."""

    task: str
    #: the columns the model takes, in its order
    X: pd.DataFrame
    #: the full rows (model columns and any segment or subgroup columns)
    frame: pd.DataFrame
    #: target as given (labels for classification, floats for regression)
    y: np.ndarray
    #: classification: class labels in the model's order, and each row's class position
    classes: Optional[np.ndarray] = None
    y_index: Optional[np.ndarray] = None
    positive_index: Optional[int] = None
    notes: list[str] = field(default_factory=list)

    @property
    def n(self) -> int:
        """The number of holdout rows."""
        return len(self.y)

    @property
    def y_labels(self) -> np.ndarray:
        """The target in the model's own label values (what its scorers expect)."""
        return self.classes[self.y_index] if self.classes is not None else self.y

    @property
    def positive(self) -> np.ndarray:
        """True where the row belongs to the positive class (binary only)."""
        return self.y_index == self.positive_index


def model_columns(model: Any, X: pd.DataFrame) -> list[str]:
    """The input columns the fitted model expects; all of X's when it did not record them."""
    names = getattr(model, "feature_names_in_", None)
    if names is None:
        return [str(c) for c in X.columns]
    names = [str(c) for c in names]
    missing = [c for c in names if c not in X.columns]
    if missing:
        raise NotFoundError(f"The data lacks {len(missing)} column(s) the model needs: "
                            f"{', '.join(map(repr, missing[:10]))}. Validate on data with the "
                            "same columns as the training data.")
    return names


def _task_of(model: Any, task: Optional[str]) -> str:
    classifier = is_classifier(model)
    if classifier:
        n_classes = len(getattr(model, "classes_", []))
        if n_classes < 2:
            raise ValidationError("The model knows fewer than two classes; it cannot be validated "
                                  "as a classifier. Train it on data with at least two classes.")
        natural = BINARY if n_classes == 2 else MULTICLASS
    else:
        natural = REGRESSION
    if task is None or task == natural:
        return natural
    if task == "classification" and classifier:
        return natural
    if task not in TASKS + ("classification",):
        raise InvalidChoiceError(f"Unknown task {task!r}; use regression, binary or multiclass.")
    raise ValidationError(f"The model is a {natural} model, but the task asked for is {task}. "
                          f"Validate it as {natural}, or choose the model trained for {task}.")


def class_positions(y: pd.Series, classes: np.ndarray) -> np.ndarray:
    """Each label's position among the model's classes; by text when the types differ
    (a CSV read "1" where training had 1)."""
    idx = pd.Index(classes).get_indexer(y)
    if (idx < 0).any():
        by_text = pd.Index([str(c) for c in classes]).get_indexer(y.astype(str))
        idx = np.where(idx < 0, by_text, idx)
    if (idx < 0).any():
        unseen = sorted({str(v) for v in y[idx < 0]})
        raise ValidationError(
            f"The holdout has target value(s) the model never saw in training: "
            f"{', '.join(map(repr, unseen[:10]))}. The model knows "
            f"{', '.join(repr(str(c)) for c in classes)}. Remove those rows or retrain.")
    return idx


def prepare_holdout(model: Any, X: pd.DataFrame, y: pd.Series, *, task: Optional[str],
                    positive_class: Any = None, extra_columns: Sequence[str] = ()) -> Holdout:
    """Check the model, the data and the target, and drop rows without a target value."""
    if not isinstance(X, pd.DataFrame):
        raise ValidationError("The holdout must be a table (pandas DataFrame) with named columns.")
    y = pd.Series(y)
    if len(X) != len(y):
        raise ValidationError(f"The holdout has {len(X):,} rows but {len(y):,} target values.")
    try:
        check_is_fitted(model)
    except NotFittedError:
        raise ValidationError("The model has not been fitted; train it before validating.") from None
    except TypeError:
        raise ValidationError(f"{type(model).__name__} is not a scikit-learn model.") from None
    for col in extra_columns:
        if col not in X.columns:
            raise NotFoundError(f"The column {col!r} is not in the data; columns are "
                                f"{', '.join(map(repr, list(map(str, X.columns))[:20]))}"
                                f"{'…' if X.shape[1] > 20 else ''}.")
    cols = model_columns(model, X)
    task = _task_of(model, task)
    notes: list[str] = []
    keep = ~pd.isna(y).to_numpy()
    if not keep.all():
        notes.append(f"{int((~keep).sum()):,} holdout row(s) without a target value were left out.")
    frame = X.loc[keep].reset_index(drop=True)
    y = y[keep].reset_index(drop=True)
    if len(y) == 0:
        raise ValidationError("The holdout has no rows with a target value; nothing can be "
                              "validated. Use a larger holdout or data with labels.")
    holdout = Holdout(task=task, X=frame[cols], frame=frame, y=y.to_numpy(), notes=notes)
    if task == REGRESSION:
        values = pd.to_numeric(y, errors="coerce")
        if values.isna().any() or not np.all(np.isfinite(values.to_numpy(dtype=float))):
            raise ValidationError("The target must be numeric for a regression model; some values "
                                  "are text or infinite.")
        holdout.y = values.to_numpy(dtype=float)
        return holdout
    classes = np.asarray(model.classes_)
    holdout.classes = classes
    holdout.y_index = class_positions(y, classes)
    if task == BINARY:
        if positive_class is None:
            # the second of the sorted labels, as scikit-learn orders classes_
            holdout.positive_index = 1
        else:
            pos = class_positions(pd.Series([positive_class]), classes)
            holdout.positive_index = int(pos[0])
    elif positive_class is not None:
        notes.append("A positive class applies to two-class models only; it was ignored.")
    return holdout


def predict(model: Any, holdout: Holdout, X: Optional[pd.DataFrame] = None) -> np.ndarray:
    """Class probabilities (classification, columns in the model's class order) or
    predictions (regression) for the holdout rows."""
    X = holdout.X if X is None else X
    try:
        if holdout.task == REGRESSION:
            out = np.asarray(model.predict(X), dtype=float).reshape(-1)
        else:
            if not hasattr(model, "predict_proba"):
                raise ValidationError(f"{type(model).__name__} gives no class probabilities, which "
                                      "ROC AUC, log loss and calibration need. Use a model "
                                      "with probabilities (e.g. logistic regression).")
            out = np.asarray(model.predict_proba(X), dtype=float)
    except (ValueError, TypeError, KeyError) as exc:
        raise ValidationError(f"The model could not score the holdout: {exc}") from None
    if not np.all(np.isfinite(out)):
        raise ValidationError("The model gave missing or infinite predictions for some rows; "
                              "check for values the preprocessing cannot handle.")
    return out
