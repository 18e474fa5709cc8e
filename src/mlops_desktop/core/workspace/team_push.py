"""From one desk to the team: ``workspace push`` moves a workspace of one's own (SQLite)
with its whole history into an empty team registry (PostgreSQL), and verifies it there.

What it keeps: every record with its id (so every reference and every audit entry still
names the right row), the audit log entry by entry with its hashes (so the registry's
chain is the workspace's chain, its head the workspace's head, and the push's own entry
follows it), the people and times the history names, and every snapshot and model file
(stored in the registry, content-addressed). A single-user self-approval stays what it
was: an approval by the trainer, marked self-approved, which the server's four-eyes rule
lets in during the push only with that mark (migration 17) and the result names.

How: one transaction on the server, by a login holding mlops_admin (or the database's
owner), into a registry that holds nothing yet: set up (its migrations), the push
recorded (``history_pushes``, which opens the rules' window for this transaction only),
the records, the files, the window shut, the push's audit entry by the login, then
``verify`` of the registry and a comparison with the workspace (record counts, the
stored files' SHA-256 recomputed from their chunks, the audit heads). Anything refused or
found different rolls it all back: the server is left as it was. The workspace is only
read (from a consistent copy of its registry), never changed.
"""

from __future__ import annotations

import shlex
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from .. import numbers
from ..errors import WorkspaceError
from .integrity import VerifyReport, verify_workspace
from ..jobs import CancelToken, ProgressCallback, Steps, no_progress
from ..store import Registry, audit, migrations, stored_files, utc_now
from ..store import push as store
from ..store.postgres import PostgresRegistry, TeamRegistryError, check_conninfo
from . import Workspace

#: the audit action of a push (its record: ``history_pushes``)
PUSHED = "workspace.pushed"
#: problems of a workspace quoted in a refusal
_SHOWN = 5


@dataclass(frozen=True)
class RecordCount:
    """How many rows of one table of records the workspace and the team registry hold."""

    table: str
    local: int
    server: int


@dataclass(frozen=True)
class AuditHead:
    """An audit entry's number and hash."""

    seq: int
    hash: str

    def to_dict(self) -> dict[str, Any]:
        """The head as plain values (``seq``, ``hash``)."""
        return {"seq": self.seq, "hash": self.hash}


