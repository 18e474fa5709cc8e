"""The error a training run raises when the data or the choices make it impossible."""

from __future__ import annotations

from ..errors import MlopsError


class TrainError(MlopsError):
    """A model cannot be trained on the chosen data; the message says what to change."""
