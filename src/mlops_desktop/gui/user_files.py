"""Files the user asked to save (a table as CSV, a chart, a recipe): written whole or not
at all, with a message a person can act on when the folder or the disk says no."""

from __future__ import annotations

from pathlib import Path
from typing import Callable


def write_user_file(path: Path | str, write: Callable[[Path], None], *, what: str) -> Path:
    """Write a file the user asked for through a temporary name (whole or absent), with a
    clear MlopsError for a missing folder or a failed write."""
    from ..core.errors import MlopsError
    from ..core.storage import atomic_write

    path = Path(path).expanduser()
    if not path.parent.is_dir():
        raise MlopsError(f"Cannot save {what}: the folder {path.parent} does not exist.")
    try:
        atomic_write(path, write)
    except OSError as exc:
        raise MlopsError(f"Cannot save {what} to {path}: {exc.strerror or exc}.") from None
    return path
