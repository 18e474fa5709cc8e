"""Holdout metrics for many weightings of the rows at once.

A bootstrap resample, a subgroup and the holdout itself are all the same thing to these
scorers: a row of weights over the holdout rows (how often each row was drawn, 1 for the
rows of a group, 1 everywhere). Each scorer computes its metrics for a whole matrix of
weight rows with matrix products and cumulative sums over rows sorted by score, so
1,000 resamples cost a few array operations instead of 1,000 calls per metric.

The definitions follow scikit-learn's (``roc_auc_score``, ``average_precision_score``,
``log_loss``, ``brier_score_loss``, ``f1_score``...): on unit weights the values are the
same; the tests check it. Where scikit-learn would fall back to 0 for an undefined
value (precision with no predicted positive, F1 with no positive at all, R² with a
constant target) the scorers give NaN, which the report shows as "not defined".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from ..train.metrics import primary_metric

#: probabilities are clipped like scikit-learn's log_loss does, so a 0 or 1 stays finite
_EPS = np.finfo(np.float64).eps


@dataclass(frozen=True)
class MetricInfo:
    """A metric's name, its label in words, and whether higher is better."""
    name: str
    label: str
    higher_is_better: bool


METRIC_INFO = {m.name: m for m in (
    MetricInfo("roc_auc", "ROC AUC", True),
    MetricInfo("pr_auc", "PR AUC (average precision)", True),
    MetricInfo("log_loss", "log loss", False),
    MetricInfo("brier", "Brier score", False),
    MetricInfo("accuracy", "accuracy", True),
    MetricInfo("balanced_accuracy", "balanced accuracy", True),
    MetricInfo("f1", "F1", True),
    MetricInfo("f1_macro", "F1 (macro average)", True),
    MetricInfo("precision", "precision", True),
    MetricInfo("recall", "recall (true positive rate)", True),
    MetricInfo("false_positive_rate", "false positive rate", False),
    MetricInfo("positive_rate", "share of actual positives", True),
    MetricInfo("predicted_positive_rate", "share predicted positive", True),
    MetricInfo("rmse", "RMSE", False),
    MetricInfo("mae", "MAE", False),
    MetricInfo("r2", "R²", True),
    MetricInfo("mape", "MAPE", False),
    MetricInfo("mean_residual", "mean residual (actual − predicted)", False),
)}

#: metrics shown with intervals, per task (PRIMARY, not the order here, decides against
#: the baseline)
MAIN_METRICS = {
    "binary": ("roc_auc", "pr_auc", "log_loss", "brier", "accuracy", "balanced_accuracy", "f1",
               "precision", "recall"),
    "multiclass": ("log_loss", "roc_auc", "pr_auc", "brier", "accuracy", "balanced_accuracy",
                   "f1_macro"),
    "regression": ("rmse", "mae", "r2", "mape"),
}
#: point metrics shown per segment and subgroup (rates make unequal treatment visible)
GROUP_METRICS = {
    "binary": ("roc_auc", "pr_auc", "accuracy", "balanced_accuracy", "f1", "precision", "recall",
               "false_positive_rate", "positive_rate", "predicted_positive_rate", "log_loss",
               "brier"),
    "multiclass": ("log_loss", "roc_auc", "accuracy", "balanced_accuracy", "f1_macro", "brier"),
    "regression": ("rmse", "mae", "r2", "mape", "mean_residual"),
}
#: the metric whose paired bootstrap difference decides "beats the baseline": the
#: training's primary metric (core.train.metrics owns the rule)
PRIMARY = {task: primary_metric(task) for task in ("binary", "multiclass", "regression")}

MULTICLASS_LABELS = {"roc_auc": "ROC AUC (one-vs-rest, macro average)",
                     "pr_auc": "PR AUC (one-vs-rest, macro average)"}


