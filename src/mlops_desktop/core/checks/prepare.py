"""From a table, a target and features to the numbers the checks run on: the task,
the rows with everything present, the target vector and the design matrix
(categorical features one-hot encoded against their most frequent level).

Inputs that make every check impossible raise :class:`CheckError` (or
:class:`NotFoundError` / :class:`InvalidChoiceError`) with a message that says what
to change; smaller issues (a feature with no values, a constant feature, rows with
missing values) are handled and written into ``notes``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np
import pandas as pd

from ..errors import CheckError, InvalidChoiceError, NotFoundError
from ..data.task import infer_task, infer_task_with_reason  # noqa: F401  (re-exported)
from . import rules

TASKS = ("regression", "classification")
FEATURE_KINDS = ("numeric", "categorical", "boolean")
EXCLUDED_KINDS = ("id", "text", "constant")
MAX_CLASSES = 50
#: a numeric target with whole numbers and at most this many values is taken as classes
OTHER_LEVEL = "(other)"


@dataclass
class Prepared:
    """The rows, target and design the checks share: what was used, what was dropped and why."""
    target: str
    task: str
    task_inferred: bool
    features: list[str]
    kinds: dict[str, str]             # kind of each usable feature: numeric | categorical | boolean
    time_column: Optional[str]
    n_rows: int
    n_used: int
    n_dropped_missing: int
    rows: np.ndarray                  # 0-based positions in the input table of the rows used, in order
    y: np.ndarray                     # float target (regression) or class codes (classification)
    classes: list                     # class labels, code order (classification)
    X: np.ndarray                     # design without the constant column
    columns: list[str]                # design column names
    column_feature: list[str]         # the feature (or formula term) each design column comes from
    reference_levels: dict[str, str]  # categorical feature (or term) -> level left out of its columns
    level_counts: dict[str, pd.Series]  # categorical feature -> rows per level (before lumping)
    level_classes: dict[str, pd.DataFrame]  # categorical feature -> rows per level and class
    time: Optional[pd.Series]         # the time column of the rows used (sorted)
    notes: list[str] = field(default_factory=list)
    #: the model formula the design comes from (None: numbers and one-hot categories)
    formula: Optional[str] = None
    #: the target as the fit sees it, e.g. "log(wage)"
    target_label: str = ""


# -- task ------------------------------------------------------------------------------

# -- column kinds ----------------------------------------------------------------------

def local_kind(s: pd.Series) -> str:
    """A column's kind when the caller does not give one (the import rules, simplified)."""
    if pd.api.types.is_bool_dtype(s):
        return "boolean" if s.nunique(dropna=True) > 1 else "constant"
    if pd.api.types.is_datetime64_any_dtype(s):
        return "datetime"
    valid = s.dropna()
    n_distinct = int(valid.nunique())
    if n_distinct <= 1:
        return "constant"
    n = len(s)
    unique_per_row = n >= 20 and len(valid) == n and n_distinct == n
    if pd.api.types.is_numeric_dtype(s):
        return "id" if pd.api.types.is_integer_dtype(s) and unique_per_row else "numeric"
    if isinstance(s.dtype, pd.CategoricalDtype):
        return "categorical"
    text = valid.astype(str)
    sample = text.iloc[:2000]
    mostly_unique = n_distinct / max(len(valid), 1) > 0.5
    if mostly_unique and (sample.str.len().mean() >= 30 or sample.str.contains(" ").mean() > 0.5):
        return "text"
    if unique_per_row:
        return "id"
    return "categorical"


def _kind(df: pd.DataFrame, column: str, kinds: Optional[dict[str, str]]) -> str:
    if kinds and column in kinds and kinds[column]:
        return kinds[column]
    return local_kind(df[column])


# -- preparing ------------------------------------------------------------------------

