"""Training runs end to end: prepare the rows, train the baseline and every chosen
family, pick the best by cross-validation, store its model as an artifact and
register it as a draft model version; reproduce a recorded run; rebuild its split.

A run's row is committed as ``running`` before any training starts and updated once
at the end. A failed or cancelled run says so in its row and leaves no model
version and no artifact file behind. Problems found while preparing the rows (a
single-class target, an unusable split column) raise before a run starts.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Optional

import pandas as pd

from .. import numbers
from ..plain import json_safe
from ..errors import JobCancelled, MlopsError
from ..jobs import CancelToken, ProgressCallback, no_progress
from ..store import artifacts as artifact_rows
from ..store import audit, utc_now
from ..store import models as model_rows
from ..store import runs as run_rows
from . import families as family_catalogue
from . import metrics
from .environment import library_versions, thread_limit, workers
from .errors import TrainError
from .fitting import FamilyResult, Plan, fit_family
from .formula import model_terms
from .prepare import PreparedData, prepare
from .results import ReproduceResult, TrainResult
from .spec import TrainSpec

if TYPE_CHECKING:
    from ..workspace import Workspace

#: shares of the progress bar
_PREPARED, _TRAINED = 0.05, 0.95


class _Progress:
    """Reports progress and checks for a cancel at every report."""

    def __init__(self, progress: ProgressCallback, cancel: Optional[CancelToken]) -> None:
        self._progress = progress
        self._cancel = cancel

    def check(self) -> None:
        if self._cancel is not None:
            self._cancel.check()

    def __call__(self, fraction: float, message: str) -> None:
        self.check()
        self._progress(min(max(fraction, 0.0), 1.0), message)
        self.check()  # a progress callback may itself ask to cancel


# -- training ------------------------------------------------------------------------------

def train(ws: "Workspace", spec: TrainSpec, *, actor: str, progress: ProgressCallback = no_progress,
          cancel: Optional[CancelToken] = None, fixed_features: Optional[dict[str, str]] = None,
          origin: Optional[dict[str, Any]] = None) -> TrainResult:
    """Train, choose and register a model as ``spec`` asks.

    ``fixed_features`` (name -> numeric | categorical) fixes the features and how each
    is treated, as a retraining of a recorded version does; ``origin`` (e.g. the version
    retrained and the data) is kept in the new version's details and creation entry.

    Raises a :class:`MlopsError` for a problem with the data or the choices (before a
    run starts, when the rows cannot be prepared; after, with the run recorded as
    failed) and :class:`JobCancelled` when ``cancel`` is set (the run is recorded as
    cancelled). Either exception carries the run's id as ``run_id`` once a run started.
    """
    started = time.monotonic()
    report = _Progress(progress, cancel)
    report(0.0, "Preparing the data")
    prep = prepare(ws, spec, recorded_features=fixed_features)
    chosen_families = family_catalogue.resolve(spec.models, prep.task)
    rank_by = metrics.ranking_metric(prep.task, spec.ranking_metric)  # a wrong choice: before any run
    report(_PREPARED, "Data prepared")
    run_id = _start_run(ws, prep, actor=actor, kind="train")
    stored = None
    try:
        n_jobs = workers(len(prep.train_rows), len(prep.choice.features))
        plan = Plan(candidates=spec.search_candidates, time_budget_s=spec.search_time_budget_s,
                    n_jobs=n_jobs)
        share = (_TRAINED - _PREPARED) / (len(chosen_families) + 0.2)

        def part(start: float, size: float):
            return lambda f, message: report(start + size * f, message)

        # one global baseline, also for a segmented run: the bar every model must clear
        baseline = fit_family(prep, family_catalogue.baseline(prep.task), Plan(0, None, 1),
                              on_progress=part(_PREPARED, 0.2 * share), segmented=False)
        if baseline.status != "succeeded":
            raise TrainError(f"Even the baseline model could not be trained: {baseline.error}")
        results: list[FamilyResult] = []
        with thread_limit(n_jobs):
            for i, family in enumerate(chosen_families):
                begin = _PREPARED + share * (0.2 + i)
                report(begin, f"Training {family.label}")
                results.append(fit_family(prep, family, plan, on_progress=part(begin, share)))
        best = _best(results, rank_by)
        report(_TRAINED, "Drawing the candidates' curves")
        curves = _candidate_curves(prep, results)
        report(_TRAINED, "Saving the model")
        from ..workspace.artifacts import save_model_file

        stored = save_model_file(ws, best.model)
        result = _register(ws, prep, run_id, baseline, results, best, stored, actor=actor,
                           seconds=time.monotonic() - started, curves=curves, origin=origin)
    except BaseException as exc:
        _end_unsuccessfully(ws, run_id, exc, actor=actor, started=started,
                            artifact=stored.sha256 if stored else None)
        raise
    progress(1.0, f"Run {run_id} finished: {result.model} version {result.version}")
    return result


def _best(results: list[FamilyResult], rank_by: str) -> FamilyResult:
    """The succeeded family with the best cross-validated ``rank_by`` (the first of equals)."""
    ok = [r for r in results if r.status == "succeeded"]
    if not ok:
        reasons = "; ".join(f"{r.family.name}: {r.error}" for r in results)
        raise TrainError(f"No model family could be trained ({reasons}).")
    return ok[metrics.best_first([r.cv[rank_by]["mean"] for r in ok], rank_by)[0]]


def _candidate_curves(prep: PreparedData, results: list[FamilyResult]) -> dict[str, Any]:
    """Each succeeded candidate's ROC or residual curve with its band (see
    :mod:`.curves`), on the holdout, or on out-of-fold predictions without one."""
    from .curves import candidate_curves

    ok = [r for r in results if r.status == "succeeded"]
    if len(prep.holdout_rows):
        y, on = prep.y_holdout, f"the holdout ({len(prep.holdout_rows):,} rows)"
        predictions = [(r.family.name, r.family.label, r.evaluation) for r in ok]
    else:
        y, on = prep.y_train, "the training rows, each predicted in cross-validation by a model not fitted on it"
        predictions = [(r.family.name, r.family.label, r.out_of_fold) for r in ok]
    return candidate_curves(prep.task, y, predictions, classes=prep.classes, on=on, seed=prep.spec.seed)


def _start_run(ws: "Workspace", prep: PreparedData, *, actor: str, kind: str,
               reproduces: Optional[int] = None) -> int:
    reg = ws.registry
    ds = prep.dataset
    spec = prep.spec.to_dict()
    spec["dataset"] = ds.id  # the recorded run names its dataset by id, whatever was typed
    with reg.transaction():
        run_id = run_rows.insert_started(
            reg, kind=kind, reproduces_run_id=reproduces, dataset_id=ds.id,
            dataset_fingerprint=ds.fingerprint, target=prep.spec.target, spec=json_safe(spec),
            seed=prep.spec.seed, library_versions=library_versions(), created_by=actor,
            started_at=utc_now())
        what = (f"reproduction of run {reproduces}" if kind == "reproduce"
                else f"training run on {ds.name}: {prep.spec.target}")
        audit.append(reg, actor=actor, action="run.started", entity_type="run", entity_id=run_id,
                     summary=f"Run {run_id} started: {what}",
                     details={"kind": kind, "dataset_id": ds.id, "target": prep.spec.target,
                              "task": prep.task, "models": list(prep.spec.models),
                              "seed": prep.spec.seed, "reproduces_run_id": reproduces})
    return run_id


def _end_unsuccessfully(ws: "Workspace", run_id: int, exc: BaseException, *, actor: str,
                        started: float, artifact: Optional[str]) -> None:
    """Record a failed or cancelled run and remove an artifact no row points to. Never
    raises: the original exception is the one the caller must see."""
    from ..workspace.artifacts import discard_unreferenced

    cancelled = isinstance(exc, (JobCancelled, KeyboardInterrupt))
    status = "cancelled" if cancelled else "failed"
    if cancelled:
        message = "cancelled by the user"
    elif isinstance(exc, MlopsError):
        message = str(exc)
    else:
        message = f"internal error: {type(exc).__name__}: {exc}"
    reg = ws.registry
    try:
        with reg.transaction():
            run_rows.finish(reg, run_id, status=status, finished_at=utc_now(),
                            duration_s=round(time.monotonic() - started, 3), error=message)
            audit.append(reg, actor=actor, action="run.finished", entity_type="run", entity_id=run_id,
                         summary=f"Run {run_id} {status}: {message}"[:300],
                         details={"status": status, "error": message})
    except Exception:  # the registry itself failed: the original error matters more
        pass
    if artifact:
        try:
            discard_unreferenced(ws, artifact)
        except OSError:
            pass
    try:
        exc.run_id = run_id  # type: ignore[attr-defined]
    except AttributeError:
        pass


def _model_name(prep: PreparedData) -> str:
    if prep.spec.model_name:
        return prep.spec.model_name.strip()
    return f"{prep.dataset.name}-{prep.spec.target}".replace(":", "-").replace(" ", "_")


def _feature_list(prep: PreparedData) -> list[dict[str, str]]:
    return [{"name": n, "kind": k} for n, k in prep.choice.kinds.items()]


def _register(ws: "Workspace", prep: PreparedData, run_id: int, baseline: FamilyResult,
              results: list[FamilyResult], best: FamilyResult, stored: Any, *, actor: str,
              seconds: float, refit_of: Optional[dict[str, Any]] = None,
              curves: Optional[dict[str, Any]] = None,
              origin: Optional[dict[str, Any]] = None) -> TrainResult:
    """Finish the run and register ``best`` as a draft version, with their audit entries,
    in one transaction. ``refit_of`` ({run_id, family, ...}): the run refits another
    run's candidate (see :mod:`.candidates`); ``origin``: where a retrained
    or assembled version came from (its lineage)."""
    reg = ws.registry
    spec = prep.spec
    name = _model_name(prep)
    primary = metrics.primary_metric(prep.task)
    rank_by = metrics.ranking_metric(prep.task, spec.ranking_metric)
    classes = None if prep.classes is None else json_safe(prep.classes.tolist())
    notes = list(prep.notes)
    if spec.search_candidates == 0 and best.family.style != ASSEMBLED:
        notes.append("No hyperparameter search (0 candidates): each family used its default settings.")
    if refit_of is not None:
        notes.insert(0, f"The {best.family.label} candidate of run {refit_of['run_id']}, fitted again with its "
                        "recorded settings and seed: the same holdout predictions and metrics as recorded.")
    for r in results:
        notes += [n if n.startswith(r.family.label) else f"{r.family.label}: {n}" for n in r.notes]
        if r.status != "succeeded":  # an unusable fit is never dropped silently
            notes.append(f"{r.family.label} failed and was not ranked: {r.error}")
    chosen_metrics = json_safe({"cv": best.cv, "holdout": best.holdout})
    candidates = [r.to_dict() for r in results]
    result = TrainResult(
        run_id=run_id, status="succeeded",
        dataset={"id": prep.dataset.id, "name": prep.dataset.name,
                 "fingerprint": prep.dataset.fingerprint},
        target=spec.target, task=prep.task, task_reason=prep.task_reason,
        features=_feature_list(prep), excluded=prep.choice.excluded,
        split=prep.split.to_dict(), rows=prep.rows_summary(), cv_folds=spec.cv_folds,
        primary_metric=primary, ranking_metric=rank_by, candidates=candidates, baseline=baseline.to_dict(),
        chosen=best.family.name, model=name, stage="draft", artifact_sha256=stored.sha256,
        prediction_sha256=best.prediction_sha256, classes=classes, segment_by=spec.segment_by,
        notes=notes, seconds=seconds, library_versions=library_versions(), formula=spec.formula,
        terms=model_terms(best.model))
    details = {"task_reason": prep.task_reason, "features": _feature_list(prep),
               "excluded": prep.choice.excluded, "split": prep.split.to_dict(),
               "rows": prep.rows_summary(), "primary_metric": primary, "ranking_metric": rank_by,
               "classes": classes,
               "candidates": candidates, "baseline": result.baseline, "notes": notes,
               "segment_by": spec.segment_by, "segments": best.segments,
               "model_parameters": best.model_params,
               "sample": prep.sample.to_dict() if prep.sample is not None else None}
    if refit_of is not None:
        details["refit_of"] = refit_of
    if curves is not None:
        details["curves"] = curves
    if origin:
        details["origin"] = origin
    inputs = [str(c) for c in getattr(best.model, "feature_names_in_", prep.choice.features)]
    version_details = {"classes": classes, "feature_kinds": prep.choice.kinds, "inputs": inputs,
                       "segment_by": spec.segment_by, "primary_metric": primary,
                       "dataset_id": prep.dataset.id, "dataset_fingerprint": prep.dataset.fingerprint,
                       "split": prep.split.to_dict(), "rows": prep.rows_summary(),
                       "sample": prep.sample.to_dict() if prep.sample is not None else None,
                       "hyperparameters": best.params, "baseline": {"cv": baseline.cv,
                                                                    "holdout": baseline.holdout},
                       "terms": result.terms}
    if origin:
        version_details["origin"] = origin
    now = utc_now()
    with reg.transaction():
        artifact_rows.insert(reg, sha256=stored.sha256, size_bytes=stored.size_bytes, kind="model",
                             created_by=actor, created_at=now)
        model_id = model_rows.model_id_for(reg, name)
        if model_id is None:
            description = f"{prep.task} of {spec.target} on {prep.dataset.name}"
            model_id = model_rows.insert_model(reg, name=name, description=description, created_by=actor,
                                               created_at=now)
            audit.append(reg, actor=actor, action="model.registered", entity_type="model",
                         entity_id=model_id, summary=f"Model {name} registered",
                         details={"name": name, "run_id": run_id, "description": description})
        version_id, version = model_rows.insert_version(
            reg, model_id=model_id, run_id=run_id, artifact_sha256=stored.sha256,
            family=best.family.name, task=prep.task, target=spec.target,
            features=prep.choice.features, metrics=chosen_metrics,
            details=json_safe(version_details), created_by=actor, created_at=now)
        run_rows.finish(reg, run_id, status="succeeded", finished_at=now, duration_s=round(seconds, 3),
                        task=prep.task, features=prep.choice.features, family=best.family.name,
                        hyperparameters=json_safe(best.params),
                        metrics=json_safe({**chosen_metrics, "baseline": {"cv": baseline.cv,
                                                                          "holdout": baseline.holdout}}),
                        details=json_safe(details), prediction_sha256=best.prediction_sha256)
        what = (f"the {best.family.label} candidate of run {refit_of['run_id']} fitted again" if refit_of
                else f"{best.family.label} chosen" + (f" ({rank_by} {numbers.value(best.cv[rank_by]['mean'])})"
                                                       if rank_by in best.cv else ""))  # assembled: no cv
        audit.append(reg, actor=actor, action="run.finished", entity_type="run", entity_id=run_id,
                     summary=f"Run {run_id} succeeded: {what}",
                     details={"status": "succeeded", "family": best.family.name,
                              "model": name, "version": version,
                              **({"refit_of": refit_of} if refit_of else {})})
        audit.append(reg, actor=actor, action="model.version_created", entity_type="model_version",
                     entity_id=version_id, summary=f"Model {name} version {version} (draft) from run {run_id}"
                     + (f", the {best.family.label} candidate of run {refit_of['run_id']}" if refit_of else ""),
                     details={"model": name, "version": version, "run_id": run_id, "stage": "draft",
                              "artifact_sha256": stored.sha256, "family": best.family.name,
                              "metrics_sha256": model_rows.json_digest(chosen_metrics)}
                     | ({"origin": json_safe(origin)} if origin else {}))
    result.version = version
    return result




# -- a model assembled from fitted parts ---------------------------------------------------------

#: the style of a "family" whose model was assembled from other versions' fitted models
ASSEMBLED = "assembled"


def register_assembled(ws: "Workspace", prep: PreparedData, assembled: FamilyResult, *, actor: str,
                       origin: dict[str, Any]) -> TrainResult:
    """Record a model assembled from fitted parts (no training) as a run and a draft
    version, like a training run: ``prep`` are the rows its run names (its holdout scores
    it), ``assembled`` carries the model and its figures, ``origin`` says what it was made
    of (kept with the run and the version, and read again to reproduce it)."""
    from ..workspace.artifacts import save_model_file

    started = time.monotonic()
    run_id = _start_run(ws, prep, actor=actor, kind="train")
    stored = None
    try:
        baseline = fit_family(prep, family_catalogue.baseline(prep.task), Plan(0, None, 1),
                              on_progress=lambda f, m: None, segmented=False)
        stored = save_model_file(ws, assembled.model)
        return _register(ws, prep, run_id, baseline, [assembled], assembled, stored, actor=actor,
                         seconds=time.monotonic() - started, origin=origin)
    except BaseException as exc:
        _end_unsuccessfully(ws, run_id, exc, actor=actor, started=started,
                            artifact=stored.sha256 if stored else None)
        raise


# -- reproduction ----------------------------------------------------------------------------

def recorded_spec(run: run_rows.Run) -> TrainSpec:
    """The spec a run was trained with, its dataset by id and its task as the run resolved it."""
    spec = TrainSpec.from_dict(run.spec)
    spec.dataset = run.dataset_id
    spec.task = run.task  # as the run resolved it: inference must not decide twice
    return spec


def recorded_features(run: run_rows.Run) -> Optional[dict[str, str]]:
    """The features a run used and how each was treated (name -> numeric | categorical)."""
    listed = run.details.get("features")
    if not listed:
        return None
    return {f["name"]: f["kind"] for f in listed}


def _original(ws: "Workspace", run_id: int | str) -> run_rows.Run:
    run = run_rows.get(ws.registry, run_id)
    if run.kind == "reproduce" and run.reproduces_run_id is not None:
        run = run_rows.get(ws.registry, run.reproduces_run_id)
    if run.status != "succeeded":
        raise TrainError(f"Run {run.id} did not succeed (its status is {run.status}); only a "
                         "succeeded run can be reproduced or split again.")
    return run


def _check_snapshot(ws: "Workspace", run: run_rows.Run) -> None:
    from ..data.catalog import snapshot_path

    ds = ws.dataset(run.dataset_id)
    snapshot_path(ws, ds)  # present and unmodified, else the error names the file
    if ds.fingerprint != run.dataset_fingerprint:
        raise TrainError(f"Dataset {ds.name!r} is not the data run {run.id} was trained on "
                         "(its fingerprint differs).")


def reproduce(ws: "Workspace", run_id: int | str, *, actor: str,
              progress: ProgressCallback = no_progress,
              cancel: Optional[CancelToken] = None) -> ReproduceResult:
    """Train a recorded run's chosen family again, from the dataset's snapshot, with the
    recorded spec, features, seed and chosen hyperparameters, and compare: the hash of
    the holdout predictions, and every cross-validated and holdout metric.

    The reproduction is a run of its own (kind ``reproduce``); it registers no model.
    """
    started = time.monotonic()
    report = _Progress(progress, cancel)
    original = _original(ws, run_id)
    report(0.0, f"Preparing run {original.id} again")
    _check_snapshot(ws, original)
    prep = prepare(ws, recorded_spec(original), recorded_features=recorded_features(original))
    origin = original.details.get("origin") or {}
    family = None if origin.get("kind") == "segments" else family_catalogue.resolve([original.family], prep.task)[0]
    notes = []
    if library_versions() != original.library_versions:
        changed = [f"{k} {original.library_versions.get(k)} → {v}" for k, v in library_versions().items()
                   if original.library_versions.get(k) != v]
        notes.append("Library versions differ from the original run's: " + ", ".join(changed) + ".")
    new_id = _start_run(ws, prep, actor=actor, kind="reproduce", reproduces=original.id)
    try:
        plan = Plan(candidates=0, time_budget_s=None,
                    n_jobs=workers(len(prep.train_rows), len(prep.choice.features)),
                    fixed=original.hyperparameters)
        if family is None:  # assembled from two versions' segment models: assembled again
            from ..challenge.segments import assemble

            report(_PREPARED, "Assembling the segments' models again")
            again = assemble(ws, origin, prep)
        else:
            report(_PREPARED, f"Training {family.label} again")
            with thread_limit(plan.n_jobs):
                again = fit_family(prep, family, plan,
                                   on_progress=lambda f, m: report(_PREPARED + (_TRAINED - _PREPARED) * f, m))
        if again.status != "succeeded":
            raise TrainError(f"The reproduction of run {original.id} failed: {again.error}")
        result = _compare(original, again, new_id, notes, time.monotonic() - started)
        reg = ws.registry
        with reg.transaction():
            run_rows.finish(reg, new_id, status="succeeded", finished_at=utc_now(),
                            duration_s=round(result.seconds, 3), task=prep.task,
                            features=prep.choice.features, family=again.family.name,
                            hyperparameters=json_safe(again.params),
                            metrics=json_safe({"cv": again.cv, "holdout": again.holdout}),
                            details=json_safe({"reproduction": result.to_dict(),
                                               "features": _feature_list(prep)}),
                            prediction_sha256=again.prediction_sha256)
            verdict = "identical" if result.identical else "NOT identical"
            audit.append(reg, actor=actor, action="run.reproduced", entity_type="run",
                         entity_id=original.id,
                         summary=f"Run {original.id} reproduced by run {new_id}: {verdict}",
                         details={"reproduction_run_id": new_id, "identical": result.identical,
                                  "predictions_identical": result.predictions_identical,
                                  "metrics_equal": result.metrics_equal})
            audit.append(reg, actor=actor, action="run.finished", entity_type="run", entity_id=new_id,
                         summary=f"Run {new_id} succeeded: reproduction of run {original.id} ({verdict})",
                         details={"status": "succeeded", "identical": result.identical})
    except BaseException as exc:
        _end_unsuccessfully(ws, new_id, exc, actor=actor, started=started, artifact=None)
        raise
    progress(1.0, f"Run {original.id} reproduced: {'identical' if result.identical else 'different'}")
    return result


def _compare(original: run_rows.Run, again: FamilyResult, new_id: int, notes: list[str],
             seconds: float) -> ReproduceResult:
    differences = []
    fresh = json_safe({"cv": again.cv, "holdout": again.holdout})
    for where in ("cv", "holdout"):
        before = original.metrics.get(where) or {}
        after = fresh.get(where) or {}
        for name in sorted(set(before) | set(after)):
            a, b = before.get(name), after.get(name)
            if where == "cv":
                pairs = [(f"{name} {k}", (a or {}).get(k), (b or {}).get(k)) for k in ("mean", "std")]
            else:
                pairs = [(name, a, b)]
            for label, x, y in pairs:
                if x != y:
                    diff = (y - x) if isinstance(x, (int, float)) and isinstance(y, (int, float)) else None
                    differences.append({"where": where, "metric": label, "original": x,
                                        "reproduced": y, "difference": diff})
    same_predictions = original.prediction_sha256 == again.prediction_sha256
    return ReproduceResult(
        run_id=new_id, reproduces=original.id, identical=same_predictions and not differences,
        predictions_identical=same_predictions, metrics_equal=not differences,
        prediction_sha256={"original": original.prediction_sha256,
                           "reproduced": again.prediction_sha256},
        metric_differences=differences, family=again.family.name, notes=notes, seconds=seconds)


# -- the split of a recorded run ---------------------------------------------------------------

def load_split(ws: "Workspace", run_id: int | str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The training part and the holdout of a succeeded run, rebuilt from the dataset's
    snapshot with the recorded spec and seed: every column of the dataset, the rows as
    the run split them (index: the row's position in the dataset). The holdout is
    empty for a run trained on every row."""
    original = _original(ws, run_id)
    prep = prepare(ws, recorded_spec(original), recorded_features=recorded_features(original),
                   all_columns=True)
    return prep.frame.iloc[prep.train_rows].copy(), prep.frame.iloc[prep.holdout_rows].copy()


def preview(ws: "Workspace", spec: TrainSpec) -> dict[str, Any]:
    """What a run with ``spec`` would train on, without training: task, features and
    the columns left out (with reasons), row counts, split and notes. For the wizard."""
    prep = prepare(ws, spec)
    chosen = family_catalogue.resolve(spec.models, prep.task)
    return json_safe({
        "dataset": {"id": prep.dataset.id, "name": prep.dataset.name}, "target": spec.target,
        "task": prep.task, "task_reason": prep.task_reason, "features": _feature_list(prep),
        "excluded": prep.choice.excluded, "split": prep.split.to_dict(), "rows": prep.rows_summary(),
        "classes": None if prep.classes is None else prep.classes.tolist(),
        "models": [f.to_dict() for f in chosen],
        "available_models": [f.to_dict() for f in family_catalogue.families_for(prep.task)],
        "primary_metric": metrics.primary_metric(prep.task),
        "ranking_metric": metrics.ranking_metric(prep.task, spec.ranking_metric), "notes": prep.notes})
