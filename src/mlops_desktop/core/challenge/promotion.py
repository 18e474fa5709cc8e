"""Promoting a version to production and rolling production back: each one recorded
alias move, under the lifecycle's rules (only an approved version may hold
``production``; the approval took four eyes). Never automatic: a person asks for it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from .errors import ChallengeError

if TYPE_CHECKING:
    from ..workspace import Workspace

PRODUCTION = "production"


def promote(ws: "Workspace", ref: str, *, actor: str, comment: str = "", alias: str = PRODUCTION) -> dict[str, Any]:
    """Point ``alias`` (``production``) at ``ref`` (``MODEL:VERSION``, approved). A
    version that was the challenger stops being it, in the same transaction. Returns the
    move, with the latest challenge of the version (its verdict) when there is one."""
    from ..registry.lifecycle import CHALLENGER, check_alias_name, parse_version_ref, remove_alias, set_alias
    from ..store import aliases
    from ..store import challenges as challenge_rows
    from ..store import models as model_rows

    name, number = parse_version_ref(ref)
    alias = check_alias_name(alias)
    if alias == CHALLENGER:
        raise ChallengeError("Promote to production (or another alias of approved versions), not to challenger.")
    with ws.registry.transaction():
        mv = model_rows.get_version(ws.registry, name, number)
        move = set_alias(ws, name, alias, number, actor=actor, comment=(comment or "").strip())
        was_challenger = CHALLENGER in aliases.held_by(ws.registry, mv.id)
        if was_challenger:
            remove_alias(ws, name, CHALLENGER, actor=actor, comment=f"promoted to {alias}")
    latest = challenge_rows.latest_decided(ws.registry, mv.id)
    return move | {"challenger_alias_removed": was_challenger,
                   "challenge": None if latest is None else {"id": latest["id"], "against": latest["champion"],
                                                             "verdict": latest["verdict"], "wins": latest["wins"]}}


def roll_back_target(ws: "Workspace", model: str, alias: str = PRODUCTION) -> Optional[tuple[int, int]]:
    """(the version ``alias`` holds now, the one a roll back would move it to), or None
    when there is nothing to roll back to."""
    from ..store import aliases
    from ..store import models as model_rows

    m = model_rows.get_model(ws.registry, str(model or "").strip())
    history = aliases.history(ws.registry, m.id, alias)
    if not history or history[-1]["to_version"] is None or history[-1]["from_version"] is None:
        return None
    return int(history[-1]["to_version"]), int(history[-1]["from_version"])


def roll_back(ws: "Workspace", model: str, *, reason: str, actor: str, alias: str = PRODUCTION) -> dict[str, Any]:
    """Move ``alias`` of ``model`` back to the version it held before its last move: one
    recorded move, with ``reason``. The earlier version must still be approved."""
    from ..registry.lifecycle import alias_refusal, check_alias_name
    from ..store import aliases
    from ..store import models as model_rows

    reason = (reason or "").strip()
    if not reason:
        raise ChallengeError("A roll back needs a reason (what went wrong with the version in production).")
    alias = check_alias_name(alias)
    m = model_rows.get_model(ws.registry, str(model or "").strip())
    with ws.registry.transaction():
        history = aliases.history(ws.registry, m.id, alias)
        if not history or history[-1]["to_version"] is None:
            raise ChallengeError(f"{m.name} has no {alias} version to roll back.")
        last = history[-1]
        if last["from_version"] is None:
            raise ChallengeError(f"{alias} of {m.name} was first set by its last move (to version "
                                 f"{last['to_version']}); there is no earlier version to roll back to.")
        back = model_rows.get_version(ws.registry, m.name, int(last["from_version"]))
        refusal = alias_refusal(back.ref, back.stage, alias)
        if refusal is not None:
            raise ChallengeError(f"Cannot roll {alias} back to {back.ref}: {refusal.message}")
        move = aliases.move(ws.registry, model_id=m.id, model_name=m.name, alias=alias, to_version_id=back.id,
                            to_version=back.version, actor=actor, comment=f"rolled back: {reason}",
                            rolls_back=int(last["id"]))
    return move | {"ref": back.ref, "from_ref": f"{m.name}:{last['to_version']}"}
