"""The model card of a model version: what a reviewer reads before approving it.

:class:`ModelCard` holds the facts (the registry fills it); ``card_markdown`` and
``card_html`` render it. Limitations are generated from those facts by
:func:`limitations_from_facts`, never written as free text by the app.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Optional

from .. import numbers
from ..checks.result import json_safe
from ..checks.runner import CHECK_NAMES
from ..data.rows_sample import RowSample
from .metrics import METRIC_INFO, label
from .results import ValidationReport

#: below these the holdout is called small in the limitations
SMALL_HOLDOUT_ROWS = 200
TOP_IMPORTANT = 3


@dataclass
class ModelCard:
    """Everything the card shows about one model version.

    ``dataset``: id, name, fingerprint, rows, date_range ({"column", "start", "end"} or
    None), preparation ({"from", "steps", "scope", "training_only"}, or {"refused"}, for
    prepared data; None for an import). ``checks``: {name, verdict} per assumption check. ``accepted_warnings``: the
    registry's rows (check_id or name, reason, accepted_by, accepted_at).
    ``coefficients``: rows of ``core.train.coefficients.coefficient_table``. ``limitations``: None means
    "generate them from the facts" (:func:`limitations_from_facts`); a list is shown as
    given. ``override``: the recorded decision to move a model that did not beat its
    baseline to validated ({by, at, reason}).
    """

    model_name: str
    version: Any
    stage: str = "draft"
    purpose: str = ""
    created_by: str = ""
    created_at: str = ""
    dataset: dict[str, Any] = field(default_factory=dict)
    target: str = ""
    task: str = ""
    features: list[str] = field(default_factory=list)
    training_spec: dict[str, Any] = field(default_factory=dict)
    checks: list[dict[str, Any]] = field(default_factory=list)
    accepted_warnings: list[dict[str, Any]] = field(default_factory=list)
    validation: Optional[ValidationReport] = None
    coefficients: Optional[list[dict[str, Any]]] = None
    coefficient_notes: list[str] = field(default_factory=list)
    limitations: Optional[list[str]] = None
    approvals: list[dict[str, Any]] = field(default_factory=list)
    segments: Optional[dict[str, Any]] = None
    override: Optional[dict[str, Any]] = None
    #: what a reader of a logistic model must see: fitted with Firth's penalised likelihood
    #: because the classes are separated (naming the columns), or coefficients that mean
    #: nothing (see ``train.coefficients.fit_warning``)
    fit_warning: Optional[str] = None
    #: life after handoff: {"calibration": summary or None, "note": text, "assumption": text,
    #: "batches": [{label, when, verdict, estimated: {metric: [estimate, low, high]}, realized:
    #: {metric: value}, reliable}], the newest ``MONITORED_BATCHES``}; None for an older card
    monitoring: Optional[dict[str, Any]] = None
    #: the challenge of this version against production (a ``ChallengeReport.to_dict()``
    #: with ``by`` and ``decided_at``): for an approved version the last one decided before
    #: its approval, the one its approver saw; None when it was never challenged
    challenge: Optional[dict[str, Any]] = None
    #: the model's terms when it was trained with a formula (``train.formula.model_terms``)
    terms: Optional[dict[str, Any]] = None

    @property
    def title(self) -> str:
        """The card's heading."""
        return f"Model card: {self.model_name} version {self.version}"

    @property
    def self_approved(self) -> bool:
        """True when the approval on record was given by the person who trained the model
        (allowed only in single-user mode)."""
        return any(a.get("self_approved") and (a.get("decision") or a.get("stage")) == "approved"
                   for a in self.approvals)

    def shown_limitations(self) -> list[str]:
        """The limitations the card shows: those written for it, else those that follow from
        its facts."""
        return limitations_from_facts(self) if self.limitations is None else list(self.limitations)

    def to_dict(self) -> dict[str, Any]:
        """The card as JSON-safe values, with its validation and the limitations it shows."""
        d = asdict(self)
        d["validation"] = self.validation.to_dict() if self.validation is not None else None
        d["limitations"] = self.shown_limitations()
        return json_safe(d)


def warning_name(row: dict[str, Any]) -> str:
    """The check's name in words for an accepted-warning row of the registry."""
    check_id = row.get("check_id")
    return str(row.get("name") or CHECK_NAMES.get(check_id) or check_id or "check")


