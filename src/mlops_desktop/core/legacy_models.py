"""Model files of earlier versions: zlib-compressed pickles. They are never loaded as
they are. A workspace that made them itself may convert them to skops files, once,
when the user agrees (the app asks when it opens the workspace; the CLI has
``mlops-desktop upgrade-models``).

The rule for "made them itself", checked again at every conversion, all of it:

1. The audit log verifies: the chain is intact and every record agrees with it.
2. The log records no restore (``workspace.restored``): a restored backup holds
   somebody's files, whatever its log says about them.
3. The workspace is where its log says it was made: the log begins with its
   ``workspace.created`` entry, which names this workspace's id and this very folder
   (the same folder, not only the same path text). A copied or moved folder is another
   workspace; so is a folder made elsewhere and unpacked at the same path.
4. For each model version: its ``model.version_created`` entry names this file and its
   run, its run's last ``run.finished`` entry says it succeeded, and the run was
   recorded running on this computer (runs from before the computer was recorded do
   not qualify).
5. The file's SHA-256 is the one the registry and the log record.

Even then the pickle is read by an unpickler that resolves only the exact names a model
of this app is made of (:data:`PICKLE_GLOBALS`): no other function or class can be
reached, so a forged file cannot run code through the conversion either. The model it
builds must be a fitted estimator whose trees pass :mod:`.tree_checks`, and it must
read back from its new skops file before the registry points to that file.

What the rule cannot tell: the audit log is not signed. Somebody who builds a whole
workspace folder by hand, with a consistent chain, this computer's name and the exact
folder it will be opened at, passes 1-5; the restricted unpickler is what stands then.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from .workspace.artifacts import (
    UntrustedModelError,
    artifact_path,
    discard_unreferenced,
    read_model_bytes,
    store_bytes,
)
from .jobs import CancelToken, ProgressCallback, no_progress

if TYPE_CHECKING:
    from .store.audit import ChainCheck
    from .store.models import ModelVersion
    from .workspace import Workspace

UPGRADE_COMMAND = "mlops-desktop upgrade-models"
PICKLE_REASON = ("it is a pickle (the format earlier versions of MLOps Desktop saved models in), and a "
                 "pickle can run any code when it is loaded")
CONVERTED = "model.file_converted"
#: how much of a file tells whether it is a pickle
HEAD_BYTES = 1024
_ACTIONS = ("workspace.created", "workspace.restored", "model.version_created", "run.finished")

#: every name a pickled model of this app refers to (numpy's old and new module names);
#: a test pickles a model of every family and checks that it needs nothing else
PICKLE_GLOBALS: frozenset[str] = frozenset({
    "builtins.slice",
    "functools.partial",
    "mlops_desktop.core.train.estimators.InputColumns",
    "mlops_desktop.core.train.estimators.SegmentRouter",
    "mlops_desktop.core.train.estimators.StatsmodelsLogit",
    "mlops_desktop.core.train.estimators.StatsmodelsOLS",
    "numpy._core.multiarray._reconstruct",
    "numpy._core.multiarray.scalar",
    "numpy._core.numeric._frombuffer",
    "numpy.core.multiarray._reconstruct",
    "numpy.core.multiarray.scalar",
    "numpy.core.numeric._frombuffer",
    "numpy.dtype",
    "numpy.float64",
    "numpy.ndarray",
    "numpy.random._pcg64.PCG64",
    "numpy.random._pickle.__bit_generator_ctor",
    "numpy.random._pickle.__generator_ctor",
    "numpy.random.bit_generator.SeedSequence",
    "numpy.random.bit_generator.__pyx_unpickle_SeedSequence",
    "sklearn._loss._loss.CyHalfBinomialLoss",
    "sklearn._loss._loss.CyHalfMultinomialLoss",
    "sklearn._loss._loss.CyHalfSquaredError",
    "sklearn._loss._loss.__pyx_unpickle_CyHalfMultinomialLoss",
    "sklearn._loss.link.IdentityLink",
    "sklearn._loss.link.Interval",
    "sklearn._loss.link.LogitLink",
    "sklearn._loss.link.MultinomialLogit",
    "sklearn._loss.loss.HalfBinomialLoss",
    "sklearn._loss.loss.HalfMultinomialLoss",
    "sklearn._loss.loss.HalfSquaredError",
    "sklearn.compose._column_transformer.ColumnTransformer",
    "sklearn.ensemble._forest.RandomForestClassifier",
    "sklearn.ensemble._forest.RandomForestRegressor",
    "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
    "sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingClassifier",
    "sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingRegressor",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.impute._base.SimpleImputer",
    "sklearn.linear_model._coordinate_descent.ElasticNet",
    "sklearn.linear_model._coordinate_descent.Lasso",
    "sklearn.linear_model._logistic.LogisticRegression",
    "sklearn.linear_model._ridge.Ridge",
    "sklearn.pipeline.Pipeline",
    "sklearn.preprocessing._data.StandardScaler",
    "sklearn.preprocessing._encoders.OneHotEncoder",
    "sklearn.preprocessing._encoders.OrdinalEncoder",
    "sklearn.preprocessing._function_transformer.FunctionTransformer",
    "sklearn.preprocessing._label.LabelEncoder",
    "sklearn.tree._classes.DecisionTreeClassifier",
    "sklearn.tree._classes.DecisionTreeRegressor",
    "sklearn.tree._tree.Tree",
    "sklearn.utils.validation.check_array",
})


class _Refused(Exception):
    """One file cannot be converted; the message says why, in words."""


def looks_like_pickle(head: bytes) -> bool:
    """Whether bytes start like a pickle, plain or zlib-compressed as earlier versions
    wrote models. Judged from the first bytes; nothing is loaded."""
    if head[:1] == b"\x80":  # the PROTO opcode of pickle protocol 2 and later
        return True
    if len(head) >= 2 and head[0] & 0x0F == 8 and (head[0] << 8 | head[1]) % 31 == 0:  # a zlib header
        import zlib

        try:
            # a dynamic deflate block begins with its code tables: a few hundred bytes
            return zlib.decompressobj().decompress(head[:HEAD_BYTES], 1) == b"\x80"
        except zlib.error:
            return False
    return False


@dataclass(frozen=True)
class LegacyModel:
    """A model version whose file is a pickle of an earlier version."""

    version_id: int
    ref: str
    run_id: int
    sha256: str
    #: why this one may not be converted ("" when it may)
    blocked: str = ""


@dataclass
class LegacyReview:
    """The pickled model files of a workspace and whether it may convert them."""

    models: list[LegacyModel]
    #: why none of them may be converted: the workspace is not the one that made them
    foreign: str = ""

    @property
    def convertible(self) -> list[LegacyModel]:
        """The models that may be converted: none when the workspace is another's
        (``foreign``), else every model not blocked."""
        return [] if self.foreign else [m for m in self.models if not m.blocked]

    def to_dict(self) -> dict[str, Any]:
        """The review as ``--json`` prints it: each model, whether the workspace is foreign,
        and which models may be converted."""
        return {"models": [asdict(m) for m in self.models], "foreign": self.foreign or None,
                "convertible": [m.ref for m in self.convertible]}


@dataclass
class UpgradeResult:
    #: {"ref", "from_sha256", "to_sha256"} per converted file
    """Which model files an upgrade converted to the current format, and which it refused and why."""
    converted: list[dict[str, Any]] = field(default_factory=list)
    #: {"ref", "reason"} per file left as it is
    refused: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The result's fields as a plain dict."""
        return asdict(self)


