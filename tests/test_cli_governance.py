"""Governance from the command line: every registry change takes --as; bad input exits 2
with one line and changes nothing; the models commands (stage, alias, tag, describe,
list, show, compare), single-user mode, audit --model and datasets lineage."""

from __future__ import annotations

import json
import sqlite3

import pytest

from conftest import run_cli
from mlops_desktop.cli import build_parser
from mlops_desktop.cli import run as cli

#: every command that changes the registry, with the arguments it needs
CHANGING = [
    ["init"], ["import", "f.csv"], ["datasets", "column", "d", "c", "--role", "id"],
    ["check", "d", "--target", "t", "--accept", "vif", "--reason", "r"],
    ["check", "d", "--target", "t", "--withdraw", "vif"], ["train", "d", "--target", "t"],
    ["reproduce", "1"], ["runs", "register", "1", "tree"], ["validate", "m:1"], ["drift", "--reference", "d", "--current", "x.csv"],
    ["drift-thresholds", "--set", "psi_moderate=0.2"], ["models", "stage", "m:1", "approved"],
    ["models", "alias", "m", "production", "1"], ["models", "alias", "m", "production", "--remove"],
    ["models", "tag", "m", "k", "v"], ["models", "describe", "m:1", "text"], ["single-user", "on"],
]


@pytest.fixture
def ws(governance_copy):
    """Two validated versions of "mass" and a draft "species" (tests/conftest.py)."""
    return governance_copy


@pytest.mark.parametrize("argv", CHANGING, ids=lambda a: " ".join(a[:2]))
def test_every_registry_change_takes_as_user(argv):
    parser, handlers = build_parser()
    args = parser.parse_args([*argv, "--as", "zed"])
    assert args.actor == "zed" and args.command in handlers


def registry_dump(root) -> str:
    conn = sqlite3.connect(root / "registry.sqlite")
    try:
        return "\n".join(conn.iterdump())
    finally:
        conn.close()


def call(capsys, root, *argv: str) -> tuple[int, str, str]:
    """Run the CLI in this process (the same code path as the console command)."""
    code = cli([*argv, "--workspace", str(root)])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def root(ws):
    path = ws.root
    ws.close()  # the CLI opens the workspace itself
    return path


@pytest.mark.parametrize("argv,match", [
    (["models", "stage", "species:1", "approved", "--comment", "ok", "--as", "bob"],
     "species:1 is draft; only a validated version can be approved"),
    (["models", "stage", "mass:1", "approved", "--comment", "ok", "--as", "ann"], "four eyes"),
    (["models", "stage", "mass:1", "approved", "--as", "bob"], "needs a comment"),
    (["models", "alias", "mass", "production", "1", "--as", "bob"],
     "mass:1 is validated; only an approved version can hold the alias 'production'"),
    (["models", "stage", "mass:9", "approved", "--comment", "ok", "--as", "bob"],
     "Model 'mass' has no version 9; it has 1, 2."),
    (["models", "stage", "mass:x", "approved", "--comment", "ok"], "'mass:x' is not a model version"),
    (["models", "stage", "mass", "retired"], "'mass' is not a model version: write MODEL:VERSION"),
    (["models", "alias", "mass", "production", "9"], "Model 'mass' has no version 9; it has 1, 2."),
    (["models", "alias", "mass", "Live!", "1"], "not a valid alias name"),
    (["models", "alias", "mass", "production", "1", "--remove"], "either a version"),
    (["models", "alias", "mass", "production", "--remove"], "has no alias 'production'"),
    (["models", "alias", "nothing"], "no registered model 'nothing'"),
    (["models", "tag", "mass", "team"], "Give the tag a value"),
    (["models", "tag", "mass:1", "team", "--remove"], "has no tag 'team'"),
    (["models", "describe", "mass:3", "text"], "has no version 3"),
    (["models", "compare", "mass:1", "mass:x"], "not a model version"),
    (["models", "show", "mass:5"], "has no version 5; it has 1, 2"),
    (["models", "list", "--since", "last week"], "not a date"),
    (["models", "list", "--dataset", "nowhere"], "No dataset with id or name 'nowhere'"),
    (["audit", "--model", "nothing"], "no registered model 'nothing'"),
    (["datasets", "lineage", "nowhere"], "No dataset with id or name 'nowhere'"),
])
def test_bad_input_exits_2_with_one_line_and_changes_nothing(capsys, root, argv, match):
    before = registry_dump(root)
    code, out, err = call(capsys, root, *argv)
    assert code == 2 and out == ""
    assert err.startswith("error: ") and err.count("\n") == 1 and match in err, err
    assert registry_dump(root) == before


