"""Plain data for JSON and the registry: numpy scalars and arrays become Python values,
NaN and infinity become None (JSON has no NaN), anything else becomes its text.

One rule for every result of the core. (mlops_model_support/drift.py keeps its own copy:
it must run alone inside an exported scoring package.)
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
    if isinstance(value, np.datetime64):
        return None if np.isnat(value) else str(value)
    if str(value) == "NaT":  # pandas' missing time, without importing pandas here
        return None
    return str(value)


class Record:
    """A typed result (a dataclass) that prints as JSON: :meth:`to_dict` gives each field
    under its name (or under ``field(metadata={"key": ...})`` where the JSON name is no
    Python name, such as ``from``), nested results and lists as plain data."""

    def to_dict(self) -> dict[str, Any]:
        """The result as JSON-safe dicts and lists, keys in field order."""
        return json_safe(_plain(self))


def _plain(value: Any) -> Any:
    from dataclasses import fields, is_dataclass

    if is_dataclass(value) and not isinstance(value, type):
        return {f.metadata.get("key", f.name): _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value
