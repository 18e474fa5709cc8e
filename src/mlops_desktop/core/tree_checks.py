"""Checks of the trees inside a model read from a file, before anything predicts with it.

scikit-learn's decision trees (``sklearn.tree._tree.Tree``, inside trees and random
forests) and the histogram boosting's trees (``TreePredictor``) walk their nodes in
compiled code without bounds checks: a child index or a feature number from a crafted
file would make a prediction read memory outside the arrays (skops warns of exactly
these two types). Every such tree is checked here: each inner node's children come
after it and inside the tree (so every walk ends at a leaf), and each split reads a
column the estimator receives. A tree found anywhere else than where scikit-learn
keeps it is refused too.
"""

from __future__ import annotations

from functools import partial
from types import BuiltinFunctionType, FunctionType
from typing import Any, Optional

import numpy as np


class TreeError(ValueError):
    """A tree's nodes point outside the tree or the data; the message says where."""


def check_trees(model: Any) -> int:
    """Check every tree reachable from ``model``; returns how many were checked. Raises
    :class:`TreeError` for the first inconsistent one."""
    return _Walk().visit(model, None)


class _Walk:
    def __init__(self) -> None:
        self.seen: set[int] = set()
        self.checked: set[int] = set()

    def visit(self, obj: Any, n_features: Optional[int]) -> int:
        """Walk containers and estimators' attributes; ``n_features`` is how many columns
        an enclosing ensemble hands its trees (they predict without checking)."""
        from sklearn.ensemble._hist_gradient_boosting.gradient_boosting import BaseHistGradientBoosting
        from sklearn.ensemble._hist_gradient_boosting.predictor import TreePredictor
        from sklearn.ensemble._forest import BaseForest
        from sklearn.tree import BaseDecisionTree
        from sklearn.tree._tree import Tree

        if isinstance(obj, (str, bytes, int, float, bool, type(None), np.generic, type, FunctionType,
                            BuiltinFunctionType)) or (isinstance(obj, np.ndarray) and obj.dtype != object):
            return 0
        if id(obj) in self.seen:
            return 0
        self.seen.add(id(obj))
        count = 0
        if isinstance(obj, (Tree, TreePredictor)):
            if id(obj) not in self.checked:
                raise TreeError(f"it holds a {type(obj).__name__} outside the estimator that uses it")
            return 0
        if isinstance(obj, BaseDecisionTree) and hasattr(obj, "tree_"):
            _check_tree(obj.tree_, _bound(obj, n_features))
            self.checked.add(id(obj.tree_))
            count += 1
        if isinstance(obj, BaseHistGradientBoosting) and hasattr(obj, "_predictors"):
            count += self._check_boosting(obj)
        if isinstance(obj, dict):
            values, inner = list(obj.values()) + list(obj.keys()), n_features
        elif isinstance(obj, (list, tuple, set, frozenset)):
            values, inner = list(obj), n_features
        elif isinstance(obj, np.ndarray):  # only object arrays get here: they may hold anything
            values, inner = list(obj.ravel()), n_features
        elif isinstance(obj, partial):  # reading its __dict__ would create one, changing the model
            values, inner = [obj.func, obj.args, obj.keywords], n_features
        else:
            values, inner = list(getattr(obj, "__dict__", {}).values()), None
            if isinstance(obj, BaseForest) and hasattr(obj, "estimators_"):
                inner = _bound(obj, n_features)  # a forest's trees predict without checking columns
        for value in values:
            count += self.visit(value, inner)
        return count

    def _check_boosting(self, booster: Any) -> int:
        from sklearn.ensemble._hist_gradient_boosting.predictor import TreePredictor

        n_features = _bound(booster, None)
        mapper = getattr(booster, "_bin_mapper", None)
        categorical = getattr(mapper, "is_categorical_", None)
        predictors = booster._predictors
        if not isinstance(predictors, list) or not all(isinstance(p, list) for p in predictors):
            raise TreeError("its boosting trees are not stored as scikit-learn stores them")
        count = 0
        for iteration in predictors:
            for predictor in iteration:
                if not isinstance(predictor, TreePredictor):
                    raise TreeError(f"a boosting tree is a {type(predictor).__name__}")
                _check_predictor(predictor, n_features, categorical)
                self.checked.add(id(predictor))
                count += 1
        return count


