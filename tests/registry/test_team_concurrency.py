"""Two people writing to one registry at once, on both backends: nothing is lost, the
audit chain stays intact; two approvers approving one version at once: one wins, the
other is told the version changed meanwhile."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time


from mlops_desktop.core.errors import MlopsError
from mlops_desktop.core.integrity import verify_workspace
from mlops_desktop.core.lifecycle import change_stage, stage_history

from .test_team_lifecycle import _trained

WRITES = 500
WRITER = textwrap.dedent("""
    import os, sys, time
    from mlops_desktop.core.registry import accepted_warnings
    from mlops_desktop.core.workspace import Workspace

    root, who, column, go, n = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
    other = "alex" if who == "ana" else "ana"


    def wait_for(path):
        deadline = time.monotonic() + 120
        while not os.path.exists(path):
            if time.monotonic() > deadline:
                sys.exit(f"gave up waiting for {path}")
            time.sleep(0.001)


    ws = Workspace.open(root)
    wait_for(go)
    started = time.perf_counter()
    for i in range(n):
        if i and i % (n // 4) == 0:
            # A barrier at each quarter: SQLite writes so fast that one writer could finish
            # before the other starts, and the test would then prove nothing about concurrency.
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


def test_two_processes_writing_500_times_each_lose_nothing(team, penguins_csv, tmp_path):
    ws = team.open("ana")
    ws.import_file(penguins_csv, actor="ana")
    before = len(ws.audit_entries())
    go = tmp_path / "go"
    writers = []
    for who, column in (("ana", "bill_length_mm"), ("alex", "bill_depth_mm")):
        env = {**os.environ, "PGUSER": who}
        writers.append(subprocess.Popen([sys.executable, "-c", WRITER, str(team.root), who, column, str(go),
                                         str(WRITES)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        text=True, env=env))
    time.sleep(2)
    go.touch()
    results = [w.communicate(timeout=900) for w in writers]
    for w, (out, err) in zip(writers, results):
        assert w.returncode == 0 and out.startswith("done") and err == "", err
    seconds = max(float(out.split()[1]) for out, _ in results)
    print(f"\n{team.backend}: 2 x {WRITES} writes in {seconds:.1f} s")
    entries = list(reversed(ws.audit_entries()))[before:]
    assert len(entries) == 2 * WRITES
    assert [e.seq for e in entries] == list(range(before + 1, before + 2 * WRITES + 1))
    for who in ("ana", "alex"):
        mine = [e for e in entries if e.actor == who]
        assert sum(e.action == "check.warning_accepted" for e in mine) == WRITES // 2
        assert sum(e.action == "dataset.column_changed" for e in mine) == WRITES // 2
        rows = ws.registry.query("SELECT COUNT(*) AS n FROM accepted_warnings WHERE accepted_by = ?", (who,))
        assert rows[0]["n"] == WRITES // 2
    # Three barriers force at least four changes of writer, whatever the scheduling.
    assert sum(a.actor != b.actor for a, b in zip(entries, entries[1:])) >= 4
    report = verify_workspace(ws)
    assert report.ok, report.text()


def test_two_approvers_at_once_one_wins_the_other_is_told(team, penguins_csv):
    ana = _trained(team, penguins_csv)
    change_stage(team.open("carol"), "mass:1", "validated", actor="carol")
    approvers = {who: team.open(who) for who in ("carol", "cody")}
    barrier = threading.Barrier(2)
    outcome: dict[str, str] = {}

    def approve(who: str) -> None:
        barrier.wait()
        try:
            change_stage(approvers[who], "mass:1", "approved", actor=who, comment=f"{who} read the card")
            outcome[who] = "approved"
        except MlopsError as exc:
            outcome[who] = str(exc)

    threads = [threading.Thread(target=approve, args=(who,)) for who in approvers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(outcome.values()).count("approved") == 1, outcome
    (lost,) = [m for m in outcome.values() if m != "approved"]
    assert "already approved" in lost or "changed it meanwhile" in lost, lost
    approvals = [h for h in stage_history(ana, "mass:1") if h["to_stage"] == "approved"]
    assert len(approvals) == 1
    assert ana.verify_audit() == []


