"""The profile of a dataset larger than memory, worked out of core with bounded memory.

Every per-column figure, the duplicate count and the missing patterns are computed over
all rows by the engine (:mod:`..data.engine`, under its memory limit) and by one
streaming pass for the histograms, and equal what :func:`.profile.profile_table` gives
the same table in memory (ties among equally frequent values are ordered by value).
Correlations, associations and relations to the target use the seeded sample the
in-memory profile draws (the same rows), read row group by row group; the class counts
of a categorical target are counted over all rows. A chart of a category against the
target lists the categories in the order the sample meets them.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Optional

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..data.engine import connect, parquet_source, quoted
from ..errors import NotFoundError
from ..jobs import CancelToken, ProgressCallback, Steps, no_progress
from . import alerts as alert_rules
from . import relations
from .columns import (FAR_EXAMPLES, FAR_IQRS, HISTOGRAM_BINS, MOSTLY_NUMBERS, QUANTILES, ROBUST_Z_CUTOFF,
                      TOP_VALUES, ColumnProfile, _NUMBER, _iso, _label, clean, numeric_values)

if TYPE_CHECKING:
    import duckdb

    from ..data.on_disk import OnDiskTable
    from .profile import Profile

#: the values of a numeric column that are counted (missing and infinite values aside)
_FINITE = "isfinite(x)"


def profile_on_disk(table: "OnDiskTable", *, kinds: dict[str, str], roles: Optional[dict[str, str]] = None,
                    target: Optional[str] = None, dataset: Optional[dict[str, Any]] = None,
                    progress: ProgressCallback = no_progress, cancel: Optional[CancelToken] = None,
                    sample_rows: Optional[int] = None) -> "Profile":
    """The profile of the Parquet file behind ``table`` (see the module's note)."""
    from . import profile as in_memory

    started = time.perf_counter()
    sample_rows = in_memory.SAMPLE_ROWS if sample_rows is None else sample_rows
    roles = roles or {}
    names = list(table.names)
    n = table.rows
    if target is not None and target not in names:
        raise NotFoundError(f"There is no column {target!r} to use as the target. Columns: {', '.join(names)}.")
    steps = Steps(progress, cancel, {"columns": 55, "histograms": 10, "table": 15, "sample": 10,
                                     "correlations": 10})
    numeric = {name for name in names if _numbers_profiled(table.type_of(name), kinds.get(name, "categorical"))}
    source = parquet_source(table.path)
    profiles: dict[str, ColumnProfile] = {}
    spans: dict[str, Optional[tuple[int, int]]] = {}  # each date column's first and last moment
    with connect(table.spill_dir) as con:
        steps.start("columns", "Profiling columns")
        for i, name in enumerate(names):
            steps.check()
            kind, role = kinds.get(name, "categorical"), roles.get(name, "feature")
            t = table.type_of(name)
            if name in numeric:
                profiles[name] = _numeric(con, source, name, kind, role, n)
            elif kind == "datetime" and (pa.types.is_timestamp(t) or pa.types.is_date(t)):
                profiles[name], spans[name] = _datetime(con, source, name, kind, role, n)
            else:
                profiles[name] = _categorical(con, source, name, kind, role, n, t)
            steps.within((i + 1) / max(len(names), 1))
        steps.start("histograms", "Drawing histograms")
        _histograms(table, profiles, numeric, spans, steps)
        steps.start("table", "Looking for duplicates and missing values")
        # a column whose values are all present and all different (an id) leaves no row equal
        # to another: the hash of every row is not needed
        unique = any(p.missing == 0 and p.distinct == n for p in profiles.values())
        duplicates = ({"count": 0, "share": 0.0, "examples": []} if unique or n == 0
                      else _duplicates(con, table, n))
        patterns = _missing_patterns(con, source, names, numeric, profiles, n)
        classes = _classes(con, source, target) if target is not None and target not in numeric else None
    columns = [profiles[c] for c in names]

    steps.start("sample", "Reading a sample of rows")
    sample = table.sample(sample_rows, in_memory.SEED, cancel=cancel)
    sampled = sample.num_rows < n
    sample_info = {"rows": sample.num_rows, "of": n, "sampled": sampled, "seed": in_memory.SEED}
    steps.start("correlations", "Computing correlations")
    values = {c: numeric_values(sample.column(c)) for c in names if c in numeric}
    num_names = [c for c in names if c in numeric and profiles[c].distinct > 1]
    sampled_numeric = {c: values[c] for c in num_names}
    cat_names = [c for c in names if kinds.get(c) in in_memory.CATEGORY_KINDS and
                 1 < profiles[c].distinct <= relations.MAX_CATEGORIES_FOR_ASSOCIATION]
    correlations = relations.numeric_correlations(sampled_numeric)
    codes = {c: relations.codes_of(sample.column(c)) for c in cat_names}
    associations = relations.categorical_associations(codes)
    mixed = relations.mixed_associations(codes, sampled_numeric)

    target_section = None
    alerts: list[alert_rules.Alert] = []
    if target is not None:
        target_section = in_memory._target_relations(sample, target, kinds, profiles, values, lambda v: v,
                                                     correlations["rank_cache"], sampled_numeric)
        if classes is not None and "classes" in target_section:
            target_section["classes"] = classes
        alerts += alert_rules.leakage_alerts(target, target_section["relations"])
    related = {r["column"]: r for r in (target_section or {}).get("relations", [])}
    for col in columns:
        alerts += (alert_rules.column_alerts(col, n, related.get(col.name)) if col.name != target
                   else alert_rules.target_alerts(col, n))
    alerts += alert_rules.table_alerts(n, duplicates, correlations, associations, target)
    notes = [f"The dataset is larger than memory: every per-column figure, the duplicates and the missing "
             f"patterns were counted over all {n:,} rows on disk."]
    if sampled:
        notes.append(f"Correlations, associations and relations to the target use a random sample "
                     f"of {sample.num_rows:,} of the {n:,} rows (seed {in_memory.SEED}).")
    skipped = [c for c in names if kinds.get(c) in in_memory.CATEGORY_KINDS and
               profiles[c].distinct > relations.MAX_CATEGORIES_FOR_ASSOCIATION]
    if skipped:
        notes.append(f"Cramér's V and correlation ratios leave out columns with more than "
                     f"{relations.MAX_CATEGORIES_FOR_ASSOCIATION} categories: {', '.join(skipped)}.")
    steps.done("Profile ready")
    return in_memory.Profile(dataset or {}, n, len(names), columns, duplicates, patterns, correlations,
                             associations, mixed, target_section, alert_rules.sort_alerts(alerts),
                             sample_info, time.perf_counter() - started, notes)


def _numbers_profiled(t: pa.DataType, kind: str) -> bool:
    """Whether a column gets the numeric profile (as :func:`.profile.column_profile` decides)."""
    from .profile import NUMERIC_KINDS

    numeric_type = pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t)
    return numeric_type and (kind in NUMERIC_KINDS or kind == "constant")


