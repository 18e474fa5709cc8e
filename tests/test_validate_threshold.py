"""Validate: threshold rules choose the right threshold on constructed cases."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import confusion_matrix, f1_score, precision_score, recall_score

from mlops_desktop.core.errors import InvalidChoiceError
from mlops_desktop.core.validate import ValidationError, choose_threshold


def scan(y, s):
    """Every threshold worth trying, by brute force: each distinct score and one above all."""
    return list(np.unique(s)) + [np.max(s) + 1.0]


def counts(y, s, t):
    tn, fp, fn, tp = confusion_matrix(y, s >= t, labels=[False, True]).ravel()
    return tn, fp, fn, tp


@pytest.fixture
def scores():
    rng = np.random.default_rng(11)
    y = rng.random(300) < 0.35
    s = np.clip(0.35 + 0.25 * np.where(y, 1, -1) + rng.normal(0, 0.2, 300), 0, 1).round(3)
    return y, s


def test_f1_rule_maximises_f1(scores):
    y, s = scores
    t, why = choose_threshold(y, s, "f1")
    best = max(f1_score(y, s >= c, zero_division=0) for c in scan(y, s))
    assert f1_score(y, s >= t) == pytest.approx(best)
    assert "F1" in why


@pytest.mark.parametrize("cost_fp,cost_fn", [(1, 1), (1, 10), (10, 1), (0, 1), (1, 0)])
def test_cost_rule_minimises_cost_against_a_brute_force_scan(scores, cost_fp, cost_fn):
    y, s = scores

    def cost(t):
        _, fp, fn, _ = counts(y, s, t)
        return cost_fp * fp + cost_fn * fn

    t, why = choose_threshold(y, s, "cost", cost_fp=cost_fp, cost_fn=cost_fn)
    assert cost(t) == min(cost(c) for c in scan(y, s))
    assert "cost" in why


def test_cost_rule_on_a_hand_made_case():
    # scores 0.1..0.9; positives at 0.6 and above, plus one at 0.2 and a negative at 0.8
    s = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9])
    y = np.array([0, 1, 0, 0, 0, 1, 1, 0, 1], dtype=bool)
    # equal costs: threshold 0.6 (one FP at 0.8, one FN at 0.2) beats 0.2 (four FPs)
    assert choose_threshold(y, s, "cost")[0] == 0.6
    # missing a positive costs 10: catch the one at 0.2 too (four false positives cost less)
    assert choose_threshold(y, s, "cost", cost_fp=1, cost_fn=10)[0] == 0.2
    # a false alarm costs 10: predict positive only above the negative at 0.8
    assert choose_threshold(y, s, "cost", cost_fp=10, cost_fn=1)[0] == 0.9
    # the highest score is a negative and false alarms cost 100: predict nothing positive
    y_top_negative = np.array([0, 1, 0, 0, 0, 1, 1, 1, 0], dtype=bool)
    t, why = choose_threshold(y_top_negative, s, "cost", cost_fp=100, cost_fn=1)
    assert t > 0.9 and not (s >= t).any()
    assert "0 false positives, 4 false negatives" in why


def test_precision_and_recall_targets(scores):
    y, s = scores
    t, _ = choose_threshold(y, s, "precision", target_value=0.8)
    assert precision_score(y, s >= t) >= 0.8
    # no lower threshold with that precision finds more positives
    better = [c for c in scan(y, s) if c < t and precision_score(y, s >= c, zero_division=0) >= 0.8]
    assert all(recall_score(y, s >= c) <= recall_score(y, s >= t) for c in better)
    t, _ = choose_threshold(y, s, "recall", target_value=0.9)
    assert recall_score(y, s >= t) >= 0.9
    # the highest such threshold: the next distinct score up falls below the target
    higher = [c for c in scan(y, s) if c > t]
    assert recall_score(y, s >= min(higher)) < 0.9


def test_hand_made_precision_and_recall():
    s = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9])
    y = np.array([0, 1, 0, 0, 0, 1, 1, 0, 1], dtype=bool)
    # precision >= 0.75: at 0.6 it is 3/4 (the lowest such threshold)
    assert choose_threshold(y, s, "precision", target_value=0.75)[0] == 0.6
    # recall >= 0.5: 0.9 gives 1/4, 0.7 gives 2/4
    assert choose_threshold(y, s, "recall", target_value=0.5)[0] == 0.7
    assert choose_threshold(y, s, "recall", target_value=1.0)[0] == 0.2


def test_fixed_and_bad_choices():
    y = np.array([0, 1, 1, 0], dtype=bool)
    s = np.array([0.2, 0.7, 0.4, 0.6])
    assert choose_threshold(y, s, "fixed", target_value=0.3)[0] == 0.3
    assert choose_threshold(y, s, "fixed")[0] == 0.5
    with pytest.raises(InvalidChoiceError, match="threshold rule"):
        choose_threshold(y, s, "youden")
    with pytest.raises(InvalidChoiceError, match="target precision"):
        choose_threshold(y, s, "precision")
    with pytest.raises(InvalidChoiceError, match="zero or positive"):
        choose_threshold(y, s, "cost", cost_fp=-1)
    with pytest.raises(ValidationError, match="highest is"):
        choose_threshold(np.array([0, 0, 1], dtype=bool), np.array([0.9, 0.8, 0.7]), "precision",
                         target_value=0.9)
    with pytest.raises(ValidationError, match="positive rows"):
        choose_threshold(np.zeros(3, dtype=bool), np.array([0.1, 0.2, 0.3]), "f1")