# -- finding and judging -----------------------------------------------------------------------

def find(ws: "Workspace") -> list["ModelVersion"]:
    """The model versions whose file is a pickle (its first bytes read, nothing loaded)."""
    from .store import models as model_rows

    found = []
    for mv in model_rows.all_versions(ws.registry):
        try:
            with open(artifact_path(ws, mv.artifact_sha256), "rb") as fh:
                head = fh.read(HEAD_BYTES)
        except OSError:
            continue  # missing: loading it says so
        if looks_like_pickle(head):
            found.append(mv)
    return found


def review(ws: "Workspace") -> LegacyReview:
    """The pickled model files of the workspace, with the rule's verdict (module docstring)."""
    versions = find(ws)
    if not versions:
        return LegacyReview([])
    foreign, chain = _foreign(ws)
    models = [LegacyModel(mv.id, mv.ref, mv.run_id, mv.artifact_sha256,
                          "" if chain is None else _version_problem(ws, mv, chain)) for mv in versions]
    return LegacyReview(models, foreign)


def _foreign(ws: "Workspace") -> tuple[str, Optional["ChainCheck"]]:
    """Why the workspace is not the one that made its files (rules 1-3), and its log's
    entries of the actions the rule reads."""
    from .store.audit import check_chain
    from .store.consistency import check_audit

    reg = ws.registry
    problems = check_audit(reg).problems
    if problems:
        return f"its audit log does not verify ({problems[0].message.rstrip('.')})", None
    chain = check_chain(reg, collect=_ACTIONS)
    restored = chain.collected["workspace.restored"]
    if restored:
        return f"it was restored from a backup, audit entry {restored[0].seq}", None
    created = chain.collected["workspace.created"]
    if len(created) != 1 or created[0].seq != 1:
        return "its audit log does not begin with the workspace being created", None
    if created[0].entity_id != reg.info().get("id"):
        return "its identity is not the one its audit log was begun with", None
    made_at = created[0].details.get("path")
    if not _same_folder(made_at, ws.root):
        return f"it was created at {made_at}, not in this folder ({ws.root}); a copied or moved " \
               "workspace counts as another one", None
    return "", chain