def _one(con: "duckdb.DuckDBPyConnection", sql: str) -> tuple:
    return con.execute(sql).fetchall()[0]


def _as_double(name: str) -> str:
    return f"CAST({quoted(name)} AS DOUBLE)"


def _numeric(con, source: str, name: str, kind: str, role: str, n: int) -> ColumnProfile:
    """As :func:`.columns.numeric_profile`, but for the histogram (drawn in one pass later).
    The finite values are counted into a table of distinct values, from which the exact
    quantiles are read in order (bounded memory, where a quantile aggregate holds every value)."""
    values = f"(SELECT {_as_double(name)} AS x FROM {source})"
    fin = f"FILTER (WHERE {_FINITE})"
    (valid, zeros, negatives, infinite, mean, std, skew, kurt, lo, hi, min_positive, whole) = _one(con, f"""
        SELECT count(x) FILTER (WHERE NOT isnan(x)),
               count(*) FILTER (WHERE x = 0), count(*) FILTER (WHERE x < 0), count(*) FILTER (WHERE isinf(x)),
               avg(x) {fin}, stddev_samp(x) {fin}, skewness(x) {fin}, kurtosis(x) {fin},
               min(x) {fin}, max(x) {fin}, min(x) FILTER (WHERE {_FINITE} AND x > 0),
               bool_and(x = round(x)) {fin}
        FROM {values}""")
    con.execute(f"CREATE OR REPLACE TEMP TABLE counts AS SELECT x AS v, count(*) AS n FROM {values} "
                f"WHERE NOT isnan(x) GROUP BY ALL")
    distinct = _one(con, "SELECT count(*) FROM counts")[0]  # infinite values are values here
    m = valid - infinite
    stats: dict[str, Any] = {"zeros": zeros, "negatives": negatives, "infinite": infinite}
    if m:
        finite = "SELECT v, n FROM counts WHERE isfinite(v)"
        qs = {f"q{int(round(q * 100)):02d}": v for q, v in zip(QUANTILES, _quantiles(con, finite, m, QUANTILES))}
        q1, q3, median = qs["q25"], qs["q75"], qs["q50"]
        iqr = q3 - q1
        mad = _quantiles(con, f"SELECT abs(v - {median!r}), n FROM counts WHERE isfinite(v)", m, [0.5])[0]
        fences = (q1 - 1.5 * iqr, q3 + 1.5 * iqr)
        far_fences = (q1 - FAR_IQRS * iqr, q3 + FAR_IQRS * iqr)
        far = f"v < {far_fences[0]!r} OR v > {far_fences[1]!r}" if iqr > 0 else "false"
        cutoff = ROBUST_Z_CUTOFF * mad / 0.6745
        outliers, robust, far_count = (int(c or 0) for c in _one(con, f"""
            SELECT sum(n) FILTER (WHERE v < {fences[0]!r} OR v > {fences[1]!r}),
                   sum(n) FILTER (WHERE {str(mad > 0).lower()} AND abs(v - {median!r}) > {cutoff!r}),
                   sum(n) FILTER (WHERE {far})
            FROM counts WHERE isfinite(v)"""))
        examples = [r[0] for r in con.execute(
            f"SELECT v FROM counts WHERE isfinite(v) AND ({far}) "
            f"ORDER BY abs(v - {median!r}) DESC, v LIMIT {FAR_EXAMPLES}").fetchall()] if far_count else []
        stats.update(whole_numbers=bool(whole), min_positive=min_positive, far_outliers=far_count,
                     far_examples=[float(v) for v in examples], far_fences=list(far_fences))
        stats.update(mean=mean, std=std if m > 1 else 0.0, min=lo, max=hi, median=median, iqr=iqr, mad=mad,
                     skewness=skew if m >= 3 else None, kurtosis=kurt if m >= 4 else None,
                     outliers_iqr=outliers, outliers_iqr_share=outliers / m,
                     outliers_robust_z=robust, outliers_robust_z_share=robust / m,
                     iqr_fences=list(fences), **qs)
    con.execute("DROP TABLE counts")
    return ColumnProfile(name, kind, role, valid, n - valid, (n - valid) / n if n else 0.0, distinct,
                         {k: clean(v) if not isinstance(v, list) else [clean(x) for x in v]
                          for k, v in stats.items()})


