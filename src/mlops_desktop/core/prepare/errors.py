"""The error preparing data raises when a recipe is refused or cannot be applied."""

from __future__ import annotations

from ..errors import MlopsError


class PrepareError(MlopsError):
    """A recipe or a step is refused, or cannot be applied to the data; the message names
    the step and says what to change."""
