"""Validating a registered model version: its own holdout (rebuilt exactly from the
run's recorded split) or another dataset, next to a baseline fitted on the same
training rows; the result is recorded, and the version's model card drawn from it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Optional, Sequence

from ..errors import InvalidChoiceError
from ..jobs import CancelToken, ProgressCallback, no_progress
from .card import ModelCard
from .results import ValidationReport

if TYPE_CHECKING:
    from ..workspace import Workspace


@dataclass
class VersionValidation:
    """A validation of a registered version on a dataset, as it was recorded."""
    ref: str
    data: str
    validation_id: int
    report: ValidationReport
    created_by: Optional[str] = None
    created_at: Optional[str] = None

    def to_dict(self) -> dict[str, Any]:
        """What ``validate --json`` prints: the version, the data, the validation's id and
        the report."""
        return {"model": self.ref, "data": self.data, "validation_id": self.validation_id,
                **self.report.to_dict()}


def latest_validation(ws: "Workspace", ref: str) -> Optional[VersionValidation]:
    """The newest stored validation of ``ref`` as it was recorded (metrics, curves,
    subgroups, importance: nothing is recomputed and no model is loaded), or None."""
    from ..store import validations
    from ..train import find_version

    mv = find_version(ws, ref)
    stored = validations.latest(ws.registry, mv.id)
    if stored is None:
        return None
    return VersionValidation(mv.ref, stored["data"], int(stored["id"]), ValidationReport.from_dict(stored["report"]),
                             stored["created_by"], stored["created_at"])


def _baseline(task: str, X: Any, y: Any) -> Any:
    """The run's baseline, refitted on the same training rows (it only learns the mean
    or the class shares, so refitting it is exact)."""
    from sklearn.dummy import DummyClassifier, DummyRegressor

    model = DummyRegressor(strategy="mean") if task == "regression" else DummyClassifier(strategy="prior")
    return model.fit(X, y)


#: what to do with a dataset too large to validate on
VALIDATE_WAY_OUT = ("Validate on the version's holdout (without a dataset), or on a part of this data imported as a "
                    "dataset of its own (a period, or a sample); the Monitor page compares the whole of it with "
                    "the training data, out of core.")


def _rows_for(ws: "Workspace", mv: Any, ds: Any) -> Any:
    """The rows of ``ds`` as the version's model takes them: as they are when ``ds`` went
    through the same preparation as the training data; raw data through the model's
    recipe, rows outside its scope left out (as the exported package rejects them)."""
    from ..data.on_disk import refuse_if_too_large
    from ..prepare import derivation, model_recipe
    from ..prepare.scope import rows_as_model_takes

    refuse_if_too_large([ds], "a validation reads every row", VALIDATE_WAY_OUT)
    frame = ws.load_table(ds).to_pandas()
    scoped = rows_as_model_takes(model_recipe(ws, mv), frame, derivation(ws, ds).prepared_by,
                                 f"dataset {ds.name!r}", InvalidChoiceError)
    return frame if scoped is None else scoped.frame


def _explainer(model: Any, train: Any, target: str) -> tuple[Any, Optional[str]]:
    """The model's explainer against its training rows; or None and why its family has none."""
    from mlops_model_support.contributions import Explainer, ExplainError, background

    try:
        columns = [str(c) for c in model.feature_names_in_]
        return Explainer(model, background(model, train[columns]), target=target), None
    except ExplainError as exc:
        return None, f"No contributions per column: {exc}"


