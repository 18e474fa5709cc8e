"""Contributions per column (``mlops_model_support.contributions``): exact for every
family the app trains, checked against independent references.

- Trees: the Shapley values of the path-dependent expectation computed by brute force
  (every subset of features, the expectation by recursion over scikit-learn's own node
  arrays; histogram gradient boosting's categorical splits decided by scikit-learn's own
  predictor), for decision trees, classifiers' probabilities, forests and gradient
  boosting with native categories and missing values, through both ways of computing
  (tabulated leaf patterns and the formula per row).
- Every family the app trains (regression, two and more classes, segmented): base value
  plus contributions equals the model's raw output (from its own ``predict`` /
  ``predict_proba``) within 1e-6 on every holdout row.
- Linear models: coefficient times (value - training mean), in the analyst's units.
- One-hot levels, spline and polynomial terms and a transformer that names its sources
  are summed back to the analyst's columns; an interaction is split equally.
- A credit-default model's riskiest applicants name the known driver first.
"""

from __future__ import annotations

import itertools
import math
import shutil
import warnings

import numpy as np
import pytest
from scipy.special import logit
from sklearn.base import BaseEstimator, TransformerMixin

from conftest import DATA, SAMPLES
from credit_default import FEATURES, STRONGEST, TARGET, credit_default
from mlops_model_support import tree_contributions
from mlops_model_support.contributions import Explainer, ExplainError, background, design_sources
from mlops_model_support.tree_contributions import TreeModel, boosting_tree, sklearn_tree

TOLERANCE = 1e-6


# -- brute force: Lundberg et al.'s Algorithm 1 and the Shapley formula -----------------------

def _expectation(node, S, left, right, feature, cover, value, goes_left):
    """The path-dependent expectation of a subtree for the features in ``S``."""
    if left[node] < 0:
        return value[node]
    l, r = int(left[node]), int(right[node])
    if int(feature[node]) in S:
        return _expectation(l if goes_left(node) else r, S, left, right, feature, cover, value, goes_left)
    return (cover[l] * _expectation(l, S, left, right, feature, cover, value, goes_left)
            + cover[r] * _expectation(r, S, left, right, feature, cover, value, goes_left)) / cover[node]


def _shapley(p, f):
    phi = np.zeros(p)
    for k in range(p):
        others = [j for j in range(p) if j != k]
        for size in range(p):
            weight = math.factorial(size) * math.factorial(p - size - 1) / math.factorial(p)
            for S in itertools.combinations(others, size):
                phi[k] += weight * (f(set(S) | {k}) - f(set(S)))
    return phi, f(set())


def _sklearn_reference(estimator, x, output):
    t = estimator.tree_
    value = t.value[:, 0, :]
    value = value / value.sum(axis=1, keepdims=True) if hasattr(estimator, "classes_") else value
    left = np.where(t.children_left == t.children_right, -1, t.children_left)

    def goes_left(node):  # scikit-learn compares the value as float32
        return np.float32(x[t.feature[node]]) <= t.threshold[node]

    return _shapley(t.n_features, lambda S: _expectation(0, S, left, t.children_right, t.feature,
                                                        t.weighted_n_node_samples, value[:, output], goes_left))


def _boosting_reference(hgb, predictor, x):
    """The brute force for one boosting tree; each split decided by scikit-learn's own
    predictor run on a tree of that one split."""
    from sklearn.ensemble._hist_gradient_boosting.predictor import TreePredictor

    nodes = predictor.nodes
    known, f_idx = hgb._bin_mapper.make_known_categories_bitsets()

    def goes_left(node):
        one = np.zeros(3, dtype=nodes.dtype)
        one[0] = nodes[node]
        one[0]["left"], one[0]["right"] = 1, 2
        one[1]["is_leaf"] = one[2]["is_leaf"] = 1
        one[1]["value"], one[2]["value"] = 0.0, 1.0
        split = TreePredictor(one, predictor.binned_left_cat_bitsets, predictor.raw_left_cat_bitsets)
        return split.predict(x[None, :], known, f_idx, 1)[0] == 0.0

    left = np.where(nodes["is_leaf"].astype(bool), -1, nodes["left"].astype(int))
    return _shapley(hgb.n_features_in_, lambda S: _expectation(
        0, S, left, nodes["right"].astype(int), nodes["feature_idx"], nodes["count"].astype(float),
        nodes["value"], goes_left))


