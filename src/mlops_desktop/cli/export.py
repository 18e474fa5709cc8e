"""Command to hand a model to IT: export an approved version as a self-contained,
verified batch-scoring package (a folder, or a zip)."""

from __future__ import annotations

import argparse
from typing import Any

from ..core import numbers
from .common import EXIT_OK, add_actor, add_common, emit, open_workspace, progress_for, who


def register(sub: Any) -> dict:
    p = sub.add_parser("export", help="write an approved version as a batch-scoring package for IT "
                                      "(score.py, schema, pinned requirements, model card, drift profile)")
    p.add_argument("model", metavar="MODEL:VERSION", help="an approved version (name:version, or a name for "
                                                          "its latest version)")
    p.add_argument("--out", required=True, metavar="DIR",
                   help="the package folder to create (must not exist, or be empty); with --zip, the zip file")
    p.add_argument("--zip", action="store_true", help="write one zip file instead of a folder")
    p.add_argument("--plan", action="store_true", help="only show what would be written, and whether the "
                                                       "version may be exported")
    add_common(p)
    add_actor(p)
    return {"export": cmd_export}


def cmd_export(args: argparse.Namespace) -> int:
    from ..core.export import export_version, plan_export

    with open_workspace(args, create=False) as ws:
        if args.plan:
            plan = plan_export(ws, args.model)
            emit(args, plan.to_dict(), lambda: _plan_text(plan))
            return EXIT_OK
        result = export_version(ws, args.model, args.out, zip=args.zip, actor=who(args),
                                progress=progress_for(args))
    emit(args, result.to_dict(), lambda: _text(result))
    return EXIT_OK


def _text(result: Any) -> str:
    return "\n".join([
        f"Exported {result.ref} to {result.path} ({len(result.files)} files, {numbers.file_size(result.size_bytes)})",
        f"manifest SHA-256: {result.manifest_sha256}",
        f"checked: {result.check.get('rows', 0)} example rows scored by the package as by the app",
        "Send the manifest SHA-256 with the package; IT checks it with 'python score.py --verify'."])


def _plan_text(plan: Any) -> str:
    lines = [f"{plan.ref} ({plan.stage}): {plan.family} for {plan.task} of {plan.target}",
             "may be exported" if plan.exportable else f"cannot be exported: {plan.reason}"]
    for a in plan.approvals:
        lines.append(f"approved by {a['by']} on {a['at'][:10]}: {a['comment']}")
    lines.append("")
    for f in plan.files:
        size = "" if f.size_bytes is None else ("about " if not f.exact else "") + numbers.file_size(f.size_bytes)
        lines.append(f"  {f.path:<40}{size:>14}  {f.what}")
    if plan.previous_exports:
        lines += ["", "Exported before:"] + [f"  {e['created_at'][:19]} by {e['created_by']} to {e['out_path']}"
                                            for e in plan.previous_exports]
    return "\n".join(lines)
