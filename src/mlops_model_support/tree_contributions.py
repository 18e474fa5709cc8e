"""Exact contributions of tree models to their raw output: path-dependent TreeSHAP
(Lundberg et al., 2018), in numpy, for scikit-learn's decision trees, random forests
and histogram gradient boosting (its native categorical splits included).

What is computed. For a set S of the tree's features, the path-dependent expectation
f_S(x) follows x's branch at a split on a feature in S and averages both branches by
their training cover otherwise. The contribution of feature k is its Shapley value in
that game, and the base value f_{}(x) is the cover-weighted mean of the leaves; base
plus contributions is the tree's output exactly (Shapley values are efficient).

How. Each leaf is a game of its own: with F the distinct features on its path, o_j
whether x meets every condition on feature j there (0 or 1) and z_j the product of the
cover shares of those branches, the leaf adds value * prod_{j in S} o_j * prod_{j not
in S} z_j. The Shapley value of k in such a product game is

    (o_k - z_k) * integral_0^1 prod_{j != k} (t o_j + (1 - t) z_j) dt,

a polynomial in t of degree below |F|, which Gauss-Legendre quadrature with
ceil(|F| / 2) points integrates exactly. A leaf's contributions depend on the row only
through its pattern (o_1, ..., o_|F|): when a tree's patterns are few (2^|F| per leaf),
they are tabulated once and each row looks its patterns up; otherwise the formula is
evaluated per row and leaf. Rows that fall into the same cell of a tree's thresholds get
the same contributions from it, so each tree is computed once per occupied cell.
Everything is numpy arrays over rows: no loop over rows, no compiled code.

Imports numpy only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Optional, Sequence

import numpy as np

#: memory for one block of a tree's arrays (bytes)
BLOCK_BYTES = 32 << 20
#: a tree's table of leaf patterns is built when it has at most this many entries ...
TABLE_ENTRIES = 1 << 22
#: ... and a model's tables are kept while together they have at most this many (64 MB);
#: the others are built again at each call
KEPT_TABLE_ENTRIES = 1 << 23
#: a tree's cells are looked for when their count is at most this many times the rows
CELLS_PER_ROW = 4
#: trees with more splits than this are computed row by row (their cells hardly repeat)
CELL_SPLITS = 256
#: the most distinct features one path may split on (a leaf's pattern is a 64-bit word)
MAX_WIDTH = 63


@lru_cache(maxsize=None)
def _quadrature(points: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes and weights on [0, 1]."""
    x, w = np.polynomial.legendre.leggauss(points)
    return (x + 1.0) / 2.0, w / 2.0