@dataclass
class PushResult:
    """What a push did and what the registry holds after it. ``committed`` is False when
    the verification found a difference and everything was rolled back."""

    workspace: Path
    workspace_id: str
    registry: str
    login: str
    #: the command that connects a new, empty folder to the registry
    next_step: str
    records: list[RecordCount] = field(default_factory=list)
    files: int = 0
    file_bytes: int = 0
    #: the workspace's last audit entry
    local_head: Optional[AuditHead] = None
    #: the registry's entry with the workspace's last number (the same hash when carried whole)
    server_history_head: Optional[AuditHead] = None
    #: the registry's last entry: the push's own, right after the history
    server_head: Optional[AuditHead] = None
    #: approvals carried as single-user self-approvals (MODEL:VERSION)
    self_approvals: list[str] = field(default_factory=list)
    verify: VerifyReport = field(default_factory=VerifyReport)
    #: what the registry holds otherwise than the workspace (each a sentence)
    differences: list[str] = field(default_factory=list)
    committed: bool = False
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """Whether the push is complete: committed, the registry verified, and no difference
        found."""
        return self.committed and self.verify.ok and not self.differences

    def to_dict(self) -> dict[str, Any]:
        """What ``push --json`` prints: the outcome, the records and files carried, the audit
        heads on both sides, the verification and the next step."""
        head = lambda h: None if h is None else h.to_dict()  # noqa: E731
        return {
            "ok": self.ok, "committed": self.committed, "workspace": str(self.workspace),
            "workspace_id": self.workspace_id, "registry": self.registry, "login": self.login,
            "counts": {c.table: {"local": c.local, "server": c.server} for c in self.records},
            "files": {"count": self.files, "bytes": self.file_bytes},
            "audit_head": {"local": head(self.local_head), "server_history": head(self.server_history_head),
                           "server": head(self.server_head)},
            "self_approvals": list(self.self_approvals), "verify": self.verify.to_dict(),
            "differences": list(self.differences), "next_step": self.next_step,
            "seconds": round(self.seconds, 3),
        }

    def text(self) -> str:
        """The result in sentences, for the terminal."""
        if not self.committed:
            lines = [f"Nothing was pushed into the team registry {self.registry}: after copying, it did not "
                     "hold what the workspace holds, so everything was rolled back."]
            lines += [f"  - {d}" for d in self.differences]
            lines += [f"  - verify: {p}" for p in self.verify.problems]
            return "\n".join(lines)
        held = ", ".join(f"{numbers.count(c.server)} {c.table.replace('_', ' ')}" for c in self.records if c.server)
        lines = [f"Pushed the workspace {self.workspace} into the team registry {self.registry} as {self.login}:",
                 f"  records: {held}",
                 f"  files: {numbers.count(self.files)} ({numbers.file_size(self.file_bytes)}), each stored and "
                 "checked against its SHA-256 on the server"]
        if self.local_head and self.server_head:
            lines.append(f"  audit log: entries 1..{self.local_head.seq} end at the workspace's head "
                         f"{self.local_head.seq}:{self.local_head.hash}; entry {self.server_head.seq} records the "
                         f"push ({self.server_head.hash})")
        if self.self_approvals:
            lines.append(f"  carried {len(self.self_approvals)} single-user self-approval(s), marked as such: "
                         + ", ".join(self.self_approvals))
        lines.append("  verify on the server: " + ("everything is intact." if self.verify.ok else
                                                   f"{len(self.verify.findings)} problem(s)"))
        lines += [f"  - {d}" for d in self.differences]
        lines.append(f"Next: each member connects a new, empty folder: {self.next_step}")
        lines.append("This workspace was not changed; work in the team registry from now on (what is done here "
                     "later is not pushed).")
        return "\n".join(lines)


class _Different(Exception):
    """The registry does not hold what the workspace holds: roll the push back."""


def push_workspace(root: Path | str, conninfo: str, *, progress: ProgressCallback = no_progress,
                   cancel: Optional[CancelToken] = None) -> PushResult:
    """Push the workspace at ``root`` (a workspace of one's own) into the empty team
    registry at ``conninfo`` and verify it there (see the module's docstring).

    Raises :class:`WorkspaceError` (or :class:`TeamRegistryError`) for what the user can
    fix: a bad connection string or one holding a password, a server out of reach, a login
    that is not an administrator, a registry that is not empty, a workspace that is a team
    workspace already, in single-user mode, with a run still running or that does not
    pass verify. Nothing is then written anywhere."""
    started = time.monotonic()
    check_conninfo(conninfo)
    with Workspace.open(root, read_only=True) as ws:
        if ws.is_team:
            raise WorkspaceError(f"{ws.root} is connected to a team registry already; push a workspace of one's "
                                 "own (a folder with registry.sqlite).")
        with tempfile.TemporaryDirectory(prefix="mlops-push-") as tmp:
            copy = Path(tmp) / "registry.sqlite"
            ws.registry.backup_to(copy)  # one consistent moment, even while the app keeps working
            with Workspace(ws.root, Registry(copy)) as local:
                result = _push(local, conninfo, Steps(progress, cancel, {
                    "check": 3, "records": 3, "files": 3, "verify": 3}))
    result.seconds = time.monotonic() - started
    return result


