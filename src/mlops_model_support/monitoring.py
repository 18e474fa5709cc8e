"""The monitoring summary of a scoring run (``score.py --monitor-out``): what the app
needs to watch a batch scored on IT's machines, and nothing of its rows.

It holds the counts of the run (rows read, scored, rejected, and rejects by kind of
reason: which column held what kind of bad value, never the value), per feature the
batch's counts on cells of the reference (see :class:`FeatureCells`), the same for the
model's predictions, the estimated performance (``performance``), the package's and
the model's hashes, and the time. No id, no row, no text of any cell: values of
different columns are never linked, and a category the reference does not know is
counted, not named.

What a cell can show: a numeric feature's cells are cut at the reference's PSI edges,
between the reference profile's values and at its minimum and maximum, and each keeps
the count and the sum of its values (so the app can measure drift as it does on rows).
A cell that holds a single row (or one repeated value) therefore shows that value, as
any histogram of a column would; it cannot be tied to a row.

The app reads the summary back (``mlops-desktop monitor import``) and compares the
cells with the version's reference using the same measures (``drift``): PSI,
Jensen–Shannon, chi-square, missing shares and the range rule are exact; Wasserstein
and KS are measured on the cells' means, within the cells' widths of the values.

Integrity: the summary's body is hashed (SHA-256 over its canonical JSON). That catches
a summary damaged on its way (a truncated copy, an edited number); it does not prove
who wrote it: anyone holding the package can write a summary with a correct hash.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections import Counter
from dataclasses import dataclass
from typing import Any, Mapping, Optional, Sequence

import numpy as np

from . import drift as metrics
from . import performance as perf

SUMMARY_TYPE = "mlops-desktop monitoring summary"
SUMMARY_FORMAT = 1


class SummaryError(ValueError):
    """A summary that cannot be read or is damaged; the message says why."""


def canonical(value: Any) -> bytes:
    """The canonical JSON of a value: sorted keys, no spaces, UTF-8 (what is hashed)."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                      allow_nan=False).encode("utf-8")


def body_hash(body: Mapping[str, Any]) -> str:
    """The SHA-256 of a summary's body, written canonically, that the summary carries."""
    return hashlib.sha256(canonical(body)).hexdigest()


# -- cells ---------------------------------------------------------------------------------

def numeric_edges(profile: metrics.FeatureProfile) -> np.ndarray:
    """The cells' inner edges for a numeric feature: the PSI edges, the midpoints
    between the reference's values (or sketch atoms), its minimum and just above its
    maximum (so the values outside its range have cells of their own)."""
    dist = profile.distribution
    assert isinstance(dist, metrics.NumericDistribution)
    v = dist.values
    parts = [np.asarray(profile.edges, dtype=np.float64), (v[1:] + v[:-1]) / 2]
    if dist.minimum is not None and dist.maximum is not None:
        parts.append(np.array([dist.minimum, np.nextafter(dist.maximum, np.inf)]))
    edges = np.unique(np.concatenate(parts))
    return edges[np.isfinite(edges)]


