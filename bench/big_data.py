"""A table of realistic cardinality for the benchmarks (issues 18 and 19).

Not a sample repeated: every row is drawn afresh, so distinct counts, duplicates and
quantiles grow with the row count as real data does. Ten columns, one row per card
transaction over a year:

==============  ===========  ==================================================
transaction_id  int64        distinct per row (an id)
booked_at       timestamp    a year of seconds, increasing with the row number
channel         text         5 levels, skewed (half the rows in one)
region          text         50 levels, Zipf-like
merchant        text         5,000 levels, Zipf (s = 1.1)
amount          float        log-normal, in cents, 1 % missing
balance         float        gamma-shaped with negatives, in cents, 5 % missing
age             int          18 to 95, 3 % missing
score           float        beta(2, 5) to four decimals, 0.5 % missing
defaulted       boolean      about 3 %, more likely with a high score (the target)
==============  ===========  ==================================================

``shift`` > 0 draws a drifted batch: larger amounts, older customers, another mix of
channels. Written in chunks of ``CHUNK`` rows, so memory stays small at any row count.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa

CHUNK = 1_000_000
CHANNELS = ["card present", "online", "contactless", "phone", "mail order"]
REGIONS = [f"region {i:02d}" for i in range(1, 51)]
MERCHANTS = [f"M{i:05d}" for i in range(1, 5001)]
YEAR_START = np.datetime64("2025-01-01T00:00:00", "s").astype(np.int64)
YEAR_SECONDS = 365 * 24 * 3600
DATA = Path(__file__).resolve().parent / "data"


def _zipf_probs(n: int, s: float) -> np.ndarray:
    p = 1.0 / np.arange(1, n + 1) ** s
    return p / p.sum()


def _with_missing(values: np.ndarray, share: float, rng: np.random.Generator) -> pa.Array:
    return pa.array(values, mask=rng.random(len(values)) < share)


def chunk(start: int, n: int, total: int, seed: int, shift: float = 0.0) -> pa.RecordBatch:
    """Rows ``start`` to ``start + n`` of a table of ``total`` rows."""
    rng = np.random.default_rng([seed, start])
    ids = np.arange(start, start + n, dtype=np.int64) + 7_000_000_000
    when = YEAR_START + ((np.arange(start, start + n) + rng.random(n)) * (YEAR_SECONDS / total)).astype(np.int64)
    channel_p = np.array([0.5, 0.25, 0.15, 0.07, 0.03])
    if shift:
        channel_p = np.roll(channel_p, 1)
    channel = rng.choice(len(CHANNELS), n, p=channel_p)
    region = rng.choice(len(REGIONS), n, p=_zipf_probs(len(REGIONS), 0.8))
    merchant = rng.choice(len(MERCHANTS), n, p=_zipf_probs(len(MERCHANTS), 1.1))
    amount = np.round(rng.lognormal(3.5 + 0.3 * shift, 1.2, n), 2)
    balance = np.round(rng.gamma(2.0, 1500.0, n) - 800.0, 2)
    age = np.clip(np.round(rng.normal(44 + 6 * shift, 15, n)), 18, 95).astype(np.int64)
    score = np.round(rng.beta(2, 5, n), 4)
    defaulted = rng.random(n) < 0.01 + 0.12 * score ** 2
    return pa.record_batch({
        "transaction_id": pa.array(ids),
        "booked_at": pa.array(when.astype("datetime64[s]").astype("datetime64[us]")),
        "channel": pa.DictionaryArray.from_arrays(pa.array(channel.astype(np.int32)), CHANNELS),
        "region": pa.DictionaryArray.from_arrays(pa.array(region.astype(np.int32)), REGIONS),
        "merchant": pa.DictionaryArray.from_arrays(pa.array(merchant.astype(np.int32)), MERCHANTS),
        "amount": _with_missing(amount, 0.01, rng),
        "balance": _with_missing(balance, 0.05, rng),
        "age": _with_missing(age, 0.03, rng),
        "score": _with_missing(score, 0.005, rng),
        "defaulted": pa.array(defaulted),
    })


def write_parquet(rows: int, path: Path, *, seed: int = 18, shift: float = 0.0) -> Path:
    """Write the table to ``path`` (kept when it exists: regenerating 50M rows takes a
    minute)."""
    import pyarrow.parquet as pq

    if path.is_file():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    first = chunk(0, min(CHUNK, rows), rows, seed, shift)
    with pq.ParquetWriter(tmp, first.schema, compression="snappy") as writer:
        writer.write_batch(first, row_group_size=CHUNK)
        for start in range(CHUNK, rows, CHUNK):
            writer.write_batch(chunk(start, min(CHUNK, rows - start), rows, seed, shift),
                               row_group_size=CHUNK)
    tmp.replace(path)
    return path


def write_csv(rows: int, path: Path, *, seed: int = 18, shift: float = 0.0) -> Path:
    """The same table as a CSV file."""
    import pyarrow.csv as pacsv

    if path.is_file():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    first = chunk(0, min(CHUNK, rows), rows, seed, shift)
    plain = pa.schema([pa.field(f.name, f.type.value_type if pa.types.is_dictionary(f.type) else f.type)
                       for f in first.schema])
    with pacsv.CSVWriter(tmp, plain) as writer:
        for start in range(0, rows, CHUNK):
            batch = first if start == 0 else chunk(start, min(CHUNK, rows - start), rows, seed, shift)
            writer.write_batch(batch.cast(plain))
    tmp.replace(path)
    return path


def reference_file(rows: int) -> Path:
    return write_parquet(rows, DATA / f"big-{rows}.parquet")


def drifted_file(rows: int) -> Path:
    return write_parquet(rows, DATA / f"big-{rows}-drifted.parquet", seed=19, shift=1.0)


if __name__ == "__main__":
    import sys
    import time

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    t = time.perf_counter()
    print(reference_file(n), f"{time.perf_counter() - t:.1f} s")