@pytest.fixture(params=["tabulated", "per row"])
def computing(request, monkeypatch):
    """Both ways of computing a tree: its leaf patterns tabulated, or the formula per row."""
    if request.param == "per row":
        monkeypatch.setattr(tree_contributions, "TABLE_ENTRIES", 0)
    return request.param


def _numbers(rows, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, 4))
    X[:, 3] = rng.integers(0, 3, rows)
    y = 2 * X[:, 0] + (X[:, 1] > 0) * X[:, 2] + X[:, 3] + rng.normal(size=rows) * 0.1
    return X, y


def test_a_deep_tree_equals_the_brute_force(computing):
    from sklearn.tree import DecisionTreeRegressor

    X, y = _numbers(400, 0)
    tree = DecisionTreeRegressor(max_depth=9, random_state=0).fit(X, y)  # features repeat on paths
    model = TreeModel([sklearn_tree(tree, probability=False)], 4, np.zeros(1))
    assert model.trees[0].tabulated == (computing == "tabulated")
    rows, _ = _numbers(30, 1)
    values, raw = model.contributions(rows)
    assert np.abs(raw[:, 0] - tree.predict(rows)).max() <= 1e-12
    for i in range(len(rows)):
        expected, base = _sklearn_reference(tree, rows[i], 0)
        assert np.abs(values[i, :, 0] - expected).max() <= 1e-12
        assert abs(model.base[0] - base) <= 1e-12


def test_a_classifiers_probabilities_and_a_forest_equal_the_brute_force(computing):
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.tree import DecisionTreeClassifier

    X, y = _numbers(500, 2)
    labels = np.digitize(y, [-1.0, 1.0])  # three classes
    tree = DecisionTreeClassifier(max_depth=6, random_state=0).fit(X, labels)
    model = TreeModel([sklearn_tree(tree, probability=True)], 4, np.zeros(3))
    rows, _ = _numbers(15, 3)
    values, raw = model.contributions(rows)
    assert np.abs(raw - tree.predict_proba(rows)).max() <= 1e-12
    for i in range(len(rows)):
        for c in range(3):
            expected, _ = _sklearn_reference(tree, rows[i], c)
            assert np.abs(values[i, :, c] - expected).max() <= 1e-12
    forest = RandomForestClassifier(n_estimators=4, max_depth=5, random_state=0).fit(X, labels)
    model = TreeModel([sklearn_tree(m, probability=True, outputs=[2]) for m in forest.estimators_], 4,
                      np.zeros(1), scale=1 / 4)
    values, raw = model.contributions(rows)
    assert np.abs(raw[:, 0] - forest.predict_proba(rows)[:, 2]).max() <= 1e-12
    for i in range(len(rows)):
        expected = np.mean([_sklearn_reference(m, rows[i], 2)[0] for m in forest.estimators_], axis=0)
        assert np.abs(values[i, :, 0] - expected).max() <= 1e-12


