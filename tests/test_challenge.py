"""Issue 16: retrain, challenge, promote and roll back, on a time-ordered public data set
(flights of 2013, late arrival as the target): a champion trained on the first half of the
year, a challenger retrained on July to October, judged on November and December.

The paired interval is checked against an independent computation (scikit-learn's ROC
AUC in a loop over the same resamples), McNemar's test against scipy's binomial and
chi-square distributions, overlap with training rows must be refused, a family of
segment models promoted segment by segment must predict exactly what its parents
predict on their segments, and a roll back must restore production's predictions.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import DATA
from mlops_desktop.core.challenge import (ChallengeError, Rule, challenge, promote, promote_segments, retrain,
                                          roll_back)
from mlops_desktop.core.workspace.integrity import verify_workspace
from mlops_desktop.core.registry.lifecycle import aliases_of, change_stage, set_alias, version_at
from mlops_desktop.core.train import (SplitSpec, TrainSpec, find_version, load_model, load_split, reproduce,
                                     train)
from mlops_desktop.core.validate.for_version import validate_version
from mlops_desktop.core.workspace import Workspace

FEATURES = ["dep_delay", "distance", "hour", "carrier", "origin"]


def flights(path: Path, months: range) -> pd.DataFrame:
    """The flights of ``months`` with ``late`` (arrived more than 15 minutes late: yes or
    no; unknown where the arrival delay is), written to ``path`` in time order."""
    df = pd.read_csv(DATA / "flights_6000.csv")
    df = df[df["month"].isin(months)].copy()
    df["late"] = np.where(df["arr_delay"].isna(), None, np.where(df["arr_delay"] > 15, "yes", "no"))
    df.to_csv(path, index=False)
    return df


def approve(ws: Workspace, ref: str) -> None:
    validate_version(ws, ref, actor="ann", n_bootstrap=50)
    change_stage(ws, ref, "validated", actor="ann", override_reason="test model")
    change_stage(ws, ref, "approved", actor="bob", comment="Read the card and the challenge.")


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    """late:1 trained by ann on January to June (one logistic model per origin airport,
    time-ordered split), approved by bob and in production; late:2 retrained from it on
    July to October, a draft holding the alias challenger."""
    folder = tmp_path_factory.mktemp("challenge")
    root = folder / "ws"
    with Workspace.create(root, actor="ann") as ws:
        for name, months in (("early", range(1, 7)), ("later", range(7, 11)), ("all", range(1, 13))):
            flights(folder / f"{name}.csv", months)
            ws.import_file(folder / f"{name}.csv", name=f"flights_{name}", actor="ann")
        train(ws, TrainSpec(dataset="flights_early", target="late", features=FEATURES, models=["logistic"],
                            split=SplitSpec("time", "time_hour", 0.2), segment_by="origin", cv_folds=3,
                            model_name="late"), actor="ann")
        approve(ws, "late:1")
        set_alias(ws, "late", "production", 1, actor="bob", comment="first release")
        retrain(ws, "late:1", ["flights_later"], actor="ann")
    return root


@pytest.fixture
def ws(base, tmp_path):
    dest = tmp_path / "ws"
    shutil.copytree(base, dest)
    with Workspace.open(dest) as opened:
        yield opened


def csv_of(ws: Workspace, name: str) -> pd.DataFrame:
    """The rows of a dataset as its source file holds them (in time order; the index is
    each row's position in the dataset)."""
    return pd.read_csv(ws.dataset(name).source_path)


def audit_actions(ws: Workspace) -> list[str]:
    return [e.action for e in ws.audit_entries()]


# -- retrain -------------------------------------------------------------------------------

def test_retrain_runs_the_recorded_spec_again_and_records_its_parent(ws):
    from mlops_desktop.core.train import run

    one, two = find_version(ws, "late:1"), find_version(ws, "late:2")
    r1, r2 = run(ws, one.run_id), run(ws, two.run_id)
    assert ws.dataset(r2.dataset_id).name == "flights_later"
    same = {k: v for k, v in r1.spec.items() if k not in ("dataset", "model_name", "task")}
    assert {k: v for k, v in r2.spec.items() if k in same} == same
    assert r2.spec["model_name"] == "late" and r2.task == r1.task == "binary"
    assert r2.details["features"] == r1.details["features"]  # the same features, treated alike
    assert two.details["segment_by"] == "origin" and two.stage == "draft"
    origin = two.details["origin"]
    assert origin["kind"] == "retrain" and origin["parent"] == {"ref": "late:1", "version_id": one.id,
                                                                "run_id": one.run_id}
    created = [e for e in ws.audit_entries(entity_type="model_version", entity_id=two.id)
               if e.action == "model.version_created"]
    assert created[0].details["origin"]["parent"]["ref"] == "late:1"
    assert {a["alias"]: a["version"] for a in aliases_of(ws, "late")} == {"production": 1, "challenger": 2}
    assert verify_workspace(ws).ok


def test_retrain_joins_datasets_and_keeps_a_window_of_rows(ws):
    joined = pd.concat([csv_of(ws, "flights_early"), csv_of(ws, "flights_later")])
    since = pd.to_datetime(joined["time_hour"], utc=True) >= pd.Timestamp("2013-04-01", tz="UTC")
    result = retrain(ws, "late:1", ["flights_early", "flights_later"], window="since:2013-04-01", actor="ann")
    trained_on = ws.dataset(result.dataset["id"])
    assert trained_on.n_rows == int(since.sum()) and trained_on.name.startswith("late retraining data")
    assert [s["name"] for s in result.sources] == ["flights_early", "flights_later"]
    assert result.window == {"kind": "since", "value": "2013-04-01"}
    table = ws.load_table(trained_on).to_pandas()
    assert pd.to_datetime(table["time_hour"], utc=True).min() >= pd.Timestamp("2013-04-01", tz="UTC")

    last = retrain(ws, "late:1", ["flights_early", "flights_later"], window="last:1000", actor="ann")
    rows = ws.load_table(ws.dataset(last.dataset["id"])).to_pandas()
    newest = pd.to_datetime(joined["time_hour"], utc=True).sort_values(kind="stable").iloc[-1000:]
    assert len(rows) == 1000 and pd.to_datetime(rows["time_hour"], utc=True).min() == newest.min()
    assert version_at(ws, "late", "challenger", "now")["ref"] == last.challenger

    before = len(ws.datasets())
    for bad in ("since:", "last:none", "latest:0.5", "yesterday"):
        with pytest.raises(ChallengeError):
            retrain(ws, "late:1", ["flights_later"], window=bad, actor="ann")
    assert len(ws.datasets()) == before


# -- the paired interval, McNemar and the segments ---------------------------------------------

def _late_rows(ws: Workspace, name: str, since: str) -> pd.DataFrame:
    df = csv_of(ws, name)
    df = df[pd.to_datetime(df["time_hour"], utc=True) >= pd.Timestamp(since, tz="UTC")]
    return df[df["late"].notna()]


def test_the_paired_interval_equals_an_independent_computation(ws):
    from scipy import stats
    from sklearn.metrics import roc_auc_score

    report = challenge(ws, "late:2", on="flights_all", holdout="since:2013-11-01", n_bootstrap=200, seed=7,
                       actor="ann")
    rows = _late_rows(ws, "flights_all", "2013-11-01")
    assert report.holdout["rows"] == len(rows) and report.holdout["time_column"] == "time_hour"
    champion, challenger = load_model(ws, "late:1"), load_model(ws, "late:2")
    yes = list(champion.classes_).index("yes")
    pa = champion.predict_proba(rows[FEATURES])[:, yes]
    pb = challenger.predict_proba(rows[FEATURES])[:, yes]
    y = (rows["late"] == "yes").to_numpy()
    rng = np.random.default_rng(7)
    diffs, draws = [], []
    for _ in range(200):
        i = rng.integers(0, len(y), len(y))
        draws.append(i)
        diffs.append(roc_auc_score(y[i], pb[i]) - roc_auc_score(y[i], pa[i]))
    low, high = np.percentile(diffs, [2.5, 97.5])
    d = report.decision
    assert d.name == "roc_auc" and report.rule == {"metric": "roc_auc", "rule": "superiority", "margin": 0.0}
    assert d.champion.value == pytest.approx(roc_auc_score(y, pa), abs=1e-12)
    assert d.challenger.value == pytest.approx(roc_auc_score(y, pb), abs=1e-12)
    assert d.difference.low == pytest.approx(low, abs=1e-12) and d.difference.high == pytest.approx(high, abs=1e-12)
    verdict, wins = Rule("roc_auc").judge(low, high)
    assert (report.verdict, report.wins) == (verdict, wins)

    # McNemar: counts from each version's own decision, the p-value from scipy
    t = report.thresholds
    a = (pa >= (t.champion if t.champion is not None else 0.5)) == y
    b = (pb >= (t.challenger if t.challenger is not None else 0.5)) == y
    m = report.mcnemar
    assert (m.both_right, m.champion_only_right, m.challenger_only_right, m.both_wrong) == \
        (int((a & b).sum()), int((a & ~b).sum()), int((~a & b).sum()), int((~a & ~b).sum()))
    n01, n10 = m.champion_only_right, m.challenger_only_right
    if m.exact:
        expected = stats.binomtest(min(n01, n10), n01 + n10, 0.5).pvalue
    else:
        expected = stats.chi2.sf((abs(n01 - n10) - 1) ** 2 / (n01 + n10), 1)
    assert m.p_value == pytest.approx(expected, rel=1e-9)

    # per segment: the same metric on the segment's rows, its interval from the segment's rows
    # of the same resamples, at 1 - 0.05/3 (Bonferroni: the three hold together at 95%)
    for s in report.segments:
        mask = (rows["origin"] == s.segment).to_numpy()
        assert s.rows == int(mask.sum())
        assert s.difference == pytest.approx(roc_auc_score(y[mask], pb[mask]) - roc_auc_score(y[mask], pa[mask]),
                                             abs=1e-12)
        mine = [i[mask[i]] for i in draws]
        seg_diffs = [roc_auc_score(y[i], pb[i]) - roc_auc_score(y[i], pa[i]) for i in mine]
        tail = 100 * 0.05 / 3 / 2
        assert s.level == pytest.approx(1 - 0.05 / 3)
        assert (s.low, s.high) == pytest.approx(tuple(np.percentile(seg_diffs, [tail, 100 - tail])), abs=1e-12)
        assert (s.verdict, s.wins) == Rule("roc_auc").judge(s.low, s.high)
    assert report.segment_interval() == "98.33%"
    assert any("all 3 hold together with 95% confidence (Bonferroni)" in n for n in report.notes)
    assert {s.segment for s in report.segments} == {"EWR", "JFK", "LGA"}
    assert [m.name for m in report.calibration["champion"]] == ["calibration_slope", "calibration_intercept", "ece"]
    stored = ws.registry.query_one("SELECT status, verdict, wins FROM challenges WHERE id = ?", (report.challenge_id,))
    assert stored == {"status": "decided", "verdict": report.verdict, "wins": int(report.wins)}


def test_mcnemar_uses_the_chi_square_for_many_discordant_rows():
    from scipy import stats

    from mlops_desktop.core.challenge.scoring import Scored, mcnemar
    from mlops_desktop.core.validate.holdout import Holdout

    rng = np.random.default_rng(3)
    n = 400
    y_index = rng.integers(0, 2, n)
    holdout = Holdout(task="binary", X=pd.DataFrame(index=range(n)), frame=pd.DataFrame(index=range(n)),
                      y=y_index, classes=np.array(["no", "yes"]), y_index=y_index, positive_index=1)
    p1 = np.clip(y_index * 0.6 + rng.normal(0.2, 0.25, n), 0, 1)
    p2 = np.clip(y_index * 0.6 + rng.normal(0.2, 0.25, n), 0, 1)
    result = mcnemar(Scored(holdout, np.column_stack([1 - p1, p1]), np.column_stack([1 - p2, p2])), (0.5, 0.5))
    n01, n10 = result.champion_only_right, result.challenger_only_right
    assert n01 + n10 >= 25 and not result.exact
    assert result.statistic == pytest.approx((abs(n01 - n10) - 1) ** 2 / (n01 + n10), rel=1e-12)
    assert result.p_value == pytest.approx(stats.chi2.sf(result.statistic, 1), rel=1e-12)


@pytest.mark.parametrize("rule,margin,metric,low,high,verdict,wins", [
    ("superiority", 0.0, "roc_auc", 0.001, 0.02, "better", True),
    ("superiority", 0.01, "roc_auc", 0.001, 0.02, "inconclusive", False),
    ("superiority", 0.0, "roc_auc", -0.02, -0.001, "worse", False),
    ("non-inferiority", 0.01, "roc_auc", -0.005, 0.004, "not worse", True),
    ("non-inferiority", 0.01, "roc_auc", 0.001, 0.004, "better", True),
    ("non-inferiority", 0.01, "roc_auc", -0.02, 0.004, "inconclusive", False),
    ("non-inferiority", 0.01, "roc_auc", -0.03, -0.02, "worse", False),
    # lower is better: a negative difference of RMSE is a gain
    ("superiority", 0.5, "rmse", -2.0, -0.6, "better", True),
    ("non-inferiority", 0.5, "rmse", -0.1, 0.4, "not worse", True),
    ("non-inferiority", 0.5, "rmse", 0.6, 0.9, "worse", False),
])
def test_the_rule_judges_the_interval_of_challenger_minus_champion(rule, margin, metric, low, high, verdict, wins):
    task = "regression" if metric == "rmse" else "binary"
    checked = Rule.checked(task, metric, rule, margin)
    assert checked.judge(low, high) == (verdict, wins)
    text = checked.sentence(verdict, wins, 1.0, 1.0 + (low + high) / 2, (low + high) / 2, low, high, task=task)
    assert ("The challenger wins." in text) == wins and " to " in text


@pytest.mark.parametrize("metric,low,high,verdict,worse", [
    ("roc_auc", -0.065, -0.0025, "inconclusive", True),   # within reach of the margin, yet measurably lower
    ("roc_auc", -0.01, -0.001, "not worse", True),
    ("roc_auc", -0.01, 0.004, "not worse", False),
    ("rmse", 0.1, 0.4, "not worse", True),                # lower is better: a higher RMSE is worse
    ("rmse", -0.4, 0.1, "not worse", False),
])
def test_a_segment_measurably_worse_is_named_whatever_the_margin(metric, low, high, verdict, worse):
    from mlops_desktop.core.challenge.report import ChallengeReport, MetricRow, SegmentRow
    from mlops_desktop.core.validate.results import MetricEstimate

    task = "regression" if metric == "rmse" else "binary"
    rule = Rule.checked(task, metric, "non-inferiority", 0.5 if metric == "rmse" else 0.02)
    assert rule.judge(low, high)[0] == verdict
    est = MetricEstimate(metric, 1.0, 0.9, 1.1)
    report = ChallengeReport(1, "m:2", "m:1", "production", task, {}, {}, rule.to_dict(), "", "not worse", True, "",
                             [MetricRow(metric, metric, rule.higher_is_better, est, est, est)],
                             segment_column="origin")
    report.segments = [SegmentRow("LGA", "LGA", 300, True, 1.0, 1.0, (low + high) / 2, low, high, verdict,
                                  verdict != "inconclusive", "segment", "segment"),
                       SegmentRow("EWR", "EWR", 20, False, 1.0, 1.0, 0.0, -0.001, 0.001, "not worse", True,
                                  "segment", "segment")]
    assert report.got_worse(report.segments[0]) is worse
    assert report.segment_verdict(report.segments[0]) == verdict + (" (measurably worse)" if worse else "")
    assert report.segment_verdict(report.segments[1]) == "not worse (few rows)"
    assert ("worse in LGA" in report.segment_sentence()) is worse


def test_a_rule_that_cannot_be_judged_is_refused():
    for args in (("binary", "rmse", "superiority", 0), ("binary", "roc_auc", "best", 0),
                 ("binary", "roc_auc", "superiority", -0.1), ("binary", "roc_auc", "non-inferiority", 0),
                 ("regression", "rmse", "superiority", float("nan"))):
        with pytest.raises(ChallengeError):
            Rule.checked(*args)


# -- which rows may be used --------------------------------------------------------------------

def test_rows_a_version_was_trained_on_are_refused_and_nothing_is_recorded(ws, tmp_path):
    entries = len(ws.audit_entries())
    with pytest.raises(ChallengeError, match="not out of time for late:2"):
        challenge(ws, "late:2", on="flights_all", holdout="since:2013-08-01", actor="ann")
    assert len(ws.audit_entries()) == entries

    # rows of January to March again, with a batch number as their only time: told by their values
    early = csv_of(ws, "flights_early")
    replay = early[early["month"] <= 3].copy()
    replay["batch"] = np.arange(len(replay))
    replay.to_csv(tmp_path / "replay.csv", index=False)
    ws.import_file(tmp_path / "replay.csv", name="replay", actor="ann")
    entries = len(ws.audit_entries())
    trained, _ = load_split(ws, find_version(ws, "late:1").run_id)
    latest = replay.iloc[len(replay) - int(np.ceil(0.5 * len(replay))):]
    latest = latest[latest["late"].notna()]
    expected = int(latest.index.isin(trained.index).sum())  # replay's index: the rows' positions in flights_early
    assert expected > 0
    with pytest.raises(ChallengeError, match=f"{expected:,} of the {len(latest):,} challenge rows are rows late:1 "
                                             "was trained on"):
        challenge(ws, "late:2", on="replay", holdout="latest:0.5", time_column_name="batch", actor="ann")
    assert len(ws.audit_entries()) == entries
    assert ws.registry.query_one("SELECT COUNT(*) AS n FROM challenges")["n"] == 0


def test_the_same_snapshot_is_checked_by_row_position(ws):
    again = retrain(ws, "late:1", ["flights_early"], actor="ann")  # the same rows, the same spec
    _trained, holdout = load_split(ws, find_version(ws, again.challenger).run_id)
    start = pd.to_datetime(holdout["time_hour"], utc=True).min() + pd.Timedelta(hours=1)
    report = challenge(ws, again.challenger, on="flights_early", holdout=f"since:{start.isoformat()}",
                       n_bootstrap=50, actor="ann")
    assert [c["method"] for c in report.row_checks] == ["positions", "positions"]
    assert all(c["overlap"] == 0 for c in report.row_checks)


# -- the record ----------------------------------------------------------------------------------

def test_the_rule_is_recorded_before_the_result_and_verify_checks_both(ws):
    from mlops_desktop.core.store.challenges import digest

    report = challenge(ws, "late:2", on="flights_all", holdout="latest:0.15", rule="non-inferiority",
                       margin=0.02, n_bootstrap=100, actor="ann")
    entries = {e.action: e for e in ws.audit_entries() if e.action.startswith("challenge.")}
    declared, decided = entries["challenge.declared"], entries["challenge.decided"]
    assert declared.seq < decided.seq
    assert declared.details["rule"] == {"metric": "roc_auc", "rule": "non-inferiority", "margin": 0.02}
    row = ws.registry.query_one("SELECT declaration, report FROM challenges WHERE id = ?", (report.challenge_id,))
    assert declared.details["declaration_sha256"] == digest(row["declaration"])
    assert decided.details["declaration_sha256"] == digest(row["declaration"])
    assert decided.details["report_sha256"] == digest(row["report"])
    assert json.loads(row["declaration"])["rule"]["margin"] == 0.02
    # read back as recorded: the rule declared, and the very report that was returned
    from mlops_desktop.core.challenge import of_model, stored

    kept = stored(ws, report.challenge_id)
    assert kept.rule == Rule("roc_auc", "non-inferiority", 0.02) and kept.status == "decided"
    assert kept.report == report and kept.outcome == report.verdict and kept.wins == report.wins
    assert [c.id for c in of_model(ws, "late")][0] == report.challenge_id
    assert kept.to_dict()["report"] == report.to_dict()
    assert verify_workspace(ws).ok
    root = ws.root
    ws.close()
    for sql, words in (("UPDATE challenges SET declaration = json_set(declaration, '$.rule.margin', 0.5)",
                        "its declaration no longer matches its SHA-256"),
                       ("UPDATE challenges SET verdict = 'worse', wins = 0", "its verdict is 'worse'")):
        copy = root.parent / f"tampered-{len(words)}"
        shutil.copytree(root, copy)
        with sqlite3.connect(copy / "registry.sqlite") as db:
            db.execute(sql)
        with Workspace.open(copy) as tampered:
            problems = verify_workspace(tampered).findings
        assert any(p.kind == "record_altered" and words in p.message for p in problems), problems


def test_a_cancelled_challenge_is_recorded_as_cancelled(ws):
    from mlops_desktop.core.errors import JobCancelled
    from mlops_desktop.core.jobs import CancelToken

    token = CancelToken()

    def progress(fraction, message):
        if message.startswith("Paired bootstrap"):
            token.cancel()

    with pytest.raises(JobCancelled):
        challenge(ws, "late:2", on="flights_all", holdout="latest:0.15", actor="ann", progress=progress, cancel=token)
    row = ws.registry.query_one("SELECT status, report FROM challenges")
    assert row == {"status": "cancelled", "report": None}
    assert audit_actions(ws)[:2] == ["challenge.ended", "challenge.declared"]
    assert verify_workspace(ws).ok


# -- promote and roll back ---------------------------------------------------------------------

def test_promote_then_roll_back_restores_the_earlier_production_predictions(ws):
    from mlops_desktop.core.errors import InvalidChoiceError

    rows = _late_rows(ws, "flights_all", "2013-11-01")[FEATURES]
    with pytest.raises(InvalidChoiceError, match="only an approved version"):
        promote(ws, "late:2", actor="bob")
    validate_version(ws, "late:2", actor="ann", n_bootstrap=50)
    change_stage(ws, "late:2", "validated", actor="ann", override_reason="test model")
    with pytest.raises(InvalidChoiceError, match="four eyes"):
        change_stage(ws, "late:2", "approved", actor="ann", comment="mine")
    change_stage(ws, "late:2", "approved", actor="bob", comment="Read the challenge.")
    before = load_model(ws, "late:1").predict_proba(rows)
    done = promote(ws, "late:2", actor="bob", comment="wins on the latest months")
    assert done["challenger_alias_removed"] and {a["alias"] for a in aliases_of(ws, "late")} == {"production"}
    assert version_at(ws, "late", "production", "now")["ref"] == "late:2"
    assert not np.array_equal(load_model(ws, version_at(ws, "late", "production", "now")["ref"]).predict_proba(rows),
                              before)

    with pytest.raises(ChallengeError, match="reason"):
        roll_back(ws, "late", reason=" ", actor="bob")
    back = roll_back(ws, "late", reason="complaints from the planners", actor="bob")
    assert back["ref"] == "late:1" and back["comment"] == "rolled back: complaints from the planners"
    production = version_at(ws, "late", "production", "now")["ref"]
    assert production == "late:1"
    assert np.array_equal(load_model(ws, production).predict_proba(rows), before)
    moved = [e for e in ws.audit_entries() if e.action == "model.alias_moved"][0]
    assert moved.details["rolls_back_move"] == done["id"] and "rolled back from version 2 to 1" in moved.summary
    assert verify_workspace(ws).ok

    change_stage(ws, "late:2", "retired", actor="bob", comment="replaced")
    with pytest.raises(ChallengeError, match="late:2 is retired"):
        roll_back(ws, "late", reason="undo the roll back", actor="bob")


def test_the_card_shows_the_challenge_its_approver_saw(ws):
    from mlops_desktop.core.validate.card_markdown import model_card_markdown
    from mlops_desktop.core.validate.for_version import model_card

    seen = challenge(ws, "late:2", on="flights_all", holdout="since:2013-11-01", rule="non-inferiority",
                     margin=0.02, n_bootstrap=100, actor="ann")
    approve(ws, "late:2")
    later = challenge(ws, "late:2", on="flights_all", holdout="since:2013-12-01", n_bootstrap=100, actor="ann")
    assert later.challenge_id != seen.challenge_id
    card = model_card(ws, "late:2")
    assert card.challenge["challenge_id"] == seen.challenge_id  # decided before the approval
    text = model_card_markdown(card)
    assert "## Challenge against production" in text and seen.sentence in text and later.sentence not in text
    assert seen.rule_text in text and seen.segment_sentence() in text
    assert f"{seen.holdout['rows']:,} labelled rows of flights_all" in text
    # a version approved without a challenge has no such section
    assert model_card(ws, "late:1").challenge is None
    assert "Challenge against production" not in model_card_markdown(model_card(ws, "late:1"))


def test_the_challenger_alias_may_be_held_by_a_draft_and_only_that_alias(ws):
    from mlops_desktop.core.errors import InvalidChoiceError
    from mlops_desktop.core.registry.lifecycle import alias_refusal

    assert alias_refusal("late:2", "draft", "challenger") is None
    assert alias_refusal("late:2", "validated", "challenger") is None
    refused = alias_refusal("late:2", "retired", "challenger")
    assert refused is not None and "late:2 is retired" in refused.reason
    with pytest.raises(InvalidChoiceError, match="only an approved version can hold the alias 'staging'"):
        set_alias(ws, "late", "staging", 2, actor="ann")
    change_stage(ws, "late:2", "retired", actor="ann", comment="not needed")
    assert "challenger" not in {a["alias"] for a in aliases_of(ws, "late")}
    assert verify_workspace(ws).ok


# -- many simple models: promote improved segments only ------------------------------------------------

def test_compose_takes_each_segment_from_the_chosen_version(ws):
    from mlops_desktop.core.challenge.segments import compose

    champion, challenger = load_model(ws, "late:1"), load_model(ws, "late:2")
    rows = csv_of(ws, "flights_all")[FEATURES].copy()
    rows.loc[rows.index[:7], "origin"] = "BOS"   # a segment neither has: production's fallback
    rows.loc[rows.index[7:9], "origin"] = None
    mixed = compose(champion, challenger, ["JFK"])
    from_challenger = (rows["origin"] == "JFK").to_numpy()[:, None]
    expected = np.where(from_challenger, challenger.predict_proba(rows), champion.predict_proba(rows))
    assert np.array_equal(mixed.predict_proba(rows), expected)
    assert mixed.fallback_ is champion.fallback_


def test_improved_segments_are_promoted_into_a_version_that_reproduces_and_exports(ws, tmp_path):
    from mlops_desktop.core.workspace.artifacts import read_model_bytes
    from mlops_desktop.core.challenge.segments import compose
    from mlops_desktop.core.export import export_version
    from mlops_desktop.core.export.files import support_modules
    from mlops_desktop.core.model_format import model_to_bytes

    nothing = challenge(ws, "late:2", on="flights_all", holdout="since:2013-11-01", margin=0.05, n_bootstrap=100,
                        actor="ann")
    assert not nothing.improved_segments
    with pytest.raises(ChallengeError, match="No segment of origin passed"):
        promote_segments(ws, nothing.challenge_id, actor="ann")

    report = challenge(ws, "late:2", on="flights_all", holdout="since:2013-11-01", rule="non-inferiority",
                       margin=0.02, n_bootstrap=200, actor="ann")
    chosen = report.improved_segments
    assert chosen and report.segments_promotable
    promoted = promote_segments(ws, report.challenge_id, actor="ann")
    assert promoted.from_challenger == sorted(chosen)
    mv = find_version(ws, promoted.version)
    origin = mv.details["origin"]
    assert origin["kind"] == "segments" and origin["challenge_id"] == report.challenge_id
    assert (origin["champion"]["ref"], origin["challenger"]["ref"]) == ("late:1", "late:2")
    assert version_at(ws, "late", "challenger", "now")["ref"] == promoted.version and mv.stage == "draft"

    # exactly the parents' predictions, segment by segment
    rows = csv_of(ws, "flights_all")[FEATURES]
    champion, challenger, assembled = (load_model(ws, r) for r in ("late:1", "late:2", promoted.version))
    take = rows["origin"].isin(chosen).to_numpy()[:, None]
    assert np.array_equal(assembled.predict_proba(rows),
                          np.where(take, challenger.predict_proba(rows), champion.predict_proba(rows)))
    # reproducible: assembled again, the same file and the same predictions
    _, stored = read_model_bytes(ws, mv.artifact_sha256)
    assert model_to_bytes(compose(champion, challenger, chosen)) == stored
    again = reproduce(ws, mv.run_id, actor="ann")
    assert again.identical and again.predictions_identical

    # its rows are both parents' rows: a challenge of it checks all of them
    judged = challenge(ws, promoted.version, on="flights_all", holdout="since:2013-11-01", n_bootstrap=50,
                       actor="ann")
    assert [c["version"] for c in judged.row_checks] == ["late:1", "late:2"]

    # and it exports like any version
    approve(ws, promoted.version)
    exported = export_version(ws, promoted.version, tmp_path / "pkg", actor="carl")
    with support_modules(exported.path) as scoring:
        out = scoring.ModelPackage(exported.path).score_frame(rows.head(300))
    assert np.max(np.abs(out["probability_yes"].to_numpy(float)
                         - assembled.predict_proba(rows.head(300))[:, 1])) <= 1e-12
    assert verify_workspace(ws).ok


# -- data larger than memory ------------------------------------------------------------------

def test_validating_challenging_and_retraining_on_data_larger_than_memory_are_refused(ws, monkeypatch):
    """Issue 18: each reads every row into memory; on a dataset larger than memory it is
    refused before anything is read or written, with what to do instead. (Retraining on
    one dataset as it is trains on a recorded sample of it; joining datasets is refused.)"""
    from mlops_desktop.core.data import on_disk
    from mlops_desktop.core.data.on_disk import TooLargeForMemory

    audit = audit_actions(ws)
    monkeypatch.setattr(on_disk, "OUT_OF_CORE_BYTES", 0)
    with pytest.raises(TooLargeForMemory, match=r"Dataset 'flights_all' is larger than memory \(.* rows, .* on "
                                                r"disk\), and a challenge reads every row into memory, so it was "
                                                r"not started\. Import the recent rows you need"):
        challenge(ws, "late:2", on="flights_all", holdout="since:2013-11-01", actor="ann")
    with pytest.raises(TooLargeForMemory, match="retraining joins every row of its datasets into memory"):
        retrain(ws, "late:1", ["flights_early", "flights_later"], actor="ann")
    with pytest.raises(TooLargeForMemory, match="a validation reads every row into memory.*Validate on the "
                                                "version's holdout"):
        validate_version(ws, "late:2", data="flights_all", actor="ann", n_bootstrap=50)
    assert audit_actions(ws) == audit
    assert {a["alias"]: a["version"] for a in aliases_of(ws, "late")} == {"production": 1, "challenger": 2}
