"""The errors of an export, in words an analyst can act on."""

from __future__ import annotations

from ..errors import MlopsError


class ExportError(MlopsError):
    """A package cannot be written: the destination is taken or not writable, or the
    package failed its own check before it was published."""
