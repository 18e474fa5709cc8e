"""The profile of a dataset: every column's statistics, relations across columns,
the relation of each feature to the target, and alerts.

Per-column figures use every row. Correlations and target relations use a seeded
random sample of at most ``SAMPLE_ROWS`` rows, and the profile says so.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Optional

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import NotFoundError
from ..jobs import CancelToken, ProgressCallback, Steps, no_progress
from . import alerts as alert_rules
from . import relations, target_charts
from .columns import (ColumnProfile, categorical_profile, clean, datetime_profile, numeric_profile,
                      numeric_values)

if TYPE_CHECKING:
    from ..workspace import Workspace

SAMPLE_ROWS = 200_000
MIN_ROWS_FOR_LEAKAGE = 30
SEED = 20131


@dataclass
class Profile:
    """Everything Explore shows about a dataset: columns, duplicates, missingness, relations, alerts."""
    dataset: dict[str, Any]
    n_rows: int
    n_columns: int
    columns: list[ColumnProfile]
    duplicates: dict[str, Any]
    missing_patterns: dict[str, Any]
    correlations: dict[str, Any]
    associations: dict[str, Any]
    mixed: dict[str, Any]
    target: Optional[dict[str, Any]]
    alerts: list[alert_rules.Alert]
    sample: dict[str, Any]
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    def column(self, name: str) -> ColumnProfile:
        """The profile of the column named ``name``; raises NotFoundError when there is none."""
        for c in self.columns:
            if c.name == name:
                return c
        raise NotFoundError(f"The profile has no column {name!r}.")

    def to_dict(self) -> dict[str, Any]:
        """The whole profile as ``explore --json`` prints it (without the internal rank
        cache)."""
        correlations = {k: v for k, v in self.correlations.items() if k != "rank_cache"}
        return {"dataset": self.dataset, "rows": self.n_rows, "columns_count": self.n_columns,
                "columns": [c.to_dict() for c in self.columns], "duplicates": self.duplicates,
                "missing_patterns": self.missing_patterns, "correlations": correlations,
                "associations": self.associations, "correlation_ratio": self.mixed,
                "target": self.target, "alerts": [a.to_dict() for a in self.alerts],
                "sample": self.sample, "notes": self.notes, "seconds": round(self.seconds, 3)}


NUMERIC_KINDS = ("numeric",)
CATEGORY_KINDS = ("categorical", "boolean")


def profile_table(table: pa.Table, *, kinds: dict[str, str], roles: Optional[dict[str, str]] = None,
                  target: Optional[str] = None, dataset: Optional[dict[str, Any]] = None,
                  progress: ProgressCallback = no_progress, cancel: Optional[CancelToken] = None,
                  sample_rows: int = SAMPLE_ROWS) -> Profile:
    """Profile a table: per-column statistics, duplicates, missing patterns, correlations and alerts."""
    started = time.perf_counter()
    roles = roles or {}
    n = table.num_rows
    if target is not None and target not in table.column_names:
        raise NotFoundError(f"There is no column {target!r} to use as the target. "
                            f"Columns: {', '.join(table.column_names)}.")
    steps = Steps(progress, cancel, {"columns": 45, "table": 15, "correlations": 30, "target": 10})

    steps.start("columns", "Profiling columns")
    numeric: dict[str, np.ndarray] = {}
    profiles: dict[str, ColumnProfile] = {}
    masks: dict[str, np.ndarray] = {}

    def one(name: str) -> ColumnProfile:
        result, values, missing = column_profile(table.column(name), name, kinds.get(name, "categorical"),
                                                 roles.get(name, "feature"))
        masks[name] = missing
        if values is not None:
            numeric[name] = values
        return result

    names = table.column_names
    # numpy and Arrow release the GIL in their loops: two threads use both cores
    with ThreadPoolExecutor(max_workers=2) as pool:
        for i, result in enumerate(pool.map(one, names)):
            profiles[result.name] = result
            steps.within((i + 1) / max(len(names), 1))
    columns = [profiles[c] for c in names]

    steps.start("table", "Looking for duplicates and missing values")
    duplicates = relations.duplicate_rows(table)
    patterns = relations.missing_patterns(names, masks, n)

    steps.start("correlations", "Computing correlations")
    sample_idx = None
    if n > sample_rows:
        sample_idx = np.sort(np.random.default_rng(SEED).choice(n, sample_rows, replace=False))
    sample_info = {"rows": int(n if sample_idx is None else sample_rows), "of": n,
                   "sampled": sample_idx is not None, "seed": SEED}

    def take(values: np.ndarray) -> np.ndarray:
        return values if sample_idx is None else values[sample_idx]

    num_names = [c for c in names if c in numeric and profiles[c].distinct > 1]
    sampled_numeric = {c: take(numeric[c]) for c in num_names}
    cat_names = [c for c in names if kinds.get(c) in CATEGORY_KINDS and
                 1 < profiles[c].distinct <= relations.MAX_CATEGORIES_FOR_ASSOCIATION]
    sampled_codes = {c: take(relations.codes_of(table.column(c))) for c in cat_names}
    correlations = relations.numeric_correlations(sampled_numeric)
    steps.within(0.7)
    associations = relations.categorical_associations(sampled_codes)
    mixed = relations.mixed_associations(sampled_codes, sampled_numeric)

    steps.start("target", "Relating features to the target")
    target_section = None
    alerts: list[alert_rules.Alert] = []
    if target is not None:
        target_section = _target_relations(table, target, kinds, profiles, numeric, take,
                                           correlations["rank_cache"], sampled_numeric)
        alerts += alert_rules.leakage_alerts(target, target_section["relations"])
    related = {r["column"]: r for r in (target_section or {}).get("relations", [])}
    for col in columns:
        if col.name != target:
            alerts += alert_rules.column_alerts(col, n, related.get(col.name))
        else:
            alerts += alert_rules.target_alerts(col, n)
    alerts += alert_rules.table_alerts(n, duplicates, correlations, associations, target)
    notes = []
    if sample_idx is not None:
        notes.append(f"Correlations, associations and relations to the target use a random sample "
                     f"of {sample_rows:,} of the {n:,} rows (seed {SEED}); every per-column figure "
                     "uses all rows.")
    skipped = [c for c in names if kinds.get(c) in CATEGORY_KINDS and
               profiles[c].distinct > relations.MAX_CATEGORIES_FOR_ASSOCIATION]
    if skipped:
        notes.append(f"Cramér's V and correlation ratios leave out columns with more than "
                     f"{relations.MAX_CATEGORIES_FOR_ASSOCIATION} categories: {', '.join(skipped)}.")
    steps.done("Profile ready")
    return Profile(dataset or {}, n, table.num_columns, columns, duplicates, patterns, correlations,
                   associations, mixed, target_section, alert_rules.sort_alerts(alerts), sample_info,
                   time.perf_counter() - started, notes)


def column_profile(col: pa.ChunkedArray, name: str, kind: str,
                   role: str) -> tuple[ColumnProfile, Optional[np.ndarray], np.ndarray]:
    """One column's profile, its values as floats (numeric columns, else None) and its
    missing mask."""
    numeric_type = (pa.types.is_integer(col.type) or pa.types.is_floating(col.type)
                    or pa.types.is_boolean(col.type))
    # a constant number column (all NaN, say) still counts NaN as missing, not as a value
    if numeric_type and (kind in NUMERIC_KINDS or kind == "constant"):
        values = numeric_values(col)
        distinct = int(pc.count_distinct(col, mode="only_valid").as_py()) if len(col) else 0
        if pa.types.is_floating(col.type) and pc.any(pc.is_nan(col)).as_py():
            distinct -= 1
        return numeric_profile(name, kind, role, values, distinct), values, np.isnan(values)
    missing = col.is_null().to_numpy(zero_copy_only=False)
    # times of day and durations have no calendar position: their values are counted
    if kind == "datetime" and (pa.types.is_timestamp(col.type) or pa.types.is_date(col.type)):
        return datetime_profile(name, kind, role, col), None, missing
    return categorical_profile(name, kind, role, col), None, missing


def target_relations(table: pa.Table, target: str, kinds: dict[str, str], *,
                     task: Optional[str] = None) -> dict[str, Any]:
    """Each column's relation to ``target`` with Explore's measures, its leakage score and
    the guards on it (at least ``MIN_ROWS_FOR_LEAKAGE`` rows, enough rows per category),
    for a table that is not profiled as a whole (Train's leakage screen uses this: one
    implementation for both pages). ``task``: "regression" or "classification" (inferred
    when None)."""
    profiles: dict[str, ColumnProfile] = {}
    numeric: dict[str, np.ndarray] = {}
    for name in table.column_names:
        prof, values, _ = column_profile(table.column(name), name, kinds.get(name, "categorical"), "feature")
        profiles[name] = prof
        if values is not None:
            numeric[name] = values
    return _target_relations(table, target, kinds, profiles, numeric, lambda v: v, relations.RankCache(),
                             numeric, task=task, charts=False)


def _target_relations(table: pa.Table, target: str, kinds: dict[str, str],
                      profiles: dict[str, ColumnProfile], numeric: dict[str, np.ndarray], take,
                      ranks: relations.RankCache, sampled_numeric: dict[str, np.ndarray], *,
                      task: Optional[str] = None, charts: bool = True) -> dict[str, Any]:
    from ..data.task import infer_task

    if task is None:
        task = infer_task(table.column(target).to_pandas())
    if task == "regression" and target not in numeric:
        task = "classification"  # the analyst set the column's type to a category
    section: dict[str, Any] = {"column": target, "task": task, "relations": []}
    class_labels: list[str] = []
    if task == "regression":
        y = take(numeric[target])
        y_codes = relations.quantile_codes(y)
    else:
        encoded, dictionary = relations.codes_and_values(table.column(target))
        y_codes = take(encoded)
        full_counts = np.bincount(encoded[encoded >= 0], minlength=len(dictionary))
        class_labels = [str(v) for v in dictionary]
        section["classes"] = [{"value": str(v), "count": int(c), "share": int(c) / max(int(full_counts.sum()), 1)}
                              for v, c in sorted(zip(dictionary, full_counts), key=lambda t: -t[1])]
        section["binary"] = len(dictionary) == 2
        if section["binary"]:
            positive_label = sorted(dictionary, key=str)[-1]
            section["positive_class"] = str(positive_label)
            positive_code = dictionary.index(positive_label)
    for name in table.column_names:
        if name == target or kinds.get(name) in ("id", "text", "constant"):
            continue
        prof = profiles[name]
        rel: dict[str, Any] = {"column": name, "kind": prof.kind}
        if name in numeric:
            x = sampled_numeric.get(name, take(numeric[name]))
            x_codes = relations.quantile_codes(x)
            if charts:
                rel["chart"] = (target_charts.numeric_vs_numeric(x, y, name, target) if task == "regression"
                                else target_charts.numeric_vs_classes(x, y_codes, class_labels, name))
        elif kinds.get(name) == "datetime":
            continue
        else:
            x = None
            codes, values = relations.codes_and_values(table.column(name))
            x_codes = take(codes)
            x_labels = [str(v) for v in values]
            if charts:
                rel["chart"] = (
                    target_charts.category_vs_numeric(x_codes, x_labels, y, name, target) if task == "regression"
                    else target_charts.category_vs_classes(x_codes, x_labels, y_codes, class_labels, name))
        if _near_constant(prof):
            common = _common_mask(x, x_codes)
            rel["rare_values"] = _rare_values(common, task, y if task == "regression" else None,
                                              y_codes, class_labels,
                                              positive_code if section.get("binary") else None)
        mi_codes = x_codes if x is not None else relations.top_codes(x_codes)
        rel["mutual_information"] = clean(relations.mutual_information(mi_codes, y_codes))
        if task == "regression":
            if x is not None:
                mask = np.isfinite(x) & np.isfinite(y)
                r = relations._pearson(x[mask], y[mask])
                rel["r2"] = clean(r * r) if r is not None else None
                rho = relations._pearson(ranks.ranks(name, x, mask), ranks.ranks(target, y, mask)) \
                    if mask.sum() > 2 else None
                rel["spearman"] = clean(rho)
                rel["leakage_score"] = max(v for v in (rel["r2"], abs(rho) if rho is not None else None, 0.0)
                                           if v is not None)
                rel["leakage_measure"] = "R²" if (rel["r2"] or 0) >= abs(rho or 0) else "|Spearman|"
            else:
                eta = relations.correlation_ratio(x_codes, y)
                rel["r2"] = clean(eta * eta) if eta is not None else None
                if _enough_rows_per_category(prof, len(y)):
                    rel["leakage_score"], rel["leakage_measure"] = rel["r2"], "R²"
        elif section.get("binary"):
            mask = y_codes >= 0
            if x is not None:
                mask &= np.isfinite(x)
                positive = y_codes[mask] == positive_code
                auc = relations.auc_from_ranks(ranks.ranks(name, x, mask), positive) if mask.sum() else None
            else:
                mask &= x_codes >= 0
                positive = y_codes[mask] == positive_code
                auc = relations.target_encoding_auc(x_codes[mask], positive)
            rel["auc"] = clean(auc)
            if auc is not None and (x is not None or _enough_rows_per_category(prof, len(y_codes))):
                rel["leakage_score"], rel["leakage_measure"] = max(auc, 1 - auc), "univariate AUC"
        else:
            if x is not None:
                eta = relations.correlation_ratio(y_codes, x)
                rel["eta2"] = clean(eta * eta) if eta is not None else None
                rel["leakage_score"], rel["leakage_measure"] = rel["eta2"], "η²"
            else:
                v = relations.cramers_v(x_codes, y_codes)
                rel["cramers_v"] = clean(v)
                if _enough_rows_per_category(prof, len(y_codes)):
                    rel["leakage_score"], rel["leakage_measure"] = rel["cramers_v"], "Cramér's V"
        if len(y_codes) < MIN_ROWS_FOR_LEAKAGE:
            rel.pop("leakage_score", None)  # with a handful of rows anything separates perfectly
        section["relations"].append(rel)
    if len(y_codes) < MIN_ROWS_FOR_LEAKAGE:
        section["note"] = (f"With fewer than {MIN_ROWS_FOR_LEAKAGE} rows no feature is flagged as a "
                           "leak: any column can separate so few rows perfectly.")
    section["relations"].sort(key=lambda r: -(r.get("mutual_information") or 0))
    return section


def _near_constant(prof: ColumnProfile) -> bool:
    """The column the near-constant alert names (one value in most rows)."""
    top = prof.stats.get("top_share")
    if top is not None:
        return prof.distinct > 1 and top >= alert_rules.NEAR_CONSTANT_SHARE
    return (prof.kind == "numeric" and prof.distinct > 1
            and prof.stats.get("q05") is not None and prof.stats.get("q05") == prof.stats.get("q95"))


def _common_mask(x: Optional[np.ndarray], codes: np.ndarray) -> np.ndarray:
    """1 for rows holding the column's most frequent value, 0 for its other values, -1 missing."""
    if x is not None:
        valid = np.isfinite(x)
        values, counts = np.unique(x[valid], return_counts=True)
        out = np.where(x == values[np.argmax(counts)], 1, 0)
        return np.where(valid, out, -1)
    valid = codes >= 0
    top = int(np.argmax(np.bincount(codes[valid])))
    return np.where(valid, (codes == top).astype(int), -1)