def _same_folder(recorded: Any, root: Path) -> bool:
    if not isinstance(recorded, str) or not recorded:
        return False
    try:
        return os.path.samefile(recorded, root)
    except OSError:
        return False


def _version_problem(ws: "Workspace", mv: "ModelVersion", chain: "ChainCheck") -> str:
    """Why one version's file may not be converted (rule 4), or ""."""
    from .store import runs as run_rows
    from .storage import this_host

    made = [e for e in chain.collected["model.version_created"] if e.entity_id == str(mv.id)]
    if not made or made[0].details.get("artifact_sha256") != mv.artifact_sha256 \
            or str(made[0].details.get("run_id")) != str(mv.run_id):
        return "the audit log does not record this file being made for it"
    ends = [e for e in chain.collected["run.finished"] if e.entity_id == str(mv.run_id)]
    if not ends or ends[-1].details.get("status") != "succeeded":
        return f"the audit log does not record its run {mv.run_id} succeeding"
    host = run_rows.host_of(ws.registry, mv.run_id)
    if host is None:
        return f"the computer its run {mv.run_id} ran on was not recorded (earlier versions did not)"
    if host != this_host():
        return f"its run {mv.run_id} ran on another computer ({host})"
    return ""


def refusal(ws: "Workspace", sha256: str) -> str:
    """What to do about a pickled model file: convert it (and how), or why it will not be."""
    found = review(ws)
    if found.foreign:
        return (f"It will not be converted: this workspace is not the one that made it ({found.foreign}). "
                "Train the model again in this workspace, or ask whoever sent the workspace for one "
                "saved by this version of MLOps Desktop.")
    model = next((m for m in found.models if m.sha256 == sha256), None)
    if model is None or model.blocked:
        why = model.blocked if model else "no model version of this workspace uses it"
        return f"It will not be converted: {why}. Train the model again in this workspace."
    return (f"This workspace's audit log shows it was trained here, so it can be converted to a "
            f"trusted skops file: run '{UPGRADE_COMMAND}' (the app offers the same when it opens "
            "the workspace).")


# -- converting --------------------------------------------------------------------------------

