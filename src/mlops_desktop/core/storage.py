"""Writing files so that a crash never leaves a partial file under a final name.

A temporary file is named ``.tmp-<pid>-<host>-<random>-<name>``: the process writing it
and a short tag of the computer, so that when the workspace is opened again the
temporaries of a process that died (a crash, a kill) can be told from those another
running process is still writing, and removed.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import shutil
import socket
import sys
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from .regular_files import open_regular_file

if TYPE_CHECKING:
    from .errors import DiskFullError

TMP_PREFIX = ".tmp-"
_FULL_ERRNOS = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}
#: how libraries that do not set ``errno`` (pyarrow) word it
_FULL_WORDS = ("No space left on device", "Disk quota exceeded", f"[errno {errno.ENOSPC}]")
_TMP_NAME = re.compile(r"\.tmp-(\d+)-([0-9a-f]{8})-[0-9a-f]{32}-")


def this_host() -> str:
    """This computer's name (recorded with a run, tagged in temporary names)."""
    return socket.gethostname() or "unknown"


def _host_tag(host: str) -> str:
    return hashlib.sha256(host.encode("utf-8")).hexdigest()[:8]


def temporary_name(name: str) -> str:
    """A new temporary file name for ``name``, owned by this process."""
    return f"{TMP_PREFIX}{os.getpid()}-{_host_tag(this_host())}-{uuid.uuid4().hex}-{name}"


def is_disk_full(exc: BaseException) -> bool:
    """Whether a write failed because the disk (or the user's quota) is full."""
    if not isinstance(exc, OSError):
        return False
    return exc.errno in _FULL_ERRNOS or any(words in str(exc) for words in _FULL_WORDS)


def disk_full_error(what: str, folder: Path | str) -> "DiskFullError":
    """The one message for a full disk: what could not be written, and where."""
    from .errors import DiskFullError

    return DiskFullError(f"Cannot write {what} into {folder}: disk full (no space left on the device). "
                         "Nothing was left half-written; free some space there and try again.")


def write_temporary(folder: Path, name: str, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp)`` on a new temporary path in ``folder`` and fsync the result.
    Returns the temporary path; on any error it is removed (a full disk raises
    :class:`DiskFullError`). Publish it with :func:`publish`, or delete it."""
    tmp = Path(folder) / temporary_name(name)
    try:
        write(tmp)
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if is_disk_full(exc):
            raise disk_full_error(name, folder) from None
        raise
    return tmp


def publish(tmp: Path, dest: Path) -> None:
    """Rename a finished temporary file to its final name, durably."""
    try:
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(dest.parent)


def atomic_write(dest: Path, write: Callable[[Path], None]) -> None:
    """Write ``dest`` through a temporary file, so it is either whole or absent."""
    dest = Path(dest)
    publish(write_temporary(dest.parent, dest.name, write), dest)


def write_text_file(path: Path | str, text: str, *, what: str = "the report",
                    error: type[Exception] | None = None) -> Path:
    """Write a text file a user asked for (a report, a model card) atomically, with a
    clear error (``error``, an MlopsError by default) for a missing or unwritable folder."""
    from .errors import MlopsError

    error = error or MlopsError
    path = Path(path).expanduser()
    if not path.parent.exists():
        raise error(f"Cannot write {what}: the folder {path.parent} does not exist.")
    try:
        atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    except OSError as exc:
        raise error(f"Cannot write {what} to {path}: {exc.strerror or exc}.") from None
    return path


def fsync_dir(folder: Path) -> None:
    """Make a rename or a new file in ``folder`` durable (a no-op where folders cannot be
    opened, as on Windows)."""
    if os.name != "posix":
        return  # Windows cannot open a directory for fsync
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    """The SHA-256 of a file's bytes, read through one reused buffer. A named pipe, a
    device or a socket in the file's place raises :class:`NotAFileError` (never waits)."""
    with open_regular_file(path) as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def remove_stale_temporaries(folder: Path, older_than_s: float | None = 3600) -> int:
    """Delete temporary files a crashed process left behind: those of a process of this
    computer that no longer runs, and any older than ``older_than_s`` (not recent ones
    of other computers: another process may be writing them now). ``None`` removes
    only those surely ours and orphaned (for a folder of the user's, not a workspace)."""
    removed = 0
    if not folder.is_dir():
        return 0
    for tmp in folder.glob(f"{TMP_PREFIX}*"):
        try:
            if left_behind(tmp, older_than_s):
                if tmp.is_dir():
                    shutil.rmtree(tmp)
                else:
                    tmp.unlink()
                removed += 1
        except OSError:
            pass
    return removed


def left_behind(tmp: Path, older_than_s: float | None = 3600) -> bool:
    """Whether a temporary file (see :func:`temporary_name`) was left by a process of this
    computer that no longer runs, or is older than ``older_than_s`` (another computer's
    process may still be writing a recent one)."""
    owner = _TMP_NAME.match(tmp.name)
    if owner and owner.group(2) == _host_tag(this_host()) and not process_alive(int(owner.group(1))):
        return True
    return older_than_s is not None and tmp.stat().st_mtime < time.time() - older_than_s


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` runs on this computer (a zombie, dead but not yet reaped
    by its parent, counts as gone). When in doubt, alive: a run is only failed, and a
    temporary file only removed, when its process is surely gone."""
    if pid <= 0:
        return False
    if pid == os.getpid():
        return True
    if sys.platform == "win32":
        return _windows_process_alive(pid)
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, under another user
    except OSError:
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            state = fh.read().rsplit(b")", 1)[1].split()[0]
        return state not in (b"Z", b"X")
    except (OSError, IndexError):
        return True  # no /proc (macOS): kill(0) said it exists


def _windows_process_alive(pid: int) -> bool:
    # os.kill on Windows would terminate the process: ask the kernel instead
    import ctypes

    kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
    handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
    if not handle:
        return kernel32.GetLastError() == 5  # access denied: it exists
    try:
        code = ctypes.c_ulong()
        if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
            return True
        return code.value == 259  # STILL_ACTIVE
    finally:
        kernel32.CloseHandle(handle)
