"""What kind of model a target column calls for: regression or classification.

One rule for the whole app (Explore, Check, Train), so the pages never disagree.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import CheckError

#: whole numbers with at most this many distinct values are classes (ratings, counts of stars)
MAX_INTEGER_CLASSES = 10


def infer_task(target: pd.Series) -> str:
    """"regression" for a numeric target with many values, "classification" otherwise.

    Text, categories and booleans are classes; numbers are classes when there are
    at most two values, or whole numbers with at most 10 distinct values.
    """
    return infer_task_with_reason(target)[0]


def infer_task_with_reason(target: pd.Series) -> tuple[str, str]:
    """The task and a phrase saying why, for the report."""
    s = target.dropna()
    name = target.name
    if pd.api.types.is_datetime64_any_dtype(s):
        raise CheckError(f"The target {name!r} holds dates; a date cannot be predicted here. "
                         "Use it as the time-order column and choose another target.")
    if pd.api.types.is_bool_dtype(s):
        return "classification", f"the target {name!r} is true/false"
    if not pd.api.types.is_numeric_dtype(s):
        return "classification", f"the target {name!r} holds text or categories"
    values = s.to_numpy(dtype=float)
    n_distinct = int(pd.unique(values).size)
    if n_distinct <= 2:
        return "classification", f"the target {name!r} has {n_distinct} distinct values"
    whole = bool(np.all(np.isfinite(values)) and np.all(values == np.round(values)))
    if whole and n_distinct <= MAX_INTEGER_CLASSES:
        return "classification", (f"the target {name!r} holds whole numbers with only "
                                  f"{n_distinct} distinct values")
    return "regression", f"the target {name!r} is numeric with {n_distinct:,} distinct values"
