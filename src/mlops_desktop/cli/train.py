"""Commands to train models and inspect runs: train, runs, reproduce (the registered models
are in :mod:`.registry`)."""

from __future__ import annotations

import argparse
from typing import Any, Optional

from .common import (EXIT_OK, Parser, add_actor, add_common, emit, open_workspace, progress_for,
                     short, table, who)

MODEL_NAMES = "ols|linear|ridge|lasso|elasticnet|logistic|tree|random_forest|hgb"


def _names(values: Optional[list[str]]) -> Optional[list[str]]:
    """Names given as ``A,B``, ``A B`` or repeated options, in order, once each."""
    if values is None:
        return None
    out = [n.strip() for v in values for n in v.split(",") if n.strip()]
    return list(dict.fromkeys(out))


def register(sub: Any) -> dict:
    p = sub.add_parser("train", help="train models for a target, choose the best by cross-validation "
                                     "and register it as a draft model version")
    p.add_argument("dataset", metavar="DATASET", help="dataset id or name")
    p.add_argument("--target", help="the column to predict (with --formula: its left side)")
    p.add_argument("--formula", metavar="F",
                   help="model terms in R's notation, e.g. \"log(wage) ~ education + poly(experience, 2) "
                        "+ C(ethnicity, contr.treatment('cauc')) + education:parttime\"; its columns are "
                        "the features (functions: log log1p sqrt exp boxcox yeojohnson poly ns bs center "
                        "scale C I)")
    p.add_argument("--retransform", choices=["smearing", "normal", "none"], default="smearing",
                   help="how predictions of a transformed target come back in its units: Duan's "
                        "smearing estimate (default), the normal-theory correction, or none")
    p.add_argument("--task", choices=["regression", "classification", "binary", "multiclass"],
                   help="default: inferred from the target")
    p.add_argument("--features", metavar="A,B,...", action="append",
                   help="feature columns (default: chosen; id-like, constant, date, text and suspected "
                        "leakage columns are left out, with the reason)")
    p.add_argument("--exclude", metavar="C,D,...", action="append", help="columns never to use")
    p.add_argument("--model", dest="models", metavar="FAMILY", nargs="+", action="extend",
                   help=f"model families ({MODEL_NAMES}); several allowed (default: linear hgb). "
                        "linear is ols or logistic by the task; for classification ridge, lasso "
                        "and elasticnet are logistic regression with that penalty")
    p.add_argument("--split", default="auto", metavar="KIND",
                   help="random | stratified | time:COLUMN | group:COLUMN (default: stratified for "
                        "classification, random for regression)")
    p.add_argument("--test-size", type=float, default=0.2, metavar="SHARE",
                   help="holdout share, 0 to train on every row (default 0.2)")
    p.add_argument("--cv", type=int, default=5, metavar="K", help="cross-validation folds (default 5)")
    p.add_argument("--search", type=int, default=0, metavar="N",
                   help="random hyperparameter candidates per family besides the defaults (default 0)")
    p.add_argument("--search-time", type=float, default=300.0, metavar="SECONDS",
                   help="time budget of each family's search (default 300)")
    p.add_argument("--segment-by", metavar="COLUMN", help="train one model per value of this column")
    p.add_argument("--min-segment-rows", type=int, default=200, metavar="N",
                   help="training rows a segment needs for its own model (default 200)")
    p.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    p.add_argument("--name", metavar="MODEL_NAME", help="registered model name (default: DATASET-TARGET)")
    p.add_argument("--robust", action="store_true",
                   help="heteroscedasticity-robust (HC3) standard errors for ordinary least squares")
    p.add_argument("--rank-by", metavar="METRIC",
                   help="the cross-validated metric that chooses the best candidate: rmse, mae or r2 for "
                        "regression; roc_auc, log_loss, accuracy, balanced_accuracy or f1 for classification "
                        "(default: rmse, or roc_auc)")
    add_common(p)
    add_actor(p)

    p = sub.add_parser("runs", help="list and show training runs")
    add_common(p)
    rsub = p.add_subparsers(dest="action", metavar="ACTION", required=True, parser_class=Parser)
    q = rsub.add_parser("list", help="training runs, newest first")
    q.add_argument("--dataset", metavar="DATASET", help="only the runs of this dataset")
    q.add_argument("--limit", type=int, default=50, help="how many runs (default 50; 0 for all)")
    add_common(q)
    q = rsub.add_parser("show", help="one run with its spec, metrics and candidates")
    q.add_argument("run_id", metavar="RUN_ID")
    add_common(q)
    q = rsub.add_parser("register", help="register a candidate of a run that was not chosen: fitted again "
                                         "from the run's record, checked to give the recorded predictions")
    q.add_argument("run_id", metavar="RUN_ID")
    q.add_argument("family", metavar="FAMILY", help="the candidate's family, as 'runs show' lists it")
    q.add_argument("--name", metavar="MODEL_NAME", help="registered model name (default: the run's model)")
    add_common(q)
    add_actor(q)

    p = sub.add_parser("reproduce", help="train a run again from the dataset's snapshot and compare")
    p.add_argument("run_id", metavar="RUN_ID")
    add_common(p)
    add_actor(p)

    return {"train": cmd_train, "runs": cmd_runs, "reproduce": cmd_reproduce}


