"""Model terms: a formula in Wilkinson–Rogers notation, as R and statsmodels users write
it (``log(wage) ~ education + poly(experience, 2) + C(ethnicity, contr.treatment('other'))
+ education:parttime``), read and turned into a design matrix by formulaic.

One rule for the app's training and Check, and for an exported package's scoring:

- :func:`parse` reads a formula and checks that every expression in it is one this app
  knows (see :data:`FUNCTIONS`). formulaic evaluates the expressions of a formula as
  Python; a formula therefore never reaches it unchecked, whether typed by an analyst
  or read from a model file.
- :func:`design` builds the design matrix of the right-hand side. Fitted on the
  training rows (``state=None``), it returns the state of every stateful term
  (polynomial coefficients, spline knots, Box–Cox and Yeo–Johnson parameters, category
  levels) as plain numbers, strings, lists and dicts; given that state, it builds the
  same columns for new rows.
- :func:`forward`, :func:`inverse` and :func:`fit_parameter`: the transformations a
  target may have (``log``, ``log1p``, ``sqrt``, ``boxcox``, ``yeojohnson``).

Imports numpy, scipy and pandas; formulaic on first use.
"""

from __future__ import annotations

import ast
import copy
import warnings
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from .formula_guard import FormulaError, UnsafeFormulaError, _first_line, check_formula, read_expression

__all__ = ["FUNCTIONS", "TARGET_TRANSFORMS", "Formula", "FormulaError", "UnsafeFormulaError",
           "parse", "design", "forward", "inverse", "fit_parameter", "quoted", "written", "plain"]

#: functions a formula may call, and what each does (for the analyst); what each may be
#: given is :data:`mlops_model_support.formula_guard.SIGNATURES`
FUNCTIONS = {
    "log": "natural logarithm",
    "log1p": "log(1 + x), for counts with zeros",
    "log2": "logarithm base 2",
    "log10": "logarithm base 10",
    "exp": "exponential",
    "sqrt": "square root",
    "boxcox": "Box–Cox transformation, its λ fitted on the training rows (positive values)",
    "yeojohnson": "Yeo–Johnson transformation, its λ fitted on the training rows",
    "poly": "orthogonal polynomial, e.g. poly(x, 2); raw=True for x, x², …",
    "ns": "natural cubic spline with df degrees of freedom, e.g. ns(x, df=3)",
    "bs": "B-spline, e.g. bs(x, df=4)",
    "center": "x minus its training mean",
    "scale": "x standardised with its training mean and standard deviation",
    "C": "a categorical column, e.g. C(x, contr.treatment('level')) for its reference level",
    "I": "arithmetic as written, e.g. I(x ** 2)",
    "Q": "a column by its name in quotes, e.g. Q('hourly wage')",
}
#: transformations of the target (the left-hand side)
TARGET_TRANSFORMS = ("log", "log1p", "sqrt", "boxcox", "yeojohnson")
INTERCEPT = "Intercept"


@dataclass(frozen=True)
class Formula:
    """A checked formula: its target and the transformation of it, and the right-hand
    side as formulaic writes it."""

    text: str
    target: Optional[str]
    target_transform: Optional[str]
    rhs: str
    #: the data columns the right-hand side reads, in the order they first appear
    variables: tuple[str, ...]
    #: the terms of the right-hand side (the intercept not included), as formulaic orders
    #: them, each written so that it reads back (names with spaces in backticks)
    terms: tuple[str, ...]

    def lhs(self) -> str:
        """The left side as written: the target, or its transformation."""
        name = quoted(self.target or "")
        return f"{self.target_transform}({name})" if self.target_transform else name


