"""Explore's alerts and the checks act on their own advice with a recipe step (issue 21):
each offered step, applied to the dataset, makes the alert or the check's complaint go
away; steps are offered only where they fit (no logarithm of a target with zeros, no
merge of a single rare level); a stored check run does not keep them, an opened one
has them again."""

from __future__ import annotations

import numpy as np
import pytest

from diamonds import diamonds
from mlops_desktop.core.checks.for_dataset import check_dataset
from mlops_desktop.core.checks.history import last_check_run
from mlops_desktop.core.explore.profile import profile_dataset
from mlops_desktop.core.prepare import prepare_dataset, recipe_from_words
from mlops_desktop.core.workspace import Workspace


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    base = tmp_path_factory.mktemp("suggest")
    frame = diamonds(1500)
    rng = np.random.default_rng(3)
    # a shop code with many levels, some of them rare; an exact copy of a feature (aliased)
    frame["shop"] = [f"s{i}" for i in rng.integers(0, 40, len(frame))]
    frame.loc[:5, "shop"] = ["r1", "r2", "r3", "r4", "r5", "r6"]
    frame["depth_again"] = frame["depth"] * 2
    frame.to_csv(base / "d.csv", index=False)
    with Workspace.create(base / "ws", actor="ann") as w:
        w.import_file(base / "d.csv", name="d", actor="ann")
        yield w


def _alerts(ws, name):
    return profile_dataset(ws, name).alerts


def test_each_alert_step_applied_removes_its_alert(ws):
    offered = {(a.kind, a.columns[0]): a.suggested_step for a in _alerts(ws, "d") if a.suggested_step}
    assert offered[("zeros_in_positive", "x")] == "replace x == 0 with missing"
    assert offered[("zeros_in_positive", "z")] == "replace z == 0 with missing"
    typo = offered[("extreme_values", "y")]  # the misplaced decimal point of row 100
    assert typo.startswith("replace y > ") and typo.endswith(" with missing")
    steps = list(offered.values())
    made = prepare_dataset(ws, "d", recipe_from_words(steps), name="fixed", actor="ann").dataset
    left = {(a.kind, a.columns[0]) for a in _alerts(ws, "fixed") if a.columns}
    # a logarithm is a new column: the skewed one stays, its logarithm is not skewed
    assert offered[("skew", "price")] == "derive log_price = log(price)"
    assert ("skew", "log_price") not in left
    fixed_in_place = set(offered) - {("skew", "price")}
    assert not left & fixed_in_place, left & fixed_in_place
    raw = diamonds(1500)
    prepared = ws.load_table(made).to_pandas()
    assert prepared.x.isna().sum() == int((raw.x == 0).sum())  # only the zeros became missing
    assert prepared.y.isna().sum() == int((raw.y == 0).sum()) + 1  # and the one typo of y


def test_the_checks_offer_steps_that_act_on_their_advice(ws):
    report = check_dataset(ws, "d", "price", features=["carat", "cut", "shop", "depth", "depth_again"],
                           store=True, actor="ann")
    by_id = {c.id: c for c in report.checks}
    rare = by_id["rare_categories"]
    assert rare.verdict == "warning"
    assert rare.suggested_steps == ["recode cut: Goood -> Other, Premum -> Other",  # the typos, by the rule
                                    "recode shop: r1 -> Other, r2 -> Other, r3 -> Other, r4 -> Other, "
                                    "r5 -> Other, r6 -> Other"]
    vif = by_id["vif"]
    assert vif.verdict == "problem" and vif.suggested_steps
    assert vif.suggested_steps[0].startswith("drop ") and "depth" in vif.suggested_steps[0]
    for check_id in ("normality_residuals", "heteroscedasticity"):
        c = by_id[check_id]
        assert c.suggested_steps == ([] if c.verdict == "ok" else ["derive log_price = log(price)"])
    assert any(by_id[i].verdict != "ok" for i in ("normality_residuals", "heteroscedasticity"))
    # the rare levels merged, the copy dropped: those two complaints are gone
    made = prepare_dataset(ws, "d", recipe_from_words(rare.suggested_steps + vif.suggested_steps),
                           name="checked", actor="ann").dataset
    kept = [f for f in ["carat", "cut", "shop", "depth", "depth_again"] if f in {c.name for c in made.columns}]
    again = {c.id: c for c in check_dataset(ws, "checked", "price", features=kept).checks}
    assert again["vif"].verdict != "problem"
    for feature in again["rare_categories"].figures["features"]:
        assert len(feature["rare_levels"]) <= 1  # "Other" itself may be the one rare level left
    # stored without them, opened with them again
    row = ws.registry.db.execute("SELECT report FROM check_runs WHERE id = ?", (report.id,)).fetchone()[0]
    assert "suggested_steps" not in row and "recode shop" not in row
    opened = last_check_run(ws, "d", "price")
    assert {c.id: c.suggested_steps for c in opened.checks} == {c.id: c.suggested_steps for c in report.checks}


def test_no_logarithm_for_a_target_with_zeros_or_negatives(ws, tmp_path):
    frame = diamonds(800)
    frame.loc[:3, "price"] = 0.0
    frame.to_csv(tmp_path / "zeros.csv", index=False)
    ws.import_file(tmp_path / "zeros.csv", name="zeros", actor="ann")
    report = check_dataset(ws, "zeros", "price", features=["carat", "depth"])
    assert not any(s.startswith("derive") for c in report.checks for s in c.suggested_steps)
    assert any(c.verdict != "ok" for c in report.checks if c.id in ("normality_residuals", "heteroscedasticity"))


def test_a_single_rare_level_is_not_merged_into_other_alone():
    from mlops_desktop.core.checks.result import CheckResult
    from mlops_desktop.core.prepare.suggest import for_check

    def rare(levels):
        return CheckResult("rare_categories", "Rare", "", "warning", figures={"features": [
            {"feature": "f", "rare_levels": [{"level": v, "rows": 2} for v in levels]}]})

    assert for_check(rare(["a"]), "t", None) == []
    assert [s.text for s in for_check(rare(["b", "a"]), "t", None)] == ["recode f: a -> Other, b -> Other"]
    ok = CheckResult("normality_residuals", "N", "", "ok")
    assert for_check(ok, "price", 1.0) == []


def test_a_suspected_leak_and_a_near_constant_column_are_offered_their_drop():
    from mlops_desktop.core.explore.alerts import Alert
    from mlops_desktop.core.prepare.suggest import suggest

    leak = Alert("problem", "leakage", ["price_eur", "price"], 0.999, "")
    assert [s.text for s in suggest(leak)] == ["drop price_eur"]  # the leak, never the target
    assert [s.text for s in suggest(Alert("warning", "near_constant", ["flag"], 0.99, ""))] == ["drop flag"]
    # a near-constant column whose rare values predict the target is to be kept: no step
    assert suggest(Alert("info", "near_constant", ["flag"], 0.99, "")) == []
