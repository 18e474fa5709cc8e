"""Each decision explained: how much every input column pushed a model's raw output
away from its base value, exactly, for every family the app trains.

- Linear models (least squares, ridge, lasso, elastic net, logistic): coefficient times
  (value - the training mean of that column of the model's design), closed form; the
  base value is the output at the training means.
- Trees, random forests and histogram gradient boosting: path-dependent TreeSHAP
  (``tree_contributions``), which needs no background data; the base value is the
  cover-weighted mean of the leaves.
- Segmented models: each row is explained by the model of its segment (or the fallback):
  the base value is that model's, so the segment's effect is in the base value.

Base value + contributions = the model's raw output on every row: the log-odds of the
positive class for logistic models and gradient boosting, the probability for trees and
random forests (their own output: averaged leaf shares), the prediction for regression
(on the transformed scale when the target was transformed: a model of ``log(wage)``
explains the predicted log of wage, and its contributions raise or lower that). The
contributions of the model's design columns are summed back to the analyst's columns:
every one-hot level of ``student`` makes one ``student`` contribution, every spline or
polynomial term of ``income`` one ``income`` contribution (also in a formula:
``poly(experience, 2)``, ``bs(x, df=4)``, ``log(x)``, ``C(x, ...)``, ``center(x)``).

A design column built from several columns (an interaction ``education:parttime``, or
``I(a * b)``) has its contribution (for a linear model coefficient × (value − training
mean) of that column; for trees its Shapley value) split in equal parts between those
columns: half to ``education``, half to ``parttime``. Splitting moves no amount out of
the sum, so base value + contributions = raw output still holds exactly; but the half
given to each column is a convention, not a measure of which of the two mattered more.
Contributions describe the model, not causes.

A transformer may say which input columns each of its output columns comes from with a
method ``feature_sources_out()`` (one tuple of input column names per output column;
found by name among the columns the step before gives, e.g. a formula's terms, see
``FormulaTerms``); otherwise the sources are read from its ``get_feature_names_out``.

Imports numpy, pandas and this package (the fitted objects are read by their
attributes, never imported).
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np
import pandas as pd

from .labels import class_label
from .tree_contributions import TreeModel, boosting_tree, sklearn_tree

#: JSON format of a model's background (the design means of its linear parts)
BACKGROUND_FORMAT = 1
#: key of a model that is not segmented, and of a segmented model's fallback
WHOLE, FALLBACK = "model", "fallback"
SEGMENT = "segment:"
#: array elements a run may compute (about five minutes on a laptop's core)
RUN_WORK = 3e10
#: rows per chunk the row limit is stated for (the package's default chunk)
REFERENCE_ROWS = 250_000
#: a transformed target's scale in words (see ``terms.TARGET_TRANSFORMS``)
TRANSFORM_WORDS = {"log": "log of", "log1p": "log of 1 +", "sqrt": "square root of",
                   "boxcox": "Box–Cox transformation of", "yeojohnson": "Yeo–Johnson transformation of"}


class ExplainError(Exception):
    """The model or the rows cannot be explained; the message says why and what to do."""


class TooManyRows(ExplainError):
    """The rows asked for would take too long with this model (a large forest)."""


@dataclass
class Contributions:
    """Rows explained. ``values`` (n, columns, outputs): each column's contribution to
    each output; ``base`` (n, outputs): where the contributions start (a segmented
    model's base differs by segment); ``raw`` (n, outputs): the model's raw output, from
    the model itself (its linear predictor, or its trees followed to their leaves and
    summed as the model sums them), which base + contributions equal. ``outputs``: what each output is, in words, e.g.
    "log-odds of 'yes'"; ``classes``: the class of each output (None for regression)."""

    columns: list[str]
    values: np.ndarray
    base: np.ndarray
    raw: np.ndarray
    outputs: list[str]
    classes: Optional[list[str]]
    scale: str  # "log-odds", "probability", "score" or "prediction"

    @property
    def rows(self) -> int:
        """The number of rows explained."""
        return len(self.values)

    def gap(self) -> float:
        """The largest |base + contributions - raw output| over rows and outputs."""
        if not self.rows:
            return 0.0
        return float(np.max(np.abs(self.base + self.values.sum(axis=1) - self.raw)))

    def take(self, rows: np.ndarray) -> "Contributions":
        """The given rows only."""
        return Contributions(self.columns, self.values[rows], self.base[rows], self.raw[rows],
                             self.outputs, self.classes, self.scale)


# -- the map from design columns to the analyst's columns -----------------------------------

_TOKEN = re.compile("\x1f(\\d+)\x1f")


def _token(i: int) -> str:
    return f"\x1f{i}\x1f"


def design_sources(pipeline: Any) -> list[tuple[str, ...]]:
    """For each column the pipeline's final estimator receives, the input columns it is
    computed from."""
    steps = list(pipeline.steps[:-1]) if hasattr(pipeline, "steps") else []
    sources: Optional[list[tuple[str, ...]]] = None
    names: Optional[list[str]] = None
    for _, step in steps:
        sources, names = _step_sources(step, sources, names)
    if sources is None:
        inputs = getattr(pipeline, "feature_names_in_", None)
        if inputs is None:
            raise ExplainError("The model does not record its input columns.")
        sources = [(str(c),) for c in inputs]
    return sources


def _step_sources(step: Any, sources: Optional[list[tuple[str, ...]]],
                  incoming: Optional[list[str]] = None) -> tuple[list[tuple[str, ...]], Optional[list[str]]]:
    """The sources of ``step``'s outputs, and their names (None when it gives none),
    given the sources of its inputs and their names (``incoming``)."""
    if step is None or step == "passthrough":
        if sources is None:
            raise ExplainError("The model's first step does not record its input columns.")
        return sources, incoming
    names = getattr(step, "feature_names_in_", None)
    if sources is None:
        if names is None:
            raise ExplainError(f"{type(step).__name__} does not record its input columns.")
        sources = [(str(c),) for c in names]
    if hasattr(step, "transformers_") and hasattr(step, "output_indices_"):
        out = _column_transformer_sources(step, sources)
    elif hasattr(step, "steps"):
        out = sources
        for _, inner in step.steps:
            out, incoming = _step_sources(inner, out, incoming)
        return out, incoming
    elif callable(getattr(step, "feature_sources_out", None)):
        # a step that reads a table by name (a formula's terms) says which of its inputs
        # each output uses: found by name among the columns it is given
        given = incoming if incoming is not None and len(incoming) == len(sources) else \
            [str(c) for c in (names if names is not None else range(len(sources)))]
        position = {c: i for i, c in enumerate(given)}
        try:
            out = [tuple(dict.fromkeys(s for c in used for s in sources[position[str(c)]]))
                   for used in step.feature_sources_out()]
        except KeyError as exc:
            raise ExplainError(f"{type(step).__name__} reads the column {exc.args[0]!r}, which the "
                               "model's earlier steps do not give.") from None
    else:
        out = _named_sources(step, sources)
    return out, _names_out(step, len(out))


def _names_out(step: Any, width: int) -> Optional[list[str]]:
    """The names of ``step``'s output columns, when it gives as many as it has outputs."""
    try:
        names = [str(c) for c in step.get_feature_names_out()]
    except Exception:  # noqa: BLE001 - a step without names
        return None
    return names if len(names) == width else None


def _column_transformer_sources(ct: Any, sources: list[tuple[str, ...]]) -> list[tuple[str, ...]]:
    names = [str(c) for c in getattr(ct, "feature_names_in_", range(len(sources)))]
    position = {c: i for i, c in enumerate(names)}
    width = max((s.stop for s in ct.output_indices_.values()), default=0)
    out: list[Optional[tuple[str, ...]]] = [None] * width
    for name, transformer, columns in ct.transformers_:
        span = ct.output_indices_.get(name)
        if span is None or span.stop == span.start or transformer == "drop":
            continue
        picked = _positions(columns, position, len(names))
        mapped, _ = _step_sources(transformer, [sources[i] for i in picked], [names[i] for i in picked])
        if len(mapped) != span.stop - span.start:
            raise ExplainError(f"The step {name!r} gives {span.stop - span.start} columns, not the "
                               f"{len(mapped)} its column names say.")
        out[span] = mapped
    if any(o is None for o in out):
        raise ExplainError("Some columns of the model's design come from no input column.")
    return out  # type: ignore[return-value]


def _positions(columns: Any, position: dict[str, int], n: int) -> list[int]:
    if isinstance(columns, slice):
        return list(range(n))[columns]
    values = list(np.atleast_1d(np.asarray(columns, dtype=object)))
    if values and isinstance(values[0], (bool, np.bool_)):
        return [i for i, keep in enumerate(values) if keep]
    return [position[str(c)] if str(c) in position else int(c) for c in values]


def _named_sources(step: Any, sources: list[tuple[str, ...]]) -> list[tuple[str, ...]]:
    """The sources of a transformer's outputs, read from the names it gives them when its
    inputs are named by tokens: every token in an output's name is an input it uses."""
    tokens = [_token(i) for i in range(len(sources))]
    try:
        probe = copy.copy(step)
        if getattr(probe, "feature_names_in_", None) is not None:
            probe.feature_names_in_ = np.asarray(tokens, dtype=object)
            names = list(probe.get_feature_names_out())
        else:
            names = list(probe.get_feature_names_out(tokens))
    except Exception:  # noqa: BLE001 - a transformer without names: one to one, or unknown
        names = None
    if names is not None:
        found = [[int(m) for m in _TOKEN.findall(str(name))] for name in names]
        if all(found):
            return [tuple(dict.fromkeys(s for i in used for s in sources[i])) for used in found]
    width = getattr(step, "n_features_out_", None)
    if names is None and (width is None or width == len(sources)):
        return sources
    raise ExplainError(f"Cannot tell which input columns the outputs of {type(step).__name__} come from.")


def _spread(sources: list[tuple[str, ...]], columns: list[str]) -> np.ndarray:
    """(design columns, analyst columns): a design column's contribution goes to its
    input column, or in equal parts to each of several."""
    index = {c: i for i, c in enumerate(columns)}
    out = np.zeros((len(sources), len(columns)))
    for j, used in enumerate(sources):
        for c in used:
            out[j, index[c]] += 1.0 / len(used)
    return out


# -- one fitted pipeline ---------------------------------------------------------------------

@dataclass
class _Output:
    """Which outputs of the estimator are explained and how they read."""

    classes: Optional[list[str]]   # the class of each explained output; None: regression
    columns: list[int]             # the estimator's output column of each
    signs: list[float]             # -1 where the estimator's output is the other class's
    scale: str
    words: list[str]


def _outputs(estimator: Any, scale: str, positive: Optional[str], reference: Optional[str] = None) -> _Output:
    classes = [class_label(c) for c in getattr(estimator, "classes_", [])] or None
    if classes is None:
        return _Output(None, [0], [1.0], "prediction", ["predicted value"])
    if len(classes) == 2:
        chosen = positive if positive is not None else classes[1]
        if chosen not in classes:
            raise ExplainError(f"The model has no class {chosen!r}; its classes are {', '.join(classes)}.")
        k = classes.index(chosen)
        if scale == "probability":
            return _Output([chosen], [k], [1.0], scale, [f"probability of {chosen!r}"])
        # one log-odds output, of the second class
        return _Output([chosen], [0], [1.0 if k == 1 else -1.0], scale, [f"log-odds of {chosen!r}"])
    if scale == "probability":
        words = [f"probability of {c!r}" for c in classes]
    elif reference is not None:
        words = [f"log-odds of {c!r} against {reference!r}" if c != reference else
                 f"log-odds of {c!r} against itself (always 0)" for c in classes]
    else:
        scale = "score"
        words = [f"score of {c!r} (the probabilities are the softmax of the scores)" for c in classes]
    return _Output(classes, list(range(len(classes))), [1.0] * len(classes), scale, words)


class _Part:
    """One fitted pipeline (input step, preprocessing, estimator) and how to explain it."""

    def __init__(self, pipeline: Any, means: Optional[np.ndarray], positive: Optional[str]) -> None:
        self.pipeline = pipeline
        self.columns = [str(c) for c in pipeline.feature_names_in_]
        estimator = pipeline.steps[-1][1] if hasattr(pipeline, "steps") else pipeline
        wrapped = hasattr(estimator, "regressor_")
        # the transformation of the target ("log"), "" when a wrapper does not name it
        self.transformed_target: Optional[str] = str(getattr(estimator, "transform", "") or "") \
            if wrapped else None
        self.estimator = estimator.regressor_ if wrapped else estimator
        self.prepare = pipeline[:-1] if hasattr(pipeline, "steps") and len(pipeline.steps) > 1 else None
        self.spread = _spread(design_sources(pipeline), self.columns)
        est = self.estimator
        if hasattr(est, "_predictors"):
            self.kind = "trees"
            self.output = _outputs(est, "log-odds" if hasattr(est, "classes_") else "prediction", positive)
            self.trees = self._boosting(est)
        elif hasattr(est, "estimators_") or hasattr(est, "tree_"):
            self.kind = "trees"
            self.output = _outputs(est, "probability" if hasattr(est, "classes_") else "prediction", positive)
            self.trees = self._forest(est)
        elif hasattr(est, "coef_") and hasattr(est, "intercept_"):
            self.kind = "linear"
            classes = [class_label(c) for c in getattr(est, "classes_", [])]
            coef = np.atleast_2d(np.asarray(est.coef_, dtype=np.float64))
            intercept = np.atleast_1d(np.asarray(est.intercept_, dtype=np.float64))
            reference = None
            if len(classes) > 2 and len(coef) == len(classes) - 1:
                # logits against the first class, whose own is 0
                coef = np.vstack([np.zeros(coef.shape[1]), coef])
                intercept = np.concatenate([[0.0], intercept])
                reference = classes[0]
            self.output = _outputs(est, "log-odds" if classes else "prediction", positive, reference)
            self.coef = coef[self.output.columns].T * np.asarray(self.output.signs)       # (design, C)
            self.intercept = intercept[self.output.columns] * np.asarray(self.output.signs)
            if means is None:
                raise ExplainError("A linear model is explained against the training means of its "
                                   "columns, which were not given.")
            self.means = np.asarray(means, dtype=np.float64)
            if len(self.means) != len(self.coef):
                raise ExplainError("The training means given do not fit the model's columns.")
        else:
            raise ExplainError(f"Contributions are not available for {type(est).__name__} models.")

    def _boosting(self, est: Any) -> list[TreeModel]:
        own = getattr(est, "_preprocessor", None)
        known = est._bin_mapper.make_known_categories_bitsets() if own is not None else None
        width = int(est.n_features_in_)
        # the booster puts its categorical columns first: its column j is design column order[j]
        self.order = np.arange(width) if own is None else _column_order(own, width)
        categorical = frozenset(np.flatnonzero(est._is_categorical_remapped).tolist()) if own is not None \
            else frozenset()
        offset = np.asarray(est._baseline_prediction, dtype=np.float64).reshape(-1)
        models = []
        # one tree model per output: each output (class) has its own trees
        for k, sign in zip(self.output.columns, self.output.signs):
            trees = []
            for iteration in est._predictors:
                tree = boosting_tree(iteration[k], known)
                tree.values, tree.base = tree.values * sign, tree.base * sign
                trees.append(tree)
            models.append(TreeModel(trees, width, np.array([offset[k] * sign]), categorical=categorical))
        return models

    def _forest(self, est: Any) -> list[TreeModel]:
        members = list(est.estimators_) if hasattr(est, "estimators_") else [est]
        probability = self.output.scale == "probability"
        outputs = self.output.columns if probability else None
        trees = [sklearn_tree(m, probability=probability, outputs=outputs) for m in members]
        self.order = np.arange(int(est.n_features_in_))
        return [TreeModel(trees, int(est.n_features_in_), np.zeros(len(self.output.columns)),
                          scale=1.0 / len(members))]

    # -- the work ---------------------------------------------------------------------------

    def design(self, frame: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.prepare.transform(frame) if self.prepare is not None else frame,
                          dtype=np.float64)

    def work(self, n: int) -> float:
        """Array elements ``n`` rows take at most (see ``TreeModel.work``)."""
        if self.kind == "linear":
            return float(n * self.coef.size * 4)
        return sum(t.work(n) for t in self.trees)

    def explain(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(values (n, columns, C), base (n, C), raw (n, C)) for rows of ``frame``."""
        Z = self.design(frame)
        n, C = len(Z), len(self.output.columns)
        if self.kind == "linear":
            values = (Z - self.means)[:, :, None] * self.coef[None, :, :]            # (n, design, C)
            base = np.tile(self.intercept + self.means @ self.coef, (n, 1))
            raw = Z @ self.coef + self.intercept
        else:
            est = self.estimator
            X = est._preprocess_X(Z, reset=False) if getattr(est, "_preprocessor", None) is not None else Z
            X = np.asarray(X, dtype=np.float64)
            values = np.zeros((n, Z.shape[1], C))
            base = np.zeros((n, C))
            raw = np.zeros((n, C))
            for i, model in enumerate(self.trees):
                part, predicted = model.contributions(X)                              # (n, width, outputs)
                columns = slice(i, i + 1) if len(self.trees) > 1 else slice(None)
                values[:, self.order, columns] += part
                base[:, columns] += model.base
                raw[:, columns] += predicted
        return np.einsum("ndc,dk->nkc", values, self.spread), base, raw


def _column_order(preprocessor: Any, width: int) -> np.ndarray:
    """For each column of histogram gradient boosting's own input, the design column it
    is (its preprocessor puts the categorical columns first)."""
    order = np.empty(width, dtype=np.intp)
    for name, _, columns in preprocessor.transformers_:
        span = preprocessor.output_indices_.get(name)
        if span is None or span.stop == span.start:
            continue
        order[span] = _positions(columns, {}, width)
    return order


# -- a whole model ---------------------------------------------------------------------------

class Explainer:
    """Explains the rows of a fitted model (a pipeline, or a segment router of pipelines):
    ``explain(frame)``. ``background``: the design means of its linear parts, as made by
    :func:`background` (not needed for trees). ``positive_class``: for two classes, the
    class whose score is explained (default: the second in the model's order).
    ``target``: the target's name, for the words of a transformed target's scale
    ("predicted log of wage")."""

    def __init__(self, model: Any, background: Optional[dict[str, Any]] = None,
                 positive_class: Optional[str] = None, target: Optional[str] = None) -> None:
        self.model = model
        means = _read_background(background)
        self.segment_column: Optional[str] = getattr(model, "segment_column", None) \
            if hasattr(model, "segment_pipelines_") else None
        if self.segment_column is not None:
            self.parts = {FALLBACK: _Part(model.fallback_, means.get(FALLBACK), positive_class)}
            for key, pipeline in model.segment_pipelines_.items():
                self.parts[SEGMENT + str(key)] = _Part(pipeline, means.get(SEGMENT + str(key)), positive_class)
            self.columns = [str(c) for c in model.feature_names_in_]
        else:
            self.parts = {WHOLE: _Part(model, means.get(WHOLE), positive_class)}
            self.columns = self.parts[WHOLE].columns
        first = next(iter(self.parts.values())).output
        self.outputs, self.classes, self.scale = first.words, first.classes, first.scale
        transformed = {p.transformed_target for p in self.parts.values()} - {None}
        if self.scale == "prediction" and transformed:
            # the raw output of a model of a transformed target is on that scale
            name = transformed.pop() if len(transformed) == 1 else ""
            self.outputs = [f"predicted {TRANSFORM_WORDS.get(name, 'transformed value of')} "
                            f"{target if target is not None else 'the target'}"]

    def routes(self, frame: pd.DataFrame) -> list[tuple[str, np.ndarray]]:
        """The part that explains each group of rows: (key, row positions)."""
        if self.segment_column is None:
            return [(WHOLE, np.arange(len(frame)))]
        routes = self.model.routes(frame)
        keys = np.array([FALLBACK if r is None else SEGMENT + str(r) for r in routes], dtype=object)
        return [(k, np.flatnonzero(keys == k)) for k in dict.fromkeys(keys.tolist())]

    def work(self, n: int) -> float:
        """Array elements ``n`` rows take at most (the slowest part for all of them)."""
        return max(p.work(n) for p in self.parts.values())

    def row_limit(self, budget: float = RUN_WORK) -> int:
        """The most rows whose contributions fit in ``budget`` (stated for chunks of
        :data:`REFERENCE_ROWS` rows, as the package scores)."""
        per_row = self.work(REFERENCE_ROWS) / REFERENCE_ROWS
        return int(budget // per_row) if per_row > 0 else 10 ** 12

    def explain(self, frame: pd.DataFrame) -> Contributions:
        """The contributions of every column of ``frame``'s rows (the model's input
        columns, typed as the model reads them)."""
        n, C = len(frame), len(self.outputs)
        values = np.zeros((n, len(self.columns), C))
        base = np.zeros((n, C))
        raw = np.zeros((n, C))
        index = {c: i for i, c in enumerate(self.columns)}
        for key, rows in self.routes(frame):
            part = self.parts[key]
            v, b, r = part.explain(frame.iloc[rows] if len(rows) < n else frame)
            values[np.ix_(rows, [index[c] for c in part.columns], range(C))] = v
            base[rows], raw[rows] = b, r
        return Contributions(list(self.columns), values, base, raw, list(self.outputs),
                             None if self.classes is None else list(self.classes), self.scale)


# -- the background of linear parts ------------------------------------------------------------

def background(model: Any, train: pd.DataFrame) -> dict[str, Any]:
    """The design means of a model's linear parts over the rows each was fitted on (a
    segment's model: its segment's rows; the fallback and a whole model: every row), as
    JSON-ready data. Trees need none."""
    parts: dict[str, Any] = {}
    if hasattr(model, "segment_pipelines_"):
        routes = model.routes(train)
        for key, pipeline in model.segment_pipelines_.items():
            rows = np.flatnonzero(np.array([r == key for r in routes], dtype=bool))
            parts[SEGMENT + str(key)] = (pipeline, train.iloc[rows])
        parts[FALLBACK] = (model.fallback_, train)
    else:
        parts[WHOLE] = (model, train)
    means = {}
    for key, (pipeline, rows) in parts.items():
        estimator = pipeline.steps[-1][1] if hasattr(pipeline, "steps") else pipeline
        estimator = getattr(estimator, "regressor_", estimator)
        if not (hasattr(estimator, "coef_") and hasattr(estimator, "intercept_")):
            continue
        design = np.asarray(pipeline[:-1].transform(rows), dtype=np.float64)
        means[key] = [float(v) for v in design.mean(axis=0)]
    return {"format": BACKGROUND_FORMAT, "design_means": means}


def _read_background(data: Optional[dict[str, Any]]) -> dict[str, np.ndarray]:
    if not data:
        return {}
    if data.get("format") != BACKGROUND_FORMAT or not isinstance(data.get("design_means"), dict):
        raise ExplainError("The background of the model's contributions is not in a format this code reads.")
    return {str(k): np.asarray(v, dtype=np.float64) for k, v in data["design_means"].items()}