# -- train ------------------------------------------------------------------------------------

def cmd_train(args: argparse.Namespace) -> int:
    from ..core.errors import InvalidChoiceError
    from ..core.train import SplitSpec, TrainSpec, train
    from ..core.train.formula import formula_target
    from ..core.train.spec import DEFAULT_MODELS

    target = args.target
    if args.formula is not None:
        target = target or formula_target(args.formula)
    elif not target:
        raise InvalidChoiceError("Name the column to predict with --target (or give a --formula).")
    spec = TrainSpec(dataset=args.dataset, target=target, task=args.task, formula=args.formula,
                     retransform=args.retransform,
                     features=_names(args.features), exclude=_names(args.exclude) or [],
                     models=_names(args.models) or list(DEFAULT_MODELS),
                     split=SplitSpec.parse(args.split, args.test_size), cv_folds=args.cv,
                     search_candidates=args.search, search_time_budget_s=args.search_time,
                     segment_by=args.segment_by, min_segment_rows=args.min_segment_rows,
                     seed=args.seed, model_name=args.name, robust_errors=args.robust,
                     ranking_metric=args.rank_by)
    with open_workspace(args, create=False) as ws:
        result = train(ws, spec, actor=who(args),
                       progress=progress_for(args))
    emit(args, result.to_dict(), lambda: _train_text(result))
    return EXIT_OK


def _metric_cells(candidate: dict, names: tuple[str, ...], primary: str) -> list[str]:
    cv = candidate.get("cv") or {}
    first = cv.get(primary) or {}
    cells = [f"{short(first.get('mean'))} ± {short(first.get('std'))}" if first else "—"]
    holdout = candidate.get("holdout") or {}
    cells += [short(holdout.get(n)) if holdout else "—" for n in names]
    return cells


def _train_text(r: Any) -> str:
    from ..core.train.metrics import metric_names

    names = metric_names(r.task)
    lines = [f"Run {r.run_id} {r.status} in {r.seconds:.1f} s: {r.dataset['name']} → {r.target} "
             f"({r.task}; {r.task_reason})",
             f"Rows: {r.rows['train']:,} training, {r.rows['holdout']:,} holdout "
             f"({r.split['kind']}{' by ' + r.split['column'] if r.split.get('column') else ''}), "
             f"{r.cv_folds}-fold cross-validation" + (f", one model per {r.segment_by}" if r.segment_by else ""),
             f"Features ({len(r.features)}): {', '.join(f['name'] for f in r.features)}"]
    if r.formula:
        lines.append(f"Formula: {r.formula}")
    for e in r.excluded:
        lines.append(f"  left out: {e['column']} {e['reason']}")
    lines.append("")
    header = ["FAMILY", f"CV {r.ranking_metric} (mean ± sd)"] + [f"HOLDOUT {n}" for n in names]
    rows = [["baseline"] + _metric_cells(r.baseline, names, r.ranking_metric)]
    for c in r.candidates:
        mark = " *" if c["family"] == r.chosen else ""
        if c["status"] != "succeeded":
            rows.append([c["family"], f"failed: {c['error']}"] + [""] * len(names))
        else:
            rows.append([c["family"] + mark] + _metric_cells(c, names, r.ranking_metric))
    lines.append(table(rows, header))
    lines += ["", f"Registered {r.model} version {r.version} ({r.stage}); artifact {r.artifact_sha256[:12]}…"]
    if r.notes:
        lines += ["", "Notes:"] + [f"  - {n}" for n in r.notes]
    return "\n".join(lines)


# -- runs ------------------------------------------------------------------------------------