def test_a_usage_error_exits_2_too(capsys, root):
    with pytest.raises(SystemExit) as stop:
        cli(["models", "stage", "mass:1", "shipped", "--workspace", str(root)])
    assert stop.value.code == 2 and "invalid choice" in capsys.readouterr().err


def test_self_approval_in_single_user_mode_as_a_user_runs_it(root):
    ws_arg = ["--workspace", str(root)]
    refused = run_cli("models", "stage", "mass:1", "approved", "--comment", "checked", "--as", "ann", *ws_arg)
    assert refused.returncode == 2 and "four eyes" in refused.stderr and "Traceback" not in refused.stderr
    shown = run_cli("single-user", *ws_arg, "--json")
    assert json.loads(shown.stdout) == {"single_user": False}
    on = run_cli("single-user", "on", "--as", "ann", *ws_arg)
    assert on.returncode == 0 and "Single-user mode on" in on.stdout
    done = run_cli("models", "stage", "mass:1", "approved", "--comment", "checked", "--as", "ann", *ws_arg)
    assert done.returncode == 0 and "self-approved" in done.stdout
    card = root / "card.md"
    wrote = run_cli("validate", "mass:1", "--bootstrap", "50", "--report", str(card), "--as", "ann", *ws_arg)
    assert wrote.returncode == 0, wrote.stderr
    assert "self-approved" in card.read_text(encoding="utf-8").split("## Approvals", 1)[1]


