"""A model version as the drift reference: its training rows (rebuilt exactly from
the run's split), its fitted pipeline for prediction drift, its permutation
importances (from its latest validation) to weight the verdict, and its holdout
metrics to set performance on a labelled batch against."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

import numpy as np

from .reference import Reference

if TYPE_CHECKING:
    from ..workspace import Workspace


def reference_for_version(ws: "Workspace", ref: str) -> Reference:
    """The reference for ``MODEL`` (latest version) or ``MODEL:VERSION``."""
    from ..registry import validations
    from ..train import find_version, load_model, load_split, run
    from ..train.metrics import compute

    mv = find_version(ws, ref)
    model = load_model(ws, mv.ref)  # hash-checked, read as a skops file of trusted types
    train_df, _holdout = load_split(ws, mv.run_id)
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

    def evaluate(fitted: Any, X: Any, y: Any) -> dict[str, Optional[float]]:
        """The training run's metrics on a labelled batch, comparable with the holdout's."""
        from ..train.cv import predict_for_metrics

        return compute(mv.task, np.asarray(y), predict_for_metrics(fitted, X, classes), classes)

    holdout = (mv.metrics or {}).get("holdout") or None
    return Reference.from_frame(
        train_df[[*inputs, mv.target]], kinds, model=model, importance=importance,
        name=f"model {mv.ref} (training rows of run {mv.run_id})", model_name=mv.model,
        model_version=mv.version, version_id=mv.id, target=mv.target, holdout_metrics=holdout,
        evaluate=evaluate)
