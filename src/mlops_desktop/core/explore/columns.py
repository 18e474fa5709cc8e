"""Per-column statistics, by kind: numbers, categories, dates and times."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

HISTOGRAM_BINS = 30
TOP_VALUES = 10
QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
ROBUST_Z_CUTOFF = 3.5  # Iglewicz and Hoaglin's cut-off for the modified z-score
#: a value this many IQRs beyond the quartiles is far outside anything a measurement
#: with that spread produces (a normal variable gets there once in 10^30 draws)
FAR_IQRS = 10.0
FAR_EXAMPLES = 5


def clean(value: Any) -> Any:
    """A JSON-safe number: NaN and infinities become None, numpy scalars plain Python."""
    if value is None:
        return None
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        v = float(value)
        return v if math.isfinite(v) else None
    return value


@dataclass
class ColumnProfile:
    """One column's statistics and chart, as Explore shows them."""
    name: str
    kind: str
    role: str
    count: int                      # non-missing values
    missing: int
    missing_share: float
    distinct: int
    stats: dict[str, Any] = field(default_factory=dict)
    #: chart data: {"kind": "histogram", "edges", "counts"} or {"kind": "bars", "labels", "counts"}
    chart: Optional[dict[str, Any]] = None
    #: the column's relation to the target, when one is set
    target: Optional[dict[str, Any]] = None

    def to_dict(self) -> dict[str, Any]:
        """The column's statistics as a plain dict, as ``explore --json`` prints them."""
        return {k: v for k, v in self.__dict__.items()}


def numeric_values(col: pa.ChunkedArray) -> np.ndarray:
    """float64 values with NaN for missing."""
    if pa.types.is_boolean(col.type):
        col = pc.cast(col, pa.int8())
    arr = col.to_numpy(zero_copy_only=False)
    return arr.astype(np.float64, copy=False)


def numeric_profile(name: str, kind: str, role: str, values: np.ndarray,
                    distinct: Optional[int] = None) -> ColumnProfile:
    """Statistics of a numeric column. ``values`` holds NaN for missing; ``distinct``
    may be given when already known (a hash count is cheaper than a sort)."""
    n = len(values)
    valid = values[~np.isnan(values)]
    finite = valid[np.isfinite(valid)] if len(valid) and not np.isfinite(valid).all() else valid
    missing = n - len(valid)
    m = len(finite)
    stats: dict[str, Any] = {"zeros": int(np.count_nonzero(valid == 0)),
                             "negatives": int(np.count_nonzero(valid < 0)),
                             "infinite": int(len(valid) - m)}
    if distinct is None:
        distinct = len(np.unique(finite))
    chart = None
    if m:
        arrow = pa.array(finite)  # zero-copy; Arrow's one-pass kernels for the moments
        mean = float(pc.mean(arrow).as_py())
        std = float(pc.stddev(arrow, ddof=1).as_py()) if m > 1 else 0.0
        # one partition for every quantile (linear time, no full sort)
        qv = np.percentile(finite, [q * 100 for q in QUANTILES])
        qs = {f"q{int(round(q * 100)):02d}": float(v) for q, v in zip(QUANTILES, qv)}
        q1, q3 = qs["q25"], qs["q75"]
        iqr = q3 - q1
        lo, hi = q1 - 1.5 * iqr, q3 + 1.5 * iqr
        outliers_iqr = int(np.count_nonzero((finite < lo) | (finite > hi)))
        median = qs["q50"]
        deviation = np.abs(finite - median)
        mad = float(np.median(deviation))
        robust = int(np.count_nonzero(deviation > ROBUST_Z_CUTOFF * mad / 0.6745)) if mad > 0 else 0
        lo_v, hi_v = float(finite.min()), float(finite.max())
        positive = finite[finite > 0]
        far = _far_values(finite, q1, q3, iqr)
        stats.update(whole_numbers=bool(np.all(finite == np.round(finite))),
                     min_positive=float(positive.min()) if len(positive) else None,
                     far_outliers=int(far.sum()),
                     far_examples=[float(v) for v in _examples(finite[far], median)],
                     far_fences=[q1 - FAR_IQRS * iqr, q3 + FAR_IQRS * iqr])
        stats.update(mean=mean, std=std, min=lo_v, max=hi_v, median=median,
                     iqr=iqr, mad=mad,
                     # adjusted Fisher–Pearson skewness and excess kurtosis G2 (as pandas,
                     # and scipy with bias=False)
                     skewness=pc.skew(arrow, biased=False).as_py() if m >= 3 else None,
                     kurtosis=pc.kurtosis(arrow, biased=False).as_py() if m >= 4 else None,
                     outliers_iqr=outliers_iqr, outliers_iqr_share=outliers_iqr / m,
                     outliers_robust_z=robust, outliers_robust_z_share=robust / m,
                     iqr_fences=[lo, hi], **qs)
        chart = histogram(finite, lo_v, hi_v)
    return ColumnProfile(name, kind, role, len(valid), missing, missing / n if n else 0.0, distinct,
                         {k: clean(v) if not isinstance(v, list) else [clean(x) for x in v]
                          for k, v in stats.items()}, chart)


def _far_values(values: np.ndarray, q1: float, q3: float, iqr: float) -> np.ndarray:
    """Which values lie more than :data:`FAR_IQRS` IQRs beyond the quartiles."""
    if iqr <= 0:
        return np.zeros(len(values), dtype=bool)
    return (values < q1 - FAR_IQRS * iqr) | (values > q3 + FAR_IQRS * iqr)


