"""Relations across columns: duplicates, missingness patterns, correlations
(Pearson, Spearman, Cramér's V, correlation ratio) and each feature's relation to
the target (mutual information, univariate ROC AUC or R²)."""

from __future__ import annotations

import math
from typing import Any, Optional

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

MAX_CATEGORIES_FOR_ASSOCIATION = 200
MI_BINS = 20
#: categories kept apart for mutual information; the rest share one code. The plug-in
#: estimate is biased upwards by about (categories - 1)(bins - 1) / 2n: with thousands
#: of categories it would rank a useless id-like column first.
MI_MAX_CATEGORIES = 50


# -- whole table ---------------------------------------------------------------------------

def row_hashes(table: pa.Table) -> np.ndarray:
    """A 64-bit hash per row over every column (missing values hash alike)."""
    import pandas as pd

    n = table.num_rows
    h = np.zeros(n, dtype=np.uint64)
    prime = np.uint64(0x100000001B3)
    for col in table.columns:
        h = h * prime ^ pd.util.hash_array(_hashable(col))
    return h


def _hashable(col: pa.ChunkedArray) -> np.ndarray:
    t = col.type
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_binary(t):
        return codes_of(col)
    if pa.types.is_temporal(t):
        if t.bit_width == 32:  # date32 and time32 cast to int64 only by way of int32
            col = pc.cast(col, pa.int32())
        return pc.fill_null(pc.cast(col, pa.int64()), -(2 ** 63)).to_numpy()
    if pa.types.is_boolean(t):
        return pc.fill_null(pc.cast(col, pa.int8()), -1).to_numpy()
    if pa.types.is_integer(t) or pa.types.is_floating(t):
        return col.to_numpy(zero_copy_only=False).astype(np.float64, copy=False)
    return codes_of(pc.cast(col, pa.string()))


def codes_of(col: pa.ChunkedArray) -> np.ndarray:
    """Integer codes per value (-1 for missing), via dictionary encoding."""
    return codes_and_values(col)[0]


def codes_and_values(col: pa.ChunkedArray) -> tuple[np.ndarray, list[Any]]:
    """Integer codes per row (-1 for missing) and the value each code stands for."""
    encoded = dictionary_encode(col)
    codes = pc.fill_null(encoded.indices, -1).to_numpy().astype(np.int64, copy=False)
    return codes, encoded.dictionary.to_pylist()


def dictionary_encode(col: pa.ChunkedArray) -> pa.DictionaryArray:
    """One dictionary for the whole column (encoding chunk by chunk would give each
    chunk its own)."""
    arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    return pc.dictionary_encode(arr)


def duplicate_rows(table: pa.Table) -> dict[str, Any]:
    """How many rows repeat an earlier row, their share, and the first few (1-based row numbers)."""
    import pandas as pd

    n = table.num_rows
    if n == 0:
        return {"count": 0, "share": 0.0, "examples": []}
    dup = pd.Series(row_hashes(table)).duplicated(keep="first").to_numpy()
    count = int(dup.sum())
    return {"count": count, "share": count / n,
            "examples": [int(i) + 1 for i in np.flatnonzero(dup)[:5]]}  # 1-based row numbers


def missing_patterns(names: list[str], masks: dict[str, np.ndarray], n_rows: int,
                     top: int = 10) -> dict[str, Any]:
    """Which columns are missing together: the most frequent combinations."""
    import pandas as pd

    cols = sorted((c for c in names if masks[c].any()), key=lambda c: -int(masks[c].sum()))[:63]
    if not cols or n_rows == 0:
        return {"complete_rows": n_rows, "complete_share": 1.0 if n_rows else 0.0, "patterns": [],
                "columns_considered": cols}
    bits = np.zeros(n_rows, dtype=np.uint64)
    for i, c in enumerate(cols):
        bits |= masks[c].astype(np.uint64) << np.uint64(i)
    counts = pd.Series(bits).value_counts()
    complete = int(counts.get(0, 0))
    patterns = []
    for key, count in counts.items():
        if key == 0:
            continue
        members = [c for i, c in enumerate(cols) if int(key) >> i & 1]
        patterns.append({"columns": members, "count": int(count), "share": int(count) / n_rows})
        if len(patterns) >= top:
            break
    return {"complete_rows": complete, "complete_share": complete / n_rows, "patterns": patterns,
            "columns_considered": cols}


# -- correlations ------------------------------------------------------------------------