def _quantiles(con, value_counts_sql: str, total: int, qs: Any) -> list[float]:
    """Exact quantiles (numpy's linear interpolation) of the ``total`` values that
    ``value_counts_sql`` gives as (value, count) rows: read in order of value, a batch at a
    time, so memory holds one batch whatever the number of distinct values."""
    positions = [q * (total - 1) for q in qs]
    wanted = sorted({int(np.floor(p)) for p in positions} | {min(int(np.floor(p)) + 1, total - 1) for p in positions})
    found: dict[int, float] = {}
    reader = con.sql(f"SELECT * FROM ({value_counts_sql}) ORDER BY 1").to_arrow_reader(1 << 16)
    seen = 0
    for batch in reader:
        values = batch.column(0).to_numpy(zero_copy_only=False).astype(np.float64)
        ends = seen + np.cumsum(batch.column(1).to_numpy(zero_copy_only=False))
        for rank in wanted:
            if rank not in found and rank < ends[-1]:
                found[rank] = float(values[np.searchsorted(ends, rank, side="right")])
        seen = int(ends[-1])
        if len(found) == len(wanted):
            reader.close()
            break
    out = []
    for p in positions:
        low = int(np.floor(p))
        a, b, t = found[low], found[min(low + 1, total - 1)], p - low
        out.append(float(a + (b - a) * t) if t < 0.5 else float(b - (b - a) * (1 - t)))  # as numpy's lerp
    return out


