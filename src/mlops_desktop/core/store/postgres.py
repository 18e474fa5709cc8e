"""A team registry: the same registry on a PostgreSQL server, where the actor is the
database login and the server itself keeps the rules (see the migrations in
``migrations/postgresql``).

The store's SQL is written once, with ``?`` placeholders; :func:`placeholders` turns it
into psycopg's ``%s`` here and only here. Values are bound on the client side (psycopg's
``ClientCursor``) and whole numbers are sent as untyped literals, so that the server
types them from their context as SQLite does (an id compared with a text column).

Writers take one advisory lock for the whole transaction, as SQLite's ``BEGIN
IMMEDIATE`` takes its write lock: two writers never both read the audit chain's last
hash, nor the same next version number, and the store's "still in this stage" updates
keep their meaning. A password is never stored: libpq finds it (``~/.pgpass``, a service
file, ``PGPASSWORD``) as it does for psql.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, Optional

from ..errors import WorkspaceError
from . import migrations

#: the advisory lock every write transaction takes first (any number, the same for all)
WRITE_LOCK = 0x6D6C6F7073  # "mlops"
#: how long a write waits for another login's write before the user is told the registry is busy
LOCK_WAIT_S = 60
ROLES = ("mlops_admin", "mlops_approver", "mlops_analyst")
#: the registry roles the login holds, directly or through another role
_ROLES_SQL = ("SELECT rolname FROM pg_roles WHERE rolname IN (?, ?, ?)"
              " AND pg_has_role(current_user, oid, 'MEMBER') ORDER BY rolname")
#: what a role may do, in the words of an error message ("your login may not ...")
_TABLE_ACTIONS = {
    "stage_changes": "change a model version's stage (that needs the mlops_analyst role to mark it "
                     "validated, mlops_approver to approve or retire it)",
    "model_versions": "change a model version's stage (that needs the mlops_analyst role to mark it "
                      "validated, mlops_approver to approve or retire it)",
    "model_aliases": "move a model's aliases (that needs the mlops_approver role)",
    "alias_moves": "move a model's aliases (that needs the mlops_approver role)",
    "audit_log": "change or delete audit entries (no login may: the log is append-only)",
    "audit_head": "change the audit log's head (no login may)",
    "workspace_settings": "change the registry's settings (that needs the mlops_admin role)",
    "workspace_info": "set up the registry (that needs the mlops_admin role)",
    "schema_migrations": "upgrade the registry (that needs the database's owner)",
}


class TeamRegistryError(WorkspaceError):
    """A team registry cannot be reached, or refused what the login asked."""

    def __init__(self, message: str, *, details: str = "") -> None:
        super().__init__(message)
        self.details = details


def placeholders(sql: str) -> str:
    """``sql`` with each ``?`` placeholder as psycopg's ``%s`` and every ``%`` doubled, so
    that neither a ``?`` inside a quoted string, identifier, comment or dollar-quoted body
    nor a ``%`` anywhere is taken for a placeholder."""
    out: list[str] = []
    i, n = 0, len(sql)
    while i < n:
        c = sql[i]
        if c in "'\"":
            end = i + 1
            while end < n:
                if sql[end] == c:
                    if end + 1 < n and sql[end + 1] == c:  # a doubled quote inside
                        end += 2
                        continue
                    break
                end += 1
            out.append(sql[i:end + 1].replace("%", "%%"))
            i = end + 1
        elif sql.startswith("--", i):
            end = sql.find("\n", i)
            end = n if end < 0 else end
            out.append(sql[i:end].replace("%", "%%"))
            i = end
        elif sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            end = n if end < 0 else end + 2
            out.append(sql[i:end].replace("%", "%%"))
            i = end
        elif c == "$" and (tag := _dollar_tag(sql, i)):
            end = sql.find(tag, i + len(tag))
            end = n if end < 0 else end + len(tag)
            out.append(sql[i:end].replace("%", "%%"))
            i = end
        elif c == "?":
            out.append("%s")
            i += 1
        elif c == "%":
            out.append("%%")
            i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _dollar_tag(sql: str, i: int) -> str:
    """The ``$tag$`` that opens a dollar-quoted string at ``i``, or ''."""
    end = i + 1
    while end < len(sql) and (sql[end].isalnum() or sql[end] == "_"):
        end += 1
    if end < len(sql) and sql[end] == "$" and not sql[i + 1:end][:1].isdigit():
        return sql[i:end + 1]
    return ""


def check_conninfo(conninfo: str) -> str:
    """The connection string, refused when it is not one or holds a password (which would
    then be written into the workspace folder)."""
    from psycopg import conninfo as pg_conninfo

    try:
        parts = pg_conninfo.conninfo_to_dict(conninfo)
    except Exception as exc:
        raise TeamRegistryError(f"{conninfo!r} is not a PostgreSQL connection string ({exc}). Write it "
                                "as postgresql://HOST/DATABASE or 'host=... dbname=...'.") from None
    if parts.get("password"):
        raise TeamRegistryError(
            "The connection string holds a password; MLOps Desktop never stores one. Remove it from the "
            "string and let PostgreSQL find it as psql does: a line in ~/.pgpass (PGPASSFILE), a service "
            "in ~/.pg_service.conf (PGSERVICEFILE), or the PGPASSWORD variable.")
    return conninfo


def shown(conninfo: str) -> str:
    """Where the registry is, for messages: host (or socket folder), port and database."""
    from psycopg import conninfo as pg_conninfo

    try:
        parts = pg_conninfo.conninfo_to_dict(conninfo)
    except Exception:
        return conninfo
    where = parts.get("host") or "localhost"
    port = f":{parts['port']}" if parts.get("port") else ""
    return f"{where}{port}/{parts.get('dbname') or parts.get('service') or '(default database)'}"


def _database_and_host(conninfo: str, where: str) -> str:
    """'Database "team" on db.example.org, port 5433', for the first words of a message
    (``where`` when the string cannot be read)."""
    from psycopg import conninfo as pg_conninfo

    try:
        parts = pg_conninfo.conninfo_to_dict(conninfo)
    except Exception:
        return where
    if parts.get("service") and not parts.get("dbname"):
        return f'The connection service "{parts["service"]}"'
    database = parts.get("dbname") or "(the default database)"
    port = f", port {parts['port']}" if parts.get("port") else ""
    return f'Database "{database}" on {parts.get("host") or "localhost"}{port}'


#: the driver's words for why a server cannot be reached, and the reason said to the analyst
_UNREACHABLE = (
    (("connection refused",), "No server is listening on that port."),
    (("no such file or directory",), "No server is running in that socket folder."),
    (("timeout expired", "timed out"), "The server did not answer in time."),
    (("could not translate host name", "name or service not known", "name resolution"),
     "This computer does not know that host name."),
    (("no route to host", "network is unreachable"), "This computer has no network route to that host."),
    (("definition of service",), "No connection service of that name is defined (pg_service.conf)."),
)


def _unreachable_reason(low: str) -> str:
    """Why a server cannot be reached, in one sentence, from the driver's (lower-cased) message."""
    return next((reason for words, reason in _UNREACHABLE if any(w in low for w in words)),
                "The server did not answer.")


