"""MLflow's way in: ``mlflow.pyfunc.load_model(PACKAGE_FOLDER)`` reads ``MLmodel``,
imports this module and calls :func:`_load_pyfunc`. The package is verified against
its manifest first, as ``score.py`` does.

``predict(df)`` returns one row per input row: the same columns as ``score.py``
writes, and ``reject_reason`` (empty where the row was scored).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from .scoring import ModelPackage


class PackageModel:
    """The package as an MLflow pyfunc model."""

    def __init__(self, package: ModelPackage) -> None:
        self.package = package

    def predict(self, model_input: Any, params: Any = None) -> Any:
        """Score a table (a DataFrame, or what pandas makes one of) as the package's
        ``score.py`` does; ``params`` is ignored."""
        import pandas as pd

        frame = model_input if isinstance(model_input, pd.DataFrame) else pd.DataFrame(model_input)
        return self.package.score_frame(frame)


def verify(folder: Path) -> None:
    """Raise when a file of the package does not match its manifest."""
    spec = importlib.util.spec_from_file_location("_mlops_package_score", folder / "score.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    problems, _, _ = module.verify_package(str(folder))
    if problems:
        raise RuntimeError("The model package failed verification and was not loaded: " + "; ".join(problems))


def _load_pyfunc(path: str) -> PackageModel:
    folder = Path(path)
    verify(folder)
    package = ModelPackage(folder)
    _ = package.model  # load now: a bad model fails here, not on the first batch
    return PackageModel(package)
