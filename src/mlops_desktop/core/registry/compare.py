"""Two model versions side by side: the data they were trained on, their features, how
they were trained, their validated metrics with intervals, the check warnings accepted
for them and their results per segment: a typed :class:`VersionComparison` for the
Registry page and ``models compare`` (``to_dict()`` is what ``--json`` prints).

The metrics come from each version's latest validation. Two validations on different
holdouts are two separate experiments: the comparison shows both intervals and the
difference of the point values, and says so, rather than declaring a winner.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Optional, TypeVar

from .lineage import AcceptedWarning
from ..plain import Record

if TYPE_CHECKING:
    from ..store.models import ModelVersion
    from ..workspace import Workspace

T = TypeVar("T")


@dataclass(frozen=True)
class Pair(Record, Generic[T]):
    """One thing for each version: ``a`` (the first named) and ``b``."""

    a: T
    b: T


@dataclass(frozen=True)
class VersionSummary(Record):
    """Who made a version, where it stands and who approved it."""

    ref: str
    model: str
    version: int
    stage: str
    family: Optional[str]
    task: str
    target: str
    run_id: int
    created_by: str
    created_at: str
    description: str
    aliases: tuple[str, ...]
    tags: dict[str, str]
    seed: Optional[int]
    approved_by: Optional[str]
    self_approved: bool


@dataclass(frozen=True)
class TrainingDataSummary(Record):
    """The data a version was trained on; ``split`` and ``rows`` as the version recorded them."""

    dataset_id: int
    dataset: str
    fingerprint: str
    dataset_rows: int
    source_path: Optional[str]
    split: Optional[dict[str, Any]]
    rows: Optional[dict[str, Any]]


@dataclass(frozen=True)
class DataComparison(Record):
    """The data each version was trained on, and whether the dataset, its content
    (fingerprint) and the target are the same."""

    a: TrainingDataSummary
    b: TrainingDataSummary
    same_dataset: bool
    same_data: bool
    same_target: bool


@dataclass(frozen=True)
class FeatureComparison(Record):
    """Features ``added`` in b, ``removed`` from a, and ``common`` to both (in a's order)."""

    added: tuple[str, ...]
    removed: tuple[str, ...]
    common: tuple[str, ...]


@dataclass(frozen=True)
class SettingDifference(Record):
    """A setting (dotted path) whose values differ; a missing side is None."""

    setting: str
    a: Any
    b: Any


@dataclass(frozen=True)
class SpecComparison(Record):
    """The training settings that differ, those that are the same, and the library versions
    that differ."""

    differences: tuple[SettingDifference, ...]
    same: tuple[str, ...]
    library_differences: tuple[SettingDifference, ...]


@dataclass(frozen=True)
class ValidationSummary(Record):
    """A version's latest validation: on which data, whether it beat the baseline, its
    primary metric and rows, who ran it and when."""

    validation_id: int
    data: str
    beats_baseline: bool
    primary_metric: Optional[str]
    rows: Optional[int]
    created_by: str
    created_at: str


@dataclass(frozen=True)
class Estimate(Record):
    """A validated metric: its value and 95% interval (None where not known)."""

    value: Optional[float]
    low: Optional[float]
    high: Optional[float]


@dataclass(frozen=True)
class HoldoutMetric(Record):
    """One holdout metric for both versions, the difference b - a, and whether the two
    intervals overlap."""

    name: str
    label: str
    higher_is_better: bool
    primary: bool
    a: Optional[Estimate]
    b: Optional[Estimate]
    difference_b_minus_a: Optional[float]
    intervals_overlap: Optional[bool]


@dataclass(frozen=True)
class CrossValidationMean(Record):
    """A metric's mean and standard deviation over the cross-validation folds."""

    mean: Optional[float]
    std: Optional[float]


@dataclass(frozen=True)
class CrossValidationMetric(Record):
    """One cross-validated metric for both versions (None where a version has none)."""

    name: str
    a: Optional[CrossValidationMean]
    b: Optional[CrossValidationMean]


@dataclass(frozen=True)
class MetricsComparison(Record):
    """Each version's latest validation, its metrics side by side, cross-validation means,
    and ``notes`` that say what the figures cannot tell."""

    validation: Pair[Optional[ValidationSummary]]
    same_holdout: bool
    holdout: tuple[HoldoutMetric, ...]
    cross_validation: tuple[CrossValidationMetric, ...]
    notes: tuple[str, ...]


@dataclass(frozen=True)
class AcceptedChecks(Record):
    """The check warnings accepted for a version's data, target and features."""

    accepted_warnings: tuple[AcceptedWarning, ...]


@dataclass(frozen=True)
class GroupResult(Record):
    """One group of a subgroup table: its value, its rows, whether it has enough of them,
    and its metrics (by name)."""

    value: Any
    count: Optional[int]
    reliable: Optional[bool]
    metrics: Optional[dict[str, Any]]


@dataclass(frozen=True)
class SubgroupResults(Record):
    """The validated results per value of one column (a segment or a subgroup)."""

    column: str
    kind: Optional[str]
    primary_metric: Optional[str]
    groups: tuple[GroupResult, ...]
    spread: Any


@dataclass(frozen=True)
class Segmentation(Record):
    """How a version was segmented (``trained``: the segments as its run recorded them)
    and its validated results per segment and subgroup."""

    segment_by: Optional[str]
    trained: Any
    validated: tuple[SubgroupResults, ...]


@dataclass(frozen=True)
class ChallengeSegment(Record):
    """One segment of a challenge: its verdict, and whether the challenger wins it by the
    rule (stored as 0/1)."""

    segment: Any
    verdict: Optional[str]
    wins: Optional[int]


@dataclass(frozen=True)
class ChallengeOutcome(Record):
    """The newest decided challenge between the two, judged on the same rows: its verdict
    sentence, and the figures of its rule's metric for a and for b (each a dict of the
    challenge report: value, low, high, name, label, higher_is_better)."""

    id: int
    challenger: str
    champion: str
    verdict: Optional[str]
    wins: Optional[int]
    sentence: str
    rule_text: str
    metric: str
    rows: int
    a: dict[str, Any]
    b: dict[str, Any]
    segments: tuple[ChallengeSegment, ...]


@dataclass(frozen=True)
class VersionComparison(Record):
    """Two versions side by side (see :func:`compare_versions`)."""

    a: VersionSummary
    b: VersionSummary
    same_version: bool
    data: DataComparison
    features: FeatureComparison
    spec: SpecComparison
    metrics: MetricsComparison
    checks: Pair[AcceptedChecks]
    segments: Pair[Optional[Segmentation]]
    challenge: Optional[ChallengeOutcome]


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dicts as {"a.b": value}; lists and scalars are leaves, and an empty dict
    inside another holds no setting (so {} and a missing key compare equal)."""
    if isinstance(value, dict) and (value or prefix):
        out: dict[str, Any] = {}
        for k in sorted(value, key=str):
            out.update(_flatten(value[k], f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix: value}


def _differences(a: dict[str, Any], b: dict[str, Any]) -> tuple[tuple[SettingDifference, ...], tuple[str, ...]]:
    """Settings whose values differ and the settings that are the same."""
    fa, fb = _flatten(a), _flatten(b)
    diff, same = [], []
    for key in sorted(set(fa) | set(fb)):
        if fa.get(key) == fb.get(key):
            same.append(key)
        else:
            diff.append(SettingDifference(key, fa.get(key), fb.get(key)))
    return tuple(diff), tuple(same)


def _side(ws: "Workspace", mv: "ModelVersion") -> dict[str, Any]:
    """What one version brings to the comparison, read once."""
    from .lineage import accepted_for
    from ..store import aliases, stages, tags, validations
    from ..train import run as get_run

    r = get_run(ws, mv.run_id)
    ds = ws.dataset(r.dataset_id)
    stored = validations.latest(ws.registry, mv.id)
    accepted = accepted_for(ws, ds.id, mv.target, mv.features)
    return {"mv": mv, "run": r, "dataset": ds, "validation": stored, "accepted": accepted,
            "aliases": aliases.held_by(ws.registry, mv.id), "tags": tags.of(ws.registry, "version", mv.id),
            "stage_changes": stages.history(ws.registry, mv.id)}


def _summary(s: dict[str, Any]) -> VersionSummary:
    mv, r = s["mv"], s["run"]
    approval = next((c for c in reversed(s["stage_changes"]) if c["to_stage"] == "approved"), None)
    return VersionSummary(ref=mv.ref, model=mv.model, version=mv.version, stage=mv.stage, family=mv.family,
                          task=mv.task, target=mv.target, run_id=mv.run_id, created_by=mv.created_by,
                          created_at=mv.created_at, description=mv.description, aliases=tuple(s["aliases"]),
                          tags=s["tags"], seed=r.seed, approved_by=approval["changed_by"] if approval else None,
                          self_approved=bool(approval["self_approved"]) if approval else False)


def _data(s: dict[str, Any]) -> TrainingDataSummary:
    mv, ds = s["mv"], s["dataset"]
    details = mv.details if isinstance(mv.details, dict) else {}
    return TrainingDataSummary(dataset_id=ds.id, dataset=ds.name, fingerprint=s["run"].dataset_fingerprint,
                               dataset_rows=ds.n_rows, source_path=ds.source_path, split=details.get("split"),
                               rows=details.get("rows"))


def _metric_side(m: Optional[dict[str, Any]]) -> Optional[Estimate]:
    return None if m is None else Estimate(m.get("value"), m.get("low"), m.get("high"))


def _overlap(a: Optional[Estimate], b: Optional[Estimate]) -> Optional[bool]:
    if not a or not b or None in (a.low, a.high, b.low, b.high):
        return None
    return a.low <= b.high and b.low <= a.high


def _same_holdout(sa: dict[str, Any], sb: dict[str, Any]) -> bool:
    """Whether both versions were validated on their own runs' holdouts and those are the
    same rows: the same data, target, split, seed and row counts give the same split."""
    va, vb = sa["validation"], sb["validation"]
    if not (va and vb and va["data"].startswith("the holdout of run") and vb["data"].startswith("the holdout of run")):
        return False
    da, db = _data(sa), _data(sb)
    return (da.fingerprint == db.fingerprint and sa["mv"].target == sb["mv"].target
            and sa["run"].seed == sb["run"].seed and da.split == db.split and da.rows == db.rows)


def _metrics(sa: dict[str, Any], sb: dict[str, Any]) -> MetricsComparison:
    """Validated metrics of both, with intervals; cross-validation means as well."""
    notes: list[str] = []
    reports = {}
    for key, s in (("a", sa), ("b", sb)):
        v = s["validation"]
        if v is None:
            notes.append(f"{s['mv'].ref} has no validation on record; validate it to compare holdout "
                         "metrics with intervals.")
            reports[key] = None
        else:
            reports[key] = v
    validation = {k: (None if v is None else ValidationSummary(
        validation_id=v["id"], data=v["data"], beats_baseline=v["beats_baseline"],
        primary_metric=v["primary_metric"], rows=v["report"].get("n_rows"),
        created_by=v["created_by"], created_at=v["created_at"])) for k, v in reports.items()}
    rows: list[HoldoutMetric] = []
    if reports["a"] is not None or reports["b"] is not None:
        by_name = {k: {m["name"]: m for m in (v["report"].get("metrics") or [])} if v else {}
                   for k, v in reports.items()}
        names = list(dict.fromkeys([*by_name["a"], *by_name["b"]]))
        primary = next((v["primary_metric"] for v in reports.values() if v), None)
        for name in names:
            ma, mb = by_name["a"].get(name), by_name["b"].get(name)
            first = ma or mb
            a_side, b_side = _metric_side(ma), _metric_side(mb)
            diff = (b_side.value - a_side.value
                    if a_side and b_side and None not in (a_side.value, b_side.value) else None)
            rows.append(HoldoutMetric(name=name, label=first.get("label") or name,
                                      higher_is_better=bool(first.get("higher_is_better", True)),
                                      primary=name == primary, a=a_side, b=b_side, difference_b_minus_a=diff,
                                      intervals_overlap=_overlap(a_side, b_side)))
        if reports["a"] and reports["b"] and reports["a"]["data"] != reports["b"]["data"] \
                and not _same_holdout(sa, sb):
            notes.append(f"The versions were validated on different data ({reports['a']['data']}; "
                         f"{reports['b']['data']}): each interval describes its own holdout, so a "
                         "difference is a guide, not a test.")
    cva = (sa["mv"].metrics or {}).get("cv") or {}
    cvb = (sb["mv"].metrics or {}).get("cv") or {}

    def mean(m: Optional[dict[str, Any]]) -> Optional[CrossValidationMean]:
        return None if m is None else CrossValidationMean(m.get("mean"), m.get("std"))

    cv = tuple(CrossValidationMetric(name, mean(cva.get(name)), mean(cvb.get(name)))
               for name in dict.fromkeys([*cva, *cvb]))
    return MetricsComparison(validation=Pair(validation["a"], validation["b"]), same_holdout=_same_holdout(sa, sb),
                             holdout=tuple(rows), cross_validation=cv, notes=tuple(notes))


def _segments(s: dict[str, Any]) -> Optional[Segmentation]:
    """How the version was segmented and its validated results per segment (and subgroup)."""
    mv, r = s["mv"], s["run"]
    details = mv.details if isinstance(mv.details, dict) else {}
    v = s["validation"]
    groups = []
    for g in ((v["report"].get("subgroups") or []) if v else []):
        groups.append(SubgroupResults(
            column=g.get("column"), kind=g.get("kind"), primary_metric=g.get("primary_metric"),
            groups=tuple(GroupResult(value=x.get("value"), count=x.get("count"), reliable=x.get("reliable"),
                                     metrics=x.get("metrics")) for x in g.get("groups") or []),
            spread=g.get("spread")))
    segment_by = details.get("segment_by")
    if not segment_by and not groups:
        return None
    return Segmentation(segment_by=segment_by, trained=(r.details or {}).get("segments"), validated=tuple(groups))


def compare_versions(ws: "Workspace", ref_a: str, ref_b: str) -> VersionComparison:
    """Versions ``ref_a`` and ``ref_b`` (``MODEL:VERSION``) side by side:

    ``a``/``b`` (who, stage, aliases, approval), ``data`` (dataset, fingerprint, rows,
    split; same dataset / same data), ``features`` (added in b, removed from a, common),
    ``spec`` (the training settings, family and hyperparameters that differ; library
    versions that differ), ``metrics`` (each latest validation's metrics with 95%
    intervals and the difference b − a; cross-validation means), ``checks`` (accepted
    warnings), ``segments`` (per-segment and subgroup results) and ``challenge`` (the
    latest decided challenge of one of them against the other, judged on the same rows,
    or None).
    """
    from ..train import find_version

    mva, mvb = find_version(ws, ref_a), find_version(ws, ref_b)
    sa, sb = _side(ws, mva), _side(ws, mvb)
    da, db = _data(sa), _data(sb)
    fa, fb = list(mva.features), list(mvb.features)
    spec_a = {"spec": sa["run"].spec, "family": mva.family, "hyperparameters": sa["run"].hyperparameters}
    spec_b = {"spec": sb["run"].spec, "family": mvb.family, "hyperparameters": sb["run"].hyperparameters}
    for d in (spec_a["spec"], spec_b["spec"]):
        d.pop("model_name", None)  # the name a run registered under is not a training choice
    diff, same = _differences(spec_a, spec_b)
    lib_diff, _ = _differences(sa["run"].library_versions, sb["run"].library_versions)
    return VersionComparison(
        a=_summary(sa), b=_summary(sb),
        same_version=mva.id == mvb.id,
        data=DataComparison(a=da, b=db, same_dataset=da.dataset_id == db.dataset_id,
                            same_data=da.fingerprint == db.fingerprint, same_target=mva.target == mvb.target),
        features=FeatureComparison(added=tuple(f for f in fb if f not in fa),
                                   removed=tuple(f for f in fa if f not in fb),
                                   common=tuple(f for f in fa if f in fb)),
        spec=SpecComparison(differences=diff, same=same, library_differences=lib_diff),
        metrics=_metrics(sa, sb),
        checks=Pair(AcceptedChecks(sa["accepted"]), AcceptedChecks(sb["accepted"])),
        segments=Pair(_segments(sa), _segments(sb)),
        challenge=_challenge(ws, mva, mvb),
    )


def _challenge(ws: "Workspace", a: "ModelVersion", b: "ModelVersion") -> Optional[ChallengeOutcome]:
    """The newest decided challenge between ``a`` and ``b`` (either the challenger): its
    verdict sentence and the figures of its rule's metric for both, on the same rows."""
    from ..store import challenges

    pair = {a.id, b.id}
    for c in challenges.of_model(ws.registry, a.model_id):
        if c["status"] != "decided" or {c["challenger_id"], c["champion_id"]} != pair:
            continue
        r = c["report"]
        rule = next(m for m in r["metrics"] if m["name"] == r["rule"]["metric"])
        side = {c["challenger_id"]: rule["challenger"], c["champion_id"]: rule["champion"]}
        return ChallengeOutcome(id=c["id"], challenger=c["challenger"], champion=c["champion"],
                                verdict=c["verdict"], wins=c["wins"], sentence=r["sentence"], rule_text=r["rule_text"],
                                metric=rule["label"], rows=r["holdout"]["rows"], a=side[a.id], b=side[b.id],
                                segments=tuple(ChallengeSegment(s["segment"], s["verdict"], s["wins"])
                                               for s in r.get("segments") or []))
    return None