def _pearson(a: np.ndarray, b: np.ndarray) -> Optional[float]:
    if len(a) < 3:
        return None
    a = a - a.mean()
    b = b - b.mean()
    denom = math.sqrt(float((a * a).sum()) * float((b * b).sum()))
    if denom == 0:
        return None
    return max(-1.0, min(1.0, float((a * b).sum()) / denom))


class RankCache:
    """Average ranks (1-based, ties averaged, as ``scipy.stats.rankdata``) of a column
    over a subset of rows. Each column is sorted once; ranking another subset then
    takes a linear pass over that order instead of a new sort."""

    def __init__(self) -> None:
        self._order: dict[str, np.ndarray] = {}
        self._cache: dict[tuple[str, bytes], np.ndarray] = {}

    def ranks(self, name: str, values: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Ranks of ``values[mask]``, in that order."""
        key = (name, np.packbits(mask).tobytes())
        found = self._cache.get(key)
        if found is not None:
            return found
        order = self._order.get(name)
        if order is None:
            order = np.argsort(values, kind="stable")  # NaN sort last
            self._order[name] = order
        sel = order[mask[order]]
        sv = values[sel]
        m = len(sv)
        starts = np.flatnonzero(np.concatenate(([True], sv[1:] != sv[:-1]))) if m else np.array([], int)
        ends = np.append(starts[1:], m)
        rank_sorted = np.repeat((starts + ends + 1) / 2.0, ends - starts)
        position = np.cumsum(mask) - 1  # row -> index within values[mask]
        out = np.empty(m, dtype=np.float64)
        out[position[sel]] = rank_sorted
        self._cache[key] = out
        return out


def _matrix_corr(rows: list[np.ndarray]) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.corrcoef(np.vstack(rows))


def numeric_correlations(numeric: dict[str, np.ndarray]) -> dict[str, Any]:
    """Pearson and Spearman matrices on pairwise-complete rows."""
    names = list(numeric)
    k = len(names)
    pearson: list[list[Optional[float]]] = [[None] * k for _ in range(k)]
    spearman: list[list[Optional[float]]] = [[None] * k for _ in range(k)]
    valid = {c: np.isfinite(numeric[c]) for c in names}
    ranks = RankCache()
    complete = [i for i, c in enumerate(names) if valid[c].all() and len(numeric[c]) > 2]
    if len(complete) < 2:
        complete = []
    if complete:
        # one matrix product for every pair of columns without missing values
        p = _matrix_corr([numeric[names[i]] for i in complete])
        r = _matrix_corr([ranks.ranks(names[i], numeric[names[i]], valid[names[i]]) for i in complete])
        for a, i in enumerate(complete):
            for b, j in enumerate(complete):
                pearson[i][j] = _finite(p[a, b])
                spearman[i][j] = _finite(r[a, b])
    done = set(complete)
    for i in range(k):
        for j in range(i, k):
            if i in done and j in done:
                continue
            a, b = names[i], names[j]
            mask = valid[a] & valid[b]
            if mask.sum() < 3:
                continue
            pearson[i][j] = pearson[j][i] = _pearson(numeric[a][mask], numeric[b][mask])
            spearman[i][j] = spearman[j][i] = _pearson(ranks.ranks(a, numeric[a], mask),
                                                       ranks.ranks(b, numeric[b], mask))
    return {"columns": names, "pearson": pearson, "spearman": spearman, "rank_cache": ranks}


def _finite(value: float) -> Optional[float]:
    v = float(value)
    return max(-1.0, min(1.0, v)) if math.isfinite(v) else None


def contingency(x: np.ndarray, y: np.ndarray) -> Optional[np.ndarray]:
    """Counts of each (x, y) code pair, rows with a missing code (-1) dropped and
    empty rows and columns removed. Codes are small non-negative integers already
    (dictionary or bin codes), so no sort is needed."""
    mask = (x >= 0) & (y >= 0)
    x, y = x[mask], y[mask]
    if len(x) == 0:
        return None
    r, c = int(x.max()) + 1, int(y.max()) + 1
    table = np.bincount(x * c + y, minlength=r * c).reshape(r, c)
    return table[table.sum(1) > 0][:, table.sum(0) > 0].astype(np.float64)


def cramers_v(x: np.ndarray, y: np.ndarray) -> Optional[float]:
    """Cramér's V of two code arrays (-1 = missing, dropped), without bias correction
    (as ``scipy.stats.contingency.association(method='cramer')``)."""
    table = contingency(x, y)
    if table is None or min(table.shape) < 2:
        return None
    r, c = table.shape
    n = table.sum()
    expected = np.outer(table.sum(1), table.sum(0)) / n
    chi2 = float(((table - expected) ** 2 / expected).sum())
    return math.sqrt(chi2 / (n * (min(r, c) - 1)))


def correlation_ratio(codes: np.ndarray, values: np.ndarray) -> Optional[float]:
    """η: how much of a numeric column's variance the categories explain (sqrt of
    the between-group share of the sum of squares)."""
    mask = (codes >= 0) & np.isfinite(values)
    g, v = codes[mask], values[mask]
    if len(v) < 3:
        return None
    counts = np.bincount(g)
    sums = np.bincount(g, weights=v)
    used = counts > 0
    counts, sums = counts[used], sums[used]
    mean = v.mean()
    ss_total = float(((v - mean) ** 2).sum())
    if ss_total == 0:
        return None
    ss_between = float((counts * (sums / counts - mean) ** 2).sum())
    return math.sqrt(max(0.0, min(1.0, ss_between / ss_total)))


def categorical_associations(codes: dict[str, np.ndarray]) -> dict[str, Any]:
    """Cramér's V between every pair of categorical columns, as a symmetric matrix."""
    names = list(codes)
    k = len(names)
    matrix = [[None] * k for _ in range(k)]
    for i in range(k):
        matrix[i][i] = 1.0
        for j in range(i + 1, k):
            v = cramers_v(codes[names[i]], codes[names[j]])
            matrix[i][j] = matrix[j][i] = v
    return {"columns": names, "cramers_v": matrix}