def _categorical(con, source: str, name: str, kind: str, role: str, n: int, t: pa.DataType) -> ColumnProfile:
    """As :func:`.columns.categorical_profile`; the values and their counts stay in the engine.
    A column whose values are all different (an id) is not grouped: each value is a singleton."""
    col = quoted(name)
    valid, distinct = _one(con, f"SELECT count({col}), count(DISTINCT {col}) FROM {source}")
    text = pa.types.is_string(t) or pa.types.is_large_string(t)
    if distinct == valid:
        counts = f"(SELECT {col} AS v, 1 AS n FROM {source} WHERE {col} IS NOT NULL)"
    else:
        con.execute(f"CREATE OR REPLACE TEMP TABLE counts AS SELECT {col} AS v, count(*) AS n "
                    f"FROM {source} WHERE {col} IS NOT NULL GROUP BY ALL")
        counts = "counts"
    stats: dict[str, Any] = {}
    chart = None
    if distinct:
        singletons = distinct if distinct == valid else _one(con, f"SELECT count(*) FROM {counts} WHERE n = 1")[0]
        top = [{"value": _label(v), "count": int(c), "share": int(c) / valid}
               for v, c in con.execute(f"SELECT v, n FROM {counts} ORDER BY n DESC, v LIMIT {TOP_VALUES}").fetchall()]
        stats.update(top=top, top_share=top[0]["share"], singletons=singletons)
        if text:
            mean_length, max_length = _one(con, f"SELECT avg(length({col})), max(length({col})) FROM {source}")
            stats.update(mean_length=clean(mean_length), max_length=clean(max_length))
            stats.update(_stray_non_numbers(con, counts, valid))
        chart = {"kind": "bars", "labels": [t["value"] for t in top], "counts": [t["count"] for t in top],
                 "other": int(valid - sum(t["count"] for t in top))}
    con.execute("DROP TABLE IF EXISTS counts")
    return ColumnProfile(name, kind, role, valid, n - valid, (n - valid) / n if n else 0.0, distinct,
                         stats, chart)


def _stray_non_numbers(con, counts: str, valid: int) -> dict[str, Any]:
    """As :func:`.columns._stray_non_numbers`, over the value counts in the engine."""
    pattern = _NUMBER.replace("'", "''")
    numbers, all_numbers = _one(con, f"SELECT coalesce(sum(n) FILTER (WHERE regexp_matches(v, '{pattern}')), 0), "
                                     f"bool_and(regexp_matches(v, '{pattern}')) FROM {counts}")
    share = float(numbers) / valid if valid else 0.0
    if share < MOSTLY_NUMBERS or all_numbers:
        return {}
    strays = con.execute(f"SELECT v, n FROM {counts} WHERE NOT regexp_matches(v, '{pattern}') "
                         f"ORDER BY n DESC, v LIMIT 5").fetchall()
    return {"numeric_share": share, "non_numbers": [{"value": str(v), "count": int(c)} for v, c in strays],
            "non_number_count": int(valid - numbers)}


