"""The command-line interface, run as a user runs it: ``python -m mlops_desktop``."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pandas as pd
import pytest

from conftest import SAMPLES, run_cli, subprocess_cli
from mlops_desktop import __version__
from mlops_desktop.core.data.fingerprint import fingerprint
from mlops_desktop.core.data.readers import read_table
from mlops_desktop.core.data.types import normalise_table
from mlops_desktop.core.workspace import Workspace
from wsstate import workspace_state


def _ok(result) -> str:
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    return result.stdout


def _json(result):
    return json.loads(_ok(result))


def _user_error(result, code: int = 2) -> str:
    """A failed command: the expected exit code, one line on stderr, nothing on stdout,
    no traceback anywhere. Returns the line."""
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stdout + result.stderr
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """A workspace with the penguins, shared by the read-only tests of this module."""
    base = tmp_path_factory.mktemp("cli")
    with Workspace.create(base / "ws", actor="setup") as ws:
        ws.import_file(SAMPLES / "penguins.csv", actor="setup")
    inputs = base / "in"
    inputs.mkdir()
    (inputs / "ragged.csv").write_text("a,b,c\n1,2,3\n4,5\n", encoding="utf-8")
    (inputs / "good.csv").write_text("a,b\n1,2\n3,4\n", encoding="utf-8")
    conn = sqlite3.connect(inputs / "two.sqlite")
    conn.execute("CREATE TABLE t1 (x)")
    conn.execute("CREATE TABLE t2 (y)")
    conn.commit()
    conn.close()
    pd.DataFrame({"a": [1, 2]}).to_excel(inputs / "book.xlsx", sheet_name="Only", index=False)
    (inputs / "not-empty").mkdir()
    (inputs / "not-empty" / "file.txt").write_text("x")
    return base


# -- init --------------------------------------------------------------------------------

def test_init_creates_a_workspace_and_is_idempotent(tmp_path):
    target = tmp_path / "new" / "ws"
    first = _json(run_cli("init", "--workspace", str(target), "--json"))
    assert first == {"workspace": str(target), "created": True}
    assert (target / "registry.sqlite").is_file()
    assert (target / "snapshots").is_dir() and (target / "artifacts").is_dir()

    second = _json(run_cli("init", "--workspace", str(target), "--json"))
    assert second == {"workspace": str(target), "created": False}
    text = _ok(run_cli("init", "--workspace", str(target)))
    assert text.strip() == f"Workspace already exists: {target}"
    with Workspace.open(target) as ws:  # init twice did not log twice
        assert [e.action for e in ws.audit_entries()] == ["workspace.created"]


def test_init_records_who_acted(tmp_path):
    _ok(run_cli("init", "--workspace", str(tmp_path / "ws"), "--as", "dana"))
    with Workspace.open(tmp_path / "ws") as ws:
        assert ws.audit_entries()[0].actor == "dana"


# -- import ------------------------------------------------------------------------------

def test_import_prints_the_dataset_as_json(tmp_path, penguins_csv):
    ws = tmp_path / "ws"
    # the real executable, once: the entry point, stdout and the exit code of a process
    data = _json(subprocess_cli("import", str(penguins_csv), "--workspace", str(ws), "--json"))

    expected_fp = fingerprint(normalise_table(read_table(penguins_csv).table))
    assert data["dataset_id"] == 1 and data["name"] == "penguins"
    assert data["fingerprint"] == expected_fp
    assert data["rows"] == 344 and data["columns"] == 8
    assert data["source_path"] == str(penguins_csv)
    assert data["options"] == {"format": "csv", "encoding": "utf-8", "delimiter": ",",
                               "decimal": "."}
    assert [c["name"] for c in data["schema"]][:2] == ["species", "island"]
    assert data["reused_snapshot"] is False and data["same_data_as"] == []
    # the workspace was created on the way, and holds what the JSON says
    with Workspace.open(ws) as w:
        ds = w.dataset(1)
        assert ds.fingerprint == expected_fp
        assert (ws / ds.snapshot).is_file()


def test_import_prints_a_summary_without_json(tmp_path, penguins_csv):
    ws = tmp_path / "ws"
    _ok(run_cli("init", "--workspace", str(ws)))
    out = _ok(run_cli("import", str(penguins_csv), "--workspace", str(ws)))
    assert out.splitlines()[0] == "Imported dataset 1: penguins"
    assert "rows:        344" in out and "columns:     8" in out
    again = _ok(run_cli("import", str(penguins_csv), "--workspace", str(ws)))
    assert "same data as dataset(s) 1 (snapshot reused)" in again


@pytest.fixture
def option_files(tmp_path) -> dict[str, Path]:
    files = {}
    files["tsv"] = tmp_path / "data.txt"
    files["tsv"].write_text("a\tb\n1\tx;y\n2\tz;w\n", encoding="utf-8")
    files["semi"] = tmp_path / "semi.csv"
    files["semi"].write_text("name;price\nMüller;1,5\n€uro;2,25\n", encoding="cp1252")
    files["xlsx"] = tmp_path / "book.xlsx"
    with pd.ExcelWriter(files["xlsx"], engine="openpyxl") as writer:
        pd.DataFrame({"a": [1, 2]}).to_excel(writer, sheet_name="First", index=False)
        pd.DataFrame({"b": [3.5, 4.5, 5.5]}).to_excel(writer, sheet_name="Second", index=False)
    files["db"] = tmp_path / "shop.sqlite"
    conn = sqlite3.connect(files["db"])
    conn.execute("CREATE TABLE customers (id INTEGER, city TEXT)")
    conn.execute("INSERT INTO customers VALUES (1, 'Oslo'), (2, 'Rome')")
    conn.execute("CREATE TABLE orders (n INTEGER)")
    conn.execute("INSERT INTO orders VALUES (7)")
    conn.commit()
    conn.close()
    return files


def test_import_options(tmp_path, option_files):
    ws = str(tmp_path / "ws")

    tsv = _json(run_cli("import", str(option_files["tsv"]), "--delimiter", "tab",
                        "--workspace", ws, "--json"))
    assert tsv["options"]["delimiter"] == "\t" and tsv["options"]["chosen_by_user"] == ["delimiter"]
    assert [c["name"] for c in tsv["schema"]] == ["a", "b"]

    semi = _json(run_cli("import", str(option_files["semi"]), "--delimiter", ";", "--encoding",
                         "cp1252", "--decimal", ",", "--name", "prices", "--as", "erin",
                         "--workspace", ws, "--json"))
    assert semi["name"] == "prices" and semi["created_by"] == "erin"
    assert semi["options"] == {"format": "csv", "encoding": "cp1252", "delimiter": ";",
                               "decimal": ",",
                               "chosen_by_user": ["decimal", "delimiter", "encoding"]}
    assert {c["name"]: c["physical_type"] for c in semi["schema"]}["price"] == "double"

    sheet = _json(run_cli("import", str(option_files["xlsx"]), "--sheet", "Second",
                          "--workspace", ws, "--json"))
    assert sheet["options"]["sheet"] == "Second" and sheet["rows"] == 3
    assert sheet["name"] == "book - Second"

    table = _json(run_cli("import", str(option_files["db"]), "--table", "customers",
                          "--workspace", ws, "--json"))
    assert table["options"]["table"] == "customers" and table["name"] == "customers"
    assert table["rows"] == 2 and table["columns"] == 2

    with Workspace.open(ws) as w:
        df = w.load_dataframe(w.dataset("prices"))
        assert df["name"].tolist() == ["Müller", "€uro"] and df["price"].tolist() == [1.5, 2.25]
        assert w.audit_entries(limit=1)[0].actor != "erin"  # the last import used the OS user
        assert w.dataset("prices").created_by == "erin"
        actors = {e.entity_id: e.actor for e in w.audit_entries(entity_type="dataset")}
        assert actors[str(semi["dataset_id"])] == "erin"


# -- datasets, audit, verify -------------------------------------------------------------

@pytest.fixture
def filled(tmp_path, penguins_csv) -> Path:
    """Two datasets, imported through the core (the CLI import is tested above)."""
    small = tmp_path / "small.csv"
    small.write_text("x,y\n1,2\n3,4\n", encoding="utf-8")
    with Workspace.create(tmp_path / "ws", actor="alice") as ws:
        ws.import_file(penguins_csv, actor="alice")
        ws.import_file(small, actor="alice")
    return tmp_path / "ws"


def test_datasets_list(filled):
    items = _json(run_cli("datasets", "list", "--workspace", str(filled), "--json"))
    assert [(d["dataset_id"], d["name"], d["rows"], d["columns"]) for d in items] == [
        (2, "small", 2, 2), (1, "penguins", 344, 8)]
    assert all("schema" not in d for d in items)
    text = _ok(run_cli("datasets", "list", "--workspace", str(filled)))
    assert text.splitlines()[0].split()[:4] == ["ID", "NAME", "ROWS", "COLUMNS"]
    assert "penguins" in text and "small" in text


def test_datasets_show_by_id_and_by_name(filled):
    by_id = _json(run_cli("datasets", "show", "1", "--workspace", str(filled), "--json"))
    by_name = _json(run_cli("datasets", "show", "penguins", "--workspace", str(filled), "--json"))
    assert by_id == by_name
    assert by_id["name"] == "penguins" and by_id["columns"] == 8 and by_id["target"] is None
    assert [c["name"] for c in by_id["schema"]] == [
        "species", "island", "bill_length_mm", "bill_depth_mm", "flipper_length_mm",
        "body_mass_g", "sex", "year"]
    assert [h["action"] for h in by_id["history"]] == ["dataset.imported"]
    text = _ok(run_cli("datasets", "show", "small", "--workspace", str(filled)))
    assert text.splitlines()[0] == "Dataset 2: small"


def test_datasets_column_changes_role_and_type(filled):
    col = _json(run_cli("datasets", "column", "1", "species", "--role", "target",
                        "--workspace", str(filled), "--json", "--as", "bob"))
    assert col["name"] == "species" and col["role"] == "target" and col["kind"] == "categorical"
    col = _json(run_cli("datasets", "column", "penguins", "year", "--type", "categorical",
                        "--workspace", str(filled), "--json", "--as", "bob"))
    assert col["kind"] == "categorical" and col["role"] == "feature"

    shown = _json(run_cli("datasets", "show", "1", "--workspace", str(filled), "--json"))
    assert shown["target"] == "species"
    assert [h["action"] for h in shown["history"]][:2] == ["dataset.column_changed"] * 2
    last = _json(run_cli("audit", "--limit", "1", "--workspace", str(filled), "--json"))[0]
    assert last["actor"] == "bob"
    assert last["details"]["before"] == {"kind": "numeric", "role": "feature"}
    assert last["details"]["after"] == {"kind": "categorical", "role": "feature"}


def test_audit_limit(filled):
    two = _json(run_cli("audit", "--limit", "2", "--workspace", str(filled), "--json"))
    assert [e["seq"] for e in two] == [3, 2]
    everything = _json(run_cli("audit", "--limit", "0", "--workspace", str(filled), "--json"))
    assert [e["seq"] for e in everything] == [3, 2, 1]
    assert everything[-1]["action"] == "workspace.created"
    assert {"seq", "at", "actor", "action", "summary", "prev_hash", "hash"} <= set(two[0])
    text = _ok(run_cli("audit", "--workspace", str(filled)))
    assert text.splitlines()[0].split()[:2] == ["#", "WHEN"]


def test_verify_passes_then_fails_after_tampering(filled):
    report = _json(run_cli("verify", "--workspace", str(filled), "--json"))
    assert report == {"ok": True, "problems": [], "audit_entries": 3, "files_checked": 2}

    snapshot = sorted((filled / "snapshots").glob("*.parquet"))[0]
    snapshot.write_bytes(snapshot.read_bytes() + b"tampered")
    result = run_cli("verify", "--workspace", str(filled), "--json")
    assert result.returncode == 2 and "Traceback" not in result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] is False
    assert any("was modified" in p["message"] for p in report["problems"])
    text = run_cli("verify", "--workspace", str(filled))
    assert text.returncode == 2 and "1 problem(s)" in text.stdout


def test_verify_detects_an_edited_audit_log(filled):
    conn = sqlite3.connect(filled / "registry.sqlite")
    conn.execute("DROP TRIGGER audit_log_no_update")
    conn.execute("UPDATE audit_log SET actor = 'mallory' WHERE seq = 2")
    conn.commit()
    conn.close()
    result = run_cli("verify", "--workspace", str(filled), "--json")
    assert result.returncode == 2
    problems = json.loads(result.stdout)["problems"]
    assert any("audit entry 2 was edited" in p["message"] and p["kind"] == "audit_entry_edited" for p in problems)


# -- where the workspace is --------------------------------------------------------------

def test_workspace_option_before_or_after_the_command(filled):
    after = _ok(run_cli("datasets", "list", "--workspace", str(filled), "--json"))
    before = _ok(run_cli("--workspace", str(filled), "datasets", "list", "--json"))
    json_first = _ok(run_cli("--json", "--workspace", str(filled), "datasets", "list"))
    between = _ok(run_cli("datasets", "--workspace", str(filled), "list", "--json"))
    assert after == before == json_first == between
    assert [d["name"] for d in json.loads(after)] == ["small", "penguins"]


def test_workspace_from_the_environment(tmp_path, penguins_csv):
    ws = tmp_path / "from-env"
    env = {"MLOPS_DESKTOP_WORKSPACE": str(ws)}
    assert _json(subprocess_cli("init", "--json", env=env)) == {"workspace": str(ws), "created": True}
    _ok(run_cli("import", str(penguins_csv), env=env))
    items = _json(run_cli("datasets", "list", "--json", env=env))
    assert [d["name"] for d in items] == ["penguins"]
    # --workspace wins over the environment
    other = tmp_path / "other"
    _ok(run_cli("init", "--workspace", str(other), env=env))
    assert _json(run_cli("datasets", "list", "--workspace", str(other), "--json", env=env)) == []


def test_a_missing_workspace_from_the_environment_is_not_made_up(tmp_path):
    missing = tmp_path / "typo"
    line = _user_error(run_cli("datasets", "list", env={"MLOPS_DESKTOP_WORKSPACE": str(missing)}))
    assert line.startswith(f"error: There is no workspace at {missing}.")
    assert not missing.exists()


def test_default_workspace_is_in_the_user_data_folder(_isolated_user_dirs, penguins_csv):
    default = _isolated_user_dirs / "xdg_data_home" / "mlops-desktop" / "workspace"
    # the default workspace is made on first use, whatever the command
    first = run_cli("audit", "--json")
    assert _json(first)[0]["action"] == "workspace.created"
    assert first.stderr.strip() == f"Created a new workspace at {default}"
    data = _json(run_cli("import", str(penguins_csv), "--json"))
    assert Workspace.is_workspace(default)
    with Workspace.open(default) as ws:
        assert ws.dataset(data["dataset_id"]).fingerprint == data["fingerprint"]


MISSING_WORKSPACE = {
    "datasets list": ["datasets", "list"],
    "datasets show": ["datasets", "show", "1"],
    "datasets column": ["datasets", "column", "1", "x", "--role", "id"],
    "audit": ["audit"],
    "verify": ["verify"],
}


@pytest.mark.parametrize("case", list(MISSING_WORKSPACE), ids=list(MISSING_WORKSPACE))
def test_commands_on_a_missing_workspace_fail_clearly(shared, error_runs, case):
    missing = shared / "nowhere"
    line = _user_error(error_runs["missing: " + case])
    assert line == (f"error: There is no workspace at {missing}. Create one with "
                    f"'mlops-desktop init --workspace {missing}'.")
    assert not missing.exists()


def test_a_folder_that_is_not_a_workspace_is_refused(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "cat.jpg").write_bytes(b"...")
    line = _user_error(run_cli("audit", "--workspace", str(folder)))
    assert "is not a workspace" in line
    assert sorted(p.name for p in folder.iterdir()) == ["cat.jpg"]


# -- errors ------------------------------------------------------------------------------

ERRORS = {
    "missing file": (["import", "{in}/missing.csv"], r"missing\.csv does not exist"),
    "ragged file": (["import", "{in}/ragged.csv"], r"ragged\.csv, line 3: expected 3 fields"),
    "several tables": (["import", "{in}/two.sqlite"], "several tables; choose one: t1, t2"),
    "unknown table": (["import", "{in}/two.sqlite", "--table", "t9"], "has no table 't9'"),
    "unknown sheet": (["import", "{in}/book.xlsx", "--sheet", "Nope"],
                      "has no sheet 'Nope'. Sheets: Only"),
    "csv forced as excel": (["import", "{in}/good.csv", "--format", "excel"],
                            r"not a readable \.xlsx"),
    "unknown format": (["import", "{in}/good.csv", "--format", "json"], "invalid choice: 'json'"),
    "bad delimiter": (["import", "{in}/good.csv", "--delimiter", ";;"], "one character"),
    "bad decimal": (["import", "{in}/good.csv", "--decimal", "x"], "invalid choice: 'x'"),
    "bad encoding": (["import", "{in}/good.csv", "--encoding", "klingon"], "Unknown encoding"),
    "no path": (["import"], "required: PATH"),
    "unknown dataset": (["datasets", "show", "99"], "No dataset with id or name '99'"),
    "unknown column": (["datasets", "column", "1", "beak", "--role", "target"],
                       "has no column 'beak'"),
    "bad role": (["datasets", "column", "1", "species", "--role", "boss"], "invalid choice: 'boss'"),
    "bad type": (["datasets", "column", "1", "species", "--type", "float"],
                 "invalid choice: 'float'"),
    "no change given": (["datasets", "column", "1", "species"], "Give --type and/or --role"),
    "no action": (["datasets"], "required: ACTION"),
    "bad limit": (["audit", "--limit", "many"], "invalid int value"),
    "init on a used folder": (["init", "--workspace", "{in}/not-empty"], "is not empty"),
}


@pytest.fixture(scope="module")
def error_runs(shared):
    """Every failing command of this module, run once, with the shared workspace's state
    before and after."""
    jobs = {}
    for case, (args, _) in ERRORS.items():
        args = [a.replace("{in}", str(shared / "in")) for a in args]
        if "--workspace" not in args:
            args += ["--workspace", str(shared / "ws")]
        jobs[case] = args
    for case, args in MISSING_WORKSPACE.items():
        jobs["missing: " + case] = [*args, "--workspace", str(shared / "nowhere")]
    before = workspace_state(shared / "ws", also=shared / "in")
    results = {case: run_cli(*args) for case, args in jobs.items()}
    results["state changed"] = workspace_state(shared / "ws", also=shared / "in") != before
    return results


@pytest.mark.parametrize("case", list(ERRORS), ids=list(ERRORS))
def test_errors_are_one_line_with_exit_code_2(error_runs, case):
    line = _user_error(error_runs[case])

    assert re.search(ERRORS[case][1], line), line
    assert "error" in line
    assert error_runs["state changed"] is False


def test_an_internal_error_is_one_line_and_logged(tmp_path, _isolated_user_dirs):
    ws = tmp_path / "ws"
    _ok(run_cli("init", "--workspace", str(ws)))
    conn = sqlite3.connect(ws / "registry.sqlite")
    conn.execute("DROP TABLE dataset_columns")
    conn.execute("DROP TABLE datasets")
    conn.commit()
    conn.close()

    line = _user_error(run_cli("datasets", "list", "--workspace", str(ws)), code=1)

    assert line.startswith("internal error: OperationalError")
    log = _isolated_user_dirs / "xdg_state_home" / "mlops-desktop" / "log" / "cli-errors.log"
    assert str(log) in line
    assert "Traceback" in log.read_text(encoding="utf-8")


def test_version():
    out = _ok(run_cli("--version"))
    assert out.strip() == f"mlops-desktop {__version__}"


def test_help_lists_the_commands():
    out = _ok(run_cli("--help"))
    for command in ("init", "import", "datasets", "audit", "verify"):
        assert command in out


def test_long_commands_report_progress_on_a_terminal_only(monkeypatch):
    """One place decides where a command's progress goes (cli.common.progress_for): a
    percentage redrawn on a terminal's stderr, nothing for --json or a redirected stderr."""
    import argparse
    import io
    import sys

    from mlops_desktop.cli.common import progress_for

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    for json_out, stderr, shown in ((False, Terminal(), True), (True, Terminal(), False),
                                    (False, io.StringIO(), False)):
        monkeypatch.setattr(sys, "stderr", stderr)
        report = progress_for(argparse.Namespace(json=json_out))
        for fraction in (None, 0.5, 0.504, 1.0):
            report(fraction, "Training")
        assert stderr.getvalue() == ("\rTraining:  50%   \rTraining: 100%   \n" if shown else "")
