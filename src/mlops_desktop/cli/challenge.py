"""Commands to renew a model: retrain, challenge, challenges, promote, rollback and
promote-segments.

``challenge`` exits 0 when the challenger wins by the declared rule, 4 when it does not
(so a scheduled job can act on it), 2 on bad input. Nothing is ever promoted by it.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..core import numbers
from .common import EXIT_OK, add_actor, add_common, emit, open_workspace, progress_printer, table, who

#: the challenger did not win by the rule
EXIT_NOT_WON = 4


def register(sub: Any) -> dict:
    p = sub.add_parser("retrain", help="train a version again, as recorded, on newer data: a draft version with "
                                       "the alias challenger")
    p.add_argument("ref", metavar="MODEL[:VERSION]", help="the version whose recorded spec to run again "
                                                          "(default: the latest)")
    p.add_argument("--data", required=True, action="append", metavar="DATASET",
                   help="a dataset to train on (id or name); repeat to join several")
    p.add_argument("--window", metavar="since:DATE|last:ROWS", help="only these rows of the data, by time")
    p.add_argument("--time-column", metavar="COLUMN", help="the column that orders the rows in time (default: "
                                                           "the recorded time-ordered split's, else the one date column)")
    add_common(p)
    add_actor(p)

    p = sub.add_parser("challenge", help="judge a challenger against production on the same recent rows neither "
                                         "was trained on (exit 0: it wins by the rule, 4: it does not)")
    p.add_argument("ref", metavar="MODEL:CHALLENGER", help="the challenger version")
    p.add_argument("--against", default="production", metavar="ALIAS|MODEL:VERSION",
                   help="the version to beat (default: production)")
    p.add_argument("--on", required=True, metavar="DATASET", help="the labelled data to judge on")
    p.add_argument("--holdout", required=True, metavar="latest:FRACTION|since:DATE",
                   help="which rows of it, by time: the newest share, or the rows since a date")
    p.add_argument("--metric", metavar="METRIC", help="the metric the rule is judged on (default: ROC AUC for "
                                                       "classifiers, RMSE for regression)")
    p.add_argument("--rule", default="superiority", choices=["superiority", "non-inferiority"],
                   help="superiority: better by more than the margin; non-inferiority: not worse by the margin "
                        "or more (default: superiority)")
    p.add_argument("--margin", type=float, default=0.0, help="in the metric's units (default 0)")
    p.add_argument("--time-column", metavar="COLUMN", help="the column that orders the rows in time")
    p.add_argument("--bootstrap", type=int, default=1000, metavar="N", help="paired bootstrap resamples "
                                                                            "(default 1000)")
    p.add_argument("--seed", type=int, default=0, help="seed of the resamples (default 0)")
    add_common(p)
    add_actor(p)

    p = sub.add_parser("challenges", help="stored challenges of a model, newest first, or one in full")
    p.add_argument("model", metavar="MODEL", nargs="?", help="the model (needed unless --show)")
    p.add_argument("--show", type=int, metavar="ID", help="one challenge in full")
    add_common(p)

    p = sub.add_parser("promote", help="point production at an approved version (recorded; the version stops "
                                       "being the challenger)")
    p.add_argument("ref", metavar="MODEL:VERSION")
    p.add_argument("--alias", default="production", help="the alias to move (default: production)")
    p.add_argument("--comment", default="", help="why (recorded with the move)")
    add_common(p)
    add_actor(p)

    p = sub.add_parser("rollback", help="move production back to the version it held before its last move, "
                                        "with a reason (recorded)")
    p.add_argument("model", metavar="MODEL")
    p.add_argument("--reason", required=True, help="what went wrong (recorded with the move)")
    p.add_argument("--alias", default="production", help="the alias to move back (default: production)")
    add_common(p)
    add_actor(p)

    p = sub.add_parser("promote-segments", help="a new draft version from a challenge of two segmented versions: "
                                                "the challenger's models where they passed, production's elsewhere")
    p.add_argument("challenge_id", type=int, metavar="CHALLENGE_ID")
    add_common(p)
    add_actor(p)
    return {"retrain": cmd_retrain, "challenge": cmd_challenge, "challenges": cmd_challenges,
            "promote": cmd_promote, "rollback": cmd_rollback, "promote-segments": cmd_promote_segments}


def _progress(args: argparse.Namespace):
    return progress_printer(not args.json and sys.stderr.isatty())


def cmd_retrain(args: argparse.Namespace) -> int:
    from ..core.challenge import retrain

    with open_workspace(args, create=False) as ws:
        result = retrain(ws, args.ref, args.data, window=args.window, time_column_name=args.time_column,
                         actor=who(args), progress=_progress(args))

    def text() -> str:
        t, d = result.training, result.dataset
        joined = ", ".join(s["name"] for s in result.sources)
        lines = [f"{result.challenger} (draft, alias challenger) retrained from {result.parent} in run {t.run_id} "
                 f"({numbers.seconds(t.seconds)})",
                 f"Data: {d['name']} ({d['rows']:,} rows" + (f", joined from {joined}" if len(result.sources) > 1
                                                             or d["id"] != result.sources[0]["id"] else "")
                 + (f"; {result.window['kind']}:{result.window['value']}" if result.window else "") + ")",
                 f"Rows: {t.rows['train']:,} training, {t.rows['holdout']:,} holdout; chosen: {t.chosen}",
                 f"Next: mlops-desktop challenge {result.challenger} --against production --on DATASET "
                 "--holdout latest:0.2"]
        return "\n".join(lines + [f"  note: {n}" for n in t.notes])

    emit(args, result.to_dict(), text)
    return EXIT_OK


def cmd_challenge(args: argparse.Namespace) -> int:
    from ..core.challenge import challenge

    with open_workspace(args, create=False) as ws:
        report = challenge(ws, args.ref, against=args.against, on=args.on, holdout=args.holdout, metric=args.metric,
                           rule=args.rule, margin=args.margin, time_column_name=args.time_column,
                           n_bootstrap=args.bootstrap, seed=args.seed, actor=who(args), progress=_progress(args))
    data = report.to_dict() | {"exit_code": EXIT_OK if report.wins else EXIT_NOT_WON}
    emit(args, data, lambda: report_text(report))
    return EXIT_OK if report.wins else EXIT_NOT_WON


def report_text(r: Any) -> str:
    """A challenge report for a terminal."""
    h = r.holdout
    lines = [f"Challenge {r.challenge_id}: {r.challenger} against {r.against} ({r.champion}) on {r.dataset['name']}, "
             f"{h['window_text']} (by {h['time_column']}): {h['rows']:,} labelled rows from {h['first']} to "
             f"{h['last']}",
             f"Rule, declared before scoring: {r.rule_text}", "", r.sentence, ""]
    rows = [[m.label + (" (rule)" if m.name == r.rule["metric"] else ""),
             numbers.with_interval(m.champion.value, m.champion.low, m.champion.high),
             numbers.with_interval(m.challenger.value, m.challenger.low, m.challenger.high),
             numbers.with_interval(m.difference.value, m.difference.low, m.difference.high, sign=True)]
            for m in r.metrics]
    lines.append(table(rows, ["METRIC", "PRODUCTION", "CHALLENGER", "CHALLENGER − PRODUCTION (95%)"]))
    if r.mcnemar is not None:
        lines += ["", r.mcnemar.sentence()]
    if r.calibration:
        rows = [[a.label, numbers.with_interval(a.value, a.low, a.high), numbers.with_interval(b.value, b.low, b.high)]
                for a, b in zip(r.calibration["champion"], r.calibration["challenger"])]
        lines += ["", "Calibration:", table(rows, ["", "PRODUCTION", "CHALLENGER"])]
    if r.segments:
        rows = [[s.segment, f"{s.rows:,}", numbers.value(s.champion), numbers.value(s.challenger),
                 numbers.with_interval(s.difference, s.low, s.high, sign=True),
                 r.segment_verdict(s) + (" ✓" if s.wins else ""), f"{s.champion_model} / {s.challenger_model}"]
                for s in r.segments]
        lines += ["", f"Per segment of {r.segment_column} ({numbers.metric_name(r.rule['metric'], r.task)}):",
                  table(rows, ["SEGMENT", "ROWS", "PRODUCTION", "CHALLENGER", f"DIFFERENCE ({r.segment_interval()})", "VERDICT",
                               "MODELS (PRODUCTION / CHALLENGER)"]),
                  r.segment_sentence()]
        if r.segments_promotable and r.improved_segments:
            lines.append(f"Promote these segments only: mlops-desktop promote-segments {r.challenge_id}")
    lines += ["", "Rows neither version was trained on:"]
    from ..core.challenge.rows import RowCheck

    lines += [f"  {RowCheck(**c).sentence()}" for c in r.row_checks]
    if r.notes:
        lines += ["", "Notes:"] + [f"  - {n}" for n in r.notes]
    lines += ["", ("The challenger wins by the rule (exit 0)" if r.wins else "The challenger does not win (exit 4)")
              + "; nothing was promoted."]
    return "\n".join(lines)


def cmd_challenges(args: argparse.Namespace) -> int:
    from ..core.challenge import of_model, stored
    from ..core.errors import InvalidChoiceError

    with open_workspace(args, create=False, only_reading=True) as ws:
        if args.show is not None:
            one = stored(ws, args.show)
            emit(args, one.to_dict(), lambda: report_text(one.report) if one.report is not None else
                 f"Challenge {one.id}: {one.challenger} against {one.champion}, {one.status}"
                 + (f": {one.error}" if one.error else ""))
            return EXIT_OK
        if not args.model:
            raise InvalidChoiceError("Name the model (challenges MODEL), or one challenge with --show ID.")
        rows = of_model(ws, args.model)
    data = [c.to_dict() | {"report": None} for c in rows]
    emit(args, data, lambda: table(
        [[c.id, c.challenger, c.champion, c.dataset,
          f"{c.rule.rule} on {numbers.metric_name(c.rule.metric)}, margin {numbers.value(c.rule.margin)}", c.outcome,
          "" if c.wins is None else ("wins" if c.wins else "does not win"), c.created_by,
          numbers.timestamp(c.declared_at)] for c in rows],
        ["ID", "CHALLENGER", "AGAINST", "DATA", "RULE", "VERDICT", "", "BY", "DECLARED"]) if rows
        else f"No challenges of {args.model} yet.")
    return EXIT_OK


def cmd_promote(args: argparse.Namespace) -> int:
    from ..core.challenge import promote

    with open_workspace(args, create=False) as ws:
        done = promote(ws, args.ref, actor=who(args), comment=args.comment, alias=args.alias)

    def text() -> str:
        frm = f"version {done['from_version']}" if done["from_version"] is not None else "unset"
        out = f"{done['model']}: {done['alias']} {frm} → version {done['to_version']} by {done['moved_by']}"
        c = done["challenge"]
        if c:
            out += (f"\nIts latest challenge ({c['id']}, against {c['against']}): {c['verdict']}, "
                    + ("won by the rule." if c["wins"] else "did NOT win by the rule."))
        else:
            out += "\nIt was never challenged."
        return out

    emit(args, done, text)
    return EXIT_OK


def cmd_rollback(args: argparse.Namespace) -> int:
    from ..core.challenge import roll_back

    with open_workspace(args, create=False) as ws:
        done = roll_back(ws, args.model, reason=args.reason, actor=who(args), alias=args.alias)
    emit(args, done, lambda: f"{done['model']}: {done['alias']} rolled back from {done['from_ref']} to {done['ref']} "
                             f"by {done['moved_by']} ({done['comment']})")
    return EXIT_OK


def cmd_promote_segments(args: argparse.Namespace) -> int:
    from ..core.challenge import promote_segments

    with open_workspace(args, create=False) as ws:
        done = promote_segments(ws, args.challenge_id, actor=who(args))
    emit(args, done.to_dict(), lambda: (
        f"{done.version} (draft, alias challenger) assembled from challenge {done.challenge_id}: the challenger's "
        f"models for {', '.join(done.from_challenger)}; production's for "
        f"{', '.join(done.from_champion) or 'no other segment'} and rows of no segment. Validate and approve it "
        "like any version before promoting it."))
    return EXIT_OK
