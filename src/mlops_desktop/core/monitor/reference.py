"""What a batch is compared with: a registered dataset, or a model version's training
data together with its model and permutation importances.

A :class:`Reference` holds the exact profile of the reference data (every distinct
value of every compared feature with its count), built once and reused for every
batch of a timeline. ``stored_profile()`` gives the JSON summary an exported package
carries instead of the data.
"""

from __future__ import annotations

import dataclasses
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping, Optional, Sequence

import pyarrow as pa
from mlops_model_support import drift as metrics

from ..data.catalog import snapshot_path
from ..data.on_disk import OnDiskTable, too_large_for_memory
from ..errors import NotFoundError
from . import columns
from .errors import DriftError
from .predictions import Evaluate, model_scores

if TYPE_CHECKING:
    import pandas as pd
    from mlops_model_support.performance import Calibration

    from ..prepare import ModelRecipe
    from ..workspace import Workspace


@dataclass
class Reference:
    """A reference: its exact profile, what it is, and (for a model version) the model."""

    profile: metrics.ReferenceProfile
    #: the analyst's kinds of the reference's columns
    kinds: dict[str, str]
    #: {"type": "dataset"|"model_version"|"data", "label", "name", "rows", "fingerprint",
    #:  "dataset_id" | "model", "version"}
    description: dict[str, Any]
    #: feature columns that are not compared, with the reason
    skipped: dict[str, str] = field(default_factory=dict)
    target: Optional[str] = None
    #: the target's distribution, for target drift when a batch is labelled
    target_profile: Optional[metrics.FeatureProfile] = None
    model: Any = None
    #: the columns the model takes (all features, compared or not)
    model_features: list[str] = field(default_factory=list)
    holdout_metrics: Optional[dict[str, float]] = None
    #: where the holdout figures come from, in words ("validation 2, at its threshold 0.346")
    holdout_source: str = "the training run's holdout"
    evaluate: Optional[Evaluate] = None
    #: the audit entry of each report is written against this entity (type, id);
    #: an id of None means the report itself
    audit_entity: tuple[str, Optional[str]] = ("drift_report", None)
    #: a classifier's calibration, for its estimated performance on unlabelled batches
    calibration: Optional["Calibration"] = None
    #: why there is no calibration (a regressor, too few holdout rows, ...)
    calibration_note: str = ""
    #: a segmented model's segment column: performance is also given per segment
    segment_column: Optional[str] = None
    #: for a version trained on prepared data: the recipe a raw batch goes through first
    #: (rows outside its filters, the model's scope, are set aside and counted)
    recipe: Optional["ModelRecipe"] = None

    @property
    def name(self) -> str:
        """The name shown for the reference (its name, else its label, else "reference")."""
        return str(self.description.get("name") or self.description.get("label") or "reference")

    @property
    def label(self) -> str:
        """The reference's label, as reports show it."""
        return str(self.description["label"])

    @property
    def features(self) -> list[str]:
        """The compared features, in column order."""
        return list(self.profile.features)

    @property
    def importance(self) -> Optional[dict[str, float]]:
        """Each feature's importance to the model, when the reference has a model that gives
        it."""
        return self.profile.importance

    @property
    def model_name(self) -> Optional[str]:
        """The registered model's name (None for a dataset reference)."""
        return self.description.get("model")

    @property
    def model_version(self) -> Optional[int]:
        """The model version's number (None for a dataset reference)."""
        return self.description.get("version")

    @property
    def rows(self) -> int:
        """The rows the reference profile was built from."""
        return int(self.description.get("rows") or self.profile.rows)

    # -- building ------------------------------------------------------------------------

    @classmethod
    def from_dataset(cls, ws: "Workspace", ref: str | int, *,
                     features: Optional[Sequence[str]] = None) -> "Reference":
        """A registered dataset: its feature columns (role ``feature``, or ``features``)
        and its target, with the kinds set on the Data page."""
        ds = ws.dataset(ref)
        kinds = {c.name: c.kind for c in ds.columns}
        if features is None:
            chosen = [c.name for c in ds.columns if c.role == "feature"]
        else:
            chosen = list(features)
            for name in chosen:
                ds.column(name)  # a clear error for an unknown column
        if not chosen:
            raise DriftError(f"Dataset {ds.name!r} has no feature columns to compare. Set column roles "
                             "on the Data page.")
        description = {"type": "dataset", "label": f"dataset {ds.name}", "name": ds.name,
                       "dataset_id": ds.id, "fingerprint": ds.fingerprint, "rows": ds.n_rows}
        if too_large_for_memory(ds.snapshot_bytes):  # counted out of core, feature by feature
            on_disk = OnDiskTable.open(snapshot_path(ws, ds), ws.snapshots_dir, fingerprint=ds.fingerprint)
            with on_disk.engine():
                return cls._build(_StoredColumns(on_disk), kinds, chosen, target=ds.target,
                                  description=description, audit_entity=("dataset", str(ds.id)))
        return cls._build(_TableColumns(ws.load_table(ds)), kinds, chosen, target=ds.target,
                          description=description, audit_entity=("dataset", str(ds.id)))

    @classmethod
    def from_table(cls, table: pa.Table, kinds: Mapping[str, str], *, name: str,
                   features: Optional[Sequence[str]] = None, target: Optional[str] = None) -> "Reference":
        """Any Arrow table: ``kinds`` gives each column's kind (numeric, categorical,
        boolean, constant are compared; datetime, id, text are not)."""
        from ..data.fingerprint import fingerprint

        chosen = list(features) if features is not None else [c for c in table.column_names
                                                                if c in kinds and c != target]
        description = {"type": "data", "label": name, "name": name, "rows": table.num_rows,
                       "fingerprint": fingerprint(table)}
        return cls._build(_TableColumns(table), dict(kinds), chosen, target=target, description=description)

    @classmethod
    def from_frame(cls, df: "pd.DataFrame", kinds: Mapping[str, str], *, model: Any = None,
                   importance: Optional[Mapping[str, float]] = None, name: str,
                   model_name: Optional[str] = None, model_version: Optional[int] = None,
                   version_id: Optional[int] = None, target: Optional[str] = None, holdout_metrics: Optional[Mapping[str, float]] = None,
                   evaluate: Optional[Evaluate] = None,
                   audit_entity: Optional[tuple[str, Optional[str]]] = None) -> "Reference":
        """The reference for a model version (or any DataFrame).

        ``df``: the training data; ``kinds``: the kind of every feature (and of the
        target, if given), as on the Data page; the features are the keys of ``kinds``
        other than ``target``. ``model``: the version's fitted pipeline (``predict``,
        ``predict_proba``), which scores both batches for prediction drift.
        ``importance``: permutation importance per feature; the batch's drifted share
        is weighted by it. ``target``, ``holdout_metrics`` and ``evaluate`` (the
        Validate page's metric function, ``evaluate(model, X, y) -> {name: value}``)
        give the performance on a labelled batch next to the holdout's.
        ``model_name``/``model_version`` name the version (thresholds per model, the
        registry's lineage); ``version_id`` is its row id in the registry: the audit
        entry of each report is then written against ("model_version", version_id), as
        Train's and Validate's entries are, so it shows in the version's history
        (``audit_entity`` overrides that entity; without either, "NAME:VERSION").
        """
        from ..data.fingerprint import fingerprint
        from .batches import frame_to_table

        if target is not None and target not in df.columns:
            raise DriftError(f"The reference data has no target column {target!r}.")
        missing = [c for c in kinds if c not in df.columns]
        if missing:
            raise DriftError(f"The reference data lacks the columns {', '.join(missing)}.")
        features = [c for c in kinds if c != target]
        table = frame_to_table(df[features + ([target] if target else [])], "The reference data")
        if model_name:
            label = f"model {model_name}" + (f" version {model_version}" if model_version is not None else "")
            description = {"type": "model_version", "label": label, "name": name, "model": model_name,
                           "version": model_version, "version_id": version_id}
            entity = audit_entity or ("model_version", str(version_id) if version_id is not None
                                      else f"{model_name}:{model_version}")
        else:
            description = {"type": "data", "label": name, "name": name}
            entity = audit_entity or ("drift_report", None)
        description.update(rows=table.num_rows, fingerprint=fingerprint(table))
        predictions = kind = None
        if model is not None:
            try:
                predictions, kind = model_scores(model, df[features])
            except Exception as exc:  # the caller's model: say so instead of a traceback
                raise DriftError(f"The model could not score its reference data ({type(exc).__name__}: "
                                 f"{exc}).") from None
        ref = cls._build(_TableColumns(table), dict(kinds), features, target=target, description=description,
                         audit_entity=entity, importance=importance, predictions=predictions,
                         prediction_kind=kind)
        ref.model = model
        ref.model_features = features
        ref.holdout_metrics = dict(holdout_metrics) if holdout_metrics else None
        ref.evaluate = evaluate
        return ref

    @classmethod
    def _build(cls, table: "_Columns", kinds: dict[str, str], features: Sequence[str], *,
               target: Optional[str], description: dict[str, Any],
               audit_entity: tuple[str, Optional[str]] = ("drift_report", None),
               importance: Optional[Mapping[str, float]] = None, predictions: Any = None,
               prediction_kind: Optional[str] = None) -> "Reference":
        if table.rows == 0:
            raise DriftError(f"The reference {description['label']} has no rows.")
        skipped: dict[str, str] = {}
        compared: list[tuple[str, str]] = []
        for name in features:
            if name not in table.names:
                raise NotFoundError(f"The reference has no column {name!r}.")
            kind = kinds.get(name, "categorical")
            if kind in columns.METRIC_KINDS:
                compared.append((name, columns.METRIC_KINDS[kind]))
            else:
                skipped[name] = columns.NOT_COMPARED.get(kind, f"columns of kind {kind} are not compared")

        def build(item: tuple[str, str]) -> tuple[str, Any]:
            name, kind = item
            try:
                return name, metrics.FeatureProfile.build(name, table.distribution(name, kind))
            except metrics.NotComparable as exc:
                return name, str(exc)

        with ThreadPoolExecutor(max_workers=table.workers) as pool:  # numpy and Arrow release the GIL
            built = dict(pool.map(build, compared))
        profiles = {n: p for n, p in built.items() if isinstance(p, metrics.FeatureProfile)}
        skipped.update({n: p for n, p in built.items() if isinstance(p, str)})
        if not profiles:
            raise DriftError(f"The reference {description['label']} has no feature that can be compared "
                             f"({'; '.join(f'{k}: {v}' for k, v in skipped.items()) or 'no features'}).")
        pred_profile = None
        if predictions is not None:
            pred_profile = metrics.FeatureProfile.build(
                "prediction", metrics.distribution_of(predictions, prediction_kind or metrics.NUMERIC))
        profile = metrics.ReferenceProfile(profiles, table.rows, description["label"],
                                           dict(importance) if importance else None, pred_profile,
                                           dict(skipped))
        target_profile = None
        if target is not None and target in table.names and kinds.get(target) in columns.METRIC_KINDS:
            try:
                target_profile = metrics.FeatureProfile.build(
                    target, table.distribution(target, columns.METRIC_KINDS[kinds[target]]))
            except metrics.NotComparable:
                target_profile = None
        return cls(profile, dict(kinds), description, skipped, target, target_profile,
                   audit_entity=audit_entity)

    # -- using ---------------------------------------------------------------------------

    def stored_profile(self, *, thresholds: Optional[Mapping[str, Any]] = None,
                       max_atoms: int = metrics.PROFILE_ATOMS,
                       max_categories: int = metrics.PROFILE_MAX_CATEGORIES) -> dict[str, Any]:
        """The JSON reference profile for an exported package (no rows of data), with
        the thresholds it should use."""
        profile = dataclasses.replace(self.profile, thresholds=dict(thresholds) if thresholds else None)
        return profile.to_dict(max_atoms=max_atoms, max_categories=max_categories)

    def to_dict(self) -> dict[str, Any]:
        """The reference's description as ``--json`` prints it: what it is, its features,
        skipped columns, target and importance."""
        return {**self.description, "features": self.features, "skipped": dict(self.skipped),
                "target": self.target, "importance": metrics.json_safe(self.importance),
                "has_model": self.model is not None}


