"""From a registered dataset and a :class:`TrainSpec` to the rows a run trains on:
the target (rows without one dropped and counted), the task, the split into a
training part and a holdout, the features, and the cross-validation folds.

The same function serves training, reproduction and :func:`load_split`, so the three
always see the same rows in the same split. Everything here is deterministic for a
given snapshot, spec and seed.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Optional

import numpy as np
import pandas as pd

from ..data.task import infer_task_with_reason
from ..errors import InvalidChoiceError
from .cv import Folds
from .errors import TrainError
from .features import FeatureChoice, choose_features
from .spec import SplitSpec, TrainSpec

if TYPE_CHECKING:
    from ..data.dataset import Dataset
    from ..data.rows_sample import RowSample
    from ..workspace import Workspace

MAX_CLASSES = 50
MISSING_GROUP = "(missing)"
#: regression targets are stratified on this many quantile bins
REGRESSION_STRATA = 5


@dataclass
class PreparedData:
    """The rows of a run, split, with features chosen and folds made."""

    dataset: "Dataset"
    spec: TrainSpec
    #: the dataset's rows that have a target value, every column as in the snapshot;
    #: the index is the row's position in the dataset
    frame: pd.DataFrame
    #: the same rows, only the feature (and segment) columns, typed for the model
    data: pd.DataFrame
    y: np.ndarray
    task: str                      # regression | binary | multiclass
    task_reason: str
    classes: Optional[np.ndarray]
    split: SplitSpec               # as resolved ("auto" made concrete)
    train_rows: np.ndarray         # positions in ``frame``
    holdout_rows: np.ndarray
    choice: FeatureChoice
    folds: Folds                   # positions within the training part
    n_rows: int
    n_missing_target: int
    notes: list[str] = field(default_factory=list)
    #: the levels, in order, of the dataset's ordered columns (declared by a recipe)
    orders: dict[str, list[str]] = field(default_factory=dict)
    #: the rows drawn when the dataset is larger than memory (None: every row)
    sample: Optional["RowSample"] = None

    @property
    def X_train(self) -> pd.DataFrame:
        """The training rows' features."""
        return self.data.iloc[self.train_rows]

    @property
    def y_train(self) -> np.ndarray:
        """The training rows' target."""
        return self.y[self.train_rows]

    @property
    def X_holdout(self) -> pd.DataFrame:
        """The holdout rows' features."""
        return self.data.iloc[self.holdout_rows]

    @property
    def y_holdout(self) -> np.ndarray:
        """The holdout rows' target."""
        return self.y[self.holdout_rows]

    @property
    def groups_train(self) -> Optional[np.ndarray]:
        """Each training row's group, for grouped cross-validation (None unless the split is
        by group)."""
        if self.split.kind != "group":
            return None
        return group_labels(self.frame[self.split.column].iloc[self.train_rows])

    def rows_summary(self) -> dict[str, int]:
        """How the dataset's rows were used: in the dataset, without a target, used, for
        training and held out."""
        return {"dataset": self.n_rows, "missing_target": self.n_missing_target,
                "used": len(self.frame), "train": len(self.train_rows),
                "holdout": len(self.holdout_rows)}


def prepare(ws: "Workspace", spec: TrainSpec, *,
            recorded_features: Optional[dict[str, str]] = None,
            all_columns: bool = False) -> PreparedData:
    """Load the dataset's snapshot and prepare the rows for ``spec`` (which is checked
    first). User-causable problems raise :class:`MlopsError` subclasses.

    ``recorded_features`` (name -> numeric | categorical), given when a recorded run is
    rebuilt, are used as they are: the columns' roles may have changed since. When the
    features are known, only the columns the run needs are read, unless ``all_columns``.
    A dataset larger than memory gives a seeded sample of ``TRAIN_ROWS`` rows, stratified
    by a categorical target (:mod:`..data.rows_sample`), recorded in ``sample``."""
    from ..data.rows_sample import TRAIN_ROWS, load_rows

    spec.validate()
    ds = ws.dataset(spec.dataset)
    ds.column(spec.target)
    for name in (spec.split.column, spec.segment_by):
        if name:
            ds.column(name)
    named = list(recorded_features) if recorded_features is not None else requested_features(spec)
    columns = None
    if named is not None and not all_columns:
        for name in named:
            ds.column(name)
        wanted = {spec.target, spec.split.column, spec.segment_by, *named}
        columns = [c.name for c in ds.columns if c.name in wanted]  # in the dataset's order
    from ..prepare import column_orders

    orders = column_orders(ws, ds)  # a stored recipe that is refused stops here, unrun
    table, sample = load_rows(ws, ds, columns, rows=TRAIN_ROWS, seed=spec.seed, stratify_by=spec.target)
    prep = prepare_frame(ds, table.to_pandas(), spec, recorded_features=recorded_features, orders=orders)
    if sample is not None:
        prep.sample = sample
        prep.notes.insert(0, sample.note())
    return prep


