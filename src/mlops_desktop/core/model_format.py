"""How a fitted model is stored: a skops file, read back with an explicit list of
trusted types, so that loading a model file runs no code from it.

skops builds only the types it trusts by default (Python's and numpy's containers
and numbers, scikit-learn's public estimators and the internals it vouches for) and
the names listed in :data:`TRUSTED_TYPES`. That list is the one place where this app
extends trust: exact type names, never module prefixes, each one a type the model
families of ``core.train`` produce (a test trains every family and checks that each
model needs nothing outside the list). Two of them, scikit-learn's decision-tree node
storage and the boosting trees' predictors, index memory by the numbers in the file;
:mod:`.tree_checks` checks those numbers before a model is handed out.

A stored file is reproducible: skops names its array files and links its objects by
memory address and stamps zip entries with the time of writing; here objects are
renumbered in the order they appear, array files are named by their content's
SHA-256, and the zip is written with fixed times and order (see :func:`reproducible`).
The same model therefore always gives the same bytes and the same artifact hash.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from typing import Any, Mapping, Optional

#: types trusted beyond skops's defaults, by exact name (one owner: this list)
TRUSTED_TYPES: frozenset[str] = frozenset({
    # our own estimators (core/train/estimators.py); a formula's terms and a transformed
    # target keep their fitted state as numbers, text, lists and dicts (never formulaic's objects)
    "mlops_desktop.core.train.estimators.FormulaTerms",
    "mlops_desktop.core.train.estimators.InputColumns",
    "mlops_desktop.core.train.estimators.TransformedTarget",
    "mlops_desktop.core.train.estimators.SegmentRouter",
    "mlops_desktop.core.train.estimators.StatsmodelsLogit",
    "mlops_desktop.core.train.estimators.StatsmodelsOLS",
    # the dtype our statsmodels wrappers record
    "numpy.dtype",
    # decision trees and random forests (nodes checked by tree_checks)
    "sklearn.tree._tree.Tree",
    # histogram gradient boosting: its trees (checked by tree_checks) and its input check
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "functools.partial",
    "sklearn.utils.validation.check_array",
})

#: a zip's first bytes (skops files are zips)
ZIP_MAGIC = b"PK\x03\x04"
#: a fixed time for every zip entry (the earliest a zip can hold)
ZIP_TIME = (1980, 1, 1, 0, 0, 0)
ZIP_LEVEL = 3  # level 6 took twice as long for a tenth smaller files (bench/model_files.py)
#: a model file may unpack to at most this many times its size (a zip bomb would not)
MAX_UNPACKED_RATIO = 200


class UnreadableModelFile(ValueError):
    """The bytes are not a model file this app wrote; ``str()`` says why, in words."""


def model_to_bytes(model: Any) -> bytes:
    """``model`` as a reproducible skops file. Raises ``ValueError`` when it holds a type
    outside the trusted list: a model this app could not load again is never stored."""
    data, untrusted = _skops_file(model, {})
    outside = sorted(untrusted - TRUSTED_TYPES)
    if outside:
        raise ValueError(f"The model holds types this app does not trust when loading a model "
                         f"file ({', '.join(outside)}); it was not saved. This is a bug: a model "
                         "family produced a type core/model_format.py does not list.")
    return data


def skops_bytes(model: Any, modules: Mapping[str, str] | None = None) -> tuple[bytes, list[str]]:
    """``model`` as a reproducible skops file (see the module docstring), with the module
    names in ``modules`` replaced (an export ships our estimators under its own name),
    and the types it needs trusted beyond skops's defaults (sorted names)."""
    data, untrusted = _skops_file(model, modules or {})
    return data, sorted(untrusted)


def _skops_file(model: Any, modules: Mapping[str, str]) -> tuple[bytes, set[str]]:
    """The file and its untrusted types. skops's own ``dumps`` writes its schema with
    Python's pure-Python indenting JSON encoder into a zip that would be read back here,
    checks each array's name against a list of all names so far, and listing the
    untrusted types reads every array from the zip again; for a model of thousands of
    arrays (boosting per segment) that was most of the time. So skops's state is taken
    directly (its ``get_state``, with a store that collects the arrays), audited from
    memory (its ``get_tree``) and written once."""
    import skops
    import skops.io

    try:
        from skops.io._audit import get_tree
        from skops.io._utils import LoadContext, SaveContext, get_state
    except ImportError:  # pragma: no cover - another skops layout: the public, slower way
        data = reproducible(skops.io.dumps(model), modules)
        return data, set(skops.io.get_untrusted_types(data=data))
    arrays = _Arrays()
    context = SaveContext(zip_file=arrays)  # type: ignore[arg-type]
    state = get_state(model, context)
    context.clear_memo()
    state["protocol"] = context.protocol
    state["_skops_version"] = skops.__version__
    schema, files = _reproducible_parts(state, arrays.files, modules)
    tree = get_tree(schema, LoadContext(src=_Arrays(files), protocol=context.protocol),  # type: ignore[arg-type]
                    trusted=None)
    return _zip(schema, files), set(tree.get_unsafe_set())


class _Arrays:
    """What skops needs of a zip file, in memory: the names written (a dict: each name is
    looked up at once, not in a list), a way to write and a way to read."""

    def __init__(self, files: Optional[dict[str, bytes]] = None) -> None:
        self.files: dict[str, bytes] = {} if files is None else files

    def namelist(self) -> Any:
        return self.files.keys()

    def writestr(self, name: str, data: Any) -> None:
        self.files[name] = bytes(data)

    def read(self, name: str) -> bytes:
        return self.files[name]


