#!/usr/bin/env python3
"""Score a table with Apache Spark, for when a file outgrows one machine (see README.md).

    spark-submit spark_score.py INPUT OUTPUT [--input-format csv|parquet]
                                [--output-format parquet|csv] [--id-columns A,B]
    python spark_score.py INPUT OUTPUT --master local[*]     (with pyspark installed)

The same scoring as score.py, through ``mapInPandas``: the model file is broadcast to
the executors once and loaded once per Python worker. The output (a folder, as Spark
writes) holds the id columns, the prediction columns and ``reject_reason`` (empty for
scored rows). The package is verified against manifest.json first.
Exit codes: 0 success, 2 bad input, 3 the package failed verification or its model
cannot be loaded.
"""

from __future__ import annotations

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
if __name__ == "__main__" and sys.path and os.path.abspath(sys.path[0] or os.curdir) == HERE:
    del sys.path[0]

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import tempfile  # noqa: E402
import zipfile  # noqa: E402

EXIT_OK, EXIT_INPUT, EXIT_TAMPERED = 0, 2, 3
SUPPORT = "mlops_model_support"


def _score_module():
    spec = importlib.util.spec_from_file_location("_mlops_package_score", os.path.join(HERE, "score.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _package_from(blob: bytes):
    """The package unpacked from the broadcast bytes into a private folder and loaded,
    once per Python worker (kept on the support module, which outlives each task)."""
    loaded = getattr(sys.modules.get(f"{SUPPORT}.scoring"), "LOADED_PACKAGE", None)
    if loaded is not None:
        return loaded
    folder = tempfile.mkdtemp(prefix="spark-model-")
    with zipfile.ZipFile(io.BytesIO(blob)) as zf:
        zf.extractall(folder)
    sys.dont_write_bytecode = True
    if folder not in sys.path:
        sys.path.insert(0, folder)
    from mlops_model_support import scoring

    package = scoring.ModelPackage(folder)
    _ = package.model
    scoring.LOADED_PACKAGE = package
    return package


def _package_bytes() -> bytes:
    """The files an executor needs (schema, model, support code) as one zip."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for rel in ["schema.json", "model/model.skops", "model/trusted_types.json", "recipe.json"]:
            if os.path.isfile(os.path.join(HERE, *rel.split("/"))):  # recipe.json: with prepared training data
                zf.write(os.path.join(HERE, *rel.split("/")), rel)
        for name in sorted(os.listdir(os.path.join(HERE, SUPPORT))):
            if name.endswith(".py"):
                zf.write(os.path.join(HERE, SUPPORT, name), f"{SUPPORT}/{name}")
    return buffer.getvalue()


def output_schema(schema: dict, ids: list[str]):
    """The Spark schema of the scores: the id columns, the model's outputs and the reject reason."""
    from pyspark.sql.types import DoubleType, StringType, StructField, StructType

    fields = [StructField(c, StringType(), True) for c in ids]
    fields += [StructField(o["name"], DoubleType() if o["type"] == "double" else StringType(), True)
               for o in schema["outputs"]]
    fields.append(StructField("reject_reason", StringType(), True))
    return StructType(fields)


def score_dataframe(df, spark, ids: list[str]):
    """The scored Spark DataFrame (lazy): ids, outputs and reject_reason per row."""
    with open(os.path.join(HERE, "schema.json"), encoding="utf-8") as fh:
        schema = json.load(fh)
    # the raw columns a recipe reads, when the model was trained on prepared data
    names = [c["name"] for c in schema.get("raw_inputs") or schema["inputs"]]
    missing = [c for c in names + ids if c not in df.columns]
    if missing:
        raise ValueError(f"The table lacks the column(s): {', '.join(missing)}.")
    blob = spark.sparkContext.broadcast(_package_bytes())
    wanted = list(dict.fromkeys([*ids, *names]))

    def score_batches(batches):
        package = _package_from(blob.value)
        for pdf in batches:
            scored = package.score_frame(pdf[names])
            for c in reversed(ids):
                scored.insert(0, c, [None if v is None or v != v else str(v) for v in pdf[c].tolist()])
            yield scored

    return df.select(*wanted).mapInPandas(score_batches, schema=output_schema(schema, ids))


def start_spark(job: str, master: str | None):
    """A Spark session named after ``job`` and this package (``master``: as given, else as
    spark-submit sets it); a local master's workers run this same Python."""
    if master and master.startswith("local"):
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName(f"{job} " + os.path.basename(HERE))
    if master:
        builder = builder.master(master)
    return builder.getOrCreate()


def input_format(path: str, fmt: str | None) -> str:
    """``fmt`` if given, else the input's format from its suffix: parquet or csv."""
    return fmt or ("parquet" if path.lower().endswith((".parquet", ".pq")) else "csv")


def read_table(spark, path: str, fmt: str | None):
    """The input table: CSV with a header row, or Parquet (``fmt``, else from the suffix)."""
    fmt = input_format(path, fmt)
    return spark.read.option("header", "true").csv(path) if fmt == "csv" else spark.read.parquet(path)


def main(argv=None) -> int:
    """Score a table with Spark (mapInPandas over this package's model); the exit code."""
    p = argparse.ArgumentParser(prog="spark_score.py", description="Score a table with Spark.")
    p.add_argument("input", help="a CSV file or folder (with a header row), or Parquet")
    p.add_argument("output", help="the output folder (Spark writes a folder of part files)")
    p.add_argument("--input-format", choices=["csv", "parquet"], help="default: from the input's suffix")
    p.add_argument("--output-format", choices=["parquet", "csv"], default="parquet")
    p.add_argument("--id-columns", metavar="A,B", default="", help="input columns copied to the output")
    p.add_argument("--master", help="Spark master, e.g. local[*] (default: as spark-submit sets it)")
    args = p.parse_args(argv)
    score = _score_module()
    problems, _, _ = score.verify_package(HERE)
    if problems:
        print("error: the package failed verification; it will not run:\n  " + "\n  ".join(problems),
              file=sys.stderr)
        return EXIT_TAMPERED
    scoring = score.support()
    try:
        _ = scoring.ModelPackage(HERE).model  # once, here, rather than failing in every task
    except scoring.ModelLoadError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_TAMPERED
    spark = start_spark("score", args.master)
    try:
        df = read_table(spark, args.input, args.input_format)
        ids = [c.strip() for c in args.id_columns.split(",") if c.strip()]
        try:
            scored = score_dataframe(df, spark, ids)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_INPUT
        writer = scored.write.mode("overwrite")
        if args.output_format == "csv":
            writer.option("header", "true").csv(args.output)
        else:
            writer.parquet(args.output)
        print(json.dumps({"status": "ok", "output": args.output, "format": args.output_format}))
        return EXIT_OK
    finally:
        spark.stop()


if __name__ == "__main__":
    sys.exit(main())
