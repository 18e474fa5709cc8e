"""Importing a file as a registered dataset: read, type, fingerprint, snapshot, record.

Either everything is recorded (dataset row, columns, audit entry, snapshot file) or,
on any error or cancel, nothing is: a snapshot this import wrote is removed again.
"""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Optional

import pyarrow as pa

from ..errors import DataImportError
from ..jobs import CancelToken, ProgressCallback, Steps, no_progress
from ..store import audit, utc_now
from ..store import datasets as dataset_rows
from ..storage import publish, sha256_file, write_temporary
from .dataset import Column, Dataset
from .fingerprint import fingerprint
from . import streaming
from .readers import ImportOptions, check_readable, detect_format, options_dict, read_table
from .types import default_role, infer_column, normalise_table

if TYPE_CHECKING:
    from ..workspace import Workspace


@dataclass
class ImportResult:
    """The dataset an import registered, and whether its data was already in the workspace."""
    dataset: Dataset
    reused_snapshot: bool
    #: ids of earlier datasets holding exactly the same data
    same_data_as: list[int] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """The dataset as ``import --json`` prints it, with whether its snapshot was reused,
        which dataset has the same data, and the time taken."""
        d = self.dataset.to_dict()
        d.update(reused_snapshot=self.reused_snapshot, same_data_as=self.same_data_as,
                 seconds=round(self.seconds, 3))
        return d


def build_columns(table: pa.Table) -> list[Column]:
    """The columns of a table as a dataset records them, each with its inferred kind and default role."""
    columns = []
    for i, (name, col) in enumerate(zip(table.column_names, table.columns)):
        facts = infer_column(col, table.num_rows)
        columns.append(Column(name=name, position=i, physical_type=str(col.type),
                              inferred_kind=facts.kind, kind=facts.kind,
                              role=default_role(facts.kind), n_missing=facts.n_missing,
                              n_distinct=facts.n_distinct))
    return columns


@dataclass
class _Prepared:
    """A file read, typed and fingerprinted, its snapshot written under a temporary name."""

    tmp: Path
    snapshot_sha: str
    format: str
    options: dict[str, Any]
    suggested_name: str
    rows: int
    columns: list[Column]
    fingerprint: str


def import_dataset(ws: "Workspace", path: Path | str, options: Optional[ImportOptions] = None, *,
                   name: Optional[str] = None, actor: str,
                   progress: ProgressCallback = no_progress,
                   cancel: Optional[CancelToken] = None,
                   stream_above_bytes: Optional[int] = None) -> ImportResult:
    """Import ``path`` as a registered dataset. CSV and Parquet files of at least
    ``stream_above_bytes`` (default :data:`streaming.STREAM_ABOVE_BYTES`) are read in
    batches, with memory bounded whatever their size; the dataset is the same."""
    started = time.perf_counter()
    path = Path(path).expanduser().absolute()
    options = options or ImportOptions()
    steps = Steps(progress, cancel, {"read": 55, "types": 20, "fingerprint": 20, "register": 5})
    check_readable(path)
    fmt = options.format or detect_format(path)
    if streaming.streams(path, fmt, stream_above_bytes):
        prepared = _prepare_streamed(ws, path, fmt, options, steps, cancel)
    else:
        prepared = _prepare_whole(ws, path, options, steps, cancel)
    recorded_options = dict(prepared.options)
    given = sorted(k for k in options_dict(options) if k != "format")
    if given:
        recorded_options["chosen_by_user"] = given
    entry = Entry("dataset.imported",
                  lambda unique: f"Imported {path.name} as {unique!r} ({prepared.rows:,} rows, "
                                 f"{len(prepared.columns)} columns)",
                  {"source_path": str(path), "format": prepared.format, "options": recorded_options})
    return _record(ws, prepared, source_path=str(path), options=recorded_options,
                   name=name or prepared.suggested_name, actor=actor, steps=steps, entry=entry, started=started)


@dataclass
class Entry:
    """How a new dataset is recorded: its audit action, the entry's summary (given the
    dataset's final name) and details, and what is written with it in the same
    transaction (``also(registry, dataset_id)``)."""

    action: str
    summary: Callable[[str], str]
    details: dict[str, Any]
    also: Optional[Callable[[Any, int], None]] = None


