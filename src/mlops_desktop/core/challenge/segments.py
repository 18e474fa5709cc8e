"""Promoting improved segments only: a family of per-segment models renewed segment by
segment.

From a decided challenge of two segmented versions (both a ``SegmentRouter`` on the
same column), a new version is assembled, without refitting anything: a router that
takes the challenger's model for each segment that passed the challenge's rule (its
segment model, or its fallback where it had none) and the production version's models
everywhere else, its fallback included. On every row it therefore predicts exactly what
the version it took that segment from predicts. The new version is recorded like a
trained one (a run and a draft version, its model file a skops file, its lineage naming
both parents, the challenge and each segment's choice), reproduced by assembling it
again, validated, approved and exported like any version.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable

from ..plain import json_safe
from .errors import ChallengeError

if TYPE_CHECKING:
    from ..train.fitting import FamilyResult
    from ..train.prepare import PreparedData
    from ..train.results import TrainResult
    from ..workspace import Workspace


def compose(champion: Any, challenger: Any, from_challenger: Iterable[str]) -> Any:
    """A new router of ``champion``'s and ``challenger``'s fitted models: the challenger's
    route for each key in ``from_challenger``, the champion's for every other key and for
    rows of no segment (its fallback)."""
    from ..train.estimators import SegmentRouter

    chosen = set(from_challenger)
    pipelines: dict[str, Any] = {}
    rows: dict[str, int] = {}
    for key in sorted(set(champion.segment_pipelines_) | set(challenger.segment_pipelines_) | chosen):
        if key in chosen:
            pipelines[key] = challenger.segment_pipelines_.get(key, challenger.fallback_)
            rows[key] = int(challenger.segment_rows_.get(key, 0))
        elif key in champion.segment_pipelines_:
            pipelines[key] = champion.segment_pipelines_[key]
            rows[key] = int(champion.segment_rows_.get(key, 0))
    return SegmentRouter.from_fitted(champion.segment_column, pipelines, champion.fallback_, segment_rows=rows,
                                     min_rows=champion.min_rows, estimator=champion.estimator)


def _parents(ws: "Workspace", origin: dict[str, Any]) -> tuple[Any, Any]:
    """The two versions' fitted models, each checked to be the file the origin names."""
    from ..store import models as model_rows
    from ..train.registered import load_version_model

    models = []
    for side in ("champion", "challenger"):
        recorded = origin[side]
        mv = model_rows.get_version(ws.registry, recorded["ref"].rpartition(":")[0], int(recorded["version"]))
        if mv.artifact_sha256 != recorded["artifact_sha256"]:
            raise ChallengeError(f"{mv.ref} no longer uses the model file it had when its segments were taken "
                                 f"({recorded['artifact_sha256'][:12]}…); the assembled version cannot be rebuilt.")
        models.append(load_version_model(ws, mv))
    return models[0], models[1]


def assemble(ws: "Workspace", origin: dict[str, Any], prep: "PreparedData") -> "FamilyResult":
    """The assembled model for ``origin`` (the parents and the choice per segment), with
    its figures on ``prep``'s holdout, as a family result a run records."""
    import numpy as np

    from ..train import metrics
    from ..train.cv import predict_for_metrics
    from ..train.families import Family
    from ..train.fitting import FALLBACK, FamilyResult
    from ..train.runner import ASSEMBLED

    champion, challenger = _parents(ws, origin)
    model = compose(champion, challenger, origin["from_challenger"])
    family = Family(name=origin["family"], task="regression" if prep.task == "regression" else "classification",
                    label=f"segments of {origin['champion']['ref']} and {origin['challenger']['ref']}",
                    style=ASSEMBLED, make=lambda **_: model)
    evaluation = prep.X_holdout if len(prep.holdout_rows) else prep.X_train
    predicted = predict_for_metrics(model, evaluation, prep.classes)
    result = FamilyResult(family, "succeeded", params={"from_challenger": origin["from_challenger"],
                                                       "from_champion": origin["from_champion"]},
                          model=model, evaluation=predicted, prediction_sha256=metrics.prediction_hash(predicted))
    if len(prep.holdout_rows):
        result.holdout = metrics.compute(prep.task, prep.y_holdout, predicted, prep.classes)
        routes = model.routes(prep.X_holdout)
        segments = []
        for key in [*model.segment_pipelines_, None]:
            mask = np.array([r == key for r in routes], dtype=bool)
            side = ("challenger" if key in origin["from_challenger"] else "champion") if key is not None else "champion"
            segments.append({"segment": key if key is not None else FALLBACK,
                             "model": "segment" if key is not None else "fallback",
                             "from": origin[side]["ref"], "train_rows": int(model.segment_rows_.get(key, 0)),
                             "holdout_rows": int(mask.sum()),
                             "holdout": metrics.compute(prep.task, prep.y_holdout[mask], predicted[mask], prep.classes)
                             if mask.any() else None})
        result.segments = json_safe(segments)
    return result


