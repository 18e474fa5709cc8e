"""The error the Monitor stage raises for problems a user can fix."""

from __future__ import annotations

from ..errors import MlopsError


class DriftError(MlopsError):
    """A drift comparison cannot run: a bad batch, reference, date column or threshold."""
