"""Statistical assumption checks for a chosen target, task and feature set.

``run_checks`` prepares the data (task, complete rows, one-hot design), fits one OLS
model and runs the checks that matter for the task; each returns a
:class:`CheckResult` with the figure, a verdict, why it matters and what to do.
``accept_warning`` records the analyst's acceptance of a warning in the registry
(``withdraw_acceptance`` takes it back, recorded too);
``save_check_run`` and ``last_check_run`` keep a run and open it again.

The names load on first use: reading a stored run or an acceptance must not import
statsmodels and scipy (most of a second), which only running the checks needs.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "accept_warning": "acceptance", "accepted_warnings": "acceptance", "attach_acceptances": "acceptance",
    "withdraw_acceptance": "acceptance",
    "last_check_run": "history", "save_check_run": "history",
    "infer_task": "prepare",
    "NOT_APPLICABLE": "result", "OK": "result", "PROBLEM": "result", "VERDICTS": "result", "WARNING": "result",
    "CheckReport": "result", "CheckResult": "result",
    "CHECK_IDS": "runner", "CHECK_NAMES": "runner", "run_checks": "runner",
    "no_progress": "..jobs",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    prefix = "" if module.startswith(".") else "."
    return getattr(importlib.import_module(prefix + module, __name__), name)
