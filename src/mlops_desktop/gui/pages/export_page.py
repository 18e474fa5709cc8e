"""Export page: an approved version becomes a package IT can run without this app. The
analyst picks the version, sees who approved it and every file that will be written,
chooses where, and exports with progress; the core refuses anything not approved."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from markupsafe import Markup
from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFileDialog, QHBoxLayout, QLabel, QLineEdit,
                               QPushButton, QSplitter, QStackedWidget, QVBoxLayout, QWidget)

from ...core import numbers
from ..errors import show_error
from ..jobs import JobRunner
from ..state import AppState
from ..page_kinds import ReloadingPage
from ..page_parts import EmptyState, heading
from ..tables import fill_table, make_table


def _size(n: Optional[int], exact: bool = True) -> str:
    if n is None:
        return "made at export"
    text = numbers.file_size(n)
    return text if exact else f"about {text}"


class ExportPage(ReloadingPage):
    title = "Export"

    def __init__(self, state: AppState, runner: JobRunner, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.state, self.runner = state, runner
        self.plan: Any = None
        self.last_result: Any = None

        outer = QVBoxLayout(self)
        top = QHBoxLayout()
        top.addWidget(heading("Export"))
        top.addSpacing(12)
        top.addWidget(QLabel("Version:"))
        self.version = QComboBox()
        self.version.setMinimumWidth(280)
        self.version.currentIndexChanged.connect(lambda _i: self._plan())
        top.addWidget(self.version)
        self.approved_only = QCheckBox("Approved only")
        self.approved_only.setChecked(True)
        self.approved_only.toggled.connect(lambda _on: self.reload())
        top.addWidget(self.approved_only)
        top.addStretch(1)
        outer.addLayout(top)

        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        outer.addWidget(self.summary)

        where = QHBoxLayout()
        where.addWidget(QLabel("Write to:"))
        self.destination = QLineEdit()
        self.destination.setPlaceholderText("a new folder for the package")
        where.addWidget(self.destination, 1)
        browse = QPushButton("Choose…")
        browse.clicked.connect(self.choose_destination)
        where.addWidget(browse)
        self.as_zip = QCheckBox("as one .zip file")
        self.as_zip.setToolTip("One file to hand over; IT unzips it and runs score.py inside")
        self.as_zip.toggled.connect(lambda _on: self._suggest_destination(force=True))
        where.addWidget(self.as_zip)
        self.export_button = QPushButton("Export")
        self.export_button.setDefault(True)
        self.export_button.clicked.connect(self.export)
        where.addWidget(self.export_button)
        outer.addLayout(where)

        self.result = QLabel()
        self.result.setWordWrap(True)
        self.result.setTextFormat(Qt.TextFormat.RichText)
        self.result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        result_row = QHBoxLayout()
        result_row.addWidget(self.result, 1)
        self.open_button = QPushButton("Open the folder")
        self.open_button.clicked.connect(self.open_result)
        self.open_button.setVisible(False)
        result_row.addWidget(self.open_button, 0, Qt.AlignmentFlag.AlignTop)
        outer.addLayout(result_row)

        self.files = make_table(["File", "What it is", "Size"], name="package-contents")
        self.files.horizontalHeader().setStretchLastSection(True)
        self.previous = make_table(["Exported (UTC)", "By", "Where", "Manifest SHA-256"], name="exports")
        self.previous.horizontalHeader().setStretchLastSection(True)
        box = QWidget()
        box_layout = QVBoxLayout(box)
        box_layout.setContentsMargins(0, 0, 0, 0)
        box_layout.addWidget(QLabel("<b>What the package will hold</b>"))
        box_layout.addWidget(self.files, 1)
        prev = QWidget()
        prev_layout = QVBoxLayout(prev)
        prev_layout.setContentsMargins(0, 0, 0, 0)
        prev_layout.addWidget(QLabel("<b>Earlier exports of this version</b>"))
        prev_layout.addWidget(self.previous, 1)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.setObjectName("exportSplitter")
        self.splitter.addWidget(box)
        self.splitter.addWidget(prev)
        self.splitter.setSizes([420, 140])

        self.content = QWidget()
        content_layout = QVBoxLayout(self.content)
        content_layout.setContentsMargins(0, 0, 0, 0)
        content_layout.addWidget(self.splitter)
        self.empty = EmptyState(
            "Nothing to export yet",
            "Only an approved model version can be exported, so that IT runs what a second person "
            "signed off. Train a model, validate it, and have a colleague approve it on the Registry "
            "page; it then appears here.",
            [("Go to the Registry", lambda: self.go_to("Registry"))])
        self.stack = QStackedWidget()
        self.stack.addWidget(self.empty)
        self.stack.addWidget(self.content)
        outer.addWidget(self.stack, 1)
        self._set_enabled(False)

        state.workspace_changed.connect(self.mark_stale)
        state.models_changed.connect(lambda _ref: self.mark_stale())

    def _set_enabled(self, on: bool) -> None:
        for w in (self.destination, self.as_zip, self.export_button):
            w.setEnabled(on)

    def reload(self) -> None:
        """List the versions (approved ones, or all), the production one first."""
        self.stale = False
        ws = self.state.workspace
        current = self.version.currentData()
        self.version.blockSignals(True)
        self.version.clear()
        if ws is not None:
            from ...core.registry.lifecycle import search_versions

            rows = search_versions(ws, stage="approved" if self.approved_only.isChecked() else None,
                                   limit=2000).rows
            rows.sort(key=lambda r: "production" not in r.aliases)  # stable: newest first otherwise
            for r in rows:
                label = f"{r.ref} — {r.stage}" + (f" ({', '.join(r.aliases)})" if r.aliases else "")
                self.version.addItem(f"{label} · {r.family} for {r.target}", r.ref)
        index = self.version.findData(current)
        self.version.setCurrentIndex(index if index >= 0 else (0 if self.version.count() else -1))
        self.version.blockSignals(False)
        has_any = self.version.count() > 0
        self.stack.setCurrentWidget(self.content if has_any or not self.approved_only.isChecked() else self.empty)
        self._plan()

    def select(self, ref: str) -> None:
        """Show ``MODEL:VERSION`` (listing every stage if it is not approved)."""
        if self.version.findData(ref) < 0 and self.approved_only.isChecked():
            self.approved_only.setChecked(False)
        index = self.version.findData(ref)
        if index >= 0:
            self.version.setCurrentIndex(index)

    def _plan(self) -> None:
        ws, ref = self.state.workspace, self.version.currentData()
        self.result.setText("")
        self.open_button.setVisible(False)
        if ws is None or not ref:
            self.plan = None
            self.summary.setText("")
            self.files.setRowCount(0)
            self.previous.setRowCount(0)
            self._set_enabled(False)
            return
        from ...core.export import plan_export

        try:
            self.plan = plan_export(ws, ref)
        except Exception as exc:
            show_error(self, f"Cannot plan the export of {ref}", exc)
            return
        p = self.plan
        lines = [Markup("<b>{}</b>: {} predicting <b>{}</b> ({}) from {} features{}; trained by {} (run {}).").format(
            p.ref, p.family, p.target, p.task, len(p.features),
            Markup(", one model per {}").format(p.segment_by) if p.segment_by else "", p.trained_by, p.run_id)]
        for a in p.approvals:
            who = Markup("{}{}").format(a["by"], Markup(" <b>(self-approved)</b>") if a["self_approved"] else "")
            lines.append(Markup("Approved by {} on {} UTC: “{}”").format(
                who, str(a["at"])[:16].replace("T", " "), str(a["comment"])))
        if p.reason:
            lines.append(Markup("<span style='color:#b00020'>{}</span>").format(p.reason))
        self.summary.setText(Markup("<br>").join(lines))
        fill_table(self.files, [[f.path, f.what, _size(f.size_bytes, f.exact)] for f in p.files])
        self.files.setColumnWidth(1, 460)
        fill_table(self.previous, [[str(e.get("created_at", ""))[:19].replace("T", " "), e.get("created_by", ""),
                                    e.get("out_path") or e.get("path") or "", str(e.get("manifest_sha256", ""))[:16] + "…"]
                                   for e in p.previous_exports])
        self._set_enabled(p.exportable)
        self._suggest_destination()

    def _suggest_destination(self, force: bool = False) -> None:
        if self.plan is None:
            return
        text = self.destination.text().strip()
        if text and not force:
            return
        base = Path(text).parent if text else Path.home()
        name = self.plan.suggested_name + (".zip" if self.as_zip.isChecked() else "")
        self.destination.setText(str(base / name))

    def choose_destination(self) -> None:
        if self.plan is None:
            return
        start = self.destination.text() or str(Path.home() / self.plan.suggested_name)
        if self.as_zip.isChecked():
            path, _ = QFileDialog.getSaveFileName(self, "Export as a zip file", start, "Zip files (*.zip)")
        else:
            parent = QFileDialog.getExistingDirectory(self, "Export into which folder?", str(Path(start).parent))
            path = str(Path(parent) / self.plan.suggested_name) if parent else ""
        if path:
            self.destination.setText(path)

    def export(self) -> None:
        """Build the package in the background; the job bar shows progress and can cancel."""
        if self.plan is None or not self.plan.exportable:
            return
        out = self.destination.text().strip()
        if not out:
            show_error(self, "Where to?", ValueError("Choose where to write the package first."))
            return
        from ...core.export import export_version

        ws_root, ref, actor, zip_it = self.state.workspace.root, self.plan.ref, self.state.actor, self.as_zip.isChecked()

        def work(progress, cancel):
            from ...core.workspace import Workspace

            own = Workspace.open(ws_root)  # a registry connection for this thread
            try:
                return export_version(own, ref, out, zip=zip_it, actor=actor, progress=progress, cancel=cancel)
            finally:
                own.close()

        self.export_button.setEnabled(False)
        self.result.setText(f"Exporting {ref}…")
        def ended() -> None:
            self.export_button.setEnabled(bool(self.plan and self.plan.exportable))

        def failed(exc, tb) -> None:
            ended()
            self.result.setText("")
            show_error(self, f"Cannot export {ref}", exc, tb)

        def cancelled() -> None:
            ended()
            self.result.setText("Export cancelled; nothing was written.")

        # connected before the job starts: a job that fails at once still shows its error
        self.runner.start(f"Exporting {ref}", work, on_success=lambda result: (self._exported(result), ended()),
                          on_error=failed, on_cancel=cancelled)

    def _exported(self, result: Any) -> None:
        self.last_result = result
        self.state.models_changed.emit(result.ref)  # the lineage shows the export; this page re-plans
        check = result.check or {}
        checked = ""
        if check.get("agrees"):
            checked = (f" Before publishing, the package scored {numbers.cell(check.get('rows'))} example rows "
                       f"exactly as the app does (largest difference {check.get('largest_difference', 0):.1g}).")
        self.result.setText(Markup("<b>Exported</b> {} to {} ({}, {} files) in {}.{} IT can start with its "
                                   "README.md.").format(result.ref, str(result.path), _size(result.size_bytes),
                                                        len(result.files), numbers.seconds(result.seconds), checked))
        self.open_button.setVisible(True)

    def open_result(self) -> None:
        if self.last_result is not None:
            path = Path(self.last_result.path)
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(path if path.is_dir() else path.parent)))
