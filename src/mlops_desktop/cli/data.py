"""Commands for the workspace and its datasets: init, import, datasets, audit, verify."""

from __future__ import annotations

import argparse
from typing import Any

from .common import (EXIT_OK, EXIT_USER, Parser, add_actor, add_common, emit, open_workspace,
                     progress_for, table, who, workspace_path)


def register(sub: Any) -> dict:
    p = sub.add_parser("init", help="create a workspace, or connect a folder to a team registry")
    p.add_argument("--registry", metavar="postgresql://HOST/DB",
                   help="use the team registry on this PostgreSQL server: the folder keeps the connection "
                        "string (never a password: ~/.pgpass, a service file or PGPASSWORD, as for psql) "
                        "and local copies of files; the actor is then your database login")
    add_common(p)
    add_actor(p)

    p = sub.add_parser("whoami", help="who acts in this workspace: your name, or on a team registry your "
                                      "database login and its roles")
    add_common(p)
    add_actor(p)

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
    add_common(p)
    add_actor(p)

    p = sub.add_parser("datasets", help="list, show and edit datasets")
    add_common(p)
    dsub = p.add_subparsers(dest="action", metavar="ACTION", required=True, parser_class=Parser)
    q = dsub.add_parser("list", help="every dataset, newest first")
    add_common(q)
    q = dsub.add_parser("show", help="one dataset with its columns, and its recipe and parent if it was prepared")
    q.add_argument("dataset", metavar="ID", help="dataset id or name")
    add_common(q)
    q = dsub.add_parser("lineage", help="every run and model version that used a dataset")
    q.add_argument("dataset", metavar="ID", help="dataset id or name")
    add_common(q)
    q = dsub.add_parser("column", help="change a column's type and/or role")
    q.add_argument("dataset", metavar="ID", help="dataset id or name")
    q.add_argument("column", metavar="COLUMN")
    q.add_argument("--type", dest="kind",
                   choices=["numeric", "categorical", "boolean", "datetime", "id", "text", "constant"])
    q.add_argument("--role", choices=["feature", "target", "id", "ignore"])
    add_common(q)
    add_actor(q)

    p = sub.add_parser("audit", help="the audit log, newest first ('audit head': its last entry's number "
                                     "and hash, to write down and compare a copy with later)")
    p.add_argument("what", nargs="?", choices=["head"], help="head: only the last entry's number and hash")
    p.add_argument("--limit", type=int, default=50, help="how many entries (default 50; 0 for all)")
    p.add_argument("--model", metavar="MODEL", help="only entries about this model, its versions and their runs")
    add_common(p)

    p = sub.add_parser("verify", help="check the database file, the audit chain, the records against it, "
                                      "the rules, every reference and every snapshot's and model file's "
                                      "hash (exit 2 if damaged)")
    p.add_argument("--expect", metavar="SEQ:HASH",
                   help="the head 'audit head' printed earlier: an older copy of the registry (rolled back, "
                        "or copied without its -wal file) is a problem")
    add_common(p)

    return {"init": cmd_init, "whoami": cmd_whoami, "import": cmd_import, "datasets": cmd_datasets, "audit": cmd_audit,
            "verify": cmd_verify}


def cmd_init(args: argparse.Namespace) -> int:
    from ..core.workspace import Workspace

    path = workspace_path(args)
    existed = Workspace.is_workspace(path)
    if args.registry and not existed:
        with Workspace.connect(path, args.registry) as ws:
            me = ws.login()
            emit(args, {"workspace": str(ws.root), "created": True, **me},
                 lambda: f"Connected {ws.root} to the team registry {me['registry']} as {me['login']} "
                         f"({_roles(me['roles'])})")
        return EXIT_OK
    with (Workspace.open(path) if existed else Workspace.create(path, actor=who(args))) as ws:
        if args.registry and Workspace.team_registry(path) != args.registry:
            from ..core.errors import WorkspaceError

            raise WorkspaceError(f"{ws.root} is already a workspace; connect an empty or new folder to the "
                                 "team registry.")
        emit(args, {"workspace": str(ws.root), "created": not existed},
              lambda: f"{'Workspace already exists' if existed else 'Created workspace'}: {ws.root}")
    return EXIT_OK


def _roles(roles: list[str]) -> str:
    return ", ".join(roles) if roles else "no registry role yet: ask the administrator for one"


def cmd_whoami(args: argparse.Namespace) -> int:
    with open_workspace(args, create=False, only_reading=True) as ws:
        me = ws.login()
        if me is None:
            name = who(args)
            emit(args, {"actor": name, "login": None, "roles": [], "registry": "sqlite"},
                 lambda: f"{name} (a workspace of one's own: the name is recorded as given, --as or the "
                         "OS user)")
            return EXIT_OK
        who(args)  # refuses an --as that is not the login
        emit(args, {"actor": me["login"], **me},
             lambda: f"{me['login']} on the team registry {me['registry']} ({_roles(me['roles'])})")
    return EXIT_OK


