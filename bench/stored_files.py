"""A team registry's stored files at a realistic size: storing a model file of ``--mb``
megabytes (random bytes, so nothing compresses), fetching it into a second member's
folder, and verify's check of the stored copy (each chunk hashed on the server against
the member's copy; and hashed whole on the server, as for a member without a copy), on
a throwaway PostgreSQL cluster (tests/postgres_server.py) over its Unix socket. Prints
the best of ``--repeat`` runs of each.

    python bench/stored_files.py [--mb 200] [--repeat 3]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))
sys.path.insert(0, str(HERE.parent / "tests"))

from postgres_server import bench_cluster  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    from mlops_desktop.core.store import stored_files
    from mlops_desktop.core.workspace import Workspace

    temp = Path(tempfile.mkdtemp(prefix="stored-files-bench-"))
    cluster = bench_cluster()
    os.environ["PGUSER"] = "postgres"
    try:
        conninfo = f"host={cluster.dir} dbname={cluster.new_database()}"
        data = os.urandom(args.mb << 20)
        sha = hashlib.sha256(data).hexdigest()
        relative = f"artifacts/{sha}"
        rows: list[tuple[str, float]] = []
        with Workspace.connect(temp / "one", conninfo) as ws:
            (ws.root / relative).write_bytes(data)
            reg = ws.registry
            times = []
            for i in range(args.repeat):
                if i:  # stored once per run: the owner removes the last run's copy first
                    with reg.transaction():
                        reg.execute("DELETE FROM stored_file_chunks WHERE sha256 = ?", (sha,))
                        reg.execute("DELETE FROM stored_files WHERE sha256 = ?", (sha,))
                t = time.perf_counter()
                with reg.transaction():
                    assert stored_files.keep(reg, sha, relative)
                times.append(time.perf_counter() - t)
            rows.append((f"store {args.mb} MB (in the transaction)", min(times)))
            reg.conn.execute("VACUUM FULL stored_file_chunks")  # the earlier runs' rows gone
            size = reg.query_one("SELECT pg_total_relation_size('stored_file_chunks') AS n")["n"]
        with Workspace.connect(temp / "two", conninfo) as other:
            (other.root / relative).unlink(missing_ok=True)  # opening fetched it: fetch it again, timed
            times = []
            for _ in range(args.repeat):
                t = time.perf_counter()
                assert stored_files.fetch(other.registry, sha, relative)
                times.append(time.perf_counter() - t)
                (other.root / relative).unlink()
            rows.append((f"fetch {args.mb} MB into a member's folder", min(times)))
            other.registry.execute("INSERT INTO artifacts (sha256, size_bytes, kind, created_by, created_at)"
                                   " VALUES (?, ?, 'model', 'postgres', '2026-12-07T00:00:00Z')",
                                   (sha, len(data)))
            for label, local in (("chunk by chunk against the member's copy", True),
                                 ("hashed whole on the server (no copy here)", False)):
                if local:
                    (other.root / relative).write_bytes(data)
                else:
                    (other.root / relative).unlink()
                times = []
                for _ in range(args.repeat):
                    t = time.perf_counter()
                    checked, problems = stored_files.check(other.registry)
                    times.append(time.perf_counter() - t)
                    assert (checked, problems) == (1, []), problems
                rows.append((f"verify the stored copy: {label}", min(times)))
        print(f"{args.mb} MB file, {args.mb} chunks of 1 MB; stored_file_chunks takes {size / 2**20:.0f} MB "
              "on the server")
        for label, seconds in rows:
            print(f"{label:<66} {seconds:7.2f} s  {args.mb / seconds:7.0f} MB/s")
    finally:
        cluster.stop()
        shutil.rmtree(temp, ignore_errors=True)


if __name__ == "__main__":
    main()
