"""The two trusted types that index memory by the numbers in the file (scikit-learn's
decision-tree nodes, the boosting trees' predictors) are checked before anything
predicts: a crafted file whose child index or column number points outside the tree
or the data is refused as not a trusted model file; so is a zip bomb. Nothing here
calls predict on a crafted tree (that could crash the test process)."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pandas as pd
import pytest

from mlops_desktop.core.model_format import UnreadableModelFile, model_from_bytes, model_to_bytes


def _forest():
    from sklearn.ensemble import RandomForestRegressor

    x = np.random.default_rng(0).normal(size=(200, 3))
    return RandomForestRegressor(n_estimators=3, max_depth=4, random_state=0).fit(x, x[:, 0])


def _booster():
    from sklearn.ensemble import HistGradientBoostingClassifier

    rng = np.random.default_rng(0)
    x = pd.DataFrame({"a": rng.normal(size=300), "c": pd.Categorical(rng.choice(list("abcd"), 300))})
    y = (x["a"] > 0) ^ (x["c"] == "b")
    return HistGradientBoostingClassifier(max_iter=3, categorical_features="from_dtype").fit(x, y)


def _with_tree_nodes(forest, change):
    tree = forest.estimators_[1].tree_
    state = tree.__getstate__()
    nodes = state["nodes"].copy()
    change(nodes)
    tree.__setstate__({**state, "nodes": nodes})
    return forest


def test_intact_trees_load_and_predict_as_before():
    forest, booster = _forest(), _booster()
    x = np.random.default_rng(1).normal(size=(20, 3))
    np.testing.assert_array_equal(model_from_bytes(model_to_bytes(forest)).predict(x), forest.predict(x))
    frame = pd.DataFrame({"a": x[:, 0], "c": pd.Categorical(list("abcd") * 5)})
    np.testing.assert_array_equal(model_from_bytes(model_to_bytes(booster)).predict_proba(frame),
                                  booster.predict_proba(frame))


@pytest.mark.parametrize("change", [
    lambda n: n["left_child"].__setitem__(0, 10 ** 6),      # a child past the end
    lambda n: n["right_child"].__setitem__(0, 0),           # a child pointing back: a walk that never ends
    lambda n: n["feature"].__setitem__(0, 3),               # a column the forest does not have
    lambda n: n["feature"].__setitem__(0, -5),
], ids=["child past the end", "child loops back", "column too high", "column negative"])
def test_a_decision_tree_pointing_outside_is_refused(change):
    data = model_to_bytes(_with_tree_nodes(_forest(), change))
    with pytest.raises(UnreadableModelFile, match="decision tree's nodes point outside"):
        model_from_bytes(data)


def test_a_tree_of_a_forest_may_not_read_more_columns_than_the_forest_hands_it():
    """A forest hands its trees its rows unchecked: a tree claiming 50 columns (and
    splitting on column 40) inside a forest of 3 would read past each row."""
    from sklearn.tree._tree import Tree

    forest = _forest()
    member = forest.estimators_[0]
    wide = Tree(50, np.array([1], dtype=np.intp), 1)
    state = member.tree_.__getstate__()
    nodes = state["nodes"].copy()
    nodes["feature"][0] = 40
    wide.__setstate__({**state, "nodes": nodes})
    member.tree_, member.n_features_in_ = wide, 50
    with pytest.raises(UnreadableModelFile, match="reads 50 columns where its estimator has 3"):
        model_from_bytes(model_to_bytes(forest))


@pytest.mark.parametrize("field, value", [("left", 10 ** 6), ("right", 0), ("feature_idx", 7)])
def test_a_boosting_tree_pointing_outside_is_refused(field, value):
    booster = _booster()
    nodes = booster._predictors[0][0].nodes
    inner = int(np.flatnonzero(nodes["is_leaf"] == 0)[0])
    nodes[field][inner] = value
    with pytest.raises(UnreadableModelFile, match="boosting tree's nodes point outside"):
        model_from_bytes(model_to_bytes(booster))


def test_a_categorical_split_must_name_a_category_set_it_has():
    booster = _booster()
    predictors = [p for it in booster._predictors for p in it]
    split = next((p, i) for p in predictors for i in np.flatnonzero((p.nodes["is_categorical"] == 1)
                                                                    & (p.nodes["is_leaf"] == 0)))
    predictor, node = split
    predictor.nodes["bitset_idx"][node] = 99
    with pytest.raises(UnreadableModelFile, match="category splits point outside"):
        model_from_bytes(model_to_bytes(booster))


def test_a_tree_outside_its_estimator_is_refused():
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    forest = _forest()
    scaler = StandardScaler().fit(np.ones((3, 3)))
    scaler.hidden_ = forest.estimators_[0].tree_  # reachable, but not where scikit-learn keeps trees
    model = Pipeline([("scale", scaler), ("model", forest)])
    with pytest.raises(UnreadableModelFile, match="holds a Tree outside the estimator"):
        model_from_bytes(model_to_bytes(model))


def test_a_zip_bomb_is_refused_before_it_is_unpacked():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("schema.json", "{}")
        zf.writestr("big.npy", b"\0" * (64 << 20))
    with pytest.raises(UnreadableModelFile, match="far more than a model file does"):
        model_from_bytes(buffer.getvalue())
