"""A classifier's performance on a batch: estimated from its calibrated probabilities
while the labels are missing, and realized once they arrive. One owner for both, so an
estimate and the realized figure that replaces it are the same metric.

The app's Monitor page and an exported package's ``score.py --monitor-out`` both run
this module (every package carries it byte for byte). It imports numpy (scipy only for
ranks, lazily) and nothing from MLOps Desktop. Fitting the calibration is the app's
(``mlops_desktop.core.monitor.calibration``); here it is applied from plain numbers.

The metrics
    accuracy, precision, recall and F1 at the version's decision (binary: the positive
    class when its probability reaches the threshold chosen at validation, else the
    most probable class; more classes: the most probable class, precision, recall and
    F1 macro-averaged over the classes), and ROC AUC (binary: of the positive class;
    more classes: one-vs-rest, macro-averaged).

The estimate (confidence-based performance estimation, as NannyML's CBPE)
    Each row's calibrated probability p of each class is the chance that the row is
    that class. The expected confusion counts are sums of p (a row predicted positive
    is a true positive with probability p); the metrics are computed from them. ROC AUC
    from the expected positives and negatives per cell of the class's score.
    Calibration: isotonic regression of the outcome on the model's probability, fitted
    on labelled rows the model was not fitted on (the validation holdout) and used only
    where it lowers the expected calibration error across stratified splits; with more
    than two classes one-vs-rest, renormalised so a row's probabilities sum to 1.

    The rows are tallied per class, per cell of the class's score (``SCORE_CELLS``
    quantile cells of the reference's scores) and by whether the row is predicted as
    the class: the count, the sum of p and of p². The estimate and its band use only
    this tally, so a package can compute it chunk by chunk.

The band (95 %)
    covers two noises: the batch's (the labels of n rows are a draw: each cell's
    positives are drawn around the sum of p with variance Σ p(1 − p), normal
    approximation) and the calibration's (it was fitted on a finite reference:
    ``BOOTSTRAP`` isotonic fits on resamples of the reference, kept as curves on a grid;
    their spread around their own mean is added, draw by draw). ``BAND_DRAWS`` draws,
    seeded. With more than two classes each class's positives are drawn on their own,
    though a row has one class only: the macro-averaged bands can be a little narrow.

What it assumes
    that P(y | x) is unchanged since the reference (no concept drift): a change in how
    the outcome follows from the inputs does not show in the probabilities, so the
    estimate cannot see it. It is marked unreliable when the batch lies outside the
    training range (:func:`range_check`). Realized performance replaces it as soon as
    labels exist.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Sequence

import numpy as np

CALIBRATION_TYPE = "mlops-desktop performance calibration"
CALIBRATION_FORMAT = 1
METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc")
METRIC_LABELS = {"accuracy": "accuracy", "precision": "precision", "recall": "recall", "f1": "F1",
                 "roc_auc": "ROC AUC"}
#: cells of each class's score (quantiles of the reference's scores) the rows are tallied in
SCORE_CELLS = 100
#: points of the score at which the bootstrap calibration curves are kept
BOOTSTRAP_GRID = 64
#: isotonic fits on resamples of the reference (the calibration's own noise)
BOOTSTRAP = 40
BAND_DRAWS = 400
BAND_LEVEL = 0.95
BAND_SEED = 7919
#: a feature lies outside the training range from this share of its batch's values
OUTSIDE_SHARE = 0.05
#: segments with fewer rows get no figures of their own (bands too wide to read)
MIN_SEGMENT_ROWS = 50

ASSUMPTION = ("Estimated from the model's calibrated probabilities, without labels: it assumes that "
              "how the outcome follows from the inputs is unchanged since training (no concept drift), "
              "which it cannot see. Realized performance replaces it once labels arrive.")


class PerformanceInputError(ValueError):
    """A calibration, a tally or a label set that cannot be used; the message says why."""


def _floats(values: Any) -> list[float]:
    return [float(v) for v in np.asarray(values, dtype=np.float64).ravel()]


def _finite(value: Any) -> Optional[float]:
    v = float(value)
    return v if math.isfinite(v) else None


# -- the calibration -----------------------------------------------------------------------

@dataclass
class ClassCalibration:
    """How one class's probability is calibrated: the isotonic curve (knots, linear in
    between, flat beyond), whether it is used, the cells the rows are tallied in and the
    bootstrap curves."""

    label: str
    #: whether the isotonic curve is used (it lowered the calibration error); else p as given
    isotonic: bool
    x: np.ndarray
    y: np.ndarray
    #: expected calibration error of the raw and the isotonic probabilities, across splits
    ece_raw: Optional[float]
    ece_isotonic: Optional[float]
    #: inner edges of the score cells; a score s is in cell searchsorted(cells, s, "right")
    cells: np.ndarray
    #: points of the bootstrap curves, and the curves (one row per resample)
    grid: np.ndarray
    bootstrap: np.ndarray

    def apply(self, scores: np.ndarray) -> np.ndarray:
        """The calibrated probability of each score."""
        s = np.asarray(scores, dtype=np.float64)
        if not self.isotonic:
            return np.clip(s, 0.0, 1.0)
        return np.interp(s, self.x, self.y)

    def to_dict(self) -> dict[str, Any]:
        """The calibration of the class as plain numbers, as ``calibration.json`` keeps it."""
        return {"label": self.label, "isotonic": bool(self.isotonic), "x": _floats(self.x),
                "y": _floats(self.y), "ece_raw": self.ece_raw, "ece_isotonic": self.ece_isotonic,
                "cells": _floats(self.cells), "grid": _floats(self.grid),
                "bootstrap": [_floats(row) for row in self.bootstrap]}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "ClassCalibration":
        """A class's calibration read back from :meth:`to_dict`'s form; raises
        PerformanceInputError when its curves do not fit together."""
        boot = np.asarray(d["bootstrap"], dtype=np.float64)
        grid = np.asarray(d["grid"], dtype=np.float64)
        x, y = np.asarray(d["x"], dtype=np.float64), np.asarray(d["y"], dtype=np.float64)
        if boot.ndim != 2 or boot.shape[1] != len(grid) or len(grid) < 2 or len(x) != len(y) or \
                (bool(d["isotonic"]) and len(x) < 1):
            raise PerformanceInputError("The calibration's curves do not fit together.")
        return cls(str(d["label"]), bool(d["isotonic"]), x, y, d.get("ece_raw"), d.get("ece_isotonic"),
                   np.asarray(d["cells"], dtype=np.float64), grid, boot)


@dataclass
class Calibration:
    """A classifier's calibration and decision rule, as plain numbers (JSON)."""

    #: the model's classes, in the order of its probability columns
    classes: list[str]
    #: binary: the class whose probability is scored; None with more classes
    positive_class: Optional[str]
    #: binary: the decision threshold on the positive probability; None: the most probable class
    threshold: Optional[float]
    #: binary: the positive class only; more classes: one per class, in ``classes`` order
    curves: list[ClassCalibration]
    #: labelled rows the calibration was fitted on, and what they were
    reference_rows: int
    reference: str = ""
    seed: int = 0

    @property
    def binary(self) -> bool:
        """Whether the model has two classes."""
        return len(self.classes) == 2

    @property
    def positive_index(self) -> int:
        """The position of the positive class among the classes (a binary model's only)."""
        assert self.positive_class is not None
        return self.classes.index(self.positive_class)

    def scores(self, proba: np.ndarray) -> np.ndarray:
        """The model's probability of each calibrated class, (rows, classes kept)."""
        proba = _proba(proba, len(self.classes))
        return proba[:, [self.positive_index]] if self.binary else proba

    def calibrated(self, proba: np.ndarray) -> np.ndarray:
        """Calibrated probabilities, (rows, classes kept); with more than two classes
        renormalised to sum to 1 per row."""
        s = self.scores(proba)
        p = np.column_stack([c.apply(s[:, k]) for k, c in enumerate(self.curves)]) if len(s) else \
            np.empty((0, len(self.curves)))
        if not self.binary and len(p):
            total = p.sum(axis=1, keepdims=True)
            p = np.divide(p, total, out=np.full_like(p, 1.0 / p.shape[1]), where=total > 0)
        return p

    def predicted(self, proba: np.ndarray) -> np.ndarray:
        """Whether each row is predicted as each kept class, (rows, classes kept), bool:
        the version's decision (see the module docstring)."""
        proba = _proba(proba, len(self.classes))
        if self.binary:
            pos = self.positive_index
            if self.threshold is not None:
                hit = proba[:, pos] >= self.threshold
            else:
                hit = np.argmax(proba, axis=1) == pos
            return hit[:, None]
        return np.argmax(proba, axis=1)[:, None] == np.arange(len(self.classes))[None, :]

    def to_dict(self) -> dict[str, Any]:
        """The calibration as ``calibration.json`` keeps it."""
        return {"type": CALIBRATION_TYPE, "format": CALIBRATION_FORMAT, "classes": list(self.classes),
                "positive_class": self.positive_class, "threshold": self.threshold,
                "reference_rows": int(self.reference_rows), "reference": self.reference,
                "seed": int(self.seed), "curves": [c.to_dict() for c in self.curves]}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Calibration":
        """A calibration read from ``calibration.json``; raises PerformanceInputError when it
        is not one, is of a newer format, or is damaged."""
        if not isinstance(d, Mapping) or d.get("type") != CALIBRATION_TYPE:
            raise PerformanceInputError("This is not a performance calibration written by MLOps Desktop.")
        if int(d.get("format", 0)) > CALIBRATION_FORMAT:
            raise PerformanceInputError(f"This calibration has format {d.get('format')}; this code reads up "
                                        f"to format {CALIBRATION_FORMAT}.")
        try:
            classes = [str(c) for c in d["classes"]]
            curves = [ClassCalibration.from_dict(c) for c in d["curves"]]
            positive = d.get("positive_class")
            out = cls(classes, None if positive is None else str(positive),
                      None if d.get("threshold") is None else float(d["threshold"]), curves,
                      int(d["reference_rows"]), str(d.get("reference", "")), int(d.get("seed", 0)))
        except (KeyError, TypeError, ValueError) as exc:
            raise PerformanceInputError(f"The calibration is damaged ({type(exc).__name__}: {exc}).") from None
        expected = 1 if out.binary else len(classes)
        if len(classes) < 2 or len(curves) != expected or (out.binary and positive not in classes):
            raise PerformanceInputError("The calibration does not match its classes.")
        return out

    def summary(self) -> dict[str, Any]:
        """What the calibration is, in brief (for reports)."""
        return {"reference": self.reference, "reference_rows": self.reference_rows,
                "positive_class": self.positive_class, "threshold": self.threshold,
                "isotonic": {c.label: c.isotonic for c in self.curves},
                "ece_raw": {c.label: c.ece_raw for c in self.curves},
                "ece_isotonic": {c.label: c.ece_isotonic for c in self.curves}}