def warning_figures(row: dict[str, Any]) -> str:
    """What was accepted, from the result stored with the acceptance (may be empty)."""
    d = row.get("details") or {}
    parts = []
    if d.get("statistic") is not None:
        parts.append(f"{d.get('statistic_name') or 'statistic'} = {numbers.value(d['statistic'])}")
    if d.get("effect") is not None:
        parts.append(f"{d.get('effect_name') or 'effect'} = {numbers.value(d['effect'])}")
    if d.get("decided_by"):
        parts.append(str(d["decided_by"]))
    return "; ".join(parts)


def preparation_lines(card: ModelCard) -> list[str]:
    """How the training data was prepared, in sentences: from which import, by which
    steps (a model trained on prepared data applies them to the raw rows it scores)."""
    made = (card.dataset or {}).get("preparation")
    if not made:
        return []
    if made.get("refused"):
        return [f"Prepared by a recipe that is refused: {made['refused']}"]
    steps = made.get("steps") or []
    return [f"Prepared from {made.get('from')} by a recipe of {len(steps)} step{'s' if len(steps) != 1 else ''}; "
            "the model applies its row-level steps to the raw rows it scores:",
            *(f"{i}. {step}" for i, step in enumerate(steps, start=1))]


def limitations_from_facts(card: ModelCard) -> list[str]:
    """Limitations that follow from the card's facts: no validation, not beating the
    baseline, a small holdout, a threshold chosen on the holdout, unequal or unreliable
    subgroup results, the features the model relies on most, problems found by the
    checks, accepted warnings, and the period the data covers."""
    out: list[str] = []
    v = card.validation
    if v is None:
        out.append("The model has not been validated on held-out data.")
    else:
        if not v.beats_baseline:
            text = f"Did not beat the baseline ({v.baseline_description}). {v.baseline_verdict}"
            if card.override:
                text += (f" It was moved on by an override recorded by {card.override.get('by', '?')}: "
                         f"{card.override.get('reason', '')}")
            out.append(text)
        if v.n_rows < SMALL_HOLDOUT_ROWS:
            out.append(f"Validated on a small holdout of {v.n_rows:,} rows; the intervals are wide.")
        if v.threshold is not None and v.threshold_rule not in (None, "fixed"):
            out.append(f"The threshold {numbers.value(v.threshold)} was chosen on the holdout, so the metrics "
                       "at that threshold are slightly optimistic.")
        for g in v.subgroups:
            s = g.get("spread")
            if s:
                best = next(x for x in g["groups"] if x["value"] == s["best"])
                worst = next(x for x in g["groups"] if x["value"] == s["worst"])
                out.append(f"{label(s['metric'], v.task)} differs across {g['column']}: "
                           f"{numbers.value(s['worst_value'])} for {s['worst']!r} ({worst['count']:,} rows) "
                           f"against {numbers.value(s['best_value'])} for {s['best']!r} ({best['count']:,} rows).")
            small = [x for x in g["groups"] if not x["reliable"]]
            if small:
                names = ", ".join(f"{x['value']!r} ({x['count']})" for x in small[:5])
                out.append(f"Too few holdout rows to judge {g['column']} = {names}"
                           f"{' and others' if len(small) > 5 else ''}.")
        top = [r for r in v.importance if r["mean"] > 0][:TOP_IMPORTANT]
        if top:
            out.append("The predictions rely most on " + ", ".join(r["feature"] for r in top)
                       + " (permutation importance); a change in how these are recorded or "
                       "distributed will change the model's performance.")
        out.extend(n for n in v.notes if n.startswith(("MAPE is left out", "The holdout holds one class",
                                                       "The holdout has no rows of")))
    if card.fit_warning:
        out.append(card.fit_warning)
    for c in card.checks:
        if c.get("verdict") == "problem":
            out.append(f"The assumption check '{c.get('name')}' found a problem.")
    for w in card.accepted_warnings:
        out.append(f"Accepted warning of '{warning_name(w)}' by {w.get('accepted_by', '?')}: "
                   f"{w.get('reason', '')}")
    made = (card.dataset or {}).get("preparation") or {}
    if made.get("scope"):
        out.append(f"Trained only on rows where {' and '.join(made['scope'])} (the recipe's filters): rows "
                   "outside are rejected with the reason when the exported package scores them.")
    if made.get("training_only"):
        out.append("Trained only on rows the filter(s) " + "; ".join(made["training_only"]) + " kept, which "
                   "read the target: rows to score cannot be checked against them.")
    sample = RowSample.from_dict((card.dataset or {}).get("sample"))
    if sample is not None:
        out.append(sample.note())
    dr = (card.dataset or {}).get("date_range")
    split = (card.dataset or {}).get("split") or {}
    if dr and dr.get("column") and split.get("kind") in ("random", "stratified") \
            and split.get("test_size", 0.2) > 0:
        from ..train.prepare import random_split_note

        out.append(random_split_note(split["kind"], dr["column"]))
    if dr and dr.get("start") and dr.get("end"):
        out.append(f"Trained on data from {data_period(card)}"
                   + (f" (column {dr['column']})" if dr.get("column") else "")
                   + "; behaviour outside that period is untested.")
    return out