def parse(text: str, *, need_target: bool = True, columns: Optional[Any] = None) -> Formula:
    """``text`` read and checked: ``target ~ terms`` (or ``~ terms`` when
    ``need_target`` is False). With ``columns`` (the data's), every name it reads must
    be one of them. The whole text passes :func:`~.formula_guard.check_formula` before
    formulaic reads it. Raises :class:`FormulaError` (:class:`UnsafeFormulaError` for
    what a formula may not hold)."""
    from formulaic import Formula as Parsed
    from formulaic.errors import FormulaicError

    text = " ".join(str(text or "").split())
    if need_target and "~" not in text:
        raise FormulaError("A formula names the target, a tilde and the terms, e.g. "
                           "log(wage) ~ education + poly(experience, 2).")
    check_formula(text, columns)  # before formulaic sees any of it
    try:
        parsed = Parsed(text)
    except (FormulaicError, SyntaxError, ValueError) as exc:
        raise FormulaError(f"The formula cannot be read: {_first_line(exc)}") from None
    if "~" in text.lstrip()[1:] and not hasattr(parsed, "rhs"):
        raise FormulaError("A formula has one tilde: the target on its left, the terms on its right.")
    lhs = list(parsed.lhs) if hasattr(parsed, "lhs") else []
    target, transform = _target(lhs) if lhs else (None, None)
    if need_target and target is None:
        raise FormulaError("Name the target on the left of the tilde, e.g. wage ~ education.")
    rhs = parsed.rhs if hasattr(parsed, "rhs") else parsed
    if "1" not in [str(t) for t in rhs]:
        raise FormulaError("The models always have an intercept; remove '- 1' or '+ 0' from the formula.")
    terms = [":".join(quoted(f.expr) if f.eval_method.value == "lookup" else f.expr for f in t.factors)
             for t in rhs if str(t) != "1"]
    if not terms:
        raise FormulaError("The formula has no terms on the right of the tilde.")
    variables: list[str] = []
    for term in rhs:
        for factor in term.factors:
            if factor.eval_method.value == "python":
                for name in _expression_variables(factor.expr):
                    _add(variables, name)
            elif factor.eval_method.value == "lookup":
                _add(variables, factor.expr)
    if target is not None and target in variables:
        raise FormulaError(f"The target {target!r} cannot also appear among the terms.")
    # the right side as written (formulaic's rendering drops the backticks of names with spaces)
    written_rhs = text.split("~", 1)[1].strip() if "~" in text else text
    return Formula(text=text, target=target, target_transform=transform, rhs=written_rhs,
                   variables=tuple(variables), terms=tuple(terms))


def quoted(name: str) -> str:
    """A column's name as a formula writes it: in backticks unless it is a plain name."""
    import keyword

    return name if name.isidentifier() and not keyword.iskeyword(name) else f"`{name}`"


def written(lhs: str, terms: list[str]) -> str:
    """A formula from its left side and its terms."""
    return f"{lhs} ~ {' + '.join(terms)}"


def _add(items: list[str], name: str) -> None:
    if name not in items:
        items.append(name)


def _target(lhs: list[Any]) -> tuple[str, Optional[str]]:
    if len(lhs) != 1 or len(lhs[0].factors) != 1:
        raise FormulaError("The left of the tilde is one column, or one of "
                           + ", ".join(f"{t}(column)" for t in TARGET_TRANSFORMS) + ".")
    factor = lhs[0].factors[0]
    if factor.eval_method.value == "lookup":
        return factor.expr, None
    tree, masks = read_expression(factor.expr)
    call = tree.body
    if isinstance(call, ast.Call) and len(call.args) == 1 and not call.keywords \
            and isinstance(call.args[0], ast.Name):
        func = call.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        if name in TARGET_TRANSFORMS:
            return masks.get(call.args[0].id, call.args[0].id), name
    raise FormulaError(f"The target {factor.expr!r} cannot be used: write the target column alone, "
                       "or one of " + ", ".join(f"{t}(column)" for t in TARGET_TRANSFORMS) + ".")