def cmd_runs(args: argparse.Namespace) -> int:
    from ..core.train import run, runs

    if args.action == "register":
        return _register_candidate(args)
    with open_workspace(args, create=False, only_reading=True) as ws:
        if args.action == "list":
            found = runs(ws, dataset=args.dataset, limit=args.limit or None)
            data = [r.summary() for r in found]
            emit(args, data, lambda: table(
                [[r["run_id"], r["kind"], r["dataset"], r["target"], r["task"], r["family"], r["status"],
                  f"{r['model']}:{r['version']}" if r["model"] else "", r["started_at"][:19],
                  short(r["duration_s"]), r["created_by"]] for r in data],
                ["RUN", "KIND", "DATASET", "TARGET", "TASK", "FAMILY", "STATUS", "MODEL", "STARTED",
                 "SECONDS", "BY"]) if data else "No runs yet.")
        else:
            found = run(ws, args.run_id)
            emit(args, found.to_dict(), lambda: _run_text(found))
    return EXIT_OK


def _register_candidate(args: argparse.Namespace) -> int:
    from ..core.train.candidates import register_candidate

    with open_workspace(args, create=False) as ws:
        result = register_candidate(ws, args.run_id, args.family, actor=who(args), model_name=args.name,
                                    progress=progress_for(args))
    emit(args, result.to_dict(), lambda: f"Registered {result.model} version {result.version} (draft): "
                                         f"{result.notes[0]} Run {result.run_id} records the refit.")
    return EXIT_OK


def _run_text(r: Any) -> str:
    lines = [f"Run {r.id} ({r.kind}{' of run ' + str(r.reproduces_run_id) if r.reproduces_run_id else ''}): "
             f"{r.status}", f"Dataset: {r.dataset_name} (id {r.dataset_id}, fingerprint {r.dataset_fingerprint[:12]}…)",
             f"Target: {r.target} ({r.task or 'task not resolved'}); seed {r.seed}",
             f"Started {r.started_at} by {r.created_by}; {short(r.duration_s)} s"]
    if r.error:
        lines.append(f"Error: {r.error}")
    if r.family:
        lines.append(f"Chosen family: {r.family} {r.hyperparameters or '(default settings)'}")
    refit = (r.details or {}).get("refit_of")
    if refit:
        lines.append(f"Refits the {refit['family']} candidate of run {refit['run_id']}")
    others = [c["family"] for c in (r.details or {}).get("candidates") or []
              if c.get("status") == "succeeded" and c["family"] != r.family]
    if others and r.status == "succeeded":
        lines.append(f"Other candidates: {', '.join(others)} (register one with: runs register {r.id} FAMILY)")
    if r.model:
        lines.append(f"Registered: {r.model} version {r.version}")
    if r.features:
        lines.append(f"Features: {', '.join(r.features)}")
    for where in ("cv", "holdout"):
        values = (r.metrics or {}).get(where)
        if values:
            shown = [f"{k} {short(v['mean'] if isinstance(v, dict) else v)}" for k, v in values.items()]
            lines.append(f"{'Cross-validation' if where == 'cv' else 'Holdout'}: {', '.join(shown)}")
    if r.prediction_sha256:
        lines.append(f"Prediction hash: {r.prediction_sha256}")
    lines.append("Libraries: " + ", ".join(f"{k} {v}" for k, v in r.library_versions.items()))
    return "\n".join(lines)


# -- reproduce ---------------------------------------------------------------------------------

def cmd_reproduce(args: argparse.Namespace) -> int:
    from ..core.train import reproduce

    with open_workspace(args, create=False) as ws:
        result = reproduce(ws, args.run_id, actor=who(args),
                           progress=progress_for(args))
    emit(args, result.to_dict(), lambda: _reproduce_text(result))
    return EXIT_OK


def _reproduce_text(r: Any) -> str:
    verdict = "identical" if r.identical else "NOT identical"
    lines = [f"Run {r.reproduces} reproduced as run {r.run_id} ({r.family}, {r.seconds:.1f} s): {verdict}",
             f"  predictions: {'identical' if r.predictions_identical else 'different'} "
             f"(original {short(r.prediction_sha256['original'])[:16]}…, "
             f"reproduced {short(r.prediction_sha256['reproduced'])[:16]}…)",
             f"  metrics: {'equal' if r.metrics_equal else 'different'}"]
    for d in r.metric_differences:
        lines.append(f"    {d['where']} {d['metric']}: {short(d['original'])} → {short(d['reproduced'])}")
    lines += [f"  note: {n}" for n in r.notes]
    return "\n".join(lines)
