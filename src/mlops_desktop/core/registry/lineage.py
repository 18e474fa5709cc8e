"""Where a model version comes from and what became of it, and what a dataset was used
for: dataset (fingerprint, source file, import options) → run (spec, seed, library
versions) → version → validations, stage changes and approvals, alias moves, drift
reports and exports. A version's lineage is a typed :class:`VersionLineage` (the Registry
page and ``models show`` read its fields; ``to_dict()`` is what ``models show --json``
prints); a dataset's is plain JSON-safe data. ``graph`` holds ready nodes and edges.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Optional

from ..plain import Record, json_safe

if TYPE_CHECKING:
    from ..data.dataset import Dataset
    from ..workspace import Workspace


@dataclass(frozen=True)
class TrainingData(Record):
    """The dataset a version's run was trained on, as it is now."""

    id: int
    name: str
    fingerprint: str
    source_path: Optional[str]
    source_format: Optional[str]
    import_options: dict[str, Any]
    rows: int
    columns: int
    snapshot_sha256: Optional[str]
    created_by: str
    created_at: str
    #: whether the snapshot is still the data the run recorded
    fingerprint_matches_run: bool
    #: how it was prepared (see :func:`preparation`); None for an import
    prepared_from: Optional[dict[str, Any]]


@dataclass(frozen=True)
class TrainingRun(Record):
    """The run that made a version: what was asked, with which seed and libraries."""

    id: int
    kind: str
    reproduces_run_id: Optional[int]
    dataset_fingerprint: str
    spec: dict[str, Any]
    seed: Optional[int]
    library_versions: dict[str, str]
    family: Optional[str]
    hyperparameters: Optional[dict[str, Any]]
    status: str
    started_at: Optional[str]
    finished_at: Optional[str]
    duration_s: Optional[float]
    created_by: str
    prediction_sha256: Optional[str]


@dataclass(frozen=True)
class Reproduction(Record):
    """A later run that trained the version's run again; ``same_predictions`` None when
    either run kept no prediction digest."""

    run_id: int
    status: str
    started_at: Optional[str]
    created_by: str
    same_predictions: Optional[bool]


@dataclass(frozen=True)
class ModelFacts(Record):
    """The registered model a version belongs to: its description, tags, who created it and
    when."""

    name: str
    description: str
    tags: dict[str, str]
    created_by: str
    created_at: str


@dataclass(frozen=True)
class VersionFacts(Record):
    """The version's own record: stage, family, task, target, features, artifact digest,
    description, tags, author and date."""

    ref: str
    id: int
    model: str
    version: int
    stage: str
    family: Optional[str]
    task: str
    target: str
    features: tuple[str, ...]
    artifact_sha256: str
    description: str
    tags: dict[str, str]
    created_by: str
    created_at: str


@dataclass(frozen=True)
class ValidationRecord(Record):
    """A validation on record (without its report)."""

    id: int
    data: str
    beats_baseline: bool
    primary_metric: Optional[str]
    created_by: str
    created_at: str


@dataclass(frozen=True)
class Approval(Record):
    """An approval of the version: by whom, when, the comment, and whether the trainer
    approved their own model."""

    by: str
    at: str
    comment: str
    self_approved: bool


@dataclass(frozen=True)
class AliasMove(Record):
    """A move of an alias to or from the version (``to_version`` None: removed)."""

    id: int
    alias: str
    from_version: Optional[int]
    to_version: Optional[int]
    reason: str
    comment: str
    moved_by: str
    moved_at: str
    model: str


@dataclass(frozen=True)
class DriftReportEntry(Record):
    """A drift report on the version: the batch, its verdict, how many features drifted,
    against which reference, by whom and when."""

    id: int
    batch_label: str
    batch_rows: Optional[int]
    verdict: str
    drifted_share: Optional[float]
    n_drifted: Optional[int]
    n_features: Optional[int]
    reference: Optional[str]
    created_by: str
    created_at: str


@dataclass(frozen=True)
class AcceptedWarning(Record):
    """A check warning someone accepted for the data, target and features."""

    check_id: str
    reason: str
    accepted_by: str
    accepted_at: str


def accepted_for(ws: "Workspace", dataset_id: int, target: str, features: Any) -> tuple[AcceptedWarning, ...]:
    """The check warnings accepted for this data, target and features, typed: a version's
    lineage and a comparison of two versions show them."""
    from ..checks import accepted_warnings

    return tuple(AcceptedWarning(check_id=a["check_id"], reason=a["reason"], accepted_by=a["accepted_by"],
                                 accepted_at=a["accepted_at"])
                 for a in accepted_warnings(ws, dataset_id, target, features))