def _push(local: Workspace, conninfo: str, steps: Steps) -> PushResult:
    from ..registry.lifecycle import single_user_mode

    steps.start("check", "Checking the workspace")
    _refuse_local(local, single_user_mode(local))
    report = verify_workspace(local)
    if not report.ok:
        listed = "; ".join(report.problems[:_SHOWN]) + (" …" if len(report.problems) > _SHOWN else "")
        raise WorkspaceError(f"The workspace {local.root} does not pass verify ({len(report.problems)} problem(s): "
                             f"{listed}). A team registry starts from an intact history: nothing was pushed.")
    reg = local.registry
    info = reg.info()
    head = audit.last_entry(reg)
    local_head = AuditHead(int(head["seq"]), str(head["hash"]))
    local_counts = store.record_counts(reg)
    files = store.local_files(reg)
    server = PostgresRegistry(conninfo, set_up=False)
    server.files_root = local.root  # stored_files.keep reads the workspace's files from here
    result = PushResult(workspace=local.root, workspace_id=info.get("id", ""), registry=server.where,
                        login=server.login, local_head=local_head,
                        next_step=f"mlops-desktop init --registry {shlex.quote(conninfo)} --workspace NEW_FOLDER",
                        self_approvals=store.self_approvals(reg), files=len(files),
                        file_bytes=sum(size for _, _, size in files))
    try:
        with server.transaction():
            _set_up(server)
            _refuse_server(server)
            at = utc_now()
            push_id = store.open_window(server, workspace_id=result.workspace_id, head_seq=local_head.seq,
                                        head_hash=local_head.hash, at=at)
            _copy(local, server, steps, sum(local_counts.values()))
            _store_files(server, files, steps)
            store.close_window(server, utc_now())
            audit.append(server, actor=server.login, action=PUSHED, entity_type="workspace",
                         entity_id=result.workspace_id,
                         summary=f"History of the workspace {local.root} pushed into this team registry "
                                 f"({local_head.seq} audit entries, {len(files)} files)",
                         details={"push_id": push_id, "workspace_id": result.workspace_id,
                                  "workspace_path": str(local.root), "local_head": local_head.to_dict(),
                                  "records": {t: n for t, n in local_counts.items() if n}, "files": len(files),
                                  "self_approvals": result.self_approvals,
                                  "names_were_typed": "entries up to the local head were recorded in a "
                                                      "workspace of one's own, where people are names given "
                                                      "with --as, not database logins"})
            steps.start("verify", "Verifying the team registry")
            _verify(local, server, local_counts, files, result, steps)
            if result.differences or not result.verify.ok:
                raise _Different()
        result.committed = True
    except _Different:
        result.committed = False
    finally:
        server.close()
    steps.done("Pushed" if result.committed else "Rolled back")
    return result


def _refuse_local(local: Workspace, single_user: bool) -> None:
    """What makes a workspace's history unfit for a team registry, said before anything is written."""
    reg = local.registry
    if single_user:
        raise WorkspaceError(
            f"Single-user mode is on in the workspace {local.root}; a team registry has none (its server keeps "
            "four eyes for every login). Switch it off first, which its log records "
            f"('mlops-desktop single-user off --workspace {local.root}'), then push. The self-approvals made "
            "while it was on are carried, marked as such. Nothing was pushed.")
    running = store.running_runs(reg)
    if running:
        raise WorkspaceError(
            f"Run {running[0]} of the workspace {local.root} is still marked running: let it finish, or open the "
            "workspace once (the app or any command that changes it) so that a run whose process died is marked "
            "failed, then push. Nothing was pushed.")
    last = audit.entries(reg, limit=1)
    if last and last[0].at > utc_now():
        raise WorkspaceError(
            f"The workspace's last audit entry is timed {last[0].at}, later than this computer's clock "
            f"({utc_now()}): the push's own entry would seem to go back in time, which verify names. Set the "
            "clock right and push again. Nothing was pushed.")
    unknown = store.unknown_tables(reg)
    if unknown:
        raise WorkspaceError(f"The workspace {local.root} holds records this version of MLOps Desktop cannot push "
                             f"({', '.join(unknown)}): update the app. Nothing was pushed.")


def _set_up(server: PostgresRegistry) -> None:
    """The registry's migrations, inside the push's transaction (a refused push leaves no schema)."""
    try:
        migrations.migrate(server)
    except TeamRegistryError as exc:
        raise TeamRegistryError(
            f"The team registry {server.where} is not set up yet (or is older than this app), and your login "
            f"{server.login} may not set it up: that takes the database's owner, who pushes into a new database "
            f"itself ({exc})") from None