def register_table(ws: "Workspace", table: pa.Table, *, source_path: str, source_format: str,
                   options: dict[str, Any], name: str, actor: str, steps: Steps, entry: Entry,
                   columns_for: Callable[[pa.Table], list[Column]] = build_columns,
                   started: Optional[float] = None) -> ImportResult:
    """Register a table as a dataset: its column types, fingerprint and snapshot, its
    record and ``entry``. ``steps`` has the parts "types", "fingerprint" and "register".
    Either everything is recorded or, on any error or cancel, nothing is."""
    started = time.perf_counter() if started is None else started
    prepared = _prepare_table(ws, table, source_format, options, name, steps, columns_for)
    return _record(ws, prepared, source_path=source_path, options=options, name=name, actor=actor,
                   steps=steps, entry=entry, started=started)


def _record(ws: "Workspace", prepared: _Prepared, *, source_path: str, options: dict[str, Any], name: str,
            actor: str, steps: Steps, entry: Entry, started: float) -> ImportResult:
    """Publish the prepared snapshot and record the dataset with ``entry``; on any error
    or cancel, remove the snapshot this call wrote and record nothing."""
    tmp = prepared.tmp
    snapshot_rel = f"snapshots/{prepared.fingerprint}.parquet"
    snapshot_path = ws.root / snapshot_rel
    wrote_snapshot = False
    try:
        steps.start("register", "Registering the dataset")
        wrote_snapshot, snapshot_sha = _place_snapshot(ws, tmp, prepared.snapshot_sha, snapshot_rel,
                                                       snapshot_path)
        dataset_id, same = _register(ws, source_path, prepared.format, options, prepared.rows,
                                     prepared.columns, prepared.fingerprint, snapshot_rel, snapshot_sha,
                                     snapshot_path.stat().st_size, name, actor, steps, entry)
    except BaseException:
        tmp.unlink(missing_ok=True)
        if wrote_snapshot and dataset_rows.snapshot_sha256_for(ws.registry, snapshot_rel) is None:
            snapshot_path.unlink(missing_ok=True)
        raise
    steps.done("Imported")
    return ImportResult(dataset_rows.get(ws.registry, dataset_id), not wrote_snapshot, same,
                        time.perf_counter() - started)


def _prepare_whole(ws: "Workspace", path: Path, options: ImportOptions, steps: Steps,
                   cancel: Optional[CancelToken]) -> _Prepared:
    steps.start("read", f"Reading {path.name}")
    result = read_table(path, options, progress=lambda f, m: steps.within(f or 0.0), cancel=cancel)
    return _prepare_table(ws, normalise_table(result.table), result.format, result.options,
                          result.suggested_name, steps, build_columns)


def _prepare_table(ws: "Workspace", table: pa.Table, fmt: str, options: dict[str, Any], suggested_name: str,
                   steps: Steps, columns_for: Callable[[pa.Table], list[Column]]) -> _Prepared:
    """Type and fingerprint a table held in memory, its snapshot written meanwhile."""
    # The snapshot is written on a second thread while this one infers the column
    # types and computes the fingerprint: both mostly run outside the GIL.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="snapshot") as pool:
        future = pool.submit(_write_snapshot, table, ws.snapshots_dir)
        try:
            steps.start("types", "Inferring column types")
            columns = columns_for(table)
            steps.start("fingerprint", "Computing the fingerprint")
            n_cols = max(table.num_columns, 1)
            fp = fingerprint(table, on_column=lambda i: steps.within((i + 1) / n_cols))
        except BaseException:
            _discard(future)
            raise
        tmp, snapshot_sha = future.result()
    return _Prepared(tmp, snapshot_sha, fmt, options, suggested_name, table.num_rows, columns, fp)