@dataclass(frozen=True)
class ChallengeEntry(Record):
    """A challenge the version took part in, as challenger or as the version challenged."""

    id: int
    challenger: str
    champion: str
    status: str
    verdict: Optional[str]
    wins: Optional[int]
    rule: dict[str, Any]
    dataset: Any
    created_by: str
    declared_at: Optional[str]
    decided_at: Optional[str]


@dataclass(frozen=True)
class GraphNode(Record):
    """A node of the lineage graph; ``id`` is "kind:number" (dataset, run, version, parent,
    challenge...)."""

    id: str
    kind: str
    label: str


@dataclass(frozen=True)
class GraphEdge(Record):
    """An edge of the lineage graph, from one node's id to another's, with its label
    ("trained on"...); ``start`` is "from" in JSON."""

    start: str = field(metadata={"key": "from"})
    to: str
    label: str


@dataclass(frozen=True)
class LineageGraph(Record):
    """The lineage as a graph, for the Registry page's drawing and ``--json``."""

    nodes: tuple[GraphNode, ...]
    edges: tuple[GraphEdge, ...]


@dataclass(frozen=True)
class VersionLineage(Record):
    """The lineage of one version. ``stage_changes`` and ``exports`` are the store's
    records as kept (each a dict of its columns); ``origin`` the recorded way the version
    came from others (retrained, assembled from segments), None when trained from scratch."""

    ref: str
    dataset: TrainingData
    run: TrainingRun
    reproductions: tuple[Reproduction, ...]
    model: ModelFacts
    version: VersionFacts
    validations: tuple[ValidationRecord, ...]
    stage_changes: tuple[dict[str, Any], ...]
    approvals: tuple[Approval, ...]
    aliases: tuple[str, ...]
    alias_moves: tuple[AliasMove, ...]
    drift_reports: tuple[DriftReportEntry, ...]
    exports: tuple[dict[str, Any], ...]
    accepted_warnings: tuple[AcceptedWarning, ...]
    origin: Optional[dict[str, Any]]
    challenges: tuple[ChallengeEntry, ...]
    graph: LineageGraph

    def parents(self) -> list[GraphNode]:
        """The versions this one came from (retrained from, or assembled from), as graph nodes."""
        return [n for n in self.graph.nodes if n.id.startswith("parent:")]

    def challenge_nodes(self) -> list[GraphNode]:
        """The challenges it took part in, as graph nodes (label: who against whom, verdict)."""
        return [n for n in self.graph.nodes if n.id.startswith("challenge:")]


def _dataset(ds: "Dataset") -> dict[str, Any]:
    return {"id": ds.id, "name": ds.name, "fingerprint": ds.fingerprint, "source_path": ds.source_path,
            "source_format": ds.source_format, "import_options": ds.options, "rows": ds.n_rows,
            "columns": ds.n_columns, "snapshot_sha256": ds.snapshot_sha256, "created_by": ds.created_by,
            "created_at": ds.created_at}


def preparation(ws: "Workspace", ds: "Dataset") -> dict[str, Any]:
    """How a dataset was made: ``prepared_from`` (the parent, the recipe's SHA-256 and its
    steps in words; ``refused`` with the reason for a stored recipe that is refused; None
    for an import) and ``prepared_into`` (the datasets prepared from it)."""
    from ..prepare import PrepareError, recipe_of
    from ..store import recipes

    try:
        found = recipe_of(ws, ds)
        made = found.to_dict() if found is not None else None
    except PrepareError as exc:
        record = recipes.of(ws.registry, ds.id)
        made = {"parent": {"id": record.parent_id if record else None}, "refused": str(exc)}
    children = [ws.dataset(i) for i in recipes.children(ws.registry, ds.id)]
    return {"prepared_from": made,
            "prepared_into": [{"id": c.id, "name": c.name, "rows": c.n_rows} for c in children]}


