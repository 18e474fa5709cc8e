"""What an export will write, before it writes it: for the Export page and ``--json``.

Only an ``approved`` version exports; :func:`check_exportable` says why another one
does not, in a sentence the analyst can act on.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Optional

from ..errors import InvalidChoiceError

if TYPE_CHECKING:
    from ..store.models import ModelVersion
    from ..workspace import Workspace


@dataclass
class PlannedFile:
    """One file of the package. ``size_bytes`` is exact for files copied as they are and
    an estimate (``exact`` False) for the model, None for files made at export."""

    path: str
    what: str
    size_bytes: Optional[int] = None
    exact: bool = True


@dataclass
class ExportPlan:
    """A version's export: whether it may be exported, who approved it, what goes in."""

    ref: str
    model: str
    version: int
    version_id: int
    stage: str
    exportable: bool
    #: why the version cannot be exported (None when it can)
    reason: Optional[str]
    family: str
    task: str
    target: str
    features: list[str]
    segment_by: Optional[str]
    trained_by: str
    run_id: int
    #: {"by", "at", "comment", "self_approved"} per approval
    approvals: list[dict[str, Any]]
    #: a folder name for the package, e.g. "churn-v3"
    suggested_name: str
    files: list[PlannedFile] = field(default_factory=list)
    #: earlier exports of this version (``registry.exports.for_version``)
    previous_exports: list[dict[str, Any]] = field(default_factory=list)

    @property
    def known_bytes(self) -> int:
        """The size of the files whose size is known or estimated."""
        return sum(f.size_bytes or 0 for f in self.files)

    def to_dict(self) -> dict[str, Any]:
        """The plan as a plain dict, with the bytes known in advance."""
        d = asdict(self)
        d["known_bytes"] = self.known_bytes
        return d


def approvals_of(ws: "Workspace", mv: "ModelVersion") -> list[dict[str, Any]]:
    """The approvals on record for a version, oldest first."""
    from ..store import stages

    return [{"by": c["changed_by"], "at": c["changed_at"], "comment": c["comment"],
             "self_approved": bool(c.get("self_approved"))}
            for c in stages.history(ws.registry, mv.id) if c["to_stage"] == "approved"]


def refusal(mv: "ModelVersion") -> Optional[str]:
    """Why ``mv`` cannot be exported, or None when it can."""
    if mv.stage == "approved":
        return None
    if mv.stage == "retired":
        return (f"{mv.ref} is retired; a retired version cannot be exported. Export an approved "
                "version instead.")
    return (f"{mv.ref} is {mv.stage}; only an approved version can be exported, so that IT runs "
            f"what a second person signed off. Validate it and have a colleague approve it first "
            f"('mlops-desktop models stage {mv.ref} approved --comment ... --as APPROVER').")


def check_exportable(mv: "ModelVersion") -> None:
    """Raise :class:`InvalidChoiceError` unless ``mv`` is approved."""
    reason = refusal(mv)
    if reason:
        raise InvalidChoiceError(reason)


def suggested_name(mv: "ModelVersion") -> str:
    """A folder name for a version's package: the model's name made file-safe, and its version."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", mv.model).strip("-.") or "model"
    return f"{name}-v{mv.version}"


def plan_export(ws: "Workspace", ref: str) -> ExportPlan:
    """What exporting ``ref`` (``MODEL`` or ``MODEL:VERSION``) would write, with sizes
    where they are known before the export, whether it is allowed, and the approvals."""
    from ..store import exports
    from ..train import find_version
    from .files import descriptions, static_files

    mv = find_version(ws, ref)
    details = mv.details if isinstance(mv.details, dict) else {}
    artifact = ws.artifacts_dir / mv.artifact_sha256
    static = static_files()
    what = descriptions()
    files = [PlannedFile("model/model.skops", "the fitted model, saved with skops (no code runs on load)",
                         artifact.stat().st_size if artifact.is_file() else None, exact=False),
             PlannedFile("model/trusted_types.json", "the types the model needs, trusted by name on load", None),
             PlannedFile("schema.json", "input columns, types, categories, ranges; the outputs", None),
             PlannedFile("reference_profile.json", "the training data's summary for drift checks (no rows)", None),
             *([PlannedFile("calibration.json", "the probabilities' calibration on the holdout, for the "
                            "estimated performance in --monitor-out (plain numbers)", None)]
               if mv.task != "regression" else []),
             PlannedFile("requirements.txt", "the exact library versions to install", None),
             PlannedFile("MODEL_CARD.md", "the model card, with the approvals", None),
             PlannedFile("model_card.html", "the model card as a web page", None),
             PlannedFile("README.md", "for IT: install, score, schedule, exit codes, drift, contacts", None),
             PlannedFile("MLmodel", "the folder as an MLflow model", None),
             PlannedFile("python_env.yaml", "MLflow's environment file", None),
             PlannedFile("examples/input.csv", "made-up rows for the self-test", None),
             PlannedFile("examples/expected_output.csv", "their scores at export", None)]
    files += [PlannedFile(path, what[path], len(data)) for path, data in static.items()]
    files.append(PlannedFile("manifest.json", "every file's SHA-256, the model, who approved it", None))
    reason = refusal(mv)
    return ExportPlan(ref=mv.ref, model=mv.model, version=mv.version, version_id=mv.id, stage=mv.stage,
                      exportable=reason is None, reason=reason, family=mv.family, task=mv.task,
                      target=mv.target, features=list(mv.features), segment_by=details.get("segment_by"),
                      trained_by=mv.created_by, run_id=mv.run_id, approvals=approvals_of(ws, mv),
                      suggested_name=suggested_name(mv), files=files,
                      previous_exports=exports.for_version(ws.registry, mv.id))
