"""What a formula may hold, decided before formulaic sees it.

formulaic evaluates the Python inside a formula (a ``{…}`` block, any function call)
with ``eval``, and pastes the text of its stateful calls into code it generates. A
formula comes from the analyst but also from files a colleague sends (a backup's run
specs, a model in a workspace, an exported package), so nothing in it may run code.

:func:`check_formula` is a whitelist. formulaic's tokenizer (which only splits text,
it evaluates nothing) cuts the formula into operators, names, values and Python
pieces; each Python piece is read with :mod:`ast` (never evaluated) and may hold only

- column names: plain names, backticked names and ``Q('name')``, which must be columns
  of the data when the data is known;
- numbers, and the arithmetic ``+ - * /`` and ``**`` to a small whole power;
- calls of the functions in :data:`SIGNATURES`, each with the arguments it names
  (a column expression, a whole number, a flag, a list of numbers);
- text only where a category level is named: ``C(x, contr.treatment('level'))``,
  ``C(x, Treatment('level'))``, ``C(x, levels=['a', 'b'])``, and never a quote, a
  backslash or a ``#`` inside it.

Anything else (attributes, subscripts, names starting with ``__``, lambdas,
comprehensions, other calls, ``**`` arguments, formulaic's ``|``, ``[…]`` and ``.``)
is refused with :class:`UnsafeFormulaError`, naming the piece. Length and nesting are
bounded. Imports only the standard library; formulaic's tokenizer on use.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from typing import Optional

#: the longest formula read, in characters
MAX_LENGTH = 2000
#: the deepest nesting of brackets and calls
MAX_DEPTH = 12
#: the largest power ``x ** k`` may raise to
MAX_POWER = 10

# argument kinds: "column" (a column expression), "int", "number", "flag",
# "numbers" (a list of numbers), "levels" (a list of category levels),
# "contrast" (contr.treatment('level') or Treatment('level')), "level", "name" (Q's text)
#: each function a formula may call: its positional arguments (the first ones required
#: as said by ``required``) and its keyword arguments, each with its kind
SIGNATURES: dict[str, tuple[int, tuple[str, ...], dict[str, str]]] = {
    "log": (1, ("column",), {}),
    "log1p": (1, ("column",), {}),
    "log2": (1, ("column",), {}),
    "log10": (1, ("column",), {}),
    "exp": (1, ("column",), {}),
    "sqrt": (1, ("column",), {}),
    "boxcox": (1, ("column",), {}),
    "yeojohnson": (1, ("column",), {}),
    "center": (1, ("column",), {}),
    "scale": (1, ("column",), {"center": "flag", "scale": "flag"}),
    "I": (1, ("column",), {}),
    "Q": (1, ("name",), {}),
    "poly": (1, ("column", "int"), {"degree": "int", "raw": "flag"}),
    "ns": (1, ("column", "int"), {"df": "int"}),
    "bs": (1, ("column", "int"), {"df": "int", "degree": "int", "knots": "numbers",
                                  "include_intercept": "flag", "lower_bound": "number",
                                  "upper_bound": "number"}),
    "C": (1, ("column", "contrast"), {"contrasts": "contrast", "levels": "levels"}),
}
#: functions that give one number per row, so may sit inside another call or arithmetic
NUMERIC = {"log", "log1p", "log2", "log10", "exp", "sqrt", "boxcox", "yeojohnson",
           "center", "scale", "I", "Q"}
#: ``np.<name>`` a formula may call, read as ``<name>``
NUMPY = {"log", "log1p", "log2", "log10", "exp", "sqrt"}
#: formula operators (formulaic's tokens of kind "operator" and brackets)
OPERATORS = set("~+-*:/^()")

_BACKTICKED = re.compile(r"`[^`]*`")
_ARITHMETIC = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow)
_UNSAFE_TEXT = re.compile(r"['\"\\#`{}\x00-\x1f\x7f]")


class FormulaError(ValueError):
    """The formula cannot be used; the message says why, in the analyst's words."""


class UnsafeFormulaError(FormulaError):
    """The formula holds something other than columns, numbers, arithmetic and the
    functions a formula may call: it is refused before anything evaluates it."""