def _preparation_graph(ds: "Dataset", made: dict[str, Any]) -> tuple[list[dict], list[dict]]:
    nodes, edges = [], []
    parent = (made.get("prepared_from") or {}).get("parent") or {}
    if parent.get("id") is not None:
        steps = len((made["prepared_from"] or {}).get("steps") or [])
        nodes.append({"id": f"dataset:{parent['id']}", "kind": "dataset",
                      "label": f"{parent.get('name', 'dataset ' + str(parent['id']))}"})
        edges.append({"from": f"dataset:{parent['id']}", "to": f"dataset:{ds.id}",
                      "label": f"prepared ({steps} step{'s' if steps != 1 else ''})" if steps else "prepared"})
    for child in made.get("prepared_into") or []:
        nodes.append({"id": f"dataset:{child['id']}", "kind": "dataset",
                      "label": f"{child['name']} ({child['rows']:,} rows)"})
        edges.append({"from": f"dataset:{ds.id}", "to": f"dataset:{child['id']}", "label": "prepared into"})
    return nodes, edges


def exports_of(ws: "Workspace", version_id: int) -> list[dict[str, Any]]:
    """The export packages made of a version, oldest first."""
    from ..store import exports

    return exports.for_version(ws.registry, version_id)


def _drift(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"id": r["id"], "batch_label": r["batch_label"], "batch_rows": r["batch_rows"],
             "verdict": r["verdict"], "drifted_share": r["drifted_share"], "n_drifted": r["n_drifted"],
             "n_features": r["n_features"], "reference": r["reference_label"],
             "created_by": r["created_by"], "created_at": r["created_at"]} for r in rows]


