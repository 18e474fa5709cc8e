"""Opening a file to read it: regular files only.

A named pipe makes whoever opens it wait until something writes to it, a device
(``/dev/zero``, ``/dev/urandom``) never ends, a socket is no file at all, and a symbolic
link may point at any of them. Every reader of a file a user names (import, drift
batches) and of the workspace's own files (verify, model files) opens it here: the path
is checked before it is opened (opening some devices has effects of its own), opened
without blocking (``O_NONBLOCK``: a pipe swapped in meanwhile cannot make it wait), and
the open file is checked again (``fstat``), so what was checked is what is read.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO

from .errors import MlopsError, NotAFileError

_KINDS = ((stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISCHR, "a device"), (stat.S_ISBLK, "a device"),
          (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a folder"))


def _not_regular(path: Path, mode: int, error: type[MlopsError]) -> MlopsError:
    kind = next((what for test, what in _KINDS if test(mode)), "not a regular file")
    link = ""
    if path.is_symlink():
        try:
            link = f" (a link to {os.path.realpath(path)})"
        except OSError:
            link = " (a link)"
    return error(f"{path}{link} is {kind}, not a file; only regular files are read.")


def check_regular_file(path: Path | str, *, error: type[MlopsError] = NotAFileError,
                       follow_links: bool = True) -> os.stat_result:
    """The file's status when ``path`` (its links followed, unless ``follow_links`` is
    False: then a link is refused) is a regular file; else ``error``.
    ``FileNotFoundError`` and ``PermissionError`` pass through. For readers that must be
    given a path (SQLite); the others use :func:`open_regular_file`."""
    path = Path(path)
    status = os.stat(path, follow_symlinks=follow_links)
    if stat.S_ISLNK(status.st_mode):
        raise error(f"{path} is a symbolic link (to {os.readlink(path)}), not a file; links are not followed "
                    "here.")
    if not stat.S_ISREG(status.st_mode):
        raise _not_regular(path, status.st_mode, error)
    return status


def open_regular_file(path: Path | str, *, error: type[MlopsError] = NotAFileError,
                      follow_links: bool = True) -> BinaryIO:
    """``path`` opened for reading in binary mode, if it is a regular file; else
    ``error`` (see :func:`check_regular_file`)."""
    path = Path(path)
    before = check_regular_file(path, error=error, follow_links=follow_links)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
    if not follow_links:
        flags |= getattr(os, "O_NOFOLLOW", 0)  # a link swapped in meanwhile fails to open
    fd = os.open(path, flags)
    try:
        now = os.fstat(fd)
        if not stat.S_ISREG(now.st_mode):
            raise _not_regular(path, now.st_mode, error)
        if (now.st_dev, now.st_ino) != (before.st_dev, before.st_ino):
            raise error(f"{path} was replaced while it was being opened; try again.")
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_regular_file(path: Path | str, *, error: type[MlopsError] = NotAFileError) -> bytes:
    """The bytes of a regular file (see :func:`open_regular_file`)."""
    with open_regular_file(path, error=error) as fh:
        return fh.read()
