"""The stages of a model version, its aliases, and the rules for both, enforced here so
that the GUI and the CLI obey the same rules:

- ``validated`` needs a validation on record; a version that did not beat its baseline
  needs an explicit override with a reason, which is recorded;
- ``approved`` needs a validated version, a comment, and an approver who is not the
  person who trained it, unless the workspace is in single-user mode, where a
  self-approval is allowed and recorded as self-approved;
- ``retired`` ends a version's life: it cannot be validated or approved again, and the
  aliases it held are removed in the same transaction (each removal recorded);
- an alias (``production``, ``staging``, ...) points to one approved version of its
  model; every move is kept, so which version held it at any time can be answered. The
  one exception is ``challenger``: it marks the version being judged against production
  (a retrained draft), so a draft or validated version may hold it too, never a retired one.

Also here: the registry list (:func:`search_versions`), which the Registry page and
``models list`` share.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Optional, Sequence

from ..errors import InvalidChoiceError, NotFoundError, SelfApprovalRefused
from ..people import check_person_name, same_person

if TYPE_CHECKING:
    from ..store.models import VersionPage
    from ..workspace import Workspace

STAGES = ("draft", "validated", "approved", "retired")
ALLOWED = {"validated": ("draft",), "approved": ("validated",), "retired": ("draft", "validated", "approved")}
#: an alias starts with a lowercase letter; then lowercase letters, digits, - and _
ALIAS_PATTERN = re.compile(r"[a-z][a-z0-9_-]{0,63}")
SINGLE_USER_KEY = "single_user_mode"
#: the alias of the version judged against production: the one alias a draft may hold
CHALLENGER = "challenger"


def parse_version_ref(ref: str) -> tuple[str, int]:
    """``MODEL:VERSION`` -> (model, version), strictly: for actions on one version, where
    "the latest" would be a guess (an approval must name what was reviewed)."""
    text = str(ref or "").strip()
    match = re.fullmatch(r"(.+?)\s*:\s*(\d+)", text)
    if match is None:
        name = text.rpartition(":")[0] or text
        raise InvalidChoiceError(f"{text!r} is not a model version: write MODEL:VERSION with a version "
                                 f"number, e.g. {name or 'mass'}:2.")
    return match.group(1), int(match.group(2))


# -- single-user mode ----------------------------------------------------------------------------

def single_user_mode(ws: "Workspace") -> bool:
    """Whether the workspace allows self-approval (recorded as such). Off by default."""
    from ..store import workspace_settings

    return bool(workspace_settings.get(ws.registry, SINGLE_USER_KEY, False))


def set_single_user(ws: "Workspace", on: bool, *, actor: str) -> dict[str, Any]:
    """Switch single-user mode on or off (audited). Returns {single_user, before, changed};
    switching to the state it is already in records nothing."""
    from ..store import workspace_settings

    on = bool(on)
    with ws.registry.transaction():
        before = single_user_mode(ws)
        if before != on:
            summary = ("Single-user mode switched on: a person may approve their own models; each such "
                       "approval is recorded as self-approved" if on else
                       "Single-user mode switched off: approval takes a second person again")
            workspace_settings.put(ws.registry, SINGLE_USER_KEY, on, actor=actor, summary=summary,
                                   default=False)
    return {"single_user": on, "before": before, "changed": before != on, "by": actor}


# -- the rules -----------------------------------------------------------------------------------
# Each rule is one predicate, called by the change itself (which refuses) and by verify's
# replay of the audit log (which names a recorded change that broke it).

@dataclass(frozen=True)
class Refusal:
    """A change a rule refuses: ``reason`` states the rule broken (verify quotes it for a
    recorded change), ``message`` adds what to do instead (the live refusal says it)."""

    reason: str
    message: str


def _refusal(reason: str, advice: str = "") -> Refusal:
    return Refusal(reason, f"{reason} {advice}" if advice else reason)


def stage_move_refusal(ref: str, current: str, to: str) -> Optional[Refusal]:
    """Whether a version in stage ``current`` may move to ``to`` (draft → validated →
    approved, any of them → retired, never back from retired)."""
    if to not in ALLOWED:
        return _refusal(f"Unknown stage {to!r}; a version can be moved to validated, approved or retired.")
    if current == to:
        return _refusal(f"{ref} is already {to}.")
    if current not in ALLOWED[to]:
        if current == "retired":
            return _refusal(f"{ref} is retired; a retired version cannot be {to} again.",
                            "Train a new version instead.")
        return _refusal(f"{ref} is {current}; only a {' or '.join(ALLOWED[to])} version can be {to}.")
    return None


def validation_refusal(ref: str, beats_baseline: Optional[bool], override: Optional[str],
                       verdict: str = "") -> Optional[Refusal]:
    """Whether ``ref`` may become validated: its latest validation (``beats_baseline``
    None when it has none) beat the baseline, or an ``override`` reason is given."""
    if beats_baseline is None:
        return _refusal(f"{ref} has no validation on record.",
                        f"Validate it first ('mlops-desktop validate {ref}' or the Validate page).")
    if not beats_baseline and not (override or "").strip():
        said = f" ({verdict})" if verdict else ""
        return _refusal(f"{ref} did not beat its baseline in its latest validation{said}, and no override "
                        "was given.", "Moving it to validated needs an explicit override with a reason "
                        "(--override REASON).")
    return None


def approval_refusal(ref: str, actor: str, trainer: Optional[str], comment: str,
                     single_user: bool, team: bool = False) -> Optional[Refusal]:
    """Whether ``actor`` may approve ``ref``, which ``trainer`` trained: an approval needs
    a comment, and a second person unless the workspace is in single-user mode (where
    it is a self-approval, :func:`is_self_approval`). A team registry has no single-user
    mode: there the way out is a colleague's login (``team``)."""
    if not (comment or "").strip():
        return _refusal("An approval needs a comment: what the approver looked at and why the model may run.")
    if trainer is not None and is_self_approval(actor, trainer) and not single_user:
        if team:
            return _refusal(f"{actor} trained {ref} and cannot approve it too: approval takes a second person "
                            "(four eyes).", f"On the team registry a colleague with the mlops_approver role "
                            f"approves {ref} from their own login.")
        return _refusal(f"{actor} trained {ref} and cannot approve it too: approval takes a second person "
                        "(four eyes) and single-user mode is off.",
                        "A one-person team can switch on single-user mode ('mlops-desktop single-user on'); "
                        "such approvals are then recorded as self-approved.")
    return None


