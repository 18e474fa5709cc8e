"""Expressions an analyst writes (``log(price)``, ``carat <= 2.5``, ``x == 0``), read
as data and evaluated on whole columns at once, never run as Python.

A recipe travels in backups and export packages, so its text is treated as hostile.
The text is parsed with Python's :mod:`ast` (``mode="eval"``: one expression, no
statements) and every node is checked against an explicit list before anything is
evaluated: numbers, text, column names, arithmetic, comparisons, ``and``/``or``/``not``,
``a if condition else b``, and calls to the functions of :data:`FUNCTIONS` by name.
Attribute access, indexing, lambdas, comprehensions, keyword arguments, ``*args``,
names starting with ``__`` and any other call are refused, as are texts longer than
:data:`MAX_LENGTH` characters, deeper than :data:`MAX_DEPTH` or with more than
:data:`MAX_NODES` parts, and powers whose exponent is not a plain number within
:data:`MAX_EXPONENT`. Nothing is ever passed to ``eval``, ``exec`` or ``compile``: the
checked tree is walked by :func:`evaluate`, which computes with numpy and pandas.

:func:`check_expression` is the check on its own, for other readers of expressions
(formula terms) that need to know whether a text or a tree holds only these nodes and
calls to the functions they allow.

Rules of evaluation, in the analyst's words: a comparison with a missing value is
false (test for it with ``is_missing(x)``); a result that is not a finite number
(``log(0)``, a division by zero) is missing; ``missing`` is a missing value. Column
names that are not Python names are written between backticks: ``\\`price (USD)\\` > 0``.

Imports numpy and pandas only.
"""

from __future__ import annotations

import ast
import math
import re
from dataclasses import dataclass
from typing import Any, Callable, Collection, Iterable, Optional

import numpy as np
import pandas as pd

#: the longest expression accepted, in characters (checked before anything else is done)
MAX_LENGTH = 1000
#: the deepest nesting of an expression's tree
MAX_DEPTH = 32
#: the most parts (nodes) an expression may have
MAX_NODES = 400
#: the largest exponent of a power (``x ** 2``): a computation must stay bounded
MAX_EXPONENT = 100
#: the most decimal places ``round`` takes
MAX_DIGITS = 15
#: the word for a missing value in an expression
MISSING = "missing"


class ExpressionError(ValueError):
    """An expression refused (not allowed, too long, not understood) or one that cannot
    be evaluated on the data (an unknown column, text where numbers are needed); the
    message says what and, where it can, how to write it instead."""


# -- the allowed nodes -------------------------------------------------------------------------

_BINARY = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//",
           ast.Mod: "%", ast.Pow: "**"}
_UNARY = {ast.USub: "-", ast.UAdd: "+", ast.Not: "not"}
_COMPARE = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=",
            ast.In: "in", ast.NotIn: "not in"}
_BOOL = {ast.And: "and", ast.Or: "or"}

#: what refused nodes are, in words
_REFUSED = {
    "Attribute": "attribute access (a dot after a name)", "Subscript": "indexing or slicing ([...])",
    "Lambda": "lambda", "ListComp": "a comprehension", "SetComp": "a comprehension",
    "DictComp": "a comprehension", "GeneratorExp": "a comprehension", "Await": "await",
    "Yield": "yield", "YieldFrom": "yield", "NamedExpr": "an assignment (:=)", "Starred": "*arguments",
    "Dict": "a dictionary", "Set": "a set", "JoinedStr": "an f-string", "FormattedValue": "an f-string",
    "Slice": "a slice", "MatMult": "the @ operator", "BitAnd": "the & operator (write 'and')",
    "BitOr": "the | operator (write 'or')", "BitXor": "the ^ operator (write '**' for a power)",
    "LShift": "the << operator", "RShift": "the >> operator", "Invert": "the ~ operator (write 'not')",
    "Is": "'is' (write '==', or is_missing(x))", "IsNot": "'is not' (write '!=', or not is_missing(x))",
}


def _placeholders(text: str) -> tuple[str, dict[str, str]]:
    """``text`` with each backtick-quoted column name replaced by a plain name, and the
    map back. Backticks inside quoted text are left alone."""
    out: list[str] = []
    names: dict[str, str] = {}
    i, n = 0, len(text)
    quote: Optional[str] = None
    while i < n:
        ch = text[i]
        if quote:
            out.append(ch)
            if ch == "\\" and i + 1 < n:
                out.append(text[i + 1])
                i += 2
                continue
            if ch == quote:
                quote = None
        elif ch in ("'", '"'):
            quote = ch
            out.append(ch)
        elif ch == "`":
            end = text.find("`", i + 1)
            if end < 0:
                raise ExpressionError("A column name opened with ` is not closed with another `.")
            name = text[i + 1:end]
            if not name.strip():
                raise ExpressionError("An empty column name between backticks (``).")
            key = f"_q{len(names)}_"
            names[key] = name
            out.append(f" {key} ")
            i = end + 1
            continue
        else:
            out.append(ch)
        i += 1
    return "".join(out), names


