"""The model families a run can train, per task, with their default settings and the
ranges their hyperparameter search draws from.

Names a user types: ``ols``, ``logistic``, ``ridge``, ``lasso``, ``elasticnet``,
``tree``, ``random_forest``, ``hgb``, and ``linear`` for the task's plain linear
model (``ols`` for regression, ``logistic`` for classification). For
classification, ``ridge``, ``lasso`` and ``elasticnet`` are logistic regression
with that penalty (L2, L1, both).
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable

from ..errors import InvalidChoiceError

REGRESSION, CLASSIFICATION = "regression", "classification"

#: preprocessing styles: how numbers and categories are prepared for the estimator
LINEAR, REGULARISED, TREE, BOOSTING, BASELINE = "linear", "regularised", "tree", "boosting", "baseline"

ALIASES = {"rf": "random_forest", "randomforest": "random_forest", "forest": "random_forest",
           "elastic_net": "elasticnet", "elastic-net": "elasticnet", "decision_tree": "tree",
           "gbm": "hgb", "gradient_boosting": "hgb", "hist_gradient_boosting": "hgb",
           "logit": "logistic"}


@dataclass(frozen=True)
class Family:
    """One model family for one task."""

    name: str
    task: str                     # regression | classification
    label: str                    # in the analyst's words
    style: str                    # preprocessing style
    make: Callable[..., Any]      # make(seed=, n_jobs=, robust=, categorical=) -> estimator
    space: dict[str, Any] = field(default_factory=dict)  # search ranges (estimator parameters)
    #: a coefficient table with standard errors and p-values
    explains: bool = False
    #: the estimator itself uses several cores (so folds run one at a time)
    parallel_fit: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The family as ``--json`` lists it: name, task, label, preprocessing style, what it
        explains, and whether it has settings to search."""
        return {"name": self.name, "task": self.task, "label": self.label, "style": self.style,
                "explains": self.explains, "tunable": bool(self.space)}


def _loguniform(low: float, high: float) -> Any:
    from scipy.stats import loguniform

    return loguniform(low, high)


def _uniform(low: float, high: float) -> Any:
    from scipy.stats import uniform

    return uniform(low, high - low)


# -- constructors (estimators import lazily: the CLI starts faster) ---------------------------

def _ols(*, robust: bool = False, **_: Any) -> Any:
    from .estimators import StatsmodelsOLS

    return StatsmodelsOLS(robust="HC3" if robust else None)


def _logit(**_: Any) -> Any:
    from .estimators import StatsmodelsLogit

    return StatsmodelsLogit()


def _ridge(*, seed: int, **_: Any) -> Any:
    from sklearn.linear_model import Ridge

    return Ridge(alpha=1.0)


def _lasso(*, seed: int, **_: Any) -> Any:
    from sklearn.linear_model import Lasso

    return Lasso(alpha=1.0, max_iter=5000, random_state=seed)


def _elasticnet(*, seed: int, **_: Any) -> Any:
    from sklearn.linear_model import ElasticNet

    return ElasticNet(alpha=1.0, l1_ratio=0.5, max_iter=5000, random_state=seed)


def _penalised_logistic(l1_ratio: float) -> Callable[..., Any]:
    def make(*, seed: int, **_: Any) -> Any:
        from sklearn.linear_model import LogisticRegression

        solver = "lbfgs" if l1_ratio == 0 else "saga"
        if inspect.signature(LogisticRegression).parameters["penalty"].default == "deprecated":
            # scikit-learn >= 1.8: the penalty follows from l1_ratio
            return LogisticRegression(C=1.0, l1_ratio=l1_ratio, solver=solver, max_iter=2000,
                                      random_state=seed)
        penalty = {0.0: "l2", 1.0: "l1"}.get(l1_ratio, "elasticnet")
        return LogisticRegression(C=1.0, penalty=penalty, solver=solver, max_iter=2000,
                                  random_state=seed,
                                  l1_ratio=l1_ratio if penalty == "elasticnet" else None)
    return make


def _tree(task: str) -> Callable[..., Any]:
    def make(*, seed: int, **_: Any) -> Any:
        from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

        cls = DecisionTreeRegressor if task == REGRESSION else DecisionTreeClassifier
        # a fully grown tree overfits: a modest minimum leaf is the sensible default
        return cls(min_samples_leaf=5, random_state=seed)
    return make


def _forest(task: str) -> Callable[..., Any]:
    def make(*, seed: int, n_jobs: int = 1, **_: Any) -> Any:
        from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

        cls = RandomForestRegressor if task == REGRESSION else RandomForestClassifier
        return cls(n_estimators=100, random_state=seed, n_jobs=n_jobs)
    return make


def _hgb(task: str) -> Callable[..., Any]:
    def make(*, seed: int, categorical: Any = None, **_: Any) -> Any:
        from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

        cls = HistGradientBoostingRegressor if task == REGRESSION else HistGradientBoostingClassifier
        return cls(random_state=seed, categorical_features=categorical)
    return make


