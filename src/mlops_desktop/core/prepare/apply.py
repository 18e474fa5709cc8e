"""Applying a recipe: to a whole dataset, which makes a new dataset with its own
snapshot and fingerprint whose lineage names the parent and the recipe; and to a
sample, for the live preview of what each step changes.

The same recipe applied to the same parent gives the same rows, so the same
fingerprint (and the snapshot is shared).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Optional

import numpy as np
import pandas as pd
import pyarrow as pa
from mlops_model_support.recipe import Cast, Derive, Order, Recipe, RecipeError, Replace, Step, StepEffect

from ..data.on_disk import refuse_if_too_large
from ..jobs import CancelToken, ProgressCallback, Steps, no_progress
from .errors import PrepareError

if TYPE_CHECKING:
    from ..data.dataset import Column, Dataset
    from ..workspace import Workspace

#: the kind of column each cast makes
CAST_KINDS = {"number": "numeric", "category": "categorical", "text": "text", "date": "datetime",
              "boolean": "boolean"}
#: rows the live preview works on (a seeded sample of larger datasets)
PREVIEW_ROWS = 20_000
#: changed rows the preview lists
PREVIEW_LIST = 200


@dataclass
class PrepareResult:
    """A dataset made by a recipe: the new dataset, its parent, the recipe and what each
    step did; ``same_data_as``: earlier datasets holding exactly the same data."""

    dataset: "Dataset"
    parent: "Dataset"
    recipe: Recipe
    effects: list[StepEffect]
    same_data_as: list[int] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """What ``prepare --json`` prints: the new dataset, its parent, the recipe (digest
        and steps), each step's effect and the time taken."""
        d = self.dataset.to_dict()
        d.update(parent={"id": self.parent.id, "name": self.parent.name, "rows": self.parent.n_rows,
                         "fingerprint": self.parent.fingerprint},
                 recipe_sha256=self.recipe.sha256, steps=self.recipe.describe(),
                 effects=[e.__dict__ for e in self.effects], same_data_as=self.same_data_as,
                 seconds=round(self.seconds, 3))
        return d


def prepare_dataset(ws: "Workspace", parent_ref: str | int, recipe: Recipe, *, name: Optional[str] = None,
                    actor: str, progress: ProgressCallback = no_progress,
                    cancel: Optional[CancelToken] = None) -> PrepareResult:
    """Apply ``recipe`` to the dataset ``parent_ref`` and register the result as a new
    dataset (audit entry ``dataset.prepared``, with the recipe in the same transaction).
    Raises :class:`PrepareError` naming the step that cannot be applied; nothing is
    recorded then."""
    from ..data.importer import Entry, register_table
    from ..store import recipes as recipe_rows
    from ..store import utc_now
    from .derivation import derivation

    started = time.perf_counter()
    if not len(recipe):
        raise PrepareError("The recipe has no steps: there is nothing to prepare.")
    steps = Steps(progress, cancel, {"read": 10, "apply": 40, "table": 5, "types": 15, "fingerprint": 25,
                                     "register": 5})
    parent = ws.dataset(parent_ref)
    derivation(ws, parent)  # the parent's own recipes must be readable before one is added
    refuse_if_too_large([parent], "preparing reads every row",
                        "Import the part you need (a period, say) as a dataset of its own and prepare that; "
                        "the same recipe prepares each part.")
    steps.start("read", f"Reading {parent.name}")
    frame = ws.load_table(parent).to_pandas()
    steps.start("apply", f"Applying {len(recipe)} step{'s' if len(recipe) != 1 else ''}")
    try:
        prepared = recipe.apply(frame, on_step=lambda done, total: steps.within(done / total))
    except RecipeError as exc:
        raise PrepareError(str(exc)) from None
    if not len(prepared.frame):
        raise PrepareError("The recipe keeps no row of the dataset; check its filters.")
    if not len(prepared.frame.columns):
        raise PrepareError("The recipe drops every column of the dataset.")
    steps.start("table", "Making the table")
    table = frame_to_table(prepared.frame)
    del frame
    sha = recipe.sha256
    recipe_json = recipe.canonical_json()
    entry = Entry("dataset.prepared",
                  lambda unique: f"Prepared {unique!r} from {parent.name!r} with a recipe of {len(recipe)} "
                                 f"step{'s' if len(recipe) != 1 else ''} ({table.num_rows:,} of "
                                 f"{parent.n_rows:,} rows)",
                  {"source_path": parent.source_path, "format": "recipe", "parent_id": parent.id,
                   "parent_fingerprint": parent.fingerprint, "recipe_sha256": sha, "steps": recipe.describe()},
                  also=lambda reg, dataset_id: recipe_rows.insert(
                      reg, dataset_id=dataset_id, parent_id=parent.id, recipe_json=recipe_json,
                      recipe_sha256=sha, created_by=actor, created_at=utc_now()))
    result = register_table(ws, table, source_path=parent.source_path, source_format="recipe",
                            options={"parent_dataset": parent.id, "recipe_sha256": sha},
                            name=name or f"{parent.name} (prepared)", actor=actor, steps=steps,
                            entry=entry, columns_for=lambda t: prepared_columns(t, parent, recipe),
                            started=started)
    return PrepareResult(result.dataset, parent, recipe, prepared.effects, result.same_data_as,
                         time.perf_counter() - started)