_PLACEHOLDER = re.compile(r"_q\d+_\Z")


def _describe_node(node: ast.AST) -> str:
    name = type(node).__name__
    return _REFUSED.get(name, f"'{name}'")


def check_expression(source: str | ast.AST, functions: Collection[str], *,
                     max_length: int = MAX_LENGTH, max_depth: int = MAX_DEPTH,
                     max_nodes: int = MAX_NODES) -> ast.Expression:
    """Whether an expression is safe to evaluate: built only from numbers, text, names
    (not starting with ``__``), arithmetic, comparisons, ``and``/``or``/``not``, a
    conditional (``a if c else b``), tuples or lists of constants after ``in``, and calls
    by name to ``functions`` with positional arguments; within the limits of length,
    depth and size; and with powers whose exponent is a number of at most
    :data:`MAX_EXPONENT`. Takes the text (parsed here with ``mode="eval"``) or a tree
    already parsed. Returns the checked tree; raises :class:`ExpressionError` saying
    what is refused. Nothing is evaluated."""
    if isinstance(source, str):
        if len(source) > max_length:
            raise ExpressionError(f"The expression is {len(source):,} characters long; at most "
                                  f"{max_length:,} are allowed.")
        if "\x00" in source:
            raise ExpressionError("The expression holds a null character.")
        try:
            tree = ast.parse(source.strip(), mode="eval")
        except SyntaxError as exc:
            raise ExpressionError(f"The expression cannot be read: {exc.msg}"
                                  + (f" (at character {exc.offset})" if exc.offset else "") + ".") from None
        except (RecursionError, MemoryError, ValueError):
            raise ExpressionError("The expression is nested too deeply to be read.") from None
    elif isinstance(source, ast.Expression):
        tree = source
    elif isinstance(source, ast.expr):
        tree = ast.Expression(body=source)
    else:
        raise ExpressionError(f"An expression is text or a parsed expression, not {type(source).__name__}.")
    allowed = frozenset(functions)
    count = 0
    stack: list[tuple[ast.AST, int]] = [(tree.body, 1)]
    while stack:  # iterative: a deep tree must not exhaust Python's own stack here
        node, depth = stack.pop()
        count += 1
        if depth > max_depth:
            raise ExpressionError(f"The expression is nested more than {max_depth} levels deep.")
        if count > max_nodes:
            raise ExpressionError(f"The expression has more than {max_nodes} parts; split it into "
                                  "several steps.")
        stack.extend((child, depth + 1) for child in _children(node, allowed))
    return tree


def _children(node: ast.AST, functions: frozenset[str]) -> list[ast.AST]:
    """The parts of an allowed node to check next; raises for a node that is refused."""
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bool) or isinstance(value, str):
            return []
        if isinstance(value, (int, float)):
            if isinstance(value, int) and abs(value) > 2 ** 63:
                raise ExpressionError(f"The number {str(value)[:20]}… is too large.")
            return []
        raise ExpressionError(f"The value {value!r} is not a number or a text.")
    if isinstance(node, ast.Name):
        if node.id.startswith("__"):
            raise ExpressionError(f"Names starting with '__' are not allowed ({node.id}).")
        if not isinstance(node.ctx, ast.Load):
            raise ExpressionError("An expression cannot assign.")
        if node.id in functions:
            raise ExpressionError(f"{node.id} is a function: write {node.id}(...).")
        return []
    if isinstance(node, ast.BinOp):
        if type(node.op) not in _BINARY:
            raise ExpressionError(f"{_describe_node(node.op)} is not allowed in an expression.")
        if isinstance(node.op, ast.Pow):
            exponent = literal_number(node.right)
            if exponent is None:
                raise ExpressionError("The exponent of a power (**) must be a number written out, "
                                      "such as x ** 2.")
            if abs(exponent) > MAX_EXPONENT:
                raise ExpressionError(f"An exponent of {exponent:g} is too large; at most "
                                      f"{MAX_EXPONENT} is allowed (use exp() or log() for growth).")
            return [node.left]
        return [node.left, node.right]
    if isinstance(node, ast.UnaryOp):
        if type(node.op) not in _UNARY:
            raise ExpressionError(f"{_describe_node(node.op)} is not allowed in an expression.")
        return [node.operand]
    if isinstance(node, ast.BoolOp):
        return list(node.values)
    if isinstance(node, ast.Compare):
        parts: list[ast.AST] = [node.left]
        for op, right in zip(node.ops, node.comparators):
            if type(op) not in _COMPARE:
                raise ExpressionError(f"{_describe_node(op)} is not allowed in an expression.")
            if isinstance(op, (ast.In, ast.NotIn)):
                if not isinstance(right, (ast.Tuple, ast.List)):
                    raise ExpressionError("After 'in', list the values in brackets: x in (1, 2, 3).")
                for element in right.elts:
                    if literal(element) is NOT_LITERAL:
                        raise ExpressionError("The values after 'in' must be numbers or texts written out.")
            else:
                parts.append(right)
        return parts
    if isinstance(node, ast.IfExp):
        return [node.test, node.body, node.orelse]
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name):
            raise ExpressionError(f"Only functions called by their name are allowed; "
                                  f"{_describe_node(node.func)} is not.")
        name = node.func.id
        if name not in functions:
            known = ", ".join(sorted(functions)) or "none"
            raise ExpressionError(f"{name}() is not a function an expression may call. Allowed: {known}.")
        if node.keywords:
            raise ExpressionError(f"{name}() takes its arguments in order, without names (=).")
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                raise ExpressionError("*arguments are not allowed.")
        return list(node.args)
    raise ExpressionError(f"{_describe_node(node)} is not allowed in an expression.")


