"""The generated files of a package: ``schema.json``, ``requirements.txt``, the MLflow
files (``MLmodel``, ``python_env.yaml``), the example rows for the self-test, the
README for IT and ``manifest.json``.

``schema.json`` holds no time stamp and is written with sorted keys, so exporting a
version twice gives the same bytes.
"""

from __future__ import annotations

import json
import math
import platform
from importlib import metadata
from typing import TYPE_CHECKING, Any, Optional

import numpy as np
import pandas as pd
from mlops_model_support.labels import category_labels, class_label, numeric_values
from mlops_model_support.spreadsheet import neutralise_cells

from ..validate.threshold import decision_threshold

if TYPE_CHECKING:
    from ..data.dataset import Dataset
    from ..store.models import ModelVersion

SCHEMA_TYPE = "mlops-desktop scoring schema"
SCHEMA_FORMAT = 1
#: the libraries a package needs to score; their own dependencies are pinned with them
#: markupsafe escapes the drift report score.py --report writes (tiny, no telemetry)
ROOT_REQUIREMENTS = ("numpy", "pandas", "pyarrow", "scipy", "scikit-learn", "skops", "markupsafe")
EXAMPLE_ROWS = 40


def canonical_json(value: Any) -> bytes:
    """Sorted keys, two-space indent, a final newline: the same value, the same bytes."""
    return (json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8")


def _dtype(s: pd.Series) -> str:
    """The training column's type in four words (the MLflow signature and CSV reading
    follow it)."""
    if pd.api.types.is_bool_dtype(s.dtype):
        return "boolean"
    if pd.api.types.is_integer_dtype(s.dtype):
        return "integer"
    if pd.api.types.is_float_dtype(s.dtype):
        return "float"
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        return "datetime"
    return "string"


def _number(value: Any) -> Optional[float]:
    v = float(value)
    return v if math.isfinite(v) else None


def build_schema(mv: "ModelVersion", model: Any, train: pd.DataFrame, ds: "Dataset",
                 validation: Optional[dict[str, Any]]) -> dict[str, Any]:
    """The package's ``schema.json``: the input columns with their types, missing
    values, allowed categories and training ranges, the id columns, the outputs."""

    details = mv.details if isinstance(mv.details, dict) else {}
    segment = details.get("segment_by")
    kinds = dict(details.get("feature_kinds") or {})
    inputs_order = [str(c) for c in (details.get("inputs") or getattr(model, "feature_names_in_", mv.features))]
    inputs = []
    for name in inputs_order:
        s = train[name]
        kind = "categorical" if name == segment else kinds.get(name, "numeric")
        entry: dict[str, Any] = {"name": name, "kind": kind, "dtype": _dtype(s),
                                 "role": "segment" if name == segment else "feature", "nullable": True}
        if kind == "numeric":
            values = numeric_values(s)
            finite = values[np.isfinite(values)]
            entry["missing_in_training"] = round(float(1 - len(finite) / len(values)), 6) if len(values) else 0.0
            entry["min"] = _number(finite.min()) if len(finite) else None
            entry["max"] = _number(finite.max()) if len(finite) else None
        else:
            labels = pd.Series(category_labels(s), dtype=object)
            entry["missing_in_training"] = round(float(labels.isna().mean()), 6) if len(labels) else 0.0
            entry["categories"] = sorted(str(v) for v in labels.dropna().unique())
        inputs.append(entry)
    classification = mv.task != "regression"
    classes = [class_label(c) for c in getattr(model, "classes_", [])] if classification else None
    report = (validation or {}).get("report") or {}
    threshold, positive = decision_threshold(report, classes)
    outputs: list[dict[str, str]] = []
    if classification:
        outputs.append({"name": "prediction", "type": "string"})
        outputs += [{"name": f"probability_{c}", "type": "double"} for c in classes or []]
        if threshold is not None:
            outputs.append({"name": "label_at_threshold", "type": "string"})
    else:
        outputs.append({"name": "prediction", "type": "double"})
    segments = None
    if segment:
        routed = sorted(str(k) for k in getattr(model, "segment_pipelines_", {}))
        segments = {"column": segment, "segments": routed,
                    "fallback": "rows of any other segment, or with no segment, are scored by the "
                                "fallback model trained on every row"}
    return {
        "type": SCHEMA_TYPE, "format": SCHEMA_FORMAT,
        "model": {"name": mv.model, "version": mv.version, "task": mv.task, "target": mv.target,
                  "family": mv.family, "classes": classes, "positive_class": None if positive is None else str(positive),
                  "threshold": None if threshold is None else float(threshold),
                  "threshold_rule": report.get("threshold_rule") if threshold is not None else None,
                  "segment_by": segment},
        "inputs": inputs,
        "id_columns": [c.name for c in ds.columns if c.role == "id"],
        "outputs": outputs,
        "segments": segments,
        "input_file": input_file_options(ds),
        "missing_values": "accepted in every input: the model fills them in as it did at training",
        "unseen_categories": "accepted: handled as at training time (grouped with rare or unknown "
                             "levels) and counted in the scoring summary",
    }


RAW_KINDS = {"integer": "numeric", "float": "numeric", "boolean": "boolean", "datetime": "datetime",
             "string": "text"}
#: text values of a raw column listed in schema.json (the example rows draw from them)
RAW_CATEGORIES = 200


def add_recipe(schema: dict[str, Any], recipe: Any, raw_rows: pd.DataFrame, *,
               training_only: list[str] = ()) -> None:
    """Name the package's recipe (``recipe.json``: the steps raw rows go through before
    the model, its filters the model's scope) in ``schema`` and describe the raw columns
    it reads (``raw_inputs``), from the training rows as they were before the recipe.
    ``training_only``: filters on the target, which rows to score cannot be checked by."""
    raw = []
    for name in raw_rows.columns:
        s = raw_rows[name]
        dtype = _dtype(s)
        entry: dict[str, Any] = {"name": str(name), "kind": RAW_KINDS[dtype], "dtype": dtype, "nullable": True}
        present = s.dropna()
        entry["missing_in_training"] = round(float(1 - len(present) / len(s)), 6) if len(s) else 0.0
        if entry["kind"] == "numeric":
            values = numeric_values(s)
            finite = values[np.isfinite(values)]
            entry["min"] = _number(finite.min()) if len(finite) else None
            entry["max"] = _number(finite.max()) if len(finite) else None
        elif entry["kind"] == "datetime" and len(present):
            entry["min"], entry["max"] = str(present.min()), str(present.max())
        elif entry["kind"] == "text":
            counts = pd.Series(category_labels(s), dtype=object).value_counts()
            entry["categories"] = sorted(str(v) for v in counts.index[:RAW_CATEGORIES])
        raw.append(entry)
    schema["raw_inputs"] = raw
    schema["recipe"] = {"file": "recipe.json", "sha256": recipe.sha256, "steps": recipe.describe(),
                        "scope": [f.in_words() for f in recipe.scope_rules()],
                        "training_only_filters": list(training_only)}


def input_file_options(ds: "Dataset") -> dict[str, str]:
    """How the training file was written (delimiter, decimal mark, encoding), as the
    app's importer read it: ``score.py``'s defaults for reading a CSV file. Standard CSV
    (comma, point, UTF-8) when the training data was not a text file."""
    options = ds.options if isinstance(ds.options, dict) else {}
    fmt = options.get("format") or ds.source_format
    if fmt != "csv":
        return {"delimiter": ",", "decimal": ".", "encoding": "utf-8"}
    encoding = str(options.get("encoding") or "utf-8")
    if encoding.lower() in ("utf-8-sig", "utf8", "utf-8"):
        encoding = "utf-8"  # score.py reads UTF-8 with or without a byte-order mark
    return {"delimiter": str(options.get("delimiter") or ","), "decimal": str(options.get("decimal") or "."),
            "encoding": encoding}


def reasons_file(model: Any, train: pd.DataFrame, schema: dict[str, Any]) -> dict[str, Any]:
    """``reasons.json``: what ``score.py --reasons`` needs besides the model (the training
    means of the design columns of its linear parts; trees need none), what the
    contributions add up to, and the most rows a run gives reasons to."""
    from mlops_model_support.contributions import Explainer, background

    inputs = [c["name"] for c in schema["inputs"]]
    means = background(model, train[inputs])
    explainer = Explainer(model, means, positive_class=schema["model"]["positive_class"],
                          target=schema["model"]["target"])
    return {"type": "mlops-desktop reasons", "format": 1, "background": means,
            "explains": "; ".join(explainer.outputs), "scale": explainer.scale,
            "row_limit": explainer.row_limit()}


# -- requirements ----------------------------------------------------------------------------

def _canonical(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def requirements_for(model: Any) -> tuple[str, ...]:
    """The libraries ``model`` needs to score: :data:`ROOT_REQUIREMENTS`, and formulaic
    when its inputs go through a formula's terms."""
    from ..train.formula import model_terms

    return ROOT_REQUIREMENTS + (("formulaic",) if model_terms(model) is not None else ())


def pinned_requirements(roots: tuple[str, ...] = ROOT_REQUIREMENTS) -> dict[str, str]:
    """Every library a package needs with the version installed now: the roots and
    their dependencies (for this platform), name -> version."""
    from packaging.requirements import Requirement

    pins: dict[str, str] = {}
    todo = list(roots)
    while todo:
        name = _canonical(todo.pop())
        if name in pins:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue  # optional on this platform; pip resolves it where it is needed
        pins[name] = dist.version
        for line in dist.requires or []:
            req = Requirement(line)
            if req.marker is not None and not req.marker.evaluate({"extra": ""}):
                continue
            todo.append(req.name)
    return dict(sorted(pins.items()))


def requirements_text(pins: dict[str, str], training_versions: dict[str, str]) -> str:
    """The package's requirements.txt: exact pins, noting libraries that were different at training."""
    lines = ["# The exact libraries this package was exported and checked with.",
             f"# python_version: {platform.python_version()}",
             "# Install into a fresh virtual environment: python -m pip install -r requirements.txt"]
    differ = [f"{k} {v}" for k, v in sorted(training_versions.items())
              if k in pins and v not in ("", "not installed") and pins[k] != v]
    if differ:
        lines.append("# Trained with other versions: " + ", ".join(differ) + " (predictions were "
                     "checked with the versions below at export)")
    return "\n".join(lines + [f"{k}=={v}" for k, v in pins.items()]) + "\n"


# -- MLflow ----------------------------------------------------------------------------------

MLFLOW_TYPES = {"integer": "long", "float": "double", "boolean": "boolean", "string": "string",
                "datetime": "datetime"}


def mlmodel_text(schema: dict[str, Any], *, support_package: str) -> str:
    """``MLmodel``: the folder as an MLflow pyfunc model (loader module in the package),
    with the signature from the schema. Written as YAML whose values are JSON strings."""
    inputs = [{"type": MLFLOW_TYPES.get(c["dtype"], "string"), "name": c["name"], "required": True}
              for c in schema.get("raw_inputs") or schema["inputs"]]
    outputs = [{"type": o["type"], "name": o["name"], "required": False} for o in schema["outputs"]]
    outputs.append({"type": "string", "name": "reject_reason", "required": False})
    q = json.dumps
    return "\n".join([
        "artifact_path: null",
        "flavors:",
        "  python_function:",
        "    code: .",
        "    env:",
        "      virtualenv: python_env.yaml",
        f"    loader_module: {support_package}.mlflow_model",
        f"    python_version: {platform.python_version()}",
        "    streamable: false",
        f"model_uuid: {q(schema['model']['name'] + ':' + str(schema['model']['version']))}",
        "signature:",
        f"  inputs: {q(q(inputs))}",
        f"  outputs: {q(q(outputs))}",
        "  params: null",
        ""])


def python_env_text() -> str:
    """The python_env.yaml MLflow reads: this Python version and the requirements file."""
    return "\n".join([f"python: {platform.python_version()}", "build_dependencies:", "- pip",
                      "dependencies:", "- -r requirements.txt", ""])


# -- examples for the self-test ----------------------------------------------------------------

def example_rows(schema: dict[str, Any], seed: int) -> pd.DataFrame:
    """Made-up rows in the training ranges and categories (no row of the training
    data leaves the machine), a few with missing values, as text as in a CSV file. The
    file is for people too: a category a spreadsheet would run as a formula is
    neutralised (``mlops_model_support.spreadsheet``; the self-test then scores it as an
    unseen category, at export as on IT's machine). The header stays: it names the
    model's columns."""
    rng = np.random.default_rng(seed)
    n = EXAMPLE_ROWS
    data: dict[str, list[Any]] = {}
    for c in schema["id_columns"]:
        data[c] = [f"example-{i + 1}" for i in range(n)]
    for c in schema.get("raw_inputs") or schema["inputs"]:  # the raw columns, for prepared training data
        if c["kind"] == "numeric":
            lo = c.get("min") if c.get("min") is not None else 0.0
            hi = c.get("max") if c.get("max") is not None else 1.0
            values = lo + (hi - lo) * rng.random(n)
            if c["dtype"] == "integer":
                cells = [str(int(round(v))) for v in values]
            else:
                cells = [repr(round(float(v), 4)) for v in values]
        elif c["kind"] == "datetime" and c.get("min"):
            lo, hi = pd.Timestamp(c["min"]), pd.Timestamp(c["max"])
            cells = [(lo + (hi - lo) * float(f)).isoformat(sep=" ") for f in rng.random(n)]
        elif c["kind"] == "boolean":
            cells = [str(bool(v)) for v in rng.integers(0, 2, size=n)]
        else:
            cats = c.get("categories") or ["unknown"]
            cells = [str(cats[i]) for i in rng.integers(0, len(cats), size=n)]
        for i in rng.choice(n, size=2, replace=False):
            cells[int(i)] = ""  # missing values are part of real files
        data[c["name"]] = neutralise_cells(cells)
    return pd.DataFrame(data)


# -- manifest --------------------------------------------------------------------------------

def manifest(files: dict[str, dict[str, Any]], facts: dict[str, Any]) -> bytes:
    """``manifest.json``: every file's SHA-256 and size, and what the package is."""
    return canonical_json({"type": "mlops-desktop model package", "format": 1, **facts, "files": files})