def mixed_associations(codes: dict[str, np.ndarray], numeric: dict[str, np.ndarray]) -> dict[str, Any]:
    """The correlation ratio (eta) of each numeric column on each categorical column."""
    rows = list(codes)
    cols = list(numeric)
    matrix = [[correlation_ratio(codes[r], numeric[c]) for c in cols] for r in rows]
    return {"categorical": rows, "numeric": cols, "eta": matrix}


# -- relation to the target --------------------------------------------------------------

def quantile_codes(values: np.ndarray, bins: int = MI_BINS) -> np.ndarray:
    """Codes of equal-frequency bins (-1 for missing); ties keep bins distinct."""
    codes = np.full(len(values), -1, dtype=np.int64)
    mask = np.isfinite(values)
    if not mask.any():
        return codes
    edges = np.unique(np.quantile(values[mask], np.linspace(0, 1, bins + 1)[1:-1]))
    codes[mask] = np.searchsorted(edges, values[mask], side="right")
    return codes


def top_codes(codes: np.ndarray, keep: int = MI_MAX_CATEGORIES) -> np.ndarray:
    """Codes with all but the ``keep`` most frequent categories merged into one."""
    valid = codes >= 0
    if not valid.any():
        return codes
    counts = np.bincount(codes[valid])
    if (counts > 0).sum() <= keep:
        return codes
    top = np.argsort(-counts, kind="stable")[:keep]
    remap = np.full(len(counts), keep, dtype=np.int64)
    remap[top] = np.arange(keep)
    out = codes.copy()
    out[valid] = remap[codes[valid]]
    return out


def mutual_information(x: np.ndarray, y: np.ndarray) -> Optional[float]:
    """Mutual information in nats between two code arrays (-1 = missing, dropped); the
    same figure as ``sklearn.metrics.mutual_info_score`` on those codes."""
    joint = contingency(x, y)
    if joint is None:
        return None
    n = joint.sum()
    nz = joint > 0
    pxy = joint[nz] / n
    px = joint.sum(1) / n
    py = joint.sum(0) / n
    outer = np.outer(px, py)[nz]
    return max(0.0, float((pxy * np.log(pxy / outer)).sum()))


def auc_from_ranks(ranks: np.ndarray, positive: np.ndarray) -> Optional[float]:
    """ROC AUC from average ranks (Mann–Whitney), ties counted half."""
    n1 = int(positive.sum())
    n0 = len(positive) - n1
    if n1 == 0 or n0 == 0:
        return None
    return (float(ranks[positive].sum()) - n1 * (n1 + 1) / 2) / (n1 * n0)


def target_encoding_auc(codes: np.ndarray, positive: np.ndarray) -> Optional[float]:
    """AUC of scoring each row by its category's share of positives (in-sample)."""
    from scipy.stats import rankdata

    mask = codes >= 0
    g, p = codes[mask], positive[mask]
    if len(g) == 0:
        return None
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.bincount(g, weights=p.astype(np.float64)) / np.bincount(g)
    return auc_from_ranks(rankdata(rate[g]), p)