def cmd_import(args: argparse.Namespace) -> int:
    from ..core.data.readers import ImportOptions

    options = ImportOptions(format=args.format, delimiter=args.delimiter, encoding=args.encoding,
                            decimal=args.decimal, sheet=args.sheet, table=args.table)
    with open_workspace(args, create=True) as ws:
        result = ws.import_file(args.path, options, name=args.name, actor=who(args),
                                progress=progress_for(args))
    ds = result.dataset

    def text() -> str:
        lines = [f"Imported dataset {ds.id}: {ds.name}",
                 f"  rows:        {ds.n_rows:,}", f"  columns:     {ds.n_columns}",
                 f"  fingerprint: {ds.fingerprint}"]
        if result.same_data_as:
            lines.append(f"  same data as dataset(s) {', '.join(map(str, result.same_data_as))}"
                         " (snapshot reused)" if result.reused_snapshot else "")
        return "\n".join(lines)

    emit(args, result.to_dict(), text)
    return EXIT_OK


def cmd_datasets(args: argparse.Namespace) -> int:
    with open_workspace(args, create=False, only_reading=args.action != "column") as ws:
        if args.action == "list":
            items = ws.datasets()
            emit(args, [d.to_dict(with_columns=False) for d in items],
                  lambda: table([[d.id, d.name, d.n_rows, d.n_columns, d.fingerprint[:12],
                                   d.created_at[:19].replace("T", " "), d.source_path] for d in items],
                                 ["ID", "NAME", "ROWS", "COLUMNS", "FINGERPRINT", "CREATED (UTC)",
                                  "SOURCE"]) if items else "No datasets yet. Import one with "
                                                           "'mlops-desktop import PATH'.")
        elif args.action == "lineage":
            from ..core.registry.lineage import dataset_lineage
            from .registry import dataset_lineage_text

            data = dataset_lineage(ws, args.dataset)
            emit(args, data, lambda: dataset_lineage_text(data))
        elif args.action == "show":
            from ..core.registry.lineage import preparation

            ds = ws.dataset(args.dataset)
            history = [e.to_dict() for e in ws.audit_entries(entity_type="dataset", entity_id=ds.id)]
            made = preparation(ws, ds)
            data = ds.to_dict() | made | {"history": history}
            emit(args, data, lambda: _show_dataset(ds, history, made))
        else:
            if args.kind is None and args.role is None:
                from ..core.errors import InvalidChoiceError

                raise InvalidChoiceError("Give --type and/or --role.")
            col = ws.update_column(args.dataset, args.column, kind=args.kind, role=args.role,
                                   actor=who(args))
            emit(args, col.to_dict(), lambda: f"{col.name}: type {col.kind}, role {col.role}")
    return EXIT_OK


def _show_dataset(ds: Any, history: list[dict], made: dict) -> str:
    from .registry import preparation_lines

    opts = ", ".join(f"{k}={v!r}" for k, v in ds.options.items())
    head = [f"Dataset {ds.id}: {ds.name}", f"  source:      {ds.source_path} ({ds.source_format})",
            f"  options:     {opts}", f"  rows:        {ds.n_rows:,}",
            f"  columns:     {ds.n_columns}", f"  target:      {ds.target or '(none)'}",
            f"  fingerprint: {ds.fingerprint}", f"  created:     {ds.created_at} by {ds.created_by}",
            *preparation_lines(made["prepared_from"], made["prepared_into"]), ""]
    cols = table([[c.position + 1, c.name, c.kind, c.role, c.physical_type, c.n_missing,
                    c.n_distinct] for c in ds.columns],
                  ["#", "COLUMN", "TYPE", "ROLE", "STORED AS", "MISSING", "DISTINCT"])
    hist = ["", "History:"] + [f"  {h['at'][:19].replace('T', ' ')}  {h['actor']}: {h['summary']}"
                               for h in reversed(history)]
    return "\n".join(head) + cols + "\n" + "\n".join(hist)


def cmd_audit(args: argparse.Namespace) -> int:
    if args.what == "head":
        return _audit_head(args)
    with open_workspace(args, create=False, only_reading=True) as ws:
        if args.model is not None:
            from ..core.registry.lineage import model_audit_trail

            rows = model_audit_trail(ws, args.model, limit=args.limit or None)
        else:
            rows = [e.to_dict() for e in ws.audit_entries(limit=args.limit or None)]
    emit(args, rows,
          lambda: table([[e["seq"], e["at"][:19].replace("T", " "), e["actor"], e["action"], e["summary"]]
                          for e in rows], ["#", "WHEN (UTC)", "WHO", "ACTION", "WHAT"]))
    return EXIT_OK


def _audit_head(args: argparse.Namespace) -> int:
    with open_workspace(args, create=False, only_reading=True) as ws:
        head = ws.audit_head()
    emit(args, head, lambda: f"Last audit entry: {head['seq']}\nHash: {head['hash']}\n"
         f"Keep it outside the workspace; to check a copy later: mlops-desktop verify --expect "
         f"{head['seq']}:{head['hash']}")
    return EXIT_OK


def cmd_verify(args: argparse.Namespace) -> int:
    from ..core.errors import WorkspaceError
    from ..core.workspace.integrity import parse_expected_head, report_for_unopened, verify_workspace

    if args.expect is not None:
        parse_expected_head(args.expect)  # a typo is said before the work starts
    try:
        ws = open_workspace(args, create=False, only_reading=True)  # checking only reads
    except WorkspaceError as exc:
        report = report_for_unopened(exc)
        if report is None:
            raise
    else:
        with ws:
            report = verify_workspace(ws, expect=args.expect)
    emit(args, report.to_dict(), report.text)
    return EXIT_OK if report.ok else EXIT_USER
