"""'workspace push' at scale: a workspace of 10,000 model versions (200 models) and
100,000 audit entries (bench/registry_fixture.py) pushed into an empty team registry on a
throwaway PostgreSQL cluster (tests/postgres_server.py), against a plain load of the same
rows (COPY as the superuser with triggers off, bench/team_registry.py's copy_rows), which
sets nothing up, checks no rule, stores no file and verifies nothing.

Prints the push's time and what it carried, the verification's result, and the plain load.

    python bench/team_push.py [--versions 10000] [--audit-entries 100000]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))
sys.path.insert(0, str(HERE.parent / "tests"))

from postgres_server import bench_cluster  # noqa: E402
from registry_fixture import generate  # noqa: E402
from team_registry import copy_rows  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", type=int, default=10_000)
    parser.add_argument("--audit-entries", type=int, default=100_000)
    parser.add_argument("--models", type=int, default=200)
    args = parser.parse_args()

    from mlops_desktop.core.store.postgres import PostgresRegistry
    from mlops_desktop.core.workspace.team_push import push_workspace

    temp = Path(tempfile.mkdtemp(prefix="team-push-bench-"))
    cluster = bench_cluster()
    try:
        root = temp / "ws"
        t = time.perf_counter()
        generate(root, models=args.models, versions=args.versions, audit_entries=args.audit_entries)
        print(f"generated the workspace in {time.perf_counter() - t:.1f} s")
        os.environ["PGUSER"] = "postgres"
        # the fixture's history ticks on from now, days into the future: the push's own entries
        # are stamped just after it, as they would be on a computer whose clock had got there
        import mlops_desktop.core.store.audit as audit_module
        import mlops_desktop.core.workspace.team_push as team_push_module
        from mlops_desktop.core.workspace import Workspace

        with Workspace.open(root, read_only=True) as ws:
            last_at = ws.audit_entries(limit=1)[0].at
        after = (datetime.fromisoformat(last_at.replace("Z", "+00:00")) + timedelta(milliseconds=1))
        audit_module.utc_now = team_push_module.utc_now = lambda: after.strftime("%Y-%m-%dT%H:%M:%S.%fZ")

        db = cluster.new_database()
        t = time.perf_counter()
        result = push_workspace(root, f"host={cluster.dir} dbname={db}")
        pushed = time.perf_counter() - t
        rows = sum(c.local for c in result.records)
        print(f"workspace push: {pushed:.1f} s for {rows:,} rows ({result.local_head.seq:,} audit entries) and "
              f"{result.files} files, verified: {'intact' if result.ok else result.differences or result.verify.problems}")

        plain = cluster.new_database()
        PostgresRegistry(f"host={cluster.dir} dbname={plain}").close()  # the schema, for the plain load
        t = time.perf_counter()
        copied = copy_rows(root / "registry.sqlite", f"host={cluster.dir} dbname={plain} user=postgres")
        load = time.perf_counter() - t
        print(f"plain load (COPY, triggers off, no files, no checks): {load:.1f} s for {copied:,} rows"
              f" — the push takes {pushed / load:.1f}× as long")
    finally:
        cluster.stop()
        shutil.rmtree(temp, ignore_errors=True)


if __name__ == "__main__":
    main()
