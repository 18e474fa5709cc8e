"""Proving that the rows a challenge is judged on are rows neither version was trained on.

A version's training rows are rebuilt exactly from its run's recorded spec, seed and
dataset snapshot (hash-checked, with the fingerprint the run recorded): the same
function training used (:func:`..train.load_split`). A version assembled from two
versions' segment models was trained on both parents' rows. Then two checks:

- **time**: when the training data has the time column, every challenge row must be later
  than the latest training row;
- **identity**: no challenge row may be a training row. When the challenge data is the
  very snapshot the version was trained on, rows are told apart by their position in
  it, which is exact. Otherwise by their values: a row is the same row when it has the
  same value in every column the two datasets share (numbers compared as numbers,
  whatever their width; times as instants; text as text; missing as missing).

What the identity check cannot prove: two genuinely different records with equal values
in every shared column are taken for one (the challenge is then refused: the cautious
side); and a training row whose values were corrected after training (a fixed label, a
re-typed cell) looks new to it. The time check catches the second whenever the data
carries a time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Optional

import numpy as np
import pandas as pd

from .. import numbers
from .errors import ChallengeError
from .windows import times

if TYPE_CHECKING:
    from ..data.dataset import Dataset
    from ..store.models import ModelVersion
    from ..workspace import Workspace

#: a missing cell, as the row hash sees it (a text no data holds)
_MISSING = "\x00missing\x00"


@dataclass
class TrainingPart:
    """Rows one version was fitted on, from one dataset."""

    ref: str
    dataset: "Dataset"
    frame: pd.DataFrame  # every column of the dataset; index: the row's position in it


@dataclass
class RowCheck:
    """What was checked of one version's training rows against the challenge rows."""

    version: str
    dataset: str
    training_rows: int
    method: str                      # "positions" | "values"
    columns: list[str] = field(default_factory=list)
    overlap: int = 0
    trained_until: Optional[str] = None

    def to_dict(self) -> dict[str, Any]:
        """The check's fields as a plain dict (for ``--json`` and the stored challenge)."""
        return dict(self.__dict__)

    def sentence(self) -> str:
        """The check's finding in one sentence: no training row of the version is among the
        challenge rows, and how that was compared."""
        how = ("by position in the same snapshot" if self.method == "positions"
               else f"by their values in {len(self.columns)} shared columns")
        until = f", trained on rows up to {self.trained_until}" if self.trained_until else ""
        return (f"{self.version}: none of its {self.training_rows:,} training rows (dataset {self.dataset}{until}) "
                f"is among the challenge rows, compared {how}.")


def training_parts(ws: "Workspace", mv: "ModelVersion") -> list[TrainingPart]:
    """The rows ``mv`` was fitted on: its run's training part, or, for a version assembled
    from two versions' segment models, both parents' training parts."""
    from ..store import models as model_rows
    from ..train import load_split, run

    origin = (mv.details or {}).get("origin") or {}
    if origin.get("kind") == "segments":
        parts = []
        for side in ("champion", "challenger"):
            parent = model_rows.get_version(ws.registry, mv.model, int(origin[side]["version"]))
            parts += training_parts(ws, parent)
        return parts
    r = run(ws, mv.run_id)
    train_df, _holdout = load_split(ws, mv.run_id)
    return [TrainingPart(mv.ref, ws.dataset(r.dataset_id), train_df)]


def row_hashes(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """One 64-bit hash per row of the values in ``columns`` (in name order), after making
    equal values equal: numbers as 64-bit floats (5 and 5.0 alike), times as UTC
    instants, everything else as text, missing as missing."""
    canonical = {}
    for name in sorted(columns):
        values = frame[name]
        if pd.api.types.is_bool_dtype(values) or (pd.api.types.is_numeric_dtype(values)):
            numbers_ = pd.to_numeric(values, errors="coerce").astype(float).to_numpy() + 0.0  # -0.0 is 0.0
            canonical[name] = numbers_
        elif pd.api.types.is_datetime64_any_dtype(values):
            instants = pd.to_datetime(values, utc=True)
            canonical[name] = np.where(instants.isna(), _MISSING, instants.astype(str).to_numpy())
        else:
            text = values.astype(object)
            canonical[name] = np.where(pd.isna(text).to_numpy(), _MISSING, text.astype(str).to_numpy())
    table = pd.DataFrame({k: pd.Series(v, dtype=float if v.dtype.kind == "f" else object)
                          for k, v in canonical.items()})
    return pd.util.hash_pandas_object(table, index=False).to_numpy()


def check_unseen(parts: list[TrainingPart], challenge: pd.DataFrame, challenge_dataset: "Dataset",
                 time_column: str) -> list[RowCheck]:
    """Each training part checked against the ``challenge`` rows (index: positions in
    ``challenge_dataset``), by time and by identity. Raises :class:`ChallengeError`
    naming the version and how many rows it was trained on."""
    checks = []
    first = times(challenge[time_column]).min() if len(challenge) else None
    for part in parts:
        train = part.frame
        trained_until = None
        if time_column in train.columns and len(train):
            latest = times(train[time_column]).max()
            if pd.notna(latest):
                trained_until = numbers.date_or_time(latest)
                if first is not None and pd.notna(first) and first <= latest:
                    raise ChallengeError(
                        f"The challenge rows are not out of time for {part.ref}: they start at "
                        f"{numbers.date_or_time(first)}, but it was trained on rows up to {trained_until} "
                        f"(dataset {part.dataset.name}). Judge on later rows (a later --holdout since:DATE, "
                        "or newer data).")
        if part.dataset.fingerprint == challenge_dataset.fingerprint:
            overlap = int(np.isin(challenge.index.to_numpy(), train.index.to_numpy()).sum())
            check = RowCheck(part.ref, part.dataset.name, len(train), "positions", overlap=overlap,
                             trained_until=trained_until)
        else:
            shared = [c for c in challenge.columns if c in train.columns]
            if not shared:
                raise ChallengeError(f"The challenge data shares no column with the data {part.ref} was trained "
                                     f"on ({part.dataset.name}); it cannot be the same kind of data.")
            overlap = int(np.isin(row_hashes(challenge, shared), row_hashes(train, shared)).sum())
            check = RowCheck(part.ref, part.dataset.name, len(train), "values", columns=shared, overlap=overlap,
                             trained_until=trained_until)
        if check.overlap:
            how = ("they are the same rows of the same snapshot" if check.method == "positions" else
                   f"they hold the same values in all {len(check.columns)} columns the two datasets share")
            raise ChallengeError(
                f"{check.overlap:,} of the {len(challenge):,} challenge rows are rows {part.ref} was trained on "
                f"({how}; dataset {part.dataset.name}). A version judged on its own training rows looks better "
                "than it is: judge on rows neither version was trained on (a later --holdout window, or newer "
                "data).")
        checks.append(check)
    return checks
