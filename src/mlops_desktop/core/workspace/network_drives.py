"""Refusing a SQLite workspace on a network filesystem.

SQLite's documentation advises against network filesystems: their file locks are
unreliable, and the write-ahead log the registry uses needs shared memory that only
works when every process is on the same machine. A workspace shared on a network drive
can therefore be corrupted by two people working at once, so its registry is not opened
there; a team shares a PostgreSQL registry instead.

How the filesystem is found:
- Linux: ``/proc/self/mountinfo``; the mount whose mount point is the longest prefix of
  the workspace folder (the last such line, a later mount hiding an earlier one) names
  the filesystem type (NFS, SMB/CIFS, sshfs and the like are refused).
- Windows: a UNC path (``\\\\server\\share``) or a drive letter the system reports as a
  network drive (``GetDriveTypeW`` is ``DRIVE_REMOTE``).
- macOS: not detected. Python's ``os.statvfs`` gives no filesystem type there, and
  reading ``statfs`` through ctypes depends on the architecture's structure layout,
  which cannot be tested here; the README and the error for a locked database say to
  keep a workspace on a local disk.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Optional

from ..errors import WorkspaceError

#: filesystem types (mountinfo's names) that live on another machine
NETWORK_TYPES = frozenset({"nfs", "nfs4", "cifs", "smb3", "smbfs", "ncpfs", "afs", "fuse.sshfs", "sshfs"})
#: where Linux lists this process's mounts
MOUNTINFO = Path("/proc/self/mountinfo")
#: GetDriveTypeW's answer for a network drive
DRIVE_REMOTE = 4

_OCTAL = re.compile(r"\\([0-7]{3})")


@dataclass(frozen=True)
class Mount:
    """One line of mountinfo: where a filesystem is mounted and its type."""

    point: str
    fstype: str
    source: str


def parse_mountinfo(text: str) -> list[Mount]:
    """The mounts of a ``/proc/self/mountinfo`` text, in its order (see proc(5): the
    mount point is the fifth field, octal-escaped; the type and source follow the
    ``-`` separator)."""
    mounts = []
    for line in text.splitlines():
        fields = line.split(" ")
        if "-" not in fields[6:] or len(fields) < 10:
            continue
        after = fields.index("-", 6)
        point = _OCTAL.sub(lambda m: chr(int(m.group(1), 8)), fields[4])
        fstype, source = fields[after + 1], _OCTAL.sub(lambda m: chr(int(m.group(1), 8)), fields[after + 2])
        mounts.append(Mount(point, fstype, source))
    return mounts


def mount_of(folder: str, mounts: list[Mount]) -> Optional[Mount]:
    """The mount holding ``folder`` (an absolute, resolved POSIX path): the longest mount
    point that is the folder or one of its parents; of equal ones, the last mounted."""
    path = PurePosixPath(folder)
    best: Optional[Mount] = None
    for mount in mounts:
        point = PurePosixPath(mount.point)
        if (point == path or point in path.parents) and \
                (best is None or len(point.parts) >= len(PurePosixPath(best.point).parts)):
            best = mount
    return best


def network_filesystem(folder: Path) -> Optional[str]:
    """What makes ``folder`` a network folder, in words ("nfs4 from server:/export,
    mounted at /mnt/team"), or None when it is local or cannot be told."""
    if os.name == "nt":
        return _windows_network_drive(str(Path(folder).absolute()))
    try:
        text = MOUNTINFO.read_text(encoding="utf-8", errors="surrogateescape")
    except OSError:  # not Linux (macOS), or /proc not mounted: not detected
        return None
    mount = mount_of(str(_existing(folder)), parse_mountinfo(text))
    if mount is None or mount.fstype.lower() not in NETWORK_TYPES:
        return None
    return f"{mount.fstype} from {mount.source}, mounted at {mount.point}"


def refuse_network_folder(folder: Path) -> None:
    """Raise :class:`WorkspaceError` when ``folder`` (a workspace with a SQLite registry)
    is on a network filesystem, pointing to the team registry."""
    found = network_filesystem(folder)
    if found is not None:
        raise WorkspaceError(
            f"The workspace {folder} is on a network filesystem ({found}). Its SQLite registry is not opened "
            "there: SQLite's locks and write-ahead log are not safe on a network drive, and two people "
            "working at once could corrupt it. Keep the workspace on a local disk, or share a registry "
            "through a team registry: mlops-desktop init --registry postgresql://...")


def _existing(folder: Path) -> Path:
    """``folder`` resolved, or its nearest existing parent (a workspace about to be made)."""
    folder = Path(folder).absolute()
    for candidate in (folder, *folder.parents):
        if candidate.exists():
            return candidate.resolve()
    return folder


def _windows_network_drive(text: str) -> Optional[str]:
    """Why the absolute Windows path ``text`` is on a network share: a UNC path, or a
    drive letter mapped to one; None otherwise."""
    if text.startswith("\\\\") and not text.startswith("\\\\?\\") or text.upper().startswith("\\\\?\\UNC\\"):
        return "a UNC path"
    drive = PureWindowsPath(text).drive
    if not drive:
        return None
    import ctypes

    if ctypes.windll.kernel32.GetDriveTypeW(f"{drive}\\") == DRIVE_REMOTE:  # type: ignore[attr-defined]
        return f"drive {drive} is a network drive"
    return None