def login_of(conninfo: str) -> str:
    """The login a connection string connects as (asked of the server)."""
    return team_login_of(conninfo).login


@dataclass(frozen=True)
class TeamLogin:
    """Who a team registry knows you as: the login, the registry roles it holds, and where
    the registry is (as the server says, so a service name shows its database and host)."""

    login: str
    roles: tuple[str, ...]
    #: host (or socket folder), port and database, as in messages
    registry: str
    database: str
    server: str

    def held(self) -> list[str]:
        """The registry roles held, in words, highest first (an approver holds the analyst's
        role too): ["approver", "analyst"]."""
        return [r.removeprefix("mlops_") for r in ROLES if r in self.roles]

    def role(self) -> str:
        """The highest registry role held, in words, or what to do without one."""
        held = self.held()
        return held[0] if held else "no registry role yet: ask the administrator for one"

    def text(self) -> str:
        """One line for a status bar: "Team registry: DB on HOST — logged in as LOGIN (approver)"."""
        return f"Team registry: {self.database} on {self.server} — logged in as {self.login} ({self.role()})"


def _team_login(conn: Any, where: str) -> TeamLogin:
    """The login of the connection ``conn`` and its registry roles (nothing is set up)."""
    login = str(conn.execute("SELECT current_user").fetchone()[0])
    roles = tuple(str(r[0]) for r in conn.execute(placeholders(_ROLES_SQL), ROLES).fetchall())
    info = conn.info
    server = info.host + (f":{info.port}" if info.port and int(info.port) != 5432 else "")
    return TeamLogin(login=login, roles=roles, registry=where, database=info.dbname, server=server)


