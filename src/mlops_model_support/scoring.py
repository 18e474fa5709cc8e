"""Scoring with an exported model package: read a table in chunks, check every chunk
against ``schema.json``, score the rows that can be scored, and say why the others
were rejected; and compare a new batch with ``reference_profile.json`` for drift.

Imports numpy, pandas, pyarrow, skops and this package only (never the app that
exported the package).
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import time
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .labels import category_labels, class_label
from .spreadsheet import neutralise_cells
from .text_files import DECIMAL_COMMA, DELIMITERS, column_names

#: CSV cells read as missing (pyarrow's defaults, as the app reads files)
NUMERIC_TYPES = ("integer", "float")
#: values listed per column in messages about unseen categories
LISTED = 10
#: a scoring run's status when the file had rows and none was scored
ALL_REJECTED = "all rows rejected"
#: rows per chunk when none is asked for
DEFAULT_CHUNK_ROWS = 250_000
#: bytes the CSV reader parses at a time (it reads ahead a few dozen of them)
CSV_BLOCK_BYTES = 1 << 20
#: text that means "missing" in a numeric column of a Parquet file
MISSING_WORDS = frozenset({"", "na", "n/a", "nan", "null", "none", "-nan", "#n/a"})
#: how a tab is given on the command line (``--delimiter '\\t'``)
TAB_OPTION = "\\t"


class InputError(Exception):
    """The input cannot be scored as a whole (a missing column, an unreadable file);
    the message says what to fix."""


class ModelLoadError(Exception):
    """The package's model cannot be loaded (it holds a type its list of trusted types
    does not name, or the file is damaged): no row can be scored, so none is tried."""


@dataclass
class MalformedRow:
    """A CSV row whose number of fields is not the header's: it cannot be read into
    columns, so it is rejected with its text and the rest of the file is scored."""

    #: the row's number among the data rows, from 1 (the header is not counted)
    row: int
    fields: int
    expected: int
    text: str

    @property
    def reason(self) -> str:
        """Why the row is rejected, for the rejects file: its fields against the header's,
        its line, and its text (cut to 300 characters)."""
        # its line when no quoted value above it spans lines (each row counted as one)
        return (f"the row has {self.fields} field(s) where the header has {self.expected} "
                f"(line {self.row + 1} of the file, counting the header): "
                f"{' '.join(self.text.split())[:300]!r}")


# -- the package ---------------------------------------------------------------------------

def _read_json(path: Path) -> Any:
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


class ModelPackage:
    """An exported package: its schema, its model (loaded on first use, with the
    trusted types listed beside it) and the scoring of tables."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.schema = _read_json(self.folder / "schema.json")
        self.inputs: list[dict[str, Any]] = list(self.schema["inputs"])
        self.names = [c["name"] for c in self.inputs]
        info = self.schema["model"]
        self.ref = f"{info['name']}:{info['version']}"
        self.task = info["task"]
        self.classes: Optional[list[str]] = info.get("classes")
        self.positive_class: Optional[str] = info.get("positive_class")
        self.threshold: Optional[float] = info.get("threshold")
        self.outputs: list[dict[str, str]] = list(self.schema["outputs"])
        self.id_columns: list[str] = list(self.schema.get("id_columns") or [])
        self._categories = {c["name"]: pd.Index(c.get("categories") or [], dtype=object)
                            for c in self.inputs if c["kind"] == "categorical"}
        self._model: Any = None
        #: the recipe the training data was prepared with, which raw rows go through first
        #: (its filters are the model's scope), and the raw columns it reads
        self.recipe = self._load_recipe()
        self.raw_inputs: list[dict[str, Any]] = list(self.schema.get("raw_inputs") or self.inputs) \
            if self.recipe is not None else self.inputs
        #: the columns read from a file to score
        self.columns_read = [c["name"] for c in self.raw_inputs]
        #: score rows outside the model's scope anyway (counted, not rejected)
        self.score_out_of_scope = False

    def _load_recipe(self) -> Any:
        """``recipe.json`` (named in schema.json) read as data and checked step by step,
        or None for a model trained on imported data."""
        from .recipe import Recipe, RecipeError

        info = self.schema.get("recipe")
        if not info:
            return None
        path = self.folder / str(info.get("file") or "recipe.json")
        try:
            with open(path, "rb") as fh:
                recipe = Recipe.from_json(fh.read())
        except (OSError, RecipeError) as exc:
            raise ModelLoadError(f"The package's recipe ({path.name}) cannot be used: {exc}") from None
        if recipe.sha256 != info.get("sha256"):
            raise ModelLoadError(f"The package's recipe ({path.name}) is not the one schema.json names.")
        return recipe

    @property
    def classifier(self) -> bool:
        """Whether the model predicts classes (not a number)."""
        return self.task != "regression"

    @property
    def model(self) -> Any:
        """The fitted pipeline, loaded on first use (see :meth:`load_model`)."""
        if self._model is None:
            self._model = self.load_model()
        return self._model

    def load_model(self) -> Any:
        """The fitted pipeline, loaded by skops with exactly the trusted types listed in
        ``model/trusted_types.json`` (nothing else is constructed). Raises
        :class:`ModelLoadError` when it cannot be loaded."""
        import skops.io as sio
        from skops.io.exceptions import UntrustedTypesFoundException

        from .formula_guard import UnsafeFormulaError

        try:
            trusted = _read_json(self.folder / "model" / "trusted_types.json")["trusted"]
            return sio.load(self.folder / "model" / "model.skops", trusted=list(trusted))
        except UntrustedTypesFoundException as exc:
            raise ModelLoadError(f"The model file holds types that model/trusted_types.json does not list, "
                                 f"so it was not loaded: {exc}") from None
        except UnsafeFormulaError as exc:  # a formula edited into the file: never evaluated
            raise ModelLoadError(f"The model's formula is refused, so the model was not loaded: {exc}") from None
        except Exception as exc:
            raise ModelLoadError(f"The model file cannot be loaded ({type(exc).__name__}: {exc}).") from None

    def missing_columns(self, columns: list[str]) -> list[str]:
        """The columns the model reads that are not among ``columns``."""
        present = set(columns)
        return [c for c in self.columns_read if c not in present]

    # -- one chunk ---------------------------------------------------------------------------

    def prepare(self, table: pa.Table, stats: Optional["Stats"] = None, *,
                lenient: bool = False, decimal: str = ".") -> tuple[pd.DataFrame, np.ndarray]:
        """The model's input columns typed as at training, and each row's reason to be
        rejected (None for rows that can be scored). ``lenient``: values that are not
        numbers count as missing instead (as the app's Monitor page reads a batch).
        ``decimal``: the decimal mark of numbers written as text (``","``: "1,5" is 1.5).
        With a recipe, the raw columns are typed as in the training data's source, go
        through the recipe's steps, and a row outside its filters (the model's scope) is
        rejected with the reason, unless :attr:`score_out_of_scope`."""
        if self.recipe is None:
            return self._typed(table, self.inputs, stats, lenient=lenient, decimal=decimal)
        raw, reasons = self._raw(table, lenient=lenient, decimal=decimal)
        try:
            prepared, outside = self.recipe.score_rows(raw)
        except ValueError as exc:  # a step the rows cannot go through: the file's, not a row's
            raise InputError(str(exc)) from None
        out = ~_is_none(outside)
        if stats is not None:
            stats.count_scope(outside, _is_none(reasons))
        if not self.score_out_of_scope:
            fresh = _is_none(reasons) & out
            reasons[fresh] = outside[fresh]
        frame, more = self._typed(frame_to_table(prepared[self.names]), self.inputs, stats, lenient=lenient)
        fresh = _is_none(reasons) & ~_is_none(more)
        reasons[fresh] = more[fresh]
        return frame, reasons

    def _raw(self, table: pa.Table, *, lenient: bool, decimal: str) -> tuple[pd.DataFrame, np.ndarray]:
        """The raw columns a recipe reads, typed as they were in the training data's
        source (numbers, true/false, dates, text), and each row's reason to be rejected."""
        from .recipe import cast_values
        from .expressions import dates_from_text

        numeric = [c for c in self.raw_inputs if c["kind"] == "numeric"]
        typed, reasons = self._typed(table, numeric, None, lenient=lenient, decimal=decimal)
        data: dict[str, Any] = {}
        for spec in self.raw_inputs:
            name = spec["name"]
            if spec["kind"] == "numeric":
                data[name] = typed[name].to_numpy()
                continue
            col = _plain(table.column(name))
            if spec["kind"] == "datetime":
                if pa.types.is_temporal(col.type):
                    data[name] = col.to_pandas()
                else:
                    data[name] = dates_from_text(col.to_pandas().astype(object))
            elif spec["kind"] == "boolean":
                data[name] = cast_values(col.to_pandas(), "boolean").to_numpy(dtype=object)
            else:
                data[name] = col.to_pandas().to_numpy(dtype=object)
        return pd.DataFrame({k: (v.to_numpy() if isinstance(v, pd.Series) else v) for k, v in data.items()},
                            columns=self.columns_read), reasons

    def _typed(self, table: pa.Table, specs: list[dict[str, Any]], stats: Optional["Stats"], *,
               lenient: bool = False, decimal: str = ".") -> tuple[pd.DataFrame, np.ndarray]:
        """The columns of ``specs`` typed as the model reads them, and each row's reason to
        be rejected."""
        n = table.num_rows
        reasons = np.full(n, None, dtype=object)
        data: dict[str, np.ndarray] = {}
        for spec in specs:
            name = spec["name"]
            raw_col = _plain(table.column(name))
            col = with_decimal_point(raw_col, decimal) if _numeric_text(spec) else raw_col
            if spec["kind"] == "numeric":
                values, bad = to_numbers(col)
                if bad is not None and bad.any():
                    if not lenient:
                        raw = raw_col.to_pandas()
                        for i in np.flatnonzero(bad & _is_none(reasons)):
                            reasons[i] = f"{name}: {_quoted(raw.iloc[i])} is not a number" + _decimal_hint(
                                raw.iloc[i], decimal)
                    values = values.copy()
                    values[bad] = np.nan
                infinite = np.isinf(values)
                if not lenient and infinite.any():
                    # the model would refuse the row with a raw error: say which value, here
                    raw = raw_col.to_pandas()
                    for i in np.flatnonzero(infinite & _is_none(reasons)):
                        reasons[i] = f"{name}: value is infinite or too large ({_quoted(raw.iloc[i])})"
                    values = values.copy()
                    values[infinite] = np.nan
                data[name] = values
                if stats is not None:
                    stats.count_range(spec, values)
            else:
                labels = to_labels(col, spec.get("dtype"))
                data[name] = labels
                if stats is not None:
                    stats.count_unseen(name, labels, self._categories[name])
        # labels stay Python objects: pandas would otherwise turn them into Arrow-backed
        # text, which the model's encoder converts straight back (twice the work per chunk)
        columns = {name: (pd.Series(values, dtype=object, copy=False) if values.dtype == object else values)
                   for name, values in data.items()}
        return pd.DataFrame(columns, columns=[c["name"] for c in specs]), reasons

    def predict(self, frame: pd.DataFrame) -> dict[str, np.ndarray]:
        """The output columns (see ``schema.json``) for rows the model can all score."""
        model = self.model
        with warnings.catch_warnings():
            # unseen categories are counted and reported by the scoring run itself
            warnings.filterwarnings("ignore", message=".*unknown categor", category=UserWarning)
            if not self.classifier:
                return {"prediction": np.asarray(model.predict(frame), dtype=np.float64)}
            proba = np.asarray(model.predict_proba(frame), dtype=np.float64)
        classes = [class_label(c) for c in model.classes_]
        labels = np.asarray(classes, dtype=object)
        out: dict[str, np.ndarray] = {"prediction": labels[np.argmax(proba, axis=1)]}
        for j, c in enumerate(classes):
            out[f"probability_{c}"] = proba[:, j]
        if self.threshold is not None and self.positive_class is not None and len(classes) == 2:
            pos = classes.index(self.positive_class)
            other = labels[1 - pos]
            out["label_at_threshold"] = np.where(proba[:, pos] >= self.threshold,
                                                 labels[pos], other).astype(object)
        return out

    def score(self, table: pa.Table, stats: Optional["Stats"] = None) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Every output column for every row of ``table`` (missing where the row was
        rejected) and the rejection reasons (None where scored)."""
        frame, reasons = self.prepare(table, stats)
        return self.score_prepared(frame, reasons)

    def score_prepared(self, frame: pd.DataFrame, reasons: np.ndarray) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """:meth:`score` for a chunk already through :meth:`prepare`."""
        outputs = self._empty_outputs(len(frame))
        ok = np.flatnonzero(_is_none(reasons))
        if len(ok):
            self._predict_rows(frame, ok, outputs, reasons)
        return outputs, reasons

    def _empty_outputs(self, n: int) -> dict[str, np.ndarray]:
        return {o["name"]: (np.full(n, np.nan) if o["type"] == "double" else np.full(n, None, dtype=object))
                for o in self.outputs}

    def _predict_rows(self, frame: pd.DataFrame, rows: np.ndarray, outputs: dict[str, np.ndarray],
                      reasons: np.ndarray) -> None:
        """Score ``rows``; when the model refuses them, halve until the rows it cannot
        score are found, and reject only those. A model that cannot be loaded raises
        :class:`ModelLoadError` at once: that is no row's fault."""
        _ = self.model
        part = frame.iloc[rows] if len(rows) < len(frame) else frame
        try:
            values = self.predict(part)
        except Exception as exc:  # the model's own refusal, e.g. an infinite number
            if len(rows) == 1:
                reasons[rows[0]] = f"the model could not score this row ({type(exc).__name__}: " \
                                   f"{' '.join(str(exc).split())[:300]})"
                return
            half = len(rows) // 2
            self._predict_rows(frame, rows[:half], outputs, reasons)
            self._predict_rows(frame, rows[half:], outputs, reasons)
            return
        finite = np.ones(len(rows), dtype=bool)
        for name, v in values.items():
            if v.dtype.kind == "f":
                finite &= np.isfinite(v)
        for name, v in values.items():
            outputs[name][rows] = v
        for i in rows[~finite]:
            reasons[i] = "the model gave no finite score for this row"
            for name in outputs:
                outputs[name][i] = np.nan if outputs[name].dtype.kind == "f" else None

    def score_frame(self, df: pd.DataFrame) -> pd.DataFrame:
        """Score a pandas DataFrame (MLflow's and Spark's way in): one output row per
        input row, with ``reject_reason`` set where a row could not be scored."""
        missing = self.missing_columns([str(c) for c in df.columns])
        if missing:
            raise InputError(f"The data lacks the column(s) the model needs: {', '.join(missing)}.")
        table = frame_to_table(df[self.columns_read])
        outputs, reasons = self.score(table)
        out = pd.DataFrame(outputs, index=df.index)
        out["reject_reason"] = reasons
        return out

    # -- files -------------------------------------------------------------------------------

    def score_file(self, source: str | Path, output: str | Path, *, fmt: Optional[str] = None,
                   chunk_rows: int = DEFAULT_CHUNK_ROWS, rejects: Optional[str | Path] = None,
                   id_columns: Optional[list[str]] = None,
                   log: Callable[[str], None] = lambda message: None,
                   delimiter: Optional[str] = None, decimal: str = ".",
                   encoding: str = "utf-8", monitor: Any = None,
                   score_out_of_scope: bool = False, reason_codes: Any = None) -> dict[str, Any]:
        """Score a CSV or Parquet file chunk by chunk into ``output`` (CSV or Parquet),
        rejected rows into ``rejects``; returns the summary. ``delimiter`` (default ','
        or a tab for ``.tsv``), ``decimal`` and ``encoding`` say how a CSV file is written.
        ``monitor``: a ``monitoring.BatchMonitor`` (:meth:`monitor`) that sees every chunk;
        ``reason_codes``: a ``reasons.ReasonCodes`` (:meth:`reason_codes`) whose columns follow the outputs.
        A CSV row with the wrong number of fields is rejected with its line; the summary's
        ``status`` is :data:`ALL_REJECTED` when rows were read and none was scored. A row
        outside the model's scope (the filters of its training data's recipe) is rejected
        with the reason, or scored with ``score_out_of_scope`` (then counted).
        Raises :class:`ModelLoadError` before reading when the model cannot be loaded."""
        started = time.perf_counter()
        source, output = Path(source), Path(output)
        fmt = output_format(output, fmt)
        rejects_path = Path(rejects) if rejects else _default_rejects(output)
        for what, path in (("output", output), ("rejects file", rejects_path)):
            if same_file(source, path):
                raise InputError(f"The {what} {path} is the input file itself; choose another name "
                                 "(scoring never overwrites its input).")
        reader = TableReader(source, chunk_rows, delimiter=delimiter, encoding=encoding)
        decimal = decimal if reader.format == "csv" else "."
        self.check_columns(reader)
        _ = self.model  # a model that cannot be loaded stops the run here, not row by row
        ids = self._id_columns(reader.columns, id_columns, log)
        ignored = [c for c in reader.columns if c not in self.columns_read and c not in ids]
        if ignored:
            log(f"Columns the model does not use, ignored: {', '.join(ignored)}")
        wanted = list(dict.fromkeys([*ids, *self.columns_read]))
        self.score_out_of_scope = score_out_of_scope
        stats = Stats()
        writer = OutputWriter(output, fmt)
        reject_writer = RejectWriter(rejects_path, wanted)
        malformed: list[MalformedRow] = []  # filled by the reader as it meets them, in the file's order
        written = 0
        try:
            first = 0
            for table in reader.chunks(wanted, malformed=malformed):
                frame, reasons = self.prepare(table, stats, decimal=decimal)
                outputs, reasons = self.score_prepared(frame, reasons)
                scored = _is_none(reasons)
                stats.count_missing(frame, scored)
                if monitor is not None:
                    monitor.add(frame, reasons, outputs, scored)
                n_ok = int(scored.sum())
                rows = input_rows(np.arange(first + 1, first + table.num_rows + 1), [m.row for m in malformed])
                columns: dict[str, Any] = {"input_row": pa.array(rows[scored])}
                keep = pa.array(scored)
                for c in ids:
                    columns[c] = pc.filter(table.column(c), keep)
                for o in self.outputs:
                    v = outputs[o["name"]][scored]
                    columns[o["name"]] = pa.array(v, type=pa.float64() if o["type"] == "double" else pa.string())
                if reason_codes is not None:
                    columns.update(self._reason_columns(reason_codes, frame, outputs, scored))
                writer.write(pa.table(columns))
                # the rows that could not be read, up to this chunk's last row
                done = [m for m in malformed[written:] if m.row < rows[-1]] if len(rows) else []
                reject_writer.write(table, reasons, rows, done)
                written += len(done)
                stats.count_rows(table.num_rows, n_ok, len(done))
                first += table.num_rows
                log(f"{stats.rows:,} rows read, {stats.scored:,} scored, {stats.rejected:,} rejected")
                del table, frame, outputs, reasons, columns
                _release_memory()
            if malformed[written:]:  # after the last row read into columns
                reject_writer.write(None, None, None, malformed[written:])
                stats.count_rows(0, 0, len(malformed) - written)
            if writer.empty:  # a file with a header only: an output with a header only
                empty = {"input_row": pa.array([], pa.int64()), **{c: pa.array([], pa.string()) for c in ids}}
                empty.update({o["name"]: pa.array([], pa.float64() if o["type"] == "double" else pa.string())
                              for o in self.outputs})
                empty.update({name: pa.array([], pa.float64() if kind == "double" else pa.string())
                              for name, kind in (reason_codes.columns if reason_codes is not None else [])})
                writer.write(pa.table(empty))
            writer.close()
            reject_writer.close()
        except BaseException:
            writer.abort()
            reject_writer.abort()
            raise
        status = ALL_REJECTED if stats.rows and not stats.scored else "ok"
        summary = {"status": status, "model": self.ref, "input": str(source), "output": str(output),
                   "format": fmt, "rows_read": stats.rows, "rows_scored": stats.scored,
                   "rows_rejected": stats.rejected, "rows_malformed": stats.malformed,
                   "rejects": str(rejects_path) if stats.rejected else None,
                   "ignored_columns": ignored, "id_columns": ids,
                   "unseen_categories": stats.unseen_summary(),
                   "outside_training_range": dict(stats.out_of_range),
                   "missing_values_filled": {c: int(stats.missing[c]) for c in self.names if stats.missing[c]},
                   "seconds": round(time.perf_counter() - started, 3)}
        if self.recipe is not None:
            summary.update(scope=[f.in_words() for f in self.recipe.scope_rules()],
                           rows_out_of_scope=stats.out_of_scope,
                           out_of_scope=("scored anyway" if score_out_of_scope else "rejected")
                           if stats.out_of_scope else None)
            if stats.out_of_scope:
                log(f"Rows outside the model's scope ({'; '.join(summary['scope'])}): {stats.out_of_scope:,}, "
                    + ("scored anyway (--score-out-of-scope)" if score_out_of_scope else
                       "rejected with the reason (score them anyway with --score-out-of-scope)"))
        if reason_codes is not None:
            summary["rows_with_reasons"] = reason_codes.explained
        for name, n in summary["missing_values_filled"].items():
            log(f"Missing values in {name}: {n:,} scored rows; filled in by the model as at training")
        for name, info in summary["unseen_categories"].items():
            log(f"Unseen categories in {name}: {info['rows']:,} rows (e.g. {', '.join(map(repr, info['values']))}); "
                "scored as at training time")
        return summary

    def check_columns(self, reader: "TableReader") -> None:
        """Raise :class:`InputError` naming the columns the model needs that the file
        lacks, and the delimiter the file seems to use when its header was split wrongly."""
        missing = self.missing_columns(reader.columns)
        if not missing:
            return
        message = f"{reader.path.name} lacks the column(s) the model needs: {', '.join(missing)}."
        guess = reader.better_delimiter(self.columns_read)
        if guess is not None:
            option = TAB_OPTION if guess == "\t" else guess
            message += (f" The file seems to use {_delimiter_name(guess)} as delimiter, not "
                        f"{_delimiter_name(reader.delimiter)}; pass --delimiter '{option}'.")
        raise InputError(message)

    def _id_columns(self, columns: list[str], asked: Optional[list[str]],
                    log: Callable[[str], None]) -> list[str]:
        if asked:
            missing = [c for c in asked if c not in columns]
            if missing:
                raise InputError(f"The id column(s) {', '.join(missing)} are not in the input file.")
            return list(asked)
        present = [c for c in self.id_columns if c in columns]
        if present:
            log(f"Id columns copied to the output: {', '.join(present)}")
        return present

    def reason_codes(self, top: int, reasons_for: str = "all") -> Any:
        """The reason columns of a scoring run (``reasons.ReasonCodes``): the ``top``
        columns that pushed each row's score most towards its decision, for ``all`` rows
        or the ``adverse`` ones (decided positive at the version's threshold). Raises
        :class:`InputError` when the package or the request does not allow them."""
        from . import contributions, reasons

        path = self.folder / "reasons.json"
        if not path.is_file():
            raise InputError("This package was exported without reasons.json, which reasons need; ask the "
                             "analyst for a new export.")
        info = _read_json(path)
        try:
            explainer = contributions.Explainer(self.model, info.get("background"), positive_class=self.positive_class)
            return reasons.ReasonCodes(explainer, top=top, reasons_for=reasons_for, threshold=self.threshold,
                                       positive_class=self.positive_class, row_limit=int(info["row_limit"]))
        except (contributions.ExplainError, reasons.ReasonsError) as exc:
            raise InputError(str(exc)) from None

    def _reason_columns(self, reason_codes: Any, frame: pd.DataFrame, outputs: dict[str, np.ndarray],
                        scored: np.ndarray) -> dict[str, pa.Array]:
        """The reason columns of a chunk's scored rows."""
        from .contributions import ExplainError
        from .reasons import ReasonsError

        classes = reason_codes.explainer.classes
        probability = outputs.get(f"probability_{classes[0]}") if classes and len(classes) == 1 else None
        rows = np.flatnonzero(scored)
        try:
            found = reason_codes.add(frame.iloc[rows], None if probability is None else probability[rows])
        except (ExplainError, ReasonsError) as exc:
            raise InputError(str(exc)) from None
        # an empty cell is missing (null), not NaN: a CSV then holds an empty cell
        return {name: pa.array(found[name], type=pa.float64() if kind == "double" else pa.string(), from_pandas=True)
                for name, kind in reason_codes.columns}

    def monitor(self) -> Any:
        """What a scoring run gathers for its monitoring summary (``monitoring``): the
        reference's cells and, for a classifier with ``calibration.json``, the tally of
        its estimated performance."""
        from . import drift as metrics
        from . import monitoring
        from . import performance as perf

        profile = metrics.ReferenceProfile.from_dict(_read_json(self.folder / "reference_profile.json"))
        path = self.folder / "calibration.json"
        calibration = perf.Calibration.from_dict(_read_json(path)) if path.is_file() else None
        if calibration is not None and calibration.classes != list(self.classes or []):
            raise InputError("calibration.json does not name the model's classes; the package is inconsistent.")
        return monitoring.BatchMonitor(profile, calibration, self.classes, self.schema["model"].get("segment_by"))

    # -- drift -------------------------------------------------------------------------------

    def drift(self, source: str | Path, *, chunk_rows: int = DEFAULT_CHUNK_ROWS, delimiter: Optional[str] = None,
              decimal: str = ".", encoding: str = "utf-8") -> Any:
        """Compare a batch file with ``reference_profile.json``: the same measures, noise
        levels and rules as the app's Monitor page. Returns a ``drift.Comparison``.
        ``delimiter``, ``decimal`` and ``encoding``: as for :meth:`score_file`."""
        from . import drift as metrics

        profile = metrics.ReferenceProfile.from_dict(_read_json(self.folder / "reference_profile.json"))
        t = metrics.check_thresholds(profile.thresholds)
        source = Path(source)
        reader = TableReader(source, chunk_rows, delimiter=delimiter, encoding=encoding)
        decimal = decimal if reader.format == "csv" else "."
        if self.missing_columns(reader.columns) and reader.better_delimiter(self.columns_read) is not None:
            self.check_columns(reader)  # a wrongly split header: say so rather than "not comparable"
        if self.recipe is not None:
            return self._drift_prepared(reader, profile, t, decimal)
        present = set(reader.columns)
        specs = {c["name"]: c for c in self.inputs}
        features = {n: _Accumulator(fp.kind, (specs.get(n) or {}).get("dtype"))
                    for n, fp in profile.features.items() if n in present}
        model_ok = not self.missing_columns(reader.columns) and profile.predictions is not None
        if model_ok:
            _ = self.model  # a model that cannot be loaded stops the check (ModelLoadError)
        predictions = _Accumulator(profile.predictions.kind, None) if model_ok else None
        wanted = list(dict.fromkeys([*features, *(self.names if model_ok else [])]))
        rows = 0
        for table in reader.chunks(wanted):
            rows += table.num_rows
            for name, acc in features.items():
                col = _plain(table.column(name))
                if acc.kind == "numeric" or acc.dtype in NUMERIC_TYPES:
                    col = with_decimal_point(col, decimal)
                acc.add(col)
            if predictions is not None and not predictions.problem:
                frame, _ = self.prepare(table, lenient=True, decimal=decimal)
                self._add_scores(predictions, frame)
        if rows == 0:
            raise InputError(f"{source.name} has no rows.")
        return self._comparison(profile, t, features, predictions, rows,
                                [c for c in reader.columns if c not in profile.features and c not in self.names],
                                unscored="the batch lacks columns the model needs: "
                                         f"{', '.join(self.missing_columns(reader.columns))}")

    def _drift_prepared(self, reader: "TableReader", profile: Any, t: dict[str, Any], decimal: str) -> Any:
        """:meth:`drift` for a model whose training data was prepared by a recipe: each
        chunk's raw rows go through it, and the rows in the model's scope are compared
        (those outside it are counted: a growing share of them is a change too)."""
        self.check_columns(reader)  # every raw column the recipe needs, or nothing is comparable
        _ = self.model
        specs = {c["name"]: c for c in self.inputs}
        features = {n: _Accumulator(fp.kind, (specs.get(n) or {}).get("dtype")) for n, fp in profile.features.items()}
        predictions = _Accumulator(profile.predictions.kind, None) if profile.predictions is not None else None
        rows = outside = 0
        scope, self.score_out_of_scope = self.score_out_of_scope, False
        try:
            for table in reader.chunks(self.columns_read):
                frame, reasons = self.prepare(table, lenient=True, decimal=decimal)
                keep = _is_none(reasons)
                outside += int((~keep).sum())
                rows += int(keep.sum())
                part = frame.loc[keep]
                for name, acc in features.items():
                    acc.add(pa.chunked_array([pa.array(part[name].to_numpy(), from_pandas=True)]))
                if predictions is not None and not predictions.problem and len(part):
                    self._add_scores(predictions, part)
        finally:
            self.score_out_of_scope = scope
        if rows == 0:
            raise InputError(f"{reader.path.name} has no rows in the model's scope "
                             f"({'; '.join(f.in_words() for f in self.recipe.scope_rules())}); "
                             f"{outside:,} rows lie outside it.")
        return self._comparison(profile, t, features, predictions, rows,
                                [c for c in reader.columns if c not in self.columns_read], out_of_scope=outside)

    def _add_scores(self, predictions: "_Accumulator", frame: pd.DataFrame) -> None:
        """Add the model's scores of ``frame`` to ``predictions``; a model that cannot score
        the batch is the batch's problem (as on the Monitor page), not the run's."""
        try:
            predictions.add_scores(self._scores(frame))
        except Exception as exc:
            predictions.problem = f"the model could not score the batch ({type(exc).__name__}: {exc})"

    def _comparison(self, profile: Any, t: dict[str, Any], features: dict[str, "_Accumulator"],
                    predictions: Optional["_Accumulator"], rows: int, extra: list[str], *,
                    unscored: str = "", out_of_scope: int = 0) -> Any:
        """The end of :meth:`drift`: every feature of the profile and the predictions compared
        with the batch's distributions, and the verdict. A feature with no accumulator is
        absent from the batch; ``unscored`` says why the batch was not scored when the profile
        has predictions but ``predictions`` is None."""
        from . import drift as metrics

        results = []
        for name, fp in profile.features.items():
            acc = features.get(name)
            if acc is None:
                results.append(metrics.not_comparable(name, fp.kind, f"the batch has no column {name!r}",
                                                      fp.distribution))
            elif acc.problem:
                results.append(metrics.not_comparable(name, fp.kind, acc.problem, fp.distribution))
            else:
                results.append(metrics.compare_feature(fp, acc.distribution(metrics), t))
        prediction = None
        if profile.predictions is not None:
            problem = unscored if predictions is None else predictions.problem
            prediction = (metrics.not_comparable("prediction", profile.predictions.kind, problem) if problem else
                          metrics.compare_feature(profile.predictions, predictions.distribution(metrics), t))
        verdict = metrics.dataset_verdict(results, t, importance=profile.importance, prediction=prediction)
        return metrics.Comparison(results, verdict, t, rows, prediction, extra, out_of_scope=out_of_scope)

    def _scores(self, frame: pd.DataFrame) -> np.ndarray:
        """The model's score per row, as the Monitor page takes it: the positive-class
        probability of a binary classifier, the class of any other, the prediction of a
        regressor."""
        model = self.model
        if hasattr(model, "predict_proba"):
            proba = np.asarray(model.predict_proba(frame))
            if proba.ndim == 2 and proba.shape[1] == 2:
                return proba[:, 1].astype(np.float64)
            return np.asarray(model.predict(frame), dtype=object)
        predicted = np.asarray(model.predict(frame))
        return predicted.astype(np.float64) if predicted.dtype.kind in "fiub" else predicted.astype(object)