def upgrade_models(ws: "Workspace", *, actor: str, progress: ProgressCallback = no_progress,
                   cancel: Optional[CancelToken] = None) -> UpgradeResult:
    """Convert every pickled model file the rule allows into a skops file, one version at
    a time (each conversion recorded in the audit log as ``model.file_converted``).
    Raises :class:`UntrustedModelError` when the workspace is foreign; files the rule
    or the unpickler refuse are listed in the result, untouched."""
    found = review(ws)
    if found.foreign:
        refs = ", ".join(m.ref for m in found.models[:5]) + (" and others" if len(found.models) > 5 else "")
        raise UntrustedModelError(
            f"The model files of {refs} are pickles (the format of earlier versions) and will not be "
            f"converted: this is not the workspace that made them ({found.foreign}). Pickles from "
            "elsewhere are never loaded; train the models again in this workspace.")
    result = UpgradeResult(refused=[{"ref": m.ref, "reason": m.blocked} for m in found.models if m.blocked])
    todo = found.convertible
    for i, model in enumerate(todo):
        if cancel is not None:
            cancel.check()
        progress(i / max(len(todo), 1), f"Converting the model file of {model.ref}")
        try:
            result.converted.append(_convert(ws, model, actor=actor))
        except _Refused as exc:
            result.refused.append({"ref": model.ref, "reason": str(exc)})
    progress(1.0, f"{len(result.converted)} model file(s) converted")
    return result


def _convert(ws: "Workspace", model: LegacyModel, *, actor: str) -> dict[str, Any]:
    from .model_format import UnreadableModelFile, model_from_bytes, model_to_bytes
    from .store import artifacts as artifact_rows
    from .store import audit, utc_now
    from .store import models as model_rows

    _path, data = read_model_bytes(ws, model.sha256, owner=model.ref)  # rule 5
    fitted = _unpickle(data)
    try:
        skops_bytes = model_to_bytes(fitted)
        model_from_bytes(skops_bytes)  # it must read back as a trusted model file
    except (ValueError, UnreadableModelFile) as exc:
        raise _Refused(f"it cannot be saved as a trusted model file ({exc})") from None
    stored = store_bytes(ws, skops_bytes, "model.skops")
    reg = ws.registry
    try:
        with reg.transaction():
            artifact_rows.insert(reg, sha256=stored.sha256, size_bytes=stored.size_bytes, kind="model",
                                 created_by=actor, created_at=utc_now())
            if not model_rows.replace_artifact(reg, model.version_id, old=model.sha256, new=stored.sha256):
                raise _Refused("its version changed meanwhile (converted by another process?)")
            audit.append(reg, actor=actor, action=CONVERTED, entity_type="model_version",
                         entity_id=model.version_id,
                         summary=f"Model file of {model.ref} converted from a pickle to a skops file",
                         details={"model": model.ref.rsplit(":", 1)[0], "version": int(model.ref.rsplit(":", 1)[1]),
                                  "from_sha256": model.sha256, "to_sha256": stored.sha256,
                                  "format": "skops"})
            artifact_rows.delete_unused(reg, model.sha256)
    except BaseException:
        discard_unreferenced(ws, stored.sha256)
        raise
    discard_unreferenced(ws, model.sha256)  # the pickle, once nothing records it
    return {"ref": model.ref, "from_sha256": model.sha256, "to_sha256": stored.sha256}


def _unpickle(data: bytes) -> Any:
    """The model in a zlib-compressed pickle, resolving only :data:`PICKLE_GLOBALS`;
    a fitted estimator whose trees hold."""
    import io
    import pickle
    import warnings
    import zlib

    from .model_format import UnreadableModelFile, check_model

    class _ModelUnpickler(pickle.Unpickler):
        def find_class(self, module: str, name: str) -> Any:
            if f"{module}.{name}" not in PICKLE_GLOBALS:
                raise _Refused(f"it refers to {module}.{name}, which no model of this app holds")
            return super().find_class(module, name)

    try:
        raw = zlib.decompress(data)
    except zlib.error:
        raise _Refused("it is not a compressed pickle as earlier versions wrote them") from None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            fitted = _ModelUnpickler(io.BytesIO(raw)).load()
        except _Refused:
            raise
        except Exception as exc:  # damaged content: the file's fault
            raise _Refused(f"it cannot be read ({type(exc).__name__}: {str(exc)[:200]})") from None
    versions = [w for w in caught if type(w.message).__name__ == "InconsistentVersionWarning"]
    if versions:
        raise _Refused(f"it was saved with another version of scikit-learn ({versions[0].message}); "
                       "train the model again")
    try:
        return check_model(fitted)
    except UnreadableModelFile as exc:
        raise _Refused(str(exc)) from None
