"""Why a model version decides as it does: each column's contribution to each row's
score, and per row the reasons (the columns that pushed it most towards its decision).

The contributions and reasons are computed by ``mlops_model_support`` (the code every
export package carries), with the same training means and the same decision threshold
as the version's package (the validation its approval rested on), so the app's reasons
equal the package's for the same rows. Across a holdout they are summarised for the
Validate page and the model card (:func:`holdout_contributions`), stored with the
validation so that a stored validation reopens without recomputing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Optional

import numpy as np
import pandas as pd
from mlops_model_support.contributions import Contributions, Explainer, ExplainError, background
from mlops_model_support.labels import class_label
from mlops_model_support.reasons import ReasonsError, cell_texts, decisions, reasons

from .. import numbers
from ..checks.result import json_safe
from .errors import ValidationError

if TYPE_CHECKING:
    from ..workspace import Workspace

#: array elements the holdout's contributions may take (about half a minute)
HOLDOUT_WORK = 3e9
#: rows of the holdout kept with the validation, each with its contributions (the chart's points)
KEPT_ROWS = 500
#: rows the command shows when none are named
DEFAULT_ROWS = 10
#: rows of data larger than memory explained at once (read into memory with their contributions)
MOST_ROWS_EXPLAINED = 100_000
#: what contributions are, for every page, card and command that shows them
NOT_CAUSES = ("Contributions describe the model, not causes: they say how far each column moved this model's "
              "score from its base value, not what would happen if the value changed in the world.")


@dataclass
class VersionExplainer:
    """A version's explainer with its decision threshold and positive class (those of
    the validation its approval rested on, as its package has them)."""

    ref: str
    explainer: Explainer
    threshold: Optional[float]
    positive_class: Optional[str]
    target: str

    def explain(self, frame: pd.DataFrame) -> Contributions:
        """Each row's contributions to the version's output; raises ValidationError when the
        rows cannot be explained."""
        try:
            return self.explainer.explain(frame[self.explainer.columns])
        except ExplainError as exc:
            raise ValidationError(str(exc)) from None


def version_explainer(ws: "Workspace", ref: str) -> VersionExplainer:
    """The explainer of a registered version: its model, the training means of its
    linear parts (from its training rows) and its decision threshold."""
    from .threshold import decision_threshold
    from ..store.exports import approved_validation
    from ..train import find_version, load_model, load_split

    mv = find_version(ws, ref)
    model = load_model(ws, mv.ref)
    train, _ = load_split(ws, mv.run_id)
    classes = [class_label(c) for c in getattr(model, "classes_", [])] if mv.task != "regression" else None
    validation = approved_validation(ws.registry, mv.id)
    threshold, positive = decision_threshold((validation or {}).get("report") or {}, classes)
    return _explainer(mv.ref, model, train, threshold, positive, mv.target)


def _explainer(ref: str, model: Any, train: pd.DataFrame, threshold: Optional[float],
               positive: Optional[str], target: str) -> VersionExplainer:
    columns = [str(c) for c in model.feature_names_in_]
    try:
        explainer = Explainer(model, background(model, train[columns]), positive_class=positive, target=target)
    except ExplainError as exc:
        raise ValidationError(str(exc)) from None
    return VersionExplainer(ref, explainer, threshold, positive, target)


# -- rows of a file, for the command ------------------------------------------------------------

@dataclass
class Reason:
    """A column that pushed a row's score towards its decision: its value as the model
    read it (None: missing) and its signed contribution."""

    column: str
    value: Optional[str]
    contribution: float


@dataclass
class RowExplanation:
    """One row: its decision, where its score starts and ends, its reasons and every
    column's value and contribution."""

    row: int                      # 1-based position in the data
    decision: Optional[str]       # the class decided (None for a regression)
    output: str                   # what the score is, in words
    base: float
    score: float
    reasons: list[Reason]
    contributions: dict[str, float]
    values: dict[str, Optional[str]]

    def headline(self) -> str:
        """The row's decision and score in one sentence."""
        decided = f"decided {self.decision!r}: " if self.decision is not None else ""
        return (f"Row {self.row:,}, {decided}{self.output} {numbers.value(self.score)}, "
                f"from a base value of {numbers.value(self.base)}.")

    def sentences(self) -> list[str]:
        """Its reasons in words, largest first (none when no column pushed the score
        towards its decision)."""
        return [f"{r.column} = {'missing' if r.value is None else r.value} "
                f"{'raised' if r.contribution > 0 else 'lowered'} the {self.output} by "
                f"{numbers.value(abs(r.contribution))}" for r in self.reasons]

    def steps(self, top: int = 10) -> tuple[list[str], list[float]]:
        """The way from the base value to the score: the ``top`` columns that moved it
        most (each labelled with its value), then the rest together, so that the steps
        add up to the score."""
        order = sorted(self.contributions, key=lambda c: -abs(self.contributions[c]))
        names = [f"{c} = {'missing' if self.values[c] is None else self.values[c]}" for c in order[:top]]
        steps = [self.contributions[c] for c in order[:top]]
        if len(order) > top:
            names.append(f"{len(order) - top} other columns")
            steps.append(float(sum(self.contributions[c] for c in order[top:])))
        return names, steps