def _rare_values(common: np.ndarray, task: str, y: Optional[np.ndarray], y_codes: np.ndarray,
                 class_labels: list[str], positive_code: Optional[int]) -> Optional[dict[str, Any]]:
    """How the target differs between the rows with a near-constant column's rare values and
    the rest: Fisher's exact test (two classes), chi-square (more), Mann–Whitney (numbers)."""
    from scipy import stats

    if task == "regression":
        mask = (common >= 0) & np.isfinite(y)
        rare, usual = y[mask & (common == 0)], y[mask & (common == 1)]
        if len(rare) < 2 or len(usual) < 2:
            return None
        p = float(stats.mannwhitneyu(rare, usual).pvalue)
        return {"rows": int(len(rare)), "test": "Mann–Whitney", "p_value": clean(p),
                "contrast": f"mean target {rare.mean():.4g} in its {len(rare):,} rare rows against "
                            f"{usual.mean():.4g} in the others"}
    mask = (common >= 0) & (y_codes >= 0)
    table = relations.contingency(1 - common[mask], y_codes[mask])
    if table is None or table.shape[0] < 2 or table.shape[1] < 2:
        return None
    rows = int(table[1].sum())
    if positive_code is not None and table.shape[1] == 2:
        pos = np.array([np.sum((1 - common[mask] == g) & (y_codes[mask] == positive_code))
                        for g in (0, 1)], dtype=float)
        totals = table.sum(axis=1)
        p = float(stats.fisher_exact(np.column_stack([pos, totals - pos])).pvalue)
        label = class_labels[positive_code]
        return {"rows": rows, "test": "Fisher's exact test", "p_value": clean(p),
                "rate_rare": pos[1] / totals[1], "rate_common": pos[0] / totals[0],
                "contrast": f"{label!r} in {pos[1] / totals[1]:.0%} of its {rows:,} rare rows "
                            f"against {pos[0] / totals[0]:.0%} of the others"}
    p = float(stats.chi2_contingency(table, correction=False).pvalue)
    return {"rows": rows, "test": "chi-square test", "p_value": clean(p),
            "contrast": f"the classes are spread differently over its {rows:,} rare rows"}


