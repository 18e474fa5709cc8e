"""The sample project: a workspace built from the bundled penguins sample by the app's
own core, at the moment it is asked for (never shipped as a binary), so that a new
analyst sees every step of the flow filled in.

It holds one dataset (the penguins measurements), one stored run of the assumption
checks for its target, one trained model (species from the measurements, a logistic
regression next to its baseline), one validation of that model on its holdout that
moved it to the validated stage, and one drift report comparing the penguins of a
single island with the model's training rows (that batch drifts, so the report shows
what a drift verdict looks like). Every page opens on these stored results.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from .errors import WorkspaceError
from .jobs import CancelToken, ProgressCallback, Steps, no_progress
from .workspace.settings import APP_DIR_NAME

SAMPLE_FILE = "penguins.csv"
TARGET = "species"
#: the model family: quick to fit, and its coefficient table explains it
FAMILY = "logistic"
#: the survey year says when a bird was measured, not what it is
EXCLUDED = ["year"]
DRIFT_COLUMN, DRIFT_VALUE = "island", "Biscoe"


@dataclass
class SampleProject:
    """What :func:`build_sample_project` made."""

    root: Path
    dataset_id: int
    dataset_name: str
    model: str            # "NAME:VERSION"
    check_run_id: int
    validation_id: int
    drift_report_id: int
    drift_verdict: str

    def to_dict(self) -> dict[str, Any]:
        """The sample project's fields as a plain dict (the folder as text)."""
        d = dict(self.__dict__)
        d["root"] = str(self.root)
        return d


def sample_file() -> Path:
    """The bundled penguins sample (installed package, packaged app, or source tree)."""
    import importlib.resources

    try:
        path = Path(str(importlib.resources.files("mlops_desktop.resources") / "samples" / SAMPLE_FILE))
        if path.is_file():
            return path
    except ModuleNotFoundError:
        pass
    return Path(__file__).resolve().parents[3] / "resources" / "samples" / SAMPLE_FILE


def default_sample_project_dir() -> Path:
    """Where the app keeps the sample project: ``sample-project`` in the user data
    directory, or ``sample-project-2`` (3, ...) when that folder holds something else
    (e.g. what a killed build left), so the sample can always be built or opened."""
    import platformdirs

    from .workspace import Workspace

    base = Path(platformdirs.user_data_dir(APP_DIR_NAME, appauthor=False))
    for n in range(1, 100):
        candidate = base / ("sample-project" if n == 1 else f"sample-project-{n}")
        if Workspace.is_workspace(candidate) or not candidate.exists() \
                or (candidate.is_dir() and not any(candidate.iterdir())):
            return candidate
    raise WorkspaceError(f"Cannot find a free folder for the sample project in {base}; "
                         "remove the sample-project folders there.")


def build_sample_project(ws_dir: Path | str, *, actor: str, progress: Optional[ProgressCallback] = None,
                         cancel: Optional[CancelToken] = None) -> SampleProject:
    """Create a workspace in ``ws_dir`` (missing or empty) and fill it from the bundled
    sample: import the dataset, train and register one model, validate it, and store one
    drift report. Every step goes through the registry with its audit entry, as ``actor``.

    Raises :class:`WorkspaceError` when ``ws_dir`` cannot hold a new workspace, and
    :class:`JobCancelled` when ``cancel`` is set. On any failure or cancel the folder is
    left as it was found (missing, or empty), so nothing half-built stays behind.
    """
    from .workspace import Workspace

    root = Path(ws_dir).expanduser().absolute()
    if Workspace.is_workspace(root):
        raise WorkspaceError(f"{root} is already a workspace; open it, or choose an empty folder "
                             "for the sample project.")
    existed = root.is_dir()
    report = progress or no_progress
    steps = Steps(report, cancel, {"create": 1, "import": 2, "check": 2, "train": 6, "validate": 6,
                                   "drift": 2})
    steps.start("create", "Creating the workspace")
    ws = Workspace.create(root, actor=actor)  # refuses a folder that is not empty
    try:
        project = _fill(ws, steps, actor=actor, cancel=cancel)
    except BaseException:
        ws.close()
        _remove_contents(root, keep_folder=existed)
        raise
    ws.close()
    steps.done(f"Sample project ready: {project.model}")
    return project


def _fill(ws: Any, steps: Steps, *, actor: str, cancel: Optional[CancelToken]) -> SampleProject:
    import pyarrow.compute as pc

    from .checks.for_dataset import check_dataset
    from .registry.lifecycle import change_stage
    from .monitor import Batch, resolve_reference, run_drift
    from .train import TrainSpec, train
    from .validate.for_version import validate_version

    def within(fraction: Optional[float], _message: str) -> None:
        if fraction is not None:
            steps.within(fraction)

    steps.start("import", "Importing the penguins sample")
    dataset = ws.import_file(sample_file(), name="penguins", actor=actor, progress=within,
                             cancel=cancel).dataset
    # the roles an analyst would set, so that every page shows the target's relations
    ws.update_column(dataset.id, TARGET, role="target", actor=actor)
    for column in EXCLUDED:
        ws.update_column(dataset.id, column, role="ignore", actor=actor)

    steps.start("check", "Checking the assumptions a model of the species relies on")
    checks = check_dataset(ws, dataset.id, TARGET, store=True, actor=actor, progress=within, cancel=cancel)

    steps.start("train", "Training a model of the species")
    spec = TrainSpec(dataset=dataset.id, target=TARGET, models=[FAMILY])
    trained = train(ws, spec, actor=actor, progress=within, cancel=cancel)
    ref = f"{trained.model}:{trained.version}"

    steps.start("validate", f"Validating {ref} on its holdout")
    validation = validate_version(ws, ref, actor=actor, progress=within, cancel=cancel)
    # the validation is the evidence the stage rule asks for; a model that did not beat
    # its baseline would need an override, which a sample must not invent
    if validation.report.beats_baseline:
        change_stage(ws, ref, "validated", actor=actor,
                     comment="Beats its baseline on the holdout (the sample project's validation).")

    steps.start("drift", f"Comparing the {DRIFT_VALUE} penguins with the training rows")
    table = ws.load_table(ws.dataset(dataset.id))
    one_island = table.filter(pc.equal(table[DRIFT_COLUMN], DRIFT_VALUE))
    batch = Batch(f"{DRIFT_VALUE} island only", one_island,
                  {"type": "data", "description": f"the rows of dataset {dataset.name} where "
                                                  f"{DRIFT_COLUMN} is {DRIFT_VALUE}"})
    drift = run_drift(ws, resolve_reference(ws, ref), [batch], actor=actor, progress=within,
                      cancel=cancel)
    stored = drift.reports[0]
    return SampleProject(root=ws.root, dataset_id=dataset.id, dataset_name=dataset.name, model=ref,
                         check_run_id=int(checks.id), validation_id=validation.validation_id,
                         drift_report_id=int(stored.id), drift_verdict=stored.verdict)


def _remove_contents(root: Path, *, keep_folder: bool) -> None:
    """Undo a partial build: delete what it wrote (the folder was empty or missing)."""
    if not root.exists():
        return
    if not keep_folder:
        shutil.rmtree(root, ignore_errors=True)
        return
    for child in root.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)