@dataclass
class SegmentPromotion:
    """A version assembled from a challenge's improved segments."""

    challenge_id: int
    version: str
    from_challenger: list[str]
    from_champion: list[str]
    training: "TrainResult"

    def to_dict(self) -> dict[str, Any]:
        """What ``--json`` prints for an assembled version: the challenge, the new version,
        which segments came from which side, and the run."""
        return json_safe({"challenge_id": self.challenge_id, "version": self.version, "alias": "challenger",
                          "from_challenger": self.from_challenger, "from_champion": self.from_champion,
                          "run": self.training.to_dict()})


def promote_segments(ws: "Workspace", challenge_id: int | str, *, actor: str) -> SegmentPromotion:
    """Assemble a new draft version from a decided challenge: the challenger's models for
    the segments that passed the rule, production's elsewhere. It takes the alias
    ``challenger``; it runs nowhere until it is approved and promoted like any version."""
    from ..registry.lifecycle import CHALLENGER, set_alias
    from ..store import challenges as challenge_rows
    from ..store import models as model_rows
    from ..train import run
    from ..train.prepare import prepare
    from ..train.runner import recorded_features, recorded_spec, register_assembled
    from .report import ChallengeReport

    stored = challenge_rows.get(ws.registry, challenge_id)
    if stored["status"] != "decided":
        raise ChallengeError(f"Challenge {stored['id']} has no result ({stored['status']}); nothing can be promoted "
                             "from it.")
    report = ChallengeReport.from_dict(stored["report"])
    if not report.segments_promotable:
        raise ChallengeError(f"Challenge {stored['id']} is not between two versions segmented by the same column; "
                             "its segments cannot be promoted one by one. Promote the whole version instead.")
    chosen = report.improved_segments
    if not chosen:
        raise ChallengeError(f"No segment of {report.segment_column} passed the rule in challenge {stored['id']}; "
                             "there is nothing to take from the challenger.")
    champion = model_rows.get_version(ws.registry, stored["model"], stored["champion_version"])
    challenger = model_rows.get_version(ws.registry, stored["model"], stored["challenger_version"])
    keys = sorted({s.key for s in report.segments if s.key is not None})
    origin = {"kind": "segments", "challenge_id": int(stored["id"]), "segment_column": report.segment_column,
              "champion": {"ref": champion.ref, "version": champion.version, "version_id": champion.id,
                           "artifact_sha256": champion.artifact_sha256},
              "challenger": {"ref": challenger.ref, "version": challenger.version, "version_id": challenger.id,
                             "artifact_sha256": challenger.artifact_sha256},
              "from_challenger": sorted(chosen), "from_champion": [k for k in keys if k not in chosen],
              "fallback": "champion",
              "family": champion.family if champion.family == challenger.family
              else f"{champion.family} and {challenger.family}"}
    challenger_run = run(ws, challenger.run_id)
    spec = recorded_spec(challenger_run)
    spec.model_name = challenger.model
    prep = prepare(ws, spec, recorded_features=recorded_features(challenger_run))
    result = register_assembled(ws, prep, assemble(ws, origin, prep), actor=actor, origin=origin)
    set_alias(ws, challenger.model, CHALLENGER, result.version, actor=actor,
              comment=f"improved segments of {challenger.ref} on {champion.ref} (challenge {stored['id']})")
    return SegmentPromotion(int(stored["id"]), f"{challenger.model}:{result.version}", origin["from_challenger"],
                            origin["from_champion"], result)
