"""Did every recorded change keep the registry's rules? ``verify`` replays the audit log
in its order (the sequence, not the clock) through the very predicates that refuse a
change in the app (:mod:`.lifecycle`), and names each recorded change that one of them
would have refused:

- a stage move the rules forbid (draft straight to approved, anything out of retired);
- a move to validated without a validation, or past a lost baseline without an override;
- an approval without a comment, or by the person who trained the version (as its
  creation entry records them, whatever the version's record says now) while
  single-user mode was off, or in single-user mode without the self-approval mark;
- an alias set on a version that was not approved at that moment, or left on one that
  is no longer approved (``challenger``: on a draft, validated or approved version).

This catches changes written with another tool together with a correctly chained audit
entry (the recipe is public), which the chain and the record checks cannot. It needs
the whole log: when entries were edited, deleted or inserted (reported on their own),
the replay is skipped rather than guess from part of the history.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Optional

from .registry.lifecycle import (
    SINGLE_USER_KEY,
    alias_refusal,
    approval_refusal,
    is_self_approval,
    stage_move_refusal,
    validation_refusal,
)
from .store.audit import CollectedEntry
from .store.problem import Problem

#: the audit actions the replay reads
ACTIONS = frozenset({"model.version_created", "model.validated", "model.stage_changed",
                     "workspace.setting_changed", "model.alias_moved", "model.alias_removed"})

#: chain problems after which the log is not whole, so the replay would guess
PARTIAL_LOG = frozenset({"audit_entry_edited", "audit_entries_deleted", "audit_entry_inserted",
                         "audit_entries_truncated", "audit_chain_broken"})


@dataclass
class _Version:
    ref: str
    trainer: Optional[str]
    stage: str = "draft"
    #: beats_baseline of each validation, oldest first
    validations: list[bool] = field(default_factory=list)


class _Replay:
    def __init__(self) -> None:
        self.versions: dict[str, _Version] = {}
        self.by_ref: dict[tuple[str, int], str] = {}
        self.single_user = False
        #: (model, alias) -> (version number, the entry that set it, reported already)
        self.aliases: dict[tuple[str, str], tuple[int, CollectedEntry, bool]] = {}
        self.problems: list[Problem] = []

    def version(self, entity_id: Optional[str]) -> _Version:
        if entity_id not in self.versions:  # created outside the app: reported by the record checks
            self.versions[entity_id] = _Version(f"model version id {entity_id}", None)
        return self.versions[entity_id]

    def broke(self, e: CollectedEntry, what: str, reason: str, entity: tuple[str, Optional[str]]) -> None:
        self.problems.append(Problem("rule_broken", f"{what} (audit entry {e.seq}) broke a rule: {reason}",
                                     seq=e.seq, entity_type=entity[0], entity_id=entity[1]))

    def apply(self, e: CollectedEntry) -> None:
        d = e.details
        if e.action == "model.version_created":
            ref = f"{d.get('model')}:{d.get('version')}"
            self.versions[e.entity_id] = _Version(ref, e.actor)
            if isinstance(d.get("version"), int):
                self.by_ref[(str(d.get("model")), d["version"])] = e.entity_id
        elif e.action == "model.validated":
            self.version(e.entity_id).validations.append(bool(d.get("beats_baseline")))
        elif e.action == "workspace.setting_changed":
            if d.get("key") == SINGLE_USER_KEY:
                self.single_user = bool(d.get("after"))
        elif e.action == "model.stage_changed":
            self.stage_change(e)
        elif e.action in ("model.alias_moved", "model.alias_removed"):
            self.alias_move(e)

    def stage_change(self, e: CollectedEntry) -> None:
        d = e.details
        to = d.get("to")
        if not isinstance(to, str):
            return
        v = self.version(e.entity_id)
        what = f"the stage change of {v.ref} from {d.get('from')} to {to} by {e.actor}"
        entity = ("model_version", e.entity_id)
        problem: Optional[str] = None
        refusal = stage_move_refusal(v.ref, v.stage, to)
        if refusal is not None:
            problem = refusal.reason
        elif d.get("from") != v.stage:
            problem = f"{v.ref} was {v.stage} then, not {d.get('from')}: its stage history does not add up."
        elif to == "validated":
            refusal = validation_refusal(v.ref, v.validations[-1] if v.validations else None,
                                         d.get("baseline_override"))
            problem = refusal.reason if refusal else None
        elif to == "approved":
            refusal = approval_refusal(v.ref, e.actor, v.trainer, d.get("comment") or "", self.single_user)
            problem = refusal.reason if refusal else None
            if problem is None and v.trainer is not None and is_self_approval(e.actor, v.trainer) \
                    and not d.get("self_approved"):
                problem = (f"{e.actor} trained {v.ref}: a self-approval is allowed in single-user mode only "
                           "marked as self-approved, and this one is not.")
        if problem is not None:
            self.broke(e, what, problem, entity)
        v.stage = to

    def alias_move(self, e: CollectedEntry) -> None:
        d = e.details
        model, alias = str(d.get("model")), str(d.get("alias"))
        number = (d.get("after") or {}).get("version")
        if number is None:
            self.aliases.pop((model, alias), None)
            return
        vid = self.by_ref.get((model, number))
        stage = self.versions[vid].stage if vid is not None else "unknown"
        refusal = alias_refusal(f"{model}:{number}", stage, alias)
        if refusal is not None:
            self.broke(e, f"the move of alias {alias} of {model} to version {number} by {e.actor}",
                       refusal.reason, ("model", e.entity_id))
        self.aliases[(model, alias)] = (number, e, refusal is not None)

    def finish(self) -> None:
        """An alias left on a version that is no longer approved (retiring removes them)."""
        for (model, alias), (number, e, reported) in sorted(self.aliases.items()):
            vid = self.by_ref.get((model, number))
            if reported or vid is None:
                continue
            refusal = alias_refusal(f"{model}:{number}", self.versions[vid].stage, alias)
            if refusal is not None:
                self.problems.append(Problem(
                    "rule_broken", f"alias {alias} of {model}, set to version {number} by audit entry "
                    f"{e.seq}, is still on it: {refusal.reason}", seq=e.seq, entity_type="model",
                    entity_id=e.entity_id))


def broken_rules(collected: dict[str, list[CollectedEntry]]) -> list[Problem]:
    """Each recorded change the lifecycle's rules would have refused (``rule_broken``),
    from the intact entries ``collected`` by the chain check, in sequence order."""
    replay = _Replay()
    for e in _in_sequence(collected.get(a, []) for a in ACTIONS):
        replay.apply(e)
    replay.finish()
    return replay.problems


def _in_sequence(lists: Iterable[list[CollectedEntry]]) -> list[CollectedEntry]:
    merged: list[CollectedEntry] = [e for entries in lists for e in entries]
    merged.sort(key=lambda e: e.seq)
    return merged


def replayable(kinds: Iterable[Any]) -> bool:
    """Whether the log is whole enough to replay (no entry edited, deleted or inserted)."""
    return not PARTIAL_LOG & set(kinds)
