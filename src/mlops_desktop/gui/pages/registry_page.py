"""Registry page: every model version with its stage, aliases and tags; filters; and for
the selected version its lineage, its history and a side-by-side comparison, with the
lifecycle actions (validate, approve, retire, aliases, tags, description).

The rules live in core (core/lifecycle.py): this page asks for what they need (a
comment, an override reason) and shows the core's message when a rule says no.
"""

from __future__ import annotations

import html
from typing import Any, Callable, Optional

from PySide6.QtCore import QItemSelectionModel, Qt, QTimer
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QComboBox, QHBoxLayout, QHeaderView,
                               QInputDialog, QLabel, QLineEdit, QMessageBox, QPushButton, QSplitter,
                               QStackedWidget, QTableView, QTabWidget, QTextBrowser,
                               QVBoxLayout, QWidget)

from ...core import numbers
from ...core.comparison_table import comparison_notes, comparison_rows
from ...core.lineage import VersionLineage
from ...core.lineage_tree import Node, lineage_tree
from ..errors import show_error
from ..jobs import JobRunner
from ..rows_model import Column, RowsModel
from ..state import AppState
from ..undo import RecordedChange, page_stack
from ..widgets import EmptyState, ReloadingPage, add_table_actions, fill_table, heading, make_table
from .challenge_view import ChallengeView, evidence, origin_and_challenge

STAGE_TEXT = {"draft": "draft", "validated": "validated", "approved": "approved", "retired": "retired"}
PERIODS = [("Any time", None), ("Last 7 days", 7), ("Last 30 days", 30), ("Last 12 months", 365)]
#: the rows the list shows at first (newest first); "Show all" lifts the limit. Listing
#: 10,000 versions takes about half a second, a thousand a tenth of that.
LIST_LIMIT = 1_000


def _join(values: Any) -> str:
    return ", ".join(values) if values else ""


def _tags(tags: Any) -> str:
    return ", ".join(f"{k}={v}" if v else k for k, v in (tags or {}).items())