def frame_to_table(frame: pd.DataFrame) -> pa.Table:
    """The prepared rows as an Arrow table with the types the recipe gave them (text
    stays text: no date is guessed from it); a column mixing types becomes text."""
    arrays = []
    for name in frame.columns:
        s = frame[name]
        try:
            arr = pa.array(s, from_pandas=True)
        except (pa.ArrowException, TypeError, ValueError):
            arr = pa.array([None if v is None or (isinstance(v, float) and v != v) else str(v) for v in s],
                           type=pa.string())
        if pa.types.is_large_string(arr.type):
            arr = arr.cast(pa.string())
        arrays.append(arr)
    return pa.table(arrays, names=[str(c) for c in frame.columns])


def prepared_columns(table: pa.Table, parent: "Dataset", recipe: Recipe) -> list["Column"]:
    """The new dataset's columns: a column the parent has keeps its type and role (the
    analyst's choices carry over), unless a step made it anew (derive, cast: inferred, or
    the cast's type) or it now holds one value; an ordered column is categorical."""
    from ..data.importer import build_columns

    columns = build_columns(table)
    before = {c.name: c for c in parent.columns}
    remade: dict[str, Optional[str]] = {}
    for step in recipe.steps:
        if isinstance(step, Derive):
            remade[step.column] = None
        elif isinstance(step, Cast):
            remade[step.column] = CAST_KINDS[step.to]
        elif isinstance(step, Order):
            remade[step.column] = "categorical"
        elif not isinstance(step, Replace):
            for c in step.writes():  # a recode may turn numbers into labels
                remade[c] = None
    for col in columns:
        old = before.get(col.name)
        if col.inferred_kind == "constant":
            col.kind = "constant"
        elif col.name in remade:
            col.kind = remade[col.name] or col.inferred_kind
        elif old is not None:
            col.kind = old.kind
        if old is not None:
            col.role = old.role
    return columns


def effect_in_words(effect: Any) -> str:
    """What a step did (a :class:`StepEffect` or a :class:`StepPreview`), in words: the
    rows a filter kept, the values a step set, or its note."""
    from .. import numbers

    if effect.rows_after != effect.rows_before:
        kept = effect.rows_after / effect.rows_before if effect.rows_before else 0.0
        return (f"keeps {numbers.count(effect.rows_after)} of {numbers.count(effect.rows_before)} rows "
                f"({numbers.share(kept)})")
    if effect.note == "order":
        return "sets the order (no value changes)"
    if effect.note:
        return effect.note
    if effect.cells:
        return f"{numbers.count(effect.cells)} value{'s' if effect.cells != 1 else ''} set"
    return "no row changes"


# -- the live preview ---------------------------------------------------------------------------

@dataclass
class StepPreview:
    """What one step does to the preview's rows."""

    index: int
    step: str
    rows_before: int
    rows_after: int
    cells: int
    note: str = ""

    @property
    def share_kept(self) -> float:
        """The share of the preview's rows the step keeps (1.0 when there were none)."""
        return self.rows_after / self.rows_before if self.rows_before else 1.0


