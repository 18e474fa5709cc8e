"""Which rows, by time: the window of data a retraining uses (``since:DATE`` or
``last:ROWS``) and the recent rows a challenge is judged on (``latest:FRACTION`` or
``since:DATE``), and the column that orders rows in time."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Optional

import numpy as np
import pandas as pd

from .errors import ChallengeError

if TYPE_CHECKING:
    from ..data.dataset import Dataset


@dataclass(frozen=True)
class Window:
    """Rows chosen by time: ``since`` a moment (inclusive), the ``latest`` share of the
    rows, or the ``last`` number of rows."""

    kind: str           # since | latest | last
    value: Any          # the moment as written | a share in (0, 1) | a row count

    def to_dict(self) -> dict[str, Any]:
        """The window as plain values (kind and value), as it is stored."""
        return {"kind": self.kind, "value": self.value}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Window":
        """A window read back from :meth:`to_dict`'s form."""
        return cls(str(d["kind"]), d["value"])

    def text(self) -> str:
        """As typed on the command line: ``since:2013-11-01``, ``latest:0.25``, ``last:5000``."""
        return f"{self.kind}:{self.value}"

    def describe(self) -> str:
        """In words: "rows since 2013-11-01", "the latest 25% of the rows"."""
        if self.kind == "since":
            return f"rows since {self.value}"
        if self.kind == "latest":
            return f"the latest {self.value:.0%} of the rows"
        return f"the last {int(self.value):,} rows"


def _parse(text: str, kinds: tuple[str, ...], example: str) -> Window:
    kind, sep, value = str(text or "").strip().partition(":")
    kind, value = kind.strip().lower(), value.strip()
    if not sep or kind not in kinds or not value:
        raise ChallengeError(f"{text!r} is not a window of rows: write {example}.")
    if kind == "since":
        return Window("since", value)
    if kind == "latest":
        try:
            share = float(value)
        except ValueError:
            share = math.nan
        if not 0 < share < 1:
            raise ChallengeError(f"latest:{value} — give the share of the newest rows as a number between 0 and "
                                 "1, e.g. latest:0.25 for the newest quarter.")
        return Window("latest", share)
    if not value.isdigit() or int(value) < 1:
        raise ChallengeError(f"last:{value} — give a number of rows, e.g. last:5000.")
    return Window("last", int(value))


def parse_holdout(text: str) -> Window:
    """``latest:FRACTION`` or ``since:DATE``: the rows a challenge is judged on."""
    return _parse(text, ("latest", "since"), "latest:FRACTION (e.g. latest:0.25) or since:DATE (e.g. "
                  "since:2013-11-01)")


def parse_training_window(text: str) -> Window:
    """``since:DATE`` or ``last:ROWS``: the rows a retraining uses."""
    return _parse(text, ("since", "last"), "since:DATE (e.g. since:2013-07-01) or last:ROWS (e.g. last:20000)")


def time_column(ds: "Dataset", given: Optional[str], *recorded_splits: Optional[dict[str, Any]]) -> str:
    """The column that orders ``ds``'s rows in time: ``given``, else the column of the
    first recorded time-ordered split, else the dataset's one date column."""
    if given:
        ds.column(given)
        return given
    for split in recorded_splits:
        if split and split.get("kind") == "time" and split.get("column"):
            column = str(split["column"])
            if any(c.name == column for c in ds.columns):
                return column
    dates = [c.name for c in ds.columns if c.kind == "datetime"]
    if len(dates) == 1:
        return dates[0]
    found = f"it has {len(dates)} date columns ({', '.join(dates)})" if dates else "it has no date column"
    raise ChallengeError(f"Which column orders the rows of {ds.name} in time? The versions were not trained "
                         f"with a time-ordered split and {found}. Name it with --time-column COLUMN.")


def times(values: pd.Series) -> pd.Series:
    """A time column as comparable values: dates as UTC timestamps, numbers as numbers."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return pd.to_numeric(values, errors="coerce").astype(float)
    return pd.to_datetime(values, errors="coerce", utc=True)


def _moment(value: str, like: pd.Series) -> Any:
    if pd.api.types.is_datetime64_any_dtype(like):
        try:
            moment = pd.Timestamp(value)
        except ValueError:
            raise ChallengeError(f"since:{value} — write the date as 2013-11-01 (or 2013-11-01T06:00).") from None
        return moment.tz_localize("UTC") if moment.tzinfo is None else moment.tz_convert("UTC")
    try:
        return float(value)
    except ValueError:
        raise ChallengeError(f"since:{value} — the time column holds numbers; give a number.") from None


def select(frame: pd.DataFrame, column: str, window: Window) -> np.ndarray:
    """The positions in ``frame`` of the rows ``window`` takes, oldest first. Rows without
    a time are never taken (they cannot be placed in time)."""
    when = times(frame[column])
    known = np.flatnonzero(when.notna().to_numpy())
    order = known[np.argsort(when.iloc[known].to_numpy(), kind="stable")]
    if window.kind == "since":
        moment = _moment(str(window.value), when)
        return order[(when.iloc[order] >= moment).to_numpy()]
    if window.kind == "latest":
        return order[len(order) - math.ceil(window.value * len(order)):] if len(order) else order
    return order[-int(window.value):]
