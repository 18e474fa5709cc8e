"""Where things live and who is acting: defaults shared by the CLI and the GUI."""

from __future__ import annotations

import getpass
import os
from pathlib import Path

APP_DIR_NAME = "mlops-desktop"
WORKSPACE_ENV = "MLOPS_DESKTOP_WORKSPACE"


def default_workspace_dir() -> Path:
    """The workspace used when none is named: ``$MLOPS_DESKTOP_WORKSPACE`` or the
    user data directory (platformdirs)."""
    env = os.environ.get(WORKSPACE_ENV)
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_DIR_NAME, appauthor=False)) / "workspace"


def log_dir() -> Path:
    """The user log directory, created on demand."""
    import platformdirs

    path = Path(platformdirs.user_log_dir(APP_DIR_NAME, appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def os_user() -> str:
    """The operating-system user name, used as the actor when no other is set."""
    try:
        name = getpass.getuser()
    except Exception:  # no login name on some containers and services
        name = ""
    return name or "unknown"