def version_lineage(ws: "Workspace", ref: str) -> VersionLineage:
    """The lineage of a version (``MODEL`` for the latest, or ``MODEL:VERSION``):

    ``dataset`` (fingerprint, source file, import options; ``fingerprint_matches_run``
    says whether the snapshot is still the data the run recorded), ``run`` (spec, seed,
    library versions, chosen family), ``reproductions`` (later runs that retrained it),
    ``model`` and ``version`` (with description and tags), ``validations``,
    ``stage_changes``, ``approvals`` (with ``self_approved``), ``aliases`` (held now),
    ``alias_moves``, ``drift_reports``, ``exports``, ``accepted_warnings``, ``origin`` (the
    version it was retrained from, or the two versions and the segments it was assembled
    from; None for a version trained from scratch), ``challenges`` (where it was the
    challenger or the version challenged) and ``graph`` (nodes {id, kind, label}, edges
    {from, to, label}).
    """
    from ..store import aliases, challenges, drift_reports, stages, tags
    from ..store import models as model_rows
    from ..store import runs as run_rows
    from ..train import find_version

    reg = ws.registry
    mv = find_version(ws, ref)
    model = model_rows.get_model(reg, mv.model)
    r = run_rows.get(reg, mv.run_id)
    ds = ws.dataset(r.dataset_id)
    reproductions = [Reproduction(run_id=x["run_id"], status=x["status"], started_at=x["started_at"],
                                  created_by=x["created_by"],
                                  same_predictions=(x["prediction_sha256"] == r.prediction_sha256
                                                    if x["prediction_sha256"] and r.prediction_sha256 else None))
                     for x in model_rows.runs_reproducing(reg, r.id)]
    changes = stages.history(reg, mv.id)
    validations = [ValidationRecord(**v) for v in stages.validations_of(reg, mv.id)]
    moves = [AliasMove(**m, model=mv.model) for m in aliases.moves_of_version(reg, mv.model_id, mv.version)]
    drift = [DriftReportEntry(**d) for d in _drift(drift_reports.list_reports(reg, model_name=mv.model,
                                                                              model_version=mv.version))]
    exports = exports_of(ws, mv.id)
    made = preparation(ws, ds)
    parent_nodes, parent_edges = _preparation_graph(ds, {"prepared_from": made["prepared_from"]})
    nodes = [*(GraphNode(**n) for n in parent_nodes),
             GraphNode(f"dataset:{ds.id}", "dataset", f"{ds.name} ({ds.n_rows:,} rows)"),
             GraphNode(f"run:{r.id}", "run", f"run {r.id} ({r.family or r.status})"),
             GraphNode(f"version:{mv.id}", "version", f"{mv.ref} ({mv.stage})")]
    edges = [*(GraphEdge(e["from"], e["to"], e["label"]) for e in parent_edges),
             GraphEdge(f"dataset:{ds.id}", f"run:{r.id}", "trained on"),
             GraphEdge(f"run:{r.id}", f"version:{mv.id}", "registered")]
    here = f"version:{mv.id}"
    for v in validations:
        nodes.append(GraphNode(f"validation:{v.id}", "validation",
                               f"validation {v.id} ({'beats' if v.beats_baseline else 'does not beat'} the baseline)"))
        edges.append(GraphEdge(here, f"validation:{v.id}", "validated"))
    for c in changes:
        nodes.append(GraphNode(f"stage:{c['id']}", "stage_change",
                               f"{c['to_stage']} by {c['changed_by']}" + (" (self-approved)" if c["self_approved"] else "")))
        edges.append(GraphEdge(here, f"stage:{c['id']}", c["to_stage"]))
    for m in moves:
        verb = "took" if m.to_version == mv.version else "left"
        nodes.append(GraphNode(f"alias_move:{m.id}", "alias_move", f"{m.alias} {verb} by {m.moved_by}"))
        edges.append(GraphEdge(here, f"alias_move:{m.id}", m.alias))
    for d in drift:
        nodes.append(GraphNode(f"drift:{d.id}", "drift_report", f"{d.batch_label}: {d.verdict}"))
        edges.append(GraphEdge(here, f"drift:{d.id}", "drift report"))
    origin = (mv.details or {}).get("origin")
    for parent in _parents(origin):
        nodes.append(GraphNode(f"parent:{parent['ref']}", "version", parent["label"]))
        edges.append(GraphEdge(f"parent:{parent['ref']}", here, parent["edge"]))
    judged = [ChallengeEntry(id=c["id"], challenger=c["challenger"], champion=c["champion"], status=c["status"],
                             verdict=c["verdict"], wins=c["wins"], rule=c["declaration"]["rule"],
                             dataset=c["dataset"], created_by=c["created_by"], declared_at=c["declared_at"],
                             decided_at=c["decided_at"])
              for c in challenges.of_model(reg, mv.model_id) if mv.ref in (c["challenger"], c["champion"])]
    for c in judged:
        nodes.append(GraphNode(f"challenge:{c.id}", "challenge",
                               f"challenge {c.id}: {c.challenger} against {c.champion}, {c.verdict or c.status}"))
        edges.append(GraphEdge(here, f"challenge:{c.id}", "challenger" if c.challenger == mv.ref else "challenged"))
    for e in exports:
        eid = e.get("id")
        nodes.append(GraphNode(f"export:{eid}", "export", str(e.get("out_path") or e.get("path") or f"export {eid}")))
        edges.append(GraphEdge(here, f"export:{eid}", "exported"))

    return VersionLineage(
        ref=mv.ref,
        dataset=TrainingData(**_dataset(ds), fingerprint_matches_run=ds.fingerprint == r.dataset_fingerprint,
                             prepared_from=made["prepared_from"]),
        run=TrainingRun(id=r.id, kind=r.kind, reproduces_run_id=r.reproduces_run_id,
                        dataset_fingerprint=r.dataset_fingerprint, spec=r.spec, seed=r.seed,
                        library_versions=r.library_versions, family=r.family, hyperparameters=r.hyperparameters,
                        status=r.status, started_at=r.started_at, finished_at=r.finished_at,
                        duration_s=r.duration_s, created_by=r.created_by, prediction_sha256=r.prediction_sha256),
        reproductions=tuple(reproductions),
        model=ModelFacts(name=model.name, description=model.description, tags=tags.of(reg, "model", model.id),
                         created_by=model.created_by, created_at=model.created_at),
        version=VersionFacts(ref=mv.ref, id=mv.id, model=mv.model, version=mv.version, stage=mv.stage,
                             family=mv.family, task=mv.task, target=mv.target, features=tuple(mv.features),
                             artifact_sha256=mv.artifact_sha256, description=mv.description,
                             tags=tags.of(reg, "version", mv.id), created_by=mv.created_by,
                             created_at=mv.created_at),
        validations=tuple(validations),
        stage_changes=tuple(changes),
        approvals=tuple(Approval(by=c["changed_by"], at=c["changed_at"], comment=c["comment"],
                                 self_approved=c["self_approved"]) for c in changes if c["to_stage"] == "approved"),
        aliases=tuple(aliases.held_by(reg, mv.id)),
        alias_moves=tuple(moves),
        drift_reports=tuple(drift),
        exports=tuple(exports),
        accepted_warnings=accepted_for(ws, ds.id, mv.target, mv.features),
        origin=origin,
        challenges=tuple(judged),
        graph=LineageGraph(tuple(nodes), tuple(edges)),
    )


