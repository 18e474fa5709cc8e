"""Commands that look after a whole workspace: backup, restore, workspace push."""

from __future__ import annotations

import argparse
from typing import Any

from ..core.numbers import file_size as _size
from .common import (EXIT_OK, EXIT_USER, Parser, add_actor, add_common, emit, open_workspace, progress_for, who,
                     workspace_path)


def register(sub: Any) -> dict:
    p = sub.add_parser("backup", help="back the workspace up into one zip file (registry, model "
                                      "files, snapshots and a manifest of their hashes)")
    p.add_argument("path", metavar="FILE.zip", help="the backup file to write (replaced if it exists)")
    add_common(p)
    add_actor(p)

    p = sub.add_parser("restore", help="restore a backup into a new or empty folder (--workspace DIR)")
    p.add_argument("path", metavar="FILE.zip", help="a backup made with 'mlops-desktop backup'")
    add_common(p)
    add_actor(p)

    p = sub.add_parser("workspace", help="look after a whole workspace ('workspace push': move it into a team registry)")
    add_common(p)
    wsub = p.add_subparsers(dest="action", metavar="ACTION", required=True, parser_class=Parser)
    q = wsub.add_parser("push", help="move this workspace's whole history (records, audit log, files) into an "
                                     "empty team registry on PostgreSQL and verify it there (an administrator's "
                                     "job: mlops_admin or the database's owner)")
    q.add_argument("--to", required=True, metavar="postgresql://HOST/DB",
                   help="the team registry: a new, empty database (never a password in it: ~/.pgpass, a service "
                        "file or PGPASSWORD, as for psql)")
    add_common(q)
    return {"backup": cmd_backup, "restore": cmd_restore, "workspace": cmd_workspace}


def cmd_backup(args: argparse.Namespace) -> int:
    from ..core.workspace.backup import backup

    with open_workspace(args, create=False) as ws:
        result = backup(ws, args.path, actor=who(args),
                        progress=progress_for(args))

    def text() -> str:
        lines = [f"Backed up {result.members} files ({_size(result.bytes)}) to {result.path}",
                 f"  SHA-256 of the zip: {result.sha256}",
                 f"  audit log up to entry {result.audit_seq}"]
        if result.missing:
            lines.append(f"  warning: {len(result.missing)} recorded file(s) were missing from the "
                         f"workspace and are not in the backup (first: {result.missing[0]}); run "
                         "'mlops-desktop verify'.")
        if not result.audited:
            lines.append("  the workspace is read-only: the backup is not recorded in its audit log.")
        return "\n".join(lines)

    emit(args, result.to_dict(), text)
    return EXIT_OK


def cmd_restore(args: argparse.Namespace) -> int:
    from ..core.workspace.backup import restore
    from ..core.errors import WorkspaceError

    if not args.workspace:
        raise WorkspaceError("Say where to restore the backup: --workspace DIR (a new or empty folder).")
    result = restore(args.path, args.workspace, actor=who(args),
                     progress=progress_for(args))

    def text() -> str:
        lines = [f"Restored {result.members} files ({_size(result.bytes)}) into {result.workspace}",
                 f"  {result.datasets} dataset(s), {result.models} registered model(s); backup made "
                 f"{result.backup_created_at[:19].replace('T', ' ')} by {result.backup_created_by}"]
        if result.ok:
            lines.append("  verify: everything is intact.")
        else:
            lines.append(f"  verify found {len(result.problems)} problem(s) in the backed-up workspace:")
            lines += [f"    - {p['message']}" for p in result.problems]
        if result.pickled_models:
            lines.append(f"  warning: the model files of {', '.join(result.pickled_models)} were saved by an "
                         "earlier version (as pickles): they are never loaded, and a restored workspace "
                         "does not convert them. Train those models again.")
        return "\n".join(lines)

    emit(args, result.to_dict(), text)
    # a restored but damaged workspace: the same exit code as verify finding damage
    return EXIT_OK if result.ok else EXIT_USER


def cmd_workspace(args: argparse.Namespace) -> int:
    from ..core.workspace.team_push import push_workspace

    result = push_workspace(workspace_path(args), args.to, progress=progress_for(args))
    emit(args, result.to_dict(), result.text)
    # a registry that did not hold what the workspace holds was rolled back: as verify finding damage
    return EXIT_OK if result.ok else EXIT_USER
