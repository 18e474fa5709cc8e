"""A SQLite workspace on a network filesystem is refused on open (issue 17): the mount
holding the folder is found in a recorded /proc/self/mountinfo (longest mount point,
octal escapes, optional fields), NFS, SMB/CIFS and sshfs are refused, local disks and
container overlays accepted; the message points to the team registry."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops_desktop.core.workspace import network_drives
from mlops_desktop.core.errors import WorkspaceError
from mlops_desktop.core.workspace.network_drives import mount_of, parse_mountinfo
from mlops_desktop.core.workspace import Workspace

#: recorded from machines with these mounts (fields as proc(5) lists them)
MOUNTINFO = r"""22 1 0:21 / / rw,relatime - overlay overlay rw,lowerdir=/var/lib/docker/l1,upperdir=/u,workdir=/w
23 22 0:22 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw
29 22 259:2 / /home rw,relatime shared:1 - ext4 /dev/nvme0n1p2 rw
31 29 0:45 / /home/ann/team rw,relatime shared:40 - nfs4 files.example.org:/export/team rw,vers=4.2
32 22 0:46 / /mnt/finance\040share rw,relatime shared:41 master:7 - cifs //fs01/finance rw,vers=3.1.1
33 29 0:47 / /home/ann/remote rw,nosuid,nodev,relatime shared:42 - fuse.sshfs ann@build:/srv rw,user_id=1000
34 31 259:3 / /home/ann/team/local rw,relatime - ext4 /dev/nvme0n1p3 rw
35 22 0:48 / /mnt/finance rw,relatime - ext4 /dev/sdb1 rw
"""


def test_the_mount_of_a_folder_is_the_longest_mount_point_holding_it():
    mounts = parse_mountinfo(MOUNTINFO)
    assert [m.fstype for m in mounts] == ["overlay", "proc", "ext4", "nfs4", "cifs", "fuse.sshfs", "ext4", "ext4"]
    where = {folder: mount_of(folder, mounts) for folder in (
        "/home/ann/team/models/ws", "/home/ann/team", "/home/ann/teams", "/mnt/finance share/ws",
        "/mnt/finance/ws", "/home/ann/remote/ws", "/home/ann/team/local/ws", "/home/ann/ws", "/srv/ws")}
    assert {f: (m.fstype, m.point) for f, m in where.items()} == {
        "/home/ann/team/models/ws": ("nfs4", "/home/ann/team"),
        "/home/ann/team": ("nfs4", "/home/ann/team"),
        "/home/ann/teams": ("ext4", "/home"),  # a prefix of the text is not a parent folder
        "/mnt/finance share/ws": ("cifs", "/mnt/finance share"),  # \040 is a space
        "/mnt/finance/ws": ("ext4", "/mnt/finance"),
        "/home/ann/remote/ws": ("fuse.sshfs", "/home/ann/remote"),
        "/home/ann/team/local/ws": ("ext4", "/home/ann/team/local"),  # a local disk mounted inside the share
        "/home/ann/ws": ("ext4", "/home"),
        "/srv/ws": ("overlay", "/"),
    }


def test_a_later_mount_on_the_same_point_hides_the_earlier_one():
    text = MOUNTINFO + "36 22 0:49 / /home/ann/team rw,relatime - ext4 /dev/sdc1 rw\n"
    assert mount_of("/home/ann/team/ws", parse_mountinfo(text)).fstype == "ext4"


@pytest.fixture
def recorded(tmp_path, monkeypatch):
    """The recorded mounts, with the test's folder mounted as each case needs."""

    def mount(fstype: str, source: str) -> Path:
        folder = tmp_path.resolve()
        escaped = str(folder).replace(" ", "\\040")
        info = tmp_path / "mountinfo"
        info.write_text(MOUNTINFO + f"40 22 0:50 / {escaped} rw,relatime - {fstype} {source} rw\n")
        monkeypatch.setattr(network_drives, "MOUNTINFO", info)
        return folder

    return mount


@pytest.mark.parametrize("fstype, source", [("nfs4", "files:/export"), ("nfs", "files:/export"),
                                            ("cifs", "//fs01/share"), ("smb3", "//fs01/share"),
                                            ("fuse.sshfs", "ann@build:/srv")])
def test_a_workspace_on_a_network_filesystem_is_refused(recorded, fstype, source):
    folder = recorded(fstype, source)
    with pytest.raises(WorkspaceError) as refused:
        Workspace.create(folder / "ws", actor="ann")
    message = str(refused.value)
    assert f"({fstype} from {source}, mounted at {folder})" in message
    assert "mlops-desktop init --registry postgresql://" in message
    assert not (folder / "ws").exists()  # nothing written


def test_an_existing_workspace_is_not_opened_there_and_local_ones_are(recorded, tmp_path):
    Workspace.create(tmp_path / "ws", actor="ann").close()
    recorded("ext4", "/dev/sdb1")
    with Workspace.open(tmp_path / "ws") as ws:  # a local disk
        assert ws.registry is not None
    recorded("overlay", "overlay")  # a container's own filesystem is local too
    Workspace.open(tmp_path / "ws").close()
    recorded("cifs", "//fs01/finance")
    for read_only in (False, True):  # reading is not safe either: the log needs shared memory
        with pytest.raises(WorkspaceError, match="network filesystem"):
            Workspace.open(tmp_path / "ws", read_only=read_only)


def test_without_mountinfo_nothing_is_refused(monkeypatch, tmp_path):
    monkeypatch.setattr(network_drives, "MOUNTINFO", tmp_path / "no-such-file")  # as on macOS
    Workspace.create(tmp_path / "ws", actor="ann").close()


def test_windows_unc_paths_and_network_drives(monkeypatch):
    """Windows' rules, with the system's answer for a drive letter stood in for."""
    import ctypes
    from types import SimpleNamespace

    types = {"Z:": network_drives.DRIVE_REMOTE, "C:": 3}  # 3: a fixed disk
    kernel32 = SimpleNamespace(GetDriveTypeW=lambda root: types[root.rstrip("\\")])
    monkeypatch.setattr(ctypes, "windll", SimpleNamespace(kernel32=kernel32), raising=False)
    check = network_drives._windows_network_drive
    assert check(r"\\fs01\models\ws") == "a UNC path"
    assert check(r"\\?\UNC\fs01\models\ws") == "a UNC path"
    assert check(r"Z:\models\ws") == "drive Z: is a network drive"
    assert check(r"C:\Users\ann\ws") is None
