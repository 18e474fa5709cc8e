"""Training: from a dataset, a target and a few choices to a registered model version.

The public API:

- :class:`TrainSpec`, :class:`SplitSpec`: what a run is asked to do.
- :func:`train` -> :class:`TrainResult`; :func:`reproduce` -> :class:`ReproduceResult`.
- :func:`preview`: the task, features (and exclusions) and rows, without training.
- :func:`load_model`, :func:`load_run_model`, :func:`find_version`,
  :func:`describe_version`: registered versions and their fitted models.
- :func:`load_split`: the exact training part and holdout of a recorded run.
- :func:`coefficient_table`: the table of an OLS or logistic model.
- :func:`families_for`: the model families a task offers.
- :func:`runs` / :func:`run`: the recorded runs.

The fitted models' own classes live in :mod:`.estimators`, which imports nothing from
this project, so an export package can ship it alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from .coefficients import coefficient_table
from .errors import TrainError
from .families import Family, families_for
from .registered import describe_version, find_version, load_model, load_run_model
from .results import ReproduceResult, TrainResult
from .runner import load_split, preview, reproduce, train
from .spec import SplitSpec, TrainSpec

if TYPE_CHECKING:
    from ..store.runs import Run
    from ..workspace import Workspace

__all__ = ["TrainSpec", "SplitSpec", "TrainResult", "ReproduceResult", "TrainError", "Family",
           "train", "reproduce", "preview", "load_model", "load_run_model", "find_version",
           "describe_version", "load_split", "coefficient_table", "families_for", "runs", "run"]


def runs(ws: "Workspace", *, dataset: Optional[str | int] = None, limit: Optional[int] = None) -> list["Run"]:
    """Recorded runs, newest first (optionally of one dataset)."""
    from ..store import runs as run_rows

    dataset_id = ws.dataset(dataset).id if dataset is not None else None
    return run_rows.list_all(ws.registry, dataset_id=dataset_id, limit=limit)


def run(ws: "Workspace", run_id: int | str) -> "Run":
    """One recorded run."""
    from ..store import runs as run_rows

    return run_rows.get(ws.registry, run_id)