def check_formula(text: str, columns: Optional[Iterable[str]] = None) -> None:
    """Raise :class:`UnsafeFormulaError` unless every piece of ``text`` is on the
    whitelist (see the module's docstring). With ``columns``, every name the formula
    reads must be one of them. Evaluates nothing."""
    from formulaic.parser.algos.tokenize import tokenize

    if not isinstance(text, str):
        raise UnsafeFormulaError(f"A formula is text, not a {type(text).__name__}.")
    if len(text) > MAX_LENGTH:
        raise UnsafeFormulaError(f"The formula is {len(text):,} characters long; at most {MAX_LENGTH:,} are read.")
    if re.search(r"[\x00-\x08\x0b-\x1f\x7f]", text):
        raise UnsafeFormulaError("The formula holds control characters.")
    if _nesting(text) > MAX_DEPTH:
        raise UnsafeFormulaError(f"The formula nests brackets more than {MAX_DEPTH} deep.")
    known = None if columns is None else {str(c) for c in columns}
    try:
        tokens = list(tokenize(text))
    except Exception as exc:  # formulaic's tokenizer raises its own errors for unclosed quotes
        raise FormulaError(f"The formula cannot be read: {_first_line(exc)}") from None
    for token in tokens:
        kind, piece = token.kind.value, str(token.token)
        if kind in ("operator", "context"):
            if not set(piece) <= OPERATORS:
                raise UnsafeFormulaError(f"The formula uses {piece!r}, which this app does not read; "
                                         "use + - * : / ** ( ) and ~.")
        elif kind == "name":
            _check_column(piece, known, piece)
        elif kind == "value":
            if not re.fullmatch(r"\d+(\.\d*)?([eE][+-]?\d+)?", piece):
                raise UnsafeFormulaError(f"The formula holds the value {piece!r}; only numbers stand alone "
                                         "(text names a category level inside C(…)).")
        elif kind == "python":
            check_expression(piece, known)
        else:
            raise UnsafeFormulaError(f"The formula holds {piece!r}, which this app does not read.")
    if text.count("~") > 1:
        raise UnsafeFormulaError("A formula has one tilde: the target on its left, the terms on its right.")


def check_expression(expr: str, columns: Optional[Iterable[str]] = None) -> None:
    """Raise :class:`UnsafeFormulaError` unless the Python piece ``expr`` of a formula
    (``poly(experience, 2)``, ``I(x ** 2)``) is on the whitelist. Evaluates nothing."""
    known = None if columns is None else {str(c) for c in columns}
    tree, masks = read_expression(expr)
    _Checker(expr, known, masks).top(tree.body)


def read_expression(expr: str) -> tuple[ast.Expression, dict[str, str]]:
    """The syntax tree of a formula's Python piece (read by :mod:`ast`, not evaluated),
    its backticked column names replaced by placeholders; and placeholder -> name."""
    masks = {m: f"__column{i}__" for i, m in enumerate(dict.fromkeys(_BACKTICKED.findall(expr)))}
    masked = expr
    for quoted, placeholder in masks.items():
        masked = masked.replace(quoted, placeholder)
    try:
        tree = ast.parse(masked, mode="eval")
    except (SyntaxError, ValueError):
        raise UnsafeFormulaError(f"The term {expr!r} cannot be read.") from None
    return tree, {p: q[1:-1] for q, p in masks.items()}


def _nesting(text: str) -> int:
    """The deepest nesting of brackets in ``text`` (quotes not told apart: a bound, not a parse)."""
    depth = deepest = 0
    for char in text:
        if char in "([{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in ")]}":
            depth -= 1
    return deepest


def _check_column(name: str, known: Optional[set[str]], expr: str) -> None:
    if name.startswith("__") or _UNSAFE_TEXT.search(name):
        raise UnsafeFormulaError(f"In {expr!r}, the name {name!r} cannot be a column in a formula "
                                 "(no leading '__', quotes, backslashes, '#', braces or backticks).")
    if known is not None and name not in known:
        raise UnsafeFormulaError(f"The formula reads {name!r}, which is not a column of the data.")


def _first_line(exc: Exception) -> str:
    text = re.sub(r"\x1b\[[0-9;]*m|[⧛⧚]", "", str(exc))  # formulaic marks the place in colour
    return " ".join(text.strip().splitlines()[:1]) or type(exc).__name__