class FeatureCells:
    """One column's counts on the reference's cells, over every chunk. Numbers: per
    cell the count and the sum of the values; categories: the count of each category
    the reference lists, and of the others (count and how many distinct) without
    their names."""

    def __init__(self, name: str, profile: metrics.FeatureProfile) -> None:
        self.name, self.kind = name, profile.kind
        self.rows = self.missing = 0
        if self.kind == metrics.NUMERIC:
            self.edges = numeric_edges(profile)
            self.counts = np.zeros(len(self.edges) + 1)
            self.sums = np.zeros(len(self.edges) + 1)
            self.sum_squares = 0.0
        else:
            dist = profile.distribution
            assert isinstance(dist, metrics.CategoricalDistribution)
            self.known = {c: i for i, c in enumerate(dist.counts)}
            self.category_counts = np.zeros(len(self.known))
            self.new_rows = 0
            self._new: set[str] = set()  # only to count them; never written

    def add_numbers(self, values: np.ndarray) -> None:
        """Count a chunk of numbers into the reference's cells (non-finite values count as
        missing)."""
        values = np.asarray(values, dtype=np.float64)
        self.rows += len(values)
        finite = values[np.isfinite(values)]
        self.missing += len(values) - len(finite)
        cell = np.searchsorted(self.edges, finite, side="right")
        self.counts += np.bincount(cell, minlength=len(self.counts))
        self.sums += np.bincount(cell, weights=finite, minlength=len(self.counts))
        self.sum_squares += float(np.dot(finite, finite))

    def add_labels(self, labels: Sequence[Any]) -> None:
        """Count a chunk of categories: those the reference lists, missing values, and others
        (without their names)."""
        import pandas as pd

        distinct = pd.Series(np.asarray(labels, dtype=object)).value_counts(dropna=False)
        counted: Counter = Counter()
        for value, n in distinct.items():
            counted[metrics.category_label(value)] += int(n)
        self.rows += sum(counted.values())
        for label, n in counted.items():
            if label is None:
                self.missing += n
            elif label in self.known:
                self.category_counts[self.known[label]] += n
            else:
                self.new_rows += n
                self._new.add(label)

    def partial(self) -> dict[str, Any]:
        """The counts so far as plain JSON, to be added to another's counts of the same
        column (:meth:`add_partial`): a Spark task's, sent to its driver. It names the
        new categories it met, so that the driver counts them once across tasks; the
        summary never does."""
        out: dict[str, Any] = {"rows": int(self.rows), "missing": int(self.missing)}
        if self.kind == metrics.NUMERIC:
            out.update(counts=self.counts.tolist(), sums=self.sums.tolist(), sum_squares=self.sum_squares)
        else:
            out.update(category_counts=self.category_counts.tolist(), new_rows=int(self.new_rows),
                       new=sorted(self._new))
        return out

    def add_partial(self, part: Mapping[str, Any]) -> None:
        """Add counts of the same column given by :meth:`partial` (cells add up: the
        result is the counts of both parts' rows together)."""
        self.rows += int(part["rows"])
        self.missing += int(part["missing"])
        if self.kind == metrics.NUMERIC:
            self.counts += np.asarray(part["counts"], dtype=np.float64)
            self.sums += np.asarray(part["sums"], dtype=np.float64)
            self.sum_squares += float(part["sum_squares"])
        else:
            self.category_counts += np.asarray(part["category_counts"], dtype=np.float64)
            self.new_rows += int(part["new_rows"])
            self._new.update(str(c) for c in part["new"])

    def outside_share(self) -> float:
        """The share of values outside the reference (its range, its categories)."""
        count = self.rows - self.missing
        if not count:
            return 0.0
        if self.kind == metrics.NUMERIC:
            return float(self.counts[0] + self.counts[-1]) / count
        return self.new_rows / count

    def to_dict(self) -> dict[str, Any]:
        """The column's counts as the summary writes them (cells with their count and sum, or
        categories with their count)."""
        out: dict[str, Any] = {"kind": self.kind, "rows": int(self.rows), "missing": int(self.missing)}
        if self.kind == metrics.NUMERIC:
            used = np.flatnonzero(self.counts)
            out.update(edges=[float(e) for e in self.edges],
                       cells=[[int(i), int(self.counts[i]), float(self.sums[i])] for i in used],
                       sum_squares=float(self.sum_squares))
        else:
            names = list(self.known)
            out.update(categories=[[names[i], int(n)] for i, n in enumerate(self.category_counts) if n],
                       new_rows=int(self.new_rows), new_categories=len(self._new))
        return out


def cells_distribution(cells: Mapping[str, Any]) -> metrics.Distribution:
    """A feature's distribution rebuilt from its cells, for the drift measures: each
    numeric cell stands as its values' mean with their count; unknown categories as
    one (the summary does not name them). Raises :class:`SummaryError` when damaged."""
    try:
        rows, missing = int(cells["rows"]), int(cells["missing"])
        if cells["kind"] == metrics.NUMERIC:
            edges = np.asarray(cells["edges"], dtype=np.float64)
            index = np.asarray([c[0] for c in cells["cells"]], dtype=np.int64)
            counts = np.asarray([c[1] for c in cells["cells"]], dtype=np.float64)
            sums = np.asarray([c[2] for c in cells["cells"]], dtype=np.float64)
            if len(index) and (index.min() < 0 or index.max() > len(edges) or (counts <= 0).any()):
                raise SummaryError(f"the cells of {cells.get('name', 'a feature')} do not fit their edges")
            means = sums / np.where(counts > 0, counts, 1)
            lower = np.concatenate(([-np.inf], edges))[index]
            upper = np.concatenate((edges, [np.inf]))[index]
            means = np.clip(means, lower, np.nextafter(upper, -np.inf))  # each mean stays in its cell
            order = np.argsort(means, kind="stable")
            values, weights = means[order], counts[order]
            n = float(weights.sum())
            if int(round(n)) != rows - missing:
                raise SummaryError("a feature's cells do not add up to its rows")
            mean = float(sums.sum() / n) if n else None
            var = (float(cells["sum_squares"]) - n * mean * mean) / (n - 1) if n > 1 and mean is not None else None
            std = math.sqrt(max(var, 0.0)) if var is not None else None
            return metrics.NumericDistribution(values, weights, rows, missing, mean, std,
                                               float(values[0]) if n else None, float(values[-1]) if n else None,
                                               exact=False)
        counts_map = {str(k): int(v) for k, v in cells["categories"]}
        new_rows = int(cells["new_rows"])
        if new_rows:
            counts_map[NEW_CATEGORIES] = new_rows
        ordered = dict(sorted(counts_map.items(), key=lambda kv: (-kv[1], kv[0])))
        if sum(ordered.values()) != rows - missing:
            raise SummaryError("a feature's categories do not add up to its rows")
        return metrics.CategoricalDistribution(ordered, rows, missing)
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        if isinstance(exc, SummaryError):
            raise
        raise SummaryError(f"a feature's cells are damaged ({type(exc).__name__}: {exc})") from None