def test_models_commands_end_to_end(capsys, root):
    ok = lambda *argv: _ok(capsys, root, *argv)  # noqa: E731

    ok("models", "stage", "mass:1", "approved", "--comment", "Residuals fine.", "--as", "bob")
    ok("models", "stage", "mass:2", "approved", "--comment", "Fine too.", "--as", "bob")
    moved = ok("models", "alias", "mass", "production", "1", "--comment", "first", "--as", "bob", "--json")
    assert (moved["from_version"], moved["to_version"], moved["moved_by"]) == (None, 1, "bob")
    ok("models", "alias", "mass", "production", "2", "--as", "cleo")
    ok("models", "tag", "mass:1", "owner", "ann", "--as", "ann")
    ok("models", "tag", "mass", "team", "biology", "--as", "ann")
    ok("models", "describe", "mass:2", "Ridge without island.", "--as", "ann")

    aliases = ok("models", "alias", "mass", "--json")
    assert [(a["alias"], a["version"]) for a in aliases["aliases"]] == [("production", 2)]
    history = aliases["history"]
    assert [(h["from_version"], h["to_version"], h["moved_by"]) for h in history] == [(None, 1, "bob"), (1, 2, "cleo")]
    at = ok("models", "alias", "mass", "production", "--at", history[0]["moved_at"], "--json")
    assert at["held_by"]["version"] == 1 and at["held_by"]["set_by"] == "bob"
    assert ok("models", "alias", "mass", "production", "--at", "2000-01-01", "--json")["held_by"] is None
    code, out, _ = call(capsys, root, "models", "alias", "mass")
    assert code == 0 and "production → version 2" in out and "version 1 → version 2 by cleo" in out

    listed = ok("models", "list", "--stage", "approved", "--json")
    assert [v["ref"] for v in listed["versions"]] == ["mass:2", "mass:1"] and listed["total"] == 2
    assert [v["ref"] for v in ok("models", "list", "--tag", "owner=ann", "--json")["versions"]] == ["mass:1"]
    assert [v["ref"] for v in ok("models", "list", "--tag", "team", "--json")["versions"]] == ["mass:2", "mass:1"]
    assert [v["ref"] for v in ok("models", "list", "--search", "SPEC", "--json")["versions"]] == ["species:1"]
    assert [v["ref"] for v in ok("models", "list", "--dataset", "penguins_copy", "--json")["versions"]] == ["species:1"]
    assert ok("models", "list", "--until", "2000-01-01", "--json")["total"] == 0
    assert ok("models", "list", "--limit", "1", "--offset", "1", "--json")["versions"][0]["ref"] == "mass:2"
    code, out, _ = call(capsys, root, "models", "list", "--stage", "approved")
    assert code == 0 and "mass:2   approved  production" in out

    shown = ok("models", "show", "mass:2", "--json")
    assert shown["aliases"] == ["production"] and shown["description"] == "Ridge without island."
    assert shown["model_tags"] == {"team": "biology"} and shown["tags"] == {}
    assert [h["to_stage"] for h in shown["stage_history"]] == ["validated", "approved"]
    assert shown["stage_history"][1]["changed_by"] == "bob" and shown["stage_history"][1]["self_approved"] is False
    lineage = shown["lineage"]
    assert lineage["dataset"]["name"] == "penguins" and lineage["run"]["id"] == shown["run_id"]
    assert lineage["run"]["seed"] == 42 and "scikit-learn" in lineage["run"]["library_versions"]
    assert [m["to_version"] for m in lineage["alias_moves"]] == [2]
    assert [a["alias"] for a in shown["model_aliases"]] == ["production"] and len(shown["alias_history"]) == 2
    code, out, _ = call(capsys, root, "models", "show", "mass:2")
    assert code == 0 and "Aliases: production" in out and "Lineage:" in out
    changes = [line.strip() for line in out.splitlines() if "→ approved" in line]
    assert len(changes) == 1 and changes[0].startswith("validated → approved — by bob")  # named once

    compared = ok("models", "compare", "mass:1", "mass:2", "--json")
    assert compared["features"]["removed"] == ["island"] and compared["a"]["aliases"] == []
    assert {d["setting"] for d in compared["spec"]["differences"]} >= {"family", "spec.exclude"}
    code, out, _ = call(capsys, root, "models", "compare", "mass:1", "mass:2")
    assert code == 0 and "Only in mass:1: island" in out and "Validated metrics (95% intervals)" in out

    retired = ok("models", "stage", "mass:2", "retired", "--comment", "replaced", "--as", "dan", "--json")
    assert retired["aliases_removed"] == ["production"]
    assert ok("models", "alias", "mass", "--json")["aliases"] == []
    removed = ok("models", "tag", "mass:1", "owner", "--remove", "--as", "ann", "--json")
    assert removed["before"] == "ann"

    trail = ok("audit", "--model", "mass", "--limit", "0", "--json")
    actions = [e["action"] for e in trail]
    assert actions[:3] == ["tag.removed", "model.alias_removed", "model.stage_changed"]
    assert actions.count("model.alias_moved") == 2 and "model.described" in actions
    assert all(not e["summary"].startswith("species") for e in trail)
    lineage = ok("datasets", "lineage", "penguins", "--json")
    assert [v["ref"] for v in lineage["versions"]] == ["mass:1", "mass:2"]
    code, out, _ = call(capsys, root, "datasets", "lineage", "penguins")
    assert code == 0 and "→ mass:2 (retired)" in out


def _ok(capsys, root, *argv: str):
    code, out, err = call(capsys, root, *argv)
    assert code == 0, err
    return json.loads(out) if "--json" in argv else out
