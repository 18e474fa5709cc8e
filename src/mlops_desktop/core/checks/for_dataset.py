"""Running the checks on a registered dataset, with its column kinds and roles."""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from ..jobs import CancelToken, ProgressCallback, no_progress
from .acceptance import accepted_warnings, attach_acceptances
from .result import CheckReport
from .runner import run_checks
from ..data.dataset import CHECK_EXCLUDED_KINDS as EXCLUDED_KINDS

if TYPE_CHECKING:
    from ..data.dataset import Dataset
    from ..workspace import Workspace



def default_features(ds: "Dataset", target: str, time_column: Optional[str] = None) -> list[str]:
    """The columns whose role is feature, less those no check can use."""
    return [c.name for c in ds.columns
            if c.role == "feature" and c.kind not in EXCLUDED_KINDS and c.name not in (target, time_column)]


def check_dataset(ws: "Workspace", dataset_ref: str | int, target: Optional[str] = None, *,
                  task: Optional[str] = None, features: Optional[list[str]] = None,
                  time_column: Optional[str] = None, formula: Optional[str] = None, store: bool = False,
                  actor: str = "", progress: ProgressCallback = no_progress,
                  cancel: Optional[CancelToken] = None) -> CheckReport:
    """Check a dataset for ``target`` (default: the dataset's target column); features
    default to the columns whose role is feature. With ``formula`` the target is its
    left side's column and the features the columns its terms read. Earlier acceptances
    of warnings for the same target and features are attached to the results. With
    ``store`` the run is kept in the registry as ``actor`` (see ``history.save_check_run``).
    A dataset larger than memory is checked on a recorded, seeded sample (the report says so)."""
    from ..data.rows_sample import CHECK_ROWS, CHECK_SEED, load_rows
    from ..errors import InvalidChoiceError

    ds = ws.dataset(dataset_ref)
    if formula is not None:
        from ..train.formula import parse_formula

        parsed = parse_formula(formula)
        if target is not None and target != parsed.target:
            raise InvalidChoiceError(f"The formula's target is {parsed.target!r}, not {target!r}.")
        target, features = parsed.target, list(parsed.variables)
    target = target or ds.target
    if target is None:
        raise InvalidChoiceError(f"Choose a target for dataset {ds.name!r} (or set one on the Data page).")
    ds.column(target)
    if time_column is not None:
        ds.column(time_column)
    if features is None:
        features = default_features(ds, target, time_column)
    else:
        for f in features:
            ds.column(f)
    columns = list(dict.fromkeys([target, *features] + ([time_column] if time_column else [])))
    table, sample = load_rows(ws, ds, columns, rows=CHECK_ROWS, seed=CHECK_SEED, stratify_by=target)
    df = table.to_pandas()
    report = run_checks(df, target, task=task, features=features, time_column=time_column,
                        kinds={c.name: c.kind for c in ds.columns}, formula=formula, progress=progress,
                        cancel=cancel)
    if sample is not None:
        report.notes.insert(0, sample.note())
    if store:
        from .history import save_check_run

        save_check_run(ws, ds.id, report, actor=actor)
    from ..prepare.suggest import attach_steps

    # a sample's smallest target may not be the dataset's (a logarithm needs every value above 0):
    # then attach_steps reads the target column itself
    attach_steps(ws, ds.id, report, target_values=df[target] if sample is None else None)
    return attach_acceptances(report, accepted_warnings(ws, ds.id, target))