def _datetime(con, source: str, name: str, kind: str, role: str,
              n: int) -> tuple[ColumnProfile, Optional[tuple[int, int]]]:
    """As :func:`.columns.datetime_profile`, but for the histogram (drawn in one pass later),
    and the first and last moment in microseconds (None without any)."""
    col = quoted(name)
    con.execute(f"CREATE OR REPLACE TEMP TABLE moments AS SELECT DISTINCT epoch_us({col}) "
                f"AS v FROM {source} WHERE {col} IS NOT NULL")
    valid = _one(con, f"SELECT count({col}) FROM {source}")[0]
    distinct, lo, hi = _one(con, "SELECT count(*), min(v), max(v) FROM moments")
    stats: dict[str, Any] = {}
    if distinct:
        stats.update(min=_iso(lo), max=_iso(hi), range_days=(hi - lo) / 86_400e6)
    if distinct > 2:
        con.execute("CREATE OR REPLACE TEMP TABLE steps AS "
                    "SELECT v, lead(v) OVER (ORDER BY v) - v AS step FROM moments")
        typical = _quantiles(con, "SELECT step, count(*) FROM steps WHERE step IS NOT NULL GROUP BY ALL",
                             distinct - 1, [0.5])[0]
        start, largest, end = _one(con, "SELECT v, step, v + step FROM steps WHERE step IS NOT NULL "
                                        "ORDER BY step DESC, v LIMIT 1")
        gaps = _one(con, f"SELECT count(*) FROM steps WHERE step > {10 * typical!r}")[0]
        stats.update(typical_step_hours=typical / 3_600e6, largest_gap_hours=float(largest) / 3_600e6,
                     largest_gap_from=_iso(start), largest_gap_to=_iso(end), gaps_over_10x_typical=gaps)
        con.execute("DROP TABLE steps")
    con.execute("DROP TABLE moments")
    return (ColumnProfile(name, kind, role, valid, n - valid, (n - valid) / n if n else 0.0, distinct, stats),
            (lo, hi) if distinct else None)


def _histograms(table: "OnDiskTable", profiles: dict[str, ColumnProfile], numeric: set[str],
                spans: dict[str, Optional[tuple[int, int]]], steps: Steps) -> None:
    """Each numeric and date column's histogram in one pass over the file: counts on
    fixed bins add up across parts, so they equal ``numpy.histogram`` of the whole column."""
    edges: dict[str, np.ndarray] = {}
    for name, prof in profiles.items():
        if name in numeric and prof.stats.get("min") is not None:
            lo, hi = prof.stats["min"], prof.stats["max"]
            if lo == hi:
                prof.chart = {"kind": "histogram", "edges": [lo - 0.5, hi + 0.5],
                              "counts": [prof.count - prof.stats["infinite"]]}
                continue
            edges[name] = np.histogram_bin_edges([], bins=HISTOGRAM_BINS, range=(lo, hi))
        elif spans.get(name) is not None:
            lo, hi = spans[name]
            edges[name] = np.linspace(lo, hi, HISTOGRAM_BINS + 1) if hi > lo else np.array([lo - 1, hi + 1])
    if not edges:
        return
    counts = {name: np.zeros(len(e) - 1, dtype=np.int64) for name, e in edges.items()}
    done = 0
    for batch in table.batches(list(edges)):
        steps.check()
        for name in edges:
            col = batch.column(name)
            if name in numeric:
                values = numeric_values(pa.chunked_array([col]))
                values = values[np.isfinite(values)]
                counts[name] += np.histogram(values, bins=HISTOGRAM_BINS,
                                             range=(profiles[name].stats["min"], profiles[name].stats["max"]))[0]
            else:
                micros = pc.cast(pc.cast(col, pa.timestamp("us", tz=getattr(col.type, "tz", None)), safe=False),
                                 pa.int64()).drop_null().to_numpy()
                counts[name] += np.histogram(micros, bins=edges[name])[0]
        done += batch.num_rows
        steps.within(done / max(table.rows, 1))
    for name, e in edges.items():
        if name in numeric:
            profiles[name].chart = {"kind": "histogram", "edges": [float(x) for x in e],
                                    "counts": [int(c) for c in counts[name]]}
        else:
            profiles[name].chart = {"kind": "time_histogram", "edges": [_iso(int(x)) for x in e],
                                    "counts": [int(c) for c in counts[name]]}


