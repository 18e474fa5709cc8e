"""Writing an export package: an approved version becomes a folder (or a zip) that IT
can install and run without this app.

The package is built in a temporary folder next to the destination, checked (its own
code scores its example rows exactly as the app's model does), then renamed to its
final name in one step; a zip is written to a temporary name and renamed. A crash or
a cancel leaves nothing under the final name. The export is then recorded in the
registry with the SHA-256 of the package's manifest (audit entry ``model.exported``).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import string
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from ..jobs import CancelToken, ProgressCallback, Steps, no_progress
from ..storage import (disk_full_error, fsync_dir, is_disk_full, publish, remove_stale_temporaries, temporary_name,
                       write_temporary)
from . import pending as pending_exports
from .errors import ExportError
from .model_file import SUPPORT_PACKAGE
from .plan import approvals_of, check_exportable

if TYPE_CHECKING:
    from ..store.models import ModelVersion
    from ..workspace import Workspace

#: probabilities must agree to this between the app's model and the package's
TOLERANCE = 1e-12
#: base value + contributions must equal the raw score to this on the example rows
REASONS_TOLERANCE = 1e-6


@dataclass
class ExportResult:
    """A written package and its record."""

    ref: str
    version_id: int
    path: Path
    zip: bool
    manifest_sha256: str
    #: {"path", "sha256", "bytes"} per file
    files: list[dict[str, Any]]
    size_bytes: int
    export_id: int
    exporter_version: str
    #: the check at export: example rows scored by the package against the app's model
    check: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """What ``export --json`` prints: where the package went, its files, size and
        manifest digest, and its check."""
        return {"ref": self.ref, "version_id": self.version_id, "path": str(self.path), "zip": self.zip,
                "manifest_sha256": self.manifest_sha256, "files": self.files, "size_bytes": self.size_bytes,
                "export_id": self.export_id, "exporter_version": self.exporter_version, "check": self.check,
                "seconds": round(self.seconds, 3)}


def export_version(ws: "Workspace", ref: str, out_dir: Path | str, *, zip: bool = False, actor: str,
                   progress: Optional[ProgressCallback] = None,
                   cancel: Optional[CancelToken] = None) -> ExportResult:
    """Export the approved version ``ref`` (``MODEL`` or ``MODEL:VERSION``) as a package
    folder ``out_dir`` (which must not exist, or be empty), or with ``zip`` as the zip
    file ``out_dir`` (``.zip`` added when missing). Refuses any version that is not
    approved. Long: reports progress and stops at the next step when cancelled."""
    from ... import __version__
    from ..store import exports as export_rows
    from ..train import find_version

    started = time.perf_counter()
    if not actor:
        raise ExportError("Say who exports: every export is recorded.")
    steps = Steps(progress or no_progress, cancel,
                  {"check": 1, "model": 4, "schema": 3, "profile": 5, "card": 2, "write": 1, "test": 3,
                   "publish": 1, "record": 1})
    steps.start("check", "Checking the version")
    mv = find_version(ws, ref)
    check_exportable(mv)
    dest = destination(Path(out_dir), zip)
    remove_stale_temporaries(dest.parent, older_than_s=None)  # a killed export's leftovers
    tmp = dest.parent / temporary_name(dest.stem if zip else dest.name)
    pending = None
    try:
        files, check = _build(ws, mv, tmp, steps, actor=actor, folder_name=dest.stem if zip else dest.name)
        steps.start("publish", f"Writing {dest.name}")
        entry = {"version_id": mv.id, "ref": mv.ref, "out_path": str(dest.absolute()), "zip": zip,
                 "manifest_sha256": files[-1]["sha256"],  # the manifest is written last
                 "files": len(files), "size_bytes": None if zip else sum(f["bytes"] for f in files),
                 "exporter_version": __version__, "actor": actor,
                 "details": {"model_sha256": _sha_of(files, "model/model.skops"),
                             "schema_sha256": _sha_of(files, "schema.json")}}
        # noted before the rename: if this process dies before the record, the next open records it
        pending = pending_exports.note(ws, entry)
        if zip:
            _publish_zip(tmp, dest)
        else:
            _publish_folder(tmp, dest)
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if pending is not None:
            pending.unlink(missing_ok=True)
        if is_disk_full(exc):
            raise disk_full_error(f"the package {dest.name}", dest.parent) from None
        raise
    finally:
        if zip:
            shutil.rmtree(tmp, ignore_errors=True)
    steps.start("record", "Recording the export")
    size = dest.stat().st_size if zip else entry["size_bytes"]
    try:
        row = export_rows.record(ws.registry, **(entry | {"size_bytes": size}))
    except BaseException:
        # an unrecorded package must not look like a recorded one
        shutil.rmtree(dest, ignore_errors=True) if not zip else dest.unlink(missing_ok=True)
        raise
    finally:
        pending.unlink(missing_ok=True)
    steps.done(f"Exported {mv.ref} to {dest}")
    return ExportResult(ref=mv.ref, version_id=mv.id, path=dest.absolute(), zip=zip,
                        manifest_sha256=entry["manifest_sha256"], files=files, size_bytes=size,
                        export_id=row["id"], exporter_version=__version__, check=check,
                        seconds=time.perf_counter() - started)


def _sha_of(files: list[dict[str, Any]], path: str) -> Optional[str]:
    return next((f["sha256"] for f in files if f["path"] == path), None)


# -- the destination -----------------------------------------------------------------------

def destination(out: Path, zip: bool) -> Path:
    """The final path of the package; a clear error when it is taken or its folder is
    missing. Packages are never overwritten."""
    out = out.expanduser()
    if zip and out.suffix.lower() != ".zip":
        out = out.with_name(out.name + ".zip")
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir():
        raise ExportError(f"Cannot export to {out}: the folder {parent} does not exist.")
    if not os.access(parent, os.W_OK):
        raise ExportError(f"Cannot export to {out}: the folder {parent} is not writable.")
    if out.exists():
        if zip or not out.is_dir() or any(out.iterdir()):
            raise ExportError(f"{out} already exists; choose a new {'file' if zip else 'folder'} name "
                              "(an export never overwrites a package).")
    return out


def _publish_folder(tmp: Path, dest: Path) -> None:
    if dest.is_dir():
        dest.rmdir()  # empty (checked): replaced by the package in one rename
    os.rename(tmp, dest)
    fsync_dir(dest.parent)


def _publish_zip(folder: Path, dest: Path) -> None:
    def write(tmp: Path) -> None:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
            for path in sorted(p for p in folder.rglob("*") if p.is_file()):
                zf.write(path, f"{dest.stem}/{path.relative_to(folder).as_posix()}")

    publish(write_temporary(dest.parent, dest.name, write), dest)


# -- building ----------------------------------------------------------------------------------

def _write(folder: Path, rel: str, data: bytes) -> dict[str, Any]:
    path = folder.joinpath(*rel.split("/"))
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    return {"path": rel, "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}


def _build(ws: "Workspace", mv: "ModelVersion", tmp: Path, steps: Steps, *, folder_name: str,
           actor: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Every file of the package in ``tmp``; returns the files (manifest last) and the
    result of the package's check."""
    import platform

    from ..store.db import utc_now
    from ..monitor.thresholds import effective_thresholds
    from ..store import exports as export_rows
    from ..train import load_model, load_split, run
    from ..validate.card_html import model_card_html
    from ..validate.card_markdown import model_card_markdown
    from ..validate.for_version import model_card
    from ..validate.results import ValidationReport
    from . import contents
    from .files import static_files
    from .model_file import model_file_bytes

    steps.start("model", "Saving the model with skops")
    model = load_model(ws, mv.ref)  # hash-checked, read as a skops file of trusted types
    model_bytes, trusted = model_file_bytes(model)
    steps.start("schema", "Describing the inputs and outputs")
    r = run(ws, mv.run_id)
    ds = ws.dataset(r.dataset_id)
    train_df, _ = load_split(ws, mv.run_id)
    validation = export_rows.approved_validation(ws.registry, mv.id)
    schema = contents.build_schema(mv, model, train_df, ds, validation)
    recipe = _recipe(ws, mv, r, ds, train_df, schema)
    reasons = contents.reasons_file(model, train_df, schema)
    steps.start("profile", "Summarising the training data for drift checks")
    thresholds = effective_thresholds(ws, mv.model).to_dict()
    profile, calibration = _reference_profile(ws, mv, thresholds)
    steps.start("card", "Writing the model card and the README")
    # the card shows the validation the approval rested on, as schema.json's threshold does
    card = model_card(ws, mv.ref, validation=ValidationReport.from_dict(validation["report"]) if validation else None,
                      calibration=calibration.summary() if calibration is not None else None,
                      monitoring_history=False)
    approvals = approvals_of(ws, mv)
    details = mv.details if isinstance(mv.details, dict) else {}
    pins = contents.pinned_requirements(contents.requirements_for(model))
    training_versions = {k.lower(): v for k, v in (r.library_versions or {}).items()}
    created_at = utc_now()
    examples = contents.example_rows(schema, seed=int(hashlib.sha256(mv.ref.encode()).hexdigest()[:8], 16))

    steps.start("write", "Writing the package")
    tmp.mkdir()
    files = [_write(tmp, "model/model.skops", model_bytes),
             _write(tmp, "model/trusted_types.json", contents.canonical_json(
                 {"trusted": trusted, "loader": "skops.io.load(path, trusted=trusted)"})),
             _write(tmp, "schema.json", contents.canonical_json(schema)),
             *([_write(tmp, "recipe.json", contents.canonical_json(recipe.to_dict()))] if recipe is not None else []),
             _write(tmp, "reference_profile.json", contents.canonical_json(profile)),
             _write(tmp, "reasons.json", contents.canonical_json(reasons)),
             *([_write(tmp, "calibration.json", contents.canonical_json(calibration.to_dict()))]
               if calibration is not None else []),
             _write(tmp, "requirements.txt", contents.requirements_text(pins, training_versions).encode()),
             _write(tmp, "MODEL_CARD.md", model_card_markdown(card).encode()),
             _write(tmp, "model_card.html", model_card_html(card).encode()),
             _write(tmp, "MLmodel", contents.mlmodel_text(schema, support_package=SUPPORT_PACKAGE).encode()),
             _write(tmp, "python_env.yaml", contents.python_env_text().encode()),
             _write(tmp, "examples/input.csv", examples.to_csv(index=False, lineterminator="\n").encode())]
    files += [_write(tmp, path, data) for path, data in sorted(static_files().items())]
    facts = {
        "model": mv.model, "version": mv.version, "task": mv.task, "target": mv.target, "family": mv.family,
        "run_id": mv.run_id, "artifact_sha256": mv.artifact_sha256,
        "dataset": {"id": ds.id, "name": ds.name,
                    "fingerprint": details.get("dataset_fingerprint") or ds.fingerprint},
        "trained_by": mv.created_by, "trained_at": mv.created_at, "approved_by": approvals,
        "exported_by": actor, "created_at": created_at,
        "exporter": {"name": "MLOps Desktop", "version": _app_version()},
        "python_version": platform.python_version(), "requirements": pins,
        **({"recipe_sha256": recipe.sha256} if recipe is not None else {}),
    }
    readme = _readme(mv, schema, facts, approvals, folder_name, reasons)
    files.append(_write(tmp, "README.md", readme.encode()))

    steps.start("test", "Checking the package's predictions against the app's")
    check = _check(tmp, model, steps)
    files.append(_write(tmp, "examples/expected_output.csv", (tmp / "examples" / ".expected.csv").read_bytes()))
    (tmp / "examples" / ".expected.csv").unlink()
    files.sort(key=lambda f: f["path"])
    listed = {f["path"]: {"sha256": f["sha256"], "bytes": f["bytes"]} for f in files}
    files.append(_write(tmp, "manifest.json", contents.manifest(listed, facts)))
    fsync_dir(tmp)
    for sub in ("model", "examples", SUPPORT_PACKAGE):
        fsync_dir(tmp / sub)
    return files, check