def requested_features(spec: TrainSpec) -> Optional[list[str]]:
    """The features the spec names: those its formula reads, or its own list (None: the
    run chooses)."""
    if spec.formula is not None:
        from .formula import parse_formula

        return list(parse_formula(spec.formula).variables)
    return spec.features


def random_split_note(kind: str, time_column: str) -> str:
    """The warning for a random split of rows that carry a time: neighbouring rows end up
    on both sides, so the holdout can flatter the model (the Check page's time-leakage
    check measures it)."""
    return (f"The holdout was drawn at random ({kind} split) although the rows carry a time "
            f"({time_column}). If rows close in time are alike, or the target looks ahead, rows on "
            "both sides share information and the holdout overstates how the model will do on "
            f"future data; a time-ordered split on {time_column} measures that honestly.")


def prepare_frame(ds: "Dataset", df: pd.DataFrame, spec: TrainSpec, *,
                  recorded_features: Optional[dict[str, str]] = None,
                  orders: Optional[dict[str, list[str]]] = None) -> PreparedData:
    """:func:`prepare` on a table already loaded; ``orders``: the ordered columns' levels."""
    notes: list[str] = []
    n_rows = len(df)
    target = df[spec.target]
    kind = ds.column(spec.target).kind
    if kind == "datetime" or pd.api.types.is_datetime64_any_dtype(target):
        raise TrainError(f"The target {spec.target!r} holds dates; a date cannot be predicted. "
                         "Choose another target (and use the date for a time-ordered split).")
    present = _present(target)
    n_missing = int((~present).sum())
    if n_missing == n_rows:
        raise _no_values(spec.target)
    if n_missing:
        notes.append(f"{n_missing:,} of {n_rows:,} rows have no value for the target "
                     f"{spec.target} and were left out.")
    frame = df.loc[present]
    if spec.split.kind == "time":
        frame, dropped = _time_ordered(frame, ds, spec.split.column)
        if dropped:
            notes.append(f"{dropped:,} rows have no value in the time column {spec.split.column} "
                         "and were left out (they cannot be placed in time).")
    task, reason, y, classes = _task_and_target(frame[spec.target], spec.target, spec.task)
    if spec.formula is not None and task != "regression":
        from .formula import parse_formula

        transform = parse_formula(spec.formula).target_transform
        if transform is not None:
            raise InvalidChoiceError(f"{transform}({spec.target}) is a transformation of a numeric "
                                     f"target; {spec.target} is a {task} target. Write the target alone.")
    split = _resolved_split(spec.split, task)
    train_rows, holdout_rows = _split_rows(frame, y, task, split, spec.seed)
    if split.test_size == 0:
        notes.append("No holdout (holdout share 0): the model is fitted on every row, and its "
                     "quality rests on cross-validation alone.")
    time_columns = [c.name for c in ds.columns if c.kind == "datetime"]
    if split.kind in ("random", "stratified") and split.test_size > 0 and time_columns:
        notes.append(random_split_note(split.kind, time_columns[0]))
    y_train = y[train_rows]
    if classes is not None:
        seen = np.unique(y_train)
        if len(seen) < 2:
            raise TrainError(f"The training part holds only one class ({seen[0]!r}) of "
                             f"{spec.target!r}; use a larger holdout share or another split.")
        unseen = [c for c in classes if c not in set(seen.tolist())]
        if unseen:
            notes.append(f"Class(es) {', '.join(map(str, unseen))} occur only in the holdout: "
                         "the model cannot predict them.")

    train_frame = frame.iloc[train_rows]
    if recorded_features is not None:
        for name in recorded_features:
            ds.column(name)
        choice = FeatureChoice(dict(recorded_features))
    elif spec.formula is not None:
        choice = _formula_features(ds, spec, train_frame, y_train, task)
    else:
        choice = choose_features(ds, spec, train_frame, y_train, task)
    if spec.segment_by:
        _check_segments(train_frame[spec.segment_by], frame[spec.segment_by], spec)
    data = model_table(frame, choice, spec.segment_by)
    groups = group_labels(train_frame[split.column]) if split.kind == "group" else None
    folds, fold_notes = make_folds(split.kind, task, spec.cv_folds, spec.seed, y_train, groups)
    notes += fold_notes + choice.notes
    return PreparedData(dataset=ds, spec=spec, frame=frame, data=data, y=y, task=task,
                        task_reason=reason, classes=classes, split=split, train_rows=train_rows,
                        holdout_rows=holdout_rows, choice=choice, folds=folds, n_rows=n_rows,
                        n_missing_target=n_missing, notes=notes, orders=dict(orders or {}))


