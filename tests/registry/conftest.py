"""Fixtures that run a test on both registries: SQLite (one person's workspace, people
named with ``--as``) and PostgreSQL (a team registry on a throwaway local server, where
each person is a login). See ``tests/postgres_server.py``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import pytest

from postgres_server import Cluster, binaries


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Cluster]:
    """The cluster, started once per test session and removed at its end. Without Debian's
    server binaries the tests skip with the reason, except in CI, where they fail
    (scripts/install-system-deps.sh installs the postgresql package)."""
    found = binaries()
    if found is None:
        message = ("PostgreSQL's server binaries (initdb, pg_ctl) are not installed: install the "
                   "postgresql package (scripts/install-system-deps.sh --xvfb does)")
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    cluster = Cluster(found)
    try:
        yield cluster
    finally:
        cluster.stop()


class Team:
    """One registry and the people who use it. ``open(person)`` opens the workspace as that
    person: on SQLite the same file, the person named as the actor; on PostgreSQL the same
    folder, logged in as that person (PGUSER, as a second OS user would be)."""

    def __init__(self, backend: str, root: Path, monkeypatch: pytest.MonkeyPatch,
                 cluster: Cluster | None = None) -> None:
        from mlops_desktop.core.workspace import Workspace

        self.backend, self.root, self.cluster, self._mp = backend, root, cluster, monkeypatch
        self.opened: list = []
        if cluster is None:
            Workspace.create(root, actor="ana").close()
            return
        self.dbname = cluster.new_database()
        monkeypatch.setenv("PGUSER", "postgres")
        Workspace.connect(root, f"host={cluster.dir} dbname={self.dbname}").close()
        cluster.grant_roles(self.dbname)

    @property
    def conninfo(self) -> str:
        return f"host={self.cluster.dir} dbname={self.dbname}"

    def open(self, person: str):
        from mlops_desktop.core.workspace import Workspace

        if self.cluster is not None:
            self._mp.setenv("PGUSER", person)
        ws = Workspace.open(self.root)
        self.opened.append(ws)
        return ws

    def close(self) -> None:
        for ws in self.opened:
            ws.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def team(request, tmp_path, monkeypatch) -> Iterator[Team]:
    """A registry on each backend (the test runs twice)."""
    cluster = request.getfixturevalue("postgres_server") if request.param == "postgresql" else None
    t = Team(request.param, tmp_path / "ws", monkeypatch, cluster)
    yield t
    t.close()


@pytest.fixture
def pg_team(postgres_server, tmp_path, monkeypatch) -> Iterator[Team]:
    """A team registry only (for what a workspace of one's own does not have), its first
    member's folder at ``tmp_path / "ana-laptop"``."""
    t = Team("postgresql", tmp_path / "ana-laptop", monkeypatch, postgres_server)
    yield t
    t.close()
