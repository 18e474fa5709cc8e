"""The model of an export package: the fitted pipeline saved with skops, so that
loading it runs no arbitrary code, and the list of types it needs trusted.

Our own estimators (the input step, the statsmodels wrappers, the segment router)
are recorded under the package's own module, ``mlops_model_support.estimators``, a
copy of :mod:`mlops_desktop.core.train.estimators` shipped inside the package: the
package never needs this app installed.

The file is made byte-for-byte reproducible: skops names its array files and links
its objects by memory address (``id()``) and stamps the zip entries with the time
of writing. Here the objects are renumbered in the order they appear, each array
file is named by the SHA-256 of its content, and the zip is rewritten with fixed
times, a fixed order and a fixed compression level, so exporting the same version
twice gives the same bytes.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from typing import Any

#: the top-level package shipped inside every export, holding our estimators' copy
SUPPORT_PACKAGE = "mlops_model_support"
APP_ESTIMATORS = "mlops_desktop.core.train.estimators"
SHIPPED_ESTIMATORS = f"{SUPPORT_PACKAGE}.estimators"
#: a fixed time for every zip entry (the earliest a zip can hold)
ZIP_TIME = (1980, 1, 1, 0, 0, 0)
ZIP_LEVEL = 6


class ModelFileError(Exception):
    """The model holds something that cannot be saved in a package (a bug or a model
    kind the export does not know)."""


def model_file_bytes(model: Any) -> tuple[bytes, list[str]]:
    """The model as a reproducible skops file, and the types it needs trusted (sorted
    names, to be passed to ``skops.io.load(..., trusted=...)``)."""
    import skops.io as sio

    raw = sio.dumps(model)
    data = normalise(raw)
    trusted = sorted(sio.get_untrusted_types(data=data))
    return data, trusted


def normalise(raw: bytes) -> bytes:
    """A skops file rewritten to be reproducible, with our estimators' types moved to
    the shipped module (see the module docstring)."""
    with zipfile.ZipFile(io.BytesIO(raw)) as src:
        schema = json.loads(src.read("schema.json"))
        contents = {name: src.read(name) for name in src.namelist() if name != "schema.json"}
    renamed = {name: _content_name(name, data) for name, data in contents.items()}
    ids: dict[Any, int] = {}
    schema = _rewrite(schema, renamed, ids)
    files = {renamed[name]: data for name, data in contents.items()}
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dest:
        _write(dest, "schema.json", json.dumps(schema, indent=2).encode("utf-8"))
        for name in sorted(files):
            _write(dest, name, files[name])
    return out.getvalue()


def _content_name(name: str, data: bytes) -> str:
    suffix = name[name.rfind("."):] if "." in name else ""
    return hashlib.sha256(data).hexdigest()[:40] + suffix


def _rewrite(node: Any, renamed: dict[str, str], ids: dict[Any, int]) -> Any:
    """The schema with files renamed, object ids renumbered in order of appearance and
    our estimators' module replaced."""
    if isinstance(node, list):
        return [_rewrite(v, renamed, ids) for v in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key == "__id__":
            value = ids.setdefault(value, len(ids) + 1)
        elif key == "file" and isinstance(value, str) and value in renamed:
            value = renamed[value]
        elif key == "__module__" and isinstance(value, str):
            if value == APP_ESTIMATORS:
                value = SHIPPED_ESTIMATORS
            elif value.split(".")[0] == "mlops_desktop":
                raise ModelFileError(f"The model holds an object of {value}, which an export package "
                                     "cannot carry; only the estimators module is shipped.")
        else:
            value = _rewrite(value, renamed, ids)
        out[key] = value
    return out


def _write(zf: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = 3  # the same bytes whichever system writes it
    info.external_attr = 0o644 << 16
    zf.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=ZIP_LEVEL)
