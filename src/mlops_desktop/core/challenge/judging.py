"""A challenge, end to end: a challenger version judged against the production version
on the same labelled, out-of-time rows neither was trained on, by a rule declared before
anything is scored.

Order of work: check everything that can be checked without scoring (the versions, the
rule, the rows and that neither version was trained on them; a problem raises
:class:`ChallengeError` and records nothing); record the declaration with its audit
entry; score both versions and judge; record the result with its audit entry. A failure
or cancel after the declaration is recorded as such. Nothing is promoted here.
"""

from __future__ import annotations

import hashlib
import time
from typing import TYPE_CHECKING, Any, Optional

import numpy as np

from .. import numbers
from ..jobs import CancelToken, ProgressCallback, Steps, no_progress
from ..data.on_disk import refuse_if_too_large
from .errors import TOO_LARGE_WAY_OUT, ChallengeError
from .report import ChallengeReport, Thresholds
from .rows import check_unseen, row_hashes, training_parts
from .rule import Rule
from .windows import parse_holdout, select, time_column, times

if TYPE_CHECKING:
    from ..store.models import ModelVersion
    from ..workspace import Workspace

DEFAULT_BOOTSTRAP = 1000
#: fewer labelled challenge rows than this cannot be judged at all
MIN_ROWS = 2


def champion_of(ws: "Workspace", challenger: "ModelVersion", against: str) -> "ModelVersion":
    """The version ``against`` names: an alias of the challenger's model (``production``)
    or a version ``MODEL:VERSION`` of it."""
    from ..registry.lifecycle import check_alias_name, parse_version_ref, version_at
    from ..store import models as model_rows

    text = str(against or "").strip()
    if ":" in text:
        name, number = parse_version_ref(text)
        if name != challenger.model:
            raise ChallengeError(f"{text} is a version of {name}, not of {challenger.model}: a challenger is "
                                 "judged against a version of its own model.")
        return model_rows.get_version(ws.registry, name, number)
    alias = check_alias_name(text)
    held = version_at(ws, challenger.model, alias, "now")
    if held is None:
        raise ChallengeError(f"{challenger.model} has no {alias} version to challenge. Point the alias at an "
                             f"approved version first ('mlops-desktop models alias {challenger.model} {alias} V'), "
                             f"or name the version to judge against: --against {challenger.model}:V.")
    return model_rows.get_version(ws.registry, challenger.model, int(held["version"]))


def _decision(ws: "Workspace", mv: "ModelVersion", classes: list[str]) -> tuple[Optional[float], Optional[str], str]:
    """A binary version's decision threshold, its positive class and where they come from."""
    from ..validate.threshold import decision_threshold
    from ..store import exports as export_rows

    validation = export_rows.approved_validation(ws.registry, mv.id)
    threshold, positive = decision_threshold((validation or {}).get("report") or {}, classes)
    if threshold is None:
        return None, None, "the likelier class (no validation chose a threshold)"
    return threshold, positive, f"validation {validation['id']}"


def _needed_columns(mv: "ModelVersion") -> list[str]:
    segment = (mv.details or {}).get("segment_by")
    return list(dict.fromkeys([*mv.features, *([segment] if segment else [])]))