NOT_LITERAL = object()


def literal(node: ast.AST) -> Any:
    """A number or text written out in an expression's tree (a minus sign allowed), or
    :data:`NOT_LITERAL`."""
    if isinstance(node, ast.Constant) and isinstance(node.value, (bool, int, float, str)):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)) and \
            isinstance(node.operand, ast.Constant) and isinstance(node.operand.value, (int, float)) and \
            not isinstance(node.operand.value, bool):
        return -node.operand.value if isinstance(node.op, ast.USub) else node.operand.value
    return NOT_LITERAL


def literal_number(node: ast.AST) -> Optional[float]:
    """The number a literal node holds, or None when it is not a literal number."""
    value = literal(node)
    if value is NOT_LITERAL or isinstance(value, (bool, str)):
        return None
    return float(value)


# -- values during evaluation --------------------------------------------------------------------

NUMBER, FLAG, TEXT, DATE, NOTHING = "number", "true/false", "text", "date", "missing"


@dataclass
class _Value:
    """A column or a constant while evaluating: its kind and its data (a numpy array of
    float64 for numbers, of bool for true/false; a pandas Series for text and dates;
    a plain value for a constant)."""

    kind: str
    data: Any
    constant: bool = False


def column_kind(values: pd.Series) -> str:
    """What a column holds, as expressions see it: numbers, true/false, dates or text."""
    dtype = values.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return FLAG
    if pd.api.types.is_numeric_dtype(dtype):
        return NUMBER
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return DATE
    if dtype == object:
        inferred = pd.api.types.infer_dtype(values, skipna=True)
        if inferred == "boolean":
            return FLAG
        if inferred in ("integer", "floating", "mixed-integer-float", "decimal"):
            return NUMBER
        if inferred in ("datetime", "datetime64", "date"):
            return DATE
    return TEXT


def _from_column(values: pd.Series) -> _Value:
    kind = column_kind(values)
    if kind == NUMBER:
        return _Value(NUMBER, pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan))
    if kind == FLAG:
        if values.dtype == object or not pd.api.types.is_bool_dtype(values.dtype) or values.isna().any():
            # true/false with missing values: numbers 1, 0 and missing, so nothing is guessed
            return _Value(NUMBER, pd.to_numeric(values.astype(object).map(
                lambda v: np.nan if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v))
                else float(bool(v))), errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan))
        return _Value(FLAG, values.to_numpy(dtype=bool))
    if kind == DATE:
        return _Value(DATE, pd.to_datetime(values, errors="coerce").reset_index(drop=True))
    # pandas' text type: comparisons with a missing value are false, not an error
    return _Value(TEXT, values.reset_index(drop=True).astype("str"))


def _flags(values: Any, n: int) -> np.ndarray:
    """A comparison's outcome as a bool array, missing counted as false."""
    if isinstance(values, pd.Series):
        return values.to_numpy(dtype=bool, na_value=False)
    arr = np.asarray(values)
    if arr.ndim == 0:
        return np.full(n, bool(arr))
    return arr.astype(bool, copy=False)


def _finite(values: np.ndarray) -> np.ndarray:
    """Numbers with every result that is not finite made missing."""
    if isinstance(values, np.ndarray):
        bad = ~np.isfinite(values)
        if bad.any():
            values = values.copy()
            values[bad] = np.nan
        return values
    return values if math.isfinite(values) else float("nan")


