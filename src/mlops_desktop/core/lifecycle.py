"""The stages of a model version and the rules for moving between them, enforced here
so that the GUI and the CLI obey the same rules:

- ``validated`` needs a validation on record; a version that did not beat its baseline
  needs an explicit override with a reason, which is recorded;
- ``approved`` needs a validated version, a comment, and an approver who is not the
  person who trained it;
- ``retired`` ends a version's life: it cannot be validated or approved again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from .errors import InvalidChoiceError

if TYPE_CHECKING:
    from .workspace import Workspace

ALLOWED = {"validated": ("draft",), "approved": ("validated",), "retired": ("draft", "validated", "approved")}


def change_stage(ws: "Workspace", ref: str, stage: str, *, actor: str, comment: str = "",
                 override_reason: Optional[str] = None) -> dict[str, Any]:
    """Move ``ref`` (``MODEL`` or ``MODEL:VERSION``) to ``stage``; returns the change."""
    from .registry import stages, validations
    from .train import find_version

    if stage not in ALLOWED:
        raise InvalidChoiceError(f"Unknown stage {stage!r}; a version can be moved to validated, "
                                 "approved or retired.")
    mv = find_version(ws, ref)
    if mv.stage == stage:
        raise InvalidChoiceError(f"{mv.ref} is already {stage}.")
    if mv.stage not in ALLOWED[stage]:
        if mv.stage == "retired":
            raise InvalidChoiceError(f"{mv.ref} is retired; a retired version cannot be {stage} again. "
                                     "Train a new version instead.")
        raise InvalidChoiceError(f"{mv.ref} is {mv.stage}; only a {' or '.join(ALLOWED[stage])} version "
                                 f"can be {stage}.")
    comment = (comment or "").strip()
    override = (override_reason or "").strip() or None
    validation_id = None
    if stage == "validated":
        latest = validations.latest(ws.registry, mv.id)
        if latest is None:
            raise InvalidChoiceError(f"{mv.ref} has no validation on record. Validate it first "
                                     f"('mlops-desktop validate {mv.ref}' or the Validate page).")
        validation_id = latest["id"]
        if not latest["beats_baseline"] and override is None:
            raise InvalidChoiceError(
                f"{mv.ref} did not beat its baseline in its latest validation "
                f"({latest['report'].get('baseline_verdict', '')}). Moving it to validated needs an "
                "explicit override with a reason (--override REASON).")
        if latest["beats_baseline"]:
            override = None  # nothing to override
    self_approved = False
    if stage == "approved":
        if not comment:
            raise InvalidChoiceError("An approval needs a comment: what the approver looked at and why "
                                     "the model may run.")
        if actor == mv.created_by:
            raise InvalidChoiceError(f"{actor} trained {mv.ref} and cannot approve it too: approval takes "
                                     "a second person (four eyes).")
    change_id = stages.change(ws.registry, version_id=mv.id, ref=mv.ref, from_stage=mv.stage,
                              to_stage=stage, actor=actor, comment=comment, baseline_override=override,
                              self_approved=self_approved, validation_id=validation_id)
    return {"change_id": change_id, "model": mv.model, "version": mv.version, "ref": mv.ref,
            "from": mv.stage, "to": stage, "by": actor, "comment": comment,
            "baseline_override": override, "validation_id": validation_id}


def stage_history(ws: "Workspace", ref: str) -> list[dict[str, Any]]:
    from .registry import stages
    from .train import find_version

    return stages.history(ws.registry, find_version(ws, ref).id)