class _Checker:
    """Walks one Python piece's syntax tree, allowing only what the whitelist says."""

    def __init__(self, expr: str, known: Optional[set[str]], masks: dict[str, str]) -> None:
        self.expr, self.known, self.masks = expr, known, masks

    def refuse(self, what: str, *, list_functions: bool = False) -> UnsafeFormulaError:
        known = "; a formula calls only " + ", ".join(SIGNATURES) if list_functions else ""
        return UnsafeFormulaError(f"The term {self.expr!r} {what}{known}.")

    def top(self, node: ast.AST) -> None:
        if isinstance(node, ast.Call):
            self.call(node, 1)
        else:
            self.column(node, 1)

    def call(self, node: ast.Call, depth: int) -> str:
        if depth > MAX_DEPTH:
            raise self.refuse(f"nests calls more than {MAX_DEPTH} deep")
        name = self.function(node.func)
        required, positional, keywords = SIGNATURES[name]
        if len(node.args) < required or len(node.args) > len(positional):
            raise self.refuse(f"gives {name}(…) {len(node.args)} argument(s) in order; "
                              f"it takes {required} to {len(positional)}")
        for arg, kind in zip(node.args, positional):
            self.argument(arg, kind, name, depth)
        for keyword in node.keywords:
            if keyword.arg is None or keyword.arg not in keywords:
                raise self.refuse(f"passes {name}(…) the argument {keyword.arg or '**'!r}, which it does not take")
            self.argument(keyword.value, keywords[keyword.arg], name, depth)
        return name

    def function(self, func: ast.AST) -> str:
        if isinstance(func, ast.Name) and func.id in SIGNATURES:
            return func.id
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) \
                and func.value.id == "np" and func.attr in NUMPY:
            return func.attr
        raise self.refuse(f"calls {_shown(func)!r}, which a formula cannot use", list_functions=True)

    def argument(self, node: ast.AST, kind: str, function: str, depth: int) -> None:
        if kind == "column":
            self.column(node, depth + 1)
        elif kind == "int":
            if not (isinstance(node, ast.Constant) and type(node.value) is int and 0 <= node.value <= 100):
                raise self.refuse(f"gives {function}(…) {_shown(node)!r} where a whole number from 0 to 100 goes")
        elif kind == "number":
            self.number(node)
        elif kind == "flag":
            if not (isinstance(node, ast.Constant) and isinstance(node.value, bool)):
                raise self.refuse(f"gives {function}(…) {_shown(node)!r} where True or False goes")
        elif kind == "numbers":
            if not isinstance(node, (ast.List, ast.Tuple)) or len(node.elts) > 1000:
                raise self.refuse(f"gives {function}(…) {_shown(node)!r} where a list of numbers goes")
            for item in node.elts:
                self.number(item)
        elif kind == "levels":
            if not isinstance(node, (ast.List, ast.Tuple)) or len(node.elts) > 10000:
                raise self.refuse(f"gives {function}(…) {_shown(node)!r} where a list of category levels goes")
            for item in node.elts:
                self.level(item)
        elif kind == "contrast":
            self.contrast(node)
        elif kind == "name":
            if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
                raise self.refuse("gives Q(…) something other than a column's name in quotes")
            _check_column(node.value, self.known, self.expr)

    def column(self, node: ast.AST, depth: int) -> None:
        """A numeric expression over columns: names, numbers, arithmetic, numeric calls."""
        if depth > MAX_DEPTH:
            raise self.refuse(f"nests more than {MAX_DEPTH} deep")
        if isinstance(node, ast.Name):
            _check_column(self.masks.get(node.id, node.id), self.known, self.expr)
        elif isinstance(node, ast.Constant):
            self.number(node)
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            self.column(node.operand, depth + 1)
        elif isinstance(node, ast.BinOp) and isinstance(node.op, _ARITHMETIC):
            if isinstance(node.op, ast.Pow):
                power = node.right
                if not (isinstance(power, ast.Constant) and type(power.value) in (int, float)
                        and abs(power.value) <= MAX_POWER):
                    raise self.refuse(f"raises to {_shown(power)!r}; the power is a number from "
                                      f"-{MAX_POWER} to {MAX_POWER}")
                if isinstance(node.left, (ast.Constant, ast.BinOp, ast.UnaryOp)) and \
                        not any(isinstance(n, (ast.Name, ast.Call)) for n in ast.walk(node.left)):
                    raise self.refuse("raises a number, not a column, to a power")
            self.column(node.left, depth + 1)
            self.column(node.right, depth + 1)
        elif isinstance(node, ast.Call):
            name = self.call(node, depth + 1)
            if name not in NUMERIC and depth > 1:
                raise self.refuse(f"puts {name}(…) inside another expression; write it as a term of its own")
        else:
            raise self.refuse(f"holds {_shown(node)!r} ({type(node).__name__}), which is not a column, "
                              "a number, arithmetic or a function a formula may call")

    def number(self, node: ast.AST) -> None:
        value = node.operand if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) else node
        if not (isinstance(value, ast.Constant) and type(value.value) in (int, float)):
            raise self.refuse(f"holds {_shown(node)!r} where a number goes")

    def level(self, node: ast.AST) -> None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if _UNSAFE_TEXT.search(node.value) or len(node.value) > 200:
                raise self.refuse(f"names the level {node.value!r}: a level named in a formula holds no quotes, "
                                  "backslashes, '#', braces or backticks, and at most 200 characters")
            return
        if isinstance(node, ast.Constant) and type(node.value) in (int, float, bool):
            return
        self.number(node)

    def contrast(self, node: ast.AST) -> None:
        func = node.func if isinstance(node, ast.Call) else None
        if not ((isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)
                 and func.value.id == "contr" and func.attr == "treatment")
                or (isinstance(func, ast.Name) and func.id == "Treatment")):
            raise self.refuse(f"gives C(…) {_shown(node)!r}; its reference level is written "
                              "contr.treatment('level') or Treatment('level')")
        assert isinstance(node, ast.Call)
        if any(k.arg != "base" for k in node.keywords) or len(node.args) + len(node.keywords) > 1:
            raise self.refuse("gives the reference level as one value, e.g. contr.treatment('level')")
        for value in [*node.args, *(k.value for k in node.keywords)]:
            self.level(value)


def _shown(node: ast.AST) -> str:
    try:
        text = ast.unparse(node)
    except Exception:  # an unusual node: its type says enough
        text = type(node).__name__
    return text if len(text) <= 80 else text[:77] + "…"
