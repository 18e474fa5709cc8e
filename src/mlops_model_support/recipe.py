"""A recipe: the ordered steps that prepare a dataset (filter rows, derive a column,
replace impossible values with missing, recode categories, declare an order, cast,
drop), kept as data (JSON), never as code.

Each step is shown in words, and the same words are what the command line reads
(:func:`parse_step` and :meth:`Step.describe` are each other's inverse):

- ``filter CONDITION`` (``filter carat <= 2.5``)
- ``derive NAME = EXPRESSION`` (``derive log_price = log(price)``)
- ``replace CONDITION with missing`` (``replace x == 0 with missing``; a condition on
  other columns names the column: ``replace x where y == 0 with missing``)
- ``recode COLUMN: OLD -> NEW, OLD -> NEW`` (``missing`` on either side is a missing value)
- ``order COLUMN: A < B < C``
- ``cast COLUMN as TYPE`` (number, category, text, date, boolean)
- ``drop COLUMN[, COLUMN …]`` and ``drop duplicates``

A recipe is applied two ways. :meth:`Recipe.apply` prepares a dataset: filters keep
their rows, duplicates are dropped. :meth:`Recipe.score_rows` prepares rows to be
scored by a model trained on such a dataset: every step that works row by row is
applied to every row, and a filter becomes a scope rule: a row it would have dropped
is given the reason (``carat above 2.5: the model was trained on carat ≤ 2.5``) instead
of being scored silently. Only the steps a model's inputs and scope depend on are
kept for scoring (:meth:`Recipe.for_model`), so a package asks for no column it
does not use.

Expressions are read by :mod:`.expressions` (a whitelist of nodes, nothing run as
Python). Imports numpy, pandas and this package only.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Optional

import numpy as np
import pandas as pd

from . import expressions
from .expressions import Expression, ExpressionError
from .labels import category_labels

RECIPE_TYPE = "mlops-desktop recipe"
RECIPE_FORMAT = 1
MAX_STEPS = 200
#: the largest recipe file read, in bytes
MAX_RECIPE_BYTES = 1_000_000
MAX_NAME = 300
MAX_VALUES = 10_000
CAST_TYPES = ("number", "category", "text", "date", "boolean")
#: the word for a missing value in recodes and replacements
MISSING = expressions.MISSING
#: what every reason a row is out of a model's scope says (see :meth:`Filter.reasons`)
SCOPE = "the model was trained on"
TRUE_WORDS = frozenset({"true", "t", "yes", "y", "1"})
FALSE_WORDS = frozenset({"false", "f", "no", "n", "0"})


class RecipeError(ValueError):
    """A recipe or step that is refused, or cannot be applied to the data; the message
    names the step and says what to change."""


# -- writing names and values in words ------------------------------------------------------------

_SIMPLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_SIMPLE_VALUE = re.compile(r"[^\s,<>:'\"`]([^,<>:'\"`]*[^\s,<>:'\"`])?\Z")


def column_words(column: str) -> str:
    """A column as a step writes it: plain, or between backticks (for editors that
    write steps for the user)."""
    if _SIMPLE_NAME.match(column) and column.lower() not in ("duplicates", "where", "as", MISSING):
        return column
    return f"`{column}`"


def value_words(value: Optional[str]) -> str:
    """A category as a step writes it: plain, quoted, or ``missing``."""
    if value is None:
        return MISSING
    if _SIMPLE_VALUE.match(value) and "->" not in value and value.lower() != MISSING:
        return value
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _check_name(column: Any, what: str = "A column name") -> str:
    if not isinstance(column, str) or not column.strip():
        raise RecipeError(f"{what} must be a non-empty text.")
    if len(column) > MAX_NAME:
        raise RecipeError(f"{what} is longer than {MAX_NAME} characters.")
    if "`" in column or any(ord(ch) < 32 for ch in column):
        raise RecipeError(f"{what} {column[:40]!r} holds a backtick or a control character.")
    return column


def _check_level(value: Any, what: str) -> Optional[str]:
    if value is None:
        return None
    if not isinstance(value, str):
        raise RecipeError(f"{what} must be texts (or null for missing), not {type(value).__name__}.")
    if len(value) > MAX_NAME:
        raise RecipeError(f"{what}: a value is longer than {MAX_NAME} characters.")
    return value


def _expression(text: Any, what: str) -> Expression:
    if not isinstance(text, str):
        raise RecipeError(f"{what} must be a text.")
    try:
        return expressions.parse(text)
    except ExpressionError as exc:
        raise RecipeError(f"{what}: {exc}") from None


# -- the steps --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Step:
    """One step of a recipe. Subclasses say what it reads and writes, how it is written
    in words and as JSON, and how it changes a table."""

    kind = ""
    #: whether a model trained on prepared data applies it to the rows it scores
    row_level = True

    def describe(self) -> str:
        """The step in words, as the Prepare page and the lineage show it."""
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        """The step as it is written in a recipe's JSON."""
        raise NotImplementedError

    def reads(self) -> list[str]:
        """The columns the step reads."""
        return []

    def writes(self) -> list[str]:
        """The columns whose values the step sets (or makes)."""
        return []

    def apply(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, "Change"]:
        """The table after this step, and what changed (a filter drops rows here)."""
        raise NotImplementedError

    def __str__(self) -> str:
        return self.describe()


