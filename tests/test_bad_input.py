"""Files that cannot be imported: each gives an error a person can act on (naming the
file, and the line where that applies) and leaves the workspace exactly as it was.
A cancelled import leaves nothing behind either."""

from __future__ import annotations

import ctypes
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Callable, Optional

import pandas as pd
import pytest

from mlops_desktop.core.data.readers import ImportOptions
from mlops_desktop.core.errors import DataImportError, JobCancelled, MlopsError
from mlops_desktop.core.workspace.integrity import verify_workspace
from mlops_desktop.core.jobs import CancelToken
from mlops_desktop.core.workspace import Workspace
from wsstate import tmp_leftovers, workspace_state


@pytest.fixture
def inbox(tmp_path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    return folder


@pytest.fixture
def populated(workspace, penguins_csv):
    """A workspace that already holds a dataset, so 'unchanged' means something."""
    workspace.import_file(penguins_csv, actor="tester")
    workspace.update_column("penguins", "species", role="target", actor="tester")
    return workspace


def _write(path: Path, content: bytes | str | None) -> Path:
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    return path


def _ragged_far_down() -> str:
    lines = ["a,b,c"] + [f"{i},x{i},{i * 2}" for i in range(30000)]
    lines[20001] = "1,2"  # physical line 20002, far beyond the sniffed sample
    return "\n".join(lines) + "\n"


def _parquet_bytes(tmp: Path, truncate: bool) -> bytes:
    src = tmp / "src.parquet"
    pd.DataFrame({"a": range(1000), "b": [f"v{i}" for i in range(1000)]}).to_parquet(src)
    data = src.read_bytes()
    src.unlink()
    return data[: len(data) // 2] if truncate else b"PAR1" + os.urandom(600) + b"PAR1"


def _zip_that_is_not_a_workbook(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("readme.txt", "just a zip archive")
    return path


def _sqlite_with(path: Path, sql: list[str]) -> Path:
    conn = sqlite3.connect(path)
    for statement in sql:
        conn.execute(statement)
    conn.commit()
    conn.close()
    return path


def _empty_sheet_workbook(path: Path) -> Path:
    import openpyxl

    wb = openpyxl.Workbook()
    wb.active.title = "Blank"
    wb.save(path)
    return path


# name -> (file name, how to make it, options, what the message must say)
CASES: dict[str, tuple[str, Callable[[Path, Path], Path], Optional[ImportOptions], str]] = {
    "empty file": ("empty.csv", lambda p, t: _write(p, b""), None, r"is empty \(0 bytes\)"),
    "header only": ("header.csv", lambda p, t: _write(p, "a,b,c\n"), None,
                    "header row but no data rows"),
    "header only, no newline": ("header2.csv", lambda p, t: _write(p, "a;b;c"), None,
                                "no header row|no data rows"),
    "blank lines only": ("blank.csv", lambda p, t: _write(p, "\n\n\n"), None, "no header row"),
    "binary named .csv": ("binary.csv", lambda p, t: _write(p, bytes(range(256)) * 40), None,
                          "binary file, not a text table"),
    "image named .csv": ("picture.csv", lambda p, t: _write(p, b"\x89PNG\r\n\x1a\n" + os.urandom(300)),
                         None, "looks like a PNG image"),
    "parquet named .csv": ("columns.csv", lambda p, t: _write(p, _parquet_bytes(t, False)), None,
                           "looks like a Parquet file"),
    "ragged row": ("ragged.csv", lambda p, t: _write(p, "a,b,c\n1,2,3\n4,5,6\n7,8\n9,10,11\n"),
                   None, r"line 4: expected 3 fields, found 2"),
    "extra field": ("extra.csv",
                    lambda p, t: _write(p, "a;b\n" + "".join(f"{i};{i}\n" for i in range(20))
                                        + "20;21;22\n"),
                    None, r"line 22: expected 2 fields, found 3 \(delimiter ';'\)"),
    "ragged row far down": ("far.csv", lambda p, t: _write(p, _ragged_far_down()), None,
                            r"line 20002: expected 3 fields, found 2"),
    "duplicate column names": ("dup.csv", lambda p, t: _write(p, "id,name,id\n1,a,2\n"), None,
                               r"column name 'id' appears twice \(columns 1 and 3\)"),
    "duplicate after trimming": ("dup2.csv", lambda p, t: _write(p, "x, y ,y\n1,2,3\n"), None,
                                 r"'y' appears twice"),
    "no encoding fits": ("garbled.csv",
                         lambda p, t: _write(p, b"name,x\n\x81bad\x8d,1\nok\xff,2\n"), None,
                         r"not text in any encoding tried.*0x81"),
    "undefined bytes beyond the sample": (
        "late.csv",
        lambda p, t: _write(p, b"name,n\n" + b"".join(f"r{i},{i}\n".encode() for i in range(40000))
                            + b"\x81\x8d\x8f,1\n"),
        None, "not valid cp1252 text"),
    "wrong encoding chosen": ("german.csv",
                              lambda p, t: _write(p, "name\nMüller\nWeiß\n".encode("cp1252")),
                              ImportOptions(encoding="utf-8"), "not valid utf-8 text"),
    "corrupt parquet": ("broken.parquet", lambda p, t: _write(p, _parquet_bytes(t, False)), None,
                        "not a readable Parquet file"),
    "truncated parquet": ("cut.parquet", lambda p, t: _write(p, _parquet_bytes(t, True)), None,
                          "not a readable Parquet file"),
    "text named .xlsx": ("sheet.xlsx", lambda p, t: _write(p, "a,b\n1,2\n"), None,
                         r"not a readable \.xlsx workbook"),
    "random bytes named .xlsx": ("noise.xlsx", lambda p, t: _write(p, os.urandom(4096)), None,
                                 r"not a readable \.xlsx workbook"),
    "zip named .xlsx": ("archive.xlsx", lambda p, t: _zip_that_is_not_a_workbook(p), None,
                        r"not a readable \.xlsx workbook"),
    "empty sheet": ("blank.xlsx", lambda p, t: _empty_sheet_workbook(p), None,
                    "Sheet 'Blank' .* is empty"),
    "old .xls": ("old.xls", lambda p, t: _write(p, b"\xd0\xcf\x11\xe0" + os.urandom(500)), None,
                 r"old Excel \(\.xls\)"),
    "missing path": ("not-there.csv", lambda p, t: p, None, "does not exist"),
    "a directory": ("folder.csv", lambda p, t: (p.mkdir() or p), None, "is a folder, not a file"),
    "sqlite without that table": (
        "shop.sqlite",
        lambda p, t: _sqlite_with(p, ["CREATE TABLE a (x)", "INSERT INTO a VALUES (1)",
                                      "CREATE TABLE b (y)", "INSERT INTO b VALUES (2)"]),
        ImportOptions(table="orders"), r"has no table 'orders'\. Tables: a, b"),
    "sqlite with several tables": (
        "multi.db",
        lambda p, t: _sqlite_with(p, ["CREATE TABLE a (x)", "INSERT INTO a VALUES (1)",
                                      "CREATE TABLE b (y)", "INSERT INTO b VALUES (2)"]),
        None, "several tables; choose one: a, b"),
    "sqlite table without rows": ("none.sqlite",
                                  lambda p, t: _sqlite_with(p, ["CREATE TABLE t (x, y)"]), None,
                                  "has no rows"),
    "text named .sqlite": ("fake.sqlite", lambda p, t: _write(p, "a,b\n1,2\n" * 200), None,
                           "not a readable SQLite database"),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_bad_file_gives_a_clear_error_and_changes_nothing(populated, inbox, tmp_path, case):
    filename, make, options, expected = CASES[case]
    path = make(inbox / filename, tmp_path)
    before = workspace_state(populated.root, also=inbox)

    with pytest.raises(DataImportError, match=expected) as err:
        populated.import_file(path, options, actor="tester")

    message = str(err.value)
    assert str(path) in message, "the message names the file"
    assert "\n" not in message and "Traceback" not in message
    assert workspace_state(populated.root, also=inbox) == before
    assert tmp_leftovers(populated.root) == []
    assert verify_workspace(populated).ok
    # and the workspace is still usable
    assert [d.name for d in populated.datasets()] == ["penguins"]


def test_invalid_options_are_refused_before_anything_is_read():
    with pytest.raises(DataImportError, match="one character"):
        ImportOptions(delimiter=";;")
    with pytest.raises(DataImportError, match="decimal mark"):
        ImportOptions(decimal="x")
    with pytest.raises(DataImportError, match="Unknown format"):
        ImportOptions(format="json")


def test_unknown_encoding_is_refused(populated, inbox):
    path = _write(inbox / "a.csv", "a,b\n1,2\n")
    before = workspace_state(populated.root)
    with pytest.raises(DataImportError, match="Unknown encoding 'klingon'"):
        populated.import_file(path, ImportOptions(encoding="klingon"), actor="tester")
    assert workspace_state(populated.root) == before


def test_errors_are_mlops_errors():
    assert issubclass(DataImportError, MlopsError)
    assert not issubclass(JobCancelled, MlopsError)


# -- permission denied -------------------------------------------------------------------

def _demote_to_nobody() -> None:
    os.setgroups([])
    os.setgid(65534)
    os.setuid(65534)


def _drop_dac_capabilities() -> None:
    """Stay root but lose the power to ignore file permissions: drop CAP_DAC_OVERRIDE
    and CAP_DAC_READ_SEARCH from the bounding set, so the exec'd program lacks them."""
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
        if libc.prctl(24, cap, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


def _unprivileged_runner(base: Path):
    """How to run a process that a chmod 000 file stops. Returns (preexec_fn, uid the
    workspace must belong to or None), or None when this machine offers no way."""
    if os.name != "posix":
        return None
    if os.geteuid() != 0:
        return (None, None)
    probe = base / "probe"
    probe.write_text("secret")
    probe.chmod(0)
    check = ("import sys\ntry:\n    open(sys.argv[1]).read()\nexcept PermissionError:\n"
             "    sys.exit(42)\nsys.exit(0)")
    for preexec, uid in ((_demote_to_nobody, 65534), (_drop_dac_capabilities, None)):
        try:
            r = subprocess.run([sys.executable, "-c", check, str(probe)], preexec_fn=preexec,
                               capture_output=True, timeout=60)
        except (OSError, subprocess.SubprocessError):
            continue  # e.g. the interpreter is not reachable for that user
        if r.returncode == 42:
            return (preexec, uid)
    return None


def test_unreadable_file_gives_a_clear_error_and_changes_nothing(penguins_csv):
    # a world-traversable folder: pytest's own tmp folders are private to their owner
    base = Path(tempfile.mkdtemp(prefix="mlops-perm-"))
    try:
        base.chmod(0o755)
        runner = _unprivileged_runner(base)
        if runner is None:
            pytest.skip("cannot run a process that file permissions apply to")
        preexec, uid = runner
        with Workspace.create(base / "ws", actor="tester") as ws:
            ws.import_file(penguins_csv, actor="tester")
        secret = base / "secret.csv"
        secret.write_text("a,b\n1,2\n")
        secret.chmod(0)
        home = base / "home"
        home.mkdir()
        if uid is not None:
            for p in [base, *base.rglob("*")]:
                if p != secret:
                    os.chown(p, uid, uid)
        before = workspace_state(base / "ws")
        env = dict(os.environ, HOME=str(home), XDG_CONFIG_HOME=str(home / "c"),
                   XDG_DATA_HOME=str(home / "d"), XDG_STATE_HOME=str(home / "s"),
                   XDG_CACHE_HOME=str(home / "k"))

        r = subprocess.run([sys.executable, "-m", "mlops_desktop", "import", str(secret),
                            "--workspace", str(base / "ws"), "--json"], preexec_fn=preexec,
                           capture_output=True, text=True, env=env, cwd=base, timeout=300)

        assert r.returncode == 2, r.stderr
        assert r.stdout == ""
        assert r.stderr.strip() == f"error: {secret} cannot be read: permission denied."
        assert workspace_state(base / "ws") == before
        assert tmp_leftovers(base / "ws") == []
    finally:
        shutil.rmtree(base, ignore_errors=True)


# -- cancel ------------------------------------------------------------------------------

def _big_csv(folder: Path) -> Path:
    path = folder / "big.csv"
    rows = "".join(f"{i},{('a', 'b', 'c')[i % 3]},{i * 0.5},{i % 7}\n" for i in range(60000))
    path.write_text("id,group,value,bucket\n" + rows, encoding="utf-8")
    return path


# the steps an import reports (the snapshot is written on a second thread meanwhile)
STAGES = ["Reading", "Inferring column types", "Computing the fingerprint",
          "Registering the dataset"]


@pytest.mark.parametrize("stage", STAGES)
def test_cancel_midway_leaves_nothing_behind(populated, inbox, stage):
    path = _big_csv(inbox)
    before = workspace_state(populated.root, also=inbox)
    token = CancelToken()
    seen: list[tuple] = []

    def progress(fraction, message):
        seen.append((fraction, message))
        if message.startswith(stage):
            token.cancel()

    with pytest.raises(JobCancelled):
        populated.import_file(path, actor="tester", progress=progress, cancel=token)

    assert any(m.startswith(stage) for _, m in seen), "the cancel came at the chosen stage"
    assert not any(m == "Imported" for _, m in seen)
    assert workspace_state(populated.root, also=inbox) == before
    assert tmp_leftovers(populated.root) == []
    # the workspace is still fine, and the same import then goes through
    result = populated.import_file(path, actor="tester")
    assert result.dataset.n_rows == 60000 and result.reused_snapshot is False
    assert verify_workspace(populated).ok


def test_cancel_keeps_a_snapshot_that_other_datasets_use(populated, inbox):
    path = _big_csv(inbox)
    first = populated.import_file(path, actor="tester")
    before = workspace_state(populated.root)
    token = CancelToken()

    def progress(fraction, message):
        if message.startswith("Registering"):
            token.cancel()

    with pytest.raises(JobCancelled):
        populated.import_file(path, actor="tester", progress=progress, cancel=token)

    assert workspace_state(populated.root) == before
    assert (populated.root / first.dataset.snapshot).is_file()
    assert verify_workspace(populated).ok


def test_progress_rises_to_done(workspace, inbox):
    path = _big_csv(inbox)
    seen: list[tuple] = []
    workspace.import_file(path, actor="tester", progress=lambda f, m: seen.append((f, m)))
    fractions = [f for f, _ in seen if f is not None]
    assert fractions == sorted(fractions)
    assert fractions[0] == 0.0 and seen[-1] == (1.0, "Imported")
    assert all(0.0 <= f <= 1.0 for f in fractions)