def model_from_bytes(data: bytes) -> Any:
    """The fitted model in a skops file's bytes, built from trusted types only, its trees
    checked. Raises :class:`UnreadableModelFile` for anything else (a pickle, another
    file, a skops file naming an untrusted type, damaged or inconsistent content)."""
    import skops.io as sio
    from skops.io.exceptions import UntrustedTypesFoundException

    from mlops_model_support.formula_guard import UnsafeFormulaError

    if not data.startswith(ZIP_MAGIC):
        raise UnreadableModelFile("it is not a skops file (the format this app writes)")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            unpacked = sum(i.file_size for i in zf.infolist())
        if unpacked > MAX_UNPACKED_RATIO * len(data) + (1 << 20):
            raise UnreadableModelFile(f"it would unpack to {unpacked:,} bytes from {len(data):,}, "
                                      "far more than a model file does")
        model = sio.loads(data, trusted=sorted(TRUSTED_TYPES))
    except UnreadableModelFile:
        raise
    except UntrustedTypesFoundException as exc:
        listed = str(exc).split("\n")[0].split(":", 1)[-1].strip().rstrip(".")
        raise UnreadableModelFile(f"it asks to build types this app never trusts ({listed})") from None
    except UnsafeFormulaError as exc:  # a formula edited into the file: never evaluated
        raise UnreadableModelFile(f"its formula is refused: {exc}") from None
    except Exception as exc:  # any failure to read the file is the file's: damaged or made elsewhere
        raise UnreadableModelFile(f"it cannot be read as a skops model file "
                                  f"({type(exc).__name__}: {str(exc)[:200]})") from None
    return check_model(model)


def check_model(model: Any) -> Any:
    """``model`` if it is an estimator whose trees hold (:mod:`.tree_checks`), else
    :class:`UnreadableModelFile`. For whatever was built from a file."""
    from sklearn.base import BaseEstimator

    from .tree_checks import TreeError, check_trees

    if not isinstance(model, BaseEstimator):
        raise UnreadableModelFile(f"it holds a {type(model).__name__}, not a fitted model")
    try:
        check_trees(model)
    except TreeError as exc:
        raise UnreadableModelFile(str(exc)) from None
    return model


def reproducible(raw: bytes, modules: Mapping[str, str] | None = None) -> bytes:
    """A skops file (from ``skops.io.dumps``) rewritten to be reproducible, with the
    module names in ``modules`` replaced."""
    with zipfile.ZipFile(io.BytesIO(raw)) as src:
        schema = json.loads(src.read("schema.json"))
        contents = {name: src.read(name) for name in src.namelist() if name != "schema.json"}
    return _zip(*_reproducible_parts(schema, contents, modules or {}))


def _reproducible_parts(schema: dict[str, Any], contents: dict[str, bytes],
                        modules: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, bytes]]:
    """The schema and array files with arrays named by content, objects renumbered in
    order and modules replaced."""
    contents = {name: _zero_padding(data) if name.endswith(".npy") else data for name, data in contents.items()}
    renamed = {name: _content_name(name, data) for name, data in contents.items()}
    schema = _rewrite(schema, renamed, {}, modules)
    return schema, {renamed[name]: data for name, data in contents.items()}


def _zip(schema: dict[str, Any], files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dest:
        _write(dest, "schema.json", json.dumps(schema, separators=(",", ":")).encode("utf-8"))
        for name in sorted(files):
            _write(dest, name, files[name])
    return out.getvalue()


def _zero_padding(data: bytes) -> bytes:
    """An array file whose table of records (a tree's nodes) has zeros between its fields:
    the gaps hold whatever memory the array was built in, which differs every time."""
    import numpy as np

    if b"'descr': [" not in data[:256]:  # a record type's description is a list: the quick test
        return data
    stream = io.BytesIO(data)
    major, _minor = np.lib.format.read_magic(stream)
    read_header = np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
    _shape, _fortran, dtype = read_header(stream)
    if dtype.names is None or dtype.itemsize == sum(dtype.fields[n][0].itemsize for n in dtype.names):
        return data
    records = np.load(io.BytesIO(data), allow_pickle=False)
    clean = np.zeros(records.shape, dtype=records.dtype)
    for field in dtype.names:
        clean[field] = records[field]
    out = io.BytesIO()
    np.save(out, clean, allow_pickle=False)
    return out.getvalue()


def _content_name(name: str, data: bytes) -> str:
    suffix = name[name.rfind("."):] if "." in name else ""
    return hashlib.sha256(data).hexdigest()[:40] + suffix


def _rewrite(node: Any, renamed: dict[str, str], ids: dict[Any, int], modules: Mapping[str, str]) -> Any:
    """The schema with files renamed, object ids renumbered in order of appearance and
    modules replaced."""
    if isinstance(node, (list, tuple)):  # skops's state holds tuples where its JSON has lists
        return [_rewrite(v, renamed, ids, modules) for v in node]
    if not isinstance(node, dict):
        return node
    out = {}
    # an immutable value (a number, a string) is the same whatever object held it: each
    # gets its own number, so the file does not depend on which Python shared which
    unshared = node.get("__loader__") == "JsonNode"
    for key, value in node.items():
        if key == "__id__":
            value = ids.setdefault(object() if unshared else value, len(ids) + 1)
        elif key == "file" and isinstance(value, str) and value in renamed:
            value = renamed[value]
        elif key == "__module__" and isinstance(value, str):
            value = modules.get(value, value)
        else:
            value = _rewrite(value, renamed, ids, modules)
        out[key] = value
    return out


def _write(zf: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = 3  # the same bytes whichever system writes it
    info.external_attr = 0o644 << 16
    zf.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=ZIP_LEVEL)