def validate_version(ws: "Workspace", ref: str, *, data: Optional[str | int] = None,
                     cost_fp: Optional[float] = None, cost_fn: Optional[float] = None,
                     subgroups: Sequence[str] = (), actor: str, n_bootstrap: int = 1000,
                     progress: ProgressCallback = no_progress,
                     cancel: Optional[CancelToken] = None) -> VersionValidation:
    """Validate ``ref`` (``MODEL`` or ``MODEL:VERSION``) and record the result."""
    from ..store import validations
    from ..train import find_version, load_model, load_split
    from .validation import validate_model

    mv = find_version(ws, ref)
    model = load_model(ws, mv.ref)  # hash-checked, read as a skops file of trusted types
    train_df, holdout_df = load_split(ws, mv.run_id)
    if data is not None:
        ds = ws.dataset(data)
        holdout_df = _rows_for(ws, mv, ds)
        where = f"dataset {ds.id} ({ds.name}, fingerprint {ds.fingerprint[:12]})"
    elif len(holdout_df) == 0:
        raise InvalidChoiceError(f"{mv.ref} was trained on every row (no holdout): its validation "
                                 "rests on cross-validation alone. Validate it on another dataset "
                                 "with --data DATASET.")
    else:
        where = f"the holdout of run {mv.run_id}"
    missing = [c for c in [mv.target, *mv.features, *subgroups] if c not in holdout_df.columns]
    if missing:
        raise InvalidChoiceError(f"The data to validate {mv.ref} on lacks column(s): {', '.join(missing)}.")
    holdout_df = holdout_df[holdout_df[mv.target].notna()]
    segment = mv.details.get("segment_by") if isinstance(mv.details, dict) else None
    columns = list(dict.fromkeys([*mv.features, *subgroups] + ([segment] if segment else [])))
    task = None if mv.task == "classification" else mv.task
    baseline = _baseline(mv.task, train_df[mv.features], train_df[mv.target])
    rule = "cost" if cost_fp is not None or cost_fn is not None else "f1"
    explainer, unexplained = _explainer(model, train_df, mv.target)
    report = validate_model(model, holdout_df[columns], holdout_df[mv.target], task=task,
                            baseline=baseline, threshold_rule=rule, cost_fp=cost_fp or 1.0,
                            cost_fn=cost_fn or 1.0, subgroup_columns=list(subgroups),
                            segment_column=segment, n_bootstrap=n_bootstrap,
                            explainer=explainer, progress=progress, cancel=cancel)
    if unexplained:
        report.notes.append(unexplained)
    if report.contributions:  # where its kept rows come from, to explain one of them again
        report.contributions["dataset"] = None if data is None else ds.id
    validation_id = validations.record(ws.registry, version_id=mv.id, ref=mv.ref, data=where,
                                       beats_baseline=report.beats_baseline,
                                       primary_metric=report.primary_metric, report=report.to_dict(),
                                       actor=actor)
    return VersionValidation(mv.ref, where, validation_id, report)


def model_card(ws: "Workspace", ref: str, *, purpose: str = "",
               validation: Optional[ValidationReport] = None, calibration: Optional[dict[str, Any]] = None,
               monitoring_history: bool = True) -> ModelCard:
    """The model card of a version from the registry: its purpose (``purpose`` when given,
    else the one stored with the version), data, features, spec, checks and accepted
    warnings, the latest validation (or the one given), coefficients, and its
    monitoring: the calibration of its estimated performance (``calibration``, a
    ``Calibration.summary()``, else the one its latest monitored batch used) and, with
    ``monitoring_history``, its newest monitored batches (an export leaves them out:
    they grow after it)."""
    from ..checks import accepted_warnings
    from ..store import validations
    from ..train import coefficient_table, find_version, load_model, run
    from ..train.coefficients import coefficient_notes, fit_warning
    from .results import ValidationReport as Report

    mv = find_version(ws, ref)
    r = run(ws, mv.run_id)
    ds = ws.dataset(r.dataset_id)
    if validation is None:
        stored = validations.latest(ws.registry, mv.id)
        validation = Report.from_dict(stored["report"]) if stored else None
    coefficients, notes, warning = None, [], None
    if mv.family in ("ols", "logistic"):
        model = load_model(ws, mv.ref)
        coefficients = coefficient_table(model)
        details = mv.details if isinstance(mv.details, dict) else {}
        notes, warning = coefficient_notes(model, details.get("rows")), fit_warning(model)
    accepted = accepted_warnings(ws, ds.id, mv.target, mv.features)
    date_range = None
    for col in ds.columns:
        if col.kind == "datetime":
            values = ws.load_table(ds, [col.name]).column(0)
            import pyarrow.compute as pc

            bounds = pc.min_max(values).as_py()
            date_range = {"column": col.name, "start": str(bounds["min"]), "end": str(bounds["max"])}
            break
    from ..store import stages

    changes = stages.history(ws.registry, mv.id)
    approved_at = next((c["changed_at"] for c in reversed(changes) if c["to_stage"] == "approved"), None)
    approvals = [{"by": c["changed_by"], "at": c["changed_at"], "decision": c["to_stage"],
                  "comment": c["comment"], "self_approved": bool(c["self_approved"])}
                 for c in changes if c["to_stage"] in ("approved", "retired")]
    override = next(({"by": c["changed_by"], "at": c["changed_at"], "reason": c["baseline_override"]}
                     for c in reversed(changes) if c["baseline_override"]), None)
    return ModelCard(
        model_name=mv.model, version=mv.version, stage=mv.stage, purpose=purpose or mv.purpose,
        created_by=mv.created_by, created_at=mv.created_at,
        dataset={"id": ds.id, "name": ds.name, "fingerprint": ds.fingerprint, "rows": ds.n_rows,
                 "date_range": date_range,
                 "split": mv.details.get("split") if isinstance(mv.details, dict) else None,
                 "preparation": _preparation(ws, ds, mv),
                 "sample": mv.details.get("sample") if isinstance(mv.details, dict) else None},
        target=mv.target, task=mv.task, features=mv.features, training_spec=r.spec,
        accepted_warnings=accepted, validation=validation, coefficients=coefficients,
        coefficient_notes=notes, fit_warning=warning, approvals=approvals, override=override,
        segments=({"column": mv.details.get("segment_by"), "segments": mv.details.get("segments")}
                  if isinstance(mv.details, dict) and mv.details.get("segment_by") else None),
        monitoring=_monitoring(ws, mv, calibration, monitoring_history),
        terms=mv.details.get("terms") if isinstance(mv.details, dict) else None,
        challenge=_challenge(ws, mv.id, approved_at))


