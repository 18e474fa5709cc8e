#!/usr/bin/env python3
"""Count a table's drift with Apache Spark, for when the data lives on a cluster (see README.md).

    spark-submit spark_drift.py INPUT SUMMARY.json [--input-format csv|parquet]
    python spark_drift.py INPUT SUMMARY.json --master local[*]     (with pyspark installed)

Writes the monitoring summary ``score.py --monitor-out`` writes (no scoring: the
features' counts on the cells of ``reference_profile.json``, and how many rows score.py
would reject, by reason), for ``mlops-desktop monitor import``. Each Spark task prepares
its rows as score.py does and counts them with the package's own code
(``mlops_model_support/monitoring.py``); the driver adds the tasks' counts, which add up
exactly. No row and no value of a cell leaves the cluster: the summary holds counts.
The package is verified against manifest.json first.
Exit codes: 0 success, 2 bad input, 3 the package failed verification.
"""

from __future__ import annotations

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
if __name__ == "__main__" and sys.path and os.path.abspath(sys.path[0] or os.curdir) == HERE:
    del sys.path[0]

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402

EXIT_OK, EXIT_INPUT, EXIT_TAMPERED = 0, 2, 3


def _module(name: str):
    """score.py or spark_score.py beside this file (the package's programs)."""
    spec = importlib.util.spec_from_file_location(f"_mlops_package_{name}", os.path.join(HERE, f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def drift_monitor(profile: dict):
    """What counts the features of a run that does not score, for the reference profile
    ``profile`` (the JSON of ``reference_profile.json``)."""
    from mlops_model_support import drift as metrics
    from mlops_model_support import monitoring

    return monitoring.BatchMonitor(metrics.ReferenceProfile.from_dict(profile), None, None, job="drift")


def count_dataframe(df, spark, profile: dict, spark_score) -> dict:
    """Every feature's counts over the Spark DataFrame ``df``, one task's at a time: the
    rows read, and the partial counts of ``monitoring.BatchMonitor`` (plain JSON).
    ``spark_score``: the package's spark_score.py, loaded once by :func:`main`."""
    from pyspark.sql.types import LongType, StringType, StructField, StructType

    with open(os.path.join(HERE, "schema.json"), encoding="utf-8") as fh:
        schema = json.load(fh)
    # the raw columns a recipe reads, when the model was trained on prepared data
    names = [c["name"] for c in schema.get("raw_inputs") or schema["inputs"]]
    missing = [c for c in names if c not in df.columns]
    if missing:
        raise ValueError(f"The table lacks the column(s): {', '.join(missing)}.")
    blob = spark.sparkContext.broadcast(spark_score._package_bytes())
    reference = spark.sparkContext.broadcast(profile)

    def count_batches(batches):
        import pandas as pd
        import pyarrow as pa

        package = spark_score._package_from(blob.value)  # also puts its support code on the path
        monitor = drift_monitor(reference.value)
        rows = 0
        for pdf in batches:
            frame, reasons = package.prepare(pa.Table.from_pandas(pdf[names], preserve_index=False))
            monitor.add_features(frame, reasons)
            rows += len(pdf)
        yield pd.DataFrame({"rows": [rows], "counts": [json.dumps(monitor.partial())]})

    out = StructType([StructField("rows", LongType(), False), StructField("counts", StringType(), False)])
    parts = df.select(*names).mapInPandas(count_batches, schema=out).collect()
    return {"rows": sum(int(p["rows"]) for p in parts), "parts": [json.loads(p["counts"]) for p in parts]}


def main(argv: list[str] | None = None) -> int:
    """Count a table's features in Spark and write the monitoring summary; the exit code."""
    p = argparse.ArgumentParser(prog="spark_drift.py", description="Count a table's drift with Spark.")
    p.add_argument("input", help="a CSV file or folder (with a header row), or Parquet")
    p.add_argument("summary", help="the monitoring summary to write (JSON), for 'mlops-desktop monitor import'")
    p.add_argument("--input-format", choices=["csv", "parquet"], help="default: from the input's suffix")
    p.add_argument("--master", help="Spark master, e.g. local[*] (default: as spark-submit sets it)")
    args = p.parse_args(argv)
    score = _module("score")
    problems, _, manifest_sha = score.verify_package(HERE)
    if problems:
        print("error: the package failed verification; it will not run:\n  " + "\n  ".join(problems),
              file=sys.stderr)
        return EXIT_TAMPERED
    if score.inside_package(args.summary):
        print("error: the summary must not be written into the package folder (its files are checked "
              "against manifest.json)", file=sys.stderr)
        return EXIT_INPUT
    score.support()  # the package's own mlops_model_support, first on the path
    with open(os.path.join(HERE, "reference_profile.json"), encoding="utf-8") as fh:
        profile = json.load(fh)
    monitor = drift_monitor(profile)
    spark_score = _module("spark_score")
    spark = spark_score.start_spark("drift", args.master)
    try:
        fmt = spark_score.input_format(args.input, args.input_format)
        df = spark_score.read_table(spark, args.input, fmt)
        try:
            counted = count_dataframe(df, spark, profile, spark_score)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_INPUT
    finally:
        spark.stop()
    for part in counted["parts"]:
        monitor.add_partial(part)
    rejected = sum(monitor.rejects.values())
    run = {"rows_read": counted["rows"], "rows_scored": 0, "rows_rejected": rejected, "rows_malformed": 0,
           "input": args.input, "format": fmt}
    score.write_monitor_summary(args.summary, monitor, run, manifest_sha)
    print(json.dumps({"status": "ok", "summary": args.summary, "rows_read": counted["rows"],
                      "rows_score_py_would_reject": rejected}))
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