def few(group_block: dict[str, Any]) -> str:
    """Why a group of this column is unreliable, in words: too few events (classifiers)
    or too few rows (regression; reports stored before events decided)."""
    return "few events" if group_block.get("reliable_by") == "events" else "few rows"


def metric_rows(v: ValidationReport) -> list[dict[str, Any]]:
    """Model, baseline and difference per metric, for the card's table."""
    rows = []
    for m in v.metrics:
        base = next((b for b in v.baseline_metrics if b.name == m.name), None)
        diff = next((d for d in v.differences if d.name == m.name), None)
        rows.append({"name": m.name, "label": m.label or METRIC_INFO[m.name].label,
                     "better": "higher" if m.higher_is_better else "lower",
                     "model": m, "baseline": base, "difference": diff,
                     "primary": m.name == v.primary_metric})
    return rows


def approval_decision(row: dict[str, Any]) -> str:
    """The decision of an approval row in words, saying when it was a self-approval."""
    decision = str(row.get("decision") or row.get("stage") or "")
    if row.get("self_approved"):
        decision += " — self-approved by the person who trained it (single-user mode, no second person)"
    return decision


def approval_rows(card: ModelCard) -> list[list[Any]]:
    """by, when, decision, comment per approval, for the card's table."""
    return [[a.get("by") or a.get("approver"), numbers.timestamp(a.get("at") or a.get("approved_at")),
             approval_decision(a), a.get("comment")] for a in card.approvals]


#: what a card says when it carries no check results (only accepted warnings are recorded)
NO_CHECK_RESULTS = ("Assumption check results are not stored with a model; run them on the Check page. "
                    "Accepted warnings follow.")


# -- the training in words (the card shows no JSON) -------------------------------------------

def split_in_words(split: Any) -> str:
    """How the rows were split: "random within each class (stratified); 20% held out"
    (text, as older records hold, is returned as it is)."""
    if not split:
        return "not recorded"
    if not isinstance(split, dict):
        return str(split)
    held = split.get("test_size", 0.2)
    if not held:
        return "no holdout: trained on every row"
    share = numbers.share(held, 0)
    column = split.get("column")
    return {"random": f"random; {share} held out",
            "stratified": f"random within each class (stratified); {share} held out",
            "time": f"in time order of {column}: the latest {share} held out",
            "group": f"whole groups of {column} kept together; {share} held out",
            "auto": f"automatic (stratified for a class target, random for a number); {share} held out",
            }.get(str(split.get("kind")), f"{split.get('kind')}; {share} held out")


def _families_in_words(names: list[Any], task: str) -> str:
    from ..errors import MlopsError
    from ..train.families import resolve

    try:
        return ", ".join(f.label for f in resolve([str(n) for n in names], task or "regression"))
    except MlopsError:
        return ", ".join(str(n) for n in names)


def _preprocessing_in_words(options: dict[str, Any]) -> str:
    parts = []
    if "scale" in options:
        parts.append("numbers standardised" if options["scale"] else "numbers not standardised")
    if options.get("encoding"):
        parts.append("categories one-hot encoded" if options["encoding"] == "onehot"
                     else "categories encoded as ordinal codes")
    if options.get("numeric_imputation"):
        parts.append(f"missing numbers filled with the {options['numeric_imputation']}")
    if "rare_min_rows" in options:
        rare = options["rare_min_rows"]
        parts.append(f"categories with fewer than {numbers.count(rare)} training rows grouped as rare"
                     if rare else "rare categories kept as they are")
    return "; ".join(parts) if parts else "each family's defaults"


