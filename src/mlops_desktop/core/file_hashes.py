"""The SHA-256 of a workspace file at the moment it is used, hashed once per version
of the file within a process.

A snapshot is read many times in a session (Explore, Check, Train, Validate, Monitor
each read it, often one column at a time), and hashing a large file at every read
would cost more than the read. So a file's hash is remembered under everything the
operating system changes when the file's content changes: device, inode, size,
modification time and status-change time (``st_ctime_ns``, which no user can set on
POSIX systems: writing the file or resetting its modification time moves it). A file
rewritten in place, replaced, truncated or touched gets a new key and is hashed
again; the memory lives in this process only, so every new process hashes each file
once. On Windows ``st_ctime`` is the creation time, so a rewrite that also restores
the modification time by hand would go unnoticed until the app restarts; that takes a
program running as the user during the session, which could as well change the app.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from pathlib import Path

from .storage import sha256_file

MAX_REMEMBERED = 512

_known: "OrderedDict[tuple, str]" = OrderedDict()
_lock = threading.Lock()


def _identity(path: Path) -> tuple:
    st = os.stat(path)
    return (str(path), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def current_sha256(path: Path) -> str:
    """The SHA-256 of the file's content now (remembered while the file is unchanged).
    Raises ``FileNotFoundError`` / ``OSError`` as reading it would."""
    key = _identity(path)
    with _lock:
        known = _known.get(key)
        if known is not None:
            _known.move_to_end(key)
            return known
    digest = sha256_file(path)
    if _identity(path) == key:  # unchanged while it was hashed: safe to remember
        with _lock:
            _known[key] = digest
            while len(_known) > MAX_REMEMBERED:
                _known.popitem(last=False)
    return digest
