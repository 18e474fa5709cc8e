"""The Challenge view of the Registry: a challenger version judged against production on
the same recent rows. Pick the data and the window of rows, declare the rule and the
margin, run it as a background job, read the verdict, the figures and the per-segment
table, and go on: approval (four eyes, with the verdict in front of the approver),
promotion to production, or a new version that takes only the improved segments.

The statistics, the rules and the records are the core's (``core/challenge``); this view
asks for what they need and shows what they return.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from markupsafe import Markup, escape
from PySide6.QtCore import QDate, Qt, Signal
from PySide6.QtWidgets import (QComboBox, QDateEdit, QDoubleSpinBox, QHBoxLayout, QHeaderView, QLabel,
                               QMessageBox, QPushButton, QSplitter, QTabWidget, QVBoxLayout, QWidget)

from ...core import numbers
from ..errors import show_error
from ..jobs import JobRunner
from ..selection import Selection
from ..state import AppState
from ..page_parts import heading
from ..tables import fill_table, make_table

if TYPE_CHECKING:
    from ...core.registry.lineage import VersionLineage

LATEST, SINCE = "latest", "since"
AUTOMATIC = "(from the training split)"
GOOD, BAD = "#1e7b34", "#b3261e"


class ChallengeView(QWidget):
    """One challenger version, the form of a challenge and the stored challenge shown."""

    back = Signal()

    def __init__(self, state: AppState, runner: JobRunner, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.state, self.runner = state, runner
        self.ref: Optional[str] = None
        self.version: Any = None
        #: key (workspace generation, challenger ref, challenge id); result the stored challenge
        self.selection = Selection(self._render)
        self.stored: list[Any] = []  # StoredChallenge
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        top = QHBoxLayout()
        self.title = heading("Challenge")
        top.addWidget(self.title, 1)
        top.addWidget(QLabel("Shown:"))
        self.shown = QComboBox()
        self.shown.setMinimumWidth(320)
        # wide enough for its longest entry: the verdict and the date must not be cut off
        self.shown.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.shown.setToolTip("Every challenge is stored with the rule declared before it was scored")
        self.shown.currentIndexChanged.connect(lambda _i: self._stored_chosen())
        top.addWidget(self.shown)
        back = QPushButton("Back to the list")
        back.clicked.connect(self.back.emit)
        top.addWidget(back)
        outer.addLayout(top)

        form = QHBoxLayout()
        form.addWidget(QLabel("Against:"))
        self.against = QComboBox()
        self.against.setMinimumWidth(170)
        form.addWidget(self.against)
        form.addWidget(QLabel("Data:"))
        self.data = QComboBox()
        self.data.setMinimumWidth(150)
        self.data.currentIndexChanged.connect(lambda _i: self._fill_columns())
        form.addWidget(self.data)
        form.addWidget(QLabel("Rows:"))
        self.window = QComboBox()
        self.window.addItem("the newest share", LATEST)
        self.window.addItem("the rows since", SINCE)
        self.window.currentIndexChanged.connect(lambda _i: self._form_changed())
        form.addWidget(self.window)
        self.share = QDoubleSpinBox()
        self.share.setRange(1, 99)
        self.share.setValue(20)
        self.share.setSuffix(" %")
        self.share.setDecimals(0)
        form.addWidget(self.share)
        self.since = QDateEdit(QDate.currentDate().addMonths(-2))
        self.since.setCalendarPopup(True)
        self.since.setDisplayFormat("yyyy-MM-dd")
        form.addWidget(self.since)
        form.addWidget(QLabel("by"))
        self.time_column = QComboBox()
        self.time_column.setToolTip("The column that orders the rows in time")
        form.addWidget(self.time_column)
        form.addStretch(1)
        outer.addLayout(form)

        rule = QHBoxLayout()
        rule.addWidget(QLabel("Rule:"))
        self.rule = QComboBox()
        self.rule.addItem("superiority: better by more than the margin", "superiority")
        self.rule.addItem("non-inferiority: not worse by the margin or more", "non-inferiority")
        rule.addWidget(self.rule)
        rule.addWidget(QLabel("on"))
        self.metric = QComboBox()
        rule.addWidget(self.metric)
        rule.addWidget(QLabel("margin"))
        self.margin = QDoubleSpinBox()
        self.margin.setDecimals(3)
        self.margin.setRange(0, 1_000_000)
        self.margin.setSingleStep(0.005)
        rule.addWidget(self.margin)
        for w in (self.rule, self.metric):
            w.currentIndexChanged.connect(lambda _i: self._form_changed())
        self.margin.valueChanged.connect(lambda _v: self._form_changed())
        rule.addStretch(1)
        self.run_button = QPushButton("Run challenge")
        self.run_button.setDefault(True)
        self.run_button.clicked.connect(self.run_challenge)
        rule.addWidget(self.run_button)
        outer.addLayout(rule)
        self.declared = QLabel()
        self.declared.setWordWrap(True)
        self.declared.setTextFormat(Qt.TextFormat.PlainText)
        self.declared.setStyleSheet("color: gray")
        outer.addWidget(self.declared)

        self.verdict = QLabel()
        self.verdict.setWordWrap(True)
        self.verdict.setTextFormat(Qt.TextFormat.RichText)
        self.verdict.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        outer.addWidget(self.verdict)
        split = QSplitter(Qt.Orientation.Vertical)
        split.setObjectName("challengeSplitter")
        split.setChildrenCollapsible(False)
        self.metrics = make_table(["Metric", "Production", "Challenger", "Challenger − production (95%)"],
                                  name="challenge-metrics")
        self.metrics.horizontalHeader().setStretchLastSection(True)
        split.addWidget(self.metrics)
        self.tabs = QTabWidget()
        self.segments = make_table(["Segment", "Rows", "Production", "Challenger", "Difference (95%)", "Verdict",
                                    "Scored by"], name="challenge-segments")
        self.segments.horizontalHeader().setSectionResizeMode(6, QHeaderView.ResizeMode.Stretch)
        self.tabs.addTab(self.segments, "Per segment")
        self.more = QLabel()
        self.more.setWordWrap(True)
        self.more.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.more.setTextFormat(Qt.TextFormat.RichText)
        self.more.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.tabs.addTab(self.more, "Calibration and decisions")
        self.rows_text = QLabel()
        self.rows_text.setWordWrap(True)
        self.rows_text.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.rows_text.setTextFormat(Qt.TextFormat.RichText)
        self.tabs.addTab(self.rows_text, "Rows and notes")
        split.addWidget(self.tabs)
        split.setSizes([250, 230])
        outer.addWidget(split, 1)

        actions = QHBoxLayout()
        self.approve_button = QPushButton("Approve…")
        self.approve_button.clicked.connect(self.approve)
        self.promote_button = QPushButton("Promote to production…")
        self.promote_button.clicked.connect(self.promote)
        self.segments_button = QPushButton("Promote improved segments only…")
        self.segments_button.clicked.connect(self.promote_segments)
        self.next_step = QLabel()
        self.next_step.setWordWrap(True)
        self.next_step.setStyleSheet("color: gray")
        for w in (self.approve_button, self.promote_button, self.segments_button):
            actions.addWidget(w)
        actions.addWidget(self.next_step, 1)
        outer.addLayout(actions)

    # -- what is challenged -----------------------------------------------------------------

    def open_for(self, ref: str) -> None:
        """Show ``ref`` as the challenger: the form filled from its versions and data, and
        its newest stored challenge."""
        from ...core.registry.lifecycle import aliases_of, search_versions
        from ...core.train import find_version, run
        from ...core.validate.metrics import MAIN_METRICS, PRIMARY

        ws = self.state.workspace
        self.ref, self.version = ref, find_version(ws, ref)
        self.title.setText(f"Challenge {ref} ({self.version.stage})")
        name = self.version.model
        self.against.clear()
        held = {a["alias"]: a["ref"] for a in aliases_of(ws, name)}
        if "production" in held:
            self.against.addItem(f"production ({held['production']})", "production")
        for v in search_versions(ws, model=name, limit=None).rows:
            if v.ref != ref and v.stage != "retired":
                self.against.addItem(v.ref, v.ref)
        self.data.blockSignals(True)
        self.data.clear()
        trained_on = run(ws, self.version.run_id).dataset_id
        for ds in ws.datasets():
            self.data.addItem(ds.name, ds.id)
        self.data.setCurrentIndex(max(self.data.findData(trained_on), 0))
        self.data.blockSignals(False)
        self._fill_columns()
        self.metric.blockSignals(True)
        self.metric.clear()
        task = self.version.task
        for m in MAIN_METRICS[task]:
            self.metric.addItem(numbers.metric_name(m, task), m)
        self.metric.setCurrentIndex(max(self.metric.findData(PRIMARY[task]), 0))
        self.metric.blockSignals(False)
        self._list_stored()

    def _fill_columns(self) -> None:
        ws = self.state.workspace
        self.time_column.clear()
        self.time_column.addItem(AUTOMATIC, None)
        if ws is not None and self.data.currentData() is not None:
            for c in ws.dataset(self.data.currentData()).columns:
                if c.kind in ("datetime", "numeric"):
                    self.time_column.addItem(c.name, c.name)
        self._form_changed()

    def holdout_text(self) -> str:
        if self.window.currentData() == SINCE:
            return f"since:{self.since.date().toString('yyyy-MM-dd')}"
        return f"latest:{self.share.value() / 100:g}"

    def _form_changed(self) -> None:
        from ...core.challenge import ChallengeError, Rule

        latest = self.window.currentData() == LATEST
        self.share.setVisible(latest)
        self.since.setVisible(not latest)
        if self.version is None:
            return
        try:
            rule = Rule.checked(self.version.task, self.metric.currentData(), self.rule.currentData(),
                                self.margin.value())
            self.declared.setText(f"Run challenge declares, and records before anything is scored: "
                                  f"{rule.describe(self.version.task)}.")
            self.run_button.setEnabled(True)
        except ChallengeError as exc:
            self.declared.setText(str(exc))
            self.run_button.setEnabled(False)

    def _list_stored(self, select: Optional[int] = None) -> None:
        """The challenges of this version as the challenger, newest first; shows ``select``
        (or the newest)."""
        from ...core.challenge import of_model

        self.stored = [c for c in of_model(self.state.workspace, self.version.model) if c.challenger == self.ref]
        self.shown.blockSignals(True)
        self.shown.clear()
        for c in self.stored:
            self.shown.addItem(f"challenge {c.id} against {c.champion}: {c.outcome} · "
                               f"{numbers.timestamp(c.declared_at)}", c.id)
        if not self.stored:
            self.shown.addItem("none yet", None)
        ids = [c.id for c in self.stored]
        self.shown.setCurrentIndex(ids.index(select) if select in ids else 0)
        self.shown.blockSignals(False)
        self._stored_chosen()

    def _stored_chosen(self) -> None:
        cid = self.shown.currentData()
        key = (self.state.generation, self.ref, cid)
        self.selection.select(key)
        if cid is not None:
            self.selection.show(key, next(c for c in self.stored if c.id == cid))

    @property
    def shown_report(self) -> Any:
        """The ChallengeReport on screen, or None."""
        shown = self.selection.result
        return None if shown is None else shown.report

    # -- running -----------------------------------------------------------------------------

    def run_challenge(self) -> None:
        ws = self.state.workspace
        if ws is None or self.ref is None:
            return
        root, actor, ref = ws.root, self.state.actor, self.ref
        choice = {"against": self.against.currentData(), "on": self.data.currentData(),
                  "holdout": self.holdout_text(), "metric": self.metric.currentData(),
                  "rule": self.rule.currentData(), "margin": self.margin.value(),
                  "time_column_name": self.time_column.currentData()}
        if choice["against"] is None:
            show_error(self, "Nothing to challenge", _refusal(f"{self.version.model} has no other version to judge "
                                                             f"{ref} against."))
            return
        self.run_button.setEnabled(False)
        self.verdict.setText("Running the challenge…")

        def work(progress, cancel):
            from ...core.challenge import challenge
            from ...core.workspace import Workspace

            with Workspace.open(root) as own:
                return challenge(own, ref, actor=actor, progress=progress, cancel=cancel, **choice)

        def ended() -> None:
            self.run_button.setEnabled(True)

        def done(report: Any) -> None:
            ended()
            self.state.models_changed.emit(ref)
            if self.ref == ref:
                self._list_stored(select=report.challenge_id)

        def failed(exc: BaseException, tb: str) -> None:
            ended()
            if self.ref == ref:
                self._list_stored()
            show_error(self, "The challenge could not be judged", exc, tb)

        self.runner.start(f"Challenging {ref}", work, on_success=done, on_error=failed,
                          on_cancel=lambda: (ended(), self._list_stored()))

    # -- drawing -------------------------------------------------------------------------------

    def _render(self) -> None:
        """Draw the stored challenge chosen, or say how to run one."""
        r = self.shown_report
        shown = self.selection.result
        self.metrics.setRowCount(0)
        self.segments.setRowCount(0)
        self._update_actions(r)
        if r is None:
            status = ("" if shown is None else
                      f"Challenge {shown.id} was {shown.status}" + (f": {shown.error}." if shown.error else "."))
            self.verdict.setText(escape(status or "No challenge of this version yet. Choose the data, the rows and "
                                        "the rule, then Run challenge."))
            self.more.setText("")
            self.rows_text.setText("")
            return
        colour = GOOD if r.wins else BAD
        h = r.holdout
        head, _, rest = r.sentence.partition(": ")
        self.verdict.setText(Markup(
            "<div style='border-left: 6px solid {colour}; padding-left: 8px'><b style='color:{colour}'>{head}</b>: "
            "{rest}{segments}<br><span style='color:gray'>Challenge {id} on {data}, {window} by {time}: {rows} "
            "labelled rows, {first} to {last}. Rule declared before scoring: {rule}.</span></div>").format(
                colour=colour, head=head, rest=rest, segments=f" {r.segment_sentence()}" if r.segments else "",
                id=r.challenge_id, data=str(r.dataset["name"]), window=h["window_text"], time=h["time_column"],
                rows=f"{h['rows']:,}", first=h["first"], last=h["last"], rule=r.rule_text))
        fill_table(self.metrics, [[m.label + (" (the rule's)" if m.name == r.rule["metric"] else ""),
                                   numbers.with_interval(m.champion.value, m.champion.low, m.champion.high),
                                   numbers.with_interval(m.challenger.value, m.challenger.low, m.challenger.high),
                                   numbers.with_interval(m.difference.value, m.difference.low, m.difference.high,
                                                         sign=True)] for m in r.metrics])
        fill_table(self.segments, [[s.segment, s.rows, numbers.value(s.champion), numbers.value(s.challenger),
                                    numbers.with_interval(s.difference, s.low, s.high, sign=True),
                                    r.segment_verdict(s),
                                    _scored_by(s.champion_model, s.challenger_model)]
                                   for s in r.segments])
        self.segments.horizontalHeaderItem(4).setText(f"Difference ({r.segment_interval()})")
        self.tabs.setTabText(0, f"Per segment of {r.segment_column}" if r.segment_column else "Per segment (none)")
        parts = []
        if r.mcnemar is not None:
            parts.append(escape(r.mcnemar.sentence()))
        if r.thresholds is not None:
            parts.append(escape(f"Decision thresholds: production {_threshold(r.thresholds.champion)} "
                                f"({r.thresholds.champion_source}); challenger {_threshold(r.thresholds.challenger)} "
                                f"({r.thresholds.challenger_source})."))
        for side, name in (("champion", "Production"), ("challenger", "Challenger")):
            cal = r.calibration.get(side) or []
            if cal:
                parts.append(Markup("<b>{}'s calibration</b>: {}").format(name, "; ".join(
                    f"{m.label} {numbers.with_interval(m.value, m.low, m.high)}" for m in cal)))
        if not parts:
            parts.append(Markup("Calibration is measured for two-class models' probabilities."))
        self.more.setText(Markup("<br><br>").join(parts))
        from ...core.challenge.rows import RowCheck

        rows = Markup("<br>").join(RowCheck(**c).sentence() for c in r.row_checks)
        notes = Markup("<br>").join(r.notes)
        self.rows_text.setText(Markup("<b>Rows neither version was trained on</b><br>{}{}").format(
            rows, Markup("<br><br><b>Notes</b><br>{}").format(notes) if r.notes else ""))

    def _update_actions(self, r: Any) -> None:
        stage = self.version.stage if self.version is not None else None
        self.approve_button.setEnabled(stage == "validated")
        self.promote_button.setEnabled(stage == "approved")
        self.segments_button.setEnabled(bool(r is not None and r.segments_promotable and r.improved_segments))
        if stage == "draft":
            hint = ("Next: validate it on the Validate page and mark it validated; then a second person approves it "
                    "here, seeing this verdict.")
        elif stage == "validated":
            hint = "Next: a second person approves it (four eyes), with this verdict in front of them."
        elif stage == "approved":
            hint = "Approved: it may be promoted to production. Nothing is promoted automatically."
        else:
            hint = ""
        if r is not None and r.segments_promotable and not r.improved_segments:
            hint += " No segment passed the rule, so there are no segments to promote."
        self.next_step.setText(hint)

    # -- going on --------------------------------------------------------------------------------

    def _changed(self) -> None:
        ref = self.ref
        self.state.models_changed.emit(ref or "")
        if ref is not None:
            from ...core.train import find_version

            self.version = find_version(self.state.workspace, ref)
            self.title.setText(f"Challenge {ref} ({self.version.stage})")
            self._update_actions(self.shown_report)

    def approve(self) -> None:
        """Approval, as everywhere: a comment and a second person; the verdict is shown to
        the approver in the dialog."""
        from ...core.registry.lifecycle import change_stage
        from ..stage_dialog import ask_stage_change

        if self.ref is None:
            return
        answer = ask_stage_change(self, self.ref, "approved", needs_override=False,
                                  evidence=evidence(self.state.workspace, self.ref))
        if answer is None:
            return
        try:
            change_stage(self.state.workspace, self.ref, "approved", actor=self.state.actor, comment=answer[0])
        except Exception as exc:
            show_error(self, f"Cannot approve {self.ref}", exc)
            return
        self._changed()

    def promote(self) -> None:
        from ...core.challenge import promote

        r = self.shown_report
        said = r.sentence if r is not None else "It was never challenged."
        if QMessageBox.question(self, "Promote to production",
                                f"Point production at {self.ref}? IT's next export and scoring use it.\n\n{said}") \
                != QMessageBox.StandardButton.Yes:
            return
        try:
            promote(self.state.workspace, self.ref, actor=self.state.actor,
                    comment=f"challenge {r.challenge_id}: {r.verdict}" if r is not None else "")
        except Exception as exc:
            show_error(self, f"Cannot promote {self.ref}", exc)
            return
        self._changed()

    def promote_segments(self) -> None:
        r = self.shown_report
        if r is None:
            return
        if QMessageBox.question(
                self, "Promote improved segments only",
                f"Build a new draft version from challenge {r.challenge_id}: {self.ref}'s models for "
                f"{', '.join(r.improved_segments)}, production's for the other segments and for rows of no segment. "
                "Nothing is refitted; the new version becomes the challenger and needs approval like any "
                "version.") != QMessageBox.StandardButton.Yes:
            return
        root, actor, cid = self.state.workspace.root, self.state.actor, r.challenge_id

        def work(progress, cancel):
            from ...core.challenge import promote_segments
            from ...core.workspace import Workspace

            progress(None, "Assembling the new version")
            with Workspace.open(root) as own:
                return promote_segments(own, cid, actor=actor)

        def done(result: Any) -> None:
            self.state.models_changed.emit(result.version)
            self.open_for(result.version)

        self.runner.start(f"Promoting the improved segments of challenge {cid}", work, on_success=done,
                          on_error=lambda exc, tb: show_error(self, "Cannot promote the segments", exc, tb))


def evidence(ws: Any, ref: str) -> str:
    """What an approver reads before approving a challenger: its latest verdict ("" when
    it was never challenged)."""
    from ...core.challenge import latest_for
    from ...core.train import find_version

    found = latest_for(ws, find_version(ws, ref).id)
    if found is None:
        return ""
    return f"Challenge {found.challenge_id} against {found.champion}: {found.sentence}"


def _scored_by(champion: str, challenger: str) -> str:
    """Which model of each version scores a segment, in words."""
    words = {"segment": "the segment's own model", "fallback": "the global fallback"}
    if champion == challenger:
        return f"both: {words.get(champion, champion)}"
    return f"production: {words.get(champion, champion)}; challenger: {words.get(challenger, challenger)}"


def _threshold(value: Optional[float]) -> str:
    return numbers.value(0.5 if value is None else value)


def _refusal(message: str) -> Exception:
    from ...core.challenge import ChallengeError

    return ChallengeError(message)


def origin_and_challenge(lin: "VersionLineage") -> list[Markup]:
    """Lines of a version's detail (rich text, escaped): the version it came from, and its
    newest challenge as the challenger with the verdict."""
    lines = [Markup("From {}.").format(node.label) for node in lin.parents()]
    for c in lin.challenges:
        if c.challenger == lin.ref:
            colour = GOOD if c.wins else BAD
            what = Markup("<b style='color:{}'>{}</b>").format(colour, c.verdict) if c.verdict else c.status
            lines.append(Markup("Challenge {} against {}: {} ({} on {}).").format(
                c.id, c.champion, what, c.rule["rule"], numbers.metric_name(c.rule["metric"])))
            break  # the newest
    return lines
