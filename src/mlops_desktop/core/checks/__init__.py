"""Statistical assumption checks for a chosen target, task and feature set.

``run_checks`` prepares the data (task, complete rows, one-hot design), fits one OLS
model and runs the checks that matter for the task; each returns a
:class:`CheckResult` with the figure, a verdict, why it matters and what to do.
``accept_warning`` records the analyst's acceptance of a warning in the registry.
"""

from .acceptance import accept_warning, accepted_warnings, attach_acceptances
from .prepare import infer_task
from .result import (NOT_APPLICABLE, OK, PROBLEM, VERDICTS, WARNING, CheckReport,
                     CheckResult)
from .runner import CHECK_IDS, CHECK_NAMES, run_checks
from ..jobs import no_progress

__all__ = [
    "CHECK_IDS", "CHECK_NAMES", "CheckReport", "CheckResult", "NOT_APPLICABLE", "OK", "PROBLEM",
    "VERDICTS", "WARNING", "accept_warning", "accepted_warnings", "attach_acceptances",
    "infer_task", "no_progress", "run_checks",
]