# -- the functions ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Function:
    """A function an expression may call: its arguments, what it does in words."""

    name: str
    arguments: str
    help: str
    low: int
    high: int
    run: Callable[..., _Value]


def _numbers(value: _Value, what: str) -> Any:
    if value.kind == NOTHING:
        return float("nan")
    if value.kind == FLAG:
        return value.data.astype(np.float64) if isinstance(value.data, np.ndarray) else float(value.data)
    if value.kind != NUMBER:
        raise ExpressionError(f"{what} needs numbers, not {value.kind}"
                              + (" (cast the column as number first)" if value.kind == TEXT else "") + ".")
    return value.data


def _unary_number(fn: Callable[[Any], Any], name: str) -> Callable[..., _Value]:
    def run(n: int, x: _Value) -> _Value:
        with np.errstate(all="ignore"):
            out = _finite(np.asarray(fn(np.asarray(_numbers(x, f"{name}()"), dtype=np.float64)),
                                     dtype=np.float64))
        return _Value(NUMBER, float(out) if x.constant else out, x.constant)
    return run


def _positive(fn: Callable[[Any], Any], strictly: bool) -> Callable[[Any], Any]:
    """``fn`` on numbers; below its domain the result is missing, not an error."""
    def run(values: Any) -> Any:
        values = np.asarray(values, dtype=np.float64)
        bad = values <= 0 if strictly else values < 0
        return np.where(bad, np.nan, fn(np.where(bad, 1.0, values)))
    return run


def _round(n: int, x: _Value, digits: Optional[_Value] = None) -> _Value:
    places = 0
    if digits is not None:
        if not digits.constant or digits.kind != NUMBER or float(digits.data) != int(digits.data) \
                or not 0 <= int(digits.data) <= MAX_DIGITS:
            raise ExpressionError(f"round(x, digits) takes a whole number of digits from 0 to {MAX_DIGITS}.")
        places = int(digits.data)
    return _Value(NUMBER, np.round(_numbers(x, "round()"), places), x.constant)


def _clip(n: int, x: _Value, low: _Value, high: _Value) -> _Value:
    lo, hi = _numbers(low, "clip()"), _numbers(high, "clip()")
    values = np.asarray(_numbers(x, "clip()"), dtype=np.float64)
    with np.errstate(invalid="ignore"):
        out = np.where(values < lo, lo, values) if not _all_nan(lo) else values
        out = np.where(out > hi, hi, out) if not _all_nan(hi) else out
    return _Value(NUMBER, np.asarray(out, dtype=np.float64), x.constant and low.constant and high.constant)


def _all_nan(value: Any) -> bool:
    return bool(np.all(np.isnan(np.asarray(value, dtype=np.float64))))


def _extreme(pick: Callable[[Any, Any], Any], name: str) -> Callable[..., _Value]:
    def run(n: int, *values: _Value) -> _Value:
        out = _numbers(values[0], f"{name}()")
        for v in values[1:]:
            out = pick(out, _numbers(v, f"{name}()"))  # fmin/fmax: a missing value is passed over
        return _Value(NUMBER, out, all(v.constant for v in values))
    return run


def _is_missing(n: int, x: _Value) -> _Value:
    if x.kind == NOTHING:
        return _Value(FLAG, True, True)
    if x.constant:
        return _Value(FLAG, False, True)
    if isinstance(x.data, np.ndarray):
        return _Value(FLAG, np.isnan(x.data) if x.kind == NUMBER else np.zeros(len(x.data), bool))
    return _Value(FLAG, x.data.isna().to_numpy())


def _fill_missing(n: int, x: _Value, value: _Value) -> _Value:
    if x.kind == NOTHING:
        return value
    missing = _is_missing(n, x).data
    return _choose(n, np.logical_not(missing), x, value, "fill_missing()")


def _date_part(part: str) -> Callable[..., _Value]:
    def run(n: int, x: _Value) -> _Value:
        if x.kind == NOTHING:
            return _Value(NUMBER, float("nan"), True)
        if x.kind == TEXT:
            dates = dates_from_text(x.data if isinstance(x.data, pd.Series) else pd.Series([x.data]))
        elif x.kind == DATE:
            dates = x.data if isinstance(x.data, pd.Series) else pd.Series([x.data])
        else:
            raise ExpressionError(f"{part}() needs a date, not {x.kind}.")
        if part == "weekday":
            values = dates.dt.day_of_week + 1  # ISO: Monday 1 … Sunday 7
        else:
            values = getattr(dates.dt, part)
        out = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        return _Value(NUMBER, float(out[0]) if x.constant else out, x.constant)
    return run