def _proba(proba: Any, n_classes: int) -> np.ndarray:
    p = np.asarray(proba, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] != n_classes:
        raise PerformanceInputError(f"Expected probabilities of {n_classes} classes, got an array of shape "
                                    f"{p.shape}.")
    return p


# -- the tally -----------------------------------------------------------------------------

class Tally:
    """What the estimate needs of a batch, added chunk by chunk: per kept class, per
    cell of its score and by whether the row is predicted as the class, the rows, the
    sums of p and p², and the interpolation weights of the scores on the bootstrap grid
    (so every bootstrap curve's sum of p follows by one product)."""

    def __init__(self, calibration: Calibration) -> None:
        self.calibration = calibration
        k = len(calibration.curves)
        b = max(len(c.cells) for c in calibration.curves) + 1
        g = max(len(c.grid) for c in calibration.curves)
        self.shape = (k, b, 2)
        self.n = np.zeros(self.shape)
        self.sp = np.zeros(self.shape)
        self.spp = np.zeros(self.shape)
        self.weights = np.zeros((*self.shape, g))

    @property
    def rows(self) -> int:
        """The number of rows tallied."""
        return int(round(float(self.n[0].sum())))

    def add(self, proba: np.ndarray) -> None:
        """Tally the rows of one chunk (the model's probabilities, classes in order)."""
        cal = self.calibration
        if len(proba) == 0:
            return
        scores, p, hit = cal.scores(proba), cal.calibrated(proba), cal.predicted(proba)
        _, b, _ = self.shape
        g = self.weights.shape[-1]
        for k, curve in enumerate(cal.curves):
            s = scores[:, k]
            cell = np.searchsorted(curve.cells, s, side="right") * 2 + hit[:, k]
            self.n[k] += np.bincount(cell, minlength=b * 2).reshape(b, 2)
            self.sp[k] += np.bincount(cell, weights=p[:, k], minlength=b * 2).reshape(b, 2)
            self.spp[k] += np.bincount(cell, weights=p[:, k] ** 2, minlength=b * 2).reshape(b, 2)
            grid = curve.grid
            j = np.clip(np.searchsorted(grid, s, side="right") - 1, 0, len(grid) - 2)
            w = np.clip((s - grid[j]) / (grid[j + 1] - grid[j]), 0.0, 1.0)
            flat = cell * g + j
            self.weights[k] += (np.bincount(flat, weights=1 - w, minlength=b * 2 * g)
                                + np.bincount(flat + 1, weights=w, minlength=b * 2 * g)).reshape(b, 2, g)

    def bootstrap_sums(self) -> np.ndarray:
        """The sum of p per cell under each bootstrap curve, (resamples, *shape)."""
        out = []
        for k, curve in enumerate(self.calibration.curves):
            boot = curve.bootstrap
            if boot.shape[1] < self.weights.shape[-1]:  # curves of one calibration share a grid length
                boot = np.pad(boot, ((0, 0), (0, self.weights.shape[-1] - boot.shape[1])))
            out.append(np.einsum("bcg,rg->rbc", self.weights[k], boot))
        return np.stack(out, axis=1)