def prepare(df: pd.DataFrame, target: str, *, task: Optional[str], features: Optional[list[str]],
            time_column: Optional[str], kinds: Optional[dict[str, str]],
            formula: Optional[str] = None) -> Prepared:
    """The rows, target and design the checks run on. With ``formula`` (``target ~ terms``
    in R's notation, see :mod:`mlops_model_support.terms`) the design is the formula's
    (as training builds it) and the target is transformed as its left side says; its
    columns are the features."""
    df = _table(df)
    parsed = _formula(formula, target)
    _check_columns(df, target, time_column)
    notes: list[str] = []
    task, task_inferred, y_all = _task(df, target, task, kinds, notes)
    if parsed is not None and parsed.target_transform is not None and task != "regression":
        raise InvalidChoiceError(f"{parsed.target_transform}({target}) transforms a numeric target; "
                                 f"{target} is a classification target. Write the target alone.")
    if parsed is not None:
        features = list(parsed.variables)
    features = _features(df, target, time_column, features, kinds, notes)
    feature_kinds = _feature_kinds(df, features, kinds)
    features = _informative(df, features, feature_kinds, notes, strict=parsed is not None)
    data = {f: _feature_values(df[f], f, feature_kinds[f]) for f in features}
    if parsed is not None and parsed.target_transform is not None:
        y_all = _transformed_target(y_all, target, parsed)
    rows, n_dropped, time_sorted = _complete_rows(df, y_all, task, data, features, time_column, notes)
    n_used = len(rows)
    y, classes = _target_vector(y_all.iloc[rows], target, task, n_used)
    if parsed is None:
        # features constant in the rows used carry no information either (a formula keeps its
        # terms: a constant one shows as an aliased column)
        used = {f: data[f].iloc[rows].reset_index(drop=True) for f in features}
        constant = [f for f in features if used[f].nunique() <= 1]
        if constant:
            notes.append(f"Left out {_names(constant)}: one value in every row used, no information.")
            features = [f for f in features if f not in constant]
            if not features:
                raise CheckError("Every chosen feature has a single value in the rows used; choose "
                                 "features that vary.")
        design = _one_hot_design(used, features, feature_kinds, task, y, n_used, notes)
    else:
        design = _formula_design(parsed, df, rows, features, feature_kinds, task, y)
    kinds_used = {f: feature_kinds[f] for f in features}
    return Prepared(target=target, task=task, task_inferred=task_inferred, features=features,
                    kinds=kinds_used, time_column=time_column, n_rows=len(df), n_used=n_used,
                    n_dropped_missing=n_dropped, rows=rows, y=y, classes=classes, time=time_sorted,
                    notes=notes, formula=parsed.text if parsed is not None else None,
                    target_label=_target_label(parsed, target), **design)


