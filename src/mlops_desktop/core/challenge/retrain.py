"""Retraining a version on newer data: its recorded spec (target, features and how each is
treated, split, families, search, segments, seed) run again on other datasets, the new
version recorded with its parent and marked ``challenger``.

Several datasets, or a window of rows (``since:DATE``, ``last:ROWS``), are first joined
into one dataset registered like any import (fingerprint, snapshot, audit entry), so the
new run can be reproduced and its split rebuilt like any other.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional, Sequence

from ..jobs import CancelToken, ProgressCallback, no_progress
from ..plain import json_safe
from ..data.on_disk import refuse_if_too_large
from .errors import TOO_LARGE_WAY_OUT, ChallengeError
from .windows import Window, parse_training_window, select, time_column

if TYPE_CHECKING:
    from ..data.dataset import Dataset
    from ..train.results import TrainResult
    from ..workspace import Workspace


@dataclass
class RetrainResult:
    """A retraining: the version it started from, the data, the run and the new version."""

    parent: str
    challenger: str
    training: "TrainResult"
    dataset: dict[str, Any]
    sources: list[dict[str, Any]]
    window: Optional[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        """What ``challenge retrain --json`` prints: the parent, the new challenger, its data
        and window, and the run."""
        return json_safe({"parent": self.parent, "challenger": self.challenger, "alias": "challenger",
                          "dataset": self.dataset, "sources": self.sources, "window": self.window,
                          "run": self.training.to_dict()})


def _facts(ds: "Dataset") -> dict[str, Any]:
    return {"id": ds.id, "name": ds.name, "fingerprint": ds.fingerprint, "rows": ds.n_rows}


def _joined(ws: "Workspace", sources: list["Dataset"], window: Optional[Window], tcol: Optional[str],
            name: str, *, source: str, actor: str, progress: ProgressCallback,
            cancel: Optional[CancelToken]) -> "Dataset":
    """The sources' rows (in a window) as one registered dataset, imported from a
    temporary file named ``source`` (what its record names as its source)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from ..data.readers import ImportOptions

    refuse_if_too_large(sources, "retraining joins every row of its datasets", TOO_LARGE_WAY_OUT)
    try:
        table = pa.concat_tables([ws.load_table(ds) for ds in sources], promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise ChallengeError(f"The datasets cannot be joined into one: {exc}. Retrain on datasets with the "
                             "same columns.") from None
    if window is not None:
        assert tcol is not None
        positions = np.sort(select(table.select([tcol]).to_pandas(), tcol, window))
        if not len(positions):
            raise ChallengeError(f"{window.describe()} (by {tcol}) leave no row to train on.")
        table = table.take(pa.array(positions))
    with tempfile.TemporaryDirectory(prefix="mlops-desktop-retrain-") as folder:
        path = Path(folder) / f"{_file_name(source)}.parquet"
        pq.write_table(table, path)
        return ws.import_file(path, ImportOptions(format="parquet"), name=name, actor=actor, progress=progress,
                              cancel=cancel).dataset


def _file_name(text: str) -> str:
    """``text`` as a file name on every system (the joined data's recorded source file)."""
    import re

    return re.sub(r'[\\/:*?"<>|\x00-\x1f]+', "-", text).strip(" .")[:150] or "data"


def retrain(ws: "Workspace", ref: str, datasets: Sequence[str | int], *, window: Optional[str] = None,
            time_column_name: Optional[str] = None, actor: str, progress: ProgressCallback = no_progress,
            cancel: Optional[CancelToken] = None) -> RetrainResult:
    """Train ``ref`` (``MODEL`` or ``MODEL:VERSION``) again, as recorded, on ``datasets``
    (joined, and cut to ``window`` when given); register the result as a draft version of
    the same model with the alias ``challenger``."""
    from ..jobs import Steps
    from ..registry.lifecycle import CHALLENGER, set_alias
    from ..train import find_version, run, train
    from ..train.runner import recorded_features, recorded_spec

    steps = Steps(progress, cancel, {"data": 1, "train": 8, "alias": 0.1})
    if not datasets:
        raise ChallengeError("Name the data to retrain on (--data DATASET, repeatable).")
    mv = find_version(ws, ref)
    parent_run = run(ws, mv.run_id)
    sources = [ws.dataset(d) for d in dict.fromkeys(str(d) for d in datasets)]
    the_window = parse_training_window(window) if window else None
    tcol = None
    if the_window is not None:
        tcol = time_column(sources[0], time_column_name, (mv.details or {}).get("split"))
    steps.start("data", "Preparing the data")
    if len(sources) == 1 and the_window is None:
        trained_on = sources[0]
    else:
        what = " + ".join(ds.name for ds in sources) + (f", {the_window.describe()}" if the_window else "")
        trained_on = _joined(ws, sources, the_window, tcol, f"{mv.model} retraining data", actor=actor,
                             source=f"retraining data of {mv.ref} ({what})",
                             progress=lambda f, m: steps.within(f or 0.0), cancel=cancel)
    spec = recorded_spec(parent_run)
    spec.dataset = trained_on.id
    spec.model_name = mv.model
    origin = {"kind": "retrain", "parent": {"ref": mv.ref, "version_id": mv.id, "run_id": mv.run_id},
              "sources": [_facts(ds) for ds in sources], "window": the_window.to_dict() if the_window else None,
              "time_column": tcol, "trained_on": _facts(trained_on)}
    steps.start("train", f"Training {mv.model} again on {trained_on.name}")
    result = train(ws, spec, actor=actor, cancel=cancel, fixed_features=recorded_features(parent_run),
                   origin=origin, progress=lambda f, m: steps.within(f or 0.0))
    steps.start("alias", "Marking the new version as the challenger")
    set_alias(ws, mv.model, CHALLENGER, result.version, actor=actor, comment=f"retrained from {mv.ref}")
    steps.done(f"{mv.model}:{result.version} is the challenger")
    return RetrainResult(mv.ref, f"{mv.model}:{result.version}", result, _facts(trained_on),
                         origin["sources"], origin["window"])