def dates_from_text(text: pd.Series) -> pd.Series:
    """Text as dates: one format guessed from the first value (as the app's importer
    reads dates), and each value that does not fit it read on its own; what is no date
    is missing."""
    import warnings

    from pandas.tseries.api import guess_datetime_format

    given = text.dropna()
    first = str(given.iloc[0]) if len(given) else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        fmt = guess_datetime_format(first) if first is not None else None
        try:
            parsed = pd.to_datetime(text, errors="coerce", format=fmt or "mixed")
        except (ValueError, TypeError):
            parsed = pd.to_datetime(text, errors="coerce", format="mixed")
        unread = parsed.isna() & text.notna()
        if fmt and unread.any():
            parsed[unread] = pd.to_datetime(text[unread], errors="coerce", format="mixed")
    if getattr(parsed.dt, "tz", None) is not None:
        parsed = parsed.dt.tz_localize(None)
    return parsed.reset_index(drop=True)


def _text_function(fn: Callable[[pd.Series], pd.Series], name: str) -> Callable[..., _Value]:
    def run(n: int, x: _Value) -> _Value:
        if x.kind == NOTHING:
            return x
        if x.kind != TEXT:
            raise ExpressionError(f"{name}() needs text, not {x.kind}.")
        if x.constant:
            return _Value(TEXT, fn(pd.Series([x.data], dtype=object)).iloc[0], True)
        return _Value(TEXT, fn(x.data.astype(object)))
    return run


