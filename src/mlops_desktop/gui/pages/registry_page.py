"""Registry page: every model version with its stage, aliases and tags; filters; and for
the selected version its summary, lineage, history and a side-by-side comparison, with
the lifecycle actions (validate, approve, retire, aliases, tags, description).

The parts live in gui/registry/: the lineage tab, the comparison tab, the summary and the
actions (whose rules live in core/registry/lifecycle.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from markupsafe import Markup
from PySide6.QtCore import QItemSelectionModel, Qt, QTimer
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QComboBox, QHBoxLayout, QHeaderView, QLabel,
                               QLineEdit, QPushButton, QSplitter, QStackedWidget, QTableView, QTabWidget,
                               QVBoxLayout, QWidget)

from ...core import numbers
from ...core.registry.lineage import VersionLineage
from ...core.registry.lineage_tree import Node
from ..errors import show_error
from ..jobs import JobRunner
from ..page_kinds import ReloadingPage
from ..page_parts import EmptyState, heading
from ..registry.comparison_view import Comparison, ComparisonView, compare
from ..registry.lineage_view import LineageView
from ..registry.version_actions import VersionActions
from ..registry.version_summary import tags_text, version_summary
from ..rows_model import Column, RowsModel
from ..selection import Selection
from ..state import AppState
from ..table_actions import add_table_actions
from ..tables import fill_table, make_table
from ..undo import page_stack
from .challenge_view import ChallengeView

STAGE_TEXT = {"draft": "draft", "validated": "validated", "approved": "approved", "retired": "retired"}
PERIODS = [("Any time", None), ("Last 7 days", 7), ("Last 30 days", 30), ("Last 12 months", 365)]
#: the rows the list shows at first (newest first); "Show all" lifts the limit. Listing
#: 10,000 versions takes about half a second, a thousand a tenth of that.
LIST_LIMIT = 1_000


def _join(values: Any) -> str:
    return ", ".join(values) if values else ""


@dataclass(frozen=True)
class VersionDetail:
    """What the page shows of the selected version, read off the UI thread in one job."""

    lineage: VersionLineage
    history: list[dict[str, Any]]  # the model's audit entries, newest first
    can_roll_back: bool            # production has an earlier version to go back to
    compared_with: Optional[str]   # the newest other version of its model when it was read
    comparison: Comparison         # beside that version


def read_version_detail(root: Any, ref: str, compare_with: Optional[str]) -> VersionDetail:
    """Read ``ref``'s lineage, its model's history, whether production can roll back and
    its comparison with ``compare_with``, on a connection of the calling (worker) thread."""
    from ...core.challenge import roll_back_target
    from ...core.registry.lineage import model_audit_trail, version_lineage
    from ...core.workspace import Workspace

    with Workspace.open(root, read_only=True) as own:
        lineage = version_lineage(own, ref)
        model = lineage.version.model
        return VersionDetail(lineage, model_audit_trail(own, model, limit=500),
                             roll_back_target(own, model) is not None, compare_with,
                             compare(own, ref, compare_with))


class RegistryPage(VersionActions, ReloadingPage):
    title = "Registry"

    def __init__(self, state: AppState, runner: JobRunner, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.state, self.runner = state, runner
        #: key (workspace generation, ref); result the VersionDetail read for it
        self.selection = Selection(self._render)
        self._reads = 0  # counts the reads started: only the newest one's result is shown
        self._pending_ref: Optional[str] = None
        self.undo_stack = page_stack(self, state)  # tags and descriptions (Edit → Undo)

        outer = QVBoxLayout(self)
        top = QHBoxLayout()
        top.addWidget(heading("Registry"))
        top.addSpacing(12)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search a model name or description")
        self.search.setClearButtonEnabled(True)
        self.search.setMinimumWidth(220)
        top.addWidget(self.search, 2)
        top.addWidget(QLabel("Stage:"))
        self.stage = QComboBox()
        self.stage.addItem("any", None)
        for s in STAGE_TEXT:
            self.stage.addItem(s, s)
        top.addWidget(self.stage)
        top.addWidget(QLabel("Tag:"))
        self.tag = QLineEdit()
        self.tag.setPlaceholderText("key or key=value")
        self.tag.setClearButtonEnabled(True)
        self.tag.setMaximumWidth(150)
        top.addWidget(self.tag)
        top.addWidget(QLabel("Dataset:"))
        self.dataset = QComboBox()
        self.dataset.setMinimumWidth(140)
        top.addWidget(self.dataset)
        self.period = QComboBox()
        for text, days in PERIODS:
            self.period.addItem(text, days)
        top.addWidget(self.period)
        outer.addLayout(top)

        status = QHBoxLayout()
        self.count = QLabel()
        status.addWidget(self.count)
        self.show_all = QPushButton("Show all")
        self.show_all.setToolTip("List every matching version (slower with many thousands)")
        self.show_all.clicked.connect(lambda: self.refresh(limit=None))
        self.show_all.setVisible(False)
        status.addWidget(self.show_all)
        status.addStretch(1)
        self.single_user = QCheckBox("Single-user mode")
        self.single_user.setToolTip("When on, the person who trained a version may approve it; the approval "
                                    "is recorded as self-approved and shown on the model card and in exports.")
        self.single_user.clicked.connect(self._toggle_single_user)
        status.addWidget(self.single_user)
        outer.addLayout(status)

        self.model = RowsModel([
            Column("Model", "model"), Column("Version", "version"), Column("Stage", "stage"),
            Column("Aliases", "aliases", _join), Column("Family", "family"), Column("Target", "target"),
            Column("Dataset", "dataset"), Column("Trained by", "created_by"),
            Column("Created", "created_at", numbers.timestamp), Column("Tags", "tags", tags_text),
            Column("Description", "description", tip=lambda r: r.get("description") or "")])
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(24)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(8, Qt.SortOrder.DescendingOrder)  # newest first
        self.table.setWordWrap(False)
        add_table_actions(self.table, "model-versions")
        header = self.table.horizontalHeader()
        header.setStretchLastSection(True)  # the description takes what is left
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setResizeContentsPrecision(200)  # fit to the first rows: quick with thousands
        self.table.selectionModel().currentRowChanged.connect(lambda cur, _prev: self._select(cur.row()))

        self.detail = self._build_detail()
        # the list above the selected version's details, both the full width: side by side
        # the list's right-hand columns were cut
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.setObjectName("registryListSplitter")
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(self.table)
        self.splitter.addWidget(self.detail)
        self.splitter.setStretchFactor(0, 2)
        self.splitter.setStretchFactor(1, 3)
        self.splitter.setSizes([240, 400])

        self.empty = EmptyState("No model yet",
                                "Models appear here once the Train page has trained one. Each training "
                                "run registers a draft version; validate it, have a colleague approve it, "
                                "then point the production alias at it and export it for IT.",
                                [("Go to Train", lambda: self.go_to("Train"))])
        self.challenge_view = ChallengeView(state, runner)
        self.challenge_view.back.connect(lambda: self.stack.setCurrentWidget(self.splitter))
        self.stack = QStackedWidget()
        self.stack.addWidget(self.empty)
        self.stack.addWidget(self.splitter)
        self.stack.addWidget(self.challenge_view)
        outer.addWidget(self.stack, 1)

        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(150)  # filter once the analyst pauses typing
        self._debounce.timeout.connect(self.refresh)
        self.search.textChanged.connect(lambda _t: self._debounce.start())
        self.tag.textChanged.connect(lambda _t: self._debounce.start())
        for combo in (self.stage, self.dataset, self.period):
            combo.currentIndexChanged.connect(lambda _i: self.refresh())
        state.workspace_changed.connect(self.mark_stale)
        state.models_changed.connect(self._models_changed)
        state.datasets_changed.connect(lambda _id: self.mark_stale())

    # -- layout of the right-hand side -----------------------------------------------------------

    def _build_detail(self) -> QWidget:
        box = QWidget()
        columns = QHBoxLayout(box)
        columns.setContentsMargins(0, 6, 0, 0)
        facts = QWidget()
        facts.setMinimumWidth(300)
        facts.setMaximumWidth(440)
        layout = QVBoxLayout(facts)
        layout.setContentsMargins(0, 0, 0, 0)
        columns.addWidget(facts)
        self.detail_title = QLabel("Select a version")
        self.detail_title.setTextFormat(Qt.TextFormat.PlainText)  # names and aliases someone typed
        font = self.detail_title.font()
        font.setPointSizeF(font.pointSizeF() * 1.2)
        font.setBold(True)
        self.detail_title.setFont(font)
        layout.addWidget(self.detail_title)
        self.detail_text = QLabel()
        self.detail_text.setWordWrap(True)
        self.detail_text.setTextFormat(Qt.TextFormat.RichText)
        self.detail_text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.detail_text)

        self.buttons: dict[str, QPushButton] = {}
        rows = [[("validated", "Mark validated…", lambda: self.ask_stage("validated")),
                 ("approved", "Approve…", lambda: self.ask_stage("approved")),
                 ("retired", "Retire…", lambda: self.ask_stage("retired"))],
                [("alias", "Set alias…", self.ask_alias),
                 ("tag", "Tag…", self.ask_tag),
                 ("describe", "Describe…", self.ask_description),
                 ("export", "Export…", self.go_export)],
                [("retrain", "Retrain…", self.ask_retrain),
                 ("challenge", "Challenge…", self.open_challenge),
                 ("rollback", "Roll back…", self.ask_rollback)]]
        for row in rows:
            line = QHBoxLayout()
            for key, text, slot in row:
                button = QPushButton(text)
                button.clicked.connect(slot)
                button.setEnabled(False)
                self.buttons[key] = button
                line.addWidget(button)
            line.addStretch(1)
            layout.addLayout(line)

        self.tabs = QTabWidget()
        self.tree = LineageView()
        self.tabs.addTab(self.tree, "Lineage")
        self.history = make_table(["When", "Who", "What"], name="model-history")
        self.history.horizontalHeader().setStretchLastSection(True)
        self.history.setWordWrap(True)
        self.tabs.addTab(self.history, "History")
        self.comparison = ComparisonView(self.state, self.runner)
        # the comparison's parts, named as the page has always named them
        self.compare_with, self.compare_table = self.comparison.compare_with, self.comparison.table
        self.compare_notes = self.comparison.notes
        self.tabs.addTab(self.comparison, "Compare")
        layout.addStretch(1)
        columns.addWidget(self.tabs, 1)
        return box

    # -- the list ----------------------------------------------------------------------------

    def _models_changed(self, ref: str) -> None:
        self._pending_ref = ref or self._pending_ref
        self.mark_stale()

    def reload(self) -> None:
        """Re-read the workspace: datasets for the filter, the mode, then the list."""
        self.stale = False
        ws = self.state.workspace
        self.dataset.blockSignals(True)
        current = self.dataset.currentData()
        self.dataset.clear()
        self.dataset.addItem("any", None)
        if ws is not None:
            for ds in ws.datasets():
                self.dataset.addItem(ds.name, ds.id)
        index = self.dataset.findData(current)
        self.dataset.setCurrentIndex(max(index, 0))
        self.dataset.blockSignals(False)
        if ws is not None:
            from ...core.registry.lifecycle import single_user_mode

            self.single_user.setChecked(single_user_mode(ws))
        self.single_user.setEnabled(ws is not None)
        # on a team registry the server keeps four eyes whatever the mode: nothing to switch
        self.single_user.setVisible(self.state.team is None)
        self.refresh()

    def filters(self) -> dict[str, Any]:
        from datetime import date, timedelta

        days = self.period.currentData()
        return {"text": self.search.text().strip() or None, "stage": self.stage.currentData(),
                "tag": self.tag.text().strip() or None, "dataset": self.dataset.currentData(),
                "since": (date.today() - timedelta(days=days)).isoformat() if days else None}

    def refresh(self, limit: Optional[int] = LIST_LIMIT) -> None:
        """Run the filters against the registry and show the matching versions (the
        newest ``limit`` of them; None for all)."""
        ws = self.state.workspace
        if ws is None:
            self.model.set_rows([])
            self.stack.setCurrentWidget(self.empty)
            self.count.setText("")
            return
        from ...core.registry.lifecycle import search_versions

        selected = self.selected_ref() or self._pending_ref
        changed = self._pending_ref is not None  # the registry changed: redraw the detail too
        filters = self.filters()
        try:
            page = search_versions(ws, limit=limit, **filters)
        except Exception as exc:  # a malformed tag filter, say: say so where the count goes
            self.count.setText(Markup("<span style='color:#b00020'>{}</span>").format(str(exc)))
            return
        rows = [r.to_dict() for r in page.rows]
        self.model.set_rows(rows)
        self.table.resizeColumnsToContents()
        any_filter = any(v for v in filters.values())
        if not rows and not any_filter:
            self.stack.setCurrentWidget(self.empty)
            self.count.setText("")
            return
        if self.stack.currentWidget() is not self.challenge_view:
            self.stack.setCurrentWidget(self.splitter)
        plural = "s" if page.total != 1 else ""
        if len(rows) < page.total:
            self.count.setText(f"{page.total:,} version{plural}{' match' if any_filter else ''}; showing the "
                               f"newest {len(rows):,}. Filter to narrow the list, or")
        else:
            self.count.setText(f"{page.total:,} version{plural}{' match' if any_filter else ''}.")
        self.show_all.setVisible(len(rows) < page.total)
        self._pending_ref = None
        self.select_ref(selected, force=changed) if selected else self._select(-1)

    def select_ref(self, ref: str, *, force: bool = False) -> None:
        """Select ``MODEL:VERSION`` (or the newest version of ``MODEL``) in the list;
        ``force`` reads its detail again even when it is already shown."""
        name, _, version = ref.partition(":")
        for i, row in enumerate(self.model.rows):
            if row["model"] == name and (not version or str(row["version"]) == version):
                index = self.model.index(i, 0)
                self.table.selectionModel().setCurrentIndex(
                    index, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)
                self.table.scrollTo(index)
                self._select(i, force=force)
                return
        self._select(-1)

    def selected_ref(self) -> Optional[str]:
        index = self.table.selectionModel().currentIndex()
        if not index.isValid() or index.row() >= len(self.model.rows):
            return None
        return self.model.row(index.row())["ref"]

    # -- the selected version ----------------------------------------------------------------

    @property
    def lineage(self) -> Optional[VersionLineage]:
        """The lineage of the version shown, None while nothing is (or while it is read)."""
        detail = self.selection.result
        return detail.lineage if detail is not None else None

    def _select(self, row: int, *, force: bool = False) -> None:
        """Show the detail of the list's ``row`` (lineage, history, comparison), read in the
        background; unless it already shows (filtering keeps the selection: nothing to read
        again) and ``force`` does not ask to read it again."""
        ws = self.state.workspace
        if ws is None or row < 0 or row >= len(self.model.rows):
            self.selection.select(None)
            return
        ref = self.model.row(row)["ref"]
        key = (self.state.generation, ref)
        if self.selection.select(key) or force:
            self._read(key)

    def _read(self, key: tuple[int, str]) -> None:
        """Read the selected version's detail off the UI thread. A result arrives only if
        its read is the newest: a quick second selection never shows the first one's."""
        self._reads += 1
        read, ref, root = self._reads, key[1], self.state.workspace.root
        others = self._other_versions(ref)
        first = others[0] if others else None

        def done(detail: VersionDetail) -> None:
            if read == self._reads:
                self.selection.show(key, detail)

        def failed(exc: BaseException, tb: str) -> None:
            if read == self._reads and self.selection.key == key:
                self.detail_text.setText(Markup("Could not read {}: see the message.").format(ref))
                show_error(self, f"Cannot read {ref}", exc, tb)

        self.runner.start(f"Reading {ref}", lambda _progress, _cancel: read_version_detail(root, ref, first),
                          on_success=done, on_error=failed, visible=False)

    def _render(self) -> None:
        """Draw the detail from the selection: nothing chosen, being read, or read."""
        key, detail = self.selection.key, self.selection.result
        if detail is not None:
            self._show_version(detail)
            return
        for b in self.buttons.values():
            b.setEnabled(False)
        self.tree.clear()
        self.history.setRowCount(0)
        self.comparison.show_for(None, [])
        if key is None:
            self.detail_title.setText("Select a version")
            self.detail_text.setText("Pick a version on the left to see where it came from, "
                                     "what happened to it and how it compares with another.")
        else:
            self.detail_title.setText(key[1])
            self.detail_text.setText(Markup("Reading {}…").format(key[1]))

    def _show_version(self, detail: VersionDetail) -> None:
        from ...core.registry.lifecycle import ALLOWED

        lin = detail.lineage
        v = lin.version
        stage = v.stage
        aliases = lin.aliases
        self.detail_title.setText(f"{v.ref} — {stage}" + (f" ({', '.join(aliases)})" if aliases else ""))
        self.detail_text.setText(version_summary(lin))
        for key, button in self.buttons.items():
            if key in ALLOWED:
                button.setEnabled(stage in ALLOWED[key])
            else:
                button.setEnabled(True)
        self.buttons["alias"].setEnabled(stage == "approved")
        self.buttons["export"].setEnabled(stage == "approved")
        self.buttons["alias"].setToolTip("" if stage == "approved" else "Only an approved version can hold an alias")
        others = self._other_versions(v.ref)
        self.buttons["challenge"].setEnabled(stage != "retired" and bool(others))
        self.buttons["challenge"].setToolTip("Judge this version against production on recent rows neither was "
                                             "trained on")
        self.buttons["retrain"].setToolTip("Train this version again, as recorded, on newer data")
        self.buttons["rollback"].setEnabled(detail.can_roll_back)
        self.buttons["rollback"].setToolTip("Move production back to the version it held before")
        self.tree.show_lineage(lin)
        fill_table(self.history, [[numbers.timestamp(e["at"]), e["actor"], e["summary"]] for e in detail.history])
        self.history.setColumnWidth(2, 360)
        self.comparison.show_for(v.ref, others, (detail.compared_with, detail.comparison))

    @property
    def lineage_nodes(self) -> list[Node]:
        """The lineage tree the Lineage tab shows."""
        return self.tree.nodes

    def _other_versions(self, ref: str) -> list[str]:
        """The other versions of ``ref``'s model in the list, newest first."""
        name = ref.partition(":")[0]
        return [r["ref"] for r in self.model.rows if r["model"] == name and r["ref"] != ref]