@dataclass
class Explanation:
    """Rows of a file or dataset explained by a version."""

    ref: str
    data: str
    rows_in_data: int
    top: int
    threshold: Optional[float]
    positive_class: Optional[str]
    scale: str
    rows: list[RowExplanation] = field(default_factory=list)
    note: str = NOT_CAUSES

    def to_dict(self) -> dict[str, Any]:
        """The explanation as JSON-safe values."""
        return json_safe(asdict(self))


def parse_rows(spec: Optional[str], n: int) -> np.ndarray:
    """0-based positions from a 1-based spec such as ``1-10,15`` (``all`` for every row;
    default: the first :data:`DEFAULT_ROWS`)."""
    if spec is None:
        return np.arange(min(n, DEFAULT_ROWS))
    if spec.strip().lower() == "all":
        return np.arange(n)
    chosen: list[int] = []
    for part in spec.split(","):
        part = part.strip()
        try:
            low, _, high = part.partition("-")
            first, last = int(low), int(high) if high else int(low)
        except ValueError:
            raise ValidationError(f"--rows takes row numbers and ranges such as 1-10,15 (or all); not {part!r}.") from None
        if not 1 <= first <= last <= n:
            raise ValidationError(f"Rows {part} are not within the data's rows 1 to {n:,}.")
        chosen += range(first - 1, last)
    return np.asarray(list(dict.fromkeys(chosen)), dtype=np.intp)


def explain_rows(ws: "Workspace", ref: str, data: str, *, rows: Optional[str] = None, top: int = 3) -> Explanation:
    """Explain rows of ``data`` (a file, or a dataset of the workspace) with ``ref``: per
    row its decision, its ``top`` reasons (as ``score.py --reasons`` gives them) and every
    column's contribution. Only the chosen rows are read: a file or dataset larger than
    memory stays on disk, and at most :data:`MOST_ROWS_EXPLAINED` of its rows are explained
    at once."""
    from ..monitor.batches import load_batch

    version = version_explainer(ws, ref)
    batch = load_batch(data, ws)
    n = batch.rows
    chosen = parse_rows(rows, n)
    if batch.table is None and len(chosen) > MOST_ROWS_EXPLAINED:
        raise ValidationError(f"{batch.label} is larger than memory ({n:,} rows): explain at most "
                              f"{MOST_ROWS_EXPLAINED:,} of its rows at once (--rows 1-{MOST_ROWS_EXPLAINED}), "
                              "or score it with the exported package's score.py --reasons, which reads it "
                              "in chunks.")
    # raw rows for a model trained on prepared data go through its recipe first (row by
    # row, as score.py takes them; the index keeps each row's position in the file; rows
    # outside the model's scope are left out)
    frame, scope = _as_the_model_takes(_recipe_of(ws, version.ref), _rows_at(batch, chosen),
                                       batch.source.get("recipe_sha256"), batch.label)
    missing = [c for c in version.explainer.columns if c not in frame.columns]
    if missing:
        raise ValidationError(f"{batch.label} lacks the column(s) the model needs: {', '.join(missing)}.")
    outside = [int(i) + 1 for i in chosen if i not in frame.index]
    if outside and rows is not None and rows.strip().lower() != "all":
        raise ValidationError(f"Row{'s' if len(outside) > 1 else ''} {', '.join(map(str, outside[:10]))} of "
                              f"{batch.label} lie{'' if len(outside) > 1 else 's'} outside the model's scope "
                              f"({', '.join(scope)}): the package rejects such rows, so they have no reasons.")
    chosen = np.asarray([i for i in chosen if i in frame.index], dtype=np.intp)
    part = frame.loc[chosen].reset_index(drop=True)
    typed = typed_inputs(version.explainer.model, part)
    explained = version.explain(typed)
    out = Explanation(version.ref, batch.label, n, top, version.threshold, version.positive_class,
                      explained.scale)
    out.rows = _rows(version, typed, explained, chosen + 1, top)
    return out


