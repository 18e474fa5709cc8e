"""The error a validation raises when the model and the holdout do not fit together."""

from __future__ import annotations

from ..errors import MlopsError


class ValidationError(MlopsError):
    """A model cannot be validated on the given data; the message says what to change."""
