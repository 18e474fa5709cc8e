"""Registry at scale: 10,000 model versions (200 models) and 100,000 audit entries.

Prints the time to generate the workspace (bench/registry_fixture.py), to open it, to
list the models, to filter the versions (the Registry page's first page, a name
substring, a stage, a tag) and to run ``verify`` (its parts too: the chain and the
record and value checks, the rules replayed, SQLite's integrity check, the references,
the files). Each figure is the best of ``--repeat``
runs (other work on the machine only ever adds time). Targets: opening and filtering
under 200 ms, verify a few seconds.

    python bench/registry.py [--versions 10000] [--audit-entries 100000] [--keep DIR] [--repeat 5]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from registry_fixture import generate  # noqa: E402


def best(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", type=int, default=10_000)
    parser.add_argument("--audit-entries", type=int, default=100_000)
    parser.add_argument("--models", type=int, default=200)
    parser.add_argument("--keep", type=Path, help="generate into (or reuse) this folder and keep it")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    from mlops_desktop.core.workspace.integrity import verify_workspace
    from mlops_desktop.core.store import models as model_rows
    from mlops_desktop.core.workspace import Workspace

    temp = None
    if args.keep:
        root = args.keep
    else:
        temp = tempfile.mkdtemp(prefix="registry-bench-")
        root = Path(temp) / "ws"
    try:
        if Workspace.is_workspace(root):
            print(f"reusing {root}")
        else:
            t = time.perf_counter()
            counts = generate(root, models=args.models, versions=args.versions,
                              audit_entries=args.audit_entries)
            print(f"{'generate':<46} {time.perf_counter() - t:8.2f} s    {counts}")

        def open_close():
            Workspace.open(root).close()

        rows: list[tuple[str, float, str]] = []
        seconds, _ = best(open_close, args.repeat)
        rows.append(("open the workspace", seconds, ""))
        ws = Workspace.open(root)
        try:
            seconds, models = best(lambda: model_rows.list_models(ws.registry), args.repeat)
            rows.append(("list models", seconds, f"{len(models)} models"))
            try:
                from mlops_desktop.core.registry.lifecycle import search_versions
            except ImportError:  # before the governance work: the plain list, filtered here
                search_versions = None
            if search_versions is not None:
                filters = [("first page, no filter", {}), ("name contains 'churn'", {"text": "churn"}),
                           ("stage approved", {"stage": "approved"}),
                           ("stage validated, name 'demand'", {"stage": "validated", "text": "demand"}),
                           ("tag team=credit", {"tag": "team=credit"})]
                for label, kw in filters:
                    seconds, page = best(lambda kw=kw: search_versions(ws, limit=100, **kw), args.repeat)
                    rows.append((f"filter versions: {label}", seconds,
                                 f"{page.total} match, {len(page.rows)} shown"))
            else:
                def every_version():
                    return [v for m in model_rows.list_models(ws.registry)
                            for v in model_rows.versions_of(ws.registry, m.name)]

                seconds, found = best(lambda: [v for v in every_version() if "churn" in v.model],
                                      args.repeat)
                rows.append(("filter versions: name contains 'churn'", seconds, f"{len(found)} match"))
                seconds, found = best(lambda: [v for v in every_version() if v.stage == "approved"],
                                      args.repeat)
                rows.append(("filter versions: stage approved", seconds, f"{len(found)} match"))

            from mlops_desktop.core.workspace.artifacts import check_files
            from mlops_desktop.core.store.consistency import check_audit, dangling_references

            repeat = max(1, min(args.repeat, 3))
            try:  # since issue 12: the database file and the rules
                from mlops_desktop.core.store import database_check
                from mlops_desktop.core.rule_replay import ACTIONS, broken_rules
            except ImportError:
                database_check = None
            if database_check is not None:
                seconds, found = best(lambda: database_check.integrity(ws.registry.db.conn), repeat)
                rows.append(("verify: SQLite's integrity check", seconds, "ok" if not found else found[0].message))
                seconds, chain = best(lambda: check_audit(ws.registry, collect=ACTIONS), repeat)
                rows.append(("verify: chain, head, records and values", seconds, f"{chain.entries} entries"))
                seconds, found = best(lambda: broken_rules(chain.collected), repeat)
                rows.append(("verify: the rules replayed", seconds, f"{len(found)} broken"))
            else:
                seconds, chain = best(lambda: check_audit(ws.registry), repeat)
                rows.append(("verify: chain, head and records", seconds, f"{chain.entries} entries"))
            seconds, _ = best(lambda: dangling_references(ws.registry), repeat)
            rows.append(("verify: references", seconds, ""))
            seconds, (n, _) = best(lambda: check_files(ws), repeat)
            rows.append(("verify: model files", seconds, f"{n} files"))
            seconds, report = best(lambda: verify_workspace(ws), repeat)
            rows.append(("verify (all)", seconds, "intact" if report.ok else
                         f"{len(report.findings)} problems: {report.problems[:2]}"))
        finally:
            ws.close()
        for label, seconds, note in rows:
            shown = f"{seconds * 1000:8.1f} ms" if seconds < 1 else f"{seconds:8.2f} s "
            print(f"{label:<46} {shown}   {note}")
    finally:
        if temp:
            shutil.rmtree(temp, ignore_errors=True)


if __name__ == "__main__":
    main()