def challenge(ws: "Workspace", challenger_ref: str, *, on: str | int, holdout: str, against: str = "production",
              metric: Optional[str] = None, rule: str = "superiority", margin: Any = 0.0,
              time_column_name: Optional[str] = None, n_bootstrap: int = DEFAULT_BOOTSTRAP, seed: int = 0,
              actor: str, progress: ProgressCallback = no_progress,
              cancel: Optional[CancelToken] = None) -> ChallengeReport:
    """Judge ``challenger_ref`` (``MODEL:VERSION``) against ``against`` (an alias,
    ``production`` by default, or ``MODEL:VERSION``) on the ``holdout`` window
    (``latest:FRACTION`` or ``since:DATE``) of dataset ``on``, by ``rule``
    (superiority or non-inferiority) on ``metric`` (default: the task's primary one)
    with ``margin``. Records the declaration, then the result; returns the report."""
    from ..registry.lifecycle import parse_version_ref
    from ..store import challenges as challenge_rows
    from ..store import models as model_rows
    from ..train import load_model

    started = time.monotonic()
    steps = Steps(progress, cancel, {"check": 2, "score": 2, "bootstrap": 6, "record": 1})
    steps.start("check", "Checking the versions and the rows")
    name, number = parse_version_ref(challenger_ref)
    mv_b = model_rows.get_version(ws.registry, name, number)
    if mv_b.stage == "retired":
        raise ChallengeError(f"{mv_b.ref} is retired; a retired version cannot be challenged.")
    mv_a = champion_of(ws, mv_b, against)
    if mv_a.id == mv_b.id:
        raise ChallengeError(f"{mv_b.ref} is the {against} version itself; challenge it with another version.")
    if (mv_a.target, mv_a.task) != (mv_b.target, mv_b.task):
        raise ChallengeError(f"{mv_b.ref} predicts {mv_b.target} ({mv_b.task}), {mv_a.ref} {mv_a.target} "
                             f"({mv_a.task}): only versions of the same target and task can be compared.")
    the_rule = Rule.checked(mv_b.task, metric, rule, margin)
    window = parse_holdout(holdout)
    if not isinstance(n_bootstrap, int) or n_bootstrap < 0:
        raise ChallengeError("The number of bootstrap resamples must be 0 or more.")
    ds = ws.dataset(on)
    _prepared_as_trained(ws, ds, (mv_a, mv_b))
    columns = list(dict.fromkeys([mv_b.target, *_needed_columns(mv_a), *_needed_columns(mv_b)]))
    missing = [c for c in columns if not any(col.name == c for col in ds.columns)]
    if missing:
        raise ChallengeError(f"Dataset {ds.name} lacks column(s) the versions need: {', '.join(missing)}.")
    tcol = time_column(ds, time_column_name, (mv_b.details or {}).get("split"), (mv_a.details or {}).get("split"))
    refuse_if_too_large([ds], "a challenge reads every row", TOO_LARGE_WAY_OUT)
    frame = ws.load_table(ds).to_pandas()
    chosen = select(frame, tcol, window)
    rows = frame.iloc[chosen]
    labelled = rows[rows[mv_b.target].notna()]
    if len(labelled) < MIN_ROWS:
        raise ChallengeError(f"{window.describe()} of {ds.name} (by {tcol}) hold {len(labelled):,} row(s) with a "
                             f"value of {mv_b.target}; a challenge needs labelled rows. Choose a wider window.")
    # an assembled version's parents may include the champion: each version's rows once
    parts = list({p.ref: p for p in training_parts(ws, mv_a) + training_parts(ws, mv_b)}.values())
    checks = check_unseen(parts, labelled, ds, tcol)
    steps.check()
    champion, challenger = load_model(ws, mv_a.ref), load_model(ws, mv_b.ref)
    classes = [str(c) for c in getattr(champion, "classes_", [])]
    thresholds, positive, notes = None, None, []
    if mv_b.task == "binary":
        ta, pa, sa = _decision(ws, mv_a, classes)
        tb, pb, sb = _decision(ws, mv_b, classes)
        positive = pa or pb
        if pa and pb and pa != pb:
            notes.append(f"The two validations took different positive classes ({pa}, {pb}); {pa}, production's, "
                         "is used for both.")
            tb, sb = None, "the likelier class (its validation took another positive class)"
        thresholds = Thresholds(ta, tb, sa, sb)
    when = times(labelled[tcol])
    holdout_facts = {"window": window.to_dict(), "window_text": window.describe(), "time_column": tcol,
                     "rows": int(len(labelled)), "unlabelled": int(len(rows) - len(labelled)),
                     "first": numbers.date_or_time(when.min()), "last": numbers.date_or_time(when.max()),
                     "rows_sha256": _rows_digest(labelled)}
    segment = (mv_b.details or {}).get("segment_by") or (mv_a.details or {}).get("segment_by")
    declaration = {"rule": the_rule.to_dict(), "challenger": mv_b.ref, "champion": mv_a.ref, "against": against,
                   "dataset": {"id": ds.id, "name": ds.name, "fingerprint": ds.fingerprint},
                   "holdout": holdout_facts, "positive_class": positive,
                   "thresholds": None if thresholds is None else thresholds.__dict__,
                   "segment_column": segment, "n_bootstrap": n_bootstrap, "seed": seed,
                   "row_checks": [c.to_dict() for c in checks]}
    challenge_id = challenge_rows.declare(ws.registry, model_id=mv_b.model_id, challenger_id=mv_b.id,
                                          challenger_ref=mv_b.ref, champion_id=mv_a.id, champion_ref=mv_a.ref,
                                          dataset_id=ds.id, declaration=declaration, actor=actor)
    try:
        report = _score(ws, challenge_id, mv_a, mv_b, champion, challenger, labelled, the_rule, against,
                        declaration, thresholds, positive, segment, notes, steps, started)
        steps.start("record", "Recording the result")
        challenge_rows.decide(ws.registry, challenge_id, challenger_id=mv_b.id, verdict=report.verdict,
                              wins=report.wins, report=report.to_dict(), actor=actor,
                              summary=f"{mv_b.ref} against {mv_a.ref}: {report.verdict}")
    except BaseException as exc:
        from ..errors import JobCancelled

        status = "cancelled" if isinstance(exc, (JobCancelled, KeyboardInterrupt)) else "failed"
        try:
            challenge_rows.end(ws.registry, challenge_id, challenger_id=mv_b.id, status=status,
                               error=str(exc) or type(exc).__name__, actor=actor)
        except Exception:  # the registry itself failed: the original error matters more
            pass
        raise
    steps.done(f"Challenge {challenge_id}: {report.verdict}")
    return report