def _rows_at(batch: Any, chosen: np.ndarray) -> pd.DataFrame:
    """The rows of ``batch`` (a monitor's batch) at positions ``chosen`` (in file order, indexed by position):
    from memory, or row group by row group from a batch on disk."""
    import pyarrow as pa

    from ..data.types import normalise_table

    positions = np.unique(chosen)
    # rows of a file on disk are read as they lie: typed here as an import types them
    table = (batch.table.take(pa.array(positions)) if batch.table is not None
             else normalise_table(batch.on_disk.take_rows(positions)))
    frame = table.to_pandas()
    frame.index = positions
    return frame


def _recipe_of(ws: "Workspace", ref: str) -> Any:
    """The recipe the version ``ref`` applies to raw rows (None: trained on imported data)."""
    from ..prepare import model_recipe
    from ..train import find_version

    return model_recipe(ws, find_version(ws, ref))


def _as_the_model_takes(found: Any, frame: pd.DataFrame, prepared_by: Optional[str],
                        what: str) -> tuple[pd.DataFrame, list[str]]:
    """``frame``'s rows as a version's model takes them (``found``: its recipe, from
    :func:`_recipe_of`), and its scope in words: raw rows through the recipe of its
    training data (those outside its scope left out, each kept row keeping its index in
    ``frame``), rows prepared by the same recipe as they are."""
    from ..prepare.scope import rows_as_model_takes

    scoped = rows_as_model_takes(found, frame, prepared_by, what, ValidationError)
    if scoped is None:
        return frame, []
    kept = scoped.frame
    kept.index = frame.index[kept.index]  # positions in ``frame`` back to its own index
    return kept, scoped.scope


def _rows(version: VersionExplainer, typed: pd.DataFrame, explained: Contributions, numbered: np.ndarray,
          top: int) -> list[RowExplanation]:
    """The explained rows (numbered ``numbered``) with their decisions and reasons, as the
    package's ``score.py --reasons`` gives them."""
    if not explained.rows:
        return []
    try:
        decided = decisions(explained, threshold=version.threshold)
        found = reasons(explained, typed, decided, top)
    except ReasonsError as exc:
        raise ValidationError(str(exc)) from None
    texts = {c: cell_texts(typed[c]) for c in explained.columns}
    out = []
    for i, number in enumerate(numbered):
        k = int(decided.output[i])
        decision = None
        if explained.classes is not None:
            cls = explained.classes[k]
            decision = cls if decided.direction[i] > 0 else _other_class(version, cls)
        out.append(RowExplanation(
            row=int(number), decision=decision, output=explained.outputs[k],
            base=float(explained.base[i, k]), score=float(explained.raw[i, k]),
            reasons=[Reason(found[f"reason_{j}"][i], found[f"reason_{j}_value"][i],
                            float(found[f"reason_{j}_contribution"][i]))
                     for j in range(1, top + 1) if found[f"reason_{j}"][i] is not None],
            contributions={c: float(explained.values[i, j, k]) for j, c in enumerate(explained.columns)},
            values={c: texts[c][i] for c in explained.columns}))
    return out


def typed_inputs(model: Any, frame: pd.DataFrame) -> pd.DataFrame:
    """The model's input columns as it reads them (numbers as floats, categories as
    labels), as a package's scoring prepares them: the values reasons show."""
    from mlops_model_support.labels import category_labels, numeric_values

    numeric: set[str] = set()
    pipelines = [model.fallback_, *model.segment_pipelines_.values()] if hasattr(model, "segment_pipelines_") \
        else [model]
    for pipeline in pipelines:
        first = pipeline.steps[0][1] if hasattr(pipeline, "steps") else None
        numeric |= {str(c) for c in getattr(first, "numeric", ())}
    columns = [str(c) for c in model.feature_names_in_]
    return pd.DataFrame({c: numeric_values(frame[c]) if c in numeric else category_labels(frame[c]) for c in columns},
                        index=frame.index, columns=columns)