def label(name: str, task: str) -> str:
    """A metric's name in words, for this task."""
    if task == "multiclass" and name in MULTICLASS_LABELS:
        return MULTICLASS_LABELS[name]
    return METRIC_INFO[name].label


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den, NaN where den is 0 (an undefined rate, not a zero one)."""
    out = np.full(np.shape(num), np.nan)
    np.divide(num, den, out=out, where=den != 0)
    return out


class RankedScores:
    """Scores sorted once (highest first) with their ties grouped, for ROC AUC and
    average precision under any weighting of the rows.

    Weights are whole numbers (resample counts, 0/1 group masks), which the
    precision step relies on.
    """

    #: up to this many distinct scores, group sums are one matrix product
    FEW_SCORES = 32

    def __init__(self, scores: np.ndarray, positive: np.ndarray) -> None:
        scores = np.asarray(scores, dtype=float)
        positive = np.asarray(positive, dtype=bool)
        self.order = np.argsort(-scores, kind="mergesort")
        s = scores[self.order]
        # rows with equal scores form one threshold, as in scikit-learn's curves
        self.starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
        self.positive = positive[self.order].astype(float)
        self.ties = len(self.starts) < len(s)
        self._indicator: Optional[np.ndarray] = None
        if self.ties and len(self.starts) <= self.FEW_SCORES:
            # columns: positives of each distinct score, then negatives (original row order)
            group = np.empty(len(s), dtype=int)
            group[self.order] = np.repeat(np.arange(len(self.starts)), np.diff(np.r_[self.starts, len(s)]))
            g = len(self.starts)
            self._indicator = np.zeros((len(s), 2 * g))
            self._indicator[np.arange(len(s)), group + np.where(positive, 0, g)] = 1.0

    def group_weights(self, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Positive and negative weight per distinct score (highest first), per weight row."""
        if self._indicator is not None:
            sums = weights @ self._indicator
            g = sums.shape[1] // 2
            return sums[:, :g], sums[:, g:]
        w = weights[:, self.order]
        pos = w * self.positive
        neg = np.subtract(w, pos, out=w)
        if self.ties:
            return (np.add.reduceat(pos, self.starts, axis=1),
                    np.add.reduceat(neg, self.starts, axis=1))
        return pos, neg

    def auc_and_ap(self, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """ROC AUC (ties count one half, as the trapezoid under scikit-learn's ROC curve
        does) and average precision, per weight row; NaN without both classes."""
        pos, neg = self.group_weights(weights)
        n_pos, n_neg = pos.sum(axis=1), neg.sum(axis=1)
        cum_neg = np.cumsum(neg, axis=1)
        # each positive beats the negatives scored below it and half of those tied with it:
        # sum(pos * (n_neg - cum_neg + neg / 2)), without building the temporary
        beaten = n_pos * n_neg - np.einsum("ij,ij->i", pos, cum_neg)
        if self.ties:
            beaten += 0.5 * np.einsum("ij,ij->i", pos, neg)
        auc = _ratio(beaten, n_pos * n_neg)
        cum_pos = np.cumsum(pos, axis=1)
        drawn = np.add(cum_pos, cum_neg, out=cum_neg)
        # whole-number weights: drawn is 0 only before the first drawn row, where cum_pos is 0 too
        np.maximum(drawn, 1.0, out=drawn)
        precision = np.divide(cum_pos, drawn, out=cum_pos)
        # average precision: precision at each threshold times the recall it adds
        ap = _ratio(np.einsum("ij,ij->i", pos, precision), n_pos)
        return auc, ap


class BinaryScorer:
    """Metrics of scores for the positive class at a fixed threshold
    (positive when score >= threshold)."""

    task = "binary"

    def __init__(self, positive: np.ndarray, scores: np.ndarray, threshold: float) -> None:
        y = np.asarray(positive, dtype=bool)
        p = np.asarray(scores, dtype=float)
        self._args = (y, p, threshold)
        predicted = p >= threshold
        loss = np.where(y, -np.log(np.clip(p, _EPS, 1 - _EPS)), -np.log(np.clip(1 - p, _EPS, 1 - _EPS)))
        self._columns = np.column_stack([loss, (p - y) ** 2, predicted == y, y, predicted,
                                         y & predicted]).astype(float)
        self._ranked = RankedScores(p, y)

    def metrics(self, weights: np.ndarray) -> dict[str, np.ndarray]:
        """Each metric for every row of weights at once (one value per weight row, NaN where
        not defined)."""
        weights = np.atleast_2d(weights).astype(float, copy=False)
        n = weights.sum(axis=1)
        loss, brier, correct, pos, pred, tp = (weights @ self._columns).T
        neg = n - pos
        fp, fn = pred - tp, pos - tp
        tn = neg - fp
        recall, specificity = _ratio(tp, pos), _ratio(tn, neg)
        # scikit-learn averages the recall of the classes present in y_true
        balanced = np.where(np.isnan(recall), specificity,
                            np.where(np.isnan(specificity), recall, (recall + specificity) / 2))
        auc, ap = self._ranked.auc_and_ap(weights)
        return {"roc_auc": auc, "pr_auc": ap, "log_loss": _ratio(loss, n), "brier": _ratio(brier, n),
                "accuracy": _ratio(correct, n), "balanced_accuracy": balanced,
                "f1": _ratio(2 * tp, 2 * tp + fp + fn), "precision": _ratio(tp, pred),
                "recall": recall, "false_positive_rate": _ratio(fp, neg),
                "positive_rate": _ratio(pos, n), "predicted_positive_rate": _ratio(pred, n)}


class MulticlassScorer:
    """Metrics of class probabilities (columns in class order); the predicted class is
    the most probable one."""

    task = "multiclass"

    def __init__(self, y_index: np.ndarray, proba: np.ndarray) -> None:
        proba = np.asarray(proba, dtype=float)
        y = np.asarray(y_index, dtype=int)
        self._args = (y, proba)
        n, k = proba.shape
        self.k = k
        onehot = np.zeros((n, k), dtype=bool)
        onehot[np.arange(n), y] = True
        predicted = proba.argmax(axis=1)
        pred_onehot = np.zeros((n, k), dtype=bool)
        pred_onehot[np.arange(n), predicted] = True
        loss = -np.log(np.clip(proba[np.arange(n), y], _EPS, 1 - _EPS))
        # scikit-learn's multiclass Brier score: squared error summed over the classes
        brier = ((onehot - proba) ** 2).sum(axis=1)
        self._columns = np.column_stack([loss, brier, predicted == y, onehot, pred_onehot,
                                         onehot & pred_onehot]).astype(float)
        self._ranked = [RankedScores(proba[:, j], onehot[:, j]) for j in range(k)]

    def metrics(self, weights: np.ndarray) -> dict[str, np.ndarray]:
        """Each metric for every row of weights at once (one value per weight row, NaN where
        not defined)."""
        weights = np.atleast_2d(weights).astype(float, copy=False)
        k = self.k
        n = weights.sum(axis=1)
        sums = weights @ self._columns
        loss, brier, correct = sums[:, 0], sums[:, 1], sums[:, 2]
        actual, predicted, tp = sums[:, 3:3 + k], sums[:, 3 + k:3 + 2 * k], sums[:, 3 + 2 * k:]
        with np.errstate(invalid="ignore"):
            # balanced accuracy: mean recall over the classes present
            recall = _ratio(tp, actual)
            balanced = _nanmean(recall)
            # macro F1 over the classes that occur as actual or predicted (scikit-learn's labels)
            f1 = _nanmean(_ratio(2 * tp, actual + predicted))
        aucs, aps = zip(*(r.auc_and_ap(weights) for r in self._ranked))
        # one-vs-rest averages need every class present, as scikit-learn requires
        return {"log_loss": _ratio(loss, n), "brier": _ratio(brier, n),
                "accuracy": _ratio(correct, n), "balanced_accuracy": balanced,
                "f1_macro": f1, "roc_auc": np.mean(np.column_stack(aucs), axis=1),
                "pr_auc": np.mean(np.column_stack(aps), axis=1)}


class RegressionScorer:
    """Metrics of numeric predictions; MAPE only when ``with_mape`` (no zero targets)."""

    task = "regression"

    def __init__(self, actual: np.ndarray, predicted: np.ndarray, *, with_mape: bool) -> None:
        y = np.asarray(actual, dtype=float)
        self._args = (y, np.asarray(predicted, dtype=float))
        e = y - np.asarray(predicted, dtype=float)
        # centring keeps the total sum of squares exact when the target has a large mean
        yc = y - y.mean() if len(y) else y
        ape = np.abs(e) / np.abs(y) if with_mape else np.zeros_like(y)
        self.with_mape = with_mape
        self._columns = np.column_stack([e ** 2, np.abs(e), ape, e, yc, yc ** 2])

    def metrics(self, weights: np.ndarray) -> dict[str, np.ndarray]:
        """Each metric for every row of weights at once (one value per weight row; R² NaN for
        a constant target)."""
        weights = np.atleast_2d(weights).astype(float, copy=False)
        n = weights.sum(axis=1)
        sse, sae, sape, se, sy, syy = (weights @ self._columns).T
        sst = syy - _ratio(sy ** 2, n)
        # a group with a constant target has no variance to explain: R² is not defined
        sst = np.where(sst > 1e-12 * np.maximum(syy, 1e-300), sst, 0.0)
        out = {"rmse": np.sqrt(_ratio(sse, n)), "mae": _ratio(sae, n),
               "r2": 1 - _ratio(sse, sst), "mean_residual": _ratio(se, n)}
        if self.with_mape:
            out["mape"] = _ratio(sape, n)
        return out


def subset(scorer: "BinaryScorer | MulticlassScorer | RegressionScorer",
           rows: np.ndarray) -> "BinaryScorer | MulticlassScorer | RegressionScorer":
    """The same scorer on some rows only (a subgroup): weights over those rows score it as
    the full scorer scores weights that are zero elsewhere, at a fraction of the cost."""
    args = tuple(a[rows] if isinstance(a, np.ndarray) else a for a in scorer._args)
    if isinstance(scorer, RegressionScorer):
        return RegressionScorer(*args, with_mape=scorer.with_mape)
    return type(scorer)(*args)


#: Newton steps a calibration fit takes at most
CALIBRATION_ITERATIONS = 50
_LOGIT_CLIP = 1e-15


class CalibrationScorer:
    """How well predicted probabilities of the positive class match what happens, per
    weight row: the calibration slope and intercept of the logistic recalibration
    logit P(y) = a + b·logit(p) (slope b, ideal 1: below 1 the predictions are too
    extreme), the calibration-in-the-large a' of logit P(y) = a' + logit(p) (ideal 0:
    above 0 the model predicts too few events), and the expected calibration error, the
    weighted mean gap between the share of positives and the mean prediction in ten
    equal-count bins of the scores (ideal 0). The fits are weighted logistic regressions,
    as statsmodels' ``GLM(..., family=Binomial(), freq_weights=w)`` gives them."""

    task = "calibration"
    BINS = 10

    def __init__(self, positive: np.ndarray, scores: np.ndarray) -> None:
        self.y = np.asarray(positive, dtype=float)
        p = np.clip(np.asarray(scores, dtype=float), _LOGIT_CLIP, 1 - _LOGIT_CLIP)
        self.z = np.log(p) - np.log1p(-p)
        edges = np.percentile(p, np.linspace(0, 100, self.BINS + 1))
        bin_of = np.searchsorted(edges[1:-1], p)
        self._bins = np.zeros((len(p), self.BINS))
        self._bins[np.arange(len(p)), bin_of] = self.y - p

    def metrics(self, weights: np.ndarray) -> dict[str, np.ndarray]:
        """The calibration slope, intercept and expected calibration error for every row of
        weights at once."""
        weights = np.atleast_2d(weights).astype(float, copy=False)
        n = weights.sum(axis=1)
        ece = _ratio(np.abs(weights @ self._bins).sum(axis=1), n)
        slope_fit = self._fit(weights, slope=True)
        return {"calibration_slope": slope_fit[1], "calibration_intercept": self._fit(weights, slope=False)[0],
                "ece": ece}

    def _fit(self, w: np.ndarray, *, slope: bool) -> tuple[np.ndarray, np.ndarray]:
        """Weighted Newton steps for (a, b) of logit P(y) = a + b·z, or for a with b fixed
        at 1; NaN where a fit does not converge (a resample whose classes separate)."""
        from scipy.special import expit

        m = len(w)
        a, b = np.zeros(m), np.ones(m)
        y, z = self.y, self.z
        done = np.zeros(m, dtype=bool)
        for _ in range(CALIBRATION_ITERATIONS):
            eta = a[:, None] + b[:, None] * z
            p = expit(eta)
            r = w * (y - p)
            v = w * p * (1 - p)
            g0 = r.sum(axis=1)
            h00 = v.sum(axis=1)
            if slope:
                g1, h01, h11 = r @ z, v @ z, v @ (z * z)
                det = h00 * h11 - h01 * h01
                with np.errstate(all="ignore"):
                    da = (h11 * g0 - h01 * g1) / det
                    db = (h00 * g1 - h01 * g0) / det
            else:
                with np.errstate(all="ignore"):
                    da, db = g0 / h00, np.zeros(m)
            a, b = a + np.where(done, 0.0, da), b + np.where(done, 0.0, db)
            done |= (np.abs(da) < 1e-10) & (np.abs(db) < 1e-10)
            if done.all():
                break
        bad = ~done | ~np.isfinite(a) | ~np.isfinite(b)
        return np.where(bad, np.nan, a), np.where(bad, np.nan, b)


def _nanmean(values: np.ndarray) -> np.ndarray:
    counts = np.sum(~np.isnan(values), axis=1)
    total = np.nansum(values, axis=1)
    return _ratio(total, counts.astype(float))


def point(scorer: "BinaryScorer | MulticlassScorer | RegressionScorer", n: int) -> dict[str, Optional[float]]:
    """The metrics on the whole holdout (every row once)."""
    values = scorer.metrics(np.ones((1, n)))
    return {k: (float(v[0]) if np.isfinite(v[0]) else None) for k, v in values.items()}