def _formula_features(ds: "Dataset", spec: TrainSpec, train: pd.DataFrame, y_train: np.ndarray,
                      task: str) -> FeatureChoice:
    """The columns a formula reads, as explicitly chosen features; one that no model could
    use (every value missing, constant) is an error, not left out: the formula needs it."""
    from dataclasses import replace

    named = requested_features(spec) or []
    choice = choose_features(ds, replace(spec, features=named, formula=None), train, y_train, task)
    dropped = [e for e in choice.excluded if e["column"] in named]
    if dropped:
        raise TrainError("The formula reads " + "; ".join(f"{e['column']}, which {e['reason']}"
                                                          for e in dropped)
                         + ". Take those terms out of the formula.")
    return choice


# -- target and task ---------------------------------------------------------------------------

def training_task(target: pd.Series, chosen: Optional[str] = None) -> tuple[str, str]:
    """The task a run trains ``target`` for ("regression", "binary" or "multiclass") and
    why, decided as training decides it (its rows with a value, its classes counted as
    the model sees them), so the Train wizard shows before a run what the run will do.
    Raises :class:`TrainError` when the target cannot be trained on."""
    present = _present(target)
    if not present.any():
        raise _no_values(str(target.name))
    task, reason, _, classes = _task_and_target(target.loc[present], str(target.name), chosen)
    return task, reason + (f" ({len(classes):,} classes)" if classes is not None else "")


def _present(target: pd.Series) -> np.ndarray:
    """The rows with a target value (a missing or infinite number is none)."""
    present = target.notna().to_numpy()
    if pd.api.types.is_float_dtype(target):
        present = present & np.isfinite(target.to_numpy(dtype=float, na_value=np.nan))
    return present


def _no_values(name: str) -> TrainError:
    return TrainError(f"The target {name!r} has no values (every row is missing). Choose another target.")


def _task_and_target(target: pd.Series, name: str,
                     chosen: Optional[str]) -> tuple[str, str, np.ndarray, Optional[np.ndarray]]:
    if chosen is None:
        group, reason = infer_task_with_reason(target)
    else:
        group = "regression" if chosen == "regression" else "classification"
        reason = f"you chose {chosen}"
    if group == "regression":
        if pd.api.types.is_bool_dtype(target) or not pd.api.types.is_numeric_dtype(target):
            raise TrainError(f"The target {name!r} does not hold numbers, so it cannot be a "
                             "regression target. Train a classification model instead.")
        y = _target_values(target, "regression")
        if np.ptp(y) == 0:
            raise TrainError(f"The target {name!r} has the same value ({y[0]:g}) in every row "
                             "that has one: there is nothing to predict. Choose another target.")
        return "regression", reason, y, None
    y = _target_values(target, "classification")
    classes = np.unique(y)
    if len(classes) < 2:
        raise TrainError(f"The target {name!r} has only one class ({classes[0]!r}) in every row "
                         "that has a value; classification needs at least two. Choose another target.")
    if len(classes) > MAX_CLASSES:
        raise TrainError(f"The target {name!r} has {len(classes):,} distinct values, too many "
                         f"classes (at most {MAX_CLASSES}). If it is a quantity, train a "
                         "regression model.")
    task = "binary" if len(classes) == 2 else "multiclass"
    if chosen in ("binary", "multiclass") and chosen != task:
        raise InvalidChoiceError(f"The target {name!r} has {len(classes)} classes, so the task is "
                                 f"{task}, not {chosen}.")
    return task, reason, y, classes


