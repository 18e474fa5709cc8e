"""Issue 12, item 5: order without the clock. The registry's history is ordered by its
sequence; ``--at T`` is answered from that order; a clock that went back shows in
``verify``. The clock is set back the way a user (or an attacker) would: the computer's
time, which every record's timestamp comes from, jumps a day into the past."""

from __future__ import annotations

import contextlib
import io
import json
from datetime import datetime, timedelta

import pytest

from mlops_desktop.core.registry.lifecycle import alias_history, change_stage, set_alias, version_at
from mlops_desktop.core.workspace import Workspace

from .conftest import named, verify_json


class _DayBehind(datetime):
    """The computer's clock, set back by a day."""

    @classmethod
    def now(cls, tz=None):
        return datetime.now(tz) - timedelta(days=1)


@pytest.fixture
def moved_back_in_time(ws_copy, monkeypatch):
    """production: version 1 (set by the fixture), then version 2, moved by bob while the
    clock was a day behind. Returns the workspace and the moment of the first move."""
    from mlops_desktop.core.store import db

    with Workspace.open(ws_copy) as ws:
        first = alias_history(ws, "mass", "production")[0]["moved_at"]
        change_stage(ws, "mass:2", "approved", actor="bob", comment="better residuals")
        monkeypatch.setattr(db, "datetime", _DayBehind)
        set_alias(ws, "mass", "production", 2, actor="bob")
        monkeypatch.undo()
    return ws_copy, first


def _alias_at(root, when: str) -> dict:
    from mlops_desktop.cli import run

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = run(["models", "alias", "mass", "production", "--at", when, "--workspace", str(root), "--json"])
    assert code == 0
    return json.loads(out.getvalue())["held_by"]


def test_which_version_holds_an_alias_is_answered_from_the_sequence(moved_back_in_time, monkeypatch):
    from mlops_desktop.core.store import db

    root, first = moved_back_in_time
    # a moment after the first move: the second move, made later, is stamped before it
    later = (datetime.fromisoformat(first.replace("Z", "+00:00")) + timedelta(seconds=1)).isoformat()
    assert _alias_at(root, later)["version"] == 2
    assert _alias_at(root, "now")["version"] == 2
    with Workspace.open(root) as ws:
        history = alias_history(ws, "mass", "production")
        assert [m["to_version"] for m in history] == [1, 2]  # the order they were made in
        assert history[1]["moved_at"] < history[0]["moved_at"]  # though the clock said otherwise
        monkeypatch.setattr(db, "datetime", _DayBehind)  # asked while the clock is still wrong
        assert version_at(ws, "mass", "production", "now")["version"] == 2


def test_verify_names_a_clock_that_went_back(moved_back_in_time):
    root, _ = moved_back_in_time
    code, report = verify_json(root)
    assert code == 2
    found = named(report, "clock_backwards", "the computer's clock went back by 24 hours")
    assert len(found) == 1, report["problems"]  # one jump, one problem
    assert {p["kind"] for p in report["problems"]} == {"clock_backwards"}


def test_a_clock_a_moment_behind_is_left_alone(ws_copy, monkeypatch):
    """A time server's small correction is not a finding."""
    from mlops_desktop.core.registry import annotations
    from mlops_desktop.core.store import db

    class _MomentBehind(datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime.now(tz) - timedelta(milliseconds=300)

    with Workspace.open(ws_copy) as ws:
        annotations.set_tag(ws, "mass", "a", "1", actor="ann")
        monkeypatch.setattr(db, "datetime", _MomentBehind)
        annotations.set_tag(ws, "mass", "b", "2", actor="ann")
    code, report = verify_json(ws_copy)
    assert code == 0 and report["ok"], report["problems"]