def _recipe(ws: "Workspace", mv: "ModelVersion", r: Any, ds: Any, train_df: Any, schema: dict[str, Any]) -> Any:
    """The steps raw rows go through before the model, when it was trained on prepared
    data (None otherwise); names them in ``schema`` with the raw columns they read,
    described from the training rows (of run ``r``) as the import read them, a batch at a
    time when the import is larger than memory."""
    from ..data.rows_sample import TRAIN_ROWS, sampled_rows
    from ..prepare import derivation, model_recipe
    from ..prepare.raw_rows import imported_rows
    from ..train.runner import recorded_spec
    from . import contents

    found = model_recipe(ws, mv)
    if found is None or not len(found.recipe):
        return None
    positions = train_df.index.to_numpy()
    spec = recorded_spec(r)
    drawn = sampled_rows(ws, ds, rows=TRAIN_ROWS, seed=spec.seed, stratify_by=spec.target)
    if drawn is not None:  # trained on a sample: the index numbers its rows
        positions = drawn[positions]
    raw = imported_rows(ws, derivation(ws, ds), found.raw_inputs, positions)
    contents.add_recipe(schema, found.recipe, raw, training_only=found.training_only)
    schema["input_file"] = contents.input_file_options(found.root)  # how the raw files are written
    return found.recipe