# -- values ----------------------------------------------------------------------------------

def _plain(col: Any) -> pa.ChunkedArray:
    """A column as one plain Arrow array type (dictionaries decoded)."""
    if isinstance(col, pa.Array):
        col = pa.chunked_array([col])
    if pa.types.is_dictionary(col.type):
        col = col.cast(col.type.value_type)
    if pa.types.is_large_string(col.type):
        col = col.cast(pa.string())
    return col


def _quoted(value: Any) -> str:
    """A value as a reason quotes it: ``'1,5'``, ``inf`` (not numpy's ``np.float64(inf)``)."""
    return repr(value.item() if isinstance(value, np.generic) else value)


def _is_none(values: np.ndarray) -> np.ndarray:
    return pd.isna(values)


def to_numbers(col: pa.ChunkedArray) -> tuple[np.ndarray, Optional[np.ndarray]]:
    """A column as float64 (missing as NaN), and which rows hold a value that is not a
    number (None when every value is one)."""
    t = col.type
    n = len(col)
    if pa.types.is_null(t):
        return np.full(n, np.nan), None
    if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t) or pa.types.is_decimal(t):
        return _float_numpy(pc.cast(col, pa.float64())), None
    if pa.types.is_string(t):
        try:
            return _float_numpy(pc.cast(col, pa.float64())), None
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
        text = col.to_pandas().astype(object)
        stripped = text.map(lambda v: v.strip() if isinstance(v, str) else v)
        values = pd.to_numeric(stripped, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        given = stripped.map(lambda v: isinstance(v, str) and v.lower() not in MISSING_WORDS).to_numpy(dtype=bool)
        bad = given & np.isnan(values)
        return values, bad
    # dates, times, binary: nothing in them is a number
    bad = ~np.asarray(col.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    return np.full(n, np.nan), bad


def _numeric_text(spec: dict[str, Any]) -> bool:
    """Whether a column's text is read as numbers (a numeric feature, or a category
    that was numbers at training)."""
    return spec["kind"] == "numeric" or spec.get("dtype") in NUMERIC_TYPES


def with_decimal_point(col: pa.ChunkedArray, decimal: str) -> pa.ChunkedArray:
    """Text written with a decimal comma ("1,5") as text with a decimal point ("1.5"),
    as the app's importer reads it. A point in such a file is a thousands separator
    ("1.234,5"), which the importer does not read as a number either: it stays invalid
    here (rejected) rather than being read as a different number."""
    if decimal != "," or not pa.types.is_string(col.type):
        return col
    marked = pc.replace_substring(col, ".", "\x00")  # not a number, whatever follows
    return pc.replace_substring(marked, ",", ".")


def _decimal_hint(value: Any, decimal: str) -> str:
    if decimal != "," and isinstance(value, str) and DECIMAL_COMMA.match(value):
        return " (if the file writes numbers with a decimal comma, pass --decimal ',')"
    return ""


def _float_numpy(col: pa.ChunkedArray) -> np.ndarray:
    out = col.to_numpy()  # a float column with nulls comes out with NaN in their place
    return out if out.dtype == np.float64 else out.astype(np.float64)


def to_labels(col: pa.ChunkedArray, dtype: Optional[str]) -> np.ndarray:
    """A column as category labels (text; missing as NaN), as the model's input step
    makes them. Text read from a CSV file is first read as the type the column had at
    training (numbers or true/false), so that "7", "7.0" and 7 are one category."""
    t = col.type
    if pa.types.is_string(t) and dtype in NUMERIC_TYPES:
        try:
            col = pc.cast(col, pa.float64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return np.array([_mixed_label(v) for v in col.to_pylist()], dtype=object)
    elif pa.types.is_string(t) and dtype == "boolean":
        try:
            col = pc.cast(col, pa.bool_())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
    if pa.types.is_null(col.type):
        return np.full(len(col), np.nan, dtype=object)
    # label each distinct value once; the rows share those label objects (fast, and a
    # chunk's categories take 8 bytes a row instead of a string each)
    encoded = pc.dictionary_encode(col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col)
    labels = category_labels(encoded.dictionary.to_pandas())
    lookup = np.append(np.asarray(labels, dtype=object), np.nan)
    index = pc.fill_null(encoded.indices, len(labels)).to_numpy(zero_copy_only=False)
    return lookup[index]


def _mixed_label(value: Any) -> Any:
    if value is None:
        return np.nan
    try:
        return category_labels(pd.Series([float(value)], dtype=np.float64))[0]
    except ValueError:
        return value


def frame_to_table(df: pd.DataFrame) -> pa.Table:
    """A DataFrame as an Arrow table; a column that mixes types becomes text."""
    arrays = {}
    for name in df.columns:
        s = df[name]
        try:
            arrays[str(name)] = pa.array(s, from_pandas=True)
        except (pa.ArrowException, TypeError, ValueError):
            arrays[str(name)] = pa.array([None if v is None or (isinstance(v, float) and math.isnan(v))
                                          else str(v) for v in s], type=pa.string())
    return pa.table(arrays)


def input_rows(positions: np.ndarray, skipped: list[int]) -> np.ndarray:
    """The input row numbers (from 1) of rows read into columns, from their positions
    among those rows and the sorted numbers of the rows skipped as malformed."""
    if not skipped:
        return positions
    read_before = np.asarray(skipped, dtype=np.int64) - np.arange(1, len(skipped) + 1)
    return positions + np.searchsorted(read_before, positions, side="left")


# -- counting --------------------------------------------------------------------------------

@dataclass
class Stats:
    """What a scoring run saw: rows, unseen categories, numbers outside the training range."""

    rows: int = 0
    scored: int = 0
    rejected: int = 0
    #: rows rejected because they could not be read into columns (their count of fields)
    malformed: int = 0
    unseen: dict[str, Counter] = field(default_factory=dict)
    unseen_rows: Counter = field(default_factory=Counter)
    out_of_range: Counter = field(default_factory=Counter)
    #: missing values in scored rows, per input column (the model fills them in)
    missing: Counter = field(default_factory=Counter)
    #: rows outside the model's scope (its training data's filters), read otherwise fine
    out_of_scope: int = 0

    def count_scope(self, outside: np.ndarray, readable: np.ndarray) -> None:
        """Count the readable rows that are outside the recipe's scope."""
        self.out_of_scope += int(np.count_nonzero(~_is_none(outside) & readable))

    def count_rows(self, read: int, scored: int, malformed: int) -> None:
        """One chunk: ``read`` rows read into columns, ``scored`` of them scored, and
        ``malformed`` rows that could not be read."""
        self.rows += read + malformed
        self.scored += scored
        self.rejected += read - scored + malformed
        self.malformed += malformed

    def count_missing(self, frame: pd.DataFrame, scored: np.ndarray) -> None:
        """Count, per column, the scored rows with a missing value."""
        for name in frame.columns:
            # the column's own isna: Arrow-backed text answers from its validity bitmap
            # instead of first becoming an array of Python strings
            n = int(np.count_nonzero(frame[name].isna().to_numpy(dtype=bool) & scored))
            if n:
                self.missing[name] += n

    def count_unseen(self, name: str, labels: np.ndarray, known: pd.Index) -> None:
        """Count the rows whose category the model did not see in training, and keep the most
        frequent such values (up to 100 per chunk)."""
        s = pd.Series(labels, dtype=object)
        new = s.notna().to_numpy() & ~s.isin(known).to_numpy()
        if new.any():
            self.unseen_rows[name] += int(new.sum())
            counts = self.unseen.setdefault(name, Counter())
            counts.update(s[new].value_counts().head(100).to_dict())

    def count_range(self, spec: dict[str, Any], values: np.ndarray) -> None:
        """Count the values outside the training range of the column ``spec`` describes
        (nothing when it has no range)."""
        lo, hi = spec.get("min"), spec.get("max")
        if lo is None or hi is None:
            return
        with np.errstate(invalid="ignore"):
            outside = int(np.count_nonzero((values < lo) | (values > hi)))
        if outside:
            self.out_of_range[spec["name"]] += outside

    def unseen_summary(self) -> dict[str, Any]:
        """Per column, the rows with an unseen category and the most frequent such values,
        for the run's summary."""
        return {name: {"rows": int(self.unseen_rows[name]),
                       "values": [str(v) for v, _ in self.unseen[name].most_common(LISTED)]}
                for name in self.unseen}


class _Accumulator:
    """One column's distribution over every chunk, kept compact (distinct values with
    their counts) and expanded once at the end, so the figures equal the app's."""

    def __init__(self, kind: str, dtype: Optional[str]) -> None:
        self.kind, self.dtype = kind, dtype
        self.rows = 0
        self.missing = 0
        self.parts: list[tuple[np.ndarray, np.ndarray]] = []
        self.counts: Counter = Counter()
        self.problem: Optional[str] = None

    def add(self, col: pa.ChunkedArray) -> None:
        self.rows += len(col)
        if self.problem:
            return
        if self.kind == "numeric":
            t = col.type
            if pa.types.is_temporal(t):
                self.problem = "it holds dates or times where the reference holds numbers"
                return
            values, bad = to_numbers(col)
            if bad is not None and bad.any():
                example = col.to_pandas().iloc[int(np.flatnonzero(bad)[0])]
                self.problem = f"it holds text where the reference holds numbers (for example {example!r})"
                return
            self._add_numbers(values)
        else:
            self._add_labels(to_labels(col, self.dtype))

    def add_scores(self, scores: np.ndarray) -> None:
        self.rows += len(scores)
        if self.kind == "numeric":
            self._add_numbers(np.asarray(scores, dtype=np.float64))
        else:
            self._add_labels(np.asarray(scores, dtype=object))

    def _add_numbers(self, values: np.ndarray) -> None:
        finite = np.isfinite(values)
        self.missing += int(len(values) - finite.sum())
        u, c = np.unique(values[finite], return_counts=True)
        self.parts.append((u, c))

    def _add_labels(self, labels: np.ndarray) -> None:
        counts = pd.Series(labels, dtype=object).value_counts(dropna=False)
        for value, n in counts.items():
            self.counts[value] += int(n)

    def distribution(self, metrics: Any) -> Any:
        if self.kind == "numeric":
            if self.parts:
                values = np.concatenate([u for u, _ in self.parts])
                counts = np.concatenate([c for _, c in self.parts])
                unique, inverse = np.unique(values, return_inverse=True)
                total = np.bincount(inverse, weights=counts, minlength=len(unique)).astype(np.int64)
                ordered = np.repeat(unique, total)
            else:
                ordered = np.empty(0)
            return metrics.NumericDistribution.from_sorted(ordered, self.rows)
        pairs = [(None if (isinstance(k, float) and math.isnan(k)) else k, n) for k, n in self.counts.items()]
        return metrics.CategoricalDistribution.from_counts(pairs, self.rows)


# -- reading and writing ---------------------------------------------------------------------

def input_format(path: Path) -> str:
    """The format of an input file from its extension (csv or parquet); refuses others."""
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        return "parquet"
    if suffix in (".csv", ".txt", ".tsv"):
        return "csv"
    raise InputError(f"{path.name}: score CSV (.csv, .tsv, .txt) or Parquet (.parquet) files.")


def output_format(path: Path, fmt: Optional[str]) -> str:
    """The output format: the one asked for, else from the output's extension (csv by default)."""
    if fmt:
        if fmt not in ("csv", "parquet"):
            raise InputError(f"--format takes csv or parquet, not {fmt!r}.")
        return fmt
    return "parquet" if path.suffix.lower() in (".parquet", ".pq") else "csv"


def same_file(a: str | Path, b: str | Path) -> bool:
    """Whether two paths name one file (the same path, a link to it, or a hard link)."""
    try:
        if os.path.exists(a) and os.path.exists(b):
            return os.path.samefile(a, b)
    except OSError:
        pass
    return os.path.normcase(os.path.realpath(a)) == os.path.normcase(os.path.realpath(b))


def _delimiter_name(delimiter: str) -> str:
    return "a tab" if delimiter == "\t" else repr(delimiter)


def _python_encoding(encoding: str) -> str:
    """The codec for Python's own reading: UTF-8 with or without a byte-order mark."""
    return "utf-8-sig" if encoding.lower().replace("_", "-") in ("utf-8", "utf8", "utf-8-sig") else encoding


def _arrow_encoding(encoding: str) -> str:
    # pyarrow reads UTF-8 itself (the header, with any byte-order mark, is skipped by
    # name below); other encodings go through Python's codecs
    return "utf8" if _python_encoding(encoding) == "utf-8-sig" else encoding


class TableReader:
    """A CSV or Parquet file read in chunks of about ``chunk_rows`` rows. CSV cells are
    read as text and typed by the schema, so one odd value never stops the file. Column
    names are stripped of surrounding spaces, as the app's importer does."""

    def __init__(self, path: Path, chunk_rows: int, *, delimiter: Optional[str] = None,
                 encoding: str = "utf-8") -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise InputError(f"There is no file {self.path}.")
        self.format = input_format(self.path)
        self.chunk_rows = max(int(chunk_rows), 1)
        self.encoding = encoding or "utf-8"
        self.delimiter = delimiter or ("\t" if self.path.suffix.lower() == ".tsv" else ",")
        if len(self.delimiter) != 1:
            raise InputError(f"The delimiter must be one character, not {self.delimiter!r}.")
        try:
            if self.format == "parquet":
                import pyarrow.parquet as pq

                self._parquet = pq.ParquetFile(self.path)
                self.raw_columns = list(self._parquet.schema_arrow.names)
            else:
                import codecs

                codecs.lookup(self.encoding)
                self.raw_columns = self._csv_header()
        except LookupError:
            raise InputError(f"Unknown encoding {self.encoding!r} (e.g. utf-8, cp1252, latin-1).") from None
        except UnicodeDecodeError as exc:
            raise InputError(f"{self.path.name} is not {self.encoding} text ({exc.reason} at byte "
                             f"{exc.start}); pass its encoding, e.g. --encoding cp1252.") from None
        except InputError:
            raise
        except Exception as exc:
            raise InputError(f"{self.path.name} cannot be read: {exc}") from None
        self.columns = column_names(self.raw_columns)
        duplicated = sorted({c for c in self.columns if self.columns.count(c) > 1})
        if duplicated:
            raise InputError(f"{self.path.name} has two columns named {duplicated[0]!r}.")
        self._raw = dict(zip(self.columns, self.raw_columns))

    def _csv_header(self) -> list[str]:
        with open(self.path, "rt", encoding=_python_encoding(self.encoding), newline="") as fh:
            try:
                header = next(csv.reader(fh, delimiter=self.delimiter))
            except StopIteration:
                raise InputError(f"{self.path.name} is empty.") from None
        return header

    def better_delimiter(self, needed: list[str]) -> Optional[str]:
        """Another delimiter under which the header holds more of the ``needed`` columns
        (the file was split with the wrong one), or None."""
        if self.format != "csv":
            return None
        try:
            with open(self.path, "rt", encoding=_python_encoding(self.encoding), newline="",
                      errors="replace") as fh:
                line = fh.readline()
        except OSError:
            return None
        wanted = set(needed)
        found = len(wanted & set(self.columns))
        best = None
        for d in DELIMITERS:
            if d == self.delimiter or d not in line:
                continue
            names = column_names(next(csv.reader(io.StringIO(line), delimiter=d), []))
            hits = len(wanted & set(names))
            if hits > found or (len(self.columns) == 1 and len(names) > 1 and best is None and hits >= found):
                best, found = d, max(found, hits)
        return best

    def chunks(self, columns: list[str], *, malformed: Optional[list[MalformedRow]] = None) -> Iterator[pa.Table]:
        """Chunks of ``columns`` (names as in :attr:`columns`). With ``malformed``, a CSV
        row with the wrong number of fields is appended to it and skipped; without, it
        stops the reading with an :class:`InputError`."""
        try:
            if self.format == "parquet":
                raw = [self._raw[c] for c in columns]
                for batch in self._parquet.iter_batches(batch_size=self.chunk_rows, columns=raw):
                    yield pa.Table.from_batches([batch]).rename_columns(columns)
                return
            import pyarrow.csv as pacsv

            # small blocks: the reader reads dozens of blocks ahead in the background, so
            # its memory is a multiple of the block size; chunks are assembled from blocks.
            # The header is read above and given as the names, so they are the tidied ones;
            # it is skipped as a parsed row (skip_rows would count lines, and a quoted
            # header cell may hold a line break). One thread: only then does the reader
            # number the malformed rows it meets (and on a laptop's few cores it reads as fast).
            read = pacsv.ReadOptions(block_size=CSV_BLOCK_BYTES, use_threads=malformed is None,
                                     column_names=self.columns, skip_rows_after_names=1,
                                     encoding=_arrow_encoding(self.encoding))
            # quoted values may hold line breaks, as the app's importer allows
            parse = pacsv.ParseOptions(delimiter=self.delimiter, newlines_in_values=True,
                                       invalid_row_handler=None if malformed is None else _collect(malformed))
            convert = pacsv.ConvertOptions(column_types={c: pa.string() for c in self.columns},
                                           include_columns=columns, strings_can_be_null=True)
            with pacsv.open_csv(self.path, read_options=read, parse_options=parse,
                                convert_options=convert) as stream:
                pending: list[pa.RecordBatch] = []
                rows = 0
                for batch in stream:
                    pending.append(batch)
                    rows += batch.num_rows
                    if rows >= self.chunk_rows:
                        yield pa.Table.from_batches(pending).combine_chunks()
                        pending, rows = [], 0
                if rows:
                    yield pa.Table.from_batches(pending).combine_chunks()
        except pa.ArrowInvalid as exc:
            hint = ""
            if "UTF8" in str(exc) or "utf-8" in str(exc).lower():
                hint = " Pass the file's encoding, e.g. --encoding cp1252."
            elif "Expected" in str(exc) and "columns" in str(exc):
                hint = " Check the quoting, or pass the file's --delimiter."
            raise InputError(f"{self.path.name} cannot be read: {exc}.{hint}") from None
        except UnicodeDecodeError as exc:
            raise InputError(f"{self.path.name} is not {self.encoding} text ({exc.reason}); pass its "
                             "encoding, e.g. --encoding cp1252.") from None


def _collect(malformed: list[MalformedRow]) -> Callable[[Any], str]:
    """pyarrow's handler of a row with the wrong number of fields: note it, skip it."""
    def handle(row: Any) -> str:
        # pyarrow numbers the header as row 1
        malformed.append(MalformedRow(row=int(row.number) - 1, fields=row.actual_columns,
                                      expected=row.expected_columns, text=row.text))
        return "skip"

    return handle


def _trimmer() -> Callable[[], Any]:
    """glibc's malloc_trim where there is one: the C heap of many threads (Arrow's readers,
    the model's OpenMP workers) otherwise keeps the pages of every chunk it has seen."""
    try:
        import ctypes
        import ctypes.util

        name = ctypes.util.find_library("c")
        trim = getattr(ctypes.CDLL(name), "malloc_trim") if name else None
    except (OSError, AttributeError, ImportError):
        trim = None
    return (lambda: trim(0)) if trim is not None else (lambda: None)


_TRIM = _trimmer()


def _release_memory() -> None:
    """Give the memory of the chunk just written back to the system, so the footprint
    stays at one chunk's whatever the file's size."""
    pa.default_memory_pool().release_unused()
    _TRIM()


def _temporary(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.partial")


class OutputWriter:
    """The output written to a temporary name and renamed when complete, so a failed
    run never leaves a partial file under the name a job reads."""

    def __init__(self, path: Path, fmt: str) -> None:
        self.path, self.fmt = Path(path), fmt
        if not self.path.parent.is_dir():
            raise InputError(f"Cannot write the output: the folder {self.path.parent} does not exist.")
        self.tmp = _temporary(self.path)
        self._writer: Any = None

    @property
    def empty(self) -> bool:
        """Whether nothing was written yet."""
        return self._writer is None

    def write(self, table: pa.Table) -> None:
        """Append a chunk of output (Parquet or CSV, by the output's format) to the temporary
        file."""
        if self._writer is None:
            if self.fmt == "parquet":
                import pyarrow.parquet as pq

                self._writer = pq.ParquetWriter(self.tmp, table.schema)
            else:
                import pyarrow.csv as pacsv

                self._writer = pacsv.CSVWriter(self.tmp, table.schema)
        self._writer.write_table(table)

    def close(self) -> None:
        """Finish the file and give it its name (nothing when no chunk was written)."""
        if self._writer is None:
            return
        self._writer.close()
        os.replace(self.tmp, self.path)

    def abort(self) -> None:
        """Drop the partial output: close it and remove the temporary file."""
        try:
            if self._writer is not None:
                self._writer.close()
        finally:
            if self.tmp.exists():
                self.tmp.unlink()


class RejectWriter:
    """Rejected rows as CSV: the input row number, the reason and the row's values. The
    file is meant for people: its text cells are neutralised for spreadsheets (see
    ``spreadsheet``)."""

    def __init__(self, path: Path, columns: list[str]) -> None:
        self.path, self.columns = Path(path), columns
        self.tmp = _temporary(self.path)
        self._fh: Any = None
        self._csv: Any = None

    def write(self, table: Optional[pa.Table], reasons: Optional[np.ndarray], rows: Optional[np.ndarray],
              malformed: list[MalformedRow]) -> None:
        """The rejected rows of a chunk (``rows``: each row's input number) and the
        malformed rows among them, in the file's order."""
        lines = [(m.row, m.reason, [""] * len(self.columns)) for m in malformed]
        if table is not None and reasons is not None and rows is not None:
            rejected = np.flatnonzero(~_is_none(reasons))
            values = table.take(pa.array(rejected, type=pa.int64())).to_pylist()
            lines += [(int(rows[i]), reasons[i], ["" if v[c] is None else v[c] for c in self.columns])
                      for i, v in zip(rejected, values)]
        if not lines:
            return
        if self._fh is None:
            self._fh = open(self.tmp, "w", encoding="utf-8", newline="")
            self._csv = csv.writer(self._fh)
            self._csv.writerow(neutralise_cells(["input_row", "reason", *self.columns]))
        for row, reason, cells in sorted(lines, key=lambda line: line[0]):
            self._csv.writerow(neutralise_cells([row, reason, *cells]))

    def close(self) -> None:
        """Finish the rejects file and give it its name (nothing when no row was rejected)."""
        if self._fh is not None:
            self._fh.close()
            os.replace(self.tmp, self.path)

    def abort(self) -> None:
        """Drop the partial rejects file."""
        if self._fh is not None:
            self._fh.close()
        if self.tmp.exists():
            self.tmp.unlink()


def _default_rejects(output: Path) -> Path:
    name = output.name
    stem = name[: -len(output.suffix)] if output.suffix else name
    return output.with_name(f"{stem}.rejects.csv")


# -- comparing outputs (the self-test) -----------------------------------------------------

def compare_outputs(expected: pd.DataFrame, actual: pd.DataFrame, *, tolerance: float = 1e-12) -> list[str]:
    """Differences between two scored tables: labels must be equal, numbers within
    ``tolerance``. Empty when they agree."""
    problems = []
    if list(expected.columns) != list(actual.columns):
        return [f"the columns differ: expected {list(expected.columns)}, got {list(actual.columns)}"]
    if len(expected) != len(actual):
        return [f"expected {len(expected)} rows, got {len(actual)}"]
    for name in expected.columns:
        e, a = expected[name], actual[name]
        if pd.api.types.is_float_dtype(e.dtype) or pd.api.types.is_float_dtype(a.dtype):
            ev = pd.to_numeric(e, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
            av = pd.to_numeric(a, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
            same = (np.abs(ev - av) <= tolerance) | (np.isnan(ev) & np.isnan(av))
        else:
            same = (e.astype(str) == a.astype(str)).to_numpy()
        if not same.all():
            i = int(np.flatnonzero(~same)[0])
            problems.append(f"{name}: {int((~same).sum())} row(s) differ, first at row {i + 1}: "
                            f"expected {e.iloc[i]!r}, got {a.iloc[i]!r}")
    return problems


def read_output(path: Path) -> pd.DataFrame:
    """A scored CSV as written by ``score.py`` (numbers read exactly)."""
    return pd.read_csv(path, dtype={"prediction": object, "label_at_threshold": object},
                       keep_default_na=False, na_values=[""])


# -- a drift report as HTML ----------------------------------------------------------------

#: the page and a row of ``drift_html``: markupsafe templates, every value put in escaped
_DRIFT_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; }} td, th {{ border: 1px solid #ccc; padding: 4px 8px; vertical-align: top; }}
tr.drift td {{ background: #fde2e1; }} tr.nc td {{ background: #eee; }}
.verdict {{ font-size: 1.3em; font-weight: bold; }}
</style></head><body>
<h1>{title}</h1>
<p>Batch: {source} ({n_rows} rows)</p>
<p class="verdict">{verdict}</p>
<p>{decided_by}</p>
<table><tr><th>Feature</th><th>Kind</th><th>Verdict</th><th>PSI</th><th>W/&sigma; or JS</th>
<th>Change in missing share</th><th>Why</th></tr>
{rows}
</table>
<p>Thresholds: {thresholds}</p>
</body></html>
"""
_DRIFT_ROW = ("<tr class='{cls}'><td>{name}</td><td>{kind}</td><td>{verdict}</td><td>{psi}</td>"
              "<td>{second}</td><td>{miss}</td><td>{why}</td></tr>")


def drift_html(comparison: Any, *, title: str, source: str) -> str:
    """A self-contained HTML page of a drift comparison (no scripts, no network); every
    name, value and sentence is escaped (markupsafe), so a column named ``<script>`` is text.
    markupsafe is imported here: scoring needs it only for this report."""
    from markupsafe import Markup

    d = comparison.dataset
    rows = []
    for r in [*comparison.features, *([comparison.prediction] if comparison.prediction else [])]:
        m = r.metrics
        second = m.get("wasserstein_normalised") if r.kind == "numeric" else m.get("jensen_shannon")
        rows.append(Markup(_DRIFT_ROW).format(
            cls="drift" if r.drifted else ("nc" if not r.comparable else ""), name=r.name, kind=r.kind,
            verdict=r.verdict, psi=_fmt(m.get("psi")), second=_fmt(second),
            miss=_fmt(m.get("missing_share_change")), why=r.decided_by))
    return str(Markup(_DRIFT_PAGE).format(
        title=title, source=source, n_rows=f"{comparison.rows:,}", verdict=d.verdict.upper(),
        decided_by=d.decided_by, rows=Markup("").join(rows), thresholds=json.dumps(comparison.thresholds)))


def _fmt(value: Any) -> Any:
    """A figure of the report: four significant digits, a dash when there is none."""
    if value is None:
        return "\u2014"  # an em dash
    if isinstance(value, float):
        return f"{value:.4g}"
    return value