def _table(df: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(df, pd.DataFrame):
        raise CheckError("The checks need a table (a pandas DataFrame).")
    columns = [str(c) for c in df.columns]
    if len(set(columns)) != len(columns):
        raise CheckError("The table has two columns with the same name; rename one of them.")
    df = df.copy(deep=False)
    df.columns = columns
    return df


def _formula(formula: Optional[str], target: str) -> Any:
    if formula is None:
        return None
    from ..train.formula import parse_formula

    parsed = parse_formula(formula)
    if parsed.target != target:
        raise InvalidChoiceError(f"The formula's target is {parsed.target!r}, not {target!r}.")
    return parsed


def _target_label(parsed: Any, target: str) -> str:
    if parsed is None or parsed.target_transform is None:
        return target
    return f"{parsed.target_transform}({target})"


def _check_columns(df: pd.DataFrame, target: str, time_column: Optional[str]) -> None:
    columns = list(df.columns)
    if target not in df.columns:
        raise NotFoundError(f"There is no column {target!r} to use as the target. "
                            f"Columns: {', '.join(columns)}.")
    if time_column is not None:
        if time_column not in df.columns:
            raise NotFoundError(f"There is no column {time_column!r} to use as the time order. "
                                f"Columns: {', '.join(columns)}.")
        if time_column == target:
            raise InvalidChoiceError("The time-order column cannot be the target.")


def _task(df: pd.DataFrame, target: str, task: Optional[str], kinds: Optional[dict[str, str]],
          notes: list[str]) -> tuple[str, bool, pd.Series]:
    """The task (inferred when None, with a note) and the target's values (numbers for
    regression)."""
    y_all = df[target]
    if task is not None and task not in TASKS:
        raise InvalidChoiceError(f"Unknown task {task!r}; use one of {', '.join(TASKS)}.")
    target_kind = (kinds or {}).get(target)
    if target_kind == "datetime" or pd.api.types.is_datetime64_any_dtype(y_all):
        raise CheckError(f"The target {target!r} holds dates; a date cannot be predicted by "
                         "these checks. Use it as the time-order column and choose another target.")
    non_missing = y_all.dropna()
    if len(non_missing) == 0:
        raise CheckError(f"The target {target!r} has no values (every row is missing). "
                         "Choose another target.")
    n_target_values = int(non_missing.nunique())
    if n_target_values < 2:
        value = _value(non_missing.iloc[0])
        if task == "classification" or not pd.api.types.is_numeric_dtype(non_missing):
            raise CheckError(f"The target {target!r} has only one class ({value}) in every row "
                             "that has a value; classification needs at least two. Choose "
                             "another target.")
        raise CheckError(f"The target {target!r} is constant ({value} in every row that has a "
                         "value): there is nothing to predict or check. Choose another target.")
    task_inferred = task is None
    if task is None:
        if target_kind in ("categorical", "boolean"):
            task, reason = "classification", f"the target {target!r} is typed {target_kind}"
        else:
            task, reason = infer_task_with_reason(y_all)
        notes.append(f"Task inferred as {task}: {reason}. Choose the task explicitly to override.")
    if task == "regression":
        y_all = _numeric_target(y_all, target)
    elif n_target_values > MAX_CLASSES:
        raise CheckError(f"The target {target!r} has {n_target_values:,} distinct values: too many "
                         f"classes for classification (at most {MAX_CLASSES}). Choose regression "
                         "for a numeric target, or group the values into fewer classes.")
    return task, task_inferred, y_all


def _transformed_target(y_all: pd.Series, target: str, parsed: Any) -> pd.Series:
    """The target as the formula's left side transforms it (λ fitted on its values)."""
    from mlops_model_support.terms import FormulaError, fit_parameter, forward

    values = y_all.to_numpy(dtype=float, na_value=np.nan)
    name = parsed.target_transform
    finite = values[np.isfinite(values)]
    try:
        z = forward(name, values, fit_parameter(name, finite))
    except FormulaError as exc:
        raise CheckError(str(exc)) from None
    bad = int((np.isfinite(values) & ~np.isfinite(z)).sum())
    if bad:
        raise CheckError(f"{name}({target}) has no value for {bad:,} rows (the smallest {target} is "
                         f"{_value(finite.min())}); use log1p or yeojohnson for a target that can be 0 "
                         "or negative.")
    return pd.Series(z, index=y_all.index)


def _features(df: pd.DataFrame, target: str, time_column: Optional[str], features: Optional[list[str]],
              kinds: Optional[dict[str, str]], notes: list[str]) -> list[str]:
    """The features asked for (checked), or every usable column."""
    columns = list(df.columns)
    if features is None:
        features = []
        for c in columns:
            if c in (target, time_column):
                continue
            k = _kind(df, c, kinds)
            if k in EXCLUDED_KINDS:
                continue
            if k == "datetime":
                notes.append(f"Column {c!r} holds dates and is not used as a feature; set it as "
                             "the time-order column to test time effects.")
                continue
            features.append(c)
    else:
        features = list(dict.fromkeys(str(f) for f in features))
        missing = [f for f in features if f not in df.columns]
        if missing:
            raise NotFoundError(f"There is no column {', '.join(repr(m) for m in missing)} "
                                f"to use as a feature. Columns: {', '.join(columns)}.")
        if target in features:
            features.remove(target)
            notes.append(f"The target {target!r} was listed as a feature too; it is left out of "
                         "the features.")
    if not features:
        raise CheckError("There are no features to check: choose at least one feature column "
                         "(numeric, categorical or true/false).")
    return features


def _feature_kinds(df: pd.DataFrame, features: list[str], kinds: Optional[dict[str, str]]) -> dict[str, str]:
    feature_kinds: dict[str, str] = {}
    for f in features:
        k = _kind(df, f, kinds)
        if k in ("text", "id"):
            what = "free text" if k == "text" else "an identifier (a different value in every row)"
            raise CheckError(f"Column {f!r} holds {what}; it cannot be a feature in these checks. "
                             "Remove it from the features, or change its type to categorical if "
                             "it really holds a few repeated categories.")
        if k == "datetime":
            raise CheckError(f"Column {f!r} holds dates, which cannot be a feature directly. Set it "
                             "as the time-order column, or derive numeric features from it "
                             "(e.g. month, day of week).")
        if k == "constant":
            feature_kinds[f] = "constant"
            continue
        if k not in FEATURE_KINDS:
            raise InvalidChoiceError(f"Column {f!r} has the unknown type {k!r}.")
        if k == "boolean" and not pd.api.types.is_bool_dtype(df[f]):
            k = "boolean" if pd.api.types.is_numeric_dtype(df[f]) else "categorical"
        feature_kinds[f] = k
    return feature_kinds


def _informative(df: pd.DataFrame, features: list[str], feature_kinds: dict[str, str], notes: list[str],
                 *, strict: bool) -> list[str]:
    """The features less those without any value or declared constant (``strict``: a
    formula needs every column it reads, so those are errors)."""
    empty = [f for f in features if df[f].notna().sum() == 0]
    constant = [f for f in features if f not in empty and feature_kinds.get(f) == "constant"]
    if strict and (empty or constant):
        raise CheckError(f"The formula reads {_names(empty + constant)}, which "
                         + ("have no values" if empty else "hold one value in every row")
                         + "; take those terms out of the formula.")
    if empty:
        if len(empty) == len(features):
            raise CheckError(f"None of the chosen features has any values ({', '.join(empty)} are "
                             "missing in every row). Choose features that hold data.")
        notes.append(f"Left out {_names(empty)}: no values in any row.")
    features = [f for f in features if f not in empty]
    if constant:
        features = [f for f in features if f not in constant]
        notes.append(f"Left out {_names(constant)}: one value in every row, no information.")
        if not features:
            raise CheckError("Every chosen feature is constant (one value in every row); choose "
                             "features that vary.")
    return features


def _complete_rows(df: pd.DataFrame, y_all: pd.Series, task: str, data: dict[str, pd.Series],
                   features: list[str], time_column: Optional[str],
                   notes: list[str]) -> tuple[np.ndarray, int, Optional[pd.Series]]:
    """The rows with the target, every feature and the time present (in time order when
    there is a time column), how many were left out, and their times."""
    n_rows = len(df)
    present = y_all.notna().to_numpy().copy()
    if task == "regression":
        present = present & np.isfinite(y_all.to_numpy(dtype=float, na_value=np.nan))
    n_no_target = int((~present).sum())
    for f in features:
        present = present & data[f].notna().to_numpy()
    time_values = None
    if time_column is not None:
        time_values = _time_values(df[time_column], time_column)
        present = present & time_values.notna().to_numpy()
    rows = np.flatnonzero(present)
    n_used = len(rows)
    n_dropped = n_rows - n_used
    if n_used < rules.MIN_ROWS:
        worst = sorted(features, key=lambda f: -int(data[f].isna().sum()))[:3]
        detail = ", ".join(f"{f} ({int(data[f].isna().sum()):,} missing)" for f in worst)
        raise CheckError(f"Only {n_used} of {n_rows:,} rows have the target and every feature "
                         f"present; the checks need at least {rules.MIN_ROWS}. "
                         + (f"Most missing: {detail}. Leave those features out or fill them in first."
                            if n_used < n_rows else "Use a larger dataset."))
    if n_dropped:
        parts = []
        if n_no_target:
            parts.append(f"{n_no_target:,} without a (finite) target value")
        if n_dropped - n_no_target:
            parts.append(f"{n_dropped - n_no_target:,}{' more' if n_no_target else ''} with a "
                         "missing (or infinite) feature" + (" or time" if time_column else ""))
        notes.append(f"Used {n_used:,} of {n_rows:,} rows: left out {' and '.join(parts)}.")
    time_sorted = None
    if time_values is not None:
        t = time_values.iloc[rows]
        order = np.argsort(t.to_numpy(), kind="stable")
        rows = rows[order]
        time_sorted = t.iloc[order].reset_index(drop=True)
    return rows, n_dropped, time_sorted


def _target_vector(y_used: pd.Series, target: str, task: str, n_used: int) -> tuple[np.ndarray, list]:
    """The target of the rows used: floats (regression) or class codes, with the classes."""
    classes: list = []
    if task == "regression":
        y = y_used.to_numpy(dtype=float)
        if np.ptp(y) == 0:
            raise CheckError(f"In the {n_used:,} rows with every feature present the target "
                             f"{target!r} is constant ({_value(y[0])}); there is nothing to check. "
                             "Leave out the features with many missing values, or choose another target.")
        return y, classes
    if y_used.dtype == object and y_used.map(type).nunique() > 1:
        y_used = y_used.map(str)  # labels of mixed types (numbers and text): as text
    codes, uniques = pd.factorize(y_used, sort=True)
    classes = [_plain(u) for u in uniques]
    if len(classes) < 2:
        raise CheckError(f"In the {n_used:,} rows with every feature present the target "
                         f"{target!r} has only one class ({_value(classes[0])}); classification "
                         "needs at least two. Leave out the features with many missing values, "
                         "or choose another target.")
    return codes.astype(int), classes


def _level_summaries(labels: pd.Series, feature: str, task: str, y: np.ndarray,
                     level_counts: dict[str, pd.Series], level_classes: dict[str, pd.DataFrame]) -> pd.Series:
    counts = levels_by_frequency(labels)
    level_counts[feature] = counts
    if task == "classification":
        level_classes[feature] = pd.crosstab(labels, pd.Series(y, name="class"))
    return counts


def _one_hot_design(used: dict[str, pd.Series], features: list[str], feature_kinds: dict[str, str],
                    task: str, y: np.ndarray, n_used: int, notes: list[str]) -> dict[str, Any]:
    """Numbers as they are; each categorical feature one-hot against its most frequent
    level (its rarest levels grouped beyond :data:`rules.MAX_LEVELS`)."""
    X_parts, names, owner = [], [], []
    reference: dict[str, str] = {}
    level_counts: dict[str, pd.Series] = {}
    level_classes: dict[str, pd.DataFrame] = {}
    for f in features:
        s = used[f]
        if feature_kinds[f] in ("numeric", "boolean"):
            X_parts.append(s.to_numpy(dtype=float)[:, None])
            names.append(f)
            owner.append(f)
            continue
        labels = s.map(_label)
        counts = _level_summaries(labels, f, task, y, level_counts, level_classes)
        if len(counts) > rules.MAX_LEVELS:
            keep = list(counts.index[: rules.MAX_LEVELS - 1])
            labels = labels.where(labels.isin(keep), OTHER_LEVEL)
            notes.append(f"{f!r} has {len(counts):,} levels; the {len(counts) - len(keep):,} least "
                         f"frequent are grouped as {OTHER_LEVEL!r} for these checks.")
            levels = keep + [OTHER_LEVEL]
        else:
            levels = list(counts.index)
        reference[f] = levels[0]  # the most frequent level is the reference
        codes = pd.Categorical(labels, categories=levels).codes
        for i, level in enumerate(levels[1:], start=1):
            X_parts.append((codes == i).astype(float)[:, None])
            names.append(f"{f}={level}")
            owner.append(f)
    X = np.hstack(X_parts) if X_parts else np.empty((n_used, 0))
    return {"X": X, "columns": names, "column_feature": owner, "reference_levels": reference,
            "level_counts": level_counts, "level_classes": level_classes}


def _formula_design(parsed: Any, df: pd.DataFrame, rows: np.ndarray, features: list[str],
                    feature_kinds: dict[str, str], task: str, y: np.ndarray) -> dict[str, Any]:
    """The formula's design of the rows used, typed as training types them (numbers as
    floats, categories as labels), so Check and the trained model see the same columns;
    each column belongs to its term (a polynomial's columns to ``poly(x, 2)``)."""
    from mlops_model_support.labels import category_labels, numeric_values
    from mlops_model_support.terms import FormulaError, design

    table = pd.DataFrame({f: (numeric_values(df[f].iloc[rows]) if feature_kinds[f] == "numeric"
                              else category_labels(df[f].iloc[rows])) for f in features})
    try:
        built = design(parsed.rhs, table)
    except FormulaError as exc:
        raise CheckError(str(exc)) from None
    bad = ~np.isfinite(built.matrix)
    if bad.any():
        named = list(dict.fromkeys(built.column_terms[j] for j in np.flatnonzero(bad.any(axis=0))))
        raise CheckError(f"The term(s) {', '.join(named)} give no finite number for "
                         f"{int(bad.any(axis=1).sum()):,} rows (e.g. log of 0 or a negative value); use "
                         "log1p(…) or yeojohnson(…), or leave those rows out.")
    level_counts: dict[str, pd.Series] = {}
    level_classes: dict[str, pd.DataFrame] = {}
    for f in features:
        if feature_kinds[f] != "numeric":
            _level_summaries(pd.Series(table[f].to_numpy()), f, task, y, level_counts, level_classes)
    return {"X": built.matrix, "columns": list(built.columns), "column_feature": list(built.column_terms),
            "reference_levels": dict(built.state["references"]), "level_counts": level_counts,
            "level_classes": level_classes}


def levels_by_frequency(labels: pd.Series) -> pd.Series:
    """Rows per level, the most frequent first (ties by label). The first is the reference
    level a one-hot design leaves out, here and in training's linear models (one rule, so
    Check and Train coefficients compare the same levels)."""
    counts = labels.dropna().value_counts(sort=False)
    return counts.iloc[np.lexsort((counts.index.to_numpy(dtype=str), -counts.to_numpy()))]


def _numeric_target(s: pd.Series, name: str) -> pd.Series:
    if pd.api.types.is_bool_dtype(s):
        return s.astype(float)
    if pd.api.types.is_numeric_dtype(s):
        return s.astype(float)
    converted = pd.to_numeric(s, errors="coerce")
    bad = s.notna() & converted.isna()
    if bad.any():
        example = s[bad].iloc[0]
        raise CheckError(f"Regression needs a numeric target, but {name!r} holds values such as "
                         f"{_value(example)}. Choose classification, or a numeric target.")
    return converted.astype(float)


def _feature_values(s: pd.Series, name: str, kind: str) -> pd.Series:
    """The feature as floats (numeric, boolean) or as values to one-hot (categorical)."""
    if kind == "categorical":
        return s
    if pd.api.types.is_bool_dtype(s):
        return s.astype("float64") if not s.isna().any() else s.map(
            lambda v: np.nan if pd.isna(v) else float(bool(v)))
    if pd.api.types.is_numeric_dtype(s):
        out = s.astype(float)
        return out.where(np.isfinite(out))
    converted = pd.to_numeric(s, errors="coerce")
    bad = s.notna() & converted.isna()
    if bad.any():
        raise CheckError(f"Column {name!r} is typed {kind} but holds values that are not numbers, "
                         f"such as {_value(s[bad].iloc[0])}. Change its type to categorical or fix "
                         "the data.")
    return converted.astype(float)


def _time_values(s: pd.Series, name: str) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(s) or pd.api.types.is_numeric_dtype(s):
        if pd.api.types.is_bool_dtype(s):
            raise CheckError(f"Column {name!r} is true/false and cannot give a time order.")
        return s
    try:
        parsed = pd.to_datetime(s, errors="raise", format="mixed")
    except (ValueError, TypeError, OverflowError):
        raise CheckError(f"Column {name!r} cannot give a time order: its values are neither dates "
                         "nor numbers. Choose a date or sequence-number column.") from None
    return parsed


def _label(v: object) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _plain(v: object) -> object:
    if isinstance(v, np.generic):
        return v.item()
    return v


def _value(v: object) -> str:
    v = _plain(v)
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return repr(v) if isinstance(v, str) else str(v)


def _names(cols: list[str]) -> str:
    return ", ".join(repr(c) for c in cols)
