"""A throwaway PostgreSQL cluster for the team-registry tests: Debian's server binaries,
initdb as an unprivileged system user (PostgreSQL refuses to run as root), a Unix socket
in a temporary folder and no TCP. Logins: ``postgres`` (the superuser, who sets a registry
up), ``ana`` and ``alex`` (analysts), ``carol`` (approver)."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path
from typing import Optional

SERVICE_USER = "mlopstest"
ANALYSTS = ("ana", "alex")
APPROVERS = ("carol", "cody")


def binaries() -> Optional[Path]:
    """The folder of Debian's PostgreSQL server binaries (the newest), or None."""
    env = os.environ.get("MLOPS_TEST_PG_BIN")
    if env and (Path(env) / "initdb").is_file():
        return Path(env)
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    return Path(found[-1]).parent if found else None


def bench_cluster() -> "Cluster":
    """A throwaway cluster for a bench, or exit saying the server binaries are missing."""
    found = binaries()
    if found is None:
        raise SystemExit("PostgreSQL's server binaries are not installed (scripts/install-system-deps.sh --xvfb).")
    return Cluster(found)


class Cluster:
    """A running cluster; :meth:`conninfo` for a login, :meth:`new_database` per test."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin = bin_dir
        self.dir = Path(tempfile.mkdtemp(prefix="mlops-pg-"))
        self.data = self.dir / "data"
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            _ensure_user(SERVICE_USER)
            shutil.chown(self.dir, SERVICE_USER)
            self.as_user = ["runuser", "-u", SERVICE_USER, "--"]
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                  "--locale=C.UTF-8")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.dir / "server.log"), "-w", "-o",
                  f"-c listen_addresses='' -c unix_socket_directories={self.dir} -c max_connections=60",
                  "start")
        for login in ANALYSTS + APPROVERS:
            self.sql(f"CREATE ROLE {login} LOGIN")

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run(self.as_user + [str(self.bin / tool), *args], check=True, cwd=self.dir,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=120)

    def conninfo(self, login: str = "postgres", dbname: str = "postgres") -> str:
        return f"host={self.dir} dbname={dbname} user={login}"

    def sql(self, statement: str, dbname: str = "postgres", login: str = "postgres") -> list[tuple]:
        import psycopg

        with psycopg.connect(self.conninfo(login, dbname), autocommit=True) as conn:
            cur = conn.execute(statement)
            return cur.fetchall() if cur.description else []

    def new_database(self) -> str:
        """A new, empty database; the roles of migration 16 granted to the test logins
        once it has been set up (see :meth:`grant_roles`)."""
        name = "reg_" + uuid.uuid4().hex[:12]
        self.sql(f"CREATE DATABASE {name}")
        return name

    def grant_roles(self, dbname: str) -> None:
        """Give the logins their registry roles (the roles exist once a registry was set up)."""
        for login in ANALYSTS:
            self.sql(f"GRANT mlops_analyst TO {login}", dbname)
        for login in APPROVERS:
            self.sql(f"GRANT mlops_approver TO {login}", dbname)

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


def _ensure_user(name: str) -> None:
    import pwd

    try:
        pwd.getpwnam(name)
    except KeyError:
        made = subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
                              capture_output=True, text=True)
        if made.returncode != 0:
            # another test worker (pytest-xdist) may have added the same user a moment before
            try:
                pwd.getpwnam(name)
            except KeyError:
                raise RuntimeError(f"useradd {name} failed: {made.stderr.strip()}") from None