def _examples(values: np.ndarray, centre: float) -> np.ndarray:
    """Up to :data:`FAR_EXAMPLES` distinct values, the farthest from ``centre`` first."""
    distinct = np.unique(values)
    return distinct[np.argsort(-np.abs(distinct - centre), kind="stable")][:FAR_EXAMPLES]


def histogram(values: np.ndarray, lo: float, hi: float, bins: int = HISTOGRAM_BINS) -> dict[str, Any]:
    """The counts of values in equal-width bins from lo to hi, with the bin edges."""
    if lo == hi:
        return {"kind": "histogram", "edges": [lo - 0.5, hi + 0.5], "counts": [len(values)]}
    counts, edges = np.histogram(values, bins=bins, range=(lo, hi))
    return {"kind": "histogram", "edges": [float(e) for e in edges], "counts": [int(c) for c in counts]}


def categorical_profile(name: str, kind: str, role: str, col: pa.ChunkedArray) -> ColumnProfile:
    """The profile of a categorical column: counts of its most frequent values and its distinct count."""
    n = len(col)
    missing = col.null_count
    counts = pc.value_counts(col.drop_null()) if n - missing else None
    stats: dict[str, Any] = {}
    chart = None
    distinct = 0
    if counts is not None and len(counts):
        values = counts.field("values").to_pylist()
        freq = counts.field("counts").to_numpy()
        order = np.argsort(-freq, kind="stable")
        distinct = len(values)
        valid = n - missing
        top = [{"value": _label(values[i]), "count": int(freq[i]), "share": float(freq[i]) / valid}
               for i in order[:TOP_VALUES]]
        stats.update(top=top, top_share=top[0]["share"], singletons=int(np.count_nonzero(freq == 1)))
        if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            lengths = pc.utf8_length(col.drop_null())
            stats.update(mean_length=clean(pc.mean(lengths).as_py()),
                         max_length=clean(pc.max(lengths).as_py()))
            stats.update(_stray_non_numbers(counts, valid))
        chart = {"kind": "bars", "labels": [t["value"] for t in top], "counts": [t["count"] for t in top],
                 "other": int(valid - sum(t["count"] for t in top))}
    return ColumnProfile(name, kind, role, n - missing, missing, missing / n if n else 0.0, distinct,
                         stats, chart)


#: a number as a CSV writes it: sign, digits, one decimal point, an exponent
_NUMBER = r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$"
#: the least share of values that are numbers for a text column to be "numbers with strays"
MOSTLY_NUMBERS = 0.9


def _stray_non_numbers(counts: pa.StructArray, valid: int) -> dict[str, Any]:
    """For a text column whose values are nearly all numbers: the share that are, and the
    few values that are not (a "--", "n/a" or "1,012.5" keeps a whole column from being
    read as numeric)."""
    values, freq = counts.field("values"), counts.field("counts").to_numpy()
    is_number = pc.match_substring_regex(values, _NUMBER).to_numpy(zero_copy_only=False)
    share = float(freq[is_number].sum()) / valid if valid else 0.0
    if share < MOSTLY_NUMBERS or is_number.all():
        return {}
    strays = np.flatnonzero(~is_number)
    strays = strays[np.argsort(-freq[strays], kind="stable")]
    return {"numeric_share": share,
            "non_numbers": [{"value": str(values[int(i)].as_py()), "count": int(freq[i])} for i in strays[:5]],
            "non_number_count": int(freq[~is_number].sum())}


def _label(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def datetime_profile(name: str, kind: str, role: str, col: pa.ChunkedArray) -> ColumnProfile:
    """The profile of a date-time column: its range, typical step and largest gap, and a histogram over time."""
    n = len(col)
    missing = col.null_count
    as_int = pc.cast(pc.cast(col, pa.timestamp("us", tz=getattr(col.type, "tz", None)), safe=False),
                     pa.int64()).drop_null()
    micros = as_int.to_numpy()
    stats: dict[str, Any] = {}
    chart = None
    distinct = 0
    if len(micros):
        unique = np.sort(pc.unique(as_int).to_numpy())  # hash, then sort the few distinct values
        distinct = len(unique)
        lo, hi = int(unique[0]), int(unique[-1])
        stats.update(min=_iso(lo), max=_iso(hi), range_days=(hi - lo) / 86_400e6)
        if distinct > 2:
            steps = np.diff(unique)
            typical = float(np.median(steps))
            largest = int(np.argmax(steps))
            stats.update(typical_step_hours=typical / 3_600e6,
                         largest_gap_hours=float(steps[largest]) / 3_600e6,
                         largest_gap_from=_iso(int(unique[largest])),
                         largest_gap_to=_iso(int(unique[largest + 1])),
                         gaps_over_10x_typical=int(np.count_nonzero(steps > 10 * typical)))
        edges = np.linspace(lo, hi, HISTOGRAM_BINS + 1) if hi > lo else np.array([lo - 1, hi + 1])
        counts, _ = np.histogram(micros, bins=edges)
        chart = {"kind": "time_histogram", "edges": [_iso(int(e)) for e in edges],
                 "counts": [int(c) for c in counts]}
    return ColumnProfile(name, kind, role, n - missing, missing, missing / n if n else 0.0, distinct,
                         stats, chart)


def _iso(micros: int) -> str:
    import datetime as dt

    return (dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=micros)).isoformat(sep=" ")
