"""Profile speed: the full Explore profile of the flights table against a plain pandas
baseline, and the profile plus HTML report of a 300,000-row version.

Baseline (issue 3): describe(include='all'), missing shares, one numpy histogram per
numeric column and a Pearson correlation matrix. Targets: the full profile (Spearman,
duplicates, missingness patterns, associations, target relations, alerts included)
within 2x the baseline on 1.35M rows; profile + report of 300k rows under 1.5 s.
Usage: python bench/profile_dataset.py [--source CSV] [--target COLUMN]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from flights_sample import DEFAULT_SOURCE, flights  # bench/ is the running script's folder


def baseline(df) -> float:
    import numpy as np

    start = time.perf_counter()
    df.describe(include="all")
    df.isna().mean()
    for name in df.select_dtypes("number").columns:
        values = df[name].to_numpy(dtype=float)
        np.histogram(values[~np.isnan(values)], bins=30)
    df.corr(numeric_only=True)
    return time.perf_counter() - start


def ours(table, kinds, target, report: Path | None = None) -> float:
    from mlops_desktop.core.explore import profile_table
    from mlops_desktop.core.report import write_report

    start = time.perf_counter()
    profile = profile_table(table, kinds=kinds, target=target, dataset={"name": "flights"})
    if report is not None:
        write_report(report, profile=profile)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--target", default="arr_delay")
    args = parser.parse_args()
    from mlops_desktop.core.data.importer import build_columns

    big = flights(args.source, 1_350_000)
    kinds = {c.name: c.kind for c in build_columns(big)}
    df = big.to_pandas()
    ours(big.slice(0, 50_000), kinds, args.target)  # warm-up: first imports and calls
    b = baseline(df)
    o = ours(big, kinds, args.target)
    print(f"1,350,000 rows x {big.num_columns} columns")
    print(f"  pandas baseline:            {b:.2f} s")
    print(f"  full profile (target {args.target}): {o:.2f} s   ratio {o / b:.2f} (target <= 2.0)")
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "flights.html"
        o_report = ours(big, kinds, args.target, report)
        print(f"  profile + HTML report:      {o_report:.2f} s, report {report.stat().st_size / 1e6:.2f} MB "
              "(target < 2 MB)")
        small = big.slice(0, 300_000)
        t = ours(small, kinds, args.target, Path(tmp) / "small.html")
        print(f"300,000 rows: profile + HTML report {t:.2f} s (target < 1.5 s)")


if __name__ == "__main__":
    main()