def _refuse_server(server: PostgresRegistry) -> None:
    """Only an administrator pushes, and only into a registry that holds nothing yet."""
    if not store.may_push(server):
        me = server.team_login()
        raise TeamRegistryError(
            f"Your login {server.login} ({me.role()}) may not push a workspace into the team registry "
            f"{server.where}: that needs the mlops_admin role (or the database's owner), since a pushed history "
            "names other people. Ask the administrator to push it, or to grant you mlops_admin. Nothing was "
            "written.")
    held = store.holding_rows(server)
    if held:
        what = ", ".join(f"{t}: {numbers.count(n)}" for t, n in held.items())
        raise TeamRegistryError(
            f"The team registry {server.where} is not empty (rows in {what}): a history is pushed only into a "
            "registry that holds nothing yet, so that its audit chain is the workspace's. Create a new database "
            "(createdb) and push into it, without running 'init --registry' on it first. Nothing was written.")


def _copy(local: Workspace, server: PostgresRegistry, steps: Steps, total: int) -> None:
    steps.start("records", "Copying the records")
    done = {"rows": 0}

    def batch(table: str, rows: int) -> None:
        done["rows"] += rows
        steps.within(done["rows"] / max(total, 1))

    store.copy_records(local.registry, server, batch)


def _store_files(server: PostgresRegistry, files: list[tuple[str, str, int]], steps: Steps) -> None:
    """Each snapshot and model file into the registry, read from the workspace's folder and
    checked against its SHA-256 while it is stored."""
    steps.start("files", "Storing the snapshots and model files")
    total, done = max(sum(size for _, _, size in files), 1), 0
    for sha256, relative, size in files:
        try:
            stored_files.keep(server, sha256, relative)
        except OSError as exc:
            raise WorkspaceError(f"Cannot read {relative} of the workspace ({exc.strerror or exc}). Nothing was "
                                 "pushed.") from None
        done += size
        steps.within(done / total)


def _verify(local: Workspace, server: PostgresRegistry, local_counts: dict[str, int],
            files: list[tuple[str, str, int]], result: PushResult, steps: Steps) -> None:
    """``verify`` of the registry (inside the push's transaction: it decides the commit), and
    what it holds against the workspace: record counts, stored files, audit heads."""
    result.verify = verify_workspace(Workspace(local.root, server))
    steps.within(0.5)
    server_counts = store.record_counts(server)
    # the push's own audit entry is the one row the registry holds beyond the workspace
    expected = {t: n + (1 if t == "audit_log" else 0) for t, n in local_counts.items()}
    result.records = [RecordCount(t, local_counts[t], server_counts[t]) for t in local_counts]
    result.differences += [f"{t.replace('_', ' ')}: the workspace holds {numbers.count(local_counts[t])}, the "
                           f"registry {numbers.count(server_counts[t])}" + (" (with the push's entry)"
                                                                            if t == "audit_log" else "")
                           for t in local_counts if server_counts[t] != expected[t]]
    for i, (sha256, relative, size) in enumerate(files):
        got = store.stored_digest(server, sha256)
        if got is None:
            result.differences.append(f"{relative}: the registry holds no copy")
        elif got != (size, sha256):
            result.differences.append(f"{relative}: the registry's copy does not match its SHA-256 {sha256[:12]}…")
        steps.within(0.5 + 0.5 * (i + 1) / max(len(files), 1))
    if store.stored_count(server) != len(files):
        result.differences.append(f"the registry stores {store.stored_count(server)} files, the workspace "
                                  f"names {len(files)}")
    assert result.local_head is not None
    carried = store.entry_hash_at(server, result.local_head.seq) if result.local_head.seq else None
    result.server_history_head = AuditHead(result.local_head.seq, carried or audit.GENESIS_HASH)
    last = audit.last_entry(server)
    result.server_head = AuditHead(int(last["seq"]), str(last["hash"]))
    if result.server_history_head != result.local_head:
        result.differences.append(f"the registry's audit entry {result.local_head.seq} is not the workspace's head "
                                  f"({result.local_head.hash[:12]}…)")
    if result.server_head.seq != result.local_head.seq + 1:
        result.differences.append(f"the registry's log ends at entry {result.server_head.seq}, not right after "
                                  f"the workspace's head ({result.local_head.seq}) with the push's entry")