def _enough_rows_per_category(prof: ColumnProfile, n: int) -> bool:
    """In-sample scores of a category with few rows are inflated: no leakage verdict."""
    return prof.distinct > 0 and n / prof.distinct >= 20


def profile_dataset(ws: "Workspace", dataset_ref: str | int, *, target: Optional[str] = None,
                    progress: ProgressCallback = no_progress,
                    cancel: Optional[CancelToken] = None) -> Profile:
    """Profile a registered dataset; the target defaults to the dataset's target column. A
    dataset larger than memory is profiled out of core (:mod:`.on_disk`)."""
    from ..data.catalog import snapshot_path
    from ..data.on_disk import OnDiskTable, too_large_for_memory

    ds = ws.dataset(dataset_ref)
    target = target if target is not None else ds.target
    if target is not None:
        ds.column(target)  # a clear error for an unknown column
    info = {"id": ds.id, "name": ds.name, "fingerprint": ds.fingerprint, "source_path": ds.source_path}
    kinds, roles = {c.name: c.kind for c in ds.columns}, {c.name: c.role for c in ds.columns}
    if too_large_for_memory(ds.snapshot_bytes):
        from .on_disk import profile_on_disk

        on_disk = OnDiskTable.open(snapshot_path(ws, ds), ws.snapshots_dir, fingerprint=ds.fingerprint)
        profile = profile_on_disk(on_disk, kinds=kinds, roles=roles, target=target, dataset=info,
                                  progress=progress, cancel=cancel)
        _with_recipe(ws, ds, profile, lambda name: _counts_on_disk(on_disk, name), out_of_core=True)
        return profile
    table = ws.load_table(ds)
    profile = profile_table(table, kinds=kinds, roles=roles, target=target, dataset=info,
                            progress=progress, cancel=cancel)
    _with_recipe(ws, ds, profile, lambda name: _label_counts(table.column(name).to_pandas()))
    return profile