class _Columns:
    """Where a reference's distributions come from."""

    rows: int
    names: list[str]
    #: threads that count at once (the engine uses every core for one count itself)
    workers: int = 2

    def distribution(self, name: str, kind: str) -> metrics.Distribution:
        raise NotImplementedError


class _TableColumns(_Columns):
    def __init__(self, table: pa.Table) -> None:
        self.table, self.rows, self.names = table, table.num_rows, table.column_names

    def distribution(self, name: str, kind: str) -> metrics.Distribution:
        return columns.distribution(self.table.column(name), kind)


class _StoredColumns(_Columns):
    workers = 1

    def __init__(self, table: OnDiskTable) -> None:
        self.table, self.rows, self.names = table, table.rows, table.names

    def distribution(self, name: str, kind: str) -> metrics.Distribution:
        return columns.stored_distribution(self.table, name, kind)


def resolve_reference(ws: "Workspace", spec: str) -> Reference:
    """A reference named on the command line: ``MODEL[:VERSION]`` (a registered model
    version) or a dataset id or name. A name that is both is read as the dataset unless
    it carries ``:VERSION``."""
    from ..store import models as model_rows
    from .for_version import reference_for_version

    name = spec.rsplit(":", 1)[0] if ":" in spec else spec
    is_model = model_rows.model_id_for(ws.registry, name) is not None
    if is_model and ":" in spec:
        return reference_for_version(ws, spec)
    try:
        ws.dataset(spec)
    except NotFoundError as exc:
        if is_model:
            return reference_for_version(ws, spec)
        raise NotFoundError(f"{exc} The reference is a registered model (MODEL or MODEL:VERSION) "
                            "or a dataset.") from None
    return Reference.from_dataset(ws, spec)
