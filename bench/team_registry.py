"""The Registry page's filters on a team registry against the same registry in SQLite:
10,000 model versions (200 models) and 100,000 audit entries (bench/registry_fixture.py),
copied row for row into a throwaway PostgreSQL cluster (tests/postgres_server.py). Prints
the best of ``--repeat`` runs of opening the workspace, listing the models and filtering
the versions, on each backend. Target (issue 17): filtering within 200 ms on both.

    python bench/team_registry.py [--versions 10000] [--audit-entries 100000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))
sys.path.insert(0, str(HERE.parent / "tests"))

from postgres_server import bench_cluster  # noqa: E402
from registry_fixture import generate  # noqa: E402

FILTERS = [("first page, no filter", {}), ("name contains 'churn'", {"text": "churn"}),
           ("stage approved", {"stage": "approved"}),
           ("stage validated, name 'demand'", {"stage": "validated", "text": "demand"}),
           ("tag team=credit", {"tag": "team=credit"})]


def best(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return min(times), result


def copy_rows(sqlite_file: Path, conninfo: str) -> int:
    """Every row of the SQLite registry into the (migrated, empty) team registry, as its
    superuser with triggers off for the load; identity counters moved past the ids."""
    import psycopg

    lite = sqlite3.connect(sqlite_file)
    copied = 0
    with psycopg.connect(conninfo, autocommit=False) as pg:
        pg.execute("SET session_replication_role = replica")
        tables = [r[0] for r in lite.execute("SELECT name FROM sqlite_master WHERE type = 'table'"
                                             " AND name NOT IN ('schema_migrations', 'audit_head')")]
        for table in tables:
            cols = [r[1] for r in lite.execute(f"PRAGMA table_info({table})")]
            pg.execute(f"DELETE FROM {table}")
            with pg.cursor().copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
                for row in lite.execute(f"SELECT {', '.join(cols)} FROM {table}"):
                    copy.write_row(row)
                    copied += 1
            if "id" in cols:
                pg.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                           f" (SELECT COALESCE(MAX(id), 1) FROM {table}))")
        seq, digest, entries = lite.execute("SELECT seq, hash, entries FROM audit_head").fetchone()
        pg.execute("UPDATE audit_head SET seq = %s, hash = %s, entries = %s", (seq, digest, entries))
        pg.commit()
    pg_analyze = psycopg.connect(conninfo, autocommit=True)
    pg_analyze.execute("ANALYZE")
    pg_analyze.close()
    lite.close()
    return copied


def measure(root: Path, repeat: int) -> list[tuple[str, float, str]]:
    from mlops_desktop.core.registry.lifecycle import search_versions
    from mlops_desktop.core.store import models as model_rows
    from mlops_desktop.core.workspace import Workspace

    rows = []
    seconds, _ = best(lambda: Workspace.open(root).close(), repeat)
    rows.append(("open the workspace", seconds, ""))
    with Workspace.open(root) as ws:
        seconds, models = best(lambda: model_rows.list_models(ws.registry), repeat)
        rows.append(("list models", seconds, f"{len(models)} models"))
        for label, kw in FILTERS:
            seconds, page = best(lambda kw=kw: search_versions(ws, limit=100, **kw), repeat)
            rows.append((f"filter versions: {label}", seconds, f"{page.total} match, {len(page.rows)} shown"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", type=int, default=10_000)
    parser.add_argument("--audit-entries", type=int, default=100_000)
    parser.add_argument("--models", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    from mlops_desktop.core.workspace import TEAM_FILE

    temp = Path(tempfile.mkdtemp(prefix="team-registry-bench-"))
    cluster = bench_cluster()
    try:
        lite_root = temp / "single"
        t = time.perf_counter()
        counts = generate(lite_root, models=args.models, versions=args.versions, audit_entries=args.audit_entries)
        print(f"{'generate (SQLite)':<46} {time.perf_counter() - t:8.2f} s    {counts}")
        db = cluster.new_database()
        os.environ["PGUSER"] = "postgres"
        from mlops_desktop.core.workspace import Workspace

        team_root = temp / "team"
        conninfo = f"host={cluster.dir} dbname={db}"
        Workspace.connect(team_root, conninfo).close()
        for sub in ("artifacts", "snapshots"):  # the same files: the folder is the team's cache
            shutil.rmtree(team_root / sub)
            (team_root / sub).symlink_to(lite_root / sub, target_is_directory=True)
        t = time.perf_counter()
        n = copy_rows(lite_root / "registry.sqlite", f"{conninfo} user=postgres")
        print(f"{'copy into PostgreSQL':<46} {time.perf_counter() - t:8.2f} s    {n} rows")
        assert (team_root / TEAM_FILE).is_file()
        results = {"SQLite": measure(lite_root, args.repeat), "PostgreSQL": measure(team_root, args.repeat)}
        print(f"\n{'':<46} {'SQLite':>11} {'PostgreSQL':>11}")
        for (label, lite_s, note), (_, pg_s, pg_note) in zip(results["SQLite"], results["PostgreSQL"]):
            assert note == pg_note, (label, note, pg_note)  # the same answer on both
            print(f"{label:<46} {lite_s * 1000:8.1f} ms {pg_s * 1000:8.1f} ms   {note}")
    finally:
        cluster.stop()
        shutil.rmtree(temp, ignore_errors=True)


if __name__ == "__main__":
    main()