def is_self_approval(actor: str, trainer: str) -> bool:
    """Whether an approval by ``actor`` of a version ``trainer`` trained is a
    self-approval (allowed in single-user mode only, and recorded as such)."""
    return same_person(actor, trainer)


def alias_refusal(ref: str, stage: str, alias: str) -> Optional[Refusal]:
    """Whether a version in ``stage`` may hold ``alias``: only an approved one may, except
    :data:`CHALLENGER`, which a draft or validated version may hold too (it marks a
    version under judgement, not one that may run)."""
    if stage == "approved" or (alias == CHALLENGER and stage in ("draft", "validated")):
        return None
    hint = {"draft": "validate and approve it first", "validated": "approve it first",
            "retired": "a retired version can never hold an alias again"}.get(stage, "approve it first")
    allowed = "a draft, validated or approved version" if alias == CHALLENGER else "an approved version"
    reason = f"{ref} is {stage}; only {allowed} can hold the alias {alias!r}"
    return Refusal(f"{reason}.", f"{reason} ({hint}).")


# -- stages --------------------------------------------------------------------------------------

def change_stage(ws: "Workspace", ref: str, stage: str, *, actor: str, comment: str = "",
                 override_reason: Optional[str] = None) -> dict[str, Any]:
    """Move ``ref`` (``MODEL`` or ``MODEL:VERSION``) to ``stage``; returns the change.

    The dict has ``self_approved`` True when the approver trained the version (allowed in
    single-user mode only) and ``aliases_removed`` naming the aliases a retirement took
    away. Nothing is written when a rule refuses the change.
    """
    from ..store import aliases, stages, validations
    from ..store import models as model_rows
    from ..train import find_version

    if stage not in ALLOWED:
        _refuse(stage_move_refusal(ref, "", stage))
    mv = find_version(ws, ref)
    _refuse(stage_move_refusal(mv.ref, mv.stage, stage))
    comment = (comment or "").strip()
    override = (override_reason or "").strip() or None
    validation_id = None
    if stage == "validated":
        latest = validations.latest(ws.registry, mv.id)
        _refuse(validation_refusal(mv.ref, None if latest is None else latest["beats_baseline"], override,
                                   "" if latest is None else latest["report"].get("baseline_verdict", "")))
        assert latest is not None
        validation_id = latest["id"]
        if latest["beats_baseline"]:
            override = None  # nothing to override
    self_approved = False
    if stage == "approved":
        check_person_name(actor)
        # who trained it as the audit log recorded it: an edited created_by does not make a second person
        trainer = model_rows.creator_in_audit_log(ws.registry, mv.id) or mv.created_by
        refusal = approval_refusal(mv.ref, actor, trainer, comment, single_user_mode(ws), ws.is_team)
        if refusal is not None and (comment or "").strip():  # the comment is there: refused as the trainer
            raise SelfApprovalRefused(refusal.message, ref=mv.ref, actor=actor)
        _refuse(refusal)
        self_approved = is_self_approval(actor, trainer)
    removed: list[dict[str, Any]] = []
    with ws.registry.transaction():
        if self_approved and not single_user_mode(ws):  # switched off meanwhile: read again under the lock
            raise InvalidChoiceError(f"Single-user mode was switched off meanwhile; {actor} cannot approve "
                                     f"{mv.ref}, which they trained.")
        change_id = stages.change(ws.registry, version_id=mv.id, ref=mv.ref, from_stage=mv.stage,
                                  to_stage=stage, actor=actor, comment=comment, baseline_override=override,
                                  self_approved=self_approved, validation_id=validation_id)
        if stage == "retired":
            # a retired version may not run, so nothing may point to it any more
            for alias in aliases.held_by(ws.registry, mv.id):
                removed.append(aliases.move(
                    ws.registry, model_id=mv.model_id, model_name=mv.model, alias=alias, to_version_id=None,
                    to_version=None, actor=actor, reason="retired",
                    comment=comment))
    return {"change_id": change_id, "model": mv.model, "version": mv.version, "ref": mv.ref,
            "from": mv.stage, "to": stage, "by": actor, "comment": comment,
            "baseline_override": override, "validation_id": validation_id,
            "self_approved": self_approved, "aliases_removed": [m["alias"] for m in removed]}