@dataclass
class Change:
    """What one step did to a table: rows kept (by their position in the table the
    step received, or None when all were kept), cells changed, and a note."""

    kept: Optional[np.ndarray] = None
    cells: int = 0
    note: str = ""


def _need(frame: pd.DataFrame, columns: Iterable[str], step: Step) -> None:
    for column in columns:
        if column not in frame.columns:
            known = ", ".join(map(str, list(frame.columns)[:30]))
            raise RecipeError(f"There is no column {column!r} (step: {step.describe()}). Columns: {known}.")


@dataclass(frozen=True)
class Filter(Step):
    """A recipe step that keeps the rows where a condition holds."""
    condition: str
    kind = "filter"

    def __post_init__(self) -> None:
        object.__setattr__(self, "_expr", _expression(self.condition, "The filter's condition"))

    @property
    def expression(self) -> Expression:
        """The checked condition."""
        return self._expr  # type: ignore[attr-defined]

    def describe(self) -> str:
        """The step in words: "filter" and its condition."""
        return f"filter {self.condition}"

    def to_dict(self) -> dict[str, Any]:
        """The step as it is written in a recipe's JSON."""
        return {"step": self.kind, "condition": self.condition}

    def reads(self) -> list[str]:
        """The columns the condition names."""
        return self.expression.columns()

    def keeps(self, frame: pd.DataFrame) -> np.ndarray:
        """Which rows the condition holds for."""
        return expressions.condition(self.expression, frame)

    def apply(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, Change]:
        """The rows the condition holds for; raises RecipeError when a column it names is
        missing."""
        _need(frame, self.reads(), self)
        keep = self.keeps(frame)
        if keep.all():
            return frame, Change(None)
        return frame.loc[keep], Change(np.flatnonzero(keep))

    def reasons(self, frame: pd.DataFrame, keep: np.ndarray) -> np.ndarray:
        """Why each row the condition does not hold for is out of the model's scope."""
        out = np.full(len(frame), None, dtype=object)
        outside = np.flatnonzero(~keep)
        if not len(outside):
            return out
        scope = f"{SCOPE} {self.in_words()}"
        simple = _simple_comparison(self.expression)
        if simple is None:
            out[outside] = f"outside the model's scope: {scope}"
            return out
        column, op, value = simple
        missing = frame[column].isna().to_numpy()[outside]
        shown = _shown(value)
        beyond = {"<=": f"{column} above {shown}", "<": f"{column} of {shown} or more",
                  ">=": f"{column} below {shown}", ">": f"{column} of {shown} or less",
                  "==": f"{column} is not {shown}", "!=": f"{column} is {shown}"}[op]
        out[outside[missing]] = f"{column} is missing: {scope}"
        out[outside[~missing]] = f"{beyond}: {scope}"
        return out

    def in_words(self) -> str:
        """The rows the filter keeps, in words: "carat ≤ 2.5", else "rows where …"."""
        simple = _simple_comparison(self.expression)
        if simple is None:
            return f"rows where {self.condition}"
        column, op, value = simple
        return f"{column} {_SYMBOLS[op]} {_shown(value)}"


_SYMBOLS = {"<=": "≤", "<": "<", ">=": "≥", ">": ">", "==": "=", "!=": "≠"}
_OPS = {"LtE": "<=", "Lt": "<", "GtE": ">=", "Gt": ">", "Eq": "==", "NotEq": "!="}
_MIRROR = {"<=": ">=", "<": ">", ">=": "<=", ">": "<", "==": "==", "!=": "!="}


def out_of_scope(reason: str) -> bool:
    """Whether a reject's reason is a scope rule's (a filter of the training data's recipe)."""
    return f": {SCOPE} " in reason


def _simple_comparison(expr: Expression) -> Optional[tuple[str, str, Any]]:
    """``(column, op, value)`` for a condition that compares one column with a value."""
    import ast

    body = expr.tree.body
    if not isinstance(body, ast.Compare) or len(body.ops) != 1:
        return None
    op = _OPS.get(type(body.ops[0]).__name__)
    left, right = body.left, body.comparators[0]
    if op is None:
        return None
    value = expressions.literal(right)
    if isinstance(left, ast.Name) and value is not expressions.NOT_LITERAL and left.id != MISSING:
        return expr.column_name(left), op, value
    value = expressions.literal(left)
    if isinstance(right, ast.Name) and value is not expressions.NOT_LITERAL and right.id != MISSING:
        return expr.column_name(right), _MIRROR[op], value
    return None


