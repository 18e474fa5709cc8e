"""The command-line interface: the app's operations, headless, with ``--json`` output.

Exit codes: 0 success, 1 internal error (a bug: details go to the log file),
2 a problem the user can fix (bad file, unknown dataset, ...), 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

from . import __version__

EXIT_OK, EXIT_INTERNAL, EXIT_USER, EXIT_INTERRUPTED = 0, 1, 2, 130
COMMANDS = ("init", "import", "datasets", "audit", "verify", "profile", "check")


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors with exit code 2 and one line."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USER, f"{self.prog}: error: {message}\n")


def _common(parser: argparse.ArgumentParser, *, top: bool = False) -> None:
    default = None if top else argparse.SUPPRESS
    parser.add_argument("--workspace", metavar="DIR", default=default,
                        help="workspace folder (default: $MLOPS_DESKTOP_WORKSPACE or the user data folder)")
    parser.add_argument("--json", action="store_true", default=False if top else argparse.SUPPRESS,
                        help="print machine-readable JSON on stdout")


def _actor(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--as", dest="actor", metavar="USER",
                        help="who acts, as recorded in the audit log (default: the OS user name)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="mlops-desktop",
                     description="MLOps Desktop. Without a command, opens the desktop app.")
    parser.add_argument("--version", action="version", version=f"mlops-desktop {__version__}")
    _common(parser, top=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("init", help="create a workspace")
    _common(p)
    _actor(p)

    p = sub.add_parser("import", help="import a CSV/TSV/TXT, Excel, Parquet or SQLite file as a dataset")
    p.add_argument("path", metavar="PATH")
    p.add_argument("--name", help="dataset name (default: the file name)")
    p.add_argument("--format", choices=["csv", "excel", "parquet", "sqlite"],
                   help="file format (default: from the extension and content)")
    p.add_argument("--sheet", help="Excel sheet (default: the first)")
    p.add_argument("--table", help="SQLite table (default: the only one)")
    p.add_argument("--delimiter", help="field delimiter: a character, or 'tab' (default: detected)")
    p.add_argument("--encoding", help="text encoding, e.g. utf-8, cp1252, latin-1 (default: detected)")
    p.add_argument("--decimal", choices=[".", ","], help="decimal mark (default: detected)")
    _common(p)
    _actor(p)

    p = sub.add_parser("datasets", help="list, show and edit datasets")
    _common(p)
    dsub = p.add_subparsers(dest="action", metavar="ACTION", required=True, parser_class=_Parser)
    q = dsub.add_parser("list", help="every dataset, newest first")
    _common(q)
    q = dsub.add_parser("show", help="one dataset with its columns")
    q.add_argument("dataset", metavar="ID", help="dataset id or name")
    _common(q)
    q = dsub.add_parser("column", help="change a column's type and/or role")
    q.add_argument("dataset", metavar="ID", help="dataset id or name")
    q.add_argument("column", metavar="COLUMN")
    q.add_argument("--type", dest="kind",
                   choices=["numeric", "categorical", "boolean", "datetime", "id", "text", "constant"])
    q.add_argument("--role", choices=["feature", "target", "id", "ignore"])
    _common(q)
    _actor(q)

    p = sub.add_parser("audit", help="the audit log, newest first")
    p.add_argument("--limit", type=int, default=50, help="how many entries (default 50; 0 for all)")
    _common(p)

    p = sub.add_parser("verify", help="check the audit chain and every snapshot's hash")
    _common(p)

    p = sub.add_parser("profile", help="statistics, correlations, target relations and alerts of a dataset")
    p.add_argument("dataset", metavar="DATASET", help="dataset id or name")
    p.add_argument("--target", help="target column (default: the dataset's target, if set)")
    p.add_argument("--report", metavar="FILE.html", help="also write a self-contained HTML report")
    _common(p)

    p = sub.add_parser("check", help="statistical assumption checks for a target, with verdicts")
    p.add_argument("dataset", metavar="DATASET", help="dataset id or name")
    p.add_argument("--target", help="target column (default: the dataset's target, if set)")
    p.add_argument("--task", choices=["regression", "classification"], help="default: inferred")
    p.add_argument("--features", metavar="A,B,...",
                   help="feature columns (default: the columns whose role is feature)")
    p.add_argument("--time-column", metavar="C", help="a column giving the rows' time order")
    p.add_argument("--report", metavar="FILE.html", help="also write a self-contained HTML report")
    p.add_argument("--accept", metavar="CHECK", help="accept this check's warning (needs --reason)")
    p.add_argument("--reason", help="why the warning is acceptable (recorded in the audit log)")
    _common(p)
    _actor(p)
    return parser


# -- helpers ---------------------------------------------------------------------------

def _emit(args: argparse.Namespace, data: Any, text: Callable[[], str]) -> None:
    if args.json:
        sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")
    else:
        sys.stdout.write(text() + "\n")


def _who(args: argparse.Namespace) -> str:
    from .core.settings import os_user

    return getattr(args, "actor", None) or os_user()


def _workspace_path(args: argparse.Namespace) -> Path:
    from .core.settings import default_workspace_dir

    return Path(args.workspace).expanduser() if args.workspace else default_workspace_dir()


def _open(args: argparse.Namespace, *, create: bool):
    """Open the workspace; create it when asked to (and for the default workspace)."""
    from .core.settings import WORKSPACE_ENV
    from .core.workspace import Workspace

    path = _workspace_path(args)
    # a folder the user named (--workspace or the environment) is never made up silently
    named = bool(args.workspace or os.environ.get(WORKSPACE_ENV))
    if create or not named:
        ws, created = Workspace.open_or_create(path, actor=_who(args))
        if created:
            print(f"Created a new workspace at {ws.root}", file=sys.stderr)
        return ws
    if not Workspace.is_workspace(path) and (not path.exists() or
                                             (path.is_dir() and not any(path.iterdir()))):
        from .core.errors import WorkspaceError

        raise WorkspaceError(f"There is no workspace at {path}. Create one with "
                             f"'mlops-desktop init --workspace {path}'.")
    return Workspace.open(path)


def _table(rows: list[list[Any]], header: list[str]) -> str:
    cells = [header] + [["" if v is None else str(v) for v in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    return "\n".join("  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip() for r in cells)


def _progress_printer(enabled: bool) -> Callable[[Optional[float], str], None]:
    last = {"pct": -1}

    def report(fraction: Optional[float], message: str) -> None:
        if not enabled or fraction is None:
            return
        pct = int(fraction * 100)
        if pct != last["pct"]:
            last["pct"] = pct
            sys.stderr.write(f"\r{message}: {pct:3d}%   ")
            sys.stderr.flush()
            if pct >= 100:
                sys.stderr.write("\n")

    return report


# -- commands --------------------------------------------------------------------------

def cmd_init(args: argparse.Namespace) -> int:
    from .core.workspace import Workspace

    path = _workspace_path(args)
    existed = Workspace.is_workspace(path)
    with (Workspace.open(path) if existed else Workspace.create(path, actor=_who(args))) as ws:
        _emit(args, {"workspace": str(ws.root), "created": not existed},
              lambda: f"{'Workspace already exists' if existed else 'Created workspace'}: {ws.root}")
    return EXIT_OK


def cmd_import(args: argparse.Namespace) -> int:
    from .core.data.readers import ImportOptions

    options = ImportOptions(format=args.format, delimiter=args.delimiter, encoding=args.encoding,
                            decimal=args.decimal, sheet=args.sheet, table=args.table)
    with _open(args, create=True) as ws:
        result = ws.import_file(args.path, options, name=args.name, actor=_who(args),
                                progress=_progress_printer(not args.json and sys.stderr.isatty()))
    ds = result.dataset

    def text() -> str:
        lines = [f"Imported dataset {ds.id}: {ds.name}",
                 f"  rows:        {ds.n_rows:,}", f"  columns:     {ds.n_columns}",
                 f"  fingerprint: {ds.fingerprint}"]
        if result.same_data_as:
            lines.append(f"  same data as dataset(s) {', '.join(map(str, result.same_data_as))}"
                         " (snapshot reused)" if result.reused_snapshot else "")
        return "\n".join(lines)

    _emit(args, result.to_dict(), text)
    return EXIT_OK


def cmd_datasets(args: argparse.Namespace) -> int:
    with _open(args, create=False) as ws:
        if args.action == "list":
            items = ws.datasets()
            _emit(args, [d.to_dict(with_columns=False) for d in items],
                  lambda: _table([[d.id, d.name, d.n_rows, d.n_columns, d.fingerprint[:12],
                                   d.created_at[:19].replace("T", " "), d.source_path] for d in items],
                                 ["ID", "NAME", "ROWS", "COLUMNS", "FINGERPRINT", "CREATED (UTC)",
                                  "SOURCE"]) if items else "No datasets yet. Import one with "
                                                           "'mlops-desktop import PATH'.")
        elif args.action == "show":
            ds = ws.dataset(args.dataset)
            history = [e.to_dict() for e in ws.audit_entries(entity_type="dataset", entity_id=ds.id)]
            data = ds.to_dict() | {"history": history}
            _emit(args, data, lambda: _show_dataset(ds, history))
        else:
            if args.kind is None and args.role is None:
                from .core.errors import InvalidChoiceError

                raise InvalidChoiceError("Give --type and/or --role.")
            col = ws.update_column(args.dataset, args.column, kind=args.kind, role=args.role,
                                   actor=_who(args))
            _emit(args, col.to_dict(), lambda: f"{col.name}: type {col.kind}, role {col.role}")
    return EXIT_OK


def _show_dataset(ds: Any, history: list[dict]) -> str:
    opts = ", ".join(f"{k}={v!r}" for k, v in ds.options.items())
    head = [f"Dataset {ds.id}: {ds.name}", f"  source:      {ds.source_path} ({ds.source_format})",
            f"  options:     {opts}", f"  rows:        {ds.n_rows:,}",
            f"  columns:     {ds.n_columns}", f"  target:      {ds.target or '(none)'}",
            f"  fingerprint: {ds.fingerprint}", f"  created:     {ds.created_at} by {ds.created_by}",
            ""]
    cols = _table([[c.position + 1, c.name, c.kind, c.role, c.physical_type, c.n_missing,
                    c.n_distinct] for c in ds.columns],
                  ["#", "COLUMN", "TYPE", "ROLE", "STORED AS", "MISSING", "DISTINCT"])
    hist = ["", "History:"] + [f"  {h['at'][:19].replace('T', ' ')}  {h['actor']}: {h['summary']}"
                               for h in reversed(history)]
    return "\n".join(head) + cols + "\n" + "\n".join(hist)


def cmd_audit(args: argparse.Namespace) -> int:
    with _open(args, create=False) as ws:
        entries = ws.audit_entries(limit=args.limit or None)
    _emit(args, [e.to_dict() for e in entries],
          lambda: _table([[e.seq, e.at[:19].replace("T", " "), e.actor, e.action, e.summary]
                          for e in entries], ["#", "WHEN (UTC)", "WHO", "ACTION", "WHAT"]))
    return EXIT_OK


def cmd_verify(args: argparse.Namespace) -> int:
    from .core.integrity import verify_workspace

    with _open(args, create=False) as ws:
        report = verify_workspace(ws)
    _emit(args, report.to_dict(), report.text)
    return EXIT_OK if report.ok else EXIT_USER


def cmd_profile(args: argparse.Namespace) -> int:
    from .core.explore import profile_dataset

    with _open(args, create=False) as ws:
        profile = profile_dataset(ws, args.dataset, target=args.target,
                                  progress=_progress_printer(not args.json and sys.stderr.isatty()))
    if args.report:
        from .core.report import write_report

        write_report(args.report, profile=profile)
    data = profile.to_dict()
    if args.report:
        data["report"] = str(Path(args.report).expanduser().absolute())
    _emit(args, data, lambda: _profile_text(profile, args.report))
    return EXIT_OK


def _profile_text(profile: Any, report: Optional[str]) -> str:
    ds = profile.dataset
    lines = [f"Profile of {ds.get('name')}: {profile.n_rows:,} rows × {profile.n_columns} columns "
             f"({profile.seconds:.2f} s)", ""]
    lines.append(_table([[c.name, c.kind, f"{c.missing_share:.1%}", c.distinct,
                          _short(c.stats.get("mean")), _short(c.stats.get("std")),
                          _short(c.stats.get("min")), _short(c.stats.get("max"))] for c in profile.columns],
                        ["COLUMN", "TYPE", "MISSING", "DISTINCT", "MEAN", "STD", "MIN", "MAX"]))
    if profile.target:
        t = profile.target
        lines += ["", f"Target {t['column']} ({t['task']}); features by mutual information:"]
        for r in t["relations"][:10]:
            extra = next((f"{k} {_short(r[k])}" for k in ("auc", "r2", "eta2", "cramers_v")
                          if r.get(k) is not None), "")
            lines.append(f"  {r['column']:<24} MI {_short(r.get('mutual_information'))}  {extra}")
    lines += ["", f"Alerts ({len(profile.alerts)}):"]
    lines += [f"  [{a.severity}] {a.message}" for a in profile.alerts] or ["  none"]
    lines += [""] + profile.notes if profile.notes else []
    if report:
        lines += ["", f"Report written to {report}"]
    return "\n".join(lines)


def _short(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def cmd_check(args: argparse.Namespace) -> int:
    from .core.checks import accept_warning
    from .core.checks.for_dataset import check_dataset
    from .core.errors import InvalidChoiceError

    if args.accept and not (args.reason or "").strip():
        raise InvalidChoiceError("Give --reason with --accept: the reason is recorded with the acceptance.")
    features = [f.strip() for f in args.features.split(",") if f.strip()] if args.features else None
    with _open(args, create=False) as ws:
        report = check_dataset(ws, args.dataset, args.target, task=args.task, features=features,
                               time_column=args.time_column,
                               progress=_progress_printer(not args.json and sys.stderr.isatty()))
        if args.accept:
            result = report.check(args.accept) if args.accept in {c.id for c in report.checks} else None
            if result is None:
                raise InvalidChoiceError(f"No check {args.accept!r} ran; checks: "
                                         f"{', '.join(c.id for c in report.checks)}.")
            accepted = accept_warning(ws, args.dataset, report.target, report.features, args.accept,
                                      args.reason, _who(args), result=result)
            result.accepted = accepted
        if args.report:
            from .core.checks import accepted_warnings
            from .core.report import write_report

            write_report(args.report, checks=report,
                         accepted=accepted_warnings(ws, args.dataset, report.target),
                         title=f"Assumption checks: {report.target}")
    data = report.to_dict()
    if args.report:
        data["report"] = str(Path(args.report).expanduser().absolute())
    _emit(args, data, lambda: _check_text(report, args.report))
    return EXIT_OK


def _check_text(report: Any, path: Optional[str]) -> str:
    counts = report.verdict_counts
    lines = [f"Checks for {report.task} of {report.target} on {report.n_used:,} of {report.n_rows:,} rows "
             f"({counts['ok']} ok, {counts['warning']} warnings, {counts['problem']} problems)", ""]
    for c in report.checks:
        accepted = f"  [accepted by {c.accepted['accepted_by']}: {c.accepted['reason']}]" if c.accepted else ""
        lines.append(f"[{c.verdict:^14}] {c.name} ({c.id}){accepted}")
        lines.append(f"                 {c.decided_by}")
        if c.verdict in ("warning", "problem"):
            lines.append(f"                 why: {c.why}")
            lines.append(f"                 do:  {c.action}")
    lines += [""] + report.notes if report.notes else []
    if path:
        lines += ["", f"Report written to {path}"]
    return "\n".join(lines)


HANDLERS = {"init": cmd_init, "import": cmd_import, "datasets": cmd_datasets,
            "audit": cmd_audit, "verify": cmd_verify, "profile": cmd_profile, "check": cmd_check}


def run(argv: Sequence[str]) -> int:
    """Run one CLI command; returns the exit code. Never lets a traceback out."""
    parser = build_parser()
    args = parser.parse_args(list(argv))
    if args.command is None:
        parser.print_help()
        return EXIT_USER
    from .core.errors import JobCancelled, MlopsError

    try:
        return HANDLERS[args.command](args)
    except MlopsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USER
    except (KeyboardInterrupt, JobCancelled):
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # a bug: keep the traceback for us, one line for the user
        log = _log_exception()
        print(f"internal error: {type(exc).__name__}: {exc} (details in {log})", file=sys.stderr)
        return EXIT_INTERNAL


def _log_exception() -> str:
    import traceback
    from datetime import datetime

    try:
        from .core.settings import log_dir

        path = log_dir() / "cli-errors.log"
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(f"--- {datetime.now().isoformat()} pid {os.getpid()}\n")
            fh.write(traceback.format_exc())
        return str(path)
    except Exception:
        return "(the log file could not be written)"


def main() -> int:
    return run(sys.argv[1:])
