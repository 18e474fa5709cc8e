"""The rows Check and Train work on: the whole dataset when it fits in memory, otherwise a
stated, recorded, reproducible sample drawn from its snapshot on disk.

The sample is drawn with a seed, so the same dataset, columns and seed give the same rows
on every computer. Stratified by a categorical target it keeps each class's share of the
whole dataset (each class's rows drawn in proportion, rounded so the total is exact); by
a numeric target or none it is a simple random sample.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Optional, Sequence

import numpy as np
import pyarrow as pa

if TYPE_CHECKING:
    from ..workspace import Workspace
    from .dataset import Dataset
    from .on_disk import OnDiskTable

#: rows Train fits on when the dataset is larger than memory
TRAIN_ROWS = 1_000_000
#: rows the Check page's assumption checks run on when the dataset is larger than memory
CHECK_ROWS = 200_000
#: the seed of the Check page's sample (Train uses the run's seed)
CHECK_SEED = 20180


@dataclass(frozen=True)
class RowSample:
    """Which rows were used instead of all of them."""

    rows: int
    of: int
    seed: int
    #: the target whose classes keep their shares, or None for a simple random sample
    stratified_by: Optional[str]

    def to_dict(self) -> dict[str, Any]:
        """The sample's description as a plain dict (rows, of, seed, stratified_by)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Optional[dict[str, Any]]) -> Optional["RowSample"]:
        """A sample description read back from :meth:`to_dict`'s form; None when there was
        none (every row was used)."""
        return None if not data else cls(int(data["rows"]), int(data["of"]), int(data["seed"]),
                                         data.get("stratified_by"))

    def note(self) -> str:
        """The sentence a run, a check report and a model card show."""
        how = (f"stratified by {self.stratified_by}, so each class keeps its share"
               if self.stratified_by else "a simple random sample")
        return (f"The dataset is larger than memory: {self.rows:,} of its {self.of:,} rows were used, "
                f"drawn at random with seed {self.seed} ({how}); the same seed draws the same rows.")


def load_rows(ws: "Workspace", ds: "Dataset", columns: Optional[Sequence[str]], *, rows: int, seed: int,
              stratify_by: Optional[str] = None) -> tuple[pa.Table, Optional[RowSample]]:
    """The dataset's ``columns`` (all when None): every row when the snapshot fits in
    memory (and no sample), else ``rows`` of them drawn with ``seed``, stratified by the
    column ``stratify_by`` when it is given and categorical."""
    from .on_disk import too_large_for_memory

    if not too_large_for_memory(ds.snapshot_bytes):
        return ws.load_table(ds, columns), None
    table, chosen, stratify_by = _drawn(ws, ds, rows, seed, stratify_by)
    sample = table.take_rows(chosen, columns)
    return sample, RowSample(len(chosen), table.rows, seed, stratify_by)


def sampled_rows(ws: "Workspace", ds: "Dataset", *, rows: int, seed: int,
                 stratify_by: Optional[str] = None) -> Optional[np.ndarray]:
    """The row numbers :func:`load_rows` reads with the same arguments (sorted), or None
    when it reads every row (the dataset fits in memory)."""
    from .on_disk import too_large_for_memory

    if not too_large_for_memory(ds.snapshot_bytes):
        return None
    return _drawn(ws, ds, rows, seed, stratify_by)[1]


def _drawn(ws: "Workspace", ds: "Dataset", rows: int, seed: int,
           stratify_by: Optional[str]) -> tuple["OnDiskTable", np.ndarray, Optional[str]]:
    from .catalog import snapshot_path
    from .on_disk import OnDiskTable

    table = OnDiskTable.open(snapshot_path(ws, ds), ws.snapshots_dir, fingerprint=ds.fingerprint)
    if stratify_by is not None and ds.column(stratify_by).kind not in ("categorical", "boolean"):
        stratify_by = None
    return table, _chosen_rows(table, rows, seed, stratify_by), stratify_by


def _chosen_rows(table: "OnDiskTable", n: int, seed: int, by: Optional[str]) -> np.ndarray:
    """Sorted row numbers of the sample. Stratified, the class counts come from the engine
    and one pass over the target column numbers each row within its class: memory holds
    one batch and the chosen row numbers."""
    import pyarrow.compute as pc

    rng = np.random.default_rng(seed)
    if n >= table.rows:
        return np.arange(table.rows)
    if by is None:
        return np.sort(rng.choice(table.rows, n, replace=False))
    counts = table.value_counts(table.sql_column(by))
    classes = sorted(zip(counts.column("value").to_pylist(), counts.column("n").to_pylist()),
                     key=lambda vc: (vc[0] is None, str(vc[0])))
    sizes = np.array([c for _, c in classes], dtype=np.int64)
    # proportional allocation with the largest remainders, so the total is exactly n
    exact = sizes * (n / table.rows)
    take = np.floor(exact).astype(np.int64)
    take[np.argsort(-(exact - take), kind="stable")[:n - int(take.sum())]] += 1
    ranks = [np.sort(rng.choice(size, int(k), replace=False)) for size, k in zip(sizes, take)]
    seen = np.zeros(len(classes), dtype=np.int64)
    chosen = []
    first = 0
    for batch in table.batches([by]):
        col = batch.column(0)
        for i, (value, _) in enumerate(classes):
            mask = (col.is_null() if value is None else pc.fill_null(pc.equal(col, value), False))
            rows = np.flatnonzero(mask.to_numpy(zero_copy_only=False))
            if len(rows):
                within = seen[i] + np.arange(len(rows))
                chosen.append(first + rows[np.isin(within, ranks[i], assume_unique=True)])
                seen[i] += len(rows)
        first += batch.num_rows
    return np.sort(np.concatenate(chosen)) if chosen else np.empty(0, dtype=np.int64)
