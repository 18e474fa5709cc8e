"""Two people writing to one registry at once, on both backends: nothing is lost, the
audit chain stays intact; two approvers approving one version at once: one wins, the
other is told the version changed meanwhile."""

from __future__ import annotations

import threading

from mlops_desktop.core.errors import MlopsError
from mlops_desktop.core.workspace.integrity import verify_workspace
from mlops_desktop.core.registry.lifecycle import change_stage, stage_history

from concurrent_writers import LEAST_SWITCHES, switches, write_at_once

from .test_team_lifecycle import _trained

WRITES = 500


def test_two_processes_writing_500_times_each_lose_nothing(team, penguins_csv, tmp_path):
    ws = team.open("ana")
    ws.import_file(penguins_csv, actor="ana")
    before = len(ws.audit_entries())
    seconds = write_at_once(team.root, tmp_path / "go", [("ana", "bill_length_mm"), ("alex", "bill_depth_mm")],
                            WRITES, env={who: {"PGUSER": who} for who in ("ana", "alex")})
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
    assert switches(entries) >= LEAST_SWITCHES  # they did interleave
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


