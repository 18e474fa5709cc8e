"""Registered model versions: finding one by ``name[:version]``, loading its fitted
model (after the artifact's SHA-256 is checked), and describing it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from ..errors import InvalidChoiceError
from ..registry import models as model_rows
from ..registry import runs as run_rows

if TYPE_CHECKING:
    from ..registry.models import ModelVersion
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
    model) of a registered version. Its artifact's SHA-256 is checked first; a
    mismatch raises :class:`~..artifacts.ArtifactError` and nothing is unpickled."""
    from ..artifacts import load_model_file

    return load_model_file(ws, find_version(ws, name_or_ref, version).artifact_sha256)


def load_run_model(ws: "Workspace", run_id: int) -> Any:
    """The fitted model a run registered (checked like :func:`load_model`)."""
    from ..artifacts import load_model_file
    from .errors import TrainError

    run = run_rows.get(ws.registry, run_id)
    version = model_rows.version_for_run(ws.registry, run.id)
    if version is None:
        raise TrainError(f"Run {run.id} registered no model (its status is {run.status}).")
    return load_model_file(ws, version.artifact_sha256)


def describe_version(ws: "Workspace", name_or_ref: str, version: Optional[int] = None) -> dict[str, Any]:
    """A version's record, its run's summary and, for OLS and logistic models, the
    coefficient table (None for other families)."""
    from .coefficients import coefficient_notes, coefficient_table

    found = find_version(ws, name_or_ref, version)
    coefficients, notes = None, []
    if found.family in ("ols", "logistic") and not found.details.get("segment_by"):
        model = load_model(ws, found.model, found.version)
        coefficients = coefficient_table(model)
        notes = coefficient_notes(model, found.details.get("rows"))
    out = found.to_dict()
    out["coefficients"] = coefficients
    out["coefficient_notes"] = notes
    out["run"] = run_rows.get(ws.registry, found.run_id).summary()
    return out
