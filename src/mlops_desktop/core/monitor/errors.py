"""The error the Monitor stage raises for problems a user can fix."""

from __future__ import annotations

from ..errors import MlopsError


class DriftError(MlopsError):
    """A drift comparison cannot run: a bad batch, reference, date column or threshold."""


class SummaryRefused(DriftError):
    """A monitoring summary from a scoring run that cannot be imported: damaged,
    foreign to this workspace, or already imported; the message says why."""


class LabelsError(DriftError):
    """Labels that cannot be joined to a scored batch: an unknown report, a missing
    column, a batch that can no longer be read as it was."""