#: how the categories a reference does not know stand in a distribution rebuilt from cells
NEW_CATEGORIES = "(categories the reference does not have)"


# -- rejects by kind ---------------------------------------------------------------------

def reject_kind(reason: str, columns: Sequence[str]) -> str:
    """A reject's reason without its value: "COLUMN: not a number", "COLUMN: infinite
    or too large", "malformed row", "outside the model's scope" (its training data's
    filters), "the model could not score the row", "no finite score", or "other"."""
    from .recipe import out_of_scope

    if out_of_scope(reason):
        return "outside the model's scope"
    for name in sorted(columns, key=len, reverse=True):
        if reason.startswith(f"{name}: "):
            rest = reason[len(name) + 2:]
            if rest.startswith("value is infinite"):
                return f"{name}: infinite or too large"
            if " is not a number" in rest:
                return f"{name}: not a number"
            return f"{name}: other"
    if reason.startswith("the row has ") and "field(s) where the header has" in reason:
        return "malformed row (wrong number of fields)"
    if reason.startswith("the model could not score this row"):
        return "the model could not score the row"
    if reason.startswith("the model gave no finite score"):
        return "the model gave no finite score"
    return "other"


# -- the summary ---------------------------------------------------------------------------

@dataclass
class BatchMonitor:
    """What a scoring run gathers for its summary, chunk by chunk."""

    profile: metrics.ReferenceProfile
    calibration: Optional[perf.Calibration]
    classes: Optional[list[str]]
    segment: Optional[str] = None
    #: "drift" for a run that counts the features without scoring (``spark_drift.py``);
    #: the summary says so, and the app words its note accordingly
    job: str = "score"

    def __post_init__(self) -> None:
        self.features = {n: FeatureCells(n, fp) for n, fp in self.profile.features.items()}
        self.prediction = (FeatureCells("prediction", self.profile.predictions)
                           if self.profile.predictions is not None and self.job == "score" else None)
        self.tally = perf.Tally(self.calibration) if self.calibration is not None else None
        self.segment_tallies: dict[str, perf.Tally] = {}
        self.rejects: Counter = Counter()

    def add(self, frame: Any, reasons: np.ndarray, outputs: Mapping[str, np.ndarray], scored: np.ndarray) -> None:
        """One chunk: the prepared input columns (every row read), each row's reject
        reason (None when scored), the outputs and which rows were scored."""
        self._add_features(frame, reasons[~scored])
        if not scored.any():
            return
        if self.prediction is not None:
            if self.prediction.kind == metrics.NUMERIC:
                self.prediction.add_numbers(self._scores(outputs)[scored])
            else:
                self.prediction.add_labels(np.asarray(outputs["prediction"])[scored])
        if self.tally is not None and self.classes:
            proba = np.column_stack([np.asarray(outputs[f"probability_{c}"], dtype=np.float64)[scored]
                                     for c in self.classes])
            self.tally.add(proba)
            if self.segment and self.segment in frame:
                labels = np.asarray([metrics.category_label(v) or "(missing)"
                                     for v in frame[self.segment].to_numpy()[scored]], dtype=object)
                for value in set(labels.tolist()):
                    part = self.segment_tallies.setdefault(value, perf.Tally(self.calibration))
                    part.add(proba[labels == value])

    def add_features(self, frame: Any, reasons: np.ndarray) -> None:
        """One chunk of a run that does not score (:attr:`job` "drift"): the features'
        counts (every row read), and the rows score.py would reject, by reason."""
        self._add_features(frame, np.asarray([r for r in reasons if r is not None], dtype=object))

    def _add_features(self, frame: Any, rejected: np.ndarray) -> None:
        for name, cells in self.features.items():
            if name not in frame:
                continue
            column = frame[name].to_numpy()
            if cells.kind == metrics.NUMERIC:
                cells.add_numbers(column)
            else:
                cells.add_labels(column)
        for reason in rejected:
            self.rejects[reject_kind(str(reason), list(frame.columns))] += 1

    def partial(self) -> dict[str, Any]:
        """The features' counts and the rejects so far, as plain JSON (see
        :meth:`FeatureCells.partial`), for a run that does not score."""
        return {"features": {n: c.partial() for n, c in self.features.items()},
                "rejects": dict(self.rejects)}

    def add_partial(self, part: Mapping[str, Any]) -> None:
        """Add another part's features' counts and rejects (:meth:`partial`): the counts of
        both parts' rows together."""
        for name, cells in part["features"].items():
            self.features[name].add_partial(cells)
        self.rejects.update({str(k): int(v) for k, v in part["rejects"].items()})

    def _scores(self, outputs: Mapping[str, np.ndarray]) -> np.ndarray:
        """The score prediction drift watches: the probability of the model's second
        class (as the app takes it), or the prediction of a regressor."""
        if self.classes and len(self.classes) == 2:
            return np.asarray(outputs[f"probability_{self.classes[1]}"], dtype=np.float64)
        return np.asarray(outputs["prediction"], dtype=np.float64)

    def estimated(self) -> Optional[perf.PerformanceEstimate]:
        """The performance estimated from the scores seen (per segment too, where a segment
        has enough rows); None when there is nothing to estimate from."""
        if self.tally is None or self.tally.rows == 0:
            return None
        reliable, reason = perf.range_check({n: c.outside_share() for n, c in self.features.items()
                                             if c.rows > c.missing})
        out = perf.estimate(self.tally, reliable=reliable, reason=reason)
        for value, part in sorted(self.segment_tallies.items()):
            if part.rows >= perf.MIN_SEGMENT_ROWS:
                out.segments[value] = perf.estimate(part, reliable=reliable, reason=reason)
        return out

    def summary(self, *, run: Mapping[str, Any], package: Mapping[str, Any], scored_at: str) -> dict[str, Any]:
        """The summary to write: ``run`` the scoring run's counts, ``package`` what the
        package is (its manifest's and model's hashes, the model's name and version)."""
        est = self.estimated()
        rejects = Counter(self.rejects)
        if run.get("rows_malformed"):
            rejects["malformed row (wrong number of fields)"] += int(run["rows_malformed"])
        body = metrics.json_safe({
            "package": dict(package), "scored_at": scored_at,
            "input": {"name": os.path.basename(str(run.get("input") or "")), "format": run.get("format")},
            "rows": {"read": run["rows_read"], "scored": run["rows_scored"], "rejected": run["rows_rejected"],
                     "malformed": run.get("rows_malformed", 0)},
            "rejects_by_reason": dict(sorted(rejects.items())),
            "features": {n: c.to_dict() for n, c in self.features.items()},
            "prediction": self.prediction.to_dict() if self.prediction is not None else None,
            "estimated_performance": est.to_dict() if est is not None else None,
        })
        if self.job != "score":
            body["job"] = self.job
        return {"type": SUMMARY_TYPE, "format": SUMMARY_FORMAT, "body": body, "sha256": body_hash(body)}


def read_summary(data: Any) -> dict[str, Any]:
    """The body of a summary, checked: its type, format and hash. Raises
    :class:`SummaryError` saying what is wrong."""
    if not isinstance(data, Mapping) or data.get("type") != SUMMARY_TYPE:
        raise SummaryError("it is not a monitoring summary written by an exported package's score.py")
    if not isinstance(data.get("format"), int) or data["format"] > SUMMARY_FORMAT:
        raise SummaryError(f"it has format {data.get('format')!r}; this app reads up to format {SUMMARY_FORMAT}")
    body = data.get("body")
    if not isinstance(body, Mapping) or not isinstance(data.get("sha256"), str):
        raise SummaryError("its body or its hash is missing")
    try:
        actual = body_hash(body)
    except (TypeError, ValueError) as exc:
        raise SummaryError(f"its body is not plain JSON ({exc})") from None
    if actual != data["sha256"]:
        raise SummaryError(f"its body does not match its SHA-256 (it says {str(data['sha256'])[:12]}…, the body "
                           f"hashes to {actual[:12]}…): it was changed or damaged after it was written")
    return dict(body)
