"""The errors of retraining and challenging."""

from __future__ import annotations

from ..errors import InvalidChoiceError


class ChallengeError(InvalidChoiceError):
    """A challenge or a retraining that cannot be done as asked (rows a version was trained
    on in the holdout, versions of different targets, no production version, ...); the
    message says why and what to do instead."""


#: what to do with datasets too large for a challenge or a retraining (rows are read into memory)
TOO_LARGE_WAY_OUT = ("Import the recent rows you need (a period) as a dataset of their own and use that; "
                     "the Monitor page compares the whole of it with the training data, out of core.")