def _app_version() -> str:
    from ... import __version__

    return __version__


def _reference_profile(ws: "Workspace", mv: "ModelVersion", thresholds: dict[str, Any]) -> tuple[dict[str, Any], Any]:
    """The Monitor page's reference for the version, as a stored profile (no rows), and
    a classifier's calibration for estimated performance (seeded: the same numbers at
    every export of the version), or None."""
    from ..monitor.for_version import reference_for_version

    reference = reference_for_version(ws, mv.ref)
    return reference.stored_profile(thresholds=thresholds), reference.calibration


def _check(folder: Path, app_model: Any, steps: Steps) -> dict[str, Any]:
    """Score the example rows with the package's own code and its skops model, and with
    the app's model through the same code; they must agree (labels exactly,
    probabilities to ``TOLERANCE``). Writes the package's scores as the self-test's
    expected output."""
    import numpy as np
    import pyarrow.csv as pacsv

    from .files import support_modules

    with support_modules(folder) as scoring:
        package = scoring.ModelPackage(folder)
        source = folder / "examples" / "input.csv"
        summary = package.score_file(source, folder / "examples" / ".expected.csv", fmt="csv",
                                     rejects=folder / "examples" / ".rejects.csv")
        steps.within(0.5)
        names = pacsv.read_csv(source).column_names
        table = pacsv.read_csv(source, convert_options=pacsv.ConvertOptions(
            column_types={c: "string" for c in names}, strings_can_be_null=True))
        if summary["rows_rejected"] != summary.get("rows_out_of_scope", 0):
            raise ExportError("The package rejected example rows it should score; it was not written. "
                              "This is a bug: please report it with the model's name.")
        package.score_out_of_scope = True  # every example row is compared, in the scope or not
        frame, reasons = package.prepare(table)
        if reasons.any():
            raise ExportError("The package could not prepare its example rows; it was not written. "
                              "This is a bug: please report it with the model's name.")
        ours = package.predict(frame)
        # the reasons of the package's model add up to its raw scores
        additivity = package.reason_codes(1).explainer.explain(frame).gap()
        if not additivity <= REASONS_TOLERANCE:
            raise ExportError(f"The package's contributions miss the model's raw scores by {additivity:.3g} on the "
                              "example rows; the package was not written. Please report this.")
        package._model = app_model
        theirs = package.predict(frame)
    worst = 0.0
    for name, values in ours.items():
        other = theirs[name]
        if values.dtype.kind == "f":
            gap = float(np.max(np.abs(values - other))) if len(values) else 0.0
            worst = max(worst, gap)
            if not gap <= TOLERANCE:
                raise ExportError(f"The exported model's {name} differs from the app's by {gap:.3g} on the "
                                  "example rows; the package was not written. Please report this.")
        elif list(values) != list(other):
            raise ExportError(f"The exported model's {name} differs from the app's on the example rows; the "
                              "package was not written. Please report this.")
    return {"rows": int(summary["rows_scored"]), "largest_difference": worst, "agrees": True,
            "reasons_additivity": additivity}


