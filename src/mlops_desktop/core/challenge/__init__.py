"""Retrain and challenge: a new version trained on newer data with its parent's recorded
spec, judged against production on the same recent rows neither was trained on, by a
rule declared before anything is scored; promoted (or rolled back) only by a person,
through the lifecycle's rules; for a family of per-segment models, segment by segment.

- :func:`retrain` -> :class:`RetrainResult`
- :func:`challenge` -> :class:`ChallengeReport` (stored with the challenge)
- :func:`promote`, :func:`roll_back`: recorded moves of ``production``
- :func:`promote_segments` -> :class:`SegmentPromotion`
- :func:`stored`, :func:`of_model` -> :class:`StoredChallenge`; :func:`latest_for`
"""

from __future__ import annotations

from .errors import ChallengeError
from .judging import challenge
from .promotion import PRODUCTION, promote, roll_back, roll_back_target
from .report import ChallengeReport
from .retrain import RetrainResult, retrain
from .rule import RULES, Rule
from .segments import SegmentPromotion, promote_segments
from .records import StoredChallenge, latest_for, of_model, stored

__all__ = ["ChallengeError", "ChallengeReport", "PRODUCTION", "RULES", "RetrainResult", "Rule", "SegmentPromotion",
           "StoredChallenge", "challenge", "latest_for", "of_model", "promote", "promote_segments", "retrain", "roll_back",
           "roll_back_target", "stored"]
