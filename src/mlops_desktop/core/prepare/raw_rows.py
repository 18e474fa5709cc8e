"""Rows larger than memory through a recipe, a batch at a time (:func:`in_parts`): the
imported rows a prepared dataset's rows were made from (an export), a raw batch for a
model trained on prepared data (drift). Applying the recipe to each batch gives the
rows applying it to the whole table gives as long as every step works row by row
(dropping duplicates does not: it compares rows across the table).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterator, Optional, Sequence

import numpy as np
import pandas as pd
from mlops_model_support.recipe import Order, Recipe, RecipeError, Step

from .errors import PrepareError

if TYPE_CHECKING:
    from ..data.on_disk import OnDiskTable
    from ..jobs import CancelToken
    from ..workspace import Workspace
    from .derivation import Derivation


def whole_table_step(recipe: Recipe) -> Optional[tuple[int, Step]]:
    """The first step (numbered from 1) that needs every row at once, or None when the
    recipe can be applied to a table in parts. An order only names a column's levels,
    whichever rows it sees."""
    for number, step in enumerate(recipe.steps, start=1):
        if not step.row_level and not isinstance(step, Order):
            return number, step
    return None


def in_parts(table: "OnDiskTable", recipe: Recipe, what: str, whose: str, *,
             columns: Optional[Sequence[str]] = None,
             cancel: Optional["CancelToken"] = None) -> Iterator[pd.DataFrame]:
    """The rows of ``table`` (larger than memory) a batch at a time, typed as in memory,
    for ``recipe`` to be applied to each. Raises :class:`PrepareError` at once, naming the
    step, when the recipe needs every row at once; ``what`` names the rows ("Dataset
    'sales'") and ``whose`` the recipe ("the recipe that prepared 'ready'")."""
    from ..data import on_disk

    needs = whole_table_step(recipe)
    if needs is not None:
        raise PrepareError(f"{what} is larger than memory, and step {needs[0]} of {whose} ({needs[1].describe()}) "
                           "compares every row with the others, so its rows cannot be prepared a part at a time.")

    def frames() -> Iterator[pd.DataFrame]:
        for batch in table.typed_batches(columns, batch_rows=on_disk.READ_ROWS):
            if cancel is not None:
                cancel.check()
            yield batch.to_pandas()

    return frames()


def imported_rows(ws: "Workspace", way: "Derivation", columns: Sequence[str],
                  positions: np.ndarray) -> pd.DataFrame:
    """The rows of ``way.root`` (``columns`` of them, as imported) that the recipe made into
    the rows numbered ``positions`` of the prepared dataset, in that order. A root that fits
    in memory is read whole; a larger one a batch at a time (memory holds one batch and
    the rows asked for). Raises :class:`PrepareError` naming the step when the recipe needs
    the whole table and the root is larger than memory."""
    from ..data.catalog import snapshot_path
    from ..data.on_disk import OnDiskTable, too_large_for_memory

    root = way.root
    if not too_large_for_memory(root.snapshot_bytes):
        kept = way.recipe.apply(ws.load_table(root).to_pandas()).kept
        return ws.load_table(root, list(columns)).to_pandas().iloc[kept[positions]]
    table = OnDiskTable.open(snapshot_path(ws, root), ws.snapshots_dir, fingerprint=root.fingerprint)
    frames = in_parts(table, way.recipe, f"Dataset {root.name!r}", f"the recipe that prepared {way.dataset.name!r}")
    wanted = np.unique(positions)
    pieces = []
    made = 0  # prepared rows made from the batches before this one
    for frame in frames:
        try:
            kept = way.recipe.apply(frame).kept
        except RecipeError as exc:
            raise PrepareError(str(exc)) from None
        lo, hi = np.searchsorted(wanted, [made, made + len(kept)])
        if hi > lo:
            piece = frame.iloc[kept[wanted[lo:hi] - made]][list(columns)]
            pieces.append(piece.set_axis(wanted[lo:hi]))
        made += len(kept)
    rows = pd.concat(pieces) if pieces else table.empty(columns).to_pandas()
    return rows.loc[positions]
