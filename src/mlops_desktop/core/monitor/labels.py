"""Labels that arrive after a batch was scored: joined to the batch by an id column,
the realized performance recorded next to the batch's estimate.

The batch is read again from where its drift report says it came from (a file whose
fingerprint must still be the one compared, a period of it, or a registered dataset)
and scored by the version's model. A batch scored on IT's machine (an imported
summary) was never here: its labels file must then be the package's scored output
(``input_row``, the id columns, ``probability_<class>`` per class) with the labels
added in a column.

Every row is accounted for, none dropped unsaid: batch rows without a label (no label
row, or an empty label), label rows whose id the batch does not have, ids given more
than once in the labels (all their rows are left out: which one is right cannot be
told), and batch rows sharing an id (left out for the same reason).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import numpy as np
import pandas as pd
from mlops_model_support import performance as perf
from mlops_model_support.labels import category_labels, class_label

from .errors import LabelsError

if TYPE_CHECKING:
    from ..workspace import Workspace
    from .drift import DriftReport
    from .reference import Reference


@dataclass
class JoinCounts:
    """How the labels met the batch."""

    batch_rows: int
    label_rows: int
    matched: int
    #: batch rows with no label row, or an empty label
    unlabelled: int
    #: label rows whose id is not in the batch (or empty)
    unknown_ids: int
    #: ids given more than once in the labels, and how many label rows they had
    duplicate_ids: int
    duplicate_rows: int
    #: batch rows whose id another batch row has too
    batch_duplicate_rows: int

    def to_dict(self) -> dict[str, int]:
        """The counts as a plain dict."""
        return dict(self.__dict__)


@dataclass
class LabelsResult:
    """A labels file joined to a scored batch, and what was recorded."""

    version: str
    report: "DriftReport"
    counts: JoinCounts
    realized: perf.RealizedPerformance
    record_id: int
    labels_file: str
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """What ``--json`` prints: the batch and labels file, how the join went, realized and
        estimated performance, and notes."""
        est = self.report.estimated_performance
        return {"version": self.version, "drift_report_id": self.report.id, "batch": self.report.label,
                "labels": self.labels_file, "counts": self.counts.to_dict(),
                "realized_performance": self.realized.to_dict(),
                "estimated_performance": est.to_dict() if est is not None else None,
                "realized_id": self.record_id, "notes": list(self.notes)}


def _ids(values: pd.Series) -> np.ndarray:
    """Ids as text (1, 1.0 and "1" are one id), missing as None."""
    labels = category_labels(values)
    return np.where(pd.isna(labels), None, labels).astype(object)


def join_labels(batch_ids: np.ndarray, label_ids: np.ndarray,
                labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, JoinCounts]:
    """Which batch rows get which label: (batch row positions, their labels, counts)."""
    given_ids = pd.DataFrame({"id": label_ids, "label": labels})
    lab = given_ids[given_ids["id"].notna()]
    per_id = lab["id"].value_counts()
    repeated = per_id[per_id > 1]
    single = lab[~lab["id"].isin(repeated.index)]
    batch = pd.Series(batch_ids)
    batch_counts = batch.value_counts()
    shared = batch.isin(batch_counts[batch_counts > 1].index).to_numpy()
    lookup = dict(zip(single["id"], single["label"]))
    given = np.array([i is not None and not s and i in lookup for i, s in zip(batch_ids, shared)], dtype=bool)
    positions = np.flatnonzero(given)
    values = np.array([lookup[batch_ids[i]] for i in positions], dtype=object)
    has_label = ~pd.isna(values)
    known = set(batch_ids.tolist())
    counts = JoinCounts(
        batch_rows=len(batch_ids), label_rows=len(labels), matched=int(has_label.sum()),
        unlabelled=int(len(batch_ids) - int(shared.sum()) - int(has_label.sum())),
        unknown_ids=int((~given_ids["id"].isin(known - {None})).sum()), duplicate_ids=int(len(repeated)),
        duplicate_rows=int(repeated.sum()), batch_duplicate_rows=int(shared.sum()))
    return positions[has_label], values[has_label], counts


def record_labels(ws: "Workspace", ref: str, report_id: int, labels_path: Path, id_column: str, *,
                  label_column: Optional[str] = None, actor: str) -> LabelsResult:
    """Join ``labels_path`` to the batch of drift report ``report_id`` by ``id_column``
    and record the realized performance (with its audit entry)."""
    from ..data.readers import read_table
    from ..errors import NotFoundError
    from ..store import realized as realized_rows
    from ..storage import sha256_file
    from ..train import find_version
    from .history import load_report

    if not actor:
        raise LabelsError("Say who records the labels: it is recorded.")
    mv = find_version(ws, ref)
    if mv.task == "regression":
        raise LabelsError(f"{mv.ref} is a regressor; realized performance is recorded for classifiers.")
    try:
        report = load_report(ws, report_id)
    except NotFoundError:
        raise LabelsError(f"There is no drift report {report_id}; see 'mlops-desktop drift-reports'.") from None
    about = (report.reference.get("model"), report.reference.get("version"))
    if about != (mv.model, mv.version):
        raise LabelsError(f"Drift report {report_id} is about {report.reference.get('label')}, not model "
                          f"{mv.ref}.")
    labels_path = Path(labels_path).expanduser()
    table = read_table(labels_path).table.to_pandas()
    target = label_column or mv.target
    for column in (id_column, target):
        if column not in table.columns:
            raise LabelsError(f"{labels_path.name} has no column {column!r} (its columns: "
                              f"{', '.join(map(str, table.columns))}).")
    from .for_version import reference_for_version

    reference = reference_for_version(ws, mv.ref)
    if reference.calibration is None:
        raise LabelsError(f"{mv.ref} has no calibration to define its decision ({reference.calibration_note})")
    notes: list[str] = []
    if report.batch.get("source", {}).get("type") == "it_summary":
        proba, batch_ids, segments = _scored_output(table, reference, id_column, labels_path.name)
        label_ids, label_values = batch_ids, table[target].to_numpy(dtype=object)
        notes.append("The batch was scored on IT's machine: the labels file is its scored output, so every "
                     "labelled row is one of the batch's.")
    else:
        frame, note = _rows_scored(ws, report, reference)
        notes += [note] if note else []
        if id_column not in frame.columns:
            raise LabelsError(f"The batch {report.label} has no column {id_column!r} to join the labels by.")
        from .estimated import segment_values
        from .predictions import score_batch

        _, proba, why = score_batch(reference.model, frame, reference.model_features)
        if proba is None:
            raise LabelsError(f"The batch {report.label} cannot be scored again: {why}.")
        batch_ids = _ids(frame[id_column])
        segments = segment_values(frame, reference.segment_column)
        label_ids, label_values = _ids(table[id_column]), table[target].to_numpy(dtype=object)
    positions, values, counts = join_labels(batch_ids, label_ids, label_values)
    if counts.matched == 0:
        raise LabelsError(f"No row of {labels_path.name} matched a row of {report.label} by {id_column} with a "
                          f"label ({counts.unknown_ids:,} of its ids are not in the batch).")
    from .estimated import realized_batch

    realized = realized_batch(reference.calibration, proba[positions],
                              pd.Series([class_label(v) for v in values], dtype=object),
                              segments[positions] if segments is not None else None)
    assert realized is not None
    result = {"counts": counts.to_dict(), "realized_performance": realized.to_dict(), "notes": notes}
    row = realized_rows.record(ws.registry, drift_report_id=report_id, version_id=mv.id, ref=mv.ref,
                               labels_source=str(labels_path.absolute()), labels_sha256=sha256_file(labels_path),
                               id_column=id_column, label_column=target, rows_matched=counts.matched,
                               result=result, actor=actor)
    report.realized_performance = realized
    return LabelsResult(mv.ref, report, counts, realized, int(row["id"]), str(labels_path), notes)


def _rows_scored(ws: "Workspace", report: "DriftReport", reference: "Reference") -> tuple[pd.DataFrame, str]:
    """The batch's rows as the model scored them (through the training data's recipe for a
    model trained on prepared data), and a note on the rows left outside its scope."""
    from ..prepare.scope import rows_as_model_takes

    what = f"the batch {report.label}"
    frame = _batch_frame(ws, report)
    scoped = rows_as_model_takes(reference.recipe, frame, (report.batch.get("source") or {}).get("recipe_sha256"),
                                 what, LabelsError)
    return (frame, "") if scoped is None else (scoped.frame.reset_index(drop=True), scoped.note(what))


def _batch_frame(ws: "Workspace", report: "DriftReport") -> pd.DataFrame:
    """The batch of a report, read again from its source and checked by fingerprint."""
    from . import batches

    source = report.batch.get("source") or {}
    try:
        if source.get("type") == "dataset":
            batch = batches.batch_from_dataset(ws, source["dataset_id"])
        elif source.get("type") == "file":
            batch = batches.batch_from_file(source["path"])
        else:
            raise LabelsError(f"The batch {report.label} was given as data in memory; it cannot be read again "
                              "to join labels. Compare it as a file or a dataset.")
    except (FileNotFoundError, KeyError):
        raise LabelsError(f"The batch {report.label} can no longer be read from {source.get('path')}.") from None
    if source.get("period"):
        parts = [b for b in batches.split_batch(batch, source["split_by"], source["freq"])
                 if b.source.get("period") == source["period"]]
        if not parts:
            raise LabelsError(f"{source.get('path')} no longer has the period {source['period']}.")
        batch = parts[0]
    if batch.fingerprint() != report.batch.get("fingerprint"):
        raise LabelsError(f"The batch {report.label} has changed since it was compared (its fingerprint differs):"
                          " the labels cannot be joined to the rows that were scored.")
    if batch.table is None:
        raise LabelsError(f"The batch {report.label} is larger than memory: labels are joined to batches "
                          "that fit in memory. Join them to a part of the file (a month, say).")
    return batch.table.to_pandas()


def _scored_output(table: pd.DataFrame, reference: Any, id_column: str,
                   name: str) -> tuple[np.ndarray, np.ndarray, Optional[np.ndarray]]:
    """Probabilities, ids and segments from a package's scored output with labels."""
    classes = reference.calibration.classes
    wanted = [f"probability_{c}" for c in classes]
    missing = [c for c in wanted if c not in table.columns]
    if missing:
        raise LabelsError(f"The batch was scored on IT's machine, so {name} must be the package's scored output "
                          f"with the labels added; it lacks {', '.join(missing)}.")
    proba = table[wanted].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
    if np.isnan(proba).any():
        raise LabelsError(f"{name} has rows without probabilities; give the scored output as score.py wrote it.")
    from .estimated import segment_values

    return proba, _ids(table[id_column]), segment_values(table, reference.segment_column)