def _prepare_streamed(ws: "Workspace", path: Path, fmt: str, options: ImportOptions, steps: Steps,
                      cancel: Optional[CancelToken]) -> _Prepared:
    steps.start("read", f"Reading {path.name} in parts")
    # the three steps of a streamed import report through the read step's share and on
    spans = {"read": (0.0, 0.7), "types": (0.7, 0.85), "fingerprint": (0.85, 1.0)}

    def report(fraction: float, message: str) -> None:
        for step, (low, high) in spans.items():
            if fraction <= high or step == "fingerprint":
                if steps.current != step:
                    steps.start(step, message)
                steps.within((fraction - low) / (high - low))
                return

    holder: dict[str, streaming.StreamedSnapshot] = {}

    def write(tmp: Path) -> None:
        holder["result"] = streaming.write_streamed_snapshot(path, fmt, options, tmp, spill_dir=ws.snapshots_dir,
                                                             progress=report, cancel=cancel)

    try:
        tmp = write_temporary(ws.snapshots_dir, "snapshot.parquet", write)
    except OSError as exc:
        raise DataImportError(f"Cannot write the snapshot into {ws.snapshots_dir}: {exc.strerror or exc}.") from None
    done = holder["result"]
    columns = [Column(name=n, position=i, physical_type=str(t), inferred_kind=f.kind, kind=f.kind,
                      role=default_role(f.kind), n_missing=f.n_missing, n_distinct=f.n_distinct)
               for i, (n, t, f) in enumerate(zip(done.names, done.types, done.facts))]
    return _Prepared(tmp, sha256_file(tmp), done.format, done.options, path.stem, done.rows, columns,
                     done.fingerprint)


def _write_snapshot(table: pa.Table, folder: Path) -> tuple[Path, str]:
    """Write the snapshot under a temporary name; returns it and its SHA-256."""
    import pyarrow.parquet as pq

    try:
        tmp = write_temporary(folder, "snapshot.parquet",
                              lambda p: pq.write_table(table, p, compression="snappy"))
    except OSError as exc:
        raise DataImportError(f"Cannot write the snapshot into {folder}: {exc.strerror or exc}.") from None
    return tmp, sha256_file(tmp)


def _discard(future: "Future[tuple[Path, str]]") -> None:
    """Wait for the snapshot writer and delete what it wrote."""
    try:
        tmp, _sha = future.result()
    except Exception:
        return  # it failed and cleaned up after itself
    tmp.unlink(missing_ok=True)


def _place_snapshot(ws: "Workspace", tmp: Path, sha: str, rel: str, path: Path) -> tuple[bool, str]:
    """Give the snapshot its final name, or keep an intact earlier snapshot of the same
    data (its bytes may differ, written from another format: the dataset then records
    the kept file's hash). Returns whether this import published a new file, and the
    SHA-256 of the file the dataset reads."""
    from ..file_hashes import current_sha256

    recorded = dataset_rows.snapshot_sha256_for(ws.registry, rel)
    # hashed once per version of the file in this process (the app reads snapshots often)
    if recorded is not None and path.is_file() and current_sha256(path) == recorded:
        tmp.unlink(missing_ok=True)
        return False, recorded
    publish(tmp, path)
    return True, sha


def _register(ws: "Workspace", source_path: str, fmt: str, options: dict[str, Any], n_rows: int,
              columns: list[Column], fp: str, snapshot_rel: str, snapshot_sha: str,
              snapshot_bytes: int, name: str, actor: str, steps: Steps, entry: Entry) -> tuple[int, list[int]]:
    reg = ws.registry
    with reg.transaction():
        steps.check()  # the last moment a cancel is honoured: after this, it is done
        same = [r["id"] for r in reg.query("SELECT id FROM datasets WHERE fingerprint = ? ORDER BY id",
                                           (fp,))]
        unique = name
        n = 2
        while dataset_rows.name_taken(reg, unique):
            unique = f"{name} ({n})"
            n += 1
        dataset_id = dataset_rows.insert(
            reg, name=unique, source_path=source_path, source_format=fmt, options=options,
            n_rows=n_rows, fingerprint=fp, snapshot=snapshot_rel,
            snapshot_sha256=snapshot_sha, snapshot_bytes=snapshot_bytes, created_by=actor,
            created_at=utc_now(), columns=columns)
        if entry.also is not None:
            entry.also(reg, dataset_id)
        audit.append(reg, actor=actor, action=entry.action, entity_type="dataset",
                     entity_id=dataset_id, summary=entry.summary(unique),
                     details={**entry.details, "rows": n_rows, "columns": len(columns),
                              "fingerprint": fp, "snapshot_sha256": snapshot_sha,
                              "same_data_as": same,
                              "columns_sha256": dataset_rows.columns_digest(
                                  (c.name, c.kind, c.role)
                                  for c in sorted(columns, key=lambda c: c.position))})
    return dataset_id, same