def _refuse(refusal: Optional[Refusal]) -> None:
    if refusal is not None:
        raise InvalidChoiceError(refusal.message)


def needs_baseline_override(ws: "Workspace", ref: str) -> bool:
    """Whether moving ``ref`` to validated needs an override: its latest validation did
    not beat the baseline."""
    from ..store import validations
    from ..train import find_version

    latest = validations.latest(ws.registry, find_version(ws, ref).id)
    return latest is not None and not latest["beats_baseline"]


def stage_history(ws: "Workspace", ref: str) -> list[dict[str, Any]]:
    """Every stage change of a version, oldest first (with ``self_approved``)."""
    from ..store import stages
    from ..train import find_version

    return stages.history(ws.registry, find_version(ws, ref).id)


# -- aliases -------------------------------------------------------------------------------------

def check_alias_name(alias: str) -> str:
    """The alias, stripped, if it is spelled as an alias must be; else InvalidChoiceError."""
    text = str(alias or "").strip()
    if not ALIAS_PATTERN.fullmatch(text):
        raise InvalidChoiceError(
            f"{text!r} is not a valid alias name: use lowercase letters, digits, '-' and '_', starting "
            "with a letter (at most 64 characters), e.g. production or staging.")
    return text


def _version_number(model: str, version: int | str) -> int:
    text = str(version).strip()
    if text.startswith(f"{model}:"):  # "mass:2" names the same version as "2"
        text = text[len(model) + 1:].strip()
    if not text.isdigit():
        raise InvalidChoiceError(f"{text!r} is not a version number of {model}: give a whole number, "
                                 f"e.g. {model} production 2.")
    return int(text)