# -- metrics from counts -----------------------------------------------------------------

def _ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b > 0, a / np.where(b > 0, b, 1.0), np.nan)


def _from_counts(positives: np.ndarray, n: np.ndarray, binary: bool) -> dict[str, np.ndarray]:
    """Every metric from positives and rows per (…, class, cell, predicted?) — counts
    expected, drawn or observed alike. Leading axes are kept (draws)."""
    tp = positives[..., 1].sum(axis=-1)                # (…, K)
    predicted = n[..., 1].sum(axis=-1)
    actual = positives.sum(axis=(-1, -2))
    rows = n[..., 0, :, :].sum(axis=(-1, -2))          # (…)
    precision = _ratio(tp, predicted)
    recall = _ratio(tp, actual)
    f1 = _ratio(2 * tp, predicted + actual)
    pos_cell = positives.sum(axis=-1)                  # (…, K, B)
    neg_cell = n.sum(axis=-1) - pos_cell
    below = np.cumsum(neg_cell, axis=-1) - neg_cell
    auc = _ratio((pos_cell * (below + 0.5 * neg_cell)).sum(axis=-1),
                 pos_cell.sum(axis=-1) * neg_cell.sum(axis=-1))
    if binary:
        tn = (n[..., 0, :, 0] - positives[..., 0, :, 0]).sum(axis=-1)
        return {"accuracy": _ratio(tp[..., 0] + tn, rows), "precision": precision[..., 0],
                "recall": recall[..., 0], "f1": f1[..., 0], "roc_auc": auc[..., 0]}
    with np.errstate(invalid="ignore"), _quiet():
        return {"accuracy": _ratio(tp.sum(axis=-1), rows), "precision": np.nanmean(precision, axis=-1),
                "recall": np.nanmean(recall, axis=-1), "f1": np.nanmean(f1, axis=-1),
                "roc_auc": np.nanmean(auc, axis=-1)}


