"""What the whole window shares: the open workspace, who is acting, user settings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from PySide6.QtCore import QByteArray, QObject, QSettings, Signal
from PySide6.QtWidgets import QSplitter, QWidget

from ..core.workspace.settings import default_workspace_dir, os_user

if TYPE_CHECKING:
    from ..core.workspace import TeamLogin, Workspace

REGISTRY_FILE = "registry.sqlite"  # checked without importing the registry (start-up time)

MAX_RECENT = 8


class Preferences:
    """The user's settings, kept by Qt (QSettings) in the usual place per OS."""

    def __init__(self, settings: Optional[QSettings] = None) -> None:
        self.qs = settings or QSettings()

    @property
    def display_name(self) -> str:
        return str(self.qs.value("user/display_name", "") or "")

    @display_name.setter
    def display_name(self, name: str) -> None:
        self.qs.setValue("user/display_name", name.strip())

    @property
    def default_workspace(self) -> Path:
        value = self.qs.value("workspace/default", "")
        return Path(str(value)) if value else default_workspace_dir()

    @default_workspace.setter
    def default_workspace(self, path: Optional[Path]) -> None:
        self.qs.setValue("workspace/default", str(path) if path else "")

    @property
    def recent_workspaces(self) -> list[str]:
        value = self.qs.value("workspace/recent", [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in (value or [])]

    def add_recent(self, path: Path) -> None:
        items = [str(path)] + [p for p in self.recent_workspaces if p != str(path)]
        self.qs.setValue("workspace/recent", items[:MAX_RECENT])

    @property
    def recent_files(self) -> list[str]:
        """Data files imported lately, newest first."""
        value = self.qs.value("files/recent", [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in (value or [])]

    def add_recent_file(self, path: Path | str) -> None:
        items = [str(path)] + [p for p in self.recent_files if p != str(path)]
        self.qs.setValue("files/recent", items[:MAX_RECENT])

    def remove_recent_file(self, path: Path | str) -> None:
        self.qs.setValue("files/recent", [p for p in self.recent_files if p != str(path)])

    def clear_recent_files(self) -> None:
        self.qs.setValue("files/recent", [])

    def splitter_state(self, name: str) -> Optional[QByteArray]:
        """The saved positions of the splitter called ``name``, if any."""
        value = self.qs.value(f"splitters/{name}")
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    def set_splitter_state(self, name: str, state: QByteArray) -> None:
        self.qs.setValue(f"splitters/{name}", state)

    def wizard_choices(self, fingerprint: str) -> dict[str, Any]:
        """The training wizard's last choices for the data with this fingerprint ({} when
        none, or when what was kept cannot be read)."""
        value = self.qs.value(f"train-wizard/{fingerprint}", "")
        try:
            choices = json.loads(str(value)) if value else {}
        except ValueError:
            return {}
        return choices if isinstance(choices, dict) else {}

    def remember_wizard_choices(self, fingerprint: str, choices: dict[str, Any]) -> None:
        """Keep the wizard's choices for this data: a preference of this user, not a record
        (the run records what was trained)."""
        self.qs.setValue(f"train-wizard/{fingerprint}", json.dumps(choices))

    @property
    def last_workspace(self) -> Optional[Path]:
        value = self.qs.value("workspace/last", "")
        return Path(str(value)) if value else None

    @last_workspace.setter
    def last_workspace(self, path: Path) -> None:
        self.qs.setValue("workspace/last", str(path))


class SplitterMemory(QObject):
    """Remembers where the user left every named splitter (its objectName) across
    sessions: restored when a page is built, saved whenever it is dragged."""

    PROPERTY = "mlopsRemembered"

    def __init__(self, prefs: Preferences, parent: Optional[QObject] = None) -> None:
        super().__init__(parent)
        self.prefs = prefs

    def attach(self, root: QWidget) -> int:
        """Restore and start saving every named splitter under ``root`` (and ``root``
        itself) not yet handled; returns how many were attached. Unnamed splitters are
        left alone: a name is what lets a position find its splitter again."""
        splitters = root.findChildren(QSplitter)
        if isinstance(root, QSplitter):
            splitters.insert(0, root)
        count = 0
        for splitter in splitters:
            name = splitter.objectName()
            if not name or splitter.property(self.PROPERTY):
                continue
            splitter.setProperty(self.PROPERTY, True)
            saved = self.prefs.splitter_state(name)
            if saved is not None:
                splitter.restoreState(saved)
            splitter.splitterMoved.connect(lambda _pos, _i, s=splitter: self.save(s))
            count += 1
        return count

    def save(self, splitter: QSplitter) -> None:
        if splitter.objectName():
            self.prefs.set_splitter_state(splitter.objectName(), splitter.saveState())


def opened_workspace(path: Path | str, *, create: bool, actor: str) -> tuple["Workspace", Optional["TeamLogin"]]:
    """Open (or create) the workspace at ``path`` and ask a team registry who the login is:
    the slow part of opening one (a team registry connects to the server and fetches the
    files others made). Safe on a worker thread; the connection may then be used on the UI
    thread. Nothing stays open when it fails."""
    from ..core.workspace import Workspace

    path = Path(path).expanduser().absolute()
    ws = Workspace.open_or_create(path, actor=actor)[0] if create else Workspace.open(path)
    try:
        return ws, ws.team_member()
    except BaseException:
        ws.close()
        raise


class AppState(QObject):
    """The open workspace and the acting user, with signals pages listen to."""

    workspace_changed = Signal()
    datasets_changed = Signal(int)  # the dataset to select, or -1
    dataset_selected = Signal(int)  # the dataset the analyst is looking at (shared by pages)
    models_changed = Signal(str)    # a run finished or a version changed: "name:version" or ""
    version_selected = Signal(str)  # the model version to look at next ("name:version"), e.g. from Train
    actor_changed = Signal(str)     # who acts from now on
    step_suggested = Signal(int, str)  # a recipe step for a dataset, in words (Explore's alerts offer them)

    def __init__(self, prefs: Preferences, parent: Optional[QObject] = None) -> None:
        super().__init__(parent)
        self.prefs = prefs
        self.workspace: Optional["Workspace"] = None
        #: on a team registry: the login and its roles, asked of the server when it is opened
        self.team: Optional["TeamLogin"] = None
        self.current_dataset: Optional[int] = None
        self.current_version: Optional[str] = None
        #: counts the workspaces opened and closed: part of every key a page's results are
        #: kept under, so nothing shown for one workspace survives into the next (two
        #: workspaces may both have a "penguins-species:1")
        self.generation = 0
        #: comments typed for a stage change that was refused, by (generation, ref, stage):
        #: offered again when the analyst tries again, so nothing typed is lost
        self.comment_drafts: dict[tuple[int, str, str], str] = {}

    @property
    def actor(self) -> str:
        """Who acts: on a team registry the database login; else the display name from
        settings, else the OS user name."""
        team = self.workspace.team_actor if self.workspace is not None else None
        return team or self.prefs.display_name or os_user()

    def set_actor(self, name: str) -> None:
        """Act as ``name`` from now on (empty: the OS user name), kept in the settings."""
        before = self.actor
        self.prefs.display_name = name
        if self.actor != before:
            self.actor_changed.emit(self.actor)

    def select_dataset(self, dataset_id: int) -> None:
        if dataset_id != self.current_dataset:
            self.current_dataset = dataset_id
            self.dataset_selected.emit(dataset_id)

    def select_version(self, ref: str) -> None:
        """Ask the pages that show one model version to show ``ref``."""
        self.current_version = ref
        self.version_selected.emit(ref)

    def open_workspace(self, path: Path | str, *, create: bool = False) -> "Workspace":
        """Open (or create) a workspace and make it current. Raises WorkspaceError. On a team
        registry this connects to the server: the GUI does that off the UI thread
        (gui/workspace_opening.py), then hands the opened workspace to :meth:`use_workspace`."""
        ws, team = opened_workspace(path, create=create, actor=self.actor)
        self.use_workspace(ws, team)
        return ws

    def use_workspace(self, ws: "Workspace", team: Optional["TeamLogin"]) -> None:
        """Make ``ws`` (opened by :func:`opened_workspace`, on any thread) the current
        workspace, closing the one open before."""
        if self.workspace is not None:
            self.workspace.close()
        self.workspace, self.team = ws, team
        self.generation += 1
        self.current_dataset = None
        self.current_version = None
        self.prefs.add_recent(ws.root)
        self.prefs.last_workspace = ws.root
        self.workspace_changed.emit()

    def startup_workspace(self, requested: Optional[str]) -> Path:
        """Which workspace to open at start-up: the one asked for, the last one used,
        or the default one."""
        if requested:
            return Path(requested)
        last = self.prefs.last_workspace
        if last is not None and (last / REGISTRY_FILE).is_file():
            return last
        return self.prefs.default_workspace

    def close(self) -> None:
        if self.workspace is not None:
            self.workspace.close()
            self.workspace, self.team = None, None
            self.generation += 1