def _model(ws: "Workspace", model: str):
    from ..store import models as model_rows

    name = str(model or "").strip()
    if not name:
        raise InvalidChoiceError("Name a registered model.")
    return model_rows.get_model(ws.registry, name)


def set_alias(ws: "Workspace", model: str, alias: str, version: int | str, *, actor: str,
              comment: str = "") -> dict[str, Any]:
    """Point ``alias`` of ``model`` at ``version``, which must be approved. The move is
    recorded in the alias history and the audit log (before and after). Returns the move."""
    from ..store import aliases
    from ..store import models as model_rows

    alias = check_alias_name(alias)
    m = _model(ws, model)
    number = _version_number(m.name, version)
    comment = (comment or "").strip()
    # checks and write under one lock, so the version cannot be retired in between
    with ws.registry.transaction():
        mv = model_rows.get_version(ws.registry, m.name, number)
        _refuse(alias_refusal(mv.ref, mv.stage, alias))
        now = aliases.get(ws.registry, m.id, alias)
        if now is not None and now["version_id"] == mv.id:
            raise InvalidChoiceError(f"{alias!r} already points to {mv.ref}.")
        move = aliases.move(ws.registry, model_id=m.id, model_name=m.name, alias=alias, to_version_id=mv.id,
                            to_version=mv.version, actor=actor, comment=comment)
    return move | {"ref": mv.ref}


def remove_alias(ws: "Workspace", model: str, alias: str, *, actor: str, comment: str = "") -> dict[str, Any]:
    """Remove ``alias`` from ``model`` (recorded like a move, to no version)."""
    from ..store import aliases

    alias = check_alias_name(alias)
    m = _model(ws, model)
    with ws.registry.transaction():
        now = aliases.get(ws.registry, m.id, alias)
        if now is None:
            have = ", ".join(a["alias"] for a in aliases.current(ws.registry, m.id)) or "none"
            raise NotFoundError(f"Model {m.name!r} has no alias {alias!r} (its aliases: {have}).")
        move = aliases.move(ws.registry, model_id=m.id, model_name=m.name, alias=alias, to_version_id=None,
                            to_version=None, actor=actor, comment=(comment or "").strip(), reason="removed")
    return move | {"ref": None}


def aliases_of(ws: "Workspace", model: str) -> list[dict[str, Any]]:
    """The model's aliases now: alias, version, ref, stage, set_by, set_at."""
    from ..store import aliases

    m = _model(ws, model)
    return [a | {"ref": f"{m.name}:{a['version']}"} for a in aliases.current(ws.registry, m.id)]


def alias_history(ws: "Workspace", model: str, alias: Optional[str] = "production") -> list[dict[str, Any]]:
    """Every move of ``alias`` (of every alias when None), oldest first: from_version,
    to_version (None when removed), reason (moved, removed, retired), comment, moved_by,
    moved_at."""
    from ..store import aliases

    m = _model(ws, model)
    name = None if alias is None else check_alias_name(alias)
    return aliases.history(ws.registry, m.id, name)