class _quiet:
    """nanmean of an all-missing slice is missing, without a warning."""

    def __enter__(self) -> None:
        import warnings

        self._w = warnings.catch_warnings()
        self._w.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc: Any) -> None:
        self._w.__exit__(*exc)


# -- the estimate ------------------------------------------------------------------------

@dataclass
class MetricEstimate:
    """One metric: the estimate, its band, and whether it can be relied on (why not)."""

    estimate: Optional[float]
    low: Optional[float]
    high: Optional[float]
    reliable: bool
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The estimate as plain values."""
        return {"estimate": self.estimate, "low": self.low, "high": self.high, "reliable": self.reliable,
                "reason": self.reason}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "MetricEstimate":
        """An estimate read back from :meth:`to_dict`'s form."""
        return cls(d.get("estimate"), d.get("low"), d.get("high"), bool(d.get("reliable")),
                   str(d.get("reason") or ""))


@dataclass
class PerformanceEstimate:
    """The estimated performance of one batch (or of one segment of it)."""

    metrics: dict[str, MetricEstimate]
    rows: int
    reliable: bool
    reason: str
    positive_class: Optional[str]
    threshold: Optional[float]
    level: float = BAND_LEVEL
    assumption: str = ASSUMPTION
    calibration: dict[str, Any] = field(default_factory=dict)
    #: per segment value (segmented models), the same without segments
    segments: dict[str, "PerformanceEstimate"] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The estimate as plain values, with each metric and each segment's estimate."""
        return {"metrics": {k: m.to_dict() for k, m in self.metrics.items()}, "rows": self.rows,
                "reliable": self.reliable, "reason": self.reason, "positive_class": self.positive_class,
                "threshold": self.threshold, "level": self.level, "assumption": self.assumption,
                "calibration": self.calibration,
                "segments": {k: s.to_dict() for k, s in self.segments.items()}}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "PerformanceEstimate":
        """An estimate read back from :meth:`to_dict`'s form."""
        return cls({k: MetricEstimate.from_dict(m) for k, m in d["metrics"].items()}, int(d["rows"]),
                   bool(d["reliable"]), str(d.get("reason") or ""), d.get("positive_class"), d.get("threshold"),
                   float(d.get("level", BAND_LEVEL)), str(d.get("assumption") or ASSUMPTION),
                   dict(d.get("calibration") or {}),
                   {k: cls.from_dict(s) for k, s in (d.get("segments") or {}).items()})