def _rows_digest(frame: Any) -> str:
    """The SHA-256 of the challenge rows: their positions in the dataset and their values."""
    positions = np.ascontiguousarray(frame.index.to_numpy(dtype=np.int64))
    return hashlib.sha256(positions.tobytes() + row_hashes(frame, list(frame.columns)).tobytes()).hexdigest()


def _score(ws: "Workspace", challenge_id: int, mv_a: "ModelVersion", mv_b: "ModelVersion", champion: Any,
           challenger: Any, labelled: Any, rule: Rule, against: str, declaration: dict[str, Any],
           thresholds: Optional[Thresholds], positive: Optional[str], segment: Optional[str], notes: list[str],
           steps: Steps, started: float) -> ChallengeReport:
    from ..train.estimators import SegmentRouter
    from .scoring import judge, score_both, threshold_or_likelier

    steps.start("score", "Scoring the rows with both versions")
    columns = list(dict.fromkeys([*_needed_columns(mv_a), *_needed_columns(mv_b)]))
    scored = score_both(champion, challenger, labelled, mv_b.target, task=mv_b.task, positive_class=positive,
                        columns=columns)
    n_bootstrap, seed = declaration["n_bootstrap"], declaration["seed"]
    steps.start("bootstrap", f"Paired bootstrap ({n_bootstrap:,} resamples)")
    judged = judge(scored, rule, thresholds=(None, None) if thresholds is None else
                   (thresholds.champion, thresholds.challenger),
                   segments=(segment, champion, challenger) if segment else None, n_bootstrap=n_bootstrap,
                   seed=seed, on_chunk=steps.within)
    row = next(m for m in judged.metrics if m.name == rule.metric)
    d = row.difference
    verdict, wins = rule.judge(d.low, d.high)
    label = "production" if against == "production" else mv_a.ref
    sentence = rule.sentence(verdict, wins, row.champion.value, row.challenger.value, d.value, d.low, d.high,
                             task=mv_b.task, against=label)
    if thresholds is not None and thresholds.champion != thresholds.challenger:
        notes.append(f"Decisions (accuracy, F1, McNemar's test) are taken at each version's own threshold: "
                     f"production {numbers.value(threshold_or_likelier(thresholds.champion))} "
                     f"({thresholds.champion_source}), the challenger "
                     f"{numbers.value(threshold_or_likelier(thresholds.challenger))} ({thresholds.challenger_source}).")
    promotable = (isinstance(champion, SegmentRouter) and isinstance(challenger, SegmentRouter)
                  and champion.segment_column == challenger.segment_column == segment)
    return ChallengeReport(
        challenge_id=challenge_id, challenger=mv_b.ref, champion=mv_a.ref, against=against, task=mv_b.task,
        dataset=declaration["dataset"], holdout=declaration["holdout"], rule=rule.to_dict(),
        rule_text=rule.describe(mv_b.task), verdict=verdict, wins=wins, sentence=sentence, metrics=judged.metrics,
        positive_class=(str(scored.holdout.classes[scored.holdout.positive_index])
                        if scored.holdout.positive_index is not None else None),
        thresholds=thresholds, mcnemar=judged.mcnemar, calibration=judged.calibration, segment_column=segment,
        segments=judged.segments, segments_promotable=promotable, row_checks=declaration["row_checks"],
        notes=notes + scored.holdout.notes + judged.notes, n_bootstrap=n_bootstrap, seed=seed,
        seconds=time.monotonic() - started)


def _prepared_as_trained(ws: "Workspace", ds: Any, versions: tuple[Any, ...]) -> None:
    """Refuse rows a version would not read as it was trained: raw rows (or rows of
    another recipe) for a version trained on prepared data. Its recipe's filters would
    leave the two versions different rows, and a paired comparison needs the same ones."""
    from ..prepare import PrepareError, derivation, model_recipe
    from ..prepare.scope import needs_recipe

    way = derivation(ws, ds)
    prepared_by = way.prepared_by
    for mv in versions:
        found = model_recipe(ws, mv)
        if found is None:
            continue
        try:
            raw = needs_recipe(found, prepared_by, f"dataset {ds.name!r}")
        except PrepareError as exc:
            raise ChallengeError(str(exc)) from None
        if raw:
            raise ChallengeError(f"{mv.ref} was trained on prepared data, and {ds.name} holds raw rows: challenge "
                                 "on a dataset prepared with the same recipe (mlops-desktop prepare), so both "
                                 "versions are judged on the same prepared rows.")

