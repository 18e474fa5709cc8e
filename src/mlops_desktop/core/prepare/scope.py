"""Raw rows made ready for a model trained on prepared data, in the app (a batch on the
Monitor page, labels joined later, a raw dataset to validate on): the model's recipe
applied to every row, and the rows outside its scope set aside and counted, as
``score.py`` rejects them."""

from __future__ import annotations

from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Iterator, Optional, Union

import numpy as np
import pandas as pd
from mlops_model_support.recipe import RecipeError

from ..errors import MlopsError
from .derivation import ModelRecipe
from .errors import PrepareError

if TYPE_CHECKING:
    from ..data.on_disk import OnDiskTable
    from ..jobs import CancelToken

#: reasons listed in a note
LISTED = 3


@dataclass
class ScopedRows:
    """Rows after a model's recipe: those in its scope (``frame``; its index is each
    row's position in the rows given) and how many lay outside, by reason."""

    frame: pd.DataFrame
    outside: int = 0
    reasons: Counter = field(default_factory=Counter)
    scope: list[str] = field(default_factory=list)

    def add(self, part: "ScopedRows") -> None:
        """Count ``part``'s rows outside the scope with these (a table read in parts)."""
        self.outside += part.outside
        self.reasons.update(part.reasons)
        self.scope = part.scope

    def none_in_scope(self, what: str) -> str:
        """The sentence that refuses rows none of which is in the scope."""
        return (f"No row of {what} is in the model's scope ({', '.join(self.scope)}); "
                f"{self.outside:,} rows lie outside it.")

    def note(self, what: str) -> str:
        """The rows set aside, in a sentence ("" when none was)."""
        if not self.outside:
            return ""
        from .. import numbers

        common = "; ".join(f"{reason} ({numbers.count(n)})" for reason, n in self.reasons.most_common(LISTED))
        return (f"{numbers.count(self.outside)} row{'s' if self.outside != 1 else ''} of {what} lie outside the "
                f"model's scope ({', '.join(self.scope)}) and {'were' if self.outside != 1 else 'was'} left out, "
                f"as the exported package rejects them: {common}.")


def needs_recipe(found: ModelRecipe, prepared_by: Optional[str], what: str) -> bool:
    """Whether rows go through the model's recipe: raw rows do; rows of a dataset prepared
    by the very recipe of the training data (``prepared_by``: its whole recipe's SHA-256)
    do not; rows prepared by another recipe are refused (a second recipe on top of the
    first would prepare them twice)."""
    if prepared_by is None:
        return True
    if prepared_by == found.whole.sha256:
        return False
    raise PrepareError(f"{what[:1].upper()}{what[1:]} was prepared with another recipe than the model's training "
                       "data: use its raw data (the import it was prepared from), which the model's recipe "
                       "prepares, or data prepared with the same recipe.")


def rows_for_model(found: ModelRecipe, frame: pd.DataFrame, what: str = "the data") -> ScopedRows:
    """``frame``'s rows through ``found``'s steps (with those that make the target when the
    rows have what it is made from); raises :class:`PrepareError` when they lack a
    column the steps read."""
    recipe = found.for_rows(frame.columns)
    missing = [c for c in found.raw_inputs if c not in frame.columns]
    if missing:
        raise PrepareError(f"{what[:1].upper()}{what[1:]} lacks the column(s) the model's recipe reads: "
                           f"{', '.join(missing)}.")
    try:
        prepared, reasons = recipe.score_rows(frame.reset_index(drop=True))
    except RecipeError as exc:
        raise PrepareError(f"{what[:1].upper()}{what[1:]} cannot be prepared for the model: {exc}") from None
    keep = pd.isna(reasons)
    kept = prepared.loc[keep]
    kept.index = np.flatnonzero(keep)
    return ScopedRows(kept, int((~keep).sum()), Counter(reasons[~keep].tolist()),
                      [f.in_words() for f in recipe.scope_rules()])


def rows_as_model_takes(found: Optional[ModelRecipe], rows: Union[pd.DataFrame, Callable[[], pd.DataFrame]],
                        prepared_by: Optional[str], what: str,
                        error: type[MlopsError] = PrepareError) -> Optional[ScopedRows]:
    """The one rule for rows a model scores in the app (validation on a dataset, a Monitor
    batch, labels joined later, rows to explain): for a model trained on prepared data
    (``found``), raw rows go through its recipe and those outside its scope are set
    aside; None when the rows are taken as they are (no recipe, or rows prepared by the
    same one). ``rows`` may be a function that reads them, called only when the recipe
    runs; a refusal is raised as ``error`` (the calling step's own error type)."""
    with _raised_as(error):
        if found is None or not needs_recipe(found, prepared_by, what):
            return None
        return rows_for_model(found, rows if isinstance(rows, pd.DataFrame) else rows(), what)


def parts_as_model_takes(found: Optional[ModelRecipe], table: "OnDiskTable", prepared_by: Optional[str],
                         what: str, error: type[MlopsError] = PrepareError, *,
                         cancel: Optional["CancelToken"] = None) -> Optional[Iterator[ScopedRows]]:
    """:func:`rows_as_model_takes` for rows larger than memory (``table``, on disk): None
    when they are taken as they are, else the rows of each part in turn (a batch of rows
    at a time, ``frame``'s index their position in the part). The steps a model applies
    to rows it scores work row by row, so the parts hold the rows the whole table gives."""
    from .raw_rows import in_parts

    with _raised_as(error):
        if found is None or not needs_recipe(found, prepared_by, what):
            return None
        frames = in_parts(table, found.for_rows(table.names), f"{what[:1].upper()}{what[1:]}", "the model's recipe",
                          cancel=cancel)

    def parts() -> Iterator[ScopedRows]:
        with _raised_as(error):
            for frame in frames:
                yield rows_for_model(found, frame, what)

    return parts()


@contextmanager
def _raised_as(error: type[MlopsError]) -> Iterator[None]:
    """A :class:`PrepareError` raised as ``error`` (the calling step's own type)."""
    try:
        yield
    except PrepareError as exc:
        if error is PrepareError:
            raise
        raise error(str(exc)) from None