def _challenge(ws: "Workspace", version_id: int, approved_at: Optional[str]) -> Optional[dict[str, Any]]:
    """The version's challenge for its card: for an approved version the last one decided
    before its approval (what its approver saw; so its card, and an export's, stays the
    same whatever is challenged later), else the latest."""
    from ..store import challenges

    row = challenges.latest_decided(ws.registry, version_id, before=approved_at)
    return None if row is None else row["report"] | {"by": row["created_by"], "decided_at": row["decided_at"]}


def _preparation(ws: "Workspace", ds: Any, mv: Any) -> Optional[dict[str, Any]]:
    """How the version's training data was prepared (see ``ModelCard.dataset``)."""
    from ..prepare import PrepareError, derivation, model_recipe

    try:
        way = derivation(ws, ds)
        if not way.prepared:
            return None
        found = model_recipe(ws, mv)
    except PrepareError as exc:
        return {"refused": str(exc)}
    return {"from": way.root.name, "steps": way.recipe.describe(), "scope": found.scope() if found else [],
            "training_only": found.training_only if found else []}


#: the newest monitored batches a model card lists
MONITORED_BATCHES = 12


def _monitoring(ws: "Workspace", mv: Any, calibration: Optional[dict[str, Any]], history: bool) -> dict[str, Any]:
    from mlops_model_support.performance import ASSUMPTION, METRICS

    from ..monitor.estimated import performance_history

    if mv.task == "regression":
        return {"calibration": None, "assumption": "", "batches": [],
                "note": "Estimated performance without labels is given for classifiers; this model is a regressor: "
                        "its drift is monitored, and its performance once labels arrive."}
    points = performance_history(ws, mv.model, mv.version).points if history else []
    if calibration is None:
        calibration = next((p.estimated.calibration for p in reversed(points) if p.estimated is not None), None)
    batches = [{"label": p.label, "when": p.when, "verdict": p.verdict,
                "reliable": p.estimated.reliable if p.estimated is not None else True,
                "estimated": ({k: [m.estimate, m.low, m.high] for k, m in p.estimated.metrics.items()}
                              if p.estimated is not None else {}),
                "realized": {k: p.realized.metrics.get(k) for k in METRICS} if p.realized is not None else {}}
               for p in points[-MONITORED_BATCHES:]]
    return {"calibration": calibration, "assumption": ASSUMPTION, "batches": batches,
            "note": "The calibration is fitted on the holdout when the version is first monitored or exported.",
            "history_note": ("No batch monitored yet." if history else
                             "Monitored batches are kept in the analyst's workspace: IT's scoring runs come back "
                             "there with score.py --monitor-out and mlops-desktop monitor import.")}
