"""From Arrow columns to the distributions ``metrics`` compares, quickly: numbers go
to numpy once, categories are counted by Arrow's hash kernel."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mlops_model_support import drift as metrics

if TYPE_CHECKING:
    from ..data.on_disk import OnDiskTable

#: the analyst's column kinds that are compared, and as what
METRIC_KINDS = {"numeric": metrics.NUMERIC, "categorical": metrics.CATEGORICAL,
                "boolean": metrics.CATEGORICAL, "constant": metrics.CATEGORICAL}
#: kinds that are not compared, and why
NOT_COMPARED = {
    "datetime": "dates and times move with every batch; split batches by a date column instead",
    "id": "an identifier differs from batch to batch by design",
    "text": "free text is not compared",
}
CHART_BINS = 30


def numeric_distribution(col: pa.ChunkedArray) -> metrics.NumericDistribution:
    """Raises :class:`metrics.NotComparable` for text or dates."""
    t = col.type
    if pa.types.is_null(t):
        return metrics.NumericDistribution.from_sorted(np.empty(0), len(col))
    if pa.types.is_dictionary(t):
        col = col.cast(t.value_type)
        t = col.type
    if pa.types.is_temporal(t):
        raise metrics.NotComparable("it holds dates or times where the reference holds numbers")
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        try:
            col = pc.cast(pc.utf8_trim_whitespace(col), pa.float64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            raise metrics.NotComparable(f"it holds text where the reference holds numbers (for example "
                                        f"{_first_non_number(col)!r})") from None
    elif not (pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t)
              or pa.types.is_decimal(t)):
        raise metrics.NotComparable(f"it holds {t} values where the reference holds numbers")
    values = pc.cast(col, pa.float64()).to_numpy(zero_copy_only=False)
    return metrics.NumericDistribution.from_values(values)


def _first_non_number(col: pa.ChunkedArray) -> Optional[str]:
    for value in pc.unique(col.drop_null()).to_pylist():
        try:
            float(value)
        except (TypeError, ValueError):
            return value
    return None


def categorical_distribution(col: pa.ChunkedArray) -> metrics.CategoricalDistribution:
    """The counts of each value of a column (missing values counted as one value)."""
    if pa.types.is_null(col.type) or len(col) == 0:
        return metrics.CategoricalDistribution({}, len(col), len(col))
    counts = pc.value_counts(col)  # nulls are counted as a None value
    pairs = zip(counts.field("values").to_pylist(), counts.field("counts").to_pylist())
    return metrics.CategoricalDistribution.from_counts(pairs, len(col))


def distribution(col: pa.ChunkedArray, kind: str) -> metrics.Distribution:
    """The distribution of an Arrow column for a feature of metric ``kind``."""
    return numeric_distribution(col) if kind == metrics.NUMERIC else categorical_distribution(col)


def stored_distribution(table: "OnDiskTable", name: str, kind: str) -> metrics.Distribution:
    """The distribution of a column of a table on disk, counted out of core: the same
    values and counts as :func:`distribution` of the column in memory."""
    t = table.type_of(name)
    if pa.types.is_dictionary(t):
        t = t.value_type
    col = table.sql_column(name)
    if kind != metrics.NUMERIC:
        if pa.types.is_null(t) or table.rows == 0:
            return metrics.CategoricalDistribution({}, table.rows, table.rows)
        # a decimal in the file is a float once typed (as an import types it)
        counts = table.value_counts(f"CAST({col} AS DOUBLE)" if pa.types.is_floating(t) else col)
        return metrics.CategoricalDistribution.from_counts(
            zip(counts.column("value").to_pylist(), counts.column("n").to_pylist()), table.rows)
    if pa.types.is_null(t):
        return metrics.NumericDistribution.from_sorted(np.empty(0), table.rows)
    if pa.types.is_temporal(t):
        raise metrics.NotComparable("it holds dates or times where the reference holds numbers")
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        number = f"TRY_CAST(trim({col}) AS DOUBLE)"
        bad = table.query_one(f"first({col}) FILTER (WHERE {col} IS NOT NULL AND {number} IS NULL)")[0]
        if bad is not None:
            raise metrics.NotComparable(f"it holds text where the reference holds numbers (for example {bad!r})")
    elif pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t) or pa.types.is_decimal(t):
        number = f"CAST({col} AS DOUBLE)"
    else:
        raise metrics.NotComparable(f"it holds {t} values where the reference holds numbers")
    counts = table.value_counts(number)
    values = counts.column("value").to_numpy(zero_copy_only=False).astype(np.float64)
    n = counts.column("n").to_numpy(zero_copy_only=False).astype(np.float64)
    finite = np.isfinite(values)
    return _from_value_counts(values[finite], n[finite], table.rows)


def _from_value_counts(values: np.ndarray, counts: np.ndarray, rows: int) -> metrics.NumericDistribution:
    """A numeric distribution from distinct finite values and their counts (in any order;
    -0.0 and 0.0 are one value, as in a sort)."""
    if len(values) == 0:
        return metrics.NumericDistribution.from_sorted(np.empty(0), rows)
    unique, inverse = np.unique(values, return_inverse=True)
    weights = np.bincount(inverse, weights=counts, minlength=len(unique))
    n = float(weights.sum())
    mean = float(np.dot(unique, weights) / n)
    std = float(np.sqrt(np.dot(weights, (unique - mean) ** 2) / (n - 1))) if n > 1 else None
    return metrics.NumericDistribution(unique, weights, rows, rows - int(n), mean, std, float(unique[0]),
                                       float(unique[-1]))


def overlay_chart(reference: metrics.FeatureProfile, current: metrics.Distribution) -> dict[str, Any]:
    """Data for overlaid distributions: numbers as shares over 30 common bins from the
    0.5th to the 99.5th percentile of both (the tails counted in the end bins),
    categories as the PSI bins."""
    if reference.kind != metrics.NUMERIC:
        return {"kind": "bars"}  # the report draws the PSI bins
    assert isinstance(current, metrics.NumericDistribution)
    ref = reference.distribution
    assert isinstance(ref, metrics.NumericDistribution)
    lo = min(_quantile(ref, 0.005), _quantile(current, 0.005))
    hi = max(_quantile(ref, 0.995), _quantile(current, 0.995))
    if not hi > lo:
        hi = lo + 1.0
        lo -= 1.0
    edges = np.linspace(lo, hi, CHART_BINS + 1)

    def shares(d: metrics.NumericDistribution) -> list[float]:
        counts, _ = np.histogram(np.clip(d.values, lo, hi), bins=edges, weights=d.weights)
        return (counts / max(counts.sum(), 1e-300)).tolist()

    return {"kind": "histogram", "edges": edges.tolist(), "reference": shares(ref),
            "current": shares(current)}


def _quantile(d: metrics.NumericDistribution, p: float) -> float:
    cum = np.cumsum(d.weights)
    return float(d.values[min(int(np.searchsorted(cum, p * cum[-1], side="left")), len(d.values) - 1)])