def terms_in_words(card: ModelCard) -> list[str]:
    """What a model's formula made of its inputs, in sentences (empty without one): the
    formula, its terms, the reference level of each categorical term, how missing values
    are filled, and how predictions of a transformed target come back in its units."""
    terms = card.terms
    if not terms:
        return []
    formula = (card.training_spec or {}).get("formula")
    out = [f"Formula: {formula}" if formula else "Model terms:",
           f"Terms ({len(terms['terms'])}): {', '.join(terms['terms'])}; "
           f"{len(terms['columns'])} design columns, fitted on the training rows only."]
    if terms.get("reference_levels"):
        out.append("Reference levels (the level each categorical term's columns compare with): "
                   + ", ".join(f"{k} = {v}" for k, v in terms["reference_levels"].items()) + ".")
    fills = terms.get("fill_values") or {}
    if fills:
        out.append("Missing inputs are filled with the training rows' "
                   + ", ".join(f"{k} = {numbers.value(v) if isinstance(v, (int, float)) else v}"
                               for k, v in fills.items()) + ".")
    if terms.get("retransform_note"):
        out.append(terms["retransform_note"])
    return out


def training_in_words(card: ModelCard) -> list[tuple[str, str]]:
    """The training settings as (setting, value) rows in words, for the card."""
    spec = card.training_spec or {}
    rows = [("model families tried", _families_in_words(spec.get("models") or [], card.task))]
    split = (card.dataset or {}).get("split") or spec.get("split")
    rows.append(("split", split_in_words(split)))
    if spec.get("cv_folds"):
        rows.append(("cross-validation", f"{spec['cv_folds']} folds"))
    candidates = spec.get("search_candidates") or 0
    budget = spec.get("search_time_budget_s")
    rows.append(("hyperparameter search",
                 f"{numbers.count(candidates)} candidates per family"
                 + (f", at most {numbers.seconds(budget)} per family" if budget else "")
                 if candidates else "none: each family used its default settings"))
    if spec.get("segment_by"):
        rows.append(("segments", f"one model per value of {spec['segment_by']} with at least "
                                 f"{numbers.count(spec.get('min_segment_rows'))} training rows; "
                                 "the other values use one global model"))
    rows.append(("preprocessing", _preprocessing_in_words(spec.get("preprocessing") or {})))
    if spec.get("robust_errors"):
        rows.append(("standard errors", "robust to unequal spread of the residuals"))
    if spec.get("exclude"):
        rows.append(("columns left out by hand", ", ".join(str(c) for c in spec["exclude"])))
    if spec.get("seed") is not None:
        rows.append(("random seed", str(spec["seed"])))
    return rows


def segment_rows(card: ModelCard) -> tuple[list[str], list[list[Any]]]:
    """The segment models as a table: the value each serves, its training and holdout
    rows and its holdout figure on the primary metric."""
    segments = (card.segments or {}).get("segments") or []
    primary = card.validation.primary_metric if card.validation is not None else None
    head = ["segment", "training rows", "holdout rows"] + ([label(primary, card.task)] if primary else [])
    rows = []
    for s in segments:
        name = str(s.get("segment"))
        if s.get("model") == "fallback":
            name = "global model, for " + ", ".join(str(v) for v in (s.get("serves") or ["every other value"]))
        holdout = (s.get("holdout") or {}).get(primary) if primary else None
        rows.append([name, s.get("train_rows"), s.get("holdout_rows")] + ([holdout] if primary else []))
    return head, rows


def data_period(card: ModelCard) -> Optional[str]:
    """The period the training data covers, "2013-01-01 to 2013-06-30", or None."""
    dr = (card.dataset or {}).get("date_range") or {}
    if not dr.get("start"):
        return None
    return f"{numbers.date_or_time(dr['start'])} to {numbers.date_or_time(dr['end'])}"