def _baseline(task: str) -> Callable[..., Any]:
    def make(**_: Any) -> Any:
        from sklearn.dummy import DummyClassifier, DummyRegressor

        return DummyRegressor(strategy="mean") if task == REGRESSION else DummyClassifier(strategy="prior")
    return make


def _spaces() -> dict[str, dict[str, Any]]:
    return {
        "ridge": {"alpha": _loguniform(1e-3, 1e3)},
        "lasso": {"alpha": _loguniform(1e-4, 1e2)},
        "elasticnet": {"alpha": _loguniform(1e-4, 1e2), "l1_ratio": _uniform(0.05, 0.95)},
        "logistic_l2": {"C": _loguniform(1e-3, 1e3)},
        "logistic_l1": {"C": _loguniform(1e-3, 1e3)},
        "logistic_en": {"C": _loguniform(1e-3, 1e3), "l1_ratio": _uniform(0.05, 0.95)},
        "tree": {"max_depth": [2, 3, 4, 5, 6, 8, 10, 12, None],
                 "min_samples_leaf": [1, 2, 5, 10, 20, 50]},
        "random_forest": {"n_estimators": [100, 200, 300], "max_features": [1.0, "sqrt", 0.5, 0.33],
                          "min_samples_leaf": [1, 2, 5, 10], "max_depth": [None, 8, 12, 20]},
        "hgb": {"learning_rate": _loguniform(0.01, 0.3), "max_leaf_nodes": [7, 15, 31, 63],
                "min_samples_leaf": [5, 10, 20, 50, 100], "l2_regularization": [0.0, 0.01, 0.1, 1.0, 10.0],
                "max_iter": [100, 200, 300]},
    }


def _catalogue() -> dict[tuple[str, str], Family]:
    s = _spaces()
    r, c = REGRESSION, CLASSIFICATION
    families = [
        Family("ols", r, "Ordinary least squares", LINEAR, _ols, explains=True),
        Family("ridge", r, "Ridge regression", REGULARISED, _ridge, s["ridge"]),
        Family("lasso", r, "Lasso regression", REGULARISED, _lasso, s["lasso"]),
        Family("elasticnet", r, "Elastic net regression", REGULARISED, _elasticnet, s["elasticnet"]),
        Family("tree", r, "Decision tree", TREE, _tree(r), s["tree"]),
        Family("random_forest", r, "Random forest", TREE, _forest(r), s["random_forest"],
               parallel_fit=True),
        Family("hgb", r, "Histogram gradient boosting", BOOSTING, _hgb(r), s["hgb"]),
        Family("logistic", c, "Logistic regression", LINEAR, _logit, explains=True),
        Family("ridge", c, "Regularised logistic regression (L2, ridge)", REGULARISED,
               _penalised_logistic(0.0), s["logistic_l2"]),
        Family("lasso", c, "Regularised logistic regression (L1, lasso)", REGULARISED,
               _penalised_logistic(1.0), s["logistic_l1"]),
        Family("elasticnet", c, "Regularised logistic regression (elastic net)", REGULARISED,
               _penalised_logistic(0.5), s["logistic_en"]),
        Family("tree", c, "Decision tree", TREE, _tree(c), s["tree"]),
        Family("random_forest", c, "Random forest", TREE, _forest(c), s["random_forest"],
               parallel_fit=True),
        Family("hgb", c, "Histogram gradient boosting", BOOSTING, _hgb(c), s["hgb"]),
    ]
    return {(f.task, f.name): f for f in families}


@lru_cache(maxsize=1)
def _families() -> dict[tuple[str, str], Family]:
    return _catalogue()


def task_group(task: str) -> str:
    """regression, or classification for binary and multiclass."""
    return REGRESSION if task == REGRESSION else CLASSIFICATION


def families_for(task: str) -> list[Family]:
    """The families a task can train, in the order the app lists them."""
    group = task_group(task)
    return [f for (t, _), f in _families().items() if t == group]


def baseline(task: str) -> Family:
    """The model every run trains alongside: the mean (regression) or the class shares."""
    group = task_group(task)
    label = "Baseline: the mean" if group == REGRESSION else "Baseline: the class shares"
    return Family("baseline", group, label, BASELINE, _baseline(group))


def resolve(names: list[str], task: str) -> list[Family]:
    """The families for the names a user gave (aliases resolved, duplicates dropped)."""
    group = task_group(task)
    out: list[Family] = []
    for raw in names:
        name = str(raw).strip().lower().replace(" ", "_")
        name = ALIASES.get(name, name)
        if name == "linear":
            name = "ols" if group == REGRESSION else "logistic"
        family = _families().get((group, name))
        if family is None:
            if name == "ols" and group == CLASSIFICATION:
                raise InvalidChoiceError("Ordinary least squares is for regression; for a "
                                         "classification target use 'logistic'.")
            if name == "logistic" and group == REGRESSION:
                raise InvalidChoiceError("Logistic regression is for classification; for a "
                                         "numeric target use 'ols' (or ridge, lasso, elasticnet).")
            known = ", ".join(["linear"] + [f.name for f in families_for(task)])
            raise InvalidChoiceError(f"Unknown model family {raw!r} for {group}; use one of {known}.")
        if family not in out:
            out.append(family)
    return out