def _target_values(target: pd.Series, task: str) -> np.ndarray:
    """The target as an array: floats for regression; class labels otherwise (whole
    numbers as integers, text as text)."""
    if task == "regression":
        return target.to_numpy(dtype=np.float64, na_value=np.nan)
    if pd.api.types.is_bool_dtype(target):
        return target.to_numpy(dtype=bool)
    if pd.api.types.is_numeric_dtype(target):
        values = target.to_numpy(dtype=np.float64, na_value=np.nan)
        return values.astype(np.int64) if np.all(values == np.round(values)) else values
    return np.array([str(v) for v in target.to_numpy(dtype=object)], dtype=object)


# -- split ----------------------------------------------------------------------------------

def _resolved_split(split: SplitSpec, task: str) -> SplitSpec:
    kind = split.kind
    if kind == "auto":
        kind = "random" if task == "regression" else "stratified"
    return SplitSpec(kind=kind, column=split.column, test_size=split.test_size)


def _time_ordered(frame: pd.DataFrame, ds: "Dataset", column: str) -> tuple[pd.DataFrame, int]:
    values = frame[column]
    kind = ds.column(column).kind
    if pd.api.types.is_datetime64_any_dtype(values) or kind == "datetime":
        # dates without a time arrive from Parquet as Python date objects
        order_by = pd.to_datetime(values, errors="coerce")
    elif pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        order_by = values
    else:
        raise InvalidChoiceError(
            f"A time-ordered split needs a date or a number to order the rows by; {column!r} "
            f"holds {kind} values. Choose a date or numeric column, or a random split.")
    keep = order_by.notna().to_numpy()
    order = np.argsort(order_by[keep].to_numpy(), kind="stable")
    return frame.loc[keep].iloc[order], int((~keep).sum())


def _split_rows(frame: pd.DataFrame, y: np.ndarray, task: str, split: SplitSpec,
                seed: int) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.model_selection import GroupShuffleSplit, train_test_split

    n = len(frame)
    everything = np.arange(n)
    if split.test_size == 0:
        return everything, np.empty(0, dtype=np.intp)
    n_holdout = math.ceil(split.test_size * n)
    if n - n_holdout < 2 or n_holdout < 1:
        raise TrainError(f"{n:,} rows are too few to hold out {split.test_size:.0%}; use a "
                         "smaller holdout share (or 0 to train on every row).")
    if split.kind == "time":
        return everything[: n - n_holdout], everything[n - n_holdout:]
    if split.kind == "group":
        groups = group_labels(frame[split.column])
        if len(set(groups)) < 2:
            raise InvalidChoiceError(f"A grouped split needs at least two groups; {split.column!r} "
                                     "has one value. Choose another column or a random split.")
        train, holdout = next(GroupShuffleSplit(n_splits=1, test_size=split.test_size,
                                                random_state=seed).split(everything, groups=groups))
        return np.sort(train), np.sort(holdout)
    strata = None
    if split.kind == "stratified":
        strata = y if task != "regression" else _quantile_bins(y)
        counts = pd.Series(strata).value_counts()
        if counts.min() < 2:
            raise TrainError(f"A stratified split needs at least two rows of each class; "
                             f"{counts.idxmin()!r} has {counts.min()}. Use a random split.")
    try:
        train, holdout = train_test_split(everything, test_size=split.test_size, random_state=seed,
                                          shuffle=True, stratify=strata)
    except ValueError as exc:
        raise TrainError(f"The rows cannot be split as asked: {exc}") from None
    return np.sort(train), np.sort(holdout)


