"""``upgrade-models``: convert the pickled model files of earlier versions to skops files,
in the workspace that made them (see ``core/legacy_models.py`` for the rule)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .common import EXIT_OK, EXIT_USER, add_actor, add_common, emit, open_workspace, progress_for, who


def register(sub: Any) -> dict:
    p = sub.add_parser("upgrade-models",
                       help="convert model files saved by earlier versions (pickles) to trusted skops "
                            "files, when this workspace's audit log shows it made them")
    p.add_argument("--yes", action="store_true", help="convert without asking")
    add_common(p)
    add_actor(p)
    return {"upgrade-models": cmd_upgrade_models}


def cmd_upgrade_models(args: argparse.Namespace) -> int:
    from ..core.legacy_models import review, upgrade_models

    with open_workspace(args, create=False) as ws:
        found = review(ws)
        if not found.models:
            emit(args, {**found.to_dict(), "converted": [], "refused": []},
                 lambda: "No model file needs converting: every model file is a skops file.")
            return EXIT_OK
        if found.convertible and not args.yes and not _agreed(args, found):
            emit(args, {**found.to_dict(), "converted": [], "refused": []}, lambda: _listing(found) + (
                "\nNothing was changed. Run 'mlops-desktop upgrade-models --yes' to convert them."))
            return EXIT_OK
        result = upgrade_models(ws, actor=who(args),
                                progress=progress_for(args))

    def text() -> str:
        lines = [f"Converted {len(result.converted)} model file(s) to skops files:"] if result.converted else \
            ["No model file was converted."]
        lines += [f"  {c['ref']}: {c['from_sha256'][:12]}… → {c['to_sha256'][:12]}…" for c in result.converted]
        if result.refused:
            lines.append(f"Left as they are ({len(result.refused)}; they will not be loaded, train them again):")
            lines += [f"  {r['ref']}: {r['reason']}" for r in result.refused]
        return "\n".join(lines)

    emit(args, {**found.to_dict(), **result.to_dict()}, text)
    return EXIT_USER if result.refused else EXIT_OK


def _listing(found: Any) -> str:
    lines = [f"{len(found.models)} model file(s) were saved by an earlier version (as pickles, which "
             "this version never loads):"]
    lines += [f"  {m.ref}" + (f" (cannot be converted: {m.blocked})" if m.blocked else "") for m in found.models]
    return "\n".join(lines)


def _agreed(args: argparse.Namespace, found: Any) -> bool:
    """Ask on a terminal (never when the output is JSON or nobody can answer)."""
    if args.json or not sys.stdin.isatty():
        return False
    print(_listing(found), file=sys.stderr)
    answer = input(f"Convert {len(found.convertible)} model file(s) to trusted skops files? [y/N] ")
    return answer.strip().lower() in ("y", "yes")
