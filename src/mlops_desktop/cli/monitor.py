"""Commands to watch data after training: drift, drift-thresholds, drift-reports, and
``monitor labels`` (labels that arrived later) and ``monitor import`` (summaries of IT's
scoring runs).

``drift`` exits 0 when no batch drifted, 4 when one did (so a scheduled job can act
on it), 2 on bad input, including a batch with features that cannot be compared.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Optional

from .common import (EXIT_OK, EXIT_USER, add_actor, add_common, emit, open_workspace, progress_for,
                     short, table, who)

EXIT_DRIFT = 4
_SHORT_VERDICT = {"no drift": "·", "moderate": "moderate", "major": "MAJOR", "not comparable": "n/c"}


def register(sub: Any) -> dict:
    p = sub.add_parser("drift", help="compare current batches with a reference: per-feature drift, verdicts, "
                                     "timeline (exit 4 when a batch drifted)")
    p.add_argument("--reference", required=True, metavar="MODEL[:VERSION]|DATASET",
                   help="the reference: a dataset id or name")
    p.add_argument("--current", required=True, action="append", metavar="PATH",
                   help="a batch: a CSV/Excel/Parquet/SQLite file or a dataset; repeat for a series")
    p.add_argument("--split-by", metavar="DATECOL", help="split each batch into periods of this date column")
    p.add_argument("--freq", type=str.upper, choices=["M", "W", "D"],
                   help="period length with --split-by: M month (default), W week, D day")
    p.add_argument("--report", metavar="FILE.html", help="also write a self-contained HTML report")
    p.add_argument("--no-store", action="store_true",
                   help="do not record the reports in the workspace's registry")
    add_common(p)
    add_actor(p)

    p = sub.add_parser("drift-thresholds", help="show or change the drift thresholds of the workspace or a model")
    p.add_argument("--model", metavar="NAME", help="the model whose thresholds to show or change")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a threshold (repeatable), e.g. psi_moderate=0.15")
    p.add_argument("--unset", action="append", default=[], metavar="KEY", help="remove an override")
    p.add_argument("--reset", action="store_true", help="remove every override of this scope")
    add_common(p)
    add_actor(p)

    p = sub.add_parser("drift-reports", help="stored drift reports, newest first")
    p.add_argument("--reference", metavar="DATASET", help="only reports against this dataset")
    p.add_argument("--model", metavar="NAME[:VERSION]", help="only reports against this model (version)")
    p.add_argument("--limit", type=int, default=50, help="how many (default 50; 0 for all)")
    p.add_argument("--show", type=int, metavar="ID", help="one report in full")
    add_common(p)

    p = sub.add_parser("monitor", help="life after handoff: labels that arrived later, summaries of IT's "
                                       "scoring runs")
    group = p.add_subparsers(dest="monitor_command", metavar="ACTION", parser_class=type(p))
    group.required = True
    q = group.add_parser("labels", help="join labels to a scored batch by id and record the realized "
                                        "performance next to the estimate")
    q.add_argument("version", metavar="MODEL:VERSION", help="the model version that scored the batch")
    q.add_argument("--batch", required=True, type=int, metavar="REPORT_ID",
                   help="the drift report of the batch (see drift-reports)")
    q.add_argument("--labels", required=True, metavar="FILE", help="a CSV/Excel/Parquet file with the ids and "
                   "the labels")
    q.add_argument("--id-column", required=True, metavar="COL", help="the id column, in the batch and the file")
    q.add_argument("--label-column", metavar="COL", help="the labels' column (default: the model's target)")
    add_common(q)
    add_actor(q)
    q = group.add_parser("import", help="bring monitoring summaries of IT's scoring runs (score.py "
                                        "--monitor-out) into the workspace as drift reports")
    q.add_argument("files", nargs="+", metavar="FILE.json")
    add_common(q)
    add_actor(q)
    return {"drift": cmd_drift, "drift-thresholds": cmd_thresholds, "drift-reports": cmd_reports,
            "monitor": cmd_monitor}


def cmd_monitor(args: argparse.Namespace) -> int:
    return {"labels": cmd_labels, "import": cmd_import}[args.monitor_command](args)


def _metric_rows(report: Any) -> list[list[str]]:
    """Per metric: the estimate with its band, and the realized value when known."""
    from mlops_model_support.performance import METRIC_LABELS, METRICS

    est, real = report.estimated_performance, report.realized_performance
    rows = []
    for k in METRICS:
        e = est.metrics.get(k) if est is not None else None
        shown = (f"{e.estimate:.3f} ({e.low:.3f}–{e.high:.3f})" + ("" if e.reliable else " unreliable")
                 if e is not None and e.estimate is not None else "—")
        rows.append([METRIC_LABELS[k], shown, short(real.metrics.get(k)) if real is not None else "—"])
    return rows


def cmd_labels(args: argparse.Namespace) -> int:
    from ..core.monitor.labels import record_labels

    with open_workspace(args, create=False) as ws:
        result = record_labels(ws, args.version, args.batch, Path(args.labels), args.id_column,
                               label_column=args.label_column, actor=who(args))

    def text() -> str:
        c = result.counts
        lines = [f"Labels for drift report {result.report.id} ({result.report.label}) of {result.version}: "
                 f"{c.matched:,} rows matched.",
                 f"  batch rows without a label: {c.unlabelled:,}; label rows with an id the batch does not have: "
                 f"{c.unknown_ids:,}; ids given more than once (their {c.duplicate_rows:,} label rows left out): "
                 f"{c.duplicate_ids:,}; batch rows sharing an id (left out): {c.batch_duplicate_rows:,}", "",
                 table(_metric_rows(result.report), ["METRIC", "ESTIMATED (95% BAND)", "REALIZED"]),
                 "", f"Recorded as realized performance {result.record_id}."]
        return "\n".join(lines)

    emit(args, result.to_dict(), text)
    return EXIT_OK


def cmd_import(args: argparse.Namespace) -> int:
    from ..core.monitor.imported import import_summaries

    with open_workspace(args, create=False) as ws:
        result = import_summaries(ws, [Path(f) for f in args.files], actor=who(args))

    def text() -> str:
        lines = []
        for r in result.reports:
            lines.append(f"[{r.verdict.upper()}] {r.label} ({r.batch['rows']:,} rows), stored as drift report "
                         f"{r.id}: {r.summary}")
        for path, why in result.refused:
            lines.append(f"REFUSED {path}: {why}")
        return "\n".join(lines)

    emit(args, result.to_dict(), text)
    for path, why in result.refused:
        print(f"error: {why}", file=sys.stderr)
    return EXIT_USER if result.refused else EXIT_OK


def cmd_drift(args: argparse.Namespace) -> int:
    from ..core.monitor import (DriftError, load_batch, resolve_reference, run_drift, split_batch,
                                write_drift_report)

    if args.freq and not args.split_by:
        raise DriftError("--freq goes with --split-by DATECOL.")
    with open_workspace(args, create=False) as ws:
        reference = resolve_reference(ws, args.reference)
        batches = []
        for spec in args.current:
            batch = load_batch(spec, ws)
            if args.split_by:
                batches += split_batch(batch, args.split_by, args.freq or "M", prefix=len(args.current) > 1)
            else:
                batches.append(batch)
        _unique_labels(batches)
        run = run_drift(ws, reference, batches, store=not args.no_store, actor=who(args),
                        progress=progress_for(args))
    path = None
    if args.report:
        path = write_drift_report(args.report, run.reports).absolute()
    code = EXIT_DRIFT if run.drifted else (EXIT_USER if run.has_not_comparable else EXIT_OK)
    data = run.to_dict()
    data.update(exit_code=code, report=str(path) if path else None)
    emit(args, data, lambda: _drift_text(run, path))
    if code == EXIT_USER:
        bad = next(r for r in run.reports if r.has_not_comparable)
        first = next((f for f in bad.features if not f.comparable), None)
        why = f"{first.name}: {first.reason}" if first is not None else bad.summary
        print(f"error: {bad.label}: {bad.dataset.n_not_comparable} feature(s) could not be compared "
              f"({why}).", file=sys.stderr)
    return code


def _unique_labels(batches: list[Any]) -> None:
    seen: dict[str, int] = {}
    for b in batches:
        n = seen.get(b.label, 0) + 1
        seen[b.label] = n
        if n > 1:
            b.label = f"{b.label} ({n})"


def _distance(r: Any) -> str:
    m = r.metrics
    if r.kind == "numeric":
        return f"W/σ {short(m.get('wasserstein_normalised'))}" if "wasserstein" in m else "—"
    return f"JS {short(m.get('jensen_shannon'))}" if "jensen_shannon" in m else "—"


def _drift_text(run: Any, path: Optional[Path]) -> str:
    ref = run.reference
    t = run.thresholds
    lines = [f"Drift of {len(run.reports)} batch{'es' if len(run.reports) != 1 else ''} against "
             f"{ref['label']} ({ref.get('rows') or 0:,} rows)",
             f"thresholds: PSI {t['psi_moderate']:g} / {t['psi_major']:g} (major), W/σ {t['wasserstein']:g}, "
             f"JS {t['jensen_shannon']:g}, missing share {t['missing_share']:g}, new categories "
             f"{t.get('new_share', 0.1):g}; no-drift noise: "
             f"{t['noise_quantile']:.0%} of {t['noise_draws']} draws", ""]
    for rep in run.reports:
        lines.append(f"[{rep.verdict.upper()}] {rep.label} ({rep.batch['rows']:,} rows): {rep.summary}")
    last = run.reports[-1] if len(run.reports) == 1 else None
    if last is not None:
        rows = []
        for r in list(last.features) + [x for x in (last.prediction, last.target) if x is not None]:
            m = r.metrics
            stat, p = ((m.get("ks_statistic"), m.get("ks_p_value")) if r.kind == "numeric"
                       else (m.get("chi_square"), m.get("chi_square_p_value")))
            rows.append([r.name, r.kind, r.verdict, short(m.get("psi")), _distance(r), short(stat), short(p),
                         r.decided_rule.replace("_", " ")])
        lines += ["", table(rows, ["FEATURE", "TYPE", "VERDICT", "PSI", "DISTANCE", "KS D / CHI2", "P",
                                   "DECIDED BY"])]
        lines += [f"  {n}" for n in last.notes]
        if last.estimated_performance is not None or last.realized_performance is not None:
            lines += ["", "Performance (estimated from calibrated probabilities without labels; realized on "
                      "labelled rows):", table(_metric_rows(last), ["METRIC", "ESTIMATED (95% BAND)", "REALIZED"])]
        elif last.performance_note:
            lines += ["", last.performance_note]
    else:
        timeline = run.timeline
        rows = [[name] + [_SHORT_VERDICT.get(v, v) for v in entry["verdict"]]
                for name, entry in timeline.features.items()]
        lines += ["", "Timeline (· no drift, n/c not comparable):",
                  table(rows, ["FEATURE"] + timeline.labels)]
    stored = [r.id for r in run.reports if r.id is not None]
    if stored:
        span = f"{stored[0]}" if len(stored) == 1 else f"{stored[0]}–{stored[-1]}"
        lines += ["", f"Stored as drift report{'s' if len(stored) > 1 else ''} {span}."]
    if path:
        lines.append(f"Report written to {path}")
    return "\n".join(lines)


def cmd_thresholds(args: argparse.Namespace) -> int:
    from ..core.monitor import (DriftError, effective_thresholds, reset_thresholds, set_thresholds,
                                threshold_layers)

    changes: dict[str, Any] = {}
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise DriftError(f"Write --set KEY=VALUE, e.g. --set psi_moderate=0.15 (not {item!r}).")
        changes[key.strip()] = value.strip()
    for key in args.unset:
        changes[key.strip()] = None
    with open_workspace(args, create=False) as ws:
        if args.reset:
            reset_thresholds(ws, model_name=args.model, actor=who(args))
        if changes:
            set_thresholds(ws, changes, model_name=args.model, actor=who(args))
        effective = effective_thresholds(ws, args.model).to_dict()
        layers = threshold_layers(ws, args.model)
    data = {"model": args.model, "effective": effective, **layers}

    def text() -> str:
        def source(k: str) -> str:
            return ("model" if k in layers["model"] else "workspace" if k in layers["workspace"] else "default")

        scope = f"model {args.model}" if args.model else "the workspace"
        return f"Drift thresholds for {scope}:\n" + table(
            [[k, short(v), source(k)] for k, v in effective.items()], ["THRESHOLD", "VALUE", "SET BY"])

    emit(args, data, text)
    return EXIT_OK


def cmd_reports(args: argparse.Namespace) -> int:
    from ..core.monitor import drift_reports, load_report

    with open_workspace(args, create=False, only_reading=True) as ws:
        if args.show is not None:
            report = load_report(ws, args.show)
            emit(args, report.to_dict(), lambda: f"Drift report {report.id} ({report.created_at} by "
                                                 f"{report.created_by}): {report.label} against "
                                                 f"{report.reference.get('label')}\n[{report.verdict.upper()}] "
                                                 f"{report.summary}")
            return EXIT_OK
        name, version = None, None
        if args.model:
            name, _, v = args.model.partition(":")
            version = int(v) if v.strip().isdigit() else None
        items = drift_reports(ws, dataset=args.reference, model_name=name, model_version=version,
                              limit=args.limit or None)
    emit(args, [r.to_dict() for r in items],
         lambda: table([[r.id, r.created_at[:19].replace("T", " "), r.reference_label, r.batch_label,
                         r.verdict, f"{r.n_drifted}/{r.n_features}"] for r in items],
                       ["ID", "WHEN (UTC)", "REFERENCE", "BATCH", "VERDICT", "DRIFTED"])
         if items else "No drift reports yet. Run 'mlops-desktop drift'.")
    return EXIT_OK