def _shown(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


@dataclass(frozen=True)
class Derive(Step):
    """A recipe step that adds a column computed from an expression."""
    column: str
    expression_text: str
    kind = "derive"

    def __post_init__(self) -> None:
        _check_name(self.column, "The new column's name")
        object.__setattr__(self, "_expr", _expression(self.expression_text, f"The expression of {self.column}"))

    @property
    def expression(self) -> Expression:
        """The checked expression."""
        return self._expr  # type: ignore[attr-defined]

    def describe(self) -> str:
        """The step in words: the new column and its expression."""
        return f"derive {column_words(self.column)} = {self.expression_text}"

    def to_dict(self) -> dict[str, Any]:
        """The step as it is written in a recipe's JSON."""
        return {"step": self.kind, "column": self.column, "expression": self.expression_text}

    def reads(self) -> list[str]:
        """The columns the expression names."""
        return self.expression.columns()

    def writes(self) -> list[str]:
        """The column it makes (or replaces)."""
        return [self.column]

    def apply(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, Change]:
        """The table with the column set to the expression's value; raises RecipeError when a
        column it names is missing."""
        _need(frame, self.reads(), self)
        values = expressions.evaluate(self.expression, frame)
        out = frame.copy(deep=False)
        out[self.column] = values
        return out, Change(cells=int(values.notna().sum()))


@dataclass(frozen=True)
class Replace(Step):
    """A recipe step that replaces a column's value where a condition holds."""
    column: str
    condition: str
    kind = "replace"

    def __post_init__(self) -> None:
        _check_name(self.column)
        object.__setattr__(self, "_expr", _expression(self.condition, "The replacement's condition"))

    @property
    def expression(self) -> Expression:
        """The checked condition."""
        return self._expr  # type: ignore[attr-defined]

    def describe(self) -> str:
        """The step in words: which values become missing, and where."""
        if self.expression.columns() == [self.column]:
            return f"replace {self.condition} with missing"
        return f"replace {column_words(self.column)} where {self.condition} with missing"

    def to_dict(self) -> dict[str, Any]:
        """The step as it is written in a recipe's JSON."""
        return {"step": self.kind, "column": self.column, "condition": self.condition, "with": MISSING}

    def reads(self) -> list[str]:
        """The column it changes and those the condition names."""
        return list(dict.fromkeys([self.column, *self.expression.columns()]))

    def writes(self) -> list[str]:
        """The column whose values may become missing."""
        return [self.column]

    def apply(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, Change]:
        """The table with the column missing where the condition holds; raises RecipeError
        when a column is missing."""
        _need(frame, self.reads(), self)
        hit = expressions.condition(self.expression, frame) & frame[self.column].notna().to_numpy()
        if not hit.any():
            return frame, Change()
        out = frame.copy(deep=False)
        out[self.column] = frame[self.column].mask(hit)
        return out, Change(cells=int(hit.sum()))


@dataclass(frozen=True)
class Recode(Step):
    """A recipe step that maps a column's values to new ones (old -> new)."""
    column: str
    #: (old, new) pairs; None is a missing value
    values: tuple[tuple[Optional[str], Optional[str]], ...]
    kind = "recode"

    def __post_init__(self) -> None:
        _check_name(self.column)
        if not self.values:
            raise RecipeError(f"A recode of {self.column} needs at least one 'OLD -> NEW'.")
        if len(self.values) > MAX_VALUES:
            raise RecipeError(f"A recode takes at most {MAX_VALUES:,} values.")
        olds = [old for old, _ in self.values]
        if len(set(olds)) != len(olds):
            twice = next(o for o in olds if olds.count(o) > 1)
            raise RecipeError(f"The recode of {self.column} gives {value_words(twice)} two new values.")

    def describe(self) -> str:
        """The step in words: each old value and its new one."""
        pairs = ", ".join(f"{value_words(old)} -> {value_words(new)}" for old, new in self.values)
        return f"recode {column_words(self.column)}: {pairs}"

    def to_dict(self) -> dict[str, Any]:
        """The step as it is written in a recipe's JSON."""
        return {"step": self.kind, "column": self.column, "values": [list(p) for p in self.values]}

    def reads(self) -> list[str]:
        """The column it recodes."""
        return [self.column]

    def writes(self) -> list[str]:
        """The column it recodes."""
        return [self.column]

    def mapped(self, level: Optional[str]) -> Optional[str]:
        """The value a level becomes (itself when the step does not recode it)."""
        return dict(self.values).get(level, level)

    def apply(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, Change]:
        """The table with the column's values recoded; raises RecipeError when the column is
        missing."""
        _need(frame, self.reads(), self)
        codes, labels = distinct_labels(frame[self.column])
        mapping = dict(self.values)
        # each distinct value is looked up once; rows take their value's result (last: missing)
        new = np.array([mapping.get(v, v) for v in labels] + [mapping.get(None, None)], dtype=object)
        old = np.array(labels + [None], dtype=object)
        changed = ~_same(new, old)
        rows = np.where(codes < 0, len(labels), codes)
        out = frame.copy(deep=False)
        out[self.column] = pd.Series(new[rows], index=frame.index, dtype=object)
        return out, Change(cells=int(np.bincount(rows, minlength=len(new))[changed].sum()))


def distinct_labels(values: pd.Series) -> tuple[np.ndarray, list[Optional[str]]]:
    """Each row's code (-1: missing) and the label of each distinct value (the labels a
    model reads, see ``labels``), each distinct value labelled once."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    labels = [None if isinstance(v, float) else v for v in category_labels(pd.Series(uniques, dtype=object))]
    return codes, labels


def _same(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    missing_a, missing_b = pd.isna(a), pd.isna(b)
    return (missing_a & missing_b) | (~missing_a & ~missing_b & (a == b))


@dataclass(frozen=True)
class Order(Step):
    """A recipe step that gives a categorical column's levels an order."""
    column: str
    levels: tuple[str, ...]
    kind = "order"
    #: an order describes the data (the model encodes it); it changes no value to score
    row_level = False

    def __post_init__(self) -> None:
        _check_name(self.column)
        if len(self.levels) < 2:
            raise RecipeError(f"An order of {self.column} needs at least two values: A < B.")
        if len(self.levels) > MAX_VALUES:
            raise RecipeError(f"An order takes at most {MAX_VALUES:,} values.")
        if any(level is None for level in self.levels):
            raise RecipeError("A missing value has no place in an order.")
        if len(set(self.levels)) != len(self.levels):
            twice = next(v for v in self.levels if self.levels.count(v) > 1)
            raise RecipeError(f"The order of {self.column} names {value_words(twice)} twice.")

    def describe(self) -> str:
        """The step in words: the levels from lowest to highest."""
        return f"order {column_words(self.column)}: " + " < ".join(value_words(v) for v in self.levels)

    def to_dict(self) -> dict[str, Any]:
        """The step as it is written in a recipe's JSON."""
        return {"step": self.kind, "column": self.column, "levels": list(self.levels)}

    def reads(self) -> list[str]:
        """The column it orders."""
        return [self.column]

    def apply(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, Change]:
        """The table unchanged, once every value of the column is among the levels; raises
        RecipeError naming the values that are not."""
        _need(frame, self.reads(), self)
        codes, labels = distinct_labels(frame[self.column])
        levels = set(self.levels)
        outside = sorted({v for v in labels if v is not None and v not in levels})
        if outside:
            counts = np.bincount(codes[codes >= 0], minlength=len(labels))
            rows = dict.fromkeys(outside, 0)
            for v, n in zip(labels, counts):
                if v in rows:
                    rows[v] += int(n)
            shown = ", ".join(f"{value_words(v)} ({rows[v]:,} rows)" for v in outside[:5])
            raise RecipeError(f"{self.column} has values the order does not place: {shown}. Recode them "
                              f"first, or add them to the order.")
        return frame, Change(note="order")


@dataclass(frozen=True)
class Cast(Step):
    """A recipe step that converts a column to another type."""
    column: str
    to: str
    kind = "cast"

    def __post_init__(self) -> None:
        _check_name(self.column)
        if self.to not in CAST_TYPES:
            raise RecipeError(f"Cast to one of {', '.join(CAST_TYPES)}, not {self.to!r}.")

    def describe(self) -> str:
        """The step in words: the column and the type it becomes."""
        return f"cast {column_words(self.column)} as {self.to}"

    def to_dict(self) -> dict[str, Any]:
        """The step as it is written in a recipe's JSON."""
        return {"step": self.kind, "column": self.column, "to": self.to}

    def reads(self) -> list[str]:
        """The column it casts."""
        return [self.column]

    def writes(self) -> list[str]:
        """The column it casts."""
        return [self.column]

    def apply(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, Change]:
        """The table with the column cast; values that are not of the type become missing and
        are counted in the note."""
        _need(frame, self.reads(), self)
        values = cast_values(frame[self.column], self.to)
        lost = int((values.isna().to_numpy() & frame[self.column].notna().to_numpy()).sum())
        out = frame.copy(deep=False)
        out[self.column] = values
        note = f"{lost} value(s) that are not a {self.to} became missing" if lost else ""
        return out, Change(cells=lost, note=note)


def cast_values(values: pd.Series, to: str) -> pd.Series:
    """A column as ``to`` (see :data:`CAST_TYPES`); what cannot be read as one is missing."""
    index = values.index
    if to == "number":
        kind = expressions.column_kind(values)
        if kind == expressions.DATE:
            raise RecipeError(f"A date cannot be cast as a number; derive its parts (year({column_words(str(values.name))})).")
        if kind == expressions.NUMBER:
            numbers = pd.to_numeric(values, errors="coerce")
        elif kind == expressions.FLAG:
            numbers = pd.to_numeric(values.astype(object).map(
                lambda v: v if v is None or (isinstance(v, float) and v != v) else float(bool(v))), errors="coerce")
        else:
            numbers = pd.to_numeric(values.astype(object).map(lambda v: v.strip() if isinstance(v, str) else v),
                                    errors="coerce")
        out = np.array(numbers.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64, copy=True)
        out[~np.isfinite(out)] = np.nan
        return pd.Series(out, index=index)
    if to in ("category", "text"):
        return pd.Series(category_labels(values), index=index, dtype=object).where(values.notna(), None)
    if to == "date":
        if pd.api.types.is_datetime64_any_dtype(values.dtype):
            return values
        out = expressions.dates_from_text(values.astype(object).map(lambda v: None if v is None else str(v)))
        out.index = index
        return out
    labels = values.astype(object).map(_truth)
    return labels.astype(object)


def _truth(value: Any) -> Optional[bool]:
    if value is None or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, float, np.integer, np.floating)):
        return None if value not in (0, 1) else bool(value)
    text = str(value).strip().lower()
    return True if text in TRUE_WORDS else False if text in FALSE_WORDS else None