def test_gradient_boosting_with_native_categories_and_missing_values_equals_the_brute_force(computing):
    from sklearn.ensemble import HistGradientBoostingRegressor

    rng = np.random.default_rng(4)
    X, y = _numbers(1500, 4)
    X[:, 3] = rng.integers(0, 6, len(X))  # six categories, split natively as sets
    y = y + np.where(np.isin(X[:, 3], [1, 4]), 2.0, -1.0)
    X[rng.random(len(X)) < 0.1, 0] = np.nan
    hgb = HistGradientBoostingRegressor(max_iter=3, max_depth=4, categorical_features=[3],
                                        random_state=0).fit(X, y)
    assert any(p.nodes["is_categorical"].any() for it in hgb._predictors for p in it)
    known = hgb._bin_mapper.make_known_categories_bitsets()
    trees = [boosting_tree(it[0], known) for it in hgb._predictors]
    # the booster puts categorical columns first (and codes them again: 6, unseen, is missing)
    model = TreeModel(trees, 4, hgb._baseline_prediction.ravel(), categorical=frozenset({0}))
    rows, _ = _numbers(25, 5)
    rows[:, 3] = rng.integers(0, 7, len(rows))  # 6: a category never seen
    rows[::4, 0] = np.nan
    rows[::5, 3] = np.nan
    inside = hgb._preprocess_X(rows, reset=False)
    assert np.allclose(inside[:, 1:], rows[:, :3], equal_nan=True)
    values, raw = model.contributions(inside)
    assert np.abs(raw[:, 0] - hgb.predict(rows)).max() <= 1e-12
    for i in range(len(rows)):
        expected = sum(_boosting_reference(hgb, it[0], inside[i])[0] for it in hgb._predictors)
        assert np.abs(values[i, :, 0] - expected).max() <= 1e-12


# -- every family the app trains ---------------------------------------------------------------