def parse_when(when: datetime | date | str, *, end_of_day: bool = False) -> str:
    """A time as the registry stores times (ISO 8601 UTC with microseconds).

    Accepts a datetime (naive means UTC), a date, or ISO text ("2025-03-01",
    "2025-03-01T14:30", "2025-03-01T14:30:00+02:00"). A date alone means its first
    moment (UTC), or the first moment of the next day with ``end_of_day`` (for an
    inclusive "until").
    """
    if isinstance(when, str):
        text = when.strip()
        try:
            if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
                when = date.fromisoformat(text)
            else:
                when = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
        except ValueError:
            raise InvalidChoiceError(f"{text!r} is not a date or time; write it as 2025-03-01 or "
                                     "2025-03-01T14:30 (UTC unless an offset is given).") from None
    if not isinstance(when, datetime):
        moment = datetime(when.year, when.month, when.day, tzinfo=timezone.utc)
        if end_of_day:
            moment += timedelta(days=1)
    else:
        moment = when if when.tzinfo is not None else when.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def version_at(ws: "Workspace", model: str, alias: str, when: datetime | date | str) -> Optional[dict[str, Any]]:
    """Which version held ``alias`` at ``when`` (see :func:`parse_when`; ``"now"``: the
    version it holds now, whatever the clock said at each move): {model, alias, version,
    ref, since, set_by, comment}, or None when no version held it then. Answered from
    the order the moves were made in, not from their times alone."""
    from ..store import aliases

    alias = check_alias_name(alias)
    m = _model(ws, model)
    now = isinstance(when, str) and when.strip().lower() == "now"
    move = aliases.held_at(ws.registry, m.id, alias, None if now else parse_when(when))
    if move is None or move["to_version"] is None:
        return None
    return {"model": m.name, "alias": alias, "version": move["to_version"],
            "ref": f"{m.name}:{move['to_version']}", "since": move["moved_at"], "set_by": move["moved_by"],
            "comment": move["comment"]}


# -- the registry list ----------------------------------------------------------------------------

def parse_tag_filter(text: Optional[str]) -> tuple[Optional[str], Optional[str]]:
    """``KEY`` or ``KEY=VALUE`` -> (key, value or None)."""
    if text is None:
        return None, None
    key, sep, value = str(text).partition("=")
    key = key.strip()
    if not key:
        raise InvalidChoiceError(f"Filter by a tag as KEY or KEY=VALUE, e.g. team=credit (not {text!r}).")
    return key, (value.strip() if sep else None)


def search_versions(ws: "Workspace", *, text: Optional[str] = None, model: Optional[str] = None,
                    stage: Optional[str | Sequence[str]] = None, tag: Optional[str] = None,
                    dataset: Optional[str | int] = None, since: Optional[datetime | date | str] = None,
                    until: Optional[datetime | date | str] = None, order: str = "newest",
                    offset: int = 0, limit: Optional[int] = 100) -> "VersionPage":
    """The registry list: model versions matching every filter given, newest first, a page
    at a time (``VersionPage.rows`` of light :class:`~.registry.models.VersionRow`, and
    ``total``).

    ``text``: part of a model's name or of a description; ``stage``: one stage or several;
    ``tag``: ``KEY`` or ``KEY=VALUE`` on the version or its model; ``dataset``: id or name
    of the training dataset; ``since``/``until``: created from / up to (a date alone in
    ``until`` includes that whole day).
    """
    from ..store import models as model_rows

    stages = [stage] if isinstance(stage, str) else list(stage or [])
    bad = [s for s in stages if s not in STAGES]
    if bad:
        raise InvalidChoiceError(f"Unknown stage {bad[0]!r}; stages are {', '.join(STAGES)}.")
    if order not in model_rows.ORDERS:
        raise InvalidChoiceError(f"Order by {', '.join(model_rows.ORDERS)}, not {order!r}.")
    if limit is not None and limit < 1 or offset < 0:
        raise InvalidChoiceError("A page needs a positive size and an offset of 0 or more.")
    key, value = parse_tag_filter(tag)
    dataset_id = ws.dataset(dataset).id if dataset not in (None, "") else None
    lo = parse_when(since) if since not in (None, "") else None
    hi = parse_when(until, end_of_day=True) if until not in (None, "") else None
    if lo and hi and lo >= hi:
        raise InvalidChoiceError(f"The date range is empty: {since} is not before {until}.")
    return model_rows.search_versions(ws.registry, text=(text or "").strip() or None, model=model,
                                      stages=stages or None, tag_key=key, tag_value=value,
                                      dataset_id=dataset_id, since=lo, until=hi, order=order,
                                      offset=offset, limit=limit)
