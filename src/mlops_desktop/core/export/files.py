"""The files every package carries as they are: the scoring programs and the support
package, from the templates shipped with the app (``files/``) and, for the model's
estimators and the drift measures, from the app's own live modules, so the package
runs exactly the code the app ran."""

from __future__ import annotations

import importlib.resources
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from .model_file import SUPPORT_PACKAGE

#: package path -> template name under ``files/`` (``.in`` keeps them from being imported
#: or packaged as the app's own modules)
TEMPLATES = {
    "score.py": "score.py.in",
    "spark_score.py": "spark_score.py.in",
    f"{SUPPORT_PACKAGE}/__init__.py": f"{SUPPORT_PACKAGE}/__init__.py.in",
    f"{SUPPORT_PACKAGE}/scoring.py": f"{SUPPORT_PACKAGE}/scoring.py.in",
    f"{SUPPORT_PACKAGE}/mlflow_model.py": f"{SUPPORT_PACKAGE}/mlflow_model.py.in",
}
README_TEMPLATE = "README.md.in"


def template_bytes(name: str) -> bytes:
    """A template shipped with the app, by its name under ``files/``."""
    return importlib.resources.files(__package__).joinpath("files", *name.split("/")).read_bytes()


def static_files() -> dict[str, bytes]:
    """Every file that does not depend on the model: package path -> bytes."""
    from ..monitor import metrics
    from ..train import estimators

    out = {path: template_bytes(name) for path, name in TEMPLATES.items()}
    out[f"{SUPPORT_PACKAGE}/estimators.py"] = Path(estimators.__file__).read_bytes()
    out[f"{SUPPORT_PACKAGE}/drift.py"] = Path(metrics.__file__).read_bytes()
    return out


@contextmanager
def support_modules(folder: Path) -> Iterator[object]:
    """The support package of a built package folder, imported under its own name for
    the duration (the export checks its predictions with it); the names are removed
    afterwards, and anything they replaced is put back."""
    import importlib
    import importlib.util

    names = [SUPPORT_PACKAGE, *(f"{SUPPORT_PACKAGE}.{m}" for m in ("estimators", "drift", "scoring",
                                                                   "mlflow_model"))]
    saved = {n: sys.modules.pop(n) for n in names if n in sys.modules}
    spec = importlib.util.spec_from_file_location(
        SUPPORT_PACKAGE, folder / SUPPORT_PACKAGE / "__init__.py",
        submodule_search_locations=[str(folder / SUPPORT_PACKAGE)])
    assert spec is not None and spec.loader is not None
    package = importlib.util.module_from_spec(spec)
    sys.modules[SUPPORT_PACKAGE] = package
    dont_write = sys.dont_write_bytecode
    sys.dont_write_bytecode = True  # nothing but the listed files in the package
    try:
        spec.loader.exec_module(package)
        yield importlib.import_module(f"{SUPPORT_PACKAGE}.scoring")
    finally:
        sys.dont_write_bytecode = dont_write
        for n in names:
            sys.modules.pop(n, None)
        sys.modules.update(saved)