def _readme(mv: "ModelVersion", schema: dict[str, Any], facts: dict[str, Any],
            approvals: list[dict[str, Any]], folder: str, reasons: dict[str, Any]) -> str:
    from .files import readme_template

    m = schema["model"]
    outputs = ", ".join(f"`{o['name']}`" for o in schema["outputs"])
    if m["threshold"] is not None:
        threshold_note = (f"`label_at_threshold` is `{m['positive_class']}` when the probability of "
                          f"`{m['positive_class']}` is at least {m['threshold']:.6g}, the decision threshold "
                          f"chosen at validation ({m['threshold_rule'] or 'recorded'}); `prediction` is the "
                          "most probable class.")
    elif mv.task != "regression":
        threshold_note = "`prediction` is the most probable class; one `probability_` column per class."
    else:
        threshold_note = f"`prediction` is the predicted value of `{mv.target}`."
    if schema.get("segments"):
        seg = schema["segments"]
        segments_note = (f"One model per value of `{seg['column']}` ({', '.join(seg['segments']) or 'none'}); "
                         f"{seg['fallback']}.")
    else:
        segments_note = "One model for every row (not segmented)."
    approved = "; ".join(f"{a['by']} on {a['at'][:10]}" + (f" (\"{a['comment']}\")" if a['comment'] else "")
                         for a in approvals) or "—"
    contacts = "\n".join([f"- {a['by']}: approved this version on {a['at'][:10]}" for a in approvals]
                         + [f"- {mv.created_by}: trained it on {mv.created_at[:10]}"])
    ids = schema["id_columns"]
    recipe_note = ""
    if schema.get("recipe"):
        rec = schema["recipe"]
        steps = "\n".join(f"{i}. `{step}`" for i, step in enumerate(rec["steps"], start=1))
        scope = ", ".join(f"`{rule}`" for rule in rec["scope"])
        recipe_note = (
            "\n## Raw files: the recipe and the model's scope\n\n"
            "The model was trained on data prepared in the app by a recipe. Feed the raw files as they come: "
            "each row first goes through the recipe's steps that the model depends on (`recipe.json`, read as "
            "data; its expressions cannot import, call arbitrary functions or read files):\n\n" + steps + "\n\n"
            + ("The filters are the model's scope: it was trained only on rows where "
               f"{scope}. A row outside it is not scored silently but goes to the rejects file with the reason "
               "(e.g. `carat above 2.5: the model was trained on carat ≤ 2.5`). To score such rows anyway, pass "
               "`--score-out-of-scope`; the summary counts them (`rows_out_of_scope`). `--drift` compares the rows "
               "in the scope and counts the others.\n" if rec["scope"] else "")
            + "\nThe raw columns read: " + ", ".join(f"`{c['name']}`" for c in schema["raw_inputs"]) + ". "
            "With `--reasons`, the reasons name the columns the model reads, after the recipe, and give "
            "their prepared values.\n")
    values = {
        "title": f"Model package: {mv.model} version {mv.version}",
        "summary": (f"Predicts `{mv.target}` ({mv.task}) from {len(schema['inputs'])} input columns with a "
                    f"{mv.family} model" + (f", one model per `{m['segment_by']}`" if m["segment_by"] else "")
                    + "."),
        "python_version": facts["python_version"], "python_major": ".".join(facts["python_version"].split(".")[:2]),
        "model": mv.model, "version": mv.version, "family": mv.family, "task": mv.task, "target": mv.target,
        "trained_by": mv.created_by, "trained_at": mv.created_at[:10], "run_id": mv.run_id,
        "fingerprint": str(facts["dataset"]["fingerprint"])[:16], "approved_by": approved,
        "exported_at": facts["created_at"][:10], "exported_by": facts["exported_by"],
        "exporter_version": facts["exporter"]["version"], "n_inputs": len(schema["inputs"]),
        "outputs": outputs, "inputs": ", ".join(f"`{c['name']}`" for c in schema.get("raw_inputs") or schema["inputs"]),
        "id_example": ",".join(ids) if ids else "customer_id",
        "threshold_note": threshold_note, "recipe_note": recipe_note, "segments_note": segments_note,
        "contacts": contacts,
        "reasons_scale": reasons["explains"] if reasons else "nothing: this model's contributions cannot be "
                         "computed, so score.py gives no reasons", "reasons_limit": f"{reasons['row_limit']:,}" if reasons else "0",
        "reasons_adverse": (f"the rows whose `label_at_threshold` is `{m['positive_class']}`" if m["threshold"] is not None
                            else "(not available: this model has no decision threshold)"),
        "folder": folder,
    }
    return string.Template(readme_template()).substitute(values)