def product_game_weights(met: np.ndarray, cover: np.ndarray) -> np.ndarray:
    """Shapley values of the product games of leaves, per unit of leaf value: ``met``
    (..., K) 0/1 and ``cover`` (K,)-broadcastable products of cover shares; slots a
    leaf does not use have met 1 and cover 1 (they then weigh 0 and change nothing)."""
    K = met.shape[-1]
    t, w = _quadrature((K + 1) // 2 or 1)
    f = cover[..., None] * (1.0 - t) + met[..., None] * t          # (..., K, Q)
    before = np.ones_like(f)
    if K > 1:
        np.cumprod(f[..., :-1, :], axis=-2, out=before[..., 1:, :])
    after = np.ones_like(f)
    if K > 1:
        np.cumprod(f[..., :0:-1, :], axis=-2, out=after[..., -2::-1, :])
    return (met - cover) * ((before * after) @ w)


@dataclass
class Tree:
    """One tree as the computation needs it.

    Splits are numbered 0..I-1 in preorder (the root first, when the tree has a split);
    ``left_child``/``right_child`` name a split by its number and leaf j as I + j.
    ``slot`` is the place of a split's feature among the distinct features of the path
    from the root (the same on every path through the split). Per leaf: the values
    (one column per output), and per slot of its path the design column and the product
    of the cover shares of the branches taken on that feature (-1 and 1 past the leaf's
    own slots). ``features``: the design columns the tree splits on, in order."""

    feature: np.ndarray        # (I,) design column of each split
    threshold: np.ndarray      # (I,) left when value <= threshold
    missing_left: np.ndarray   # (I,) where a missing value goes
    left_child: np.ndarray     # (I,)
    right_child: np.ndarray    # (I,)
    slot: np.ndarray           # (I,)
    values: np.ndarray         # (L, C)
    slot_feature: np.ndarray   # (L, K)
    slot_cover: np.ndarray     # (L, K)
    base: np.ndarray           # (C,) the cover-weighted mean of the leaves
    features: np.ndarray       # (F,) design columns the tree uses
    #: split -> (left categories bitset, known categories bitset or None): HGB categorical splits
    categorical: dict[int, tuple[np.ndarray, Optional[np.ndarray]]] = field(default_factory=dict)
    #: scikit-learn's trees compare the value as float32
    float32: bool = False
    _table: Optional[np.ndarray] = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.width > MAX_WIDTH:
            raise ValueError(f"A tree splits on {self.width} different columns along one path; contributions "
                             f"are computed for at most {MAX_WIDTH}.")
        depth = np.zeros(self.splits, dtype=np.intp)
        for s in range(self.splits):  # preorder: a split comes before its children
            for child in (self.left_child[s], self.right_child[s]):
                if child < self.splits:
                    depth[child] = depth[s] + 1
        #: the splits at each depth, root first
        self.levels = [np.flatnonzero(depth == d) for d in range(int(depth.max()) + 1)] if self.splits else []

    @property
    def splits(self) -> int:
        """The number of splits."""
        return len(self.feature)

    @property
    def leaves(self) -> int:
        """The number of leaves."""
        return len(self.values)

    @property
    def width(self) -> int:
        """The most distinct features on one path."""
        return self.slot_feature.shape[1]

    @property
    def tabulated(self) -> bool:
        """Whether the leaves' patterns are looked up in a table (else computed per row)."""
        return (self.leaves << self.width) * len(self.features) <= TABLE_ENTRIES

    def cost(self) -> int:
        """Array elements per row of the computation: the measure of its time."""
        per_leaf = len(self.features) * self.values.shape[1] if self.tabulated else \
            self.width * ((self.width + 1) // 2) * 6
        return self.leaves * (per_leaf + 4)

    # -- decisions ----------------------------------------------------------------------

    def decisions(self, X: np.ndarray) -> np.ndarray:
        """(n, I) True where the row goes left at the split, as the model decides."""
        return decide(X[:, self.feature], self.threshold, self.missing_left, self.categorical,
                      float32=self.float32)

    def patterns(self, decisions: np.ndarray) -> np.ndarray:
        """(L, n) each leaf's pattern: bit k set where the row meets every condition of the
        leaf's path on the feature of slot k (and in the slots the leaf does not use),
        worked out one depth of the tree at a time."""
        n, I = len(decisions), self.splits
        word = next(t for t in (np.uint8, np.uint16, np.uint32, np.uint64) if np.iinfo(t).bits >= self.width)
        at = np.empty((I + self.leaves, n), dtype=word)  # a node's patterns: one contiguous row
        at[0] = word((1 << self.width) - 1)
        went = np.ascontiguousarray(decisions.T)
        for level in self.levels:
            here = at[level]
            off = here & ~(word(1) << self.slot[level].astype(word))[:, None]
            went_left = went[level]
            at[self.left_child[level]] = np.where(went_left, here, off)
            at[self.right_child[level]] = np.where(went_left, off, here)
        return at[I:]

    # -- contributions ------------------------------------------------------------------

    def contributions(self, decisions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For rows given by their decisions: (n, F * C) the contributions to each output
        of the tree's features (``features``), and (n, C) the values of the leaves they
        reach (the tree's prediction: base + contributions)."""
        n = len(decisions)
        C = self.values.shape[1]
        F = len(self.features)
        out = np.zeros((n, F * C))
        if self.leaves == 1 or n == 0:
            return out, np.repeat(self.values[:1], n, axis=0)
        L, K = self.slot_feature.shape
        reached = np.empty((n, C))
        table = self._table if self._table is not None else (self.table() if self.tabulated else None)
        per_row = L * (F * C if table is not None else K * ((K + 1) // 2) * 5 + 2) * 8
        step = max(1, BLOCK_BYTES // per_row)
        if table is not None:
            offsets = np.arange(L, dtype=np.intp) << K
        else:
            mix = self._mix().reshape(L * K, F * C)
        everything = (1 << self.width) - 1
        for start in range(0, n, step):
            patterns = self.patterns(decisions[start:start + step])
            # the leaf a row reaches is the one whose every condition it meets
            reached[start:start + step] = self.values[np.argmax(patterns == everything, axis=0)]
            if table is not None:
                index = patterns.astype(np.intp) + offsets[:, None]
                for j in range(F * C):
                    out[start:start + step, j] = np.take(table[j], index).sum(axis=0)
            else:
                bits = patterns.T[:, :, None].astype(np.uint64) >> np.arange(K, dtype=np.uint64)
                met = (bits & np.uint64(1)).astype(np.float64)
                weights = product_game_weights(met, self.slot_cover[None, :, :])
                out[start:start + step] = weights.reshape(len(met), L * K) @ mix
        return out, reached

    def table(self) -> np.ndarray:
        """(F * C, L * 2^K): for each feature and output, each leaf's contribution for
        each pattern (the leaf's value folded in)."""
        L, K = self.slot_feature.shape
        F, C = len(self.features), self.values.shape[1]
        patterns = np.arange(1 << K, dtype=np.int64)
        met = ((patterns[:, None] >> np.arange(K)) & 1).astype(np.float64)          # (P, K)
        weights = product_game_weights(met[None, :, :], self.slot_cover[:, None, :])  # (L, P, K)
        return np.ascontiguousarray((weights @ self._mix()).reshape(L << K, F * C).T)

    def keep_table(self) -> int:
        """Build the table once and keep it with the tree; returns its entries."""
        self._table = self.table()
        return self._table.size

    def _mix(self) -> np.ndarray:
        """(L, K, F * C): a slot's leaf value, put on its feature."""
        L, K = self.slot_feature.shape
        F, C = len(self.features), self.values.shape[1]
        mix = np.zeros((L, K, F, C))
        position = np.searchsorted(self.features, np.maximum(self.slot_feature, 0))
        leaf, slot = np.nonzero(self.slot_feature >= 0)
        mix[leaf, slot, position[leaf, slot]] = self.values[leaf]
        return mix.reshape(L, K, F * C)


def decide(values: np.ndarray, threshold: np.ndarray, missing_left: np.ndarray,
           categorical: dict[int, tuple[np.ndarray, Optional[np.ndarray]]], *, float32: bool) -> np.ndarray:
    """(n, k) True where a value (column j: the value at split j) goes left, as the model
    decides: numbers left when at most the threshold (as float32 for scikit-learn's
    trees), missing values where the split sends them; categorical splits (histogram
    gradient boosting) by their bitsets, a missing, negative or unknown category where
    missing values go."""
    if float32:
        values = values.astype(np.float32)
    with np.errstate(invalid="ignore"):
        left = values <= threshold
    missing = np.isnan(values)
    if missing.any():
        left = np.where(missing, missing_left, left)
    for j, (left_bits, known_bits) in categorical.items():
        column = values[:, j]
        codes = np.where(np.isnan(column) | (column < 0) | (column > 255), -1, column).astype(np.int64)
        valid = codes >= 0
        safe = np.where(valid, codes, 0)
        shift = (safe & 31).astype(np.uint32)
        in_left = ((left_bits[safe >> 5] >> shift) & 1).astype(bool) & valid
        known = valid if known_bits is None else ((known_bits[safe >> 5] >> shift) & 1).astype(bool) & valid
        left[:, j] = np.where(in_left, True, np.where(known, False, bool(missing_left[j])))
    return left


# -- a whole model -----------------------------------------------------------------------

@dataclass
class TreeModel:
    """The trees of one fitted model, with what turns their outputs into the model's
    raw output: ``offset + scale * sum of the trees`` per output column.
    ``categorical``: the design columns histogram gradient boosting treats as categories."""

    trees: list[Tree]
    n_features: int
    offset: np.ndarray
    scale: float = 1.0
    categorical: frozenset[int] = frozenset()

    def __post_init__(self) -> None:
        kept = 0
        for tree in self.trees:
            if tree.tabulated and tree.leaves > 1 and kept + (tree.leaves << tree.width) * \
                    len(tree.features) * tree.values.shape[1] <= KEPT_TABLE_ENTRIES:
                kept += tree.keep_table()
        thresholds: list[list[np.ndarray]] = [[] for _ in range(self.n_features)]
        for tree in self.trees:
            for f in tree.features:
                if int(f) not in self.categorical:
                    thresholds[f].append(tree.threshold[tree.feature == f])
        #: per design column, the thresholds of every tree: the edges of the cells
        self.edges = [np.unique(np.concatenate(t)) if t else np.empty(0) for t in thresholds]
        self._float32 = any(t.float32 for t in self.trees)
        self._maps: dict[int, list[np.ndarray]] = {}

    @property
    def outputs(self) -> int:
        """The number of columns of the raw output (C)."""
        return len(self.offset)

    @property
    def base(self) -> np.ndarray:
        """(C,) the base value of each output."""
        return self.offset + self.scale * sum((t.base for t in self.trees), np.zeros(self.outputs))

    def work(self, n: int) -> float:
        """Array elements the contributions of ``n`` rows take at most: the measure of
        their time (about 10^8 a second on a laptop's core)."""
        total = 0.0
        cells = self._cells_possible(n)
        for i, tree in enumerate(self.trees):
            if tree.leaves == 1:
                continue
            per_row = len(tree.features) * self.outputs + tree.splits / 8
            rows = min(n, self._cell_count(i)) if cells and self._with_cells(tree) else n
            rebuilt = 0 if tree._table is not None or not tree.tabulated else \
                (tree.leaves << tree.width) * tree.width * ((tree.width + 1) // 2) * 6
            total += n * per_row + rows * tree.cost() + rebuilt
        return total

    def contributions(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(n, n_features, C) each design column's contribution to each output, and (n, C)
        the model's raw output (its trees followed to their leaves, summed as the model
        sums them)."""
        n = len(X)
        out = np.zeros((n, self.n_features * self.outputs))
        raw = np.zeros((n, self.outputs))
        bins = self._bins(X) if self._cells_possible(n) else None
        for i, tree in enumerate(self.trees):
            columns = (tree.features[:, None] * self.outputs + np.arange(self.outputs)).ravel()
            cells = self._cells(i, bins, n) if bins is not None and self._with_cells(tree) else None
            if cells is None:
                part, reached = tree.contributions(tree.decisions(X))
                out[:, columns] += part
                raw += reached
            else:
                first, inverse = cells
                part, reached = tree.contributions(tree.decisions(X[first]))
                out[:, columns] += part[inverse]
                raw += reached[inverse]
        return (self.scale * out).reshape(n, self.n_features, self.outputs), self.offset + self.scale * raw

    # Rows in the same cell of a tree (between the same thresholds of each feature it
    # splits on, or of the same category) get the same contributions from it: each
    # occupied cell is computed once. Bins are cut at every tree's thresholds; a tree's
    # cell along a feature groups the bins its own splits do not tell apart. Deep trees
    # (forests grown to purity) have nearly a cell per row: they skip the step.

    def _cells_possible(self, n: int) -> bool:
        return sum(len(e) for e in self.edges) <= CELLS_PER_ROW * n

    @staticmethod
    def _with_cells(tree: Tree) -> bool:
        return tree.splits <= CELL_SPLITS

    def _bins(self, X: np.ndarray) -> list[np.ndarray]:
        """Each row's bin per design column: categories their code (0..255; missing and
        other values 256), numbers the count of edges below (missing after the last)."""
        bins = []
        for f, edges in enumerate(self.edges):
            x = X[:, f]
            if f in self.categorical:
                b = np.where(np.isnan(x) | (x < 0) | (x > 255), 256, x).astype(np.int64)
            else:
                b = np.searchsorted(edges, x.astype(np.float32) if self._float32 else x, side="left")
                b[np.isnan(x)] = len(edges) + 1
            bins.append(b)
        return bins

    def _cell_count(self, i: int) -> int:
        """How many cells tree ``i`` has (occupied or not)."""
        return int(np.prod([int(m.max()) + 1 for m in self._cell_maps(i)], dtype=np.float64))

    def _cells(self, i: int, bins: list[np.ndarray], n: int) -> Optional[tuple[np.ndarray, np.ndarray]]:
        """The first row of each occupied cell of tree ``i`` and each row's cell, or None
        when the cells could be nearly as many as the rows."""
        if self._cell_count(i) > CELLS_PER_ROW * n:
            return None
        code = np.zeros(n, dtype=np.int64)
        size = 1
        for f, local in zip(self.trees[i].features, self._cell_maps(i)):
            count = int(local.max()) + 1
            code = code * count + local[bins[f]]
            size *= count
        seen = np.zeros(size, dtype=bool)
        seen[code] = True
        inverse = (np.cumsum(seen) - 1)[code]
        first = np.empty(int(seen.sum()), dtype=np.intp)
        first[inverse[::-1]] = np.arange(n - 1, -1, -1)  # the last write wins: each cell's first row
        return first, inverse

    def _cell_maps(self, i: int) -> list[np.ndarray]:
        """Per feature of tree ``i``, each bin's cell along that feature: bins on which every
        split of the tree on the feature decides alike share a cell (kept once made)."""
        if i not in self._maps:
            tree = self.trees[i]
            self._maps[i] = [self._cell_map(tree, int(f)) for f in tree.features]
        return self._maps[i]

    def _cell_map(self, tree: Tree, f: int) -> np.ndarray:
        splits = np.flatnonzero(tree.feature == f)
        if f in self.categorical:
            values = np.append(np.arange(256, dtype=np.float64), np.nan)
        else:
            # a value of each bin: its upper edge (as the float32 a scikit-learn tree sees,
            # rounded down into the bin), above every edge, missing
            edges = self.edges[f]
            if self._float32:
                low = edges.astype(np.float32)
                edges = np.where(low > edges, np.nextafter(low, np.float32(-np.inf)), low).astype(np.float64)
            values = np.concatenate([edges, [np.inf, np.nan]])
        categorical = {j: tree.categorical[int(s)] for j, s in enumerate(splits) if int(s) in tree.categorical}
        decided = decide(np.repeat(values[:, None], len(splits), axis=1), tree.threshold[splits],
                         tree.missing_left[splits], categorical, float32=self._float32)
        _, cell = np.unique(decided, axis=0, return_inverse=True)
        return cell.ravel().astype(np.int64)


def _finish(left: np.ndarray, right: np.ndarray, feature: np.ndarray, threshold: np.ndarray,
            missing_left: np.ndarray, cover: np.ndarray, values: np.ndarray, *, float32: bool,
            categorical: Optional[dict[int, tuple[np.ndarray, Optional[np.ndarray]]]] = None) -> Tree:
    """A :class:`Tree` from node arrays: node 0 the root, ``left``/``right`` the children
    (< 0 for leaves), ``values`` (nodes, C), ``categorical`` keyed by node."""
    is_leaf = left < 0
    order: list[int] = []        # splits in preorder
    leaf_nodes: list[int] = []
    slot_of: dict[int, int] = {}
    leaf_slots: list[list[int]] = []
    leaf_cover: list[list[float]] = []
    stack: list[tuple[int, list[int], list[float]]] = [(0, [], [])]
    while stack:
        node, features, cover_of = stack.pop()
        if is_leaf[node]:
            leaf_nodes.append(node)
            leaf_slots.append(features)
            leaf_cover.append(cover_of)
            continue
        order.append(node)
        f = int(feature[node])
        if f not in features:
            features = features + [f]
            cover_of = cover_of + [1.0]
        k = features.index(f)
        slot_of[node] = k
        total = float(cover[node])
        for child in (int(right[node]), int(left[node])):
            share = list(cover_of)
            share[k] *= float(cover[child]) / total if total > 0 else 0.0
            stack.append((child, features, share))
    number = {node: i for i, node in enumerate(order)}
    number.update({node: len(order) + j for j, node in enumerate(leaf_nodes)})
    L, K = len(leaf_nodes), max((len(s) for s in leaf_slots), default=0)
    slot_feature = np.full((L, K), -1, dtype=np.intp)
    slot_cover = np.ones((L, K))
    for j, (slots, shares) in enumerate(zip(leaf_slots, leaf_cover)):
        slot_feature[j, :len(slots)] = slots
        slot_cover[j, :len(shares)] = shares
    leaf_values = np.asarray(values, dtype=np.float64)[leaf_nodes]
    splits = np.asarray(order, dtype=np.intp)
    used = np.unique(np.asarray(feature)[splits]).astype(np.intp) if len(splits) else np.empty(0, np.intp)
    return Tree(feature=np.asarray(feature, dtype=np.intp)[splits],
                threshold=np.asarray(threshold, dtype=np.float64)[splits],
                missing_left=np.asarray(missing_left, dtype=bool)[splits],
                left_child=np.array([number[int(left[s])] for s in splits], dtype=np.intp),
                right_child=np.array([number[int(right[s])] for s in splits], dtype=np.intp),
                slot=np.array([slot_of[int(s)] for s in splits], dtype=np.intp),
                values=leaf_values, slot_feature=slot_feature, slot_cover=slot_cover,
                base=(leaf_values * slot_cover.prod(axis=1)[:, None]).sum(axis=0), features=used,
                categorical={number[node]: bits for node, bits in (categorical or {}).items()},
                float32=float32)


def sklearn_tree(estimator: Any, *, probability: bool, outputs: Optional[Sequence[int]] = None) -> Tree:
    """A fitted ``DecisionTreeRegressor``/``DecisionTreeClassifier`` (or a forest's tree):
    the cover is the weighted count of training rows at each node; a classifier's leaves
    hold its class probabilities (``probability``), of the classes at ``outputs`` (all
    when None)."""
    t = estimator.tree_
    values = np.asarray(t.value[:, 0, :], dtype=np.float64)
    if probability:
        totals = values.sum(axis=1, keepdims=True)
        values = np.divide(values, totals, out=np.zeros_like(values), where=totals > 0)
    if outputs is not None:
        values = values[:, list(outputs)]
    missing = getattr(t, "missing_go_to_left", None)
    missing_left = np.asarray(missing, dtype=bool) if missing is not None else np.ones(t.node_count, dtype=bool)
    left = np.asarray(t.children_left, dtype=np.intp)
    return _finish(np.where(left == np.asarray(t.children_right), -1, left), np.asarray(t.children_right),
                   t.feature, t.threshold, missing_left, t.weighted_n_node_samples, values, float32=True)


def boosting_tree(predictor: Any, known: Optional[tuple[np.ndarray, np.ndarray]]) -> Tree:
    """One tree (``TreePredictor``) of a histogram gradient boosting model; ``known``:
    the model's known-categories bitsets and their row per feature, when it has
    categorical features. The cover is the count of training rows at each node."""
    nodes = predictor.nodes
    leaf = nodes["is_leaf"].astype(bool)
    categorical: dict[int, tuple[np.ndarray, Optional[np.ndarray]]] = {}
    for node in np.flatnonzero(nodes["is_categorical"].astype(bool) & ~leaf):
        left_bits = np.asarray(predictor.raw_left_cat_bitsets[nodes["bitset_idx"][node]], dtype=np.uint32)
        known_bits = None
        if known is not None:
            bitsets, row = known
            known_bits = np.asarray(bitsets[row[nodes["feature_idx"][node]]], dtype=np.uint32)
        categorical[int(node)] = (left_bits, known_bits)
    left = np.where(leaf, -1, nodes["left"].astype(np.intp))
    right = np.where(leaf, -1, nodes["right"].astype(np.intp))
    return _finish(left, right, nodes["feature_idx"], nodes["num_threshold"],
                   nodes["missing_go_to_left"].astype(bool), nodes["count"].astype(np.float64),
                   nodes["value"][:, None], float32=False, categorical=categorical)
