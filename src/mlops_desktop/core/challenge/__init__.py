"""Retrain and challenge: a new version trained on newer data with its parent's recorded
spec, judged against production on the same recent rows neither was trained on, by a
rule declared before anything is scored; promoted (or rolled back) only by a person,
through the lifecycle's rules; for a family of per-segment models, segment by segment.

- :func:`retrain` -> :class:`RetrainResult`
- :func:`challenge` -> :class:`ChallengeReport` (stored with the challenge)
- :func:`promote`, :func:`roll_back`: recorded moves of ``production``
- :func:`promote_segments` -> :class:`SegmentPromotion`
- :func:`stored`, :func:`of_model`: stored challenges
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from .errors import ChallengeError
from .judging import challenge
from .promotion import PRODUCTION, promote, roll_back, roll_back_target
from .report import ChallengeReport
from .retrain import RetrainResult, retrain
from .rule import RULES, Rule
from .segments import SegmentPromotion, promote_segments

if TYPE_CHECKING:
    from ..workspace import Workspace

__all__ = ["ChallengeError", "ChallengeReport", "PRODUCTION", "RULES", "RetrainResult", "Rule", "SegmentPromotion",
           "challenge", "latest_for", "of_model", "promote", "promote_segments", "retrain", "roll_back",
           "roll_back_target", "stored"]


def stored(ws: "Workspace", challenge_id: int | str) -> dict[str, Any]:
    """One stored challenge: its declaration, status and (once decided) its report as a
    :class:`ChallengeReport` under ``report``."""
    from ..registry import challenges

    row = challenges.get(ws.registry, challenge_id)
    row["report"] = ChallengeReport.from_dict(row["report"]) if row["report"] else None
    return row


def of_model(ws: "Workspace", model: str) -> list[dict[str, Any]]:
    """A model's challenges, newest first (reports as :class:`ChallengeReport`)."""
    from ..registry import challenges
    from ..registry import models as model_rows

    m = model_rows.get_model(ws.registry, str(model or "").strip())
    rows = challenges.of_model(ws.registry, m.id)
    for row in rows:
        row["report"] = ChallengeReport.from_dict(row["report"]) if row["report"] else None
    return rows


def latest_for(ws: "Workspace", version_id: int, *, before: Optional[str] = None) -> Optional[ChallengeReport]:
    """The newest decided challenge of a version as the challenger (decided at or before
    ``before`` when given), or None."""
    from ..registry import challenges

    row = challenges.latest_decided(ws.registry, version_id, before=before)
    return None if row is None else ChallengeReport.from_dict(row["report"])
