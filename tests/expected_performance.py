"""An independent reference for a batch's estimated performance (binary): each row's
label is drawn from its calibrated probability, so the expected true positives, predicted
positives and actual positives are sums over the rows; the estimate's metrics are their
ratios. Computed row by row here, where the package tallies them by cells."""

from __future__ import annotations

import numpy as np


def expected_metrics(calibration, proba: np.ndarray) -> dict[str, float]:
    """Expected accuracy, precision, recall and F1 of the model's probabilities ``proba``
    (columns in ``calibration.classes`` order) under its calibration and decision rule."""
    positive = calibration.classes.index(calibration.positive_class)
    p = calibration.calibrated(proba)[:, 0]  # each row's chance of being positive
    decided = (proba[:, positive] >= calibration.threshold if calibration.threshold is not None
               else np.argmax(proba, axis=1) == positive)
    tp, predicted, actual = p[decided].sum(), decided.sum(), p.sum()
    return {"accuracy": (tp + (1 - p[~decided]).sum()) / len(p), "precision": tp / predicted,
            "recall": tp / actual, "f1": 2 * tp / (predicted + actual)}