def _as_number(n: int, x: _Value) -> _Value:
    if x.kind in (NUMBER, NOTHING):
        return x
    if x.kind == FLAG:
        return _Value(NUMBER, _numbers(x, "number()"), x.constant)
    if x.kind == TEXT:
        series = x.data if isinstance(x.data, pd.Series) else pd.Series([x.data], dtype=object)
        stripped = series.astype(object).map(lambda v: v.strip() if isinstance(v, str) else v)
        out = pd.to_numeric(stripped, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        return _Value(NUMBER, float(out[0]) if x.constant else _finite(out), x.constant)
    raise ExpressionError("number() needs text or numbers, not a date.")


def _functions() -> dict[str, Function]:
    numeric = [
        ("log", "x", "natural logarithm; missing where x ≤ 0", _positive(np.log, True)),
        ("log1p", "x", "log(1 + x), for counts with zeros; missing where x ≤ −1",
         lambda v: np.log1p(np.where(np.asarray(v, dtype=np.float64) <= -1, np.nan, v))),
        ("log2", "x", "logarithm to base 2; missing where x ≤ 0", _positive(np.log2, True)),
        ("log10", "x", "logarithm to base 10; missing where x ≤ 0", _positive(np.log10, True)),
        ("sqrt", "x", "square root; missing where x < 0", _positive(np.sqrt, False)),
        ("exp", "x", "e to the power x", np.exp),
        ("abs", "x", "absolute value", np.abs),
        ("floor", "x", "largest whole number not above x", np.floor),
        ("ceil", "x", "smallest whole number not below x", np.ceil),
    ]
    out = {name: Function(name, args, text, 1, 1, _unary_number(fn, name)) for name, args, text, fn in numeric}
    more = [
        Function("round", "x[, digits]", f"x rounded (to 0–{MAX_DIGITS} decimal places)", 1, 2, _round),
        Function("clip", "x, low, high", "x limited to low … high (missing: no limit)", 3, 3, _clip),
        Function("min", "a, b, …", "the smallest of the values of a row (missing ones passed over)", 2, 10,
                 _extreme(np.fmin, "min")),
        Function("max", "a, b, …", "the largest of the values of a row (missing ones passed over)", 2, 10,
                 _extreme(np.fmax, "max")),
        Function("is_missing", "x", "true where x is missing", 1, 1, _is_missing),
        Function("fill_missing", "x, value", "x, with value where x is missing", 2, 2, _fill_missing),
        Function("number", "x", "text read as a number (missing where it is none)", 1, 1, _as_number),
        Function("lower", "text", "text in lower case", 1, 1, _text_function(lambda s: s.str.lower(), "lower")),
        Function("upper", "text", "text in upper case", 1, 1, _text_function(lambda s: s.str.upper(), "upper")),
        Function("strip", "text", "text without surrounding spaces", 1, 1,
                 _text_function(lambda s: s.str.strip(), "strip")),
    ]
    for part, what in (("year", "the year"), ("quarter", "the quarter (1–4)"), ("month", "the month (1–12)"),
                       ("day", "the day of the month"), ("weekday", "the day of the week (Monday 1 … Sunday 7)"),
                       ("hour", "the hour (0–23)")):
        more.append(Function(part, "date", f"{what} of a date", 1, 1, _date_part(part)))
    out.update({f.name: f for f in more})
    return out


#: the functions a recipe's expressions may call, by name (one owner: this table)
FUNCTIONS: dict[str, Function] = _functions()


# -- parsing ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Expression:
    """A checked expression: its text as written, and the tree that is evaluated."""

    text: str
    tree: ast.Expression
    #: placeholder -> column name, for names written between backticks
    quoted: tuple[tuple[str, str], ...] = ()

    def columns(self) -> list[str]:
        """The columns the expression reads, in order of first appearance."""
        names = dict(self.quoted)
        seen: dict[str, None] = {}
        for node in _walk(self.tree.body):
            if isinstance(node, ast.Name) and node.id != MISSING and node.id not in FUNCTIONS:
                seen.setdefault(names.get(node.id, node.id), None)
        return list(seen)

    def column_name(self, node: ast.Name) -> str:
        """The column a name in the tree stands for (a backtick-quoted name is given back as
        written)."""
        return dict(self.quoted).get(node.id, node.id)


def _walk(node: ast.AST) -> Iterable[ast.AST]:
    """Every node, in order (the tree is checked: its depth is bounded)."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(list(ast.iter_child_nodes(current))))


def parse(text: str) -> Expression:
    """Read and check an expression (see the module's docstring); raises
    :class:`ExpressionError` when it is refused."""
    if not isinstance(text, str):
        raise ExpressionError(f"An expression is text, not {type(text).__name__}.")
    if len(text) > MAX_LENGTH:  # before any other work on it
        raise ExpressionError(f"The expression is {len(text):,} characters long; at most {MAX_LENGTH:,} are allowed.")
    if not text.strip():
        raise ExpressionError("The expression is empty.")
    source, quoted = _placeholders(text)
    tree = check_expression(source, FUNCTIONS, max_length=MAX_LENGTH * 2)
    for node in _walk(tree.body):
        if isinstance(node, ast.Name) and _PLACEHOLDER.match(node.id) and node.id not in quoted:
            raise ExpressionError(f"{node.id} is a name reserved by the app; write `{node.id}` for a column.")
        if isinstance(node, ast.Call):
            f = FUNCTIONS[node.func.id]
            if not f.low <= len(node.args) <= f.high:
                wanted = f"{f.low}" if f.low == f.high else f"{f.low} to {f.high}"
                raise ExpressionError(f"{f.name}({f.arguments}) takes {wanted} argument"
                                      f"{'s' if f.high != 1 else ''}, not {len(node.args)}.")
    return Expression(text.strip(), tree, tuple(quoted.items()))


# -- evaluating --------------------------------------------------------------------------------

def evaluate(expression: Expression | str, frame: pd.DataFrame) -> pd.Series:
    """The expression's value in every row of ``frame``, as a Series on its index:
    float64 for numbers, bool for conditions, text (object) or dates otherwise."""
    expr = parse(expression) if isinstance(expression, str) else expression
    n = len(frame)
    missing = [c for c in expr.columns() if c not in frame.columns]
    if missing:
        known = ", ".join(map(str, list(frame.columns)[:30]))
        raise ExpressionError(f"There is no column {missing[0]!r} (in {expr.text!r}). Columns: {known}.")
    value = _Evaluator(expr, frame).run(expr.tree.body)
    return _series(value, n, frame.index)


def condition(expression: Expression | str, frame: pd.DataFrame) -> np.ndarray:
    """A condition's outcome in every row of ``frame`` (missing counts as false); raises
    :class:`ExpressionError` when the expression is not a condition."""
    expr = parse(expression) if isinstance(expression, str) else expression
    values = evaluate(expr, frame)
    if values.dtype != bool:
        raise ExpressionError(f"{expr.text!r} is not a condition: compare it with something "
                              "(e.g. x > 0, cut == 'Ideal') or test it with is_missing().")
    return values.to_numpy(dtype=bool)


def _series(value: _Value, n: int, index: pd.Index) -> pd.Series:
    if value.kind == NOTHING:
        return pd.Series(np.full(n, np.nan), index=index)
    if value.constant:
        if value.kind == NUMBER:
            return pd.Series(np.full(n, float(value.data)), index=index)
        if value.kind == FLAG:
            return pd.Series(np.full(n, bool(value.data)), index=index)
        if value.kind == DATE:
            return pd.Series(pd.DatetimeIndex([value.data] * n), index=index)
        return pd.Series(np.full(n, value.data, dtype=object), index=index, dtype=object)
    if isinstance(value.data, pd.Series):
        out = value.data.copy()
        out.index = index
        return out
    return pd.Series(value.data, index=index)


class _Evaluator:
    def __init__(self, expr: Expression, frame: pd.DataFrame) -> None:
        self.expr, self.frame, self.n = expr, frame, len(frame)
        self.cache: dict[str, _Value] = {}

    def run(self, node: ast.AST) -> _Value:
        method = getattr(self, f"_{type(node).__name__}", None)
        if method is None:  # the tree was checked; this is a second line of defence
            raise ExpressionError(f"{_describe_node(node)} is not allowed in an expression.")
        return method(node)

    def _Constant(self, node: ast.Constant) -> _Value:
        v = node.value
        if isinstance(v, bool):
            return _Value(FLAG, v, True)
        if isinstance(v, (int, float)):
            return _Value(NUMBER, float(v), True)
        return _Value(TEXT, v, True)

    def _Name(self, node: ast.Name) -> _Value:
        if node.id == MISSING:
            return _Value(NOTHING, float("nan"), True)
        name = self.expr.column_name(node)
        if name not in self.cache:
            self.cache[name] = _from_column(self.frame[name])
        return self.cache[name]

    def _UnaryOp(self, node: ast.UnaryOp) -> _Value:
        x = self.run(node.operand)
        if isinstance(node.op, ast.Not):
            return _Value(FLAG, np.logical_not(self._flag(x, "not")), x.constant)
        values = _numbers(x, f"'{_UNARY[type(node.op)]}'")
        return _Value(NUMBER, -values if isinstance(node.op, ast.USub) else values, x.constant)

    def _BinOp(self, node: ast.BinOp) -> _Value:
        a, b = self.run(node.left), self.run(node.right)
        op = _BINARY[type(node.op)]
        if op == "+" and a.kind == TEXT and b.kind == TEXT:
            return self._join(a, b)
        x, y = _numbers(a, f"'{op}'"), _numbers(b, f"'{op}'")
        with np.errstate(all="ignore"):
            if op == "+":
                out = np.add(x, y)
            elif op == "-":
                out = np.subtract(x, y)
            elif op == "*":
                out = np.multiply(x, y)
            elif op == "/":
                out = np.true_divide(x, y)
            elif op == "//":
                out = np.floor_divide(x, y)
            elif op == "%":
                out = np.mod(x, y)
            else:
                out = np.power(np.asarray(x, dtype=np.float64), float(y))
        constant = a.constant and b.constant
        out = np.asarray(out, dtype=np.float64)
        return _Value(NUMBER, float(_finite(out)) if constant else _finite(out), constant)

    def _join(self, a: _Value, b: _Value) -> _Value:
        if a.constant and b.constant:
            return _Value(TEXT, a.data + b.data, True)
        left = a.data if not a.constant else pd.Series([a.data] * self.n, dtype=object)
        right = b.data if not b.constant else pd.Series([b.data] * self.n, dtype=object)
        return _Value(TEXT, left.astype(object) + right.astype(object))

    def _flag(self, x: _Value, what: str) -> Any:
        if x.kind != FLAG:
            raise ExpressionError(f"'{what}' needs conditions (such as x > 0), not {x.kind}.")
        return x.data

    def _BoolOp(self, node: ast.BoolOp) -> _Value:
        values = [self.run(v) for v in node.values]
        word = _BOOL[type(node.op)]
        combine = np.logical_and if word == "and" else np.logical_or
        out = self._flag(values[0], word)
        for v in values[1:]:
            out = combine(out, self._flag(v, word))
        return _Value(FLAG, out, all(v.constant for v in values))

    def _IfExp(self, node: ast.IfExp) -> _Value:
        test = self.run(node.test)
        chosen = _flags(self._flag(test, "if"), self.n)
        return _choose(self.n, chosen, self.run(node.body), self.run(node.orelse), "'… if … else …'")

    def _Compare(self, node: ast.Compare) -> _Value:
        left = self.run(node.left)
        out: Any = None
        for op, right_node in zip(node.ops, node.comparators):
            if isinstance(op, (ast.In, ast.NotIn)):
                result = self._member(left, [literal(e) for e in right_node.elts])
                if isinstance(op, ast.NotIn):
                    result = np.logical_not(result)
                right = left
            else:
                right = self.run(right_node)
                result = self._compare(left, _COMPARE[type(op)], right)
            out = result if out is None else np.logical_and(out, result)
            left = right
        return _Value(FLAG, out)

    def _member(self, x: _Value, values: list[Any]) -> np.ndarray:
        if x.kind == NOTHING:
            return np.zeros(self.n, bool)
        if x.kind in (NUMBER, FLAG):
            numbers = [float(v) for v in values if isinstance(v, (int, float))]
            if len(numbers) != len(values):
                raise ExpressionError("Compare numbers with numbers after 'in': x in (1, 2), not x in ('1', '2').")
            return _flags(np.isin(_numbers(x, "in"), numbers), self.n)
        if x.kind == DATE:
            dates = [_as_date(v) for v in values]
            series = x.data if isinstance(x.data, pd.Series) else pd.Series([x.data] * self.n)
            return _flags(series.isin(dates), self.n)
        texts = [v for v in values if isinstance(v, str)]
        if len(texts) != len(values):
            raise ExpressionError("Compare text with text after 'in': cut in ('Good', 'Ideal').")
        series = x.data if isinstance(x.data, pd.Series) else pd.Series([x.data] * self.n, dtype=object)
        return _flags(series.isin(texts), self.n)

    def _compare(self, a: _Value, op: str, b: _Value) -> np.ndarray:
        if NOTHING in (a.kind, b.kind):
            raise ExpressionError("A comparison with missing is never true; test for it with is_missing(x).")
        kinds = {a.kind, b.kind}
        if kinds <= {NUMBER, FLAG}:
            x, y = _numbers(a, op), _numbers(b, op)
        elif kinds == {TEXT}:
            x, y = a.data, b.data
        elif DATE in kinds and kinds <= {DATE, TEXT} and (a.kind == DATE or a.constant) \
                and (b.kind == DATE or b.constant):
            x = a.data if a.kind == DATE else _as_date(a.data, b.data)
            y = b.data if b.kind == DATE else _as_date(b.data, a.data)
        else:
            raise ExpressionError(f"Cannot compare {a.kind} with {b.kind} ('{op}'): "
                                  + ("write numbers without quotes, and text within quotes."
                                     if kinds == {NUMBER, TEXT} else "compare like with like."))
        with np.errstate(invalid="ignore"):
            if op == "==":
                result = x == y
            elif op == "!=":
                result = x != y
                # a missing value is not known to differ: the comparison is false
                result = _flags(result, self.n) & ~_missing_mask(a, self.n) & ~_missing_mask(b, self.n)
            elif op == "<":
                result = x < y
            elif op == "<=":
                result = x <= y
            elif op == ">":
                result = x > y
            else:
                result = x >= y
        return _flags(result, self.n)

    def _Call(self, node: ast.Call) -> _Value:
        f = FUNCTIONS[node.func.id]
        return f.run(self.n, *[self.run(a) for a in node.args])


def _missing_mask(x: _Value, n: int) -> np.ndarray:
    if x.constant:
        return np.zeros(n, bool)
    if isinstance(x.data, np.ndarray):
        return np.isnan(x.data) if x.kind == NUMBER else np.zeros(n, bool)
    return x.data.isna().to_numpy()


def _as_date(value: Any, other: Any = None) -> Any:
    """A date written as text (a constant compared with a date column)."""
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError):
        raise ExpressionError(f"{value!r} is not a date (write dates as '2013-06-01').") from None
    if stamp is pd.NaT:
        raise ExpressionError(f"{value!r} is not a date (write dates as '2013-06-01').")
    tz = getattr(getattr(other, "dt", None), "tz", None)
    if tz is not None and stamp.tzinfo is None:
        stamp = stamp.tz_localize(tz)
    return stamp


def _choose(n: int, chosen: np.ndarray, a: _Value, b: _Value, what: str) -> _Value:
    """``a`` where ``chosen``, else ``b``; both of one kind (or missing)."""
    kinds = {a.kind, b.kind} - {NOTHING}
    if len(kinds) > 1:
        if kinds <= {NUMBER, FLAG}:
            kinds = {NUMBER}
        else:
            raise ExpressionError(f"{what} gives {a.kind} on one side and {b.kind} on the other; "
                                  "both sides must be of one kind.")
    kind = kinds.pop() if kinds else NOTHING
    if kind in (NUMBER, NOTHING):
        out = np.where(chosen, _numbers(a, what), _numbers(b, what))
        return _Value(NUMBER, np.asarray(out, dtype=np.float64))
    if kind == FLAG:
        return _Value(FLAG, np.where(chosen, _flags(a.data, n), _flags(b.data, n)))

    def series(v: _Value) -> pd.Series:
        if v.kind == NOTHING:
            return pd.Series([None] * n, dtype=object if kind == TEXT else "datetime64[ns]")
        if v.constant:
            return pd.Series([v.data] * n, dtype=object) if kind == TEXT else pd.Series(pd.DatetimeIndex([v.data] * n))
        return v.data.reset_index(drop=True)

    left, right = series(a), series(b)
    if kind == TEXT:
        left, right = left.astype(object), right.astype(object)
    return _Value(kind, left.where(pd.Series(chosen), right))