def _other_class(version: VersionExplainer, cls: str) -> Optional[str]:
    classes = [class_label(c) for c in getattr(version.explainer.model, "classes_", [])]
    others = [c for c in classes if c != cls]
    return others[0] if len(others) == 1 else None


# -- the holdout, for the Validate page and the model card ---------------------------------------

def holdout_contributions(explainer: Explainer, holdout: pd.DataFrame, *, threshold: Optional[float],
                          seed: int) -> dict[str, Any]:
    """Contributions across holdout rows: per column the mean absolute contribution
    (columns by it, largest first) and, for up to :data:`KEPT_ROWS` rows, each row's
    values and contributions (the chart's points and the rows "Why this prediction?"
    shows at once). The output explained: the positive class's score for two classes,
    the predicted class's for more, the prediction for a regression. A holdout whose
    contributions would take long (a large forest) is sampled, and the result says so."""
    from .inspection import sample_positions

    frame = typed_inputs(explainer.model, holdout)
    limit = max(1, explainer.row_limit(HOLDOUT_WORK))
    used = sample_positions(len(frame), limit, seed)
    explained = explainer.explain(frame.iloc[used])
    chosen = decisions(explained, threshold=threshold)
    rows = np.arange(explained.rows)
    values = explained.values[rows, :, chosen.output]
    kept = np.sort(np.random.default_rng(seed).permutation(len(used))[:KEPT_ROWS])
    columns = []
    for j, c in enumerate(explained.columns):
        numeric = pd.api.types.is_numeric_dtype(frame[c].dtype) and not pd.api.types.is_bool_dtype(frame[c].dtype)
        columns.append({"column": c, "mean_abs": float(np.mean(np.abs(values[:, j]))) if len(values) else 0.0,
                        "kind": "numeric" if numeric else "categorical"})
    order = sorted(range(len(columns)), key=lambda j: -columns[j]["mean_abs"])
    part = frame.iloc[used[kept]]
    return json_safe({
        "outputs": explained.outputs, "scale": explained.scale, "rows": int(explained.rows),
        "holdout_rows": int(len(frame)), "sampled": bool(len(used) < len(frame)),
        "columns": [columns[j] for j in order],
        "points": {
            "row": [int(r) + 1 for r in used[kept]],
            "output": [explained.outputs[int(k)] for k in chosen.output[kept]],
            "base": explained.base[kept, chosen.output[kept]].tolist(),
            "score": explained.raw[kept, chosen.output[kept]].tolist(),
            "values": {c: cell_texts(part[c]).tolist() for c in explained.columns},
            "contributions": {c: values[kept, j].tolist() for j, c in enumerate(explained.columns)},
        },
        "additivity": explained.gap(),
        "note": NOT_CAUSES,
    })


def contributions_intro(summary: dict[str, Any]) -> str:
    """What the columns' contributions on a card or page are, in one paragraph."""
    outputs = summary.get("outputs") or ["the score"]
    what = outputs[0] if len(outputs) == 1 else "the score of each row's predicted class"
    rows = f"{summary['rows']:,} holdout rows" + (f" (a random sample of {summary['holdout_rows']:,})"
                                                  if summary.get("sampled") else "")
    return (f"How far each column moved the model's {what} from its base value, on average over {rows} "
            f"(mean absolute contribution, largest first; exact: base value + contributions = the score). "
            + NOT_CAUSES)