def monitoring_rows(card: ModelCard) -> list[list[Any]]:
    """The monitored batches as table rows: batch, when, drift verdict, estimated ROC
    AUC and accuracy with their bands, realized ROC AUC and accuracy."""
    def band(b: dict[str, Any], k: str) -> str:
        e = (b.get("estimated") or {}).get(k)
        if not e or e[0] is None:
            return "—"
        return numbers.with_interval(e[0], e[1], e[2]) + ("" if b.get("reliable", True) else " unreliable")

    def real(b: dict[str, Any], k: str) -> str:
        v = (b.get("realized") or {}).get(k)
        return numbers.value(v)

    return [[b["label"], str(b["when"])[:10], b["verdict"], band(b, "roc_auc"), band(b, "accuracy"),
             real(b, "roc_auc"), real(b, "accuracy")] for b in (card.monitoring or {}).get("batches", [])]


MONITORING_HEAD = ["batch", "when", "drift", "ROC AUC estimated (band)", "accuracy estimated (band)",
                   "ROC AUC realized", "accuracy realized"]


def calibration_sentence(card: ModelCard) -> str:
    """How the estimated performance is calibrated, in one sentence."""
    m = card.monitoring or {}
    cal = m.get("calibration")
    if not cal:
        return m.get("note") or "No estimated performance for this version."
    used = [k for k, v in (cal.get("isotonic") or {}).items() if v]
    ece = ", ".join(f"{k}: {numbers.value(v)} raw → {numbers.value((cal.get('ece_isotonic') or {}).get(k) or 0)} "
                    "isotonic"
                    for k, v in (cal.get("ece_raw") or {}).items() if v is not None)
    decision = (f"positive class {cal['positive_class']} at threshold {numbers.value(cal['threshold'], 4)}"
                if cal.get("threshold") is not None else "the most probable class")
    return (f"Estimated performance without labels uses the model's probabilities calibrated on "
            f"{numbers.count(cal.get('reference_rows', 0))} holdout rows ({cal.get('reference') or 'the holdout'}): isotonic "
            f"regression {'applied to ' + ', '.join(used) if used else 'not applied (it did not lower the calibration error)'}"
            f"; expected calibration error {ece or 'not measured'}. Decision: {decision}.")


# -- the challenge against production --------------------------------------------------------

CHALLENGE_HEAD = ["metric", "production", "this version", "difference (95% interval)"]


def challenge_sentences(card: ModelCard) -> list[str]:
    """The challenge in sentences: what was declared, on which rows, the verdict, McNemar's
    test and the segments."""
    c = card.challenge
    if not c:
        return []
    from ..challenge.report import ChallengeReport

    r = ChallengeReport.from_dict(c)
    h = r.holdout or {}
    out = [f"Challenge {r.challenge_id} against {r.champion} ({r.against}), declared by {c.get('by') or '?'} "
           f"before anything was scored: {r.rule_text}.",
           f"Judged on {numbers.count(h.get('rows'))} labelled rows of {(r.dataset or {}).get('name')} "
           f"({h.get('window_text')}, {h.get('first')} to {h.get('last')}) that neither version was trained on.",
           r.sentence]
    if r.mcnemar is not None:
        out.append(r.mcnemar.sentence())
    if r.segments:
        out.append(r.segment_sentence())
    return out


def challenge_rows(card: ModelCard) -> list[list[Any]]:
    """Each metric of production and of this version on the challenge rows, with the
    paired interval of the difference."""
    rows = []
    for m in (card.challenge or {}).get("metrics") or []:
        a, b, d = m["champion"], m["challenger"], m["difference"]
        rows.append([m["label"], numbers.with_interval(a["value"], a["low"], a["high"]),
                     numbers.with_interval(b["value"], b["low"], b["high"]),
                     numbers.with_interval(d["value"], d["low"], d["high"], sign=True)])
    return rows


#: the columns a logistic model's coefficient table adds (both card formats)
ODDS_HEAD = ["odds ratio", "odds ratio 95% interval", "odds ratio per SD"]


def odds_cells(row: dict[str, Any]) -> list[Any]:
    """The odds ratio of a coefficient row, its interval (exp of the interval's bounds)
    and the odds ratio per standard deviation of a numeric column."""
    return [row.get("odds_ratio"), numbers.interval(row.get("odds_ratio_ci_low"), row.get("odds_ratio_ci_high")),
            row.get("odds_ratio_per_sd")]
