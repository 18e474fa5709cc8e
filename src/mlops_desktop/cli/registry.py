"""Commands of the model registry: models (list, show, stage, alias, compare, tag,
describe) and single-user mode."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from ..core import numbers
from .common import EXIT_OK, Parser, add_actor, add_common, emit, open_workspace, short, table, who

if TYPE_CHECKING:
    from ..core.registry.compare import VersionComparison
    from ..core.registry.lineage import VersionLineage


def _when(text: Any) -> str:
    return str(text or "")[:19].replace("T", " ")


def register(sub: Any) -> dict:
    p = sub.add_parser("models", help="registered models and versions: list, show, stages, aliases, "
                                      "compare, tags, descriptions")
    add_common(p)
    msub = p.add_subparsers(dest="action", metavar="ACTION", required=True, parser_class=Parser)

    q = msub.add_parser("list", help="model versions, newest first, filtered")
    q.add_argument("--stage", action="append", choices=["draft", "validated", "approved", "retired"],
                   help="only versions in this stage (repeat for several)")
    q.add_argument("--tag", metavar="KEY[=VALUE]", help="only versions with this tag (on the version or its model)")
    q.add_argument("--search", metavar="TEXT", help="part of the model name or a description")
    q.add_argument("--model", metavar="NAME", help="only the versions of this model")
    q.add_argument("--dataset", metavar="DATASET", help="only versions trained on this dataset (id or name)")
    q.add_argument("--since", metavar="DATE", help="created on or after (YYYY-MM-DD or an ISO time, UTC)")
    q.add_argument("--until", metavar="DATE", help="created on or before (a date includes that whole day)")
    q.add_argument("--limit", type=int, default=100, help="how many (default 100; 0 for all)")
    q.add_argument("--offset", type=int, default=0, help="skip this many first (for paging)")
    add_common(q)

    q = msub.add_parser("show", help="a version with its metrics, lineage, aliases, tags and stage history")
    q.add_argument("ref", metavar="MODEL[:VERSION]", help="model name, optionally with a version "
                                                          "(default: the latest)")
    add_common(q)

    q = msub.add_parser("stage", help="move a version to validated, approved or retired (the rules "
                                      "are enforced and every change recorded)")
    q.add_argument("ref", metavar="MODEL:VERSION")
    q.add_argument("stage", choices=["validated", "approved", "retired"])
    q.add_argument("--comment", default="", help="why (required to approve)")
    q.add_argument("--override", metavar="REASON",
                   help="validate a version that did not beat its baseline, for this recorded reason")
    add_common(q)
    add_actor(q)

    q = msub.add_parser("alias", help="point an alias (e.g. production) at an approved version, remove "
                                      "it, or show the aliases and their history")
    q.add_argument("model", metavar="MODEL")
    q.add_argument("alias", metavar="ALIAS", nargs="?", help="e.g. production (without it: every alias)")
    q.add_argument("version", metavar="VERSION", nargs="?", help="the approved version to point it at")
    q.add_argument("--remove", action="store_true", help="remove the alias")
    q.add_argument("--at", metavar="TIME", help="which version held the alias at this time (UTC; 'now' for the version it holds now)")
    q.add_argument("--comment", default="", help="why (recorded with the move)")
    add_common(q)
    add_actor(q)

    q = msub.add_parser("compare", help="two versions side by side: data, features, spec, metrics with "
                                        "intervals, checks, segments")
    q.add_argument("ref_a", metavar="MODEL:V1")
    q.add_argument("ref_b", metavar="MODEL:V2")
    add_common(q)

    q = msub.add_parser("tag", help="set or remove a tag on a model (MODEL) or a version (MODEL:VERSION)")
    q.add_argument("ref", metavar="MODEL[:VERSION]")
    q.add_argument("key", metavar="KEY")
    q.add_argument("value", metavar="VALUE", nargs="?")
    q.add_argument("--remove", action="store_true", help="remove the tag")
    add_common(q)
    add_actor(q)

    q = msub.add_parser("describe", help="set the description of a model (MODEL) or a version (MODEL:VERSION)")
    q.add_argument("ref", metavar="MODEL[:VERSION]")
    q.add_argument("text", metavar="TEXT", help="the description ('' clears it)")
    add_common(q)
    add_actor(q)

    q = msub.add_parser("purpose", help="set what a version is for (MODEL:VERSION, or MODEL for its latest "
                                        "version): the Purpose on its model card")
    q.add_argument("ref", metavar="MODEL[:VERSION]")
    q.add_argument("text", metavar="TEXT", help="the purpose ('' clears it)")
    add_common(q)
    add_actor(q)

    p = sub.add_parser("single-user", help="show or switch single-user mode (self-approval allowed and "
                                           "recorded as self-approved)")
    p.add_argument("state", nargs="?", choices=["on", "off"], help="without it: show the state")
    add_common(p)
    add_actor(p)
    return {"models": cmd_models, "single-user": cmd_single_user}


def cmd_models(args: argparse.Namespace) -> int:
    handler = {"list": _list, "show": _show, "stage": _stage, "alias": _alias, "compare": _compare,
               "tag": _tag, "describe": _describe, "purpose": _purpose}[args.action]
    with open_workspace(args, create=False, only_reading=args.action in ("list", "show", "compare")) as ws:
        handler(ws, args)
    return EXIT_OK


# -- list and show ------------------------------------------------------------------------------

def _list(ws: Any, args: argparse.Namespace) -> None:
    from ..core.errors import InvalidChoiceError
    from ..core.registry.lifecycle import search_versions

    if args.limit < 0 or args.offset < 0:
        raise InvalidChoiceError("--limit and --offset are 0 or more.")
    page = search_versions(ws, text=args.search, model=args.model, stage=args.stage, tag=args.tag,
                           dataset=args.dataset, since=args.since, until=args.until,
                           offset=args.offset, limit=args.limit or None)
    data = page.to_dict()

    def text() -> str:
        if not page.rows:
            return "No model versions match." if page.total or args.offset or _filtered(args) \
                else "No registered models yet."
        body = table([[r.ref, r.stage, ", ".join(r.aliases), r.family, r.target, r.dataset, _when(r.created_at),
                       r.created_by, ", ".join(f"{k}={v}" for k, v in r.tags.items())] for r in page.rows],
                     ["VERSION", "STAGE", "ALIASES", "FAMILY", "TARGET", "DATASET", "CREATED (UTC)", "BY", "TAGS"])
        last = page.offset + len(page.rows)
        return body + (f"\n{page.offset + 1}–{last} of {page.total:,}" if page.total > len(page.rows) else "")

    emit(args, data, text)


def _filtered(args: argparse.Namespace) -> bool:
    return any(getattr(args, k) for k in ("stage", "tag", "search", "model", "dataset", "since", "until"))


def _show(ws: Any, args: argparse.Namespace) -> None:
    from ..core.registry.lifecycle import alias_history, aliases_of
    from ..core.registry.lineage import version_lineage
    from ..core.train import describe_version

    data = describe_version(ws, args.ref)
    ref = data["ref"]
    lineage = version_lineage(ws, ref)
    data["description"] = lineage.version.description
    data["tags"] = lineage.version.tags
    data["model_description"] = lineage.model.description
    data["model_tags"] = lineage.model.tags
    data["aliases"] = list(lineage.aliases)
    data["model_aliases"] = aliases_of(ws, data["model"])
    data["alias_history"] = alias_history(ws, data["model"], None)
    data["stage_history"] = list(lineage.stage_changes)  # read once, with the lineage
    data["lineage"] = lineage.to_dict()
    emit(args, data, lambda: _model_text(data, lineage))


def _model_text(d: dict, lineage: "VersionLineage") -> str:
    from ..core.registry.lineage_tree import lineage_tree, tree_lines

    lines = [f"{d['ref']} ({d['stage']}): {d['family']} for {d['task']} of {d['target']}, from run "
             f"{d['run_id']} by {d['created_by']} at {d['created_at'][:19]}"]
    if d.get("aliases"):
        lines.append(f"Aliases: {', '.join(d['aliases'])}")
    if d.get("description"):
        lines.append(f"Description: {d['description']}")
    if d.get("model_description"):
        lines.append(f"Model description: {d['model_description']}")
    for label, tags in (("Tags", d.get("tags")), ("Model tags", d.get("model_tags"))):
        if tags:
            lines.append(f"{label}: " + ", ".join(f"{k}={v}" for k, v in tags.items()))
    lines += [f"Features: {', '.join(d['features'])}", f"Artifact: {d['artifact_sha256']}"]
    terms = d.get("terms")
    if terms:
        lines.append(f"Terms: {', '.join(terms['terms'])}")
        if terms.get("retransform_note"):
            lines.append(f"Target: {terms['retransform_note']}")
    cv = (d.get("metrics") or {}).get("cv") or {}
    holdout = (d.get("metrics") or {}).get("holdout") or {}
    if cv:
        lines.append("Cross-validation: " + ", ".join(f"{k} {short(v.get('mean'))}" for k, v in cv.items()))
    if holdout:
        lines.append("Holdout: " + ", ".join(f"{k} {short(v)}" for k, v in holdout.items()))
    rows = d.get("coefficients")
    if rows:
        odds = any("odds_ratio" in r for r in rows)
        header = (["CLASS"] if any("class" in r for r in rows) else []) + \
            ["TERM", "ESTIMATE", "STD ERROR", "P-VALUE", "95% CI"] + (
                ["ODDS RATIO", "ITS 95% CI", "PER SD"] if odds else [])
        body = []
        for r in rows:
            cells = ([str(r["class"])] if "class" in r else []) + [
                r["name"], short(r["estimate"]), short(r["std_error"]), numbers.p_value(r["p_value"]),
                numbers.interval(r["ci_low"], r["ci_high"])] + (
                [short(r.get("odds_ratio")), numbers.interval(r.get("odds_ratio_ci_low"), r.get("odds_ratio_ci_high")),
                 short(r.get("odds_ratio_per_sd"))] if odds else [])
            body.append(cells)
        lines += ["", table(body, header)]
    # the lineage names each stage change (who, when, comment, override, self-approval)
    lines += ["", "Lineage:", *tree_lines(lineage_tree(lineage))]
    moves = d["lineage"]["alias_moves"]
    if moves:
        lines += ["", "Alias moves of this version:"] + [f"  {_move_text(m)}" for m in moves]
    return "\n".join(lines)


def _move_text(m: dict) -> str:
    to = f"version {m['to_version']}" if m["to_version"] is not None else "nothing (removed)"
    frm = f"version {m['from_version']}" if m["from_version"] is not None else "unset"
    why = " because the version was retired" if m.get("reason") == "retired" else ""
    return (f"{_when(m['moved_at'])}  {m['alias']}: {frm} → {to} by {m['moved_by']}{why}"
            + (f" ({m['comment']})" if m.get("comment") else ""))


# -- changes ------------------------------------------------------------------------------------

def _stage(ws: Any, args: argparse.Namespace) -> None:
    from ..core.registry.lifecycle import change_stage, parse_version_ref

    name, number = parse_version_ref(args.ref)
    done = change_stage(ws, f"{name}:{number}", args.stage, actor=who(args), comment=args.comment,
                        override_reason=args.override)

    def text() -> str:
        out = f"{done['ref']}: {done['from']} → {done['to']} by {done['by']}"
        if done["baseline_override"]:
            out += " (overriding the baseline verdict)"
        if done["self_approved"]:
            out += " (self-approved: single-user mode)"
        if done["aliases_removed"]:
            out += f"\nAliases removed with it: {', '.join(done['aliases_removed'])}"
        return out

    emit(args, done, text)


def _alias(ws: Any, args: argparse.Namespace) -> None:
    from ..core.errors import InvalidChoiceError
    from ..core.registry.lifecycle import (
        alias_history,
        aliases_of,
        check_alias_name,
        remove_alias,
        set_alias,
        version_at,
    )

    if args.remove and args.version is not None:
        raise InvalidChoiceError("Give either a version to point the alias at or --remove, not both.")
    if (args.remove or args.version is not None) and args.at:
        raise InvalidChoiceError("--at asks which version held an alias; it does not go with a change.")
    if args.alias is None:
        if args.remove:
            raise InvalidChoiceError("Name the alias to remove, e.g. models alias MODEL production --remove.")
        now = aliases_of(ws, args.model)
        history = alias_history(ws, args.model, None)
        data = {"model": args.model, "aliases": now, "history": history}
        emit(args, data, lambda: _aliases_text(args.model, now, history))
        return
    alias = check_alias_name(args.alias)
    if args.remove:
        done = remove_alias(ws, args.model, alias, actor=who(args), comment=args.comment)
        emit(args, done, lambda: f"{args.model}: alias {alias} removed (was version {done['from_version']})")
    elif args.version is not None:
        done = set_alias(ws, args.model, alias, args.version, actor=who(args), comment=args.comment)
        emit(args, done, lambda: f"{args.model}: {alias} → version {done['to_version']}"
             + (f" (was version {done['from_version']})" if done["from_version"] is not None else "")
             + f" by {done['moved_by']}")
    elif args.at:
        held = version_at(ws, args.model, alias, args.at)
        emit(args, {"model": args.model, "alias": alias, "at": args.at, "held_by": held},
             lambda: f"{args.model}: {alias} at {args.at} was "
             + (f"version {held['version']} (since {_when(held['since'])}, set by {held['set_by']})"
                if held else "not set"))
    else:
        now = [a for a in aliases_of(ws, args.model) if a["alias"] == alias]
        history = alias_history(ws, args.model, alias)
        data = {"model": args.model, "aliases": now, "history": history}
        emit(args, data, lambda: _aliases_text(args.model, now, history, alias))


def _aliases_text(model: str, now: list[dict], history: list[dict], alias: str | None = None) -> str:
    unset = f"{alias} is not set" if alias else "no aliases set"
    lines = [f"{model}: " + (", ".join(f"{a['alias']} → version {a['version']}" for a in now) if now
                             else unset)]
    if history:
        lines += ["", "History (oldest first):"] + [f"  {_move_text(m)}" for m in history]
    return "\n".join(lines)


def _compare(ws: Any, args: argparse.Namespace) -> None:
    from ..core.registry.compare import compare_versions
    from ..core.registry.lifecycle import parse_version_ref

    refs = [":".join(map(str, parse_version_ref(r))) for r in (args.ref_a, args.ref_b)]
    compared = compare_versions(ws, *refs)
    emit(args, compared.to_dict(), lambda: _compare_text(compared))


def _compare_text(c: "VersionComparison") -> str:
    """The comparison as the Compare tab shows it (one presenter), with the features named
    in full and the difference of each metric."""
    from ..core.registry.comparison_table import comparison_notes, estimate, evidence_rows, version_rows

    a, b = c.a, c.b
    lines = [table(version_rows(c), ["", a.ref, b.ref])]
    f = c.features
    lines += ["", f"Features in common ({len(f.common)}): {', '.join(f.common) or '—'}"]
    if f.added:
        lines.append(f"Only in {b.ref}: {', '.join(f.added)}")
    if f.removed:
        lines.append(f"Only in {a.ref}: {', '.join(f.removed)}")
    if c.metrics.holdout:
        lines += ["", "Validated metrics (95% intervals):",
                  table([[m.label + (" (primary)" if m.primary else ""), estimate(m.a), estimate(m.b),
                          numbers.signed(m.difference_b_minus_a)] for m in c.metrics.holdout],
                        ["METRIC", a.ref, b.ref, "B − A"])]
    evidence = evidence_rows(c)
    if evidence:
        lines += ["", table(evidence, ["", a.ref, b.ref])]
    notes = comparison_notes(c)
    if notes:
        lines += [""] + [f"Note: {n}" for n in notes]
    return "\n".join(lines)


def _tag(ws: Any, args: argparse.Namespace) -> None:
    from ..core.registry.annotations import remove_tag, set_tag
    from ..core.errors import InvalidChoiceError

    if args.remove:
        if args.value is not None:
            raise InvalidChoiceError("--remove takes no value: models tag MODEL[:VERSION] KEY --remove.")
        done = remove_tag(ws, args.ref, args.key, actor=who(args))
        emit(args, done, lambda: f"{done['ref']}: tag {done['key']} removed (was {done['before']!r})")
        return
    if args.value is None:
        raise InvalidChoiceError(f"Give the tag a value: models tag {args.ref} {args.key} VALUE "
                                 "(or --remove to take it away).")
    done = set_tag(ws, args.ref, args.key, args.value, actor=who(args))
    emit(args, done, lambda: f"{done['ref']}: {done['key']} = {done['after']!r}"
         + ("" if done["changed"] else " (unchanged)"))


def _describe(ws: Any, args: argparse.Namespace) -> None:
    from ..core.registry.annotations import set_description

    done = set_description(ws, args.ref, args.text, actor=who(args))
    emit(args, done, lambda: f"{done['ref']}: description " + ("set" if done["after"] else "cleared")
         + ("" if done["changed"] else " (unchanged)"))


def _purpose(ws: Any, args: argparse.Namespace) -> None:
    from ..core.registry.annotations import set_purpose

    done = set_purpose(ws, args.ref, args.text, actor=who(args))
    emit(args, done, lambda: f"{done['ref']}: purpose " + ("set" if done["after"] else "cleared")
         + ("" if done["changed"] else " (unchanged)"))


# -- datasets lineage (the command is in .data) ------------------------------------------------------

def dataset_lineage_text(d: dict) -> str:
    """``datasets lineage`` as text: the dataset, then each run and the version it registered."""
    ds = d["dataset"]
    lines = [f"Dataset {ds['id']} {ds['name']}: {ds['rows']:,} rows, fingerprint {ds['fingerprint'][:12]}…, "
             f"from {ds['source_path']} ({ds['source_format']})"]
    if d["same_data_as"]:
        lines.append(f"Same data as dataset(s) {', '.join(map(str, d['same_data_as']))}")
    lines += preparation_lines(d.get("prepared_from"), d.get("prepared_into") or [])
    if not d["runs"]:
        lines.append("No run has used it yet.")
    versions = {(v["model"], v["version"]): v for v in d["versions"]}
    for r in d["runs"]:
        what = f"  run {r['run_id']} ({r['kind']}"
        what += f" of run {r['reproduces_run_id']}" if r.get("reproduces_run_id") else ""
        what += f", {r['status']}) {r['target']} by {r['created_by']} at {_when(r['started_at'])}"
        v = versions.get((r["model"], r["version"]))
        if v:
            what += f" → {v['ref']} ({v['stage']}" + (f"; {', '.join(v['aliases'])}" if v["aliases"] else "") + ")"
        lines.append(what)
    for x in d["drift_reports"]:
        lines.append(f"  reference of drift report {x['id']}: {x['batch_label']}: {x['verdict']}")
    for w in d["accepted_warnings"]:
        lines.append(f"  accepted warning {w['check_id']} for {w['target']} by {w['accepted_by']}: {w['reason']}")
    return "\n".join(lines)


def preparation_lines(made: dict | None, children: list[dict]) -> list[str]:
    """How a dataset was prepared (its parent and recipe, step by step) and what was
    prepared from it, as lines of text."""
    lines = []
    if made and made.get("refused"):
        lines.append(f"Prepared from dataset {made['parent'].get('id')}; its recipe is refused: {made['refused']}")
    elif made:
        parent, steps = made["parent"], made["steps"]
        lines.append(f"Prepared from dataset {parent['id']} ({parent['name']}) with a recipe of {len(steps)} "
                     f"step{'s' if len(steps) != 1 else ''} (SHA-256 {made['recipe_sha256'][:12]}…):")
        lines += [f"  {i}. {step}" for i, step in enumerate(steps, start=1)]
    for c in children:
        lines.append(f"Prepared into dataset {c['id']} ({c['name']}, {c['rows']:,} rows)")
    return lines


# -- single-user mode ------------------------------------------------------------------------------

def cmd_single_user(args: argparse.Namespace) -> int:
    from ..core.registry.lifecycle import set_single_user, single_user_mode

    with open_workspace(args, create=False) as ws:
        if args.state is None:
            on = single_user_mode(ws)
            emit(args, {"single_user": on}, lambda: "Single-user mode is " + (
                "on: a person may approve their own models, recorded as self-approved." if on else
                "off: approval takes a second person (four eyes)."))
        else:
            done = set_single_user(ws, args.state == "on", actor=who(args))
            emit(args, done, lambda: f"Single-user mode {'on' if done['single_user'] else 'off'}"
                 + ("" if done["changed"] else " (it already was)"))
    return EXIT_OK