def _quantile_bins(y: np.ndarray) -> np.ndarray:
    bins = pd.qcut(pd.Series(y).rank(method="first"), q=min(REGRESSION_STRATA, len(y) // 2 or 1),
                   labels=False)
    return bins.to_numpy()


def group_labels(values: pd.Series) -> np.ndarray:
    """A grouping column as text, missing values forming one group."""
    from .estimators import category_labels

    labels = category_labels(values)
    labels[pd.isna(labels)] = MISSING_GROUP
    return labels


# -- folds ----------------------------------------------------------------------------------

def make_folds(kind: str, task: str, n_folds: int, seed: int, y: np.ndarray,
               groups: Optional[np.ndarray]) -> tuple[Folds, list[str]]:
    """The cross-validation folds over rows ``y`` (positions 0..n-1): time-series
    folds for a time split, grouped folds for a grouped split, stratified folds for
    classification, shuffled folds for regression; all seeded."""
    from sklearn.model_selection import GroupKFold, KFold, StratifiedKFold, TimeSeriesSplit

    n = len(y)
    if kind == "time":
        if n < n_folds + 1:
            raise TrainError(f"{n:,} training rows are too few for {n_folds} time-ordered folds.")
        splitter = TimeSeriesSplit(n_splits=n_folds)
    elif kind == "group":
        n_groups = len(set(groups.tolist()))
        if n_groups < n_folds:
            raise TrainError(f"The training part has {n_groups} groups, fewer than the {n_folds} "
                             "folds of cross-validation: use fewer folds.")
        splitter = GroupKFold(n_splits=n_folds)
    elif n < 2 * n_folds:
        raise TrainError(f"{n:,} training rows are too few for {n_folds}-fold cross-validation "
                         "(at least two rows per fold): use fewer folds or more data.")
    elif task == "regression":
        splitter = KFold(n_splits=n_folds, shuffle=True, random_state=seed)
    else:
        splitter = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    notes = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        folds = [(np.asarray(a), np.asarray(b))
                 for a, b in splitter.split(np.zeros((n, 1)), y, groups)]
    if any("least populated class" in str(w.message) for w in caught):
        smallest = pd.Series(y).value_counts().min()
        notes.append(f"A class has only {smallest} training row(s), fewer than the {n_folds} "
                     "folds: some folds have none of it.")
    return folds, notes


# -- segments and the model's table -----------------------------------------------------------

def _check_segments(train_values: pd.Series, all_values: pd.Series, spec: TrainSpec) -> None:
    from .estimators import segment_keys

    keys = pd.Series(segment_keys(all_values)).dropna()
    if keys.nunique() < 2:
        raise InvalidChoiceError(
            f"Segmenting by {spec.segment_by!r} needs at least two values; it has "
            f"{keys.nunique()}. Train without segmentation.")
    counts = pd.Series(segment_keys(train_values)).dropna().value_counts()
    if counts.empty or counts.max() < spec.min_segment_rows:
        largest = int(counts.max()) if not counts.empty else 0
        raise InvalidChoiceError(
            f"No value of {spec.segment_by!r} has {spec.min_segment_rows:,} training rows (the "
            f"largest has {largest:,}): lower the minimum segment size, or train without "
            "segmentation.")


def model_table(frame: pd.DataFrame, choice: FeatureChoice, segment_by: Optional[str]) -> pd.DataFrame:
    """The feature columns typed as the model's input step types them (done once here
    rather than in every fold); the segment column as text."""
    from .estimators import category_labels, numeric_values

    data = {c: numeric_values(frame[c]) for c in choice.numeric}
    data.update({c: category_labels(frame[c]) for c in choice.categorical})
    if segment_by and segment_by not in data:
        data[segment_by] = category_labels(frame[segment_by])
    return pd.DataFrame(data, index=frame.index)