#: an on-disk column with more categories than this is not counted for a merge of rare ones
#: (the counts would be held in memory)
COUNTED_CATEGORIES_ON_DISK = 100_000


def _label_counts(values: Any) -> Any:
    from ..prepare import label_counts

    return label_counts(values)


def _counts_on_disk(table: Any, name: str) -> Any:
    """A column's rows per category label, counted by the engine without loading it."""
    import pandas as pd
    from mlops_model_support.labels import category_labels

    counted = table.value_counts(table.sql_column(name))
    labels = category_labels(counted.column("value").to_pandas())
    return pd.Series(counted.column("n").to_numpy(), index=pd.Index(labels, dtype=object)) \
        .groupby(level=0, dropna=True).sum().sort_values(ascending=False)


def _with_recipe(ws: "Workspace", ds: Any, profile: Profile, counts_of: Callable[[str], Any], *,
                 out_of_core: bool = False) -> None:
    """What a recipe adds to a dataset's profile: ordered columns' charts in their order
    (and the order in their statistics), and for each alert a step that addresses it.
    ``counts_of(column)``: the column's rows per category label; ``out_of_core``: counted
    by the engine, so a column with very many categories is not counted."""
    from ..prepare import PrepareError, column_orders, suggest

    try:
        orders = column_orders(ws, ds)
    except PrepareError as exc:
        orders = {}
        profile.notes.append(str(exc))
    for col in profile.columns:
        levels = orders.get(col.name)
        if levels:
            col.stats["order"] = list(levels)
            col.chart = _ordered_bars(counts_of(col.name), levels)
    for relation in (profile.target or {}).get("relations", []):
        levels = orders.get(relation["column"])
        if levels and relation.get("chart"):
            relation["chart"] = in_order(relation["chart"], levels)
    for alert in profile.alerts:
        name = alert.columns[0] if alert.columns else None
        col = next((c for c in profile.columns if c.name == name), None)
        counts = None
        if alert.kind == "high_cardinality" and name:
            if out_of_core and col is not None and col.distinct > COUNTED_CATEGORIES_ON_DISK:
                profile.notes.append(f"No merge of rare categories is suggested for {name}: its "
                                     f"{col.distinct:,} categories are too many to count outside memory.")
                continue
            counts = counts_of(name)
        found = suggest(alert, col, counts=counts)
        if found:
            alert.suggested_step = found[0].text


def _ordered_bars(counts: Any, levels: list[str]) -> dict[str, Any]:
    """Every level of an ordered column with its rows, in the declared order (``counts``:
    the rows per category label)."""
    shown = [int(counts.get(level, 0)) for level in levels]
    other = int(sum(counts.values) - sum(shown))
    return {"kind": "bars", "labels": list(levels), "counts": shown, "other": other, "ordered": True}


def in_order(chart: dict[str, Any], levels: list[str]) -> dict[str, Any]:
    """A chart by category with its categories in ``levels``' order (others after them);
    every list (and every series) that runs along the categories is put in that order."""
    labels = list(chart.get("labels") or [])
    rank = {level: i for i, level in enumerate(levels)}
    order = sorted(range(len(labels)), key=lambda i: (rank.get(labels[i], len(levels)), i))
    out = dict(chart)
    for key, value in chart.items():
        if isinstance(value, list) and len(value) == len(labels):
            out[key] = [value[i] for i in order]
        elif isinstance(value, dict) and all(isinstance(v, list) and len(v) == len(labels) for v in value.values()):
            out[key] = {k: [v[i] for i in order] for k, v in value.items()}
    out["ordered"] = True
    return out
