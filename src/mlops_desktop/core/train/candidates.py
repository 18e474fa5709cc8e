"""Registering a candidate of a run that was not chosen.

A run keeps only its winner's fitted model. Another candidate is fitted again from the
run's recorded spec, seed, features and that candidate's chosen settings, in a run of its
own (a model version names one run); the refit must give the holdout predictions and
the metrics the run recorded for it, else nothing is registered. So the version is the
candidate the analyst saw on the leaderboard, not a look-alike, and keeping every
candidate's model file (which a forest or boosting model makes large) is not needed.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Optional

from ..errors import InvalidChoiceError
from ..jobs import CancelToken, ProgressCallback, no_progress
from ..plain import json_safe
from ..store import runs as run_rows
from . import families as family_catalogue
from .environment import library_versions, thread_limit, workers
from .errors import TrainError
from .fitting import Plan, fit_family
from .prepare import prepare
from .results import TrainResult
from .runner import (_PREPARED, _TRAINED, _check_snapshot, _end_unsuccessfully, _original, _Progress,
                     _register, _start_run, recorded_features, recorded_spec)

if TYPE_CHECKING:
    from ..workspace import Workspace


def registered_candidates(ws: "Workspace", run_id: int | str) -> dict[str, str]:
    """The candidates of a run that are registered, by family: {family: "model:version"}
    (the winner, and every candidate registered since)."""
    reg = ws.registry
    original = _original(ws, run_id)
    out = {}
    if original.model:
        out[original.family] = f"{original.model}:{original.version}"
    for r in run_rows.list_all(reg, dataset_id=original.dataset_id):
        refit = (r.details or {}).get("refit_of") or {}
        if r.status == "succeeded" and refit.get("run_id") == original.id and r.model:
            out[refit["family"]] = f"{r.model}:{r.version}"
    return out


def register_candidate(ws: "Workspace", run_id: int | str, family: str, *, actor: str,
                       model_name: Optional[str] = None, progress: ProgressCallback = no_progress,
                       cancel: Optional[CancelToken] = None) -> TrainResult:
    """Fit the candidate ``family`` of a succeeded run again, check that it gives the
    recorded holdout predictions and metrics, and register it as a draft version of
    ``model_name`` (default: the run's model). Recorded as a run of its own whose
    details name the run and candidate it refits (``refit_of``), audited like any run.

    Raises InvalidChoiceError for an unknown, failed or already registered candidate,
    TrainError when the refit differs from the record (then the new run is recorded as
    failed and nothing is registered), JobCancelled on cancel."""
    started = time.monotonic()
    report = _Progress(progress, cancel)
    original = _original(ws, run_id)
    candidates = {c["family"]: c for c in original.details.get("candidates") or []}
    candidate = candidates.get(family)
    if candidate is None:
        raise InvalidChoiceError(f"Run {original.id} has no candidate {family!r}; its candidates are "
                                 f"{', '.join(candidates) or 'none'}.")
    if candidate.get("status") != "succeeded":
        raise InvalidChoiceError(f"The {candidate.get('label') or family} candidate of run {original.id} failed "
                                 f"({candidate.get('error')}); there is no model to register.")
    registered = registered_candidates(ws, original.id).get(family)
    if registered:
        raise InvalidChoiceError(f"The {candidate.get('label') or family} candidate of run {original.id} is "
                                 f"registered already, as {registered}.")
    report(0.0, f"Preparing run {original.id} again")
    _check_snapshot(ws, original)
    spec = recorded_spec(original)
    spec.models = [family]
    spec.model_name = (model_name or "").strip() or original.model or spec.model_name
    prep = prepare(ws, spec, recorded_features=recorded_features(original))
    fam = family_catalogue.resolve([family], prep.task)[0]
    refit_of = {"run_id": original.id, "family": family, "prediction_sha256": candidate.get("prediction_sha256")}
    new_id = _start_run(ws, prep, actor=actor, kind="train")
    stored = None
    try:
        plan = Plan(candidates=0, time_budget_s=None, n_jobs=workers(len(prep.train_rows), len(prep.choice.features)),
                    fixed=candidate.get("hyperparameters") or {})
        baseline = fit_family(prep, family_catalogue.baseline(prep.task), Plan(0, None, 1),
                              on_progress=lambda f, m: None, segmented=False)
        report(_PREPARED, f"Fitting {fam.label} again")
        with thread_limit(plan.n_jobs):
            again = fit_family(prep, fam, plan,
                               on_progress=lambda f, m: report(_PREPARED + (_TRAINED - _PREPARED) * f, m))
        if again.status != "succeeded":
            raise TrainError(f"The {fam.label} candidate of run {original.id} could not be fitted again: "
                             f"{again.error}")
        _check_same(original, candidate, again, fam.label)
        report(_TRAINED, "Saving the model")
        from ..workspace.artifacts import save_model_file

        stored = save_model_file(ws, again.model)
        result = _register(ws, prep, new_id, baseline, [again], again, stored, actor=actor,
                           seconds=time.monotonic() - started, refit_of=refit_of)
    except BaseException as exc:
        _end_unsuccessfully(ws, new_id, exc, actor=actor, started=started,
                            artifact=stored.sha256 if stored else None)
        raise
    progress(1.0, f"The {fam.label} candidate of run {original.id} is {result.model} version {result.version}")
    return result


def _check_same(original: run_rows.Run, candidate: dict[str, Any], again: Any, label: str) -> None:
    """The refit must be the candidate that was recorded: the same holdout predictions
    (their SHA-256) and the same cross-validated and holdout metrics."""
    differences = []
    if again.prediction_sha256 != candidate.get("prediction_sha256"):
        differences.append("its holdout predictions")
    fresh = json_safe({"cv": again.cv, "holdout": again.holdout})
    for where in ("cv", "holdout"):
        if fresh[where] != candidate.get(where):
            differences.append("its cross-validated metrics" if where == "cv" else "its holdout metrics")
    if differences:
        changed = [f"{k} {original.library_versions.get(k)} → {v}" for k, v in library_versions().items()
                   if original.library_versions.get(k) != v]
        why = (" The libraries differ from the run's: " + ", ".join(changed) + "." if changed else "")
        raise TrainError(f"Fitted again, the {label} candidate of run {original.id} differs from the record "
                         f"({' and '.join(differences)}), so it is not registered.{why} Train a new run "
                         "to register this family.")


def refit_label(details: dict[str, Any]) -> Optional[str]:
    """"candidate of run N" for a run that registered another run's candidate, else None."""
    refit = (details or {}).get("refit_of")
    return f"candidate of run {refit['run_id']}" if refit else None

