"""Two model versions side by side: the data they were trained on, their features, how
they were trained, their validated metrics with intervals, the check warnings accepted
for them and their results per segment. Plain JSON-safe data, for the Registry page and
``models compare``.

The metrics come from each version's latest validation. Two validations on different
holdouts are two separate experiments: the comparison shows both intervals and the
difference of the point values, and says so, rather than declaring a winner.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from .plain import json_safe

if TYPE_CHECKING:
    from .registry.models import ModelVersion
    from .workspace import Workspace


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dicts as {"a.b": value}; lists and scalars are leaves, and an empty dict
    inside another holds no setting (so {} and a missing key compare equal)."""
    if isinstance(value, dict) and (value or prefix):
        out: dict[str, Any] = {}
        for k in sorted(value, key=str):
            out.update(_flatten(value[k], f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix: value}


def _differences(a: dict[str, Any], b: dict[str, Any]) -> tuple[list[dict[str, Any]], list[str]]:
    """Settings whose values differ ({setting, a, b}; a missing side is None) and the
    settings that are the same."""
    fa, fb = _flatten(a), _flatten(b)
    diff, same = [], []
    for key in sorted(set(fa) | set(fb)):
        if fa.get(key) == fb.get(key):
            same.append(key)
        else:
            diff.append({"setting": key, "a": fa.get(key), "b": fb.get(key)})
    return diff, same


def _side(ws: "Workspace", mv: "ModelVersion") -> dict[str, Any]:
    """What one version brings to the comparison, read once."""
    from .checks import accepted_warnings
    from .registry import aliases, stages, tags, validations
    from .train import run as get_run

    r = get_run(ws, mv.run_id)
    ds = ws.dataset(r.dataset_id)
    stored = validations.latest(ws.registry, mv.id)
    accepted = accepted_warnings(ws, ds.id, mv.target, mv.features)
    return {"mv": mv, "run": r, "dataset": ds, "validation": stored, "accepted": accepted,
            "aliases": aliases.held_by(ws.registry, mv.id), "tags": tags.of(ws.registry, "version", mv.id),
            "stage_changes": stages.history(ws.registry, mv.id)}


def _summary(s: dict[str, Any]) -> dict[str, Any]:
    mv, r = s["mv"], s["run"]
    approval = next((c for c in reversed(s["stage_changes"]) if c["to_stage"] == "approved"), None)
    return {"ref": mv.ref, "model": mv.model, "version": mv.version, "stage": mv.stage, "family": mv.family,
            "task": mv.task, "target": mv.target, "run_id": mv.run_id, "created_by": mv.created_by,
            "created_at": mv.created_at, "description": mv.description, "aliases": s["aliases"],
            "tags": s["tags"], "seed": r.seed,
            "approved_by": approval["changed_by"] if approval else None,
            "self_approved": bool(approval["self_approved"]) if approval else False}


def _data(s: dict[str, Any]) -> dict[str, Any]:
    mv, ds = s["mv"], s["dataset"]
    details = mv.details if isinstance(mv.details, dict) else {}
    return {"dataset_id": ds.id, "dataset": ds.name, "fingerprint": s["run"].dataset_fingerprint,
            "dataset_rows": ds.n_rows, "source_path": ds.source_path, "split": details.get("split"),
            "rows": details.get("rows")}


def _metric_side(m: Optional[dict[str, Any]]) -> Optional[dict[str, Any]]:
    return None if m is None else {"value": m.get("value"), "low": m.get("low"), "high": m.get("high")}


def _overlap(a: Optional[dict[str, Any]], b: Optional[dict[str, Any]]) -> Optional[bool]:
    if not a or not b or None in (a.get("low"), a.get("high"), b.get("low"), b.get("high")):
        return None
    return a["low"] <= b["high"] and b["low"] <= a["high"]


def _same_holdout(sa: dict[str, Any], sb: dict[str, Any]) -> bool:
    """Whether both versions were validated on their own runs' holdouts and those are the
    same rows: the same data, target, split, seed and row counts give the same split."""
    va, vb = sa["validation"], sb["validation"]
    if not (va and vb and va["data"].startswith("the holdout of run") and vb["data"].startswith("the holdout of run")):
        return False
    da, db = _data(sa), _data(sb)
    return (da["fingerprint"] == db["fingerprint"] and sa["mv"].target == sb["mv"].target
            and sa["run"].seed == sb["run"].seed and da["split"] == db["split"] and da["rows"] == db["rows"])


def _metrics(sa: dict[str, Any], sb: dict[str, Any]) -> dict[str, Any]:
    """Validated metrics of both, with intervals; cross-validation means as well."""
    notes: list[str] = []
    reports = {}
    for key, s in (("a", sa), ("b", sb)):
        v = s["validation"]
        if v is None:
            notes.append(f"{s['mv'].ref} has no validation on record; validate it to compare holdout "
                         "metrics with intervals.")
            reports[key] = None
        else:
            reports[key] = v
    validation = {k: (None if v is None else {
        "validation_id": v["id"], "data": v["data"], "beats_baseline": v["beats_baseline"],
        "primary_metric": v["primary_metric"], "rows": v["report"].get("n_rows"),
        "created_by": v["created_by"], "created_at": v["created_at"]}) for k, v in reports.items()}
    rows: list[dict[str, Any]] = []
    if reports["a"] is not None or reports["b"] is not None:
        by_name = {k: {m["name"]: m for m in (v["report"].get("metrics") or [])} if v else {}
                   for k, v in reports.items()}
        names = list(dict.fromkeys([*by_name["a"], *by_name["b"]]))
        primary = next((v["primary_metric"] for v in reports.values() if v), None)
        for name in names:
            ma, mb = by_name["a"].get(name), by_name["b"].get(name)
            first = ma or mb
            a_side, b_side = _metric_side(ma), _metric_side(mb)
            diff = (b_side["value"] - a_side["value"]
                    if a_side and b_side and None not in (a_side["value"], b_side["value"]) else None)
            rows.append({"name": name, "label": first.get("label") or name,
                         "higher_is_better": bool(first.get("higher_is_better", True)),
                         "primary": name == primary, "a": a_side, "b": b_side, "difference_b_minus_a": diff,
                         "intervals_overlap": _overlap(a_side, b_side)})
        if reports["a"] and reports["b"] and reports["a"]["data"] != reports["b"]["data"] \
                and not _same_holdout(sa, sb):
            notes.append(f"The versions were validated on different data ({reports['a']['data']}; "
                         f"{reports['b']['data']}): each interval describes its own holdout, so a "
                         "difference is a guide, not a test.")
    cv: list[dict[str, Any]] = []
    cva = (sa["mv"].metrics or {}).get("cv") or {}
    cvb = (sb["mv"].metrics or {}).get("cv") or {}
    for name in dict.fromkeys([*cva, *cvb]):
        a, b = cva.get(name), cvb.get(name)
        cv.append({"name": name,
                   "a": None if a is None else {"mean": a.get("mean"), "std": a.get("std")},
                   "b": None if b is None else {"mean": b.get("mean"), "std": b.get("std")}})
    return {"validation": validation, "same_holdout": _same_holdout(sa, sb), "holdout": rows,
            "cross_validation": cv, "notes": notes}


def _checks(s: dict[str, Any]) -> dict[str, Any]:
    return {"accepted_warnings": [{"check_id": a["check_id"], "reason": a["reason"],
                                   "accepted_by": a["accepted_by"], "accepted_at": a["accepted_at"]}
                                  for a in s["accepted"]]}


def _segments(s: dict[str, Any]) -> Optional[dict[str, Any]]:
    """How the version was segmented and its validated results per segment (and subgroup)."""
    mv, r = s["mv"], s["run"]
    details = mv.details if isinstance(mv.details, dict) else {}
    v = s["validation"]
    groups = []
    for g in ((v["report"].get("subgroups") or []) if v else []):
        groups.append({"column": g.get("column"), "kind": g.get("kind"),
                       "primary_metric": g.get("primary_metric"),
                       "groups": [{"value": x.get("value"), "count": x.get("count"),
                                   "reliable": x.get("reliable"), "metrics": x.get("metrics")}
                                  for x in g.get("groups") or []],
                       "spread": g.get("spread")})
    segment_by = details.get("segment_by")
    if not segment_by and not groups:
        return None
    return {"segment_by": segment_by, "trained": (r.details or {}).get("segments"), "validated": groups}


def compare_versions(ws: "Workspace", ref_a: str, ref_b: str) -> dict[str, Any]:
    """Versions ``ref_a`` and ``ref_b`` (``MODEL:VERSION``) side by side:

    ``a``/``b`` (who, stage, aliases, approval), ``data`` (dataset, fingerprint, rows,
    split; same dataset / same data), ``features`` (added in b, removed from a, common),
    ``spec`` (the training settings, family and hyperparameters that differ; library
    versions that differ), ``metrics`` (each latest validation's metrics with 95%
    intervals and the difference b − a; cross-validation means), ``checks`` (accepted
    warnings), ``segments`` (per-segment and subgroup results) and ``challenge`` (the
    latest decided challenge of one of them against the other, judged on the same rows,
    or None). JSON-safe.
    """
    from .train import find_version

    mva, mvb = find_version(ws, ref_a), find_version(ws, ref_b)
    sa, sb = _side(ws, mva), _side(ws, mvb)
    da, db = _data(sa), _data(sb)
    fa, fb = list(mva.features), list(mvb.features)
    spec_a = {"spec": sa["run"].spec, "family": mva.family, "hyperparameters": sa["run"].hyperparameters}
    spec_b = {"spec": sb["run"].spec, "family": mvb.family, "hyperparameters": sb["run"].hyperparameters}
    for d in (spec_a["spec"], spec_b["spec"]):
        d.pop("model_name", None)  # the name a run registered under is not a training choice
    diff, same = _differences(spec_a, spec_b)
    lib_diff, _ = _differences(sa["run"].library_versions, sb["run"].library_versions)
    return json_safe({
        "a": _summary(sa), "b": _summary(sb),
        "same_version": mva.id == mvb.id,
        "data": {"a": da, "b": db, "same_dataset": da["dataset_id"] == db["dataset_id"],
                 "same_data": da["fingerprint"] == db["fingerprint"],
                 "same_target": mva.target == mvb.target},
        "features": {"added": [f for f in fb if f not in fa], "removed": [f for f in fa if f not in fb],
                     "common": [f for f in fa if f in fb]},
        "spec": {"differences": diff, "same": same, "library_differences": lib_diff},
        "metrics": _metrics(sa, sb),
        "checks": {"a": _checks(sa), "b": _checks(sb)},
        "segments": {"a": _segments(sa), "b": _segments(sb)},
        "challenge": _challenge(ws, mva, mvb),
    })


def _challenge(ws: "Workspace", a: "ModelVersion", b: "ModelVersion") -> Optional[dict[str, Any]]:
    """The newest decided challenge between ``a`` and ``b`` (either the challenger): its
    verdict sentence and the figures of its rule's metric for both, on the same rows."""
    from .registry import challenges

    pair = {a.id, b.id}
    for c in challenges.of_model(ws.registry, a.model_id):
        if c["status"] != "decided" or {c["challenger_id"], c["champion_id"]} != pair:
            continue
        r = c["report"]
        rule = next(m for m in r["metrics"] if m["name"] == r["rule"]["metric"])
        side = {c["challenger_id"]: rule["challenger"], c["champion_id"]: rule["champion"]}
        return {"id": c["id"], "challenger": c["challenger"], "champion": c["champion"], "verdict": c["verdict"],
                "wins": c["wins"], "sentence": r["sentence"], "rule_text": r["rule_text"],
                "metric": rule["label"], "rows": r["holdout"]["rows"], "a": side[a.id], "b": side[b.id],
                "segments": [{"segment": s["segment"], "verdict": s["verdict"], "wins": s["wins"]}
                             for s in r.get("segments") or []]}
    return None