@dataclass(frozen=True)
class Drop(Step):
    """A recipe step that removes columns."""
    columns: tuple[str, ...]
    kind = "drop"

    def __post_init__(self) -> None:
        if not self.columns:
            raise RecipeError("Name the column(s) to drop.")
        for c in self.columns:
            _check_name(c)

    def describe(self) -> str:
        """The step in words: the columns it drops."""
        return "drop " + ", ".join(column_words(c) for c in self.columns)

    def to_dict(self) -> dict[str, Any]:
        """The step as it is written in a recipe's JSON."""
        return {"step": self.kind, "columns": list(self.columns)}

    def reads(self) -> list[str]:
        """The columns it drops (they must be there)."""
        return list(self.columns)

    def apply(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, Change]:
        """The table without the columns; raises RecipeError when one is missing."""
        _need(frame, self.columns, self)
        return frame.drop(columns=list(self.columns)), Change(note=f"{len(self.columns)} column(s) dropped")


@dataclass(frozen=True)
class DropDuplicates(Step):
    """A recipe step that drops rows that repeat an earlier row."""
    kind = "drop_duplicates"
    #: a batch's own repeats are scored, each row for itself
    row_level = False

    def describe(self) -> str:
        """The step in words."""
        return "drop duplicates"

    def to_dict(self) -> dict[str, Any]:
        """The step as it is written in a recipe's JSON."""
        return {"step": self.kind}

    def apply(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, Change]:
        """The table with each repeated row after its first dropped (missing values count as
        equal)."""
        if not len(frame):
            return frame, Change()
        repeated = frame.duplicated(keep="first").to_numpy()  # missing values count as equal
        if not repeated.any():
            return frame, Change()
        return frame.loc[~repeated], Change(np.flatnonzero(~repeated))