REGRESSION = ["ols", "ridge", "lasso", "elasticnet", "tree", "random_forest", "hgb"]
CLASSIFICATION = ["logistic", "ridge", "lasso", "elasticnet", "tree", "random_forest", "hgb"]
MATRIX = (
    [("flights", "arr_delay", f, {"features": ["dep_delay", "distance", "carrier", "origin"]})
     for f in REGRESSION]
    + [("penguins", "species", f, {}) for f in CLASSIFICATION]  # three classes
    + [("penguins", "sex", f, {}) for f in CLASSIFICATION]      # two
    + [("credit", TARGET, f, {"features": FEATURES + ["region"], "segment_by": "region",
                              "min_segment_rows": 700})  # "east" is too small: the fallback
       for f in ("logistic", "hgb", "tree")]
    + [("credit", "income", f, {"features": ["debt_ratio", "age", "late_payments", "student", "region"],
                                "segment_by": "region", "min_segment_rows": 700}) for f in ("ols", "random_forest")]
)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Every model of the matrix with its training and holdout rows."""
    from mlops_desktop.core.train import TrainSpec, find_version, load_model, load_split, train
    from mlops_desktop.core.workspace import Workspace

    base = tmp_path_factory.mktemp("families")
    shutil.copy(SAMPLES / "penguins.csv", base / "penguins.csv")
    flights = (DATA / "flights_6000.csv").read_text().splitlines(keepends=True)
    (base / "flights.csv").write_text("".join(flights[:1501]))
    credit_default(3000, seed=3).dropna(subset=["income"]).to_csv(base / "credit.csv", index=False)
    out = []
    with Workspace.create(base / "ws", actor="ann") as ws:
        for name in ("penguins", "flights", "credit"):
            ws.import_file(base / f"{name}.csv", name=name, actor="ann")
        for i, (dataset, target, family, extra) in enumerate(MATRIX):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                train(ws, TrainSpec(dataset=dataset, target=target, models=[family], cv_folds=2,
                                    model_name=f"m{i}", **extra), actor="ann")
            mv = find_version(ws, f"m{i}")
            model = load_model(ws, mv.ref)
            train_rows, holdout = load_split(ws, mv.run_id)
            label = f"{family} on {dataset}.{target}" + (" by region" if "segment_by" in extra else "")
            out.append((label, model, train_rows, holdout))
    return out


def _independent_raw(model, X, explained):
    """The model's raw output from its own public methods; for several classes, each
    class's score less the first class's (what the probabilities determine)."""
    if explained.classes is None:
        return np.asarray(model.predict(X), dtype=float)[:, None]
    order = [str(c) for c in model.classes_]
    proba = model.predict_proba(X)[:, [order.index(c) for c in explained.classes]]
    if explained.scale == "probability":
        return proba
    if len(explained.classes) == 1:
        return logit(proba)
    return np.log(proba) - np.log(proba[:, :1])


def test_every_family_adds_up_to_the_models_raw_output(trained):
    families = set()
    for label, model, train_rows, holdout in trained:
        columns = [str(c) for c in model.feature_names_in_]
        explained = Explainer(model, background(model, train_rows[columns])).explain(holdout[columns])
        assert explained.columns == columns, label  # the analyst's columns, one-hot levels summed
        assert explained.rows == len(holdout) > 50, label
        assert explained.gap() <= TOLERANCE, (label, explained.gap())
        reference = _independent_raw(model, holdout[columns], explained)
        raw = explained.raw if explained.classes is None or len(explained.classes) == 1 or \
            explained.scale == "probability" else explained.raw - explained.raw[:, :1]
        assert np.abs(raw - reference).max() <= TOLERANCE, (label, np.abs(raw - reference).max())
        assert np.abs(explained.values).sum() > 0, label
        families.add(label.split(" on ")[0])
    assert families == set(REGRESSION) | set(CLASSIFICATION)


def test_a_segmented_model_explains_each_row_by_its_segments_model(trained):
    label, router, train_rows, holdout = next(t for t in trained if t[0] == "logistic on credit.default by region")
    columns = [str(c) for c in router.feature_names_in_]
    assert set(router.segment_pipelines_) == {"north", "south"}
    explained = Explainer(router, background(router, train_rows[columns])).explain(holdout[columns])
    routes = router.routes(holdout[columns])
    for key in ("north", "south", None):
        rows = np.flatnonzero([r == key for r in routes])
        part = router.segment_pipelines_[key] if key is not None else router.fallback_
        own = Explainer(part, background(part, train_rows[columns] if key is None else
                                         train_rows[columns][train_rows["region"] == key]))
        alone = own.explain(holdout[columns].iloc[rows])
        # the segment's own model: its base value and its contributions
        assert np.allclose(explained.base[rows], alone.base, atol=1e-12)
        index = [columns.index(c) for c in alone.columns]
        assert np.allclose(explained.values[rows][:, index], alone.values, atol=1e-12)
    assert len(np.unique(np.round(explained.base[:, 0], 9))) == 3  # a base value per model


# -- linear models and the analyst's columns -----------------------------------------------------

def _credit(rows=4000, seed=0):
    df = credit_default(rows, seed)
    return df[FEATURES], df[TARGET]


def test_linear_contributions_are_coefficient_times_distance_from_the_training_mean():
    from mlops_desktop.core.train.families import resolve
    from mlops_desktop.core.train.preprocess import build_pipeline

    X, _ = _credit()
    X = X.dropna()
    y = 0.002 * X["income"] - 30 * X["debt_ratio"] + 0.5 * X["age"] + np.random.default_rng(1).normal(size=len(X))
    numeric = ["income", "debt_ratio", "age", "late_payments"]
    pipeline = build_pipeline(resolve(["ridge"], "regression")[0], numeric, [], seed=0).fit(X[numeric], y)
    rows = X[numeric].iloc[3000:3050]
    explained = Explainer(pipeline, background(pipeline, X[numeric])).explain(rows)
    steps = pipeline.named_steps["preprocess"].named_transformers_["numeric"].named_steps
    per_unit = pipeline.named_steps["model"].coef_ / steps["scale"].scale_  # in the analyst's units
    expected = per_unit * (rows.to_numpy() - X[numeric].mean().to_numpy())
    assert np.abs(explained.values[:, :, 0] - expected).max() <= 1e-9
    assert np.allclose(explained.base[:, 0], pipeline.predict(X[numeric]).mean())  # the output at the means


class Ratio(TransformerMixin, BaseEstimator):
    """A transformer of our own that says where its output comes from."""

    def fit(self, X, y=None):
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        return self

    def transform(self, X):
        return np.column_stack([X["debt_ratio"] * X["income"] / 1000.0, X["age"]])

    def feature_sources_out(self):
        return [("debt_ratio", "income"), ("age",)]


def test_terms_are_summed_back_to_the_analysts_columns_and_interactions_split_equally():
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, PolynomialFeatures, SplineTransformer

    from mlops_desktop.core.train.estimators import InputColumns

    X, y = _credit()
    X = X.dropna()
    y = y.loc[X.index]
    columns = InputColumns(numeric=["income", "debt_ratio", "age", "late_payments"], categorical=["student"])
    terms = ColumnTransformer([
        ("splines", SplineTransformer(n_knots=4), ["income"]),
        ("pair", PolynomialFeatures(2, interaction_only=True, include_bias=False), ["age", "late_payments"]),
        ("ratio", Ratio(), ["debt_ratio", "income", "age"]),
        ("levels", OneHotEncoder(sparse_output=False), ["student"]),
    ], verbose_feature_names_out=False)
    pipeline = Pipeline([("columns", columns), ("terms", terms), ("model", LogisticRegression(max_iter=3000))])
    pipeline.fit(X, y)
    sources = design_sources(pipeline)
    assert sources[:6] == [("income",)] * 6  # six spline terms of income
    assert sources[6:9] == [("age",), ("late_payments",), ("age", "late_payments")]
    assert sources[9:] == [("debt_ratio", "income"), ("age",), ("student",), ("student",)]
    explained = Explainer(pipeline, background(pipeline, X), positive_class="yes").explain(X.iloc[:200])
    assert explained.columns == ["income", "debt_ratio", "age", "late_payments", "student"]
    assert explained.gap() <= TOLERANCE
    assert np.abs(explained.raw[:, 0] - pipeline.decision_function(X.iloc[:200])).max() <= 1e-9
    # the interaction age x late_payments: half of its contribution to each of its columns
    design = pipeline[:-1].transform(X)
    coef = pipeline.named_steps["model"].coef_[0]
    term = coef[8] * (design[:200, 8] - design[:, 8].mean())
    ratio = coef[9] * (design[:200, 9] - design[:, 9].mean())
    splines = coef[:6] @ (design[:200, :6] - design[:, :6].mean(axis=0)).T
    assert np.allclose(explained.values[:, 0, 0], splines + ratio / 2)
    assert np.allclose(explained.values[:, 3, 0], coef[7] * (design[:200, 7] - design[:, 7].mean()) + term / 2)


def test_a_model_it_cannot_explain_says_so():
    from sklearn.dummy import DummyClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    from mlops_desktop.core.train.estimators import InputColumns

    X, y = _credit(200)
    model = Pipeline([("columns", InputColumns(numeric=["age"])), ("model", DummyClassifier())]).fit(X, y)
    with pytest.raises(ExplainError, match="not available for DummyClassifier"):
        Explainer(model)
    linear = Pipeline([("columns", InputColumns(numeric=["age"])), ("model", LogisticRegression())]).fit(X, y)
    with pytest.raises(ExplainError, match="training means"):
        Explainer(linear)


# -- the credit model's riskiest applicants ----------------------------------------------------------

@pytest.mark.parametrize("family", ["logistic", "hgb", "random_forest"])
def test_the_riskiest_applicants_name_late_payments_first(family):
    from mlops_desktop.core.train.families import resolve
    from mlops_desktop.core.train.preprocess import build_pipeline, reference_levels
    from mlops_model_support.reasons import decisions, reasons

    X, y = _credit(8000, seed=11)
    numeric, categorical = ["income", "debt_ratio", "age", "late_payments"], ["student"]
    chosen = resolve([family], "classification")[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = build_pipeline(chosen, numeric, categorical, seed=0,
                               reference=reference_levels(X.iloc[:6000], categorical)).fit(X.iloc[:6000], y.iloc[:6000])
    holdout = X.iloc[6000:].reset_index(drop=True)
    explained = Explainer(model, background(model, X.iloc[:6000]), positive_class="yes").explain(holdout)
    assert explained.gap() <= TOLERANCE
    found = reasons(explained, holdout, decisions(explained, threshold=0.5), top=3)
    risk = model.predict_proba(holdout)[:, list(model.classes_).index("yes")]
    riskiest = np.argsort(-risk)[:25]
    assert list(found["reason_1"][riskiest]) == [STRONGEST] * 25
    assert (found["reason_1_contribution"][riskiest] > 0).all()