def _missing(name: str, numeric: set[str]) -> str:
    """Whether a row misses the column, as the in-memory profile's mask says."""
    if name in numeric:
        return f"({quoted(name)} IS NULL OR isnan({_as_double(name)}))"
    return f"({quoted(name)} IS NULL)"


def _duplicates(con, table: "OnDiskTable", n: int) -> dict[str, Any]:
    """As :func:`.relations.duplicate_rows`: rows equal to an earlier row, by a 64-bit hash
    of every column."""
    row = "hash(" + ", ".join(quoted(c) for c in table.names) + ")"
    source = parquet_source(table.path, row_numbers=True)
    count = n - _one(con, f"SELECT count(DISTINCT {row}) FROM {source}")[0]
    examples: list[int] = []
    if count:
        examples = [int(r[0]) + 1 for r in con.execute(f"""
            WITH rows AS (SELECT {row} AS h, file_row_number AS r FROM {source}),
                 firsts AS (SELECT h, min(r) AS first FROM rows GROUP BY h HAVING count(*) > 1)
            SELECT r FROM rows JOIN firsts USING (h) WHERE r > first ORDER BY r LIMIT 5""").fetchall()]
    return {"count": count, "share": count / n, "examples": examples}


def _missing_patterns(con, source: str, names: list[str], numeric: set[str], profiles: dict[str, ColumnProfile],
                      n: int, top: int = 10) -> dict[str, Any]:
    """As :func:`.relations.missing_patterns`, counted by the engine."""
    cols = sorted((c for c in names if profiles[c].missing), key=lambda c: -profiles[c].missing)[:63]
    if not cols or n == 0:
        return {"complete_rows": n, "complete_share": 1.0 if n else 0.0, "patterns": [], "columns_considered": cols}
    key = " | ".join(f"(CAST({_missing(c, numeric)} AS UBIGINT) << {i})" for i, c in enumerate(cols))
    con.execute(f"CREATE OR REPLACE TEMP TABLE patterns AS SELECT {key} AS k, count(*) AS n FROM {source} GROUP BY ALL")
    complete = int(_one(con, "SELECT coalesce(sum(n), 0) FROM patterns WHERE k = 0")[0])
    patterns = [{"columns": [c for i, c in enumerate(cols) if int(k) >> i & 1], "count": int(count),
                 "share": int(count) / n}
                for k, count in con.execute(f"SELECT k, n FROM patterns WHERE k <> 0 ORDER BY n DESC, k "
                                            f"LIMIT {top}").fetchall()]
    con.execute("DROP TABLE patterns")
    return {"complete_rows": complete, "complete_share": complete / n, "patterns": patterns,
            "columns_considered": cols}


def _classes(con, source: str, target: str) -> list[dict[str, Any]]:
    """A categorical target's classes with their counts over all rows, the most frequent first."""
    col = quoted(target)
    rows = con.execute(f"SELECT {col}, count(*) AS n FROM {source} WHERE {col} IS NOT NULL "
                       f"GROUP BY ALL ORDER BY n DESC, {col}").fetchall()
    total = max(sum(c for _, c in rows), 1)
    return [{"value": str(v), "count": int(c), "share": int(c) / total} for v, c in rows]