def estimate(tally: Tally, *, reliable: bool = True, reason: str = "", draws: int = BAND_DRAWS,
             level: float = BAND_LEVEL, seed: int = BAND_SEED) -> PerformanceEstimate:
    """The expected metrics of the tallied batch with their bands (see the module
    docstring). ``reliable``/``reason``: the batch's range check (:func:`range_check`)."""
    cal = tally.calibration
    binary = cal.binary
    expected = _from_counts(tally.sp, tally.n, binary)
    rng = np.random.default_rng(seed)
    spread = np.sqrt(np.maximum(tally.sp - tally.spp, 0.0))
    drawn = np.clip(tally.sp + spread * rng.standard_normal((draws, *tally.shape)), 0.0, tally.n)
    batch_noise = _from_counts(drawn, np.broadcast_to(tally.n, drawn.shape), binary)
    boot = tally.bootstrap_sums()
    calibration_noise = _from_counts(boot, np.broadcast_to(tally.n, boot.shape), binary)
    pick = np.arange(draws) % len(boot)
    alpha = (1 - level) / 2
    metrics = {}
    for name in METRICS:
        value = float(expected[name])
        if not math.isfinite(value):
            metrics[name] = MetricEstimate(None, None, None, False, _undefined(name, binary))
            continue
        cal_dev = calibration_noise[name] - np.nanmean(calibration_noise[name])
        dev = (batch_noise[name] - value) + np.nan_to_num(cal_dev[pick])
        dev = dev[np.isfinite(dev)]
        lo, hi = (np.quantile(dev, [alpha, 1 - alpha]) if len(dev) else (0.0, 0.0))
        metrics[name] = MetricEstimate(value, float(np.clip(value + min(lo, 0.0), 0, 1)),
                                       float(np.clip(value + max(hi, 0.0), 0, 1)), reliable, reason)
    return PerformanceEstimate(metrics, tally.rows, reliable, reason, cal.positive_class, cal.threshold,
                               level, calibration=cal.summary())


def _undefined(name: str, binary: bool) -> str:
    what = {"precision": "no row is expected to be predicted positive" if binary else
            "no class is predicted",
            "recall": "no positive row is expected", "f1": "no positive row is expected or predicted",
            "roc_auc": "the batch is expected to hold one class only",
            "accuracy": "the batch has no rows"}
    return f"Not defined: {what.get(name, 'not enough rows')}."


# -- realized performance ----------------------------------------------------------------

