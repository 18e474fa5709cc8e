"""Bounded reading (issue 12, item 8): a named pipe, a device or a link to one is
refused before anything reads it (import, drift batches, verify, model files), and
nothing waits on it; a workbook made to unpack into gigabytes is refused within
seconds and a few hundred megabytes.

Each case runs the command line in a child process with a time limit (and, for the
workbooks, an address-space limit), because the failure being guarded against is a
process that never returns or eats the machine's memory."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from mlops_desktop.core.workspace import Workspace

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")

#: no case may take longer than this (each one finishes in a few seconds when refused)
LIMIT_S = 60
#: the address space the workbook cases may use; their refusals need a few hundred MB
ADDRESS_SPACE = 4 * 1024 ** 3
#: runs the CLI and prints the process's peak resident memory (VmHWM, Linux) after it
DRIVER = ("import sys\nfrom mlops_desktop.cli import run\ncode = run(sys.argv[1:])\n"
          "try:\n    peak = [l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')][0]\n"
          "except OSError:\n    peak = -1\n"
          "print(f'PEAK_RSS_KB {peak}', file=sys.stderr)\nsys.exit(code)\n")


def cli(*args: str, memory: int | None = None) -> tuple[subprocess.CompletedProcess, float, int]:
    """Run the CLI in a child process: (result, seconds, peak resident KB). Fails the test
    when it does not finish in time (it waited on a pipe, or read without end)."""
    def limit() -> None:
        if memory:
            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    started = time.monotonic()
    try:
        done = subprocess.run([sys.executable, "-c", DRIVER, *args], capture_output=True, text=True,
                              timeout=LIMIT_S, preexec_fn=limit)
    except subprocess.TimeoutExpired:
        pytest.fail(f"mlops-desktop {' '.join(args)} did not finish within {LIMIT_S} s")
    peak = [int(line.split()[1]) for line in done.stderr.splitlines() if line.startswith("PEAK_RSS_KB")]
    return done, time.monotonic() - started, peak[0] if peak else -1


@pytest.fixture
def fifo(tmp_path) -> Path:
    path = tmp_path / "batch.csv"
    os.mkfifo(path)
    return path


def _link(tmp_path: Path, target: Path | str, name: str) -> Path:
    link = tmp_path / name
    link.symlink_to(target)
    return link


# -- pipes and devices -------------------------------------------------------------------

def test_importing_a_named_pipe_is_refused_without_waiting(ws_root, fifo):
    done, _, _ = cli("import", str(fifo), "--workspace", str(ws_root), "--as", "ann")
    assert done.returncode == 2 and "is a named pipe (FIFO), not a file" in done.stderr, done.stderr


def test_importing_a_link_to_a_named_pipe_is_refused_and_names_the_target(ws_root, fifo, tmp_path):
    link = _link(tmp_path, fifo, "looks-fine.csv")
    done, _, _ = cli("import", str(link), "--workspace", str(ws_root), "--as", "ann")
    assert done.returncode == 2 and f"(a link to {fifo})" in done.stderr and "named pipe" in done.stderr


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_importing_a_device_or_a_link_to_one_is_refused(ws_root, tmp_path, device):
    if not os.path.exists(device):
        pytest.skip(f"no {device} here")
    for path in (device, str(_link(tmp_path, device, "data.csv"))):
        done, _, _ = cli("import", path, "--workspace", str(ws_root), "--as", "ann")
        assert done.returncode == 2 and "is a device, not a file" in done.stderr, done.stderr
    with Workspace.open(ws_root) as ws:
        assert len(ws.datasets()) == 1


def test_a_drift_batch_that_is_a_named_pipe_is_refused(ws_root, fifo):
    done, _, _ = cli("drift", "--reference", "penguins", "--current", str(fifo), "--workspace", str(ws_root),
                     "--as", "ann")
    assert done.returncode == 2 and "named pipe" in done.stderr, done.stderr


def _by_a_pipe(path: Path) -> None:
    path.unlink()
    os.mkfifo(path)


def _by_a_link_to_a_device(path: Path) -> None:
    path.unlink()
    path.symlink_to("/dev/zero")


@pytest.mark.parametrize("file, replace, kind, said", [
    ("snapshot", _by_a_pipe, "snapshot_modified", "is a named pipe"),
    # a link leads outside the snapshots folder, which verify reports first
    ("snapshot", _by_a_link_to_a_device, "record_altered", "points outside"),
    ("model_file", _by_a_pipe, "artifact_modified", "is a named pipe"),
    ("model_file", _by_a_link_to_a_device, "artifact_modified", "is a device")],
    ids=["snapshot-pipe", "snapshot-device", "model-pipe", "model-device"])
def test_verify_reports_a_file_replaced_by_a_pipe_or_a_device_and_never_hangs(request, ws_root, file, replace, kind,
                                                                              said):
    replace(request.getfixturevalue(file))
    done, _, _ = cli("verify", "--workspace", str(ws_root), "--json")
    assert done.returncode == 2, done.stderr
    assert kind in done.stdout and said in done.stdout, done.stdout


def test_loading_a_model_file_replaced_by_a_pipe_is_refused(ws_root, model_file):
    _by_a_pipe(model_file)
    done, _, _ = cli("validate", "mass:1", "--workspace", str(ws_root), "--as", "ann")
    assert done.returncode == 2 and "named pipe" in done.stderr, done.stderr


# -- workbooks made to unpack into gigabytes ----------------------------------------------

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
    'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
    'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/'
    'workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/sharedStrings.xml" ContentType='
    '"application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>')
_RELS = ('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
         '2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/'
         '2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>')
_WORKBOOK = ('<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/'
             'spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/'
             'relationships"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>')
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
    '2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.'
    'openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>'
    '</Relationships>')


def workbook(path: Path, *, rows=(), dimension: str = "A1:B4", shared_strings_bytes: int = 0) -> Path:
    """A minimal .xlsx written part by part: a header row (two shared strings), the given
    ``<row>`` elements, and ``shared_strings_bytes`` of repeated shared strings."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", _CONTENT_TYPES)
        zf.writestr("_rels/.rels", _RELS)
        zf.writestr("xl/workbook.xml", _WORKBOOK)
        zf.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        with zf.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as fh:
            fh.write(b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
                     b'spreadsheetml/2006/main"><dimension ref="' + dimension.encode() + b'"/><sheetData>'
                     b'<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>')
            block: list[str] = []
            for row in rows:
                block.append(row)
                if len(block) == 10_000:
                    fh.write("".join(block).encode())
                    block = []
            fh.write("".join(block).encode() + b"</sheetData></worksheet>")
        with zf.open("xl/sharedStrings.xml", "w", force_zip64=True) as fh:
            fh.write(b'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/'
                     b'spreadsheetml/2006/main"><si><t>x</t></si><si><t>y</t></si>')
            repeated = b"<si><t>a</t></si>" * 65_536
            for _ in range(shared_strings_bytes // len(repeated)):
                fh.write(repeated)
            fh.write(b"</sst>")
    return path


def _data_rows(n: int, far: str = "") -> list[str]:
    """``n`` rows with two numbers, each also with ``far`` (a cell in the last column, XFD)."""
    cells = {"": "", "value": '<c r="XFD{i}"><v>1</v></c>', "styled": '<c r="XFD{i}" s="0"/>'}[far]
    return [f'<row r="{i}"><c r="A{i}"><v>{i}</v></c><c r="B{i}"><v>{i * 2}</v></c>{cells.format(i=i)}</row>'
            for i in range(2, n + 2)]


HOSTILE = {
    # 300 MB of shared strings in 0.7 MB: openpyxl loads them all before anything else
    "shared strings bomb": dict(shared_strings_bytes=300 * 1024 ** 2),
    # under the size limit, but unpacking 500 times its size: refused for its ratio
    "compressed 500 times": dict(shared_strings_bytes=90 * 1024 ** 2),
    # one value in the sheet's last cell: every row is padded to 16,384 columns
    "a value in the far corner": dict(rows=['<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>']),
    # a value in column XFD on every row
    "a value in the last column of every row": dict(rows=_data_rows(50_000, "value")),
    # an empty styled cell in column XFD on every row: no data, but 16,384 cells read per row
    "a styled empty cell in the last column of every row": dict(rows=_data_rows(200_000, "styled")),
}


@pytest.mark.parametrize("how", list(HOSTILE), ids=list(HOSTILE))
def test_a_workbook_made_to_exhaust_memory_is_refused_in_seconds(ws_root, tmp_path, how):
    path = workbook(tmp_path / "hostile.xlsx", **HOSTILE[how])
    done, seconds, peak_kb = cli("import", str(path), "--workspace", str(ws_root), "--as", "ann",
                                 memory=ADDRESS_SPACE)
    print(f"{how}: {path.stat().st_size / 1e6:.1f} MB file refused in {seconds:.1f} s, "
          f"peak {peak_kb / 1024:.0f} MB")
    assert done.returncode == 2, done.stderr
    assert ("too large to import from Excel" in done.stderr or "cannot be imported: its part" in done.stderr), \
        done.stderr
    if peak_kb > 0:  # where the system tells (Linux)
        assert peak_kb < 1024 * 1024  # well under a gigabyte (the refusals use ~200 MB)
    with Workspace.open(ws_root) as ws:
        assert len(ws.datasets()) == 1


def test_a_wrongly_declared_huge_dimension_does_not_stop_a_small_sheet(ws_root, tmp_path):
    path = workbook(tmp_path / "declared.xlsx", rows=_data_rows(3), dimension="A1:XFD1048576")
    done, _, _ = cli("import", str(path), "--workspace", str(ws_root), "--as", "ann", "--json",
                     memory=ADDRESS_SPACE)
    assert done.returncode == 0, done.stderr
    with Workspace.open(ws_root) as ws:
        table = ws.load_table(ws.dataset("declared"))
    assert table.column_names == ["x", "y"] and table.column("y").to_pylist() == [4, 6, 8]
