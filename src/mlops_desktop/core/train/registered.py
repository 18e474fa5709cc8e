"""Registered model versions: finding one by ``name[:version]``, loading its fitted
model (after the artifact's SHA-256 is checked), and describing it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from ..errors import InvalidChoiceError
from ..store import models as model_rows
from ..store import runs as run_rows

if TYPE_CHECKING:
    from ..store.models import ModelVersion
    from ..workspace import Workspace


def parse_ref(ref: str, version: Optional[int] = None) -> tuple[str, Optional[int]]:
    """``name`` or ``name:version`` -> (name, version or None for the latest)."""
    text = str(ref).strip()
    name, sep, tail = text.rpartition(":")
    if sep and tail.strip().isdigit():
        if version is not None and int(tail) != int(version):
            raise InvalidChoiceError(f"{text!r} names version {tail}, but version {version} was asked for.")
        return name.strip(), int(tail)
    if sep and not tail.strip():
        raise InvalidChoiceError(f"{text!r}: give a version number after ':' (e.g. {name}:1).")
    if not text:
        raise InvalidChoiceError("Name a registered model.")
    return text, version


def find_version(ws: "Workspace", name_or_ref: str, version: Optional[int] = None) -> "ModelVersion":
    """A model version by ``name`` (the latest), ``name:version`` or name and version."""
    name, number = parse_ref(name_or_ref, version)
    return model_rows.get_version(ws.registry, name, number)


def load_model(ws: "Workspace", name_or_ref: str, version: Optional[int] = None) -> Any:
    """The fitted model (a scikit-learn Pipeline, or a SegmentRouter for a segmented
    model) of a registered version (see :func:`load_version_model`)."""
    return load_version_model(ws, find_version(ws, name_or_ref, version))


def load_run_model(ws: "Workspace", run_id: int) -> Any:
    """The fitted model a run registered (checked like :func:`load_model`)."""
    from .errors import TrainError

    run = run_rows.get(ws.registry, run_id)
    version = model_rows.version_for_run(ws.registry, run.id)
    if version is None:
        raise TrainError(f"Run {run.id} registered no model (its status is {run.status}).")
    return load_version_model(ws, version)


def load_version_model(ws: "Workspace", mv: "ModelVersion") -> Any:
    """A version's fitted model, only from the file its audit entries record, after that
    file's SHA-256 is checked, read as a skops file of trusted types (never unpickled).
    Raises :class:`~..artifacts.ArtifactError` (or its ``UntrustedModelError``) otherwise."""
    from ..workspace.artifacts import ArtifactError, load_model_file
    from ..store.provenance import model_file_of

    recorded = model_file_of(ws.registry, mv.id)
    if recorded.problem or recorded.sha256 != mv.artifact_sha256:
        why = recorded.problem or (f"the registry points to the file {mv.artifact_sha256[:12]}…, but the "
                                   f"audit log records {str(recorded.sha256)[:12]}…: the model was swapped")
        raise ArtifactError(f"The model file of {mv.ref} was not loaded: {why}. Run "
                            "'mlops-desktop verify' for the whole picture; restore the workspace from "
                            "a backup you trust, or train the model again.")
    return load_model_file(ws, mv.artifact_sha256, owner=mv.ref)


def describe_version(ws: "Workspace", name_or_ref: str, version: Optional[int] = None) -> dict[str, Any]:
    """A version's record, its run's summary, its model terms when it was trained with a
    formula (see :func:`.formula.model_terms`; None otherwise) and, for OLS and logistic
    models, the coefficient table (None for other families)."""
    from .coefficients import coefficient_notes, coefficient_table

    found = find_version(ws, name_or_ref, version)
    coefficients, notes = None, []
    if found.family in ("ols", "logistic") and not found.details.get("segment_by"):
        model = load_version_model(ws, found)
        coefficients = coefficient_table(model)
        notes = coefficient_notes(model, found.details.get("rows"))
    out = found.to_dict()
    out["coefficients"] = coefficients
    out["coefficient_notes"] = notes
    out["terms"] = found.details.get("terms")
    out["run"] = run_rows.get(ws.registry, found.run_id).summary()
    return out