def _expression_variables(expr: str) -> list[str]:
    """The data columns a Python expression reads (functions, ``np``/``contr`` and
    ``Q('name')`` read as the column it names)."""
    out: list[str] = []
    tree, masks = read_expression(expr)
    called = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    namespaces = {id(a.value) for a in ast.walk(tree) if isinstance(a, ast.Attribute)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and id(node) not in called and id(node) not in namespaces:
            _add(out, masks.get(node.id, node.id))
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Q" and node.args \
                and isinstance(node.args[0], ast.Constant):
            _add(out, str(node.args[0].value))
    return out


# -- stateful transformations of our own --------------------------------------------------------

def _transforms() -> dict[str, Any]:
    """The functions a formula calls that formulaic does not name so: Box–Cox and
    Yeo–Johnson with λ fitted on the training rows, R's natural spline ``ns``, and
    log1p and sqrt."""
    from formulaic.transforms import natural_cubic_spline
    from formulaic.utils.stateful_transforms import stateful_transform

    @stateful_transform
    def boxcox(x: Any, _state: dict = {}) -> np.ndarray:  # noqa: B006 (formulaic replaces it)
        values = np.asarray(x, dtype=np.float64)
        if "lambda" not in _state:
            _state["lambda"] = fit_parameter("boxcox", values)
        return forward("boxcox", values, _state["lambda"])

    @stateful_transform
    def yeojohnson(x: Any, _state: dict = {}) -> np.ndarray:  # noqa: B006
        values = np.asarray(x, dtype=np.float64)
        if "lambda" not in _state:
            _state["lambda"] = fit_parameter("yeojohnson", values)
        return forward("yeojohnson", values, _state["lambda"])

    @stateful_transform
    def ns(x: Any, df: int = 3, _state: dict = {}) -> Any:  # noqa: B006
        # R's ns(x, df): df columns, df - 1 inner knots at quantiles; here mgcv's natural
        # cubic regression spline with the same knots, centred so it leaves the intercept alone
        if isinstance(_state.get("constraints"), list):  # as stored: plain lists
            _state["constraints"] = np.asarray(_state["constraints"], dtype=np.float64)
        if not isinstance(df, int) or isinstance(df, bool) or df < 1:
            raise FormulaError("ns(x, df=k) needs a whole number of degrees of freedom, 1 or more.")
        return natural_cubic_spline(x, df=df, constraints="center", _state=_state)

    return {"boxcox": boxcox, "yeojohnson": yeojohnson, "ns": ns, "log1p": np.log1p, "sqrt": np.sqrt}


# -- the design matrix ----------------------------------------------------------------------------

@dataclass
class Design:
    """A design matrix (without the intercept column) and how it was built."""

    matrix: np.ndarray
    columns: list[str]
    #: the term each column belongs to
    column_terms: list[str]
    #: the data columns each column is built from (one for ``log(x)``, ``poly(x, 2)[1]``,
    #: ``C(x)[T.level]``; several for an interaction ``a:b`` or ``I(a * b)``), as
    #: formulaic's fitted model spec records each term's variables, in the order the
    #: formula first reads them
    column_sources: list[tuple[str, ...]]
    #: plain data that rebuilds the same columns for new rows (see :func:`design`)
    state: dict[str, Any]


def design(rhs: str, data: Any, state: Optional[dict[str, Any]] = None) -> Design:
    """The design matrix of ``rhs`` (a checked right-hand side, see :func:`parse`) for the
    table ``data``, its intercept column left out. Without ``state`` the stateful terms
    are fitted on these rows; with it (a previous design's ``state``) they are applied as
    fitted, and the columns are the same. Missing values give missing cells. Raises
    :class:`FormulaError` for what the data cannot do (an unknown column, log of a
    negative number when fitting)."""
    from formulaic import ModelSpec
    from formulaic.errors import FormulaicError
    from formulaic.parser.types import Factor

    # also from a model file or an exported package: nothing unchecked is evaluated, and
    # the formula reads only the columns of ``data``
    checked = parse(rhs, need_target=False, columns=list(getattr(data, "columns", [])))
    fitting = state is None
    spec = ModelSpec(formula=rhs, materializer="pandas", na_action="ignore", output="pandas")
    if not fitting:
        spec = spec.update(
            transform_state=copy.deepcopy(state["transforms"]),
            encoder_state={expr: (Factor.Kind(kind), {} if levels is None else {"categories": list(levels)})
                           for expr, (kind, levels) in state["encoders"].items()})
    with warnings.catch_warnings():
        # an unseen category is encoded as the reference level (all its columns 0), as said
        warnings.simplefilter("ignore")
        try:
            with np.errstate(all="ignore"):
                matrix = spec.get_model_matrix(data, context=_transforms())
        except FormulaError:
            raise
        except (FormulaicError, NameError, ValueError, TypeError, KeyError) as exc:
            raise FormulaError(f"The formula's terms cannot be built from the data: {_first_line(exc)}") from None
    built = matrix.model_spec
    names = [str(c) for c in matrix.columns]
    keep = [i for i, c in enumerate(names) if c != INTERCEPT]
    owner = {column: str(term) for term, indices in built.term_indices.items()
             for column in (names[i] for i in indices)}
    order = {name: i for i, name in enumerate(checked.variables)}
    # a term's variables also name the functions it calls (source "transforms" or "context")
    reads = {str(term): tuple(sorted({str(v) for v in variables if getattr(v, "source", None) == "data"},
                                     key=lambda v: order.get(v, len(order))))
             for term, variables in built.term_variables.items()}
    values = np.asarray(matrix.to_numpy(dtype=np.float64, na_value=np.nan))[:, keep]
    columns = [names[i] for i in keep]
    fitted = {"transforms": plain(built.transform_state),
              "encoders": {expr: [kind.value, plain(enc.get("categories"))]
                           for expr, (kind, enc) in built.encoder_state.items()},
              "columns": columns,
              "references": _references(built.encoder_state)}
    if not fitting and columns != list(state["columns"]):
        raise FormulaError("The formula's terms give other columns for these rows than for the "
                           "training rows.")
    return Design(matrix=values, columns=columns, column_terms=[owner[c] for c in columns],
                  column_sources=[reads[owner[c]] for c in columns], state=fitted if fitting else state)


def _references(encoders: dict[str, Any]) -> dict[str, str]:
    """Each categorical term's reference level: the level its treatment contrasts leave out."""
    from formulaic.utils.sentinels import UNSET

    out = {}
    for expr, (kind, enc) in encoders.items():
        contrasts = enc.get("contrasts")
        levels = enc.get("categories")
        if kind.value != "categorical" or not levels:
            continue
        base = getattr(getattr(contrasts, "contrasts", None), "base", UNSET)
        out[expr] = str(levels[0] if base is UNSET else base)
    return out


def plain(value: Any) -> Any:
    """``value`` as builtins only (numpy numbers and arrays as floats and lists), so a
    model file holds nothing but numbers, text, lists and dicts."""
    if isinstance(value, dict):
        return {(k.item() if isinstance(k, np.generic) else k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return plain(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise FormulaError(f"A term's fitted state holds a {type(value).__name__}, which a model "
                       "file cannot carry.")


# -- transformations of the target --------------------------------------------------------------

def fit_parameter(name: str, values: np.ndarray) -> Optional[float]:
    """λ of a Box–Cox or Yeo–Johnson transformation, by maximum likelihood on the finite
    ``values`` (scipy); None for the transformations without a parameter."""
    from scipy import stats

    if name not in ("boxcox", "yeojohnson"):
        return None
    finite = values[np.isfinite(values)]
    if len(finite) < 2 or np.ptp(finite) == 0:
        raise FormulaError(f"{name} needs at least two different values to fit its λ.")
    if name == "boxcox":
        if np.any(finite <= 0):
            raise FormulaError(f"Box–Cox needs positive values; the smallest is {finite.min():g}. "
                               "Use yeojohnson(…) for values that can be 0 or negative.")
        return float(stats.boxcox_normmax(finite, method="mle"))
    return float(stats.yeojohnson_normmax(finite))


def forward(name: Optional[str], values: np.ndarray, parameter: Optional[float] = None) -> np.ndarray:
    """``values`` transformed (missing where the transformation is undefined)."""
    from scipy import special, stats

    y = np.asarray(values, dtype=np.float64)
    with np.errstate(all="ignore"):
        if name is None:
            return y
        if name == "log":
            return np.where(y > 0, np.log(np.where(y > 0, y, 1.0)), np.nan)
        if name == "log1p":
            return np.where(y > -1, np.log1p(np.where(y > -1, y, 0.0)), np.nan)
        if name == "sqrt":
            return np.where(y >= 0, np.sqrt(np.where(y >= 0, y, 0.0)), np.nan)
        if name == "boxcox":
            return np.where(y > 0, special.boxcox(np.where(y > 0, y, 1.0), parameter), np.nan)
        if name == "yeojohnson":
            out = np.full(y.shape, np.nan)
            ok = np.isfinite(y)
            out[ok] = stats.yeojohnson(y[ok], lmbda=parameter)
            return out
    raise FormulaError(f"Unknown transformation {name!r}.")


def inverse(name: Optional[str], values: np.ndarray, parameter: Optional[float] = None) -> np.ndarray:
    """The original value of each transformed value (the inverse of :func:`forward`);
    values outside the transformation's range go to its edge."""
    z = np.asarray(values, dtype=np.float64)
    with np.errstate(all="ignore"):
        if name is None:
            return z
        if name == "log":
            return np.exp(z)
        if name == "log1p":
            return np.expm1(z)
        if name == "sqrt":
            return np.square(np.maximum(z, 0.0))
        lam = float(parameter)
        if name == "boxcox":
            if lam == 0:
                return np.exp(z)
            return np.power(np.maximum(lam * z + 1.0, 0.0), 1.0 / lam)
        if name == "yeojohnson":
            out = np.empty_like(z)
            pos = z >= 0
            if lam == 0:
                out[pos] = np.expm1(z[pos])
            else:
                out[pos] = np.power(np.maximum(lam * z[pos] + 1.0, 0.0), 1.0 / lam) - 1.0
            if lam == 2:
                out[~pos] = -np.expm1(-z[~pos])
            else:
                out[~pos] = 1.0 - np.power(np.maximum(1.0 - (2.0 - lam) * z[~pos], 0.0), 1.0 / (2.0 - lam))
            return out
    raise FormulaError(f"Unknown transformation {name!r}.")