STEP_KINDS = {"filter": Filter, "derive": Derive, "replace": Replace, "recode": Recode, "order": Order,
              "cast": Cast, "drop": Drop, "drop_duplicates": DropDuplicates}


# -- steps from JSON and from words --------------------------------------------------------------

def _fields(data: dict[str, Any], kind: str, wanted: set[str]) -> None:
    unknown = set(data) - wanted - {"step"}
    if unknown:
        raise RecipeError(f"A {kind} step has unknown field(s): {', '.join(sorted(map(str, unknown)))}.")
    missing = wanted - set(data) - {"with"}
    if missing:
        raise RecipeError(f"A {kind} step lacks its {', '.join(sorted(missing))}.")


def step_from_dict(data: Any) -> Step:
    """A step from its JSON form, every field checked (a stored recipe is data from
    elsewhere); raises :class:`RecipeError`."""
    if not isinstance(data, dict):
        raise RecipeError(f"A step is an object with a 'step' field, not {type(data).__name__}.")
    kind = data.get("step")
    if kind not in STEP_KINDS:
        raise RecipeError(f"Unknown step {str(kind)[:40]!r}; known: {', '.join(STEP_KINDS)}.")
    if kind == "filter":
        _fields(data, kind, {"condition"})
        return Filter(data["condition"])
    if kind == "derive":
        _fields(data, kind, {"column", "expression"})
        return Derive(data["column"], data["expression"])
    if kind == "replace":
        _fields(data, kind, {"column", "condition", "with"})
        if data.get("with", MISSING) != MISSING:
            raise RecipeError("A replace step replaces with missing only.")
        return Replace(data["column"], data["condition"])
    if kind == "recode":
        _fields(data, kind, {"column", "values"})
        pairs = data["values"]
        if not isinstance(pairs, list) or len(pairs) > MAX_VALUES or \
                not all(isinstance(p, list) and len(p) == 2 for p in pairs):
            raise RecipeError("A recode's values are a list of [old, new] pairs.")
        return Recode(data["column"], tuple((_check_level(a, "A recode's values"), _check_level(b, "A recode's values"))
                                            for a, b in pairs))
    if kind == "order":
        _fields(data, kind, {"column", "levels"})
        levels = data["levels"]
        if not isinstance(levels, list) or len(levels) > MAX_VALUES:
            raise RecipeError("An order's levels are a list of texts.")
        return Order(data["column"], tuple(_check_level(v, "An order's levels") for v in levels))
    if kind == "cast":
        _fields(data, kind, {"column", "to"})
        return Cast(data["column"], data["to"])
    if kind == "drop":
        _fields(data, kind, {"columns"})
        columns = data["columns"]
        if not isinstance(columns, list) or len(columns) > MAX_VALUES:
            raise RecipeError("A drop step's columns are a list of names.")
        return Drop(tuple(columns))
    _fields(data, kind, set())
    return DropDuplicates()


