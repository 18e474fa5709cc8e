"""The plain-language summary of a drift report: how many features drifted, how the
most important one moved, and what to do."""

from __future__ import annotations

from typing import Any, Optional

from mlops_model_support import drift as metrics
from mlops_model_support.performance import METRIC_LABELS, PerformanceEstimate

from .. import numbers




def movement(result: metrics.FeatureResult) -> str:
    """How a drifted feature moved, in a phrase ("moved by +0.50 standard deviations ...")."""
    m, ref, cur = result.metrics, result.reference, result.current
    rule = result.decided_rule
    if rule == "missing_share_change":
        return (f"its missing share went from {ref.get('missing_share', 0):.1%} to "
                f"{cur.get('missing_share', 0):.1%}")
    if result.kind == metrics.NUMERIC:
        words = f"mean {numbers.value(ref.get('mean'))} → {numbers.value(cur.get('mean'))}, PSI {numbers.value(m.get('psi'))}"
        if m.get("mean_change_sd") is not None:
            return f"moved by {m['mean_change_sd']:+.2f} standard deviations ({words})"
        return f"moved ({words})"
    labels = result.bins.get("labels", [])
    ref_s, cur_s = result.bins.get("reference", []), result.bins.get("current", [])
    parts = [f"PSI {numbers.value(m.get('psi'))}"]
    if labels:
        i = max(range(len(labels)), key=lambda k: abs(cur_s[k] - ref_s[k]))
        name = "other or new categories" if labels[i] == metrics.OTHER else labels[i]
        parts.append(f"{name} {ref_s[i]:.0%} → {cur_s[i]:.0%} of rows")
    if m.get("new_count"):
        parts.append(f"{m['new_count']} new categor{'y' if m['new_count'] == 1 else 'ies'} "
                     f"holding {m['new_share']:.1%}")
    return "moved (" + "; ".join(parts) + ")"


def summarise(comparison: metrics.Comparison, *, model_reference: bool,
              target: Optional[metrics.FeatureResult] = None,
              performance: Optional[dict[str, Any]] = None,
              estimated: Optional[PerformanceEstimate] = None) -> str:
    """The report's headline, e.g. "3 of 18 features drifted; the most important one,
    dep_delay, moved by +0.62 standard deviations (...); consider retraining."."""
    dv = comparison.dataset
    by_name = {r.name: r for r in comparison.features}
    sentences = []
    if dv.verdict == metrics.NOT_COMPARABLE:
        reasons = list(dict.fromkeys(r.reason for r in comparison.features if r.reason))
        if len(reasons) == 1:
            return f"No feature could be compared with the reference: {reasons[0]}."
        listed = "; ".join(f"{r.name}: {r.reason}" for r in comparison.features[:3])
        return f"No feature could be compared with the reference ({listed} …). Check the batch's columns."
    if dv.n_drifted:
        head = f"{dv.n_drifted} of {dv.n_compared} features drifted"
        if dv.weighting == "importance":
            head += f" ({dv.drifted_share:.0%} of the model's importance)"
        top = by_name[dv.drifted_features[0]]
        severity = " (major)" if top.verdict == metrics.MAJOR else ""
        if dv.weighting == "importance":
            head += f"; the most important one, {top.name}{severity}, {movement(top)}"
        elif dv.n_drifted == 1:
            head += f": {top.name}{severity} {movement(top)}"
        else:
            head += f"; the largest move: {top.name}{severity} {movement(top)}"
        if dv.drifted:
            head += "; consider retraining" if model_reference else (
                "; models trained on the reference may no longer fit this data")
        else:
            head += f"; below the batch threshold of {comparison.thresholds['dataset_share']:.0%}, keep watching"
        sentences.append(head + ".")
    else:
        within = [r.name for r in comparison.features if r.decided_rule == "within_noise"]
        text = f"No drift: none of the {dv.n_compared} compared features drifted"
        if within:
            text += (f" ({', '.join(within[:3])}{' …' if len(within) > 3 else ''} passed a threshold only "
                     "by the chance variation of a batch this size)")
        sentences.append(text + ".")
    if dv.prediction_drifted:
        p = comparison.prediction
        assert p is not None
        sentences.append(f"The model's scores drifted: {movement(p)}.")
    if target is not None and target.drifted:
        sentences.append(f"The target {target.name} drifted: {movement(target)}.")
    if performance and performance.get("current"):
        shown = list(performance["current"].items())[:2]
        hold = performance.get("holdout") or {}
        sentences.append("On this batch " + ", ".join(
            f"{numbers.metric_name(k)} {numbers.value(v)}" + (f" (holdout {numbers.value(hold[k])})" if k in hold else "")
            for k, v in shown) + (f"; the holdout figures are those of {performance['holdout_source']}"
                                  if performance.get("holdout_source") and hold else "") + ".")
    if estimated is not None and not (performance and performance.get("current")):
        sentences.append(estimate_sentence(estimated))
    if dv.n_not_comparable:
        names = ", ".join(dv.not_comparable[:4]) + (" …" if dv.n_not_comparable > 4 else "")
        sentences.append(f"{dv.n_not_comparable} feature{'s' if dv.n_not_comparable != 1 else ''} could not "
                         f"be compared ({names}); check the batch's columns.")
    return " ".join(sentences)


def estimate_sentence(estimated: PerformanceEstimate, names: tuple[str, ...] = ("roc_auc", "accuracy")) -> str:
    """"Estimated without labels: ROC AUC 0.71 (0.69 to 0.73), accuracy 0.8 (0.78 to 0.82)."
    with the reason when it is unreliable."""
    shown = [f"{METRIC_LABELS[k]} {numbers.with_interval(m.estimate, m.low, m.high)}" for k in names
             if (m := estimated.metrics.get(k)) is not None and m.estimate is not None]
    if not shown:
        return "No performance could be estimated for this batch."
    text = f"Estimated without labels ({estimated.level:.0%} band): " + ", ".join(shown) + "."
    return text + (f" {estimated.reason}" if not estimated.reliable else "")
