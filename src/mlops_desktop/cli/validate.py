"""Commands to judge a trained model: validate (metrics with intervals against the
baseline, subgroups, importance) and its model card."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..core import numbers
from ..core.validate.card import few
from .common import EXIT_OK, add_actor, add_common, emit, open_workspace, progress_for, short, who


def register(sub: Any) -> dict:
    p = sub.add_parser("validate", help="holdout metrics with 95%% intervals against the baseline, "
                                        "subgroups, importance; records the result")
    p.add_argument("model", metavar="MODEL[:VERSION]", help="a registered model (latest version) or name:version")
    p.add_argument("--data", metavar="DATASET", help="validate on this dataset instead of the run's holdout")
    p.add_argument("--threshold-cost", metavar="FP,FN",
                   help="choose the decision threshold that minimises FP·cost_fp + FN·cost_fn "
                        "(default: the threshold that maximises F1)")
    p.add_argument("--subgroup", metavar="COL", action="append", default=[],
                   help="report metrics per value of this column (repeat, or A,B)")
    p.add_argument("--report", metavar="FILE.html",
                   help="write the model card with the validation (.html or .md)")
    p.add_argument("--purpose", default="", help="what the model is for, for the model card (default: "
                                                 "the purpose stored with the version, see `models purpose`)")
    p.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples (default 1000)")
    add_common(p)
    add_actor(p)
    return {"validate": cmd_validate}


def _costs(text: str | None) -> tuple[float | None, float | None]:
    from ..core.errors import InvalidChoiceError

    if not text:
        return None, None
    try:
        fp, fn = (float(v) for v in text.split(","))
    except ValueError:
        raise InvalidChoiceError(f"--threshold-cost takes two numbers, FP,FN (e.g. 1,5); got {text!r}.") from None
    if fp < 0 or fn < 0 or fp + fn == 0:
        raise InvalidChoiceError("The costs of a false positive and a false negative must be 0 or more, "
                                 "and not both 0.")
    return fp, fn


def cmd_validate(args: argparse.Namespace) -> int:
    from ..core.validate.card_file import write_model_card
    from ..core.validate.for_version import model_card, validate_version

    cost_fp, cost_fn = _costs(args.threshold_cost)
    subgroups = [c.strip() for item in args.subgroup for c in item.split(",") if c.strip()]
    with open_workspace(args, create=False) as ws:
        result = validate_version(ws, args.model, data=args.data, cost_fp=cost_fp, cost_fn=cost_fn,
                                  subgroups=subgroups, actor=who(args), n_bootstrap=args.bootstrap,
                                  progress=progress_for(args))
        if args.report:
            card = model_card(ws, result.ref, purpose=args.purpose, validation=result.report)
            write_model_card(card, args.report)
    data = result.to_dict()
    if args.report:
        data["report"] = str(Path(args.report).expanduser().absolute())
    emit(args, data, lambda: _text(result, args.report))
    return EXIT_OK


def _text(result: Any, report: str | None) -> str:
    r = result.report
    lines = [f"Validation of {result.ref} on {result.data} ({r.n_rows:,} rows, {r.task})",
             "", r.baseline_verdict, ""]
    base = {m.name: m for m in r.baseline_metrics}
    lines.append(f"{'METRIC':<28}{'MODEL':>10}  {'95% INTERVAL':<22}{'BASELINE':>10}")
    for m in r.metrics:
        b = base.get(m.name)
        interval = numbers.interval(m.low, m.high) if m.low is not None else ""
        lines.append(f"{m.label[:27]:<28}{short(m.value):>10}  {interval:<22}{short(b.value if b else None):>10}")
    if r.threshold is not None:
        lines += ["", f"Threshold {r.threshold:.4g}: {r.threshold_reason}"]
    if r.importance:
        lines += ["", "Most important features (permutation, on the holdout):"]
        lines += [f"  {i['feature']:<28}{short(i['mean'])}" for i in r.importance[:8]]
    for g in r.subgroups or []:
        primary = g.get("primary_metric")
        bar = (f"fewer than {g.get('min_reliable_events')} rows of a class" if g.get("reliable_by") == "events"
               else f"under {g.get('min_reliable_rows', '?')} rows")
        lines += ["", f"By {g['column']} ({primary}; groups with {bar} are unreliable):"]
        for x in g["groups"][:20]:
            value = (x.get("metrics") or {}).get(primary)
            lines.append(f"  {str(x['value'])[:26]:<28}{short(value):>10}  {x['count']:>8,} rows"
                         + ("" if x.get("reliable", True) else f"  ({few(g)})"))
        if len(g["groups"]) > 20:
            lines.append(f"  … and {len(g['groups']) - 20} more (see --json or the model card)")
    lines += [""] + r.notes if r.notes else []
    if report:
        lines += ["", f"Model card written to {report}"]
    return "\n".join(lines)