def _bound(estimator: Any, outer: Optional[int]) -> int:
    """How many columns an estimator's trees may read: its own ``n_features_in_`` and,
    inside an ensemble, no more than the ensemble's."""
    n = getattr(estimator, "n_features_in_", None)
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise TreeError(f"its {type(estimator).__name__} does not say how many columns it reads")
    return int(n) if outer is None else min(int(n), outer)


def _inner_nodes_ok(left: np.ndarray, right: np.ndarray, feature: np.ndarray, inner: np.ndarray,
                    n_features: int) -> bool:
    n = len(left)
    at = np.arange(n)[inner]
    return bool(np.all((left[inner] > at) & (left[inner] < n) & (right[inner] > at) & (right[inner] < n)
                       & (feature[inner] >= 0) & (feature[inner] < n_features)))


def _check_tree(tree: Any, n_features: int) -> None:
    """A decision tree: leaves have no children (-1); inner nodes have two later nodes
    and split on a column in range."""
    count = int(tree.node_count)
    left = np.asarray(tree.children_left, dtype=np.int64)
    right = np.asarray(tree.children_right, dtype=np.int64)
    feature = np.asarray(tree.feature, dtype=np.int64)
    if count < 1 or not len(left) == len(right) == len(feature) == count:
        raise TreeError("a decision tree has no nodes, or arrays of different lengths")
    if int(tree.n_features) != n_features:
        raise TreeError(f"a decision tree reads {int(tree.n_features)} columns where its estimator "
                        f"has {n_features}")
    leaf = left == -1
    if not np.array_equal(leaf, right == -1) or not _inner_nodes_ok(left, right, feature, ~leaf, n_features):
        raise TreeError("a decision tree's nodes point outside the tree or the data")


def _check_predictor(predictor: Any, n_features: int, categorical: Any) -> None:
    """A boosting tree: inner nodes have two later nodes and a column in range; a
    categorical split names a bitset it has and a column the booster treats as
    categorical."""
    from sklearn.ensemble._hist_gradient_boosting.common import PREDICTOR_RECORD_DTYPE

    nodes = predictor.nodes
    if not isinstance(nodes, np.ndarray) or nodes.dtype != PREDICTOR_RECORD_DTYPE or nodes.ndim != 1 \
            or len(nodes) < 1:
        raise TreeError("a boosting tree's nodes are not a table of nodes")
    inner = nodes["is_leaf"] == 0
    left = nodes["left"].astype(np.int64)
    right = nodes["right"].astype(np.int64)
    feature = nodes["feature_idx"].astype(np.int64)
    if not _inner_nodes_ok(left, right, feature, inner, n_features):
        raise TreeError("a boosting tree's nodes point outside the tree or the data")
    split_on_category = inner & (nodes["is_categorical"] != 0)
    if split_on_category.any():
        bitsets = predictor.raw_left_cat_bitsets
        if not isinstance(bitsets, np.ndarray) or bitsets.ndim != 2 or bitsets.shape[1] != 8:
            raise TreeError("a boosting tree's category sets are not stored as scikit-learn stores them")
        index = nodes["bitset_idx"][split_on_category].astype(np.int64)
        flags = np.asarray(categorical if categorical is not None else [], dtype=bool)
        if flags.shape != (n_features,) or not np.all((index >= 0) & (index < bitsets.shape[0])) \
                or not flags[feature[split_on_category]].all():
            raise TreeError("a boosting tree's category splits point outside its category sets")
