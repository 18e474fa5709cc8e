"""A model version as the drift reference: its training rows (rebuilt exactly from
the run's split), its fitted pipeline for prediction drift, its permutation
importances (from its latest validation) to weight the verdict, and its holdout
metrics to set performance on a labelled batch against."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

import numpy as np

from .. import numbers
from .reference import Reference

if TYPE_CHECKING:
    from ..workspace import Workspace


def reference_for_version(ws: "Workspace", ref: str) -> Reference:
    """The reference for ``MODEL`` (latest version) or ``MODEL:VERSION``."""
    from ..store import validations
    from ..train import find_version, load_model, load_split, run
    from ..train.metrics import compute

    mv = find_version(ws, ref)
    model = load_model(ws, mv.ref)  # hash-checked, read as a skops file of trusted types
    train_df, holdout_df = load_split(ws, mv.run_id)
    ds = ws.dataset(run(ws, mv.run_id).dataset_id)
    # a segmented model scores each row with its segment's model, so it needs (and the
    # reference compares) the segment column even when it is not a feature
    segment = (mv.details or {}).get("segment_by") if isinstance(mv.details, dict) else None
    inputs = list(dict.fromkeys([*mv.features, *([segment] if segment else [])]))
    kinds = {c.name: c.kind for c in ds.columns if c.name in inputs or c.name == mv.target}
    stored = validations.latest(ws.registry, mv.id)
    importance: Optional[dict[str, float]] = None
    if stored and stored["report"].get("importance"):
        importance = {i["feature"]: float(i["mean"]) for i in stored["report"]["importance"]}
    classes = getattr(model, "classes_", None)

    def as_trained(fitted: Any, X: Any, y: Any) -> dict[str, Optional[float]]:
        """The training run's metrics on a labelled batch, comparable with the holdout's."""
        from ..train.cv import predict_for_metrics

        return compute(mv.task, np.asarray(y), predict_for_metrics(fitted, X, classes), classes)

    evaluate = as_trained
    holdout = (mv.metrics or {}).get("holdout") or None
    source = f"the holdout of run {mv.run_id}, as trained (not validated yet)"
    validated = stored if stored and stored.get("data") == f"the holdout of run {mv.run_id}" else None
    if validated is not None:
        # the figures Validate shows for this version, and the batch measured the same way
        # (the same metric code, at the threshold the validation chose and the export applies)
        report = validated["report"]
        threshold = report.get("threshold")
        holdout = {m["name"]: m["value"] for m in report.get("metrics") or []}
        source = f"validation {validated['id']} on the holdout of run {mv.run_id}" + (
            f", at its threshold {numbers.value(threshold)}" if threshold is not None else "")

        def as_validated(fitted: Any, X: Any, y: Any) -> dict[str, Optional[float]]:
            """Validate's metrics on a labelled batch, at the validated threshold."""
            from ..validate.validation import validate_model

            r = validate_model(fitted, X, y, task=report.get("task"), threshold=threshold, n_bootstrap=0,
                               importance_repeats=0, top_features=0,
                               positive_class=report.get("positive_class"))
            return {m.name: m.value for m in r.metrics}

        evaluate = as_validated

    reference = Reference.from_frame(
        train_df[[*inputs, mv.target]], kinds, model=model, importance=importance,
        name=f"model {mv.ref} (training rows of run {mv.run_id})", model_name=mv.model,
        model_version=mv.version, version_id=mv.id, target=mv.target, holdout_metrics=holdout,
        evaluate=evaluate)
    reference.holdout_source = source
    reference.segment_column = segment
    from ..prepare import model_recipe

    reference.recipe = model_recipe(ws, mv)  # a raw batch goes through the training data's recipe
    if mv.task == "regression":
        reference.calibration_note = ("Estimated performance is given for classifiers; this model is a "
                                      "regressor.")
    else:
        reference.calibration, reference.calibration_note = version_calibration(
            ws, mv, model, holdout_df, reference.model_features)
    return reference


def version_calibration(ws: "Workspace", mv: Any, model: Any, holdout: Any,
                        inputs: list[str]) -> tuple[Any, str]:
    """The calibration of a classifier version's probabilities on its holdout (rows it
    was not fitted on), with the decision threshold its approval rested on (else its
    latest validation's, else the most probable class). (None, why) when none fits."""
    from mlops_model_support.labels import class_label

    from ..validate.threshold import decision_threshold
    from ..store import exports as export_rows
    from .calibration import fit_calibration

    if holdout is None or len(holdout) == 0:
        return None, ("No estimated performance: the version was trained on every row, so no labelled rows "
                      "it was not fitted on are left to calibrate its probabilities.")
    labelled = holdout[holdout[mv.target].notna()]
    classes = [class_label(c) for c in getattr(model, "classes_", [])]
    validation = export_rows.approved_validation(ws.registry, mv.id)
    threshold, positive = decision_threshold((validation or {}).get("report") or {}, classes)
    try:
        proba = model.predict_proba(labelled[inputs])
    except Exception as exc:  # a model that cannot score its own holdout: say so, do not fail the drift
        return None, f"No estimated performance: the model could not score its holdout ({type(exc).__name__})."
    calibration, why = fit_calibration(proba, [class_label(v) for v in labelled[mv.target]], classes,
                                       positive_class=positive, threshold=threshold if positive else None,
                                       reference=f"holdout of run {mv.run_id}")
    return calibration, ("" if calibration is not None else f"No estimated performance: {why}.")