class RegistryPage(ReloadingPage):
    title = "Registry"

    def __init__(self, state: AppState, runner: JobRunner, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.state, self.runner = state, runner
        self.lineage: Optional[VersionLineage] = None
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
            Column("Created", "created_at", numbers.timestamp), Column("Tags", "tags", _tags),
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
        self.tree = QTextBrowser()
        self.tree.setOpenLinks(False)
        self.lineage_nodes: list[Node] = []
        self.tabs.addTab(self.tree, "Lineage")
        self.history = make_table(["When", "Who", "What"], name="model-history")
        self.history.horizontalHeader().setStretchLastSection(True)
        self.history.setWordWrap(True)
        self.tabs.addTab(self.history, "History")
        compare = QWidget()
        cl = QVBoxLayout(compare)
        cl.setContentsMargins(0, 4, 0, 0)
        pick = QHBoxLayout()
        pick.addWidget(QLabel("Compare with:"))
        self.compare_with = QComboBox()
        self.compare_with.setMinimumWidth(160)
        self.compare_with.currentIndexChanged.connect(lambda _i: self._compare())
        pick.addWidget(self.compare_with, 1)
        cl.addLayout(pick)
        self.compare_table = make_table(["", "A", "B"], select_rows=False, name="version-comparison")
        compare_header = self.compare_table.horizontalHeader()
        compare_header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        for i in (1, 2):
            compare_header.setSectionResizeMode(i, QHeaderView.ResizeMode.Stretch)
        self.compare_table.setWordWrap(True)
        cl.addWidget(self.compare_table, 1)
        self.compare_notes = QLabel()
        self.compare_notes.setWordWrap(True)
        cl.addWidget(self.compare_notes)
        self.tabs.addTab(compare, "Compare")
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
            from ...core.lifecycle import single_user_mode

            self.single_user.setChecked(single_user_mode(ws))
        self.single_user.setEnabled(ws is not None)
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
        from ...core.lifecycle import search_versions

        selected = self.selected_ref() or self._pending_ref
        changed = self._pending_ref is not None  # the registry changed: redraw the detail too
        filters = self.filters()
        try:
            page = search_versions(ws, limit=limit, **filters)
        except Exception as exc:  # a malformed tag filter, say: say so where the count goes
            self.count.setText(f"<span style='color:#b00020'>{html.escape(str(exc))}</span>")
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

    def _select(self, row: int, *, force: bool = False) -> None:
        """Show the detail of the list's ``row`` (lineage, history, comparison), unless it
        already shows (filtering keeps the selection: nothing to read again)."""
        ws = self.state.workspace
        if ws is None or row < 0 or row >= len(self.model.rows):
            self.lineage = None
            self.detail_title.setText("Select a version")
            self.detail_text.setText("Pick a version on the left to see where it came from, "
                                     "what happened to it and how it compares with another.")
            for b in self.buttons.values():
                b.setEnabled(False)
            self.tree.clear()
            self.history.setRowCount(0)
            self.compare_with.clear()
            return
        from ...core.lineage import version_lineage

        ref = self.model.row(row)["ref"]
        if not force and self.lineage is not None and self.lineage.ref == ref:
            return
        try:
            self.lineage = version_lineage(ws, ref)
        except Exception as exc:
            show_error(self, f"Cannot read {ref}", exc)
            return
        self._show_version(self.lineage)

    def _show_version(self, lin: VersionLineage) -> None:
        from ...core.challenge import roll_back_target
        from ...core.lifecycle import ALLOWED

        v = lin.version
        stage = v.stage
        aliases = lin.aliases
        self.detail_title.setText(f"{v.ref} — {stage}" + (f" ({', '.join(aliases)})" if aliases else ""))
        e = html.escape
        parts = [f"{e(str(v.family))} for <b>{e(v.target)}</b> ({e(v.task)}), trained by "
                 f"{e(v.created_by)} on {numbers.timestamp(v.created_at)} from "
                 f"<b>{e(lin.dataset.name)}</b>."]
        if v.description:
            parts.append(f"<i>{e(v.description)}</i>")
        if lin.model.description:
            parts.append(f"Model: <i>{e(lin.model.description)}</i>")
        tags = {**(lin.model.tags or {}), **(v.tags or {})}
        if tags:
            parts.append("Tags: " + e(_tags(tags)))
        for a in lin.approvals:
            who = f"{a.by} (self-approved)" if a.self_approved else a.by
            parts.append(f"Approved by {e(who)} on {numbers.timestamp(a.at)}: “{e(str(a.comment))}”")
        if not lin.validations:
            parts.append("Not validated yet: validate it on the Validate page before it can move on.")
        parts += origin_and_challenge(lin)
        self.detail_text.setText("<br>".join(parts))
        for key, button in self.buttons.items():
            if key in ALLOWED:
                button.setEnabled(stage in ALLOWED[key])
            else:
                button.setEnabled(True)
        self.buttons["alias"].setEnabled(stage == "approved")
        self.buttons["export"].setEnabled(stage == "approved")
        self.buttons["alias"].setToolTip("" if stage == "approved" else "Only an approved version can hold an alias")
        others = [r for r in self.model.rows if r["model"] == v.model and r["ref"] != v.ref]
        self.buttons["challenge"].setEnabled(stage != "retired" and bool(others))
        self.buttons["challenge"].setToolTip("Judge this version against production on recent rows neither was "
                                             "trained on")
        self.buttons["retrain"].setToolTip("Train this version again, as recorded, on newer data")
        self.buttons["rollback"].setEnabled(roll_back_target(self.state.workspace, v.model) is not None)
        self.buttons["rollback"].setToolTip("Move production back to the version it held before")
        self._fill_tree(lin)
        self._fill_history(v.model)
        self._fill_compare_choices(v.ref)

    def _fill_tree(self, lin: VersionLineage) -> None:
        """The lineage as an indented, wrapped tree: dataset → run → version → what
        happened to it."""
        self.lineage_nodes = lineage_tree(lin)
        self.tree.setHtml(tree_html(self.lineage_nodes))

    def _fill_history(self, model: str) -> None:
        from ...core.lineage import model_audit_trail

        ws = self.state.workspace
        entries = model_audit_trail(ws, model, limit=500)
        fill_table(self.history, [[numbers.timestamp(e["at"]), e["actor"], e["summary"]] for e in entries])
        self.history.setColumnWidth(2, 360)

    def _fill_compare_choices(self, ref: str) -> None:
        """The other versions of the same model, newest first (a comparison across
        models is possible from the CLI)."""
        name = ref.partition(":")[0]
        others = [r["ref"] for r in self.model.rows if r["model"] == name and r["ref"] != ref]
        self.compare_with.blockSignals(True)
        self.compare_with.clear()
        for other in others:
            self.compare_with.addItem(other)
        self.compare_with.blockSignals(False)
        self.compare_with.setEnabled(bool(others))
        self._compare()

    def _compare(self) -> None:
        ws = self.state.workspace
        other = self.compare_with.currentText()
        if ws is None or self.lineage is None or not other:
            self.compare_table.setRowCount(0)
            self.compare_notes.setText("This model has no other version to compare with." if self.lineage else "")
            return
        from ...core.compare import compare_versions

        try:
            c = compare_versions(ws, self.lineage.ref, other)
        except Exception as exc:
            show_error(self, "Cannot compare", exc)
            return
        self.compare_table.setHorizontalHeaderLabels(["", c.a.ref, c.b.ref])
        self.compare_table.setRowCount(0)
        fill_table(self.compare_table, comparison_rows(c))
        self.compare_table.resizeRowsToContents()
        self.compare_notes.setText("\n".join(comparison_notes(c)))

    # -- actions -----------------------------------------------------------------------------

    def _act(self, title: str, fn: Callable[[], Any]) -> Any:
        """Run a registry change; on a rule's refusal show why (and return None). Refreshes
        on success and returns what the change returned."""
        ref = self.lineage.ref if self.lineage else None
        try:
            done = fn()
        except Exception as exc:
            show_error(self, title, exc)
            return None
        self._changed(ref or "")
        return done

    def ask_stage(self, stage: str) -> None:
        """Ask for the comment (and an override reason where the rules need one), then move."""
        from ...core.lifecycle import needs_baseline_override
        from ..stage_dialog import ask_stage_change, draft_comment

        if self.lineage is None:
            return
        ref = self.lineage.ref
        answer = ask_stage_change(self, ref, stage, needs_override=needs_baseline_override(self.state.workspace, ref),
                                  evidence=evidence(self.state.workspace, ref) if stage == "approved" else "",
                                  draft=draft_comment(self.state, ref, stage))
        if answer is not None:
            self.set_stage(stage, comment=answer[0], override=answer[1])

    def set_stage(self, stage: str, *, comment: str = "", override: Optional[str] = None) -> bool:
        from ..stage_dialog import change_stage_with_help

        ref = self.lineage.ref

        def done() -> None:
            self._pending_ref = ref
            self.state.models_changed.emit(ref)

        return change_stage_with_help(self, self.state, ref, stage, comment=comment, override=override,
                                      on_done=done, ask_again=lambda: self.ask_stage(stage))

    def ask_alias(self) -> None:
        if self.lineage is None:
            return
        alias, ok = QInputDialog.getText(self, "Set an alias",
                                         f"Point which alias at {self.lineage.ref}? (IT scores with the "
                                         "version that holds 'production')", text="production")
        if ok and alias.strip():
            self.set_alias(alias.strip())

    def set_alias(self, alias: str, comment: str = "") -> bool:
        from ...core.lifecycle import set_alias

        v = self.lineage.version
        moved = self._act(f"Cannot set {alias}", lambda: set_alias(self.state.workspace, v.model, alias,
                                                                   v.version, actor=self.state.actor,
                                                                   comment=comment))
        return moved is not None

    def ask_retrain(self) -> None:
        """Retrain this version on newer data (a background job); the new version, the
        challenger, is selected when it is done."""
        from ..retrain_dialog import ask_retrain

        if self.lineage is not None:
            ask_retrain(self, self.state, self.runner, self.lineage.ref,
                        on_done=lambda result: self.select_ref(result.challenger, force=True))

    def open_challenge(self, ref: Optional[str] = None) -> None:
        """The Challenge view of ``ref`` (default: the selected version)."""
        ref = ref or (self.lineage.ref if self.lineage else None)
        if ref is None:
            return
        try:
            self.challenge_view.open_for(ref)
        except Exception as exc:
            show_error(self, f"Cannot challenge {ref}", exc)
            return
        self.stack.setCurrentWidget(self.challenge_view)

    def ask_rollback(self) -> None:
        """Move production back one recorded move, with a reason."""
        from ...core.challenge import roll_back, roll_back_target

        if self.lineage is None:
            return
        model = self.lineage.version.model
        target = roll_back_target(self.state.workspace, model)
        if target is None:
            return
        reason, ok = QInputDialog.getMultiLineText(
            self, "Roll back production", f"Move production of {model} back from version {target[0]} to version "
            f"{target[1]}, the one it held before? Why? (recorded with the move)")
        if ok:
            self._act("Cannot roll back", lambda: roll_back(self.state.workspace, model, reason=reason,
                                                             actor=self.state.actor))

    def go_export(self) -> None:
        """Open the Export page on this version."""
        if self.lineage is None:
            return
        self.go_to("Export")
        export = getattr(self.window(), "page", None)
        if export is not None:
            export("Export").select(self.lineage.ref)

    def ask_tag(self) -> None:
        if self.lineage is None:
            return
        text, ok = QInputDialog.getText(self, "Tag this version",
                                        "A tag as key=value (a key alone removes that tag):")
        if not ok or not text.strip():
            return
        key, sep, value = text.partition("=")
        self.tag_version(key.strip(), value.strip() if sep else None)

    def tag_version(self, key: str, value: Optional[str]) -> bool:
        """Set tag ``key`` to ``value`` on the version shown (None: remove it); Edit → Undo
        records the way back."""
        from ...core.annotations import remove_tag, set_tag

        ref = self.lineage.ref

        def put(v: Optional[str]) -> dict[str, Any]:
            ws, actor = self.state.workspace, self.state.actor
            return set_tag(ws, ref, key, v, actor=actor) if v is not None else remove_tag(ws, ref, key, actor=actor)

        changed = self._act("Cannot tag" if value is not None else "Cannot remove the tag", lambda: put(value))
        if changed is None or not changed["changed"]:
            return changed is not None
        before = changed["before"]
        what = f"tag {key}={value}" if value is not None else f"remove tag {key}"
        self.undo_stack.push(RecordedChange(f"{ref}: {what}", self.state, self, forward=lambda: put(value),
                                            backward=lambda: put(before), after=lambda: self._changed(ref)))
        return True

    def ask_description(self) -> None:
        if self.lineage is None:
            return
        ref = self.lineage.ref
        text, ok = QInputDialog.getMultiLineText(self, f"Describe {ref}", "What is this version, in a sentence "
                                                 "or two?", self.lineage.version.description or "")
        if ok:
            self.describe_version(text)

    def describe_version(self, text: str) -> bool:
        """Replace the description of the version shown; Edit → Undo records the old one again."""
        from ...core.annotations import set_description

        ref = self.lineage.ref

        def put(t: str) -> dict[str, Any]:
            return set_description(self.state.workspace, ref, t, actor=self.state.actor)

        changed = self._act("Cannot save the description", lambda: put(text))
        if changed is None or not changed["changed"]:
            return changed is not None
        before, after = changed["before"], changed["after"]
        self.undo_stack.push(RecordedChange(f"{ref}: description", self.state, self, forward=lambda: put(after),
                                            backward=lambda: put(before), after=lambda: self._changed(ref)))
        return True

    def _changed(self, ref: str) -> None:
        """The registry changed for ``ref``: the list and its detail read it again."""
        self._pending_ref = ref
        self.state.models_changed.emit(ref)

    def _toggle_single_user(self, on: bool) -> None:
        ws = self.state.workspace
        if ws is None:
            return
        if on:
            answer = QMessageBox.question(
                self, "Single-user mode",
                "In single-user mode the person who trained a version may also approve it. Every such "
                "approval is recorded as self-approved, and the model card and the export say so. "
                "Switch it on for this workspace?")
            if answer != QMessageBox.StandardButton.Yes:
                self.single_user.setChecked(False)
                return
        from ...core.lifecycle import set_single_user

        if self._act("Cannot change the mode", lambda: set_single_user(ws, on, actor=self.state.actor)) is None:
            self.single_user.setChecked(not on)


def tree_html(nodes: list[Node]) -> str:
    """Nested lists: bold labels, details after them, wrapping with the panel."""
    def items(level: list[Node]) -> str:
        out = []
        for n in level:
            detail = f" — {html.escape(n.detail)}" if n.detail else ""
            inner = f"<ul style='margin-left:-14px'>{items(n.children)}</ul>" if n.children else ""
            out.append(f"<li style='margin-bottom:3px'><b>{html.escape(n.label)}</b>{detail}{inner}</li>")
        return "".join(out)
    return f"<ul style='margin-left:-22px'>{items(nodes)}</ul>"