@dataclass
class RealizedPerformance:
    """The metrics on labelled rows, by the same definitions as the estimate."""

    metrics: dict[str, Optional[float]]
    rows: int
    positive_class: Optional[str]
    threshold: Optional[float]
    #: labelled rows whose label is not one of the model's classes (they count as wrong)
    unknown_labels: int = 0
    segments: dict[str, "RealizedPerformance"] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The performance measured on labels as plain values, with each segment's."""
        return {"metrics": dict(self.metrics), "rows": self.rows, "positive_class": self.positive_class,
                "threshold": self.threshold, "unknown_labels": self.unknown_labels,
                "segments": {k: s.to_dict() for k, s in self.segments.items()}}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "RealizedPerformance":
        """A measured performance read back from :meth:`to_dict`'s form."""
        return cls(dict(d["metrics"]), int(d["rows"]), d.get("positive_class"), d.get("threshold"),
                   int(d.get("unknown_labels") or 0),
                   {k: cls.from_dict(s) for k, s in (d.get("segments") or {}).items()})


def realized(calibration: Calibration, proba: np.ndarray, labels: Sequence[Any]) -> RealizedPerformance:
    """The metrics of rows whose labels (class labels as text) are known. ROC AUC from
    the ranks of the model's scores (ties shared), the others from the confusion counts."""
    from scipy.stats import rankdata

    proba = _proba(proba, len(calibration.classes))
    y = np.asarray([str(v) for v in labels], dtype=object)
    if len(y) != len(proba):
        raise PerformanceInputError("One label per scored row is needed.")
    kept = [calibration.positive_class] if calibration.binary else calibration.classes
    truth = np.column_stack([y == c for c in kept]) if len(y) else np.zeros((0, len(kept)), bool)
    hit = calibration.predicted(proba)
    scores = calibration.scores(proba)
    n = float(len(y))
    tp = (truth & hit).sum(axis=0).astype(np.float64)
    predicted, actual = hit.sum(axis=0).astype(np.float64), truth.sum(axis=0).astype(np.float64)
    auc = np.full(len(kept), np.nan)
    for k in range(len(kept)):
        npos, nneg = actual[k], n - actual[k]
        if npos and nneg:
            ranks = rankdata(scores[:, k])
            auc[k] = (ranks[truth[:, k]].sum() - npos * (npos + 1) / 2) / (npos * nneg)
    precision, recall, f1 = _ratio(tp, predicted), _ratio(tp, actual), _ratio(2 * tp, predicted + actual)
    if calibration.binary:
        correct = float(np.sum(truth[:, 0] == hit[:, 0]))
        values = {"accuracy": correct / n if n else np.nan, "precision": precision[0], "recall": recall[0],
                  "f1": f1[0], "roc_auc": auc[0]}
    else:
        with _quiet():
            values = {"accuracy": tp.sum() / n if n else np.nan, "precision": np.nanmean(precision),
                      "recall": np.nanmean(recall), "f1": np.nanmean(f1), "roc_auc": np.nanmean(auc)}
    unknown = int(np.sum(~np.isin(y, np.asarray(calibration.classes, dtype=object))))
    return RealizedPerformance({k: _finite(v) for k, v in values.items()}, int(n), calibration.positive_class,
                               calibration.threshold, unknown)


# -- when the estimate can be relied on --------------------------------------------------

def outside_shares(features: Sequence[Any]) -> dict[str, float]:
    """Per compared feature (drift results), the share of the batch's values outside
    the reference: numbers beyond its minimum or maximum, categories it never had."""
    out = {}
    for r in features:
        if getattr(r, "verdict", None) == "not comparable":
            continue
        m = r.metrics
        share = m.get("outside_range_share") if r.kind == "numeric" else m.get("new_share")
        if share is not None:
            out[r.name] = float(share)
    return out


def range_check(shares: Mapping[str, float]) -> tuple[bool, str]:
    """The one rule: the estimate is unreliable when a feature has at least
    ``OUTSIDE_SHARE`` of its batch values outside the reference (numbers beyond its
    range, new categories): the calibration was never checked there. Returns
    (reliable, the reason when not)."""
    outside = sorted(((s, n) for n, s in shares.items() if s >= OUTSIDE_SHARE), reverse=True)
    if not outside:
        return True, ""
    listed = ", ".join(f"{n} ({s:.0%} of its values)" for s, n in outside[:4]) + (" …" if len(outside) > 4 else "")
    return False, (f"Unreliable: the batch lies outside the training range in {listed}; the model's "
                   "probabilities were never checked there.")
