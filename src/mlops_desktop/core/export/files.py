"""The files every package carries as they are: its own code, copied byte for byte from
the app's ``mlops_model_support`` package (the programs IT runs to the package's top,
the library beside them as ``mlops_model_support/``), and the model's estimators from
the app's own :mod:`mlops_desktop.core.train.estimators`, so the package runs exactly
the code the app ran and tests."""

from __future__ import annotations

import sys
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import mlops_model_support

from .model_file import SHIPPED_ESTIMATORS, SUPPORT_PACKAGE

#: package path -> (module file of ``mlops_model_support``, what it is for)
PROGRAMS = {
    "score.py": ("score.py", "the scoring program: verify, score in chunks, self-test, drift check"),
    "spark_score.py": ("spark_score.py", "scoring with Apache Spark (mapInPandas)"),
    "spark_drift.py": ("spark_drift.py", "drift counts with Apache Spark, as a monitoring summary for the app"),
}
LIBRARY = {
    "__init__.py": "the package's own code (no need for this app)",
    "scoring.py": "reading, checking and scoring tables; drift checks",
    "drift.py": "the drift measures and rules of the Monitor page",
    "performance.py": "estimated performance from calibrated probabilities (no labels needed)",
    "monitoring.py": "the monitoring summary of a scoring run (--monitor-out)",
    "contributions.py": "each column's contribution to a row's score (score.py --reasons)",
    "tree_contributions.py": "exact contributions of tree models (path-dependent TreeSHAP, numpy only)",
    "reasons.py": "reason codes: the columns that pushed a row's score most towards its decision",
    "labels.py": "category labels and numbers as the model reads them",
    "recipe.py": "the recipe's steps, applied to raw rows before the model (its filters: the model's scope)",
    "expressions.py": "the recipe's expressions, read as data by a whitelist and evaluated on columns",
    "terms.py": "model terms: a formula's design, built as the app built it (needs formulaic)",
    "formula_guard.py": "what a formula may hold, checked before formulaic reads it (it runs no code)",
    "text_files.py": "how a CSV file is read, as the app's importer reads it",
    "spreadsheet.py": "text cells made safe to open in a spreadsheet (the rejects file)",
    "mlflow_model.py": "the loader MLflow calls",
}
ESTIMATORS = f"{SUPPORT_PACKAGE}/estimators.py"
#: the README for IT (``string.Template``), beside the package's code
README_TEMPLATE = "README.md.in"

_CHECKING = threading.Lock()


def _source(name: str) -> bytes:
    return (Path(mlops_model_support.__file__).parent / name).read_bytes()


def readme_template() -> str:
    """The README for IT, with ``$name`` placeholders."""
    return _source(README_TEMPLATE).decode("utf-8")


def static_files() -> dict[str, bytes]:
    """Every file that does not depend on the model: package path -> bytes."""
    from ..train import estimators

    out = {path: _source(name) for path, (name, _) in PROGRAMS.items()}
    out.update({f"{SUPPORT_PACKAGE}/{name}": _source(name) for name in LIBRARY})
    out[ESTIMATORS] = Path(estimators.__file__).read_bytes()
    return out


def descriptions() -> dict[str, str]:
    """What each of :func:`static_files` is for, by package path."""
    out = {path: what for path, (_, what) in PROGRAMS.items()}
    out.update({f"{SUPPORT_PACKAGE}/{name}": what for name, what in LIBRARY.items()})
    out[ESTIMATORS] = "the model's own estimator classes"
    return out


@contextmanager
def support_modules(folder: Path) -> Iterator[object]:
    """The scoring code of a built package folder, for the duration: the app's own
    ``mlops_model_support.scoring`` (the package's copy is the same bytes) with the
    package's ``mlops_model_support/estimators.py``, which its model names, imported
    from the folder. Nothing the app already uses is replaced, so a page working at the
    same time is unaffected; checks run one at a time."""
    import importlib.util

    from mlops_model_support import scoring

    with _CHECKING:
        saved = sys.modules.pop(SHIPPED_ESTIMATORS, None)
        spec = importlib.util.spec_from_file_location(SHIPPED_ESTIMATORS, folder / ESTIMATORS)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        dont_write = sys.dont_write_bytecode
        sys.dont_write_bytecode = True  # nothing but the listed files in the package
        sys.modules[SHIPPED_ESTIMATORS] = module
        try:
            spec.loader.exec_module(module)
            yield scoring
        finally:
            sys.dont_write_bytecode = dont_write
            sys.modules.pop(SHIPPED_ESTIMATORS, None)
            if saved is not None:
                sys.modules[SHIPPED_ESTIMATORS] = saved