def explain_row(ws: "Workspace", ref: str, row: int, *, data: Optional[str | int] = None,
                top: int = 3) -> RowExplanation:
    """One row explained, with its ``top`` reasons: a row of the version's holdout (its
    position, from 1, among the rows with a target, as the validation numbers them), or
    of the dataset ``data`` (numbered the same way when it has the target, else every
    row counts: a batch to score)."""
    from ..data.on_disk import too_large_for_memory
    from ..prepare import derivation
    from ..train import find_version, load_split

    mv = find_version(ws, ref)
    version = version_explainer(ws, ref)
    if data is not None:
        ds = ws.dataset(data)
        where = f"dataset {ds.name!r}"
        if too_large_for_memory(ds.snapshot_bytes):
            rows, row = _dataset_row_on_disk(ws, version, ds, row, mv.target, where), 1
        else:
            # numbered as a validation on the dataset numbers them: after the model's recipe, in its scope
            rows, _ = _as_the_model_takes(_recipe_of(ws, version.ref), ws.load_table(ds).to_pandas(),
                                          derivation(ws, ds).prepared_by, where)
            rows = rows.reset_index(drop=True)
    else:
        _, rows = load_split(ws, mv.run_id)
        where = "the holdout"
    if mv.target in rows.columns:
        rows = rows[rows[mv.target].notna()].reset_index(drop=True)
    missing = [c for c in version.explainer.columns if c not in rows.columns]
    if missing:
        raise ValidationError(f"{where} lacks the column(s) the model needs: {', '.join(missing)}.")
    if not 1 <= row <= len(rows):
        raise ValidationError(f"{where[0].upper()}{where[1:]} has rows 1 to {len(rows):,}; there is no row {row:,}."
                              if len(rows) else f"{where[0].upper()}{where[1:]} has no rows to explain.")
    typed = typed_inputs(version.explainer.model, rows.iloc[[row - 1]])
    return _rows(version, typed, version.explain(typed), np.array([row]), top)[0]


def _dataset_row_on_disk(ws: "Workspace", version: VersionExplainer, ds: Any, row: int, target: str,
                        where: str) -> pd.DataFrame:
    """Row ``row`` of a dataset larger than memory, numbered as :func:`explain_row` numbers
    them (after the model's recipe, in its scope, with a target when the dataset has it),
    found by reading the snapshot in parts: a frame of that one row."""
    from ..data.catalog import snapshot_path
    from ..data.on_disk import OnDiskTable
    from ..prepare import derivation

    table = OnDiskTable.open(snapshot_path(ws, ds), ws.snapshots_dir, fingerprint=ds.fingerprint)
    prepared_by = derivation(ws, ds).prepared_by
    found = _recipe_of(ws, version.ref)  # once, not per part
    seen = 0
    for part in table.batches():
        rows, _ = _as_the_model_takes(found, part.to_pandas(), prepared_by, where)
        if target in rows.columns:
            rows = rows[rows[target].notna()]
        if 1 <= row <= seen + len(rows):
            return rows.iloc[[row - seen - 1]].reset_index(drop=True)
        seen += len(rows)
    raise ValidationError(f"{where[0].upper()}{where[1:]} has rows 1 to {seen:,}; there is no row {row:,}."
                          if seen else f"{where[0].upper()}{where[1:]} has no rows to explain.")


# -- the holdout's contributions, typed for the Validate page --------------------------------------

@dataclass
class ColumnSpread:
    """One column across the kept holdout rows: its mean absolute contribution (over
    every row explained) and per kept row its contribution, its shade (where its value
    stands among the kept rows' values, 0 lowest to 1 highest; None for a category or a
    missing value) and its row number."""

    column: str
    mean_abs: float
    contributions: list[float]
    shades: list[Optional[float]]
    rows: list[int]


@dataclass
class HoldoutContributions:
    """The contributions a validation kept, ready to draw: the columns by mean absolute
    contribution, largest first; ``dataset``: the dataset the validation's rows came
    from (None: the version's holdout), so that a kept row can be explained again."""

    intro: str
    output: str
    columns: list[ColumnSpread]
    dataset: Optional[int]


def holdout_view(summary: dict[str, Any]) -> Optional[HoldoutContributions]:
    """The stored summary of :func:`holdout_contributions` as typed data; None when the
    validation has none."""
    if not summary or not summary.get("columns"):
        return None
    points = summary["points"]
    spreads = []
    for c in summary["columns"]:
        name = c["column"]
        shades: list[Optional[float]] = [None] * len(points["row"])
        if c["kind"] == "numeric":
            x = pd.to_numeric(pd.Series(points["values"][name], dtype=object), errors="coerce")
            ranked = x.rank(pct=True, method="average")  # by rank: an outlier leaves the others their colours
            low, high = ranked.min(), ranked.max()
            if high > low:
                shades = [None if pd.isna(v) else float((v - low) / (high - low)) for v in ranked]
        spreads.append(ColumnSpread(name, float(c["mean_abs"]), [float(v) for v in points["contributions"][name]],
                                    shades, [int(r) for r in points["row"]]))
    outputs = summary.get("outputs") or ["score"]
    output = outputs[0] if len(outputs) == 1 else "score of the predicted class"
    return HoldoutContributions(contributions_intro(summary), output, spreads, summary.get("dataset"))
