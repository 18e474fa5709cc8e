"""Plain data for JSON and the registry: numpy scalars and arrays become Python values,
NaN and infinity become None (JSON has no NaN), anything else becomes its text.

(The same rule as ``core.checks.result.json_safe``; kept here because importing the
checks package loads scipy.stats, and training must not pay for it at import.)
"""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Any

import numpy as np


def json_safe(value: Any) -> Any:
    """``value`` as JSON-safe Python data."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        return [json_safe(v) for v in value.tolist()]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return str(value)
