"""Category labels and numbers as the model reads them: one rule for the app's training
(through ``mlops_desktop.core.train.estimators``, the model's input step) and for an
exported package's scoring, so that a value read from any file means the same thing
at training and at scoring time.

Imports numpy and pandas only.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd


def _label(value: Any) -> Any:
    """One category as text; whole numbers without a decimal part, so 2007, 2007.0 and
    "2007" read from different files are the same category."""
    if value is None or value is pd.NA or value is pd.NaT:
        return np.nan
    if isinstance(value, (bool, np.bool_)):
        return "True" if value else "False"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        if math.isnan(value):
            return np.nan
        return str(int(value)) if float(value).is_integer() else repr(float(value))
    return str(value)


def category_labels(values: Any) -> np.ndarray:
    """A column as category labels (text), missing values as ``nan``, in an object array."""
    s = values if isinstance(values, pd.Series) else pd.Series(values)
    missing = s.isna().to_numpy()
    if (pd.api.types.is_string_dtype(s.dtype) and s.dtype != object) or \
            (s.dtype == object and pd.api.types.infer_dtype(s, skipna=True) in ("string", "empty")):
        out = s.to_numpy(dtype=object, na_value=np.nan)  # already text: the fast path
    else:
        out = np.array([_label(v) for v in s.to_numpy(dtype=object)], dtype=object)
    if missing.any():
        out = out.copy()  # the fast path may hand back the column's own (read-only) memory
        out[missing] = np.nan
    return out


def numeric_values(values: Any) -> np.ndarray:
    """A column as float64 with ``nan`` for missing; text that is not a number is missing."""
    s = values if isinstance(values, pd.Series) else pd.Series(values)
    if s.dtype == np.float64:
        return s.to_numpy()
    if pd.api.types.is_bool_dtype(s.dtype) or pd.api.types.is_numeric_dtype(s.dtype):
        return s.to_numpy(dtype=np.float64, na_value=np.nan)
    return pd.to_numeric(s, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def class_label(value: Any) -> str:
    """A class of the target as text, as ``schema.json`` and the scored outputs write it
    (whole numbers without a decimal part, ``True``/``False`` for booleans)."""
    if isinstance(value, (bool, np.bool_)):
        return "True" if value else "False"
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, np.integer):
        return str(int(value))
    return str(value)
