"""Raw rows made ready for a model trained on prepared data, in the app (a batch on the
Monitor page, labels joined later, a raw dataset to validate on): the model's recipe
applied to every row, and the rows outside its scope set aside and counted, as
``score.py`` rejects them."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Optional, Union

import numpy as np
import pandas as pd
from mlops_model_support.recipe import RecipeError

from ..errors import MlopsError
from .derivation import ModelRecipe
from .errors import PrepareError

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
    try:
        if found is None or not needs_recipe(found, prepared_by, what):
            return None
        return rows_for_model(found, rows if isinstance(rows, pd.DataFrame) else rows(), what)
    except PrepareError as exc:
        if error is PrepareError:
            raise
        raise error(str(exc)) from None
