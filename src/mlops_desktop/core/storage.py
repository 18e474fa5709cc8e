"""Writing files so that a crash never leaves a partial file under a final name."""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from pathlib import Path
from typing import Callable

TMP_PREFIX = ".tmp-"


def write_temporary(folder: Path, name: str, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp)`` on a new temporary path in ``folder`` and fsync the result.
    Returns the temporary path; on any error it is removed. Publish it with
    :func:`publish`, or delete it."""
    tmp = Path(folder) / f"{TMP_PREFIX}{uuid.uuid4().hex}-{name}"
    try:
        write(tmp)
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def publish(tmp: Path, dest: Path) -> None:
    """Rename a finished temporary file to its final name, durably."""
    try:
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(dest.parent)


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


def _fsync_dir(folder: Path) -> None:
    if os.name != "posix":
        return  # Windows cannot open a directory for fsync
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def remove_stale_temporaries(folder: Path, older_than_s: float = 3600) -> int:
    """Delete temporary files a crashed process left behind (not recent ones: another
    process may be writing them now)."""
    removed = 0
    if not folder.is_dir():
        return 0
    cutoff = time.time() - older_than_s
    for tmp in folder.glob(f"{TMP_PREFIX}*"):
        try:
            if tmp.stat().st_mtime < cutoff:
                tmp.unlink()
                removed += 1
        except OSError:
            pass
    return removed
