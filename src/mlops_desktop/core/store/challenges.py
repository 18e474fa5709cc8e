"""Challenges of a challenger version against a champion (migration 15).

A challenge is written twice, each time with its audit entry in the same transaction:
first its declaration (the metric, the rule, the margin and the rows, before anything is
scored: ``challenge.declared``), then its result (``challenge.decided``), or how it
ended without one (``challenge.ended``: failed or cancelled). The audit log's order
therefore proves that the rule was fixed before the result was known; ``verify`` checks
both entries against the row (:mod:`.consistency`).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Optional

from ..errors import NotFoundError
from . import audit
from .db import Registry, utc_now

DECLARED, DECIDED, ENDED = "challenge.declared", "challenge.decided", "challenge.ended"


def canonical(value: Any) -> str:
    """The stored JSON text of a declaration or a report (what its SHA-256 is taken of)."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def digest(text: str) -> str:
    """The SHA-256 (hex) of a text in UTF-8, as stored beside a challenge's report."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def declare(reg: Registry, *, model_id: int, challenger_id: int, challenger_ref: str, champion_id: int,
            champion_ref: str, dataset_id: int, declaration: dict[str, Any], actor: str) -> int:
    """Record a challenge's declaration and its audit entry in one transaction, before
    any scoring; returns the challenge's id."""
    text = canonical(declaration)
    sha = digest(text)
    with reg.transaction():
        challenge_id = reg.insert(
            "INSERT INTO challenges (model_id, challenger_id, champion_id, dataset_id, declaration,"
            " declaration_sha256, status, created_by, declared_at) VALUES (?, ?, ?, ?, ?, ?, 'declared', ?, ?)",
            (int(model_id), int(challenger_id), int(champion_id), int(dataset_id), text, sha, actor, utc_now()))
        rule = declaration.get("rule", {})
        audit.append(reg, actor=actor, action=DECLARED, entity_type="model_version", entity_id=challenger_id,
                     summary=f"Challenge {challenge_id} declared: {challenger_ref} against {champion_ref} "
                             f"({rule.get('metric')}, {rule.get('rule')}, margin {rule.get('margin')})",
                     details={"challenge_id": challenge_id, "challenger_id": int(challenger_id),
                              "champion_id": int(champion_id), "dataset_id": int(dataset_id),
                              "challenger": challenger_ref, "champion": champion_ref, "rule": rule,
                              "declaration_sha256": sha})
    return challenge_id


def decide(reg: Registry, challenge_id: int, *, challenger_id: int, verdict: str, wins: bool,
           report: dict[str, Any], summary: str, actor: str) -> str:
    """Record a declared challenge's result and its audit entry in one transaction;
    returns the report's SHA-256."""
    text = canonical(report)
    sha = digest(text)
    with reg.transaction():
        row = reg.query_one("SELECT declaration_sha256 FROM challenges WHERE id = ?", (int(challenge_id),))
        changed = reg.execute(
            "UPDATE challenges SET status = 'decided', verdict = ?, wins = ?, report = ?, report_sha256 = ?,"
            " decided_at = ? WHERE id = ? AND status = 'declared'",
            (verdict, int(bool(wins)), text, sha, utc_now(), int(challenge_id)))
        if changed != 1 or row is None:
            raise RuntimeError(f"challenge {challenge_id} is not waiting for its result")
        audit.append(reg, actor=actor, action=DECIDED, entity_type="model_version", entity_id=challenger_id,
                     summary=f"Challenge {challenge_id} decided: {summary}"[:300],
                     details={"challenge_id": int(challenge_id), "verdict": verdict, "wins": bool(wins),
                              "report_sha256": sha, "declaration_sha256": row["declaration_sha256"]})
    return sha


def end(reg: Registry, challenge_id: int, *, challenger_id: int, status: str, error: str, actor: str) -> None:
    """A declared challenge that ended without a result (failed or cancelled), audited."""
    if status not in ("failed", "cancelled"):
        raise ValueError(f"a challenge ends without a result as failed or cancelled, not {status!r}")
    with reg.transaction():
        changed = reg.execute("UPDATE challenges SET status = ?, error = ?, decided_at = ? WHERE id = ?"
                             " AND status = 'declared'", (status, error, utc_now(), int(challenge_id)))
        if changed == 1:
            audit.append(reg, actor=actor, action=ENDED, entity_type="model_version", entity_id=challenger_id,
                         summary=f"Challenge {challenge_id} {status}: {error}"[:300],
                         details={"challenge_id": int(challenge_id), "status": status, "error": error})


_SELECT = ("SELECT c.*, m.name AS model, a.version AS challenger_version, b.version AS champion_version,"
           " d.name AS dataset FROM challenges c JOIN registered_models m ON m.id = c.model_id"
           " JOIN model_versions a ON a.id = c.challenger_id JOIN model_versions b ON b.id = c.champion_id"
           " JOIN datasets d ON d.id = c.dataset_id")


def _row(row: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    out["declaration"] = json.loads(out["declaration"])
    out["report"] = json.loads(out["report"]) if out.get("report") else None
    out["wins"] = None if out.get("wins") is None else bool(out["wins"])
    out["challenger"] = f"{out['model']}:{out['challenger_version']}"
    out["champion"] = f"{out['model']}:{out['champion_version']}"
    return out


def get(reg: Registry, challenge_id: int | str) -> dict[str, Any]:
    """One challenge with its declaration and report (None until decided)."""
    text = str(challenge_id).strip()
    row = reg.query_one(_SELECT + " WHERE c.id = ?", (int(text),)) if text.isdigit() else None
    if row is None:
        latest = [str(r["id"]) for r in reg.query("SELECT id FROM challenges ORDER BY id DESC LIMIT 5")]
        hint = f" Latest challenges: {', '.join(latest)}." if latest else " There are no challenges yet."
        raise NotFoundError(f"There is no challenge {text!r}.{hint}")
    return _row(row)


def of_model(reg: Registry, model_id: int) -> list[dict[str, Any]]:
    """A model's challenges, newest first."""
    return [_row(r) for r in reg.query(_SELECT + " WHERE c.model_id = ? ORDER BY c.id DESC", (int(model_id),))]


def latest_decided(reg: Registry, version_id: int, *, champion_id: Optional[int] = None,
                   before: Optional[str] = None) -> Optional[dict[str, Any]]:
    """The newest decided challenge of ``version_id`` as the challenger (against
    ``champion_id`` when given; decided at or before the time ``before`` when given)."""
    sql = _SELECT + " WHERE c.challenger_id = ? AND c.status = 'decided'"
    params: list[Any] = [int(version_id)]
    if champion_id is not None:
        sql += " AND c.champion_id = ?"
        params.append(int(champion_id))
    if before is not None:
        sql += " AND c.decided_at <= ?"
        params.append(before)
    row = reg.query_one(sql + " ORDER BY c.id DESC LIMIT 1", tuple(params))
    return None if row is None else _row(row)
