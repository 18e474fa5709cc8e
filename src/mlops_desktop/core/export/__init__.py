"""Export: an approved model version becomes a self-contained batch-scoring package for
IT, which runs with its pinned requirements alone, never with this app.

- :func:`plan_export` -> :class:`ExportPlan`: what will be in the package, with sizes,
  whether the version may be exported (only ``approved`` ones), who approved it.
- :func:`export_version` -> :class:`ExportResult`: write the package (a folder, or a
  zip) atomically, check its predictions against the app's, record it in the registry.

The package: ``model/`` (skops, with its trusted types), ``score.py``,
``spark_score.py``, ``spark_drift.py``, ``schema.json``, ``requirements.txt``, ``reference_profile.json``,
``MODEL_CARD.md``, ``model_card.html``, ``README.md``, ``MLmodel``,
``python_env.yaml``, ``examples/``, the support package ``mlops_model_support/`` and
``manifest.json`` (every file's SHA-256).
"""

from .errors import ExportError
from .package import ExportResult, export_version
from .plan import ExportPlan, PlannedFile, check_exportable, plan_export

__all__ = ["ExportError", "ExportPlan", "ExportResult", "PlannedFile", "check_exportable", "export_version",
           "plan_export"]
