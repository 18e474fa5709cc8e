"""The status-bar job list: what runs now, how far it is, and a Cancel button."""

from __future__ import annotations

from typing import Optional

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from .jobs import Job, JobRunner


class JobStatus(QWidget):
    def __init__(self, runner: JobRunner, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self.label = QLabel()
        self.label.setTextFormat(Qt.TextFormat.PlainText)  # jobs name datasets and files
        self.bar = QProgressBar()
        self.bar.setFixedWidth(200)
        self.bar.setRange(0, 1000)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop the running job; nothing half-done is kept")
        self.cancel_button.clicked.connect(self._cancel)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label)
        layout.addWidget(self.bar)
        layout.addWidget(self.cancel_button)
        runner.job_started.connect(self._job_started)
        runner.job_ended.connect(lambda _job: self._refresh())
        self._refresh()

    def _job_started(self, job: Job) -> None:
        job.progress.connect(lambda _f, _m: self._refresh())
        self._refresh()

    def current(self) -> Optional[Job]:
        return self.runner.jobs[-1] if self.runner.jobs else None

    def _refresh(self) -> None:
        job = self.current()
        self.setVisible(job is not None)
        if job is None:
            return
        more = len(self.runner.jobs) - 1
        suffix = f" (+{more} more)" if more > 0 else ""
        self.label.setText(f"{job.last_message or job.title}{suffix}")
        if job.last_fraction < 0:
            self.bar.setRange(0, 0)  # busy indicator
        else:
            self.bar.setRange(0, 1000)
            self.bar.setValue(int(job.last_fraction * 1000))
        self.cancel_button.setEnabled(not job.token.cancelled)

    def _cancel(self) -> None:
        job = self.current()
        if job is not None:
            job.cancel()
            self.label.setText(f"Cancelling {job.title}…")
            self.cancel_button.setEnabled(False)