def _split(text: str, separator: str) -> list[str]:
    """``text`` split at ``separator`` outside quotes and backticks."""
    parts, buf, quote, i = [], [], None, 0
    while i < len(text):
        ch = text[i]
        if quote:
            buf.append(ch)
            if ch == "\\" and quote != "`" and i + 1 < len(text):
                buf.append(text[i + 1])
                i += 2
                continue
            if ch == quote:
                quote = None
        elif ch in "'\"`":
            quote = ch
            buf.append(ch)
        elif text.startswith(separator, i):
            parts.append("".join(buf))
            buf = []
            i += len(separator)
            continue
        else:
            buf.append(ch)
        i += 1
    if quote:
        raise RecipeError(f"A quote ({quote}) is not closed in {text.strip()[:60]!r}.")
    parts.append("".join(buf))
    return parts


def _unquote_name(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] == "`":
        return _check_name(text[1:-1])
    if not text or "`" in text:
        raise RecipeError(f"{text or 'An empty text'!r} is not a column name (names with spaces or signs "
                          "go between backticks: `price (USD)`).")
    return _check_name(text)


def _unquote_value(text: str) -> Optional[str]:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        body, out, i = text[1:-1], [], 0
        while i < len(body):
            if body[i] == "\\" and i + 1 < len(body):
                out.append(body[i + 1])
                i += 2
                continue
            out.append(body[i])
            i += 1
        return "".join(out)
    if not text:
        raise RecipeError("An empty value; write '' for empty text, or missing.")
    if text.lower() == MISSING:
        return None
    return text


def _column_and_rest(text: str, keyword: str) -> tuple[str, str]:
    parts = _split(text, ":")
    if len(parts) < 2:
        raise RecipeError(f"Write {keyword} COLUMN: … (a colon after the column).")
    return _unquote_name(parts[0]), ":".join(parts[1:])


def parse_step(text: str) -> Step:
    """A step from the words the app shows (see the module's docstring)."""
    if not isinstance(text, str) or not text.strip():
        raise RecipeError("A step is empty.")
    if len(text) > expressions.MAX_LENGTH + 2 * MAX_NAME:
        raise RecipeError(f"A step is {len(text):,} characters long; at most "
                          f"{expressions.MAX_LENGTH + 2 * MAX_NAME:,} are allowed.")
    text = text.strip()
    word, _, rest = text.partition(" ")
    word, rest = word.lower(), rest.strip()
    if word == "filter":
        if not rest:
            raise RecipeError("Write filter CONDITION, e.g. filter carat <= 2.5.")
        return Filter(rest)
    if word == "derive":
        name, sep, expression = _derive_parts(rest)
        if not sep:
            raise RecipeError("Write derive NAME = EXPRESSION, e.g. derive log_price = log(price).")
        return Derive(_unquote_name(name), expression.strip())
    if word == "replace":
        return _replace(rest)
    if word == "recode":
        column, pairs = _column_and_rest(rest, "recode")
        values = []
        for pair in _split(pairs, ","):
            sides = _split(pair, "->")
            if len(sides) != 2:
                raise RecipeError(f"Write recode {column_words(column)}: OLD -> NEW, OLD -> NEW (not {pair.strip()!r}).")
            values.append((_unquote_value(sides[0]), _unquote_value(sides[1])))
        return Recode(column, tuple(values))
    if word == "order":
        column, levels = _column_and_rest(rest, "order")
        return Order(column, tuple(_unquote_value(v) for v in _split(levels, "<")))
    if word == "cast":
        parts = _split(rest, " as ")
        if len(parts) < 2:
            raise RecipeError(f"Write cast COLUMN as TYPE (TYPE: {', '.join(CAST_TYPES)}).")
        return Cast(_unquote_name(" as ".join(parts[:-1])), parts[-1].strip().lower())
    if word == "drop":
        if rest.lower() == "duplicates":
            return DropDuplicates()
        if not rest:
            raise RecipeError("Write drop COLUMN (or drop duplicates).")
        return Drop(tuple(_unquote_name(c) for c in _split(rest, ",")))
    raise RecipeError(f"A step starts with filter, derive, replace, recode, order, cast or drop, not "
                      f"{text[:40]!r}.")


def _derive_parts(rest: str) -> tuple[str, str, str]:
    """NAME, '=', EXPRESSION: the first '=' that is not part of '==', '<=', '>=' or '!='."""
    parts = _split(rest, "=")
    if len(parts) < 2:
        return rest, "", ""
    name = parts[0]
    if name.rstrip().endswith(("<", ">", "!")) or parts[1] == "":  # <=, >=, != or ==
        return rest, "", ""
    return name, "=", "=".join(parts[1:])


def _replace(rest: str) -> Replace:
    suffix = " with missing"
    body = rest[: -len(suffix)].strip() if rest.lower().endswith(suffix) else ""
    if not body:
        raise RecipeError("Write replace CONDITION with missing, e.g. replace x == 0 with missing.")
    parts = _split(body, " where ")
    if len(parts) >= 2:
        return Replace(_unquote_name(parts[0]), " where ".join(parts[1:]).strip())
    try:
        columns = expressions.parse(body).columns()
    except ExpressionError as exc:
        raise RecipeError(f"The replacement's condition: {exc}") from None
    if len(columns) != 1:
        raise RecipeError(f"Say which column becomes missing: replace COLUMN where {body} with missing.")
    return Replace(columns[0], body)


