"""The model of an export package: the fitted pipeline saved with skops, so that
loading it runs no arbitrary code, and the list of types it needs trusted.

Our own estimators (the input step, the statsmodels wrappers, the segment router)
are recorded under the package's own module, ``mlops_model_support.estimators``, a
copy of :mod:`mlops_desktop.core.train.estimators` shipped inside the package: the
package never needs this app installed.

The file is byte-for-byte reproducible, as the workspace's own model files are (see
:func:`mlops_desktop.core.model_format.skops_bytes`): exporting the same version twice
gives the same bytes.
"""

from __future__ import annotations

from typing import Any

#: the top-level package shipped inside every export, holding our estimators' copy
SUPPORT_PACKAGE = "mlops_model_support"
APP_ESTIMATORS = "mlops_desktop.core.train.estimators"
SHIPPED_ESTIMATORS = f"{SUPPORT_PACKAGE}.estimators"


class ModelFileError(Exception):
    """The model holds something that cannot be saved in a package (a bug or a model
    kind the export does not know)."""


def model_file_bytes(model: Any) -> tuple[bytes, list[str]]:
    """The model as a reproducible skops file, and the types it needs trusted (sorted
    names, to be passed to ``skops.io.load(..., trusted=...)``)."""
    from ..model_format import skops_bytes

    data, trusted = skops_bytes(model, {APP_ESTIMATORS: SHIPPED_ESTIMATORS})
    ours = [t for t in trusted if t.split(".")[0] == "mlops_desktop"]
    if ours:
        raise ModelFileError(f"The model holds an object of {ours[0]}, which an export package "
                             "cannot carry; only the estimators module is shipped.")
    return data, trusted
