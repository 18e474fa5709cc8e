"""The errors of retraining and challenging."""

from __future__ import annotations

from ..errors import InvalidChoiceError


class ChallengeError(InvalidChoiceError):
    """A challenge or a retraining that cannot be done as asked (rows a version was trained
    on in the holdout, versions of different targets, no production version, ...); the
    message says why and what to do instead."""
