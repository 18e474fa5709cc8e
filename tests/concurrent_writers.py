"""Two writer processes on one registry, for the concurrency tests of both backends.

Each writer makes ``n`` writes: accepted warnings and changes of its own column's role,
alternately (each a real change with its audit entry). The writers start together and
wait for each other at every quarter, so their writes interleave whatever the
scheduling: SQLite writes so fast that, left alone, one process can finish before the
other begins, and the test would then prove nothing about concurrency.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

WRITER = textwrap.dedent("""
    import os, sys, time
    from mlops_desktop.core.store import accepted_warnings
    from mlops_desktop.core.workspace import Workspace

    root, who, other, column, go, n = sys.argv[1:6] + [int(sys.argv[6])]

    def wait_for(path):
        deadline = time.monotonic() + 120
        while not os.path.exists(path):
            if time.monotonic() > deadline:
                sys.exit(f"gave up waiting for {path}")
            time.sleep(0.001)

    ws = Workspace.open(root)
    open(f"{go}.{who}.ready", "w").close()
    wait_for(f"{go}.{other}.ready")
    started = time.perf_counter()
    for i in range(n):
        if i and i % (n // 4) == 0:
            open(f"{go}.{who}.{i}", "w").close()
            wait_for(f"{go}.{other}.{i}")
        if i % 2 == 0:
            accepted_warnings.accept(ws.registry, dataset_id=1, target="body_mass_g", features=[column],
                                     check_id=f"check-{i}", reason="tested", actor=who)
        else:
            ws.update_column(1, column, role="ignore" if (i // 2) % 2 == 0 else "feature", actor=who)
    ws.close()
    print(f"done {time.perf_counter() - started:.2f}")
""")

#: the fewest changes of writer from one audit entry to the next that the barriers allow
#: (three barriers: each quarter of one writer is followed by a quarter of the other)
LEAST_SWITCHES = 4


def write_at_once(root: Path, go: Path, writers: list[tuple[str, str]], n: int,
                  env: dict[str, dict[str, str]] | None = None) -> float:
    """Run two writers ``(who, column)`` on the workspace at ``root`` at once, check both
    ended cleanly, and return the longer one's seconds of writing."""
    (a, _), (b, _) = writers
    procs = []
    for who, column in writers:
        other = b if who == a else a
        procs.append(subprocess.Popen(
            [sys.executable, "-c", WRITER, str(root), who, other, column, str(go), str(n)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, **(env or {}).get(who, {})}))
    results = [p.communicate(timeout=900) for p in procs]
    for p, (out, err) in zip(procs, results):
        assert "locked" not in err.lower() and "busy" not in err.lower(), err
        assert p.returncode == 0 and out.startswith("done") and err == "", err
    return max(float(out.split()[1]) for out, _ in results)


def switches(entries) -> int:
    """How often the writer changed from one audit entry to the next."""
    return sum(a.actor != b.actor for a, b in zip(entries, entries[1:]))
