"""Monitoring summaries of IT's scoring runs (``score.py --monitor-out``) brought back
into the app: each is checked (its hash, and that it belongs to a version of this
workspace by the model's hash), compared with the version's reference by the Monitor
page's own measures, and stored as a drift report, so it joins the version's timeline,
lineage and audit log.

What the check proves: the body's SHA-256 catches a summary damaged or edited after it
was written; the model hash ties it to a version of this workspace. It does not prove
who wrote it: the package that writes summaries is in IT's hands, and anyone holding it
(or a summary and this description) can write one with a correct hash. A summary is
data from elsewhere: it is parsed as JSON, never run, and holds no rows.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional, Sequence

from mlops_model_support import drift as metrics
from mlops_model_support import monitoring
from mlops_model_support import performance as perf

from .errors import SummaryRefused

if TYPE_CHECKING:
    from ..workspace import Workspace
    from .drift import DriftReport
    from .reference import Reference

#: a summary is counts: a file larger than this is not one
MAX_SUMMARY_BYTES = 64 * 1024 * 1024
FINGERPRINT_PREFIX = "summary-sha256:"


@dataclass
class SummaryImport:
    """What ``monitor import`` did with each file: the reports stored, the files refused."""

    reports: list["DriftReport"] = field(default_factory=list)
    #: (file, why) for every summary refused
    refused: list[tuple[str, str]] = field(default_factory=list)
    series_id: Optional[str] = None

    def to_dict(self) -> dict[str, Any]:
        """What ``--json`` prints: the series, each imported report, and each refused file
        with the reason."""
        return {"series_id": self.series_id, "imported": [r.to_dict() for r in self.reports],
                "refused": [{"file": f, "reason": why} for f, why in self.refused]}


def read_summary_file(path: Path | str) -> dict[str, Any]:
    """The checked body of a summary file; :class:`SummaryRefused` saying why not."""
    path = Path(path).expanduser()
    try:
        size = path.stat().st_size
        if size > MAX_SUMMARY_BYTES:
            raise SummaryRefused(f"{path.name} is {size:,} bytes; a monitoring summary holds counts only "
                                 f"(at most {MAX_SUMMARY_BYTES:,} bytes).")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SummaryRefused(f"There is no file {path}.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SummaryRefused(f"{path.name} cannot be read ({exc}).") from None
    try:
        data = json.loads(text, parse_constant=_no_constant)
        return monitoring.read_summary(data)
    except (ValueError, monitoring.SummaryError) as exc:
        raise SummaryRefused(f"{path.name} is refused: {exc}.") from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def import_summaries(ws: "Workspace", paths: Sequence[Path | str], *, actor: str) -> SummaryImport:
    """Import every readable summary that belongs to a version of this workspace, in
    the order they were scored (one stored comparison); refuse the others with the
    reason. Each is stored with its audit entry in its own transaction."""
    from .drift import DriftError

    if not actor:
        raise DriftError("Say who imports: every imported summary is recorded.")
    out = SummaryImport(series_id=uuid.uuid4().hex)
    bodies: list[tuple[str, dict[str, Any], str]] = []
    for path in paths:
        try:
            body = read_summary_file(path)
            bodies.append((str(path), body, monitoring.body_hash(body)))
        except SummaryRefused as exc:
            out.refused.append((str(path), str(exc)))
    bodies.sort(key=lambda item: str(item[1].get("scored_at") or ""))
    references: dict[str, "Reference"] = {}
    for index, (path, body, sha) in enumerate(bodies):
        try:
            out.reports.append(_import_one(ws, path, body, sha, references, out.series_id, index, actor))
        except SummaryRefused as exc:
            out.refused.append((path, str(exc)))
    return out


def _version_of(ws: "Workspace", package: dict[str, Any], name: str) -> Any:
    """The version the summary's package was exported from, by its model's hash."""
    from ..errors import NotFoundError
    from ..train import find_version

    model, version, artifact = package.get("model"), package.get("version"), package.get("artifact_sha256")
    if not model or version is None or not artifact:
        raise SummaryRefused(f"{name} is refused: it does not say which model version scored it.")
    try:
        mv = find_version(ws, f"{model}:{int(version)}")
    except (NotFoundError, ValueError, TypeError):
        raise SummaryRefused(f"{name} is refused: it comes from model {model} version {version}, which this "
                             "workspace does not have (a summary of another workspace's model).") from None
    if mv.artifact_sha256 != artifact:
        raise SummaryRefused(f"{name} is refused: its model's hash {str(artifact)[:12]}… is not that of "
                             f"{mv.ref} in this workspace ({mv.artifact_sha256[:12]}…): it was scored by a model "
                             "of another workspace.")
    return mv


def _import_one(ws: "Workspace", path: str, body: dict[str, Any], sha: str, references: dict[str, "Reference"],
                series_id: str, index: int, actor: str) -> "DriftReport":
    from ..store import drift_reports as rows
    from ..store import exports as export_rows
    from .for_version import reference_for_version
    from .history import save_report
    from .thresholds import effective_thresholds

    name = Path(path).name
    package = body.get("package") or {}
    mv = _version_of(ws, package, name)
    existing = rows.with_batch_fingerprint(ws.registry, FINGERPRINT_PREFIX + sha)
    if existing is not None:
        raise SummaryRefused(f"{name} is refused: it was imported before, as drift report {existing}.")
    if mv.ref not in references:
        references[mv.ref] = reference_for_version(ws, mv.ref)
    reference = references[mv.ref]
    t = effective_thresholds(ws, mv.model)
    try:
        report = summary_report(reference, body, t.to_dict())
    except monitoring.SummaryError as exc:
        raise SummaryRefused(f"{name} is refused: {exc}.") from None
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        # a correct hash over a body that is not what a package writes: data, not a bug
        raise SummaryRefused(f"{name} is refused: its body is not a monitoring summary's "
                             f"({type(exc).__name__}: {exc}).") from None
    known = {e["manifest_sha256"] for e in export_rows.for_version(ws.registry, mv.id)}
    if package.get("manifest_sha256") not in known:
        report.notes.append("The package that scored this batch is not one this workspace recorded exporting "
                            "(its manifest hash is unknown here), though its model is this version's.")
    report.batch["source"]["file"] = str(Path(path).expanduser().absolute())
    report.batch["fingerprint"] = FINGERPRINT_PREFIX + sha
    report.series_id = series_id
    save_report(ws, report, reference, batch_index=index, actor=actor,
                details={"imported_summary_sha256": sha, "scored_at": body.get("scored_at"),
                         "package_manifest_sha256": package.get("manifest_sha256")})
    return report


def summary_report(reference: "Reference", body: dict[str, Any], t: dict[str, Any]) -> "DriftReport":
    """A drift report of the batch a summary describes, against ``reference`` (the
    version's), with the Monitor page's measures on the summary's cells."""
    from .drift import DriftReport
    from .summary import summarise

    cells = body.get("features")
    if not isinstance(cells, dict):
        raise monitoring.SummaryError("it holds no features")
    results = []
    for feature, fp in reference.profile.features.items():
        if feature not in cells:
            results.append(metrics.not_comparable(feature, fp.kind, f"the summary has no column {feature!r}",
                                                  fp.distribution))
            continue
        results.append(_compare(fp, cells[feature], t))
    prediction = None
    if reference.profile.predictions is not None and isinstance(body.get("prediction"), dict):
        prediction = _compare(reference.profile.predictions, body["prediction"], t)
    verdict = metrics.dataset_verdict(results, t, importance=reference.importance, prediction=prediction)
    counts = body.get("rows") or {}
    rows = int(counts.get("read") or 0)
    comparison = metrics.Comparison(results, verdict, t, rows, prediction, [])
    estimated = None
    if body.get("estimated_performance"):
        estimated = perf.PerformanceEstimate.from_dict(body["estimated_performance"])
        _apply_range_rule(estimated, results)
    scored_at = str(body.get("scored_at") or "")
    label = f"IT {scored_at[:10]} {(body.get('input') or {}).get('name') or 'batch'}".strip()
    run = (f"Imported from the drift summary of a Spark job on IT's cluster ({scored_at}): {rows:,} rows "
           f"counted without scoring, {counts.get('rejected', 0):,} of which score.py would reject. "
           if body.get("job") == "drift" else
           f"Imported from the monitoring summary of a scoring run on IT's machine ({scored_at}): "
           f"{counts.get('scored', 0):,} of {rows:,} rows scored, {counts.get('rejected', 0):,} rejected. ")
    notes = [run + "Measured on the summary's cells (counts and means per cell, no rows): PSI, Jensen–Shannon, "
                   "chi-square and missing shares as on rows; Wasserstein and KS within the cells' widths."]
    rejects = body.get("rejects_by_reason") or {}
    if rejects:
        notes.append("Rejected rows by reason: " + "; ".join(f"{k}: {int(v):,}" for k, v in rejects.items()) + ".")
    summary = summarise(comparison, model_reference=True, estimated=estimated)
    source = {"type": "it_summary", "scored_at": scored_at, "package": body.get("package") or {},
              "rows": counts, "rejects_by_reason": rejects, "input": body.get("input") or {}}
    batch = {"label": label, "rows": rows, "fingerprint": "", "source": source, "dataset_id": None}
    report = DriftReport(reference.to_dict(), batch, t, comparison, summary, notes=notes)
    report.estimated_performance = estimated
    if estimated is None:
        report.performance_note = ("The summary holds no estimated performance (a regressor, or a package "
                                   "exported without a calibration).")
    return report


def _compare(fp: metrics.FeatureProfile, cells: Any, t: dict[str, Any]) -> metrics.FeatureResult:
    if not isinstance(cells, dict) or cells.get("kind") != fp.kind:
        return metrics.not_comparable(fp.name, fp.kind, "the summary holds it as another kind", fp.distribution)
    result = metrics.compare_feature(fp, monitoring.cells_distribution({**cells, "name": fp.name}), t)
    if fp.kind == metrics.CATEGORICAL and result.comparable:
        # the summary counts new categories without naming them
        result.metrics.update(new_count=int(cells.get("new_categories") or 0), new_categories=[])
    return result


def _apply_range_rule(estimated: perf.PerformanceEstimate, results: Sequence[metrics.FeatureResult]) -> None:
    """The app's range rule on the app's own comparison of the summary."""
    reliable, reason = perf.range_check(perf.outside_shares(results))
    for part in [estimated, *estimated.segments.values()]:
        part.reliable, part.reason = reliable, reason
        for m in part.metrics.values():
            if m.estimate is not None:
                m.reliable, m.reason = reliable, reason