def _parents(origin: Any) -> list[dict[str, str]]:
    """The versions a version came from, with how: retrained from one, or assembled from
    two (which segments from which)."""
    if not isinstance(origin, dict):
        return []
    if origin.get("kind") == "retrain":
        parent = origin.get("parent") or {}
        window = origin.get("window")
        data = ", ".join(s["name"] for s in origin.get("sources") or [])
        return [{"ref": parent.get("ref"), "edge": "retrained",
                 "label": f"{parent.get('ref')}, retrained on {data}"
                          + (f" ({window['kind']}:{window['value']})" if window else "")}]
    if origin.get("kind") == "segments":
        taken = {"challenger": origin.get("from_challenger") or [],
                 "champion": (origin.get("from_champion") or []) + ["the rest (fallback)"]}
        return [{"ref": origin[side]["ref"], "edge": "segments taken",
                 "label": f"{origin[side]['ref']}: {', '.join(taken[side])} (challenge {origin.get('challenge_id')})"}
                for side in ("champion", "challenger")]
    return []


def dataset_lineage(ws: "Workspace", dataset: str | int) -> dict[str, Any]:
    """What a dataset (id or name) was made from and used for: ``dataset``, ``same_data_as``
    (other datasets with the same fingerprint), ``prepared_from`` and ``prepared_into``
    (see :func:`preparation`), every ``runs`` entry trained on it, every
    ``versions`` entry those runs registered (stage, aliases, tags), the
    ``drift_reports`` that used it as the reference, its ``accepted_warnings`` and a
    ``graph`` of nodes and edges."""
    from ..store import accepted_warnings, drift_reports
    from ..store import models as model_rows
    from ..store import runs as run_rows

    reg = ws.registry
    ds = ws.dataset(dataset)
    same = [d.id for d in ws.datasets() if d.fingerprint == ds.fingerprint and d.id != ds.id]
    runs = [r.summary() | {"seed": r.seed, "reproduces_run_id": r.reproduces_run_id}
            for r in reversed(run_rows.list_all(reg, dataset_id=ds.id))]
    versions = [v.to_dict() for v in model_rows.search_versions(reg, dataset_id=ds.id, order="oldest",
                                                                 limit=None).rows]
    drift = _drift(drift_reports.list_reports(reg, dataset_id=ds.id))
    accepted = accepted_warnings.list_for(reg, ds.id)

    made = preparation(ws, ds)
    made_nodes, edges = _preparation_graph(ds, made)
    nodes = [{"id": f"dataset:{ds.id}", "kind": "dataset", "label": f"{ds.name} ({ds.n_rows:,} rows)"},
             *made_nodes]
    for r in runs:
        nodes.append({"id": f"run:{r['run_id']}", "kind": "run",
                      "label": f"run {r['run_id']} ({r['family'] or r['status']})"})
        edges.append({"from": f"dataset:{ds.id}", "to": f"run:{r['run_id']}",
                      "label": "reproduced" if r["kind"] == "reproduce" else "trained on"})
    run_of = {(r["model"], r["version"]): r["run_id"] for r in runs if r["model"]}
    for v in versions:
        nodes.append({"id": f"version:{v['id']}", "kind": "version", "label": f"{v['ref']} ({v['stage']})"})
        run_id = run_of.get((v["model"], v["version"]))
        if run_id is not None:
            edges.append({"from": f"run:{run_id}", "to": f"version:{v['id']}", "label": "registered"})
    for d in drift:
        nodes.append({"id": f"drift:{d['id']}", "kind": "drift_report", "label": f"{d['batch_label']}: {d['verdict']}"})
        edges.append({"from": f"dataset:{ds.id}", "to": f"drift:{d['id']}", "label": "reference of"})
    return json_safe({"dataset": _dataset(ds), "same_data_as": same, **made, "runs": runs, "versions": versions,
                      "drift_reports": drift,
                      "accepted_warnings": [{"check_id": a["check_id"], "target": a["target"],
                                             "reason": a["reason"], "accepted_by": a["accepted_by"],
                                             "accepted_at": a["accepted_at"]} for a in accepted],
                      "graph": {"nodes": nodes, "edges": edges}})


def model_audit_trail(ws: "Workspace", model: str, *, limit: int | None = None) -> list[dict[str, Any]]:
    """The audit entries about a model, its versions and the runs that made them (stage
    changes, approvals, alias moves, tags, validations, drift reports on a version),
    newest first."""
    from ..store import models as model_rows

    m = model_rows.get_model(ws.registry, str(model or "").strip())
    return [e.to_dict() for e in model_rows.audit_entries_for_model(ws.registry, m.id, limit=limit)]
