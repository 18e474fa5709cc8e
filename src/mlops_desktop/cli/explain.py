"""The command that explains a version's decisions: per row the reasons (the columns
that pushed its score most towards its decision) and every column's contribution."""

from __future__ import annotations

import argparse
from typing import Any

from ..core import numbers
from .common import EXIT_OK, add_common, emit, open_workspace


def register(sub: Any) -> dict:
    p = sub.add_parser("explain", help="why a version decides as it does: per row the reasons and each "
                                       "column's contribution to its score (as score.py --reasons)")
    p.add_argument("model", metavar="MODEL:VERSION", help="a registered model (latest version) or name:version")
    p.add_argument("--data", metavar="FILE", required=True,
                   help="the rows to explain: a CSV, Excel or Parquet file, or a dataset of the workspace")
    p.add_argument("--rows", metavar="SPEC", help="which rows, numbered from 1: e.g. 1-10,15, or all "
                                                  "(default: the first 10)")
    p.add_argument("--top", type=int, default=3, metavar="N", help="reasons per row (default 3, at most 20)")
    add_common(p)
    return {"explain": cmd_explain}


def cmd_explain(args: argparse.Namespace) -> int:
    from ..core.validate.explanations import explain_rows

    with open_workspace(args, create=False, only_reading=True) as ws:
        result = explain_rows(ws, args.model, args.data, rows=args.rows, top=args.top)
    emit(args, result.to_dict(), lambda: _text(result))
    return EXIT_OK


def _text(result: Any) -> str:
    lines = [f"Why {result.ref} decides as it does, on {result.data} ({len(result.rows):,} of "
             f"{result.rows_in_data:,} rows)"]
    if result.threshold is not None:
        lines.append(f"Decision threshold {numbers.value(result.threshold)} for {result.positive_class!r} "
                     "(the validation the approval rested on).")
    for row in result.rows:
        decided = f", decided {row.decision!r}" if row.decision is not None else ""
        lines += ["", f"Row {row.row:,}{decided}: {row.output} {numbers.value(row.score)} "
                      f"(base value {numbers.value(row.base)})"]
        if not row.reasons:
            lines.append("  no column pushed the score towards this decision")
        for i, reason in enumerate(row.reasons, 1):
            lines.append(f"  {i}. {reason.column} = {'missing' if reason.value is None else reason.value}"
                         f": {numbers.signed(reason.contribution)}")
    lines += ["", result.note]
    return "\n".join(lines)