@dataclass
class RecipePreview:
    """A recipe applied to a sample: each step's effect up to the first that fails (its
    error), and the rows the selected step changes (before and after)."""

    rows: int
    of_rows: int
    steps: list[StepPreview]
    failed_step: Optional[int] = None
    error: Optional[str] = None
    changed: Optional[pd.DataFrame] = None
    changed_total: int = 0
    columns_after: list[str] = field(default_factory=list)

    @property
    def sampled(self) -> bool:
        """Whether the preview ran on a sample rather than every row."""
        return self.rows < self.of_rows


def preview_sample(frame: pd.DataFrame, rows: int = PREVIEW_ROWS) -> pd.DataFrame:
    """The rows a preview works on: all of a small table, else a seeded random sample in
    the table's order."""
    if len(frame) <= rows:
        return frame.reset_index(drop=True)
    chosen = np.sort(np.random.default_rng(0).choice(len(frame), rows, replace=False))
    return frame.iloc[chosen].reset_index(drop=True)


def dataset_preview_sample(ws: "Workspace", ds: Any, rows: int = PREVIEW_ROWS) -> pd.DataFrame:
    """:func:`preview_sample` of a registered dataset; one larger than memory is not read
    whole: the same rows are read from its snapshot, row group by row group."""
    from ..data.catalog import snapshot_path
    from ..data.on_disk import OnDiskTable, too_large_for_memory

    if not too_large_for_memory(ds.snapshot_bytes):
        return preview_sample(ws.load_table(ds).to_pandas(), rows)
    table = OnDiskTable.open(snapshot_path(ws, ds), ws.snapshots_dir, fingerprint=ds.fingerprint)
    return table.sample(rows, 0).to_pandas()  # the seed and the draw of preview_sample


def preview_recipe(sample: pd.DataFrame, recipe: Recipe, *, selected: Optional[int] = None,
                   of_rows: Optional[int] = None) -> RecipePreview:
    """Apply ``recipe`` to ``sample`` step by step; never raises for a step that cannot
    be applied (the preview names it and stops there)."""
    out = RecipePreview(len(sample), of_rows if of_rows is not None else len(sample), [])
    frame = sample
    for i, step in enumerate(recipe.steps):
        before = frame
        try:
            frame, change = step.apply(before)
        except (RecipeError, ValueError) as exc:
            out.failed_step, out.error = i, str(exc)
            break
        if change.kept is not None:
            frame = frame.reset_index(drop=True)
        out.steps.append(StepPreview(i, step.describe(), len(before), len(frame), change.cells, change.note))
        if i == selected:
            out.changed, out.changed_total = _changed_rows(step, before, frame, change.kept)
    out.columns_after = [str(c) for c in frame.columns]
    return out


def _changed_rows(step: Step, before: pd.DataFrame, after: pd.DataFrame,
                  kept: Optional[np.ndarray]) -> tuple[pd.DataFrame, int]:
    """The rows a step changes: the rows a filter or the duplicates step drops, else the
    rows whose written column changed (its value before and after, and what it read)."""
    reads = [c for c in step.reads() if c in before.columns]
    if kept is not None:
        dropped = np.setdiff1d(np.arange(len(before)), kept)
        shown = reads or list(before.columns)
        return before.iloc[dropped[:PREVIEW_LIST]][shown].reset_index(drop=True), int(len(dropped))
    written = [c for c in step.writes() if c in after.columns]
    if not written:
        return pd.DataFrame(), 0
    changed = np.zeros(len(after), dtype=bool)
    for c in written:
        new = after[c].astype(object)
        old = before[c].astype(object) if c in before.columns else pd.Series([None] * len(before), dtype=object)
        same = (new.isna() & old.isna()) | (new.astype(str) == old.astype(str))
        changed |= ~same.to_numpy()
    rows = np.flatnonzero(changed)
    data: dict[str, Any] = {}
    for c in reads:
        if c not in written:
            data[c] = before[c].iloc[rows[:PREVIEW_LIST]].to_numpy()
    for c in written:
        if c in before.columns:
            data[f"{c} (before)"] = before[c].iloc[rows[:PREVIEW_LIST]].to_numpy()
        data[f"{c} (after)" if c in before.columns else c] = after[c].iloc[rows[:PREVIEW_LIST]].to_numpy()
    return pd.DataFrame(data), int(len(rows))