def team_login_of(conninfo: str) -> TeamLogin:
    """Check a connection string: the login it connects as and its registry roles, asked of
    the server without setting anything up. Raises :class:`TeamRegistryError` for a
    password in the string, a server that cannot be reached or a login it does not know."""
    import psycopg

    check_conninfo(conninfo)
    where = shown(conninfo)
    try:
        with psycopg.connect(conninfo, connect_timeout=15) as conn:
            return _team_login(conn, where)
    except psycopg.OperationalError as exc:
        raise PostgresRegistry._connect_error(where, exc, conninfo) from None


class PostgresRegistry:
    """A connection to a team registry on PostgreSQL, with the API of
    :class:`~.db.Registry` (one per thread, as there)."""

    dialect = "postgresql"

    def __init__(self, conninfo: str, *, read_only: bool = False, set_up: bool = True) -> None:
        """Connect; a registry lacking migrations is set up (upgraded) at once, unless
        ``set_up`` is False: then the caller runs :func:`migrations.migrate` inside its own
        transaction (a history push, which leaves nothing behind when it is refused)."""
        import psycopg

        self.conninfo = check_conninfo(conninfo)
        self.read_only = read_only
        self.read_only_reason = "it was opened read-only" if read_only else ""
        self.where = shown(conninfo)
        #: the workspace folder whose files this registry stores and fetches (stored_files.py)
        self.files_root: Optional[Path] = None
        try:
            self.conn = psycopg.connect(conninfo, autocommit=True, cursor_factory=psycopg.ClientCursor,
                                        connect_timeout=15)
        except psycopg.OperationalError as exc:
            raise self._connect_error(self.where, exc, conninfo) from None
        self._loose_numbers()
        self._depth = 0
        try:
            row = self.conn.execute("SELECT current_user, current_schema()").fetchone()
            self.login, self.schema = row[0], row[1]
            self.conn.execute(f"SET lock_timeout = '{LOCK_WAIT_S}s'")
            if not read_only:
                if set_up:
                    migrations.migrate(self)
            elif migrations.current_version(self) < migrations.latest(self):
                raise TeamRegistryError(f"The team registry {self.where} must be upgraded before it can be "
                                        "read; its owner opens it once with write access.")
        except BaseException:
            self.conn.close()
            raise

    def _loose_numbers(self) -> None:
        """Whole numbers and booleans go out as untyped literals ('5'), typed by the server
        from where they stand (SQLite's way); numeric results come back as floats."""
        import psycopg
        from psycopg.types.numeric import FloatLoader

        class LooseInt(psycopg.adapt.Dumper):
            oid = 0

            def dump(self, obj: Any) -> bytes:
                return str(int(obj)).encode()

            def quote(self, obj: Any) -> bytes:
                return b"'" + self.dump(obj) + b"'"

        for kind in (int, bool):
            self.conn.adapters.register_dumper(kind, LooseInt)
        self.conn.adapters.register_loader("numeric", FloatLoader)

    # -- errors ------------------------------------------------------------------------

    @staticmethod
    def _connect_error(where: str, exc: BaseException, conninfo: str) -> TeamRegistryError:
        """Our error for a connection that failed, in the analyst's words; a server that
        cannot be reached is said as where, why and what to do, with the driver's own words
        as its ``details``."""
        text = str(exc).strip()
        low = text.lower()
        state = getattr(exc, "sqlstate", None)
        if state in ("28P01", "28000") or "authentication failed" in low or "no password supplied" in low:
            why = ("authentication failed: the login or its password was refused. Put the password in "
                   "~/.pgpass (or PGPASSWORD), as for psql")
        elif state == "3D000" or ("database" in low and "does not exist" in low):
            why = "that database does not exist; ask the registry's administrator for its name"
        elif "role" in low and "does not exist" in low:
            why = "that login does not exist on the server; ask the administrator for one"
        else:
            return TeamRegistryError(
                f"{_database_and_host(conninfo, where)}: the team registry cannot be reached.\n\n"
                f"{_unreachable_reason(low)}\n"
                "Check that the server is running and that this computer can reach it (network, VPN), "
                "then try again.", details=text or type(exc).__name__)
        return TeamRegistryError(f"Cannot connect to the team registry {where}: {why}.")

    def _error(self, exc: BaseException, sql: str = "") -> BaseException:
        """Our error for a server's refusal, or ``exc`` itself for anything else."""
        import psycopg
        from psycopg import errors

        if isinstance(exc, errors.LockNotAvailable):
            return TeamRegistryError(
                f"The team registry {self.where} is busy: another login kept it locked for "
                f"{LOCK_WAIT_S} seconds. Nothing was changed; try again.")
        if isinstance(exc, errors.InsufficientPrivilege):
            said = exc.diag.message_primary or str(exc)
            if not said.startswith("permission denied"):  # one of the registry's own rules
                return TeamRegistryError(f"The team registry refused it: {said}. Nothing was changed.")
            what = _refused_action(sql) or f"do this ({said})"
            return TeamRegistryError(f"Your login {self.login} may not {what}. Nothing was changed.")
        if isinstance(exc, errors.RaiseException):
            return TeamRegistryError(f"The team registry refused the change: {exc.diag.message_primary}. "
                                     "Nothing was changed.")
        if isinstance(exc, psycopg.OperationalError) and self.conn.broken:
            return TeamRegistryError(f"The connection to the team registry {self.where} was lost "
                                     f"({str(exc).strip() or type(exc).__name__}). Nothing was changed; "
                                     "try again.")
        return exc

    @contextmanager
    def _refusals(self, sql: str) -> Iterator[None]:
        """A server's refusal raised as our error (:meth:`_error`)."""
        import psycopg

        try:
            yield
        except psycopg.Error as exc:
            error = self._error(exc, sql)
            if error is exc:
                raise
            raise error from None

    def _run(self, sql: str, params: Any = (), *, rows: bool = False):
        import psycopg

        with self._refusals(sql):
            cur = self.conn.cursor(row_factory=psycopg.rows.dict_row if rows else psycopg.rows.tuple_row)
            return cur.execute(placeholders(sql), list(params) if not isinstance(params, dict) else params)

    # -- the API of Registry -------------------------------------------------------------

    def execute(self, sql: str, params: tuple | list | dict = ()) -> int:
        """Run one statement that changes rows (inside :meth:`transaction`); the number of
        rows it changed. Raises TeamRegistryError when the registry was opened read-only."""
        self._refuse_if_read_only()
        return self._run(sql, params).rowcount

    def insert(self, sql: str, params: tuple | list | dict = ()) -> int:
        """Run one INSERT (inside :meth:`transaction`) and return the new row's ``id``.
        Raises TeamRegistryError when the registry was opened read-only."""
        self._refuse_if_read_only()
        return int(self._run(sql + " RETURNING id", params).fetchone()[0])

    def execute_binary(self, sql: str, params: tuple | list = ()) -> int:
        """:meth:`execute` with the values bound on the server, bytes sent as they are
        (binary format): for a stored file's chunks, which client-side binding would send
        as hexadecimal text, twice their size, for the server to decode."""
        import psycopg

        self._refuse_if_read_only()
        with self._refusals(sql):
            return psycopg.Cursor(self.conn).execute(placeholders(sql), list(params)).rowcount

    def rows_binary(self, sql: str, params: tuple | list = ()) -> Iterator[tuple]:
        """:meth:`rows` with the results in binary format: bytes come back as they are, not
        as hexadecimal text."""
        import psycopg

        with self._refusals(sql):
            return iter(psycopg.Cursor(self.conn).execute(placeholders(sql), list(params), binary=True))

    def executemany(self, sql: str, rows: Iterable[tuple | list]) -> None:
        """Run one statement for each of ``rows`` (inside :meth:`transaction`). Raises
        TeamRegistryError when the registry was opened read-only."""
        self._refuse_if_read_only()
        with self._refusals(sql):
            self.conn.cursor().executemany(placeholders(sql), [list(r) for r in rows])

    def execute_script(self, script: str) -> None:
        """A migration, sent whole (PostgreSQL runs several statements in one go)."""
        with self._refusals(""):
            self.conn.execute(script)

    @property
    def in_transaction(self) -> bool:
        """Whether a transaction opened by :meth:`transaction` is under way."""
        return self._depth > 0

    def table_names(self) -> list[str]:
        """The names of the registry's tables in its schema."""
        return [r["table_name"] for r in self.query(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
            " AND table_type = 'BASE TABLE' ORDER BY table_name")]

    def query(self, sql: str, params: tuple | list | dict = ()) -> list[dict]:
        """Rows of a read-only query as dictionaries."""
        return self._run(sql, params, rows=True).fetchall()

    def query_one(self, sql: str, params: tuple | list | dict = ()) -> Optional[dict]:
        """The first row of a read-only query as a dictionary, or None when there is none."""
        rows = self.query(sql, params)
        return rows[0] if rows else None

    def rows(self, sql: str, params: tuple | list = ()) -> Iterator[tuple]:
        """The rows of a read-only query as tuples (for checks over every row)."""
        return iter(self._run(sql, params))

    def _refuse_if_read_only(self) -> None:
        if self.read_only:
            raise TeamRegistryError(f"The team registry {self.where} was opened read-only: {self.read_only_reason}.")

    @contextmanager
    def transaction(self) -> Iterator["PostgresRegistry"]:
        """A write transaction holding the registry's write lock (see the module's
        docstring); nested calls are savepoints inside the outer one."""
        self._refuse_if_read_only()
        if self._depth:
            self._depth += 1
            name = f"s{self._depth}"
            self._run(f"SAVEPOINT {name}")
            try:
                yield self
            except BaseException:
                self._run(f"ROLLBACK TO SAVEPOINT {name}")
                raise
            else:
                self._run(f"RELEASE SAVEPOINT {name}")
            finally:
                self._depth -= 1
            return
        self._run("BEGIN")
        self._depth = 1
        try:
            self._run("SELECT pg_advisory_xact_lock(?)", (WRITE_LOCK,))
            yield self
        except BaseException:
            self._depth = 0
            if not self.conn.broken:
                self.conn.execute("ROLLBACK")
            raise
        else:
            self._depth = 0
            self._run("COMMIT")

    def check_actor(self, actor: str) -> None:
        """Refuse a change recorded under any name but the login's: on a team registry the
        actor is who the server knows, never a name typed in."""
        if actor != self.login:
            raise TeamRegistryError(
                f"On the team registry {self.where} you act as your database login {self.login!r}, "
                f"not as {actor!r}: the audit log records logins there. Leave out --as (or log in as "
                f"{actor!r}).")

    def team_login(self) -> TeamLogin:
        """The login, the registry roles it holds (directly or through another role) and
        where the registry is."""
        return _team_login(self.conn, self.where)

    def backup_to(self, dest: object, **_: object) -> None:
        """A team registry is backed up on its server, not copied into a workspace backup."""
        raise TeamRegistryError(
            f"This workspace uses the team registry {self.where}: back it up on the server (pg_dump, or "
            "the server's own backups), not with 'mlops-desktop backup'. Nothing was written.")

    def info(self) -> dict[str, str]:
        """The registry's own facts (its workspace id, the app version that created it)."""
        return {r["key"]: r["value"] for r in self.query("SELECT key, value FROM workspace_info")}

    def schema_version(self) -> int:
        """The number of the newest migration applied to the database (0 for an empty one)."""
        return migrations.current_version(self)

    def close(self) -> None:
        """Close the connection to the server."""
        self.conn.close()

    def __enter__(self) -> "PostgresRegistry":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _refused_action(sql: str) -> str:
    import re

    match = re.search(r"\b(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM|TRUNCATE)\s+(\w+)", sql, re.I)
    if not match:
        return ""
    table = match.group(1).lower()
    if table == "model_versions" and "stage" not in sql.lower():
        return f"change the table {table}"
    return _TABLE_ACTIONS.get(table, f"write to the table {table}")