# -- the recipe ---------------------------------------------------------------------------------

@dataclass
class StepEffect:
    """What one step did when a recipe was applied to a dataset."""

    step: str
    rows_before: int
    rows_after: int
    cells: int
    note: str = ""


@dataclass
class Prepared:
    """A dataset after a recipe: the table, which rows of the original it kept (by
    position), and what each step did."""

    frame: pd.DataFrame
    kept: np.ndarray
    effects: list[StepEffect] = field(default_factory=list)


@dataclass(frozen=True)
class Recipe:
    """An ordered list of steps."""

    steps: tuple[Step, ...] = ()

    def __len__(self) -> int:
        return len(self.steps)

    def __add__(self, other: "Recipe") -> "Recipe":
        return Recipe(self.steps + other.steps)

    # -- as data --------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The recipe as its JSON file holds it (type, format, steps)."""
        return {"type": RECIPE_TYPE, "format": RECIPE_FORMAT, "steps": [s.to_dict() for s in self.steps]}

    def canonical_json(self) -> str:
        """One text for one recipe: sorted keys, no spaces (its SHA-256 names it)."""
        return json.dumps(self.to_dict(), sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                          allow_nan=False)

    @property
    def sha256(self) -> str:
        """The SHA-256 of the recipe's canonical JSON: two recipes with the same steps have
        the same digest."""
        return hashlib.sha256(self.canonical_json().encode("utf-8")).hexdigest()

    @classmethod
    def from_dict(cls, data: Any) -> "Recipe":
        """A recipe from its JSON form (also a bare list of steps); every field checked."""
        if isinstance(data, list):
            data = {"type": RECIPE_TYPE, "format": RECIPE_FORMAT, "steps": data}
        if not isinstance(data, dict):
            raise RecipeError("A recipe is a JSON object with its steps (or a list of steps).")
        unknown = set(data) - {"type", "format", "steps"}
        if unknown:
            raise RecipeError(f"A recipe has unknown field(s): {', '.join(sorted(map(str, unknown)))}.")
        if data.get("type", RECIPE_TYPE) != RECIPE_TYPE:
            raise RecipeError(f"This is not a recipe (its type is {str(data.get('type'))[:40]!r}).")
        if data.get("format", RECIPE_FORMAT) != RECIPE_FORMAT:
            raise RecipeError(f"This recipe was written in format {str(data.get('format'))[:10]}, which this "
                              f"version does not read (it reads format {RECIPE_FORMAT}).")
        steps = data.get("steps")
        if not isinstance(steps, list):
            raise RecipeError("A recipe's steps are a list.")
        if len(steps) > MAX_STEPS:
            raise RecipeError(f"A recipe has at most {MAX_STEPS} steps, not {len(steps)}.")
        out = []
        for i, s in enumerate(steps, start=1):
            try:
                out.append(step_from_dict(s))
            except RecipeError as exc:
                raise RecipeError(f"Step {i} of the recipe: {exc}") from None
        return cls(tuple(out))

    @classmethod
    def from_json(cls, text: str | bytes) -> "Recipe":
        """A recipe from JSON text (a file, a stored record)."""
        if len(text) > MAX_RECIPE_BYTES:
            raise RecipeError(f"The recipe is {len(text):,} bytes; at most {MAX_RECIPE_BYTES:,} are read.")
        try:
            data = json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise RecipeError(f"The recipe is not valid JSON ({str(exc)[:120]}).") from None
        return cls.from_dict(data)

    @classmethod
    def from_words(cls, lines: Iterable[str]) -> "Recipe":
        """A recipe from steps in words, one a line (:func:`parse_step`)."""
        lines = list(lines)
        if len(lines) > MAX_STEPS:
            raise RecipeError(f"A recipe has at most {MAX_STEPS} steps, not {len(lines)}.")
        out = []
        for i, line in enumerate(lines, start=1):
            try:
                out.append(parse_step(line))
            except RecipeError as exc:
                raise RecipeError(f"Step {i} ({line.strip()[:60]!r}): {exc}") from None
        return cls(tuple(out))

    def describe(self) -> list[str]:
        """Each step in words, in order."""
        return [s.describe() for s in self.steps]

    # -- what it does ---------------------------------------------------------------------------

    def apply(self, frame: pd.DataFrame, *, on_step: Optional[Callable[[int, int], None]] = None) -> Prepared:
        """The dataset after every step: filters keep their rows, duplicates are dropped.
        ``on_step(done, total)`` is called after each step (for progress and cancel)."""
        kept = np.arange(len(frame))
        effects = []
        frame = frame.reset_index(drop=True)
        for i, step in enumerate(self.steps):
            before = len(frame)
            try:
                frame, change = step.apply(frame)
            except (ExpressionError, RecipeError) as exc:
                raise RecipeError(f"Step {i + 1} ({step.describe()}): {exc}") from None
            if change.kept is not None:
                kept = kept[change.kept]
                frame = frame.reset_index(drop=True)
            effects.append(StepEffect(step.describe(), before, len(frame), change.cells, change.note))
            if on_step is not None:
                on_step(i + 1, len(self.steps))
        return Prepared(frame, kept, effects)

    def score_rows(self, frame: pd.DataFrame, *, scope: bool = True) -> tuple[pd.DataFrame, np.ndarray]:
        """Rows prepared for scoring: every row-level step applied to every row; each
        filter a scope rule. Returns the prepared rows (same index) and each row's
        reason to be rejected (None for rows in scope, or for every row when ``scope``
        is False)."""
        reasons = np.full(len(frame), None, dtype=object)
        for i, step in enumerate(self.steps):
            try:
                if isinstance(step, Filter):
                    _need(frame, step.reads(), step)
                    keep = step.keeps(frame)
                    if scope and not keep.all():
                        fresh = pd.isna(reasons) & ~keep
                        reasons[fresh] = step.reasons(frame, keep)[fresh]
                    continue
                if not step.row_level:
                    continue
                if isinstance(step, Drop):
                    frame = frame.drop(columns=[c for c in step.columns if c in frame.columns])
                    continue
                frame, _ = step.apply(frame)
            except (ExpressionError, RecipeError) as exc:
                raise RecipeError(f"The data cannot be prepared as the model's training data was: step "
                                  f"{i + 1} ({step.describe()}): {exc}") from None
        return frame, reasons

    def orders(self) -> dict[str, list[str]]:
        """The declared order of each ordered column after the whole recipe (a later
        recode carries the order along; a later derive, cast or drop ends it)."""
        out: dict[str, list[str]] = {}
        for step in self.steps:
            if isinstance(step, Order):
                out[step.column] = list(step.levels)
            elif isinstance(step, Recode) and step.column in out:
                out[step.column] = [v for v in dict.fromkeys(step.mapped(level) for level in out[step.column])
                                    if v is not None]
            elif isinstance(step, Drop):
                for c in step.columns:
                    out.pop(c, None)
            else:
                for c in step.writes():
                    out.pop(c, None)
        return out

    def scope_rules(self) -> list[Filter]:
        """The recipe's filters: the rules a row to score must meet (rows outside them are
        out of scope)."""
        return [s for s in self.steps if isinstance(s, Filter)]

    def sources(self, columns: Iterable[str], upto: Optional[int] = None) -> set[str]:
        """The columns as they came in that ``columns`` (as they are after the first
        ``upto`` steps, default all) are made from."""
        live = set(columns)
        for step in reversed(self.steps[:upto]):
            if isinstance(step, (Filter, Drop)) or not step.row_level:
                continue
            written = set(step.writes())
            if written & live:
                if isinstance(step, Derive):
                    live -= written
                live.update(step.reads())
        return live

    def training_only(self, inputs: Iterable[str], target: Optional[str]) -> list[Filter]:
        """The filters that read the target (or what it is made from and the model's
        inputs are not): rows to score have no target, so these cannot be scope rules."""
        if not target:
            return []
        own = self.sources([target]) - self.sources(inputs)
        return [s for i, s in enumerate(self.steps)
                if isinstance(s, Filter) and self.sources(s.reads(), upto=i) & own]

    def for_model(self, inputs: Iterable[str], target: Optional[str] = None, *,
                  with_target: bool = False) -> "Recipe":
        """The steps a model reading ``inputs`` depends on when it scores rows: each filter
        (its scope) but those on the ``target`` (:meth:`training_only`), and each row-level
        step that sets a column the model, a kept filter or a later kept step reads.
        ``with_target``: also the steps that make the target (for rows that have it)."""
        inputs = list(inputs)
        skipped = {id(f) for f in self.training_only(inputs, target)}
        live = set(inputs) | ({target} if with_target and target else set())
        kept: list[Step] = []
        for step in reversed(self.steps):
            if isinstance(step, Filter):
                if id(step) not in skipped:
                    kept.append(step)
                    live.update(step.reads())
                continue
            if not step.row_level or isinstance(step, Drop):
                continue
            written = set(step.writes())
            if written & live:
                kept.append(step)
                if isinstance(step, Derive):
                    live -= written
                live.update(step.reads())
        return Recipe(tuple(reversed(kept)))

    def raw_inputs(self, inputs: Iterable[str], target: Optional[str] = None) -> list[str]:
        """The columns rows to score must have for this recipe (as :meth:`for_model` keeps
        it) and a model reading ``inputs``: those read before any step derives them."""
        inputs = list(inputs)
        made: set[str] = set()
        needed: dict[str, None] = {}
        for step in self.for_model(inputs, target).steps:
            for c in step.reads():
                if c not in made:
                    needed.setdefault(c, None)
            if isinstance(step, Derive):
                made.add(step.column)
        for c in inputs:
            if c not in made:
                needed.setdefault(c, None)
        return list(needed)
