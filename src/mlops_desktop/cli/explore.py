"""Commands to understand a dataset before modelling it: profile, check."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Optional

from .common import (EXIT_OK, add_actor, add_common, emit, open_workspace, progress_for, short,
                     table, who)


def register(sub: Any) -> dict:
    p = sub.add_parser("profile", help="statistics, correlations, target relations and alerts of a dataset")
    p.add_argument("dataset", metavar="DATASET", help="dataset id or name")
    p.add_argument("--target", help="target column (default: the dataset's target, if set)")
    p.add_argument("--report", metavar="FILE.html", help="also write a self-contained HTML report")
    add_common(p)

    p = sub.add_parser("check", help="statistical assumption checks for a target, with verdicts")
    p.add_argument("dataset", metavar="DATASET", help="dataset id or name")
    p.add_argument("--target", help="target column (default: the dataset's target, if set)")
    p.add_argument("--task", choices=["regression", "classification"], help="default: inferred")
    p.add_argument("--features", metavar="A,B,...",
                   help="feature columns (default: the columns whose role is feature)")
    p.add_argument("--formula", metavar="F",
                   help="check the design of a model formula, e.g. \"log(wage) ~ education + "
                        "poly(experience, 2)\": its target, its terms, its columns as the features")
    p.add_argument("--time-column", metavar="C", help="a column giving the rows' time order")
    p.add_argument("--report", metavar="FILE.html", help="also write a self-contained HTML report")
    p.add_argument("--accept", metavar="CHECK", help="accept this check's warning (needs --reason)")
    p.add_argument("--reason", help="why the warning is acceptable (recorded in the audit log)")
    p.add_argument("--withdraw", metavar="CHECK",
                   help="take back the acceptance of this check's warning (recorded; --reason optional)")
    p.add_argument("--store", action="store_true",
                   help="keep this run in the workspace (recorded with --as), to reopen it later")
    p.add_argument("--last", action="store_true",
                   help="show the last stored run for the dataset and target, without running the checks")
    add_common(p)
    add_actor(p)
    return {"profile": cmd_profile, "check": cmd_check}


def cmd_profile(args: argparse.Namespace) -> int:
    from ..core.explore import profile_dataset

    with open_workspace(args, create=False) as ws:
        profile = profile_dataset(ws, args.dataset, target=args.target,
                                  progress=progress_for(args))
    if args.report:
        from ..core.report import write_report

        write_report(args.report, profile=profile)
    data = profile.to_dict()
    if args.report:
        data["report"] = str(Path(args.report).expanduser().absolute())
    emit(args, data, lambda: _profile_text(profile, args.report))
    return EXIT_OK


def _profile_text(profile: Any, report: Optional[str]) -> str:
    ds = profile.dataset
    lines = [f"Profile of {ds.get('name')}: {profile.n_rows:,} rows × {profile.n_columns} columns "
             f"({profile.seconds:.2f} s)", ""]
    lines.append(table([[c.name, c.kind, f"{c.missing_share:.1%}", c.distinct,
                          short(c.stats.get("mean")), short(c.stats.get("std")),
                          short(c.stats.get("min")), short(c.stats.get("max"))] for c in profile.columns],
                        ["COLUMN", "TYPE", "MISSING", "DISTINCT", "MEAN", "STD", "MIN", "MAX"]))
    if profile.target:
        t = profile.target
        lines += ["", f"Target {t['column']} ({t['task']}); features by mutual information:"]
        for r in t["relations"][:10]:
            extra = next((f"{k} {short(r[k])}" for k in ("auc", "r2", "eta2", "cramers_v")
                          if r.get(k) is not None), "")
            lines.append(f"  {r['column']:<24} MI {short(r.get('mutual_information'))}  {extra}")
    lines += ["", f"Alerts ({len(profile.alerts)}):"]
    for a in profile.alerts:
        lines.append(f"  [{a.severity}] {a.message}")
        if a.suggested_step:
            lines.append(f"      step (prepare --step): {a.suggested_step}")
    if not profile.alerts:
        lines.append("  none")
    lines += [""] + profile.notes if profile.notes else []
    if report:
        lines += ["", f"Report written to {report}"]
    return "\n".join(lines)


def cmd_check(args: argparse.Namespace) -> int:
    from ..core.checks import accept_warning
    from ..core.checks.for_dataset import check_dataset
    from ..core.errors import InvalidChoiceError

    if args.accept and not (args.reason or "").strip():
        raise InvalidChoiceError("Give --reason with --accept: the reason is recorded with the acceptance.")
    if args.accept and args.withdraw:
        raise InvalidChoiceError("Accept or withdraw, not both at once.")
    if args.last and (args.store or args.features or args.task or args.time_column or args.formula):
        raise InvalidChoiceError("--last shows a stored run as it was: it takes no --store, --features, "
                                 "--formula, --task or --time-column.")
    if args.formula and args.features:
        raise InvalidChoiceError("With --formula the features are the columns its terms read: "
                                 "give no --features.")
    features = [f.strip() for f in args.features.split(",") if f.strip()] if args.features else None
    with open_workspace(args, create=False) as ws:
        if args.last:
            report = _last_run(ws, args.dataset, args.target)
        else:
            report = check_dataset(ws, args.dataset, args.target, task=args.task, features=features,
                                   time_column=args.time_column, formula=args.formula, store=args.store,
                                   actor=who(args) if args.store else "",
                                   progress=progress_for(args))
        if args.accept:
            result = report.check(args.accept) if args.accept in {c.id for c in report.checks} else None
            if result is None:
                raise InvalidChoiceError(f"No check {args.accept!r} ran; checks: "
                                         f"{', '.join(c.id for c in report.checks)}.")
            accepted = accept_warning(ws, args.dataset, report.target, report.features, args.accept,
                                      args.reason, who(args), result=result)
            result.accepted = accepted
        if args.withdraw:
            _withdraw(ws, args, report)
        if args.report:
            from ..core.checks import accepted_warnings
            from ..core.report import write_report

            write_report(args.report, checks=report,
                         accepted=accepted_warnings(ws, args.dataset, report.target),
                         title=f"Assumption checks: {report.target}")
    data = report.to_dict()
    if args.report:
        data["report"] = str(Path(args.report).expanduser().absolute())
    emit(args, data, lambda: _check_text(report, args.report))
    return EXIT_OK


def _withdraw(ws: Any, args: argparse.Namespace, report: Any) -> None:
    """Withdraw the acceptance that holds for the check named by --withdraw (this target
    and feature set), and show the report with the acceptances as they are now."""
    from ..core.checks import accepted_warnings, attach_acceptances, withdraw_acceptance
    from ..core.errors import InvalidChoiceError

    check = report.check(args.withdraw) if args.withdraw in {c.id for c in report.checks} else None
    if check is None:
        raise InvalidChoiceError(f"No check {args.withdraw!r} ran; checks: {', '.join(c.id for c in report.checks)}.")
    if check.accepted is None:
        raise InvalidChoiceError(f"The {check.id} warning is not accepted for target {report.target} and these "
                                 "features: there is nothing to withdraw.")
    withdraw_acceptance(ws, check.accepted["id"], who(args), reason=args.reason or "")
    attach_acceptances(report, accepted_warnings(ws, args.dataset, report.target))


def _last_run(ws: Any, dataset: str, target: Optional[str]) -> Any:
    from ..core.checks import last_check_run
    from ..core.errors import InvalidChoiceError, NotFoundError

    ds = ws.dataset(dataset)
    target = target or ds.target
    if target is None:
        raise InvalidChoiceError(f"Name the target (--target): dataset {ds.name!r} has none set.")
    report = last_check_run(ws, ds.id, target)
    if report is None:
        raise NotFoundError(f"No stored check run of {ds.name} for target {target!r}: run "
                            f"'check {ds.name} --target {target} --store' first.")
    return report


def _check_text(report: Any, path: Optional[str]) -> str:
    counts = report.verdict_counts
    lines = [f"Checks for {report.task} of {report.target} on {report.n_used:,} of {report.n_rows:,} rows "
             f"({counts['ok']} ok, {counts['warning']} warnings, {counts['problem']} problems)", ""]
    if report.formula:
        lines[-1:-1] = [f"Formula: {report.formula}"]
    if report.id is not None:
        lines[-1:-1] = [f"Stored as check run {report.id} ({report.created_at[:19].replace('T', ' ')} UTC, "
                        f"by {report.created_by})"]
    for c in report.checks:
        accepted = f"  [accepted by {c.accepted['accepted_by']}: {c.accepted['reason']}]" if c.accepted else ""
        lines.append(f"[{c.verdict:^14}] {c.name} ({c.id}){accepted}")
        lines.append(f"                 {c.decided_by}")
        if c.verdict in ("warning", "problem"):
            lines.append(f"                 why: {c.why}")
            lines.append(f"                 do:  {c.action}")
            lines += [f"                 step (prepare --step): {step}" for step in c.suggested_steps]
        if c.suggestion:
            lines.append(f"                 apply: {c.suggestion['label']}")
            lines.append(f"                        --formula \"{c.suggestion['formula']}\"")
    lines += [""] + report.notes if report.notes else []
    if path:
        lines += ["", f"Report written to {path}"]
    return "\n".join(lines)
