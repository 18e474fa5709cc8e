"""Recipe steps (issue 21): written as the app shows them and read back the same; stored
as JSON; each applied as plain pandas would (checked against pandas written by hand);
filters become scope rules with a reason when rows are scored; a model keeps only the
steps its inputs and scope depend on."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from diamonds import RECIPE, diamonds
from mlops_model_support import expressions
from mlops_model_support.recipe import (Cast, Derive, Drop, DropDuplicates, Filter, Order, Recipe, RecipeError,
                                        Recode, Replace, parse_step)

WORDS = ["filter carat <= 2.5", "filter cut in ('Good', 'Ideal') and not is_missing(x)",
         "derive log_price = log(price)", "derive `price per carat` = price / carat",
         "derive big = 'big' if carat > 1 else 'small'", "derive year = year(sold)",
         "replace x == 0 with missing", "replace x where y == 0 or z == 0 with missing",
         "recode cut: Goood -> Good, Premum -> Premium", "recode city: missing -> Unknown, '?' -> missing",
         "recode code: 'a, b' -> 'x -> y', 'it''s' -> \"q\"",
         "order cut: Fair < Good < Very Good < Premium < Ideal", "order grade: '<5' < '5-10' < '>10'",
         "cast zip as category", "cast amount as number", "cast sold as date", "cast flag as boolean",
         "drop depth, `table size`", "drop duplicates", "drop `duplicates`"]


def test_each_step_reads_back_as_it_is_shown():
    for text in WORDS:
        step = parse_step(text)
        assert parse_step(step.describe()) == step, text
        assert Recipe.from_dict([step.to_dict()]).steps == (step,)


def test_the_words_say_what_the_json_holds():
    assert parse_step("replace x == 0 with missing") == Replace("x", "x == 0")
    assert parse_step("recode city: missing -> Unknown, '?' -> missing").values == (
        (None, "Unknown"), ("?", None))
    assert parse_step("order grade: '<5' < '5-10' < '>10'").levels == ("<5", "5-10", ">10")
    assert parse_step("drop depth, `table size`") == Drop(("depth", "table size"))
    assert parse_step("DROP DUPLICATES") == DropDuplicates()
    assert parse_step("derive `price per carat` = price / carat") == Derive("price per carat", "price / carat")


@pytest.mark.parametrize("text, word", [
    ("sort by price", "starts with filter"), ("filter", "Write filter CONDITION"),
    ("derive log(price)", "derive NAME = EXPRESSION"), ("derive a == b", "derive NAME = EXPRESSION"),
    ("replace x == 0", "with missing"), ("replace x == y with missing", "Say which column"),
    ("recode cut Goood -> Good", "colon"), ("recode cut: Goood", "OLD -> NEW"),
    ("recode cut: a -> b, a -> c", "two new values"), ("order cut: Fair", "at least two"),
    ("cast x as integer", "Cast to one of"), ("drop", "Write drop COLUMN"),
    ("order cut: 'Fair < Good", "not closed"), ("filter price.__class__", "attribute access")])
def test_a_step_that_cannot_be_read_says_how_to_write_it(text, word):
    with pytest.raises(RecipeError, match=word):
        parse_step(text)


def test_the_recipe_json_is_canonical_and_named_by_its_hash():
    r = Recipe.from_words(RECIPE)
    again = Recipe.from_json(r.canonical_json())
    assert again == r and again.sha256 == r.sha256
    assert Recipe.from_words(RECIPE[:-1]).sha256 != r.sha256
    assert r.to_dict()["type"] == "mlops-desktop recipe" and len(r.to_dict()["steps"]) == len(RECIPE)
    with pytest.raises(RecipeError, match="format 2"):
        Recipe.from_dict({"format": 2, "steps": []})


def test_applying_the_diamonds_recipe_equals_plain_pandas():
    raw = diamonds(2000)
    prepared = Recipe.from_words(RECIPE).apply(raw)
    # the same steps written by hand
    ref = raw.copy()
    ref["cut"] = ref["cut"].replace({"Goood": "Good", "Premum": "Premium"})
    for c in ("x", "y", "z"):
        ref[c] = ref[c].mask(ref[c] == 0)
    ref["log_price"] = np.log(ref["price"])
    ref = ref[ref["carat"] <= 2.5].reset_index(drop=True)
    pd.testing.assert_frame_equal(prepared.frame, ref, check_dtype=False)
    assert list(prepared.kept) == list(np.flatnonzero(raw["carat"] <= 2.5))
    zeros = {e.step: e.cells for e in prepared.effects if e.step.startswith("replace")}
    assert zeros == {"replace x == 0 with missing": int((raw.x == 0).sum()),
                     "replace y == 0 with missing": int((raw.y == 0).sum()),
                     "replace z == 0 with missing": int((raw.z == 0).sum())}
    last = prepared.effects[-1]
    assert (last.rows_before, last.rows_after) == (len(raw), int((raw.carat <= 2.5).sum()))


def test_missing_values_in_conditions_and_replacements():
    frame = pd.DataFrame({"x": [0.0, 1.0, np.nan, 2.0], "t": ["a", None, "b", "a"]})
    assert list(Filter("x != 0").apply(frame)[0]["x"]) == [1.0, 2.0]  # a missing x is not known to differ
    assert list(Filter("is_missing(x) or x > 1").apply(frame)[0].index) == [2, 3]
    assert list(Filter("t != 'a'").apply(frame)[0]["t"]) == ["b"]
    out, change = Replace("x", "x == 0").apply(frame)
    assert change.cells == 1 and out["x"].isna().tolist() == [True, False, True, False]
    out, change = Recode("t", ((None, "none"), ("a", None))).apply(frame)
    assert out["t"].tolist() == [None, "none", "b", None] and change.cells == 3


def test_recode_merges_and_order_checks_every_value():
    frame = pd.DataFrame({"cut": ["Fair", "Goood", "Ideal", None, "Good"]})
    out, change = Recode("cut", (("Goood", "Good"),)).apply(frame)
    assert out["cut"].tolist() == ["Fair", "Good", "Ideal", None, "Good"] and change.cells == 1
    with pytest.raises(RecipeError, match="place: Goood \\(1 rows\\)"):
        Order("cut", ("Fair", "Good", "Ideal")).apply(frame)
    assert Order("cut", ("Fair", "Good", "Ideal")).apply(out)[0] is out
    codes = pd.DataFrame({"code": [1, 2, 2, 3]})
    assert Recode("code", (("2", "two"),)).apply(codes)[0]["code"].tolist() == ["1", "two", "two", "3"]


def test_casts():
    frame = pd.DataFrame({"n": ["1", " 2.5 ", "n/a", None], "z": [1000, 2000, 1000, None],
                          "d": ["2013-01-05", "2013-02-01", "bad", None], "b": ["yes", "No", "maybe", None]})
    assert Cast("n", "number").apply(frame)[0]["n"].tolist()[:2] == [1.0, 2.5]
    out, change = Cast("n", "number").apply(frame)
    assert out["n"].isna().tolist() == [False, False, True, True] and change.cells == 1
    assert Cast("z", "category").apply(frame)[0]["z"].tolist()[:3] == ["1000", "2000", "1000"]
    dates = Cast("d", "date").apply(frame)[0]["d"]
    assert dates.iloc[0] == pd.Timestamp("2013-01-05") and dates.isna().tolist() == [False, False, True, True]
    assert Cast("b", "boolean").apply(frame)[0]["b"].tolist() == [True, False, None, None]


def test_drop_duplicates_keeps_the_first_of_each():
    frame = pd.DataFrame({"a": [1, 1, 2, np.nan, np.nan], "b": ["x", "x", "y", None, None]})
    out, change = DropDuplicates().apply(frame)
    assert list(change.kept) == [0, 2, 3] and len(out) == 3


def test_derived_columns_from_expressions():
    frame = pd.DataFrame({"price": [100.0, 0.0, 250.0], "carat": [0.5, 1.0, 2.0],
                          "sold": pd.to_datetime(["2013-01-05", "2014-03-10", "2015-07-01"])})
    recipe = Recipe.from_words(["derive lp = log(price)", "derive ppc = price / carat",
                                "derive q = quarter(sold)", "derive dow = weekday(sold)",
                                "derive band = 'high' if price > 150 else 'low'"])
    out = recipe.apply(frame).frame
    assert out["lp"].iloc[0] == pytest.approx(np.log(100)) and np.isnan(out["lp"].iloc[1])  # log(0): missing
    assert out["ppc"].tolist() == [200.0, 0.0, 125.0]
    assert out["q"].tolist() == [1, 1, 3] and out["dow"].tolist() == [6, 1, 3]  # ISO weekdays
    assert out["band"].tolist() == ["low", "low", "high"]


def test_filters_become_scope_rules_with_reasons():
    recipe = Recipe.from_words(["filter carat <= 2.5", "filter 0.3 < depth", "filter cut != 'Fair'",
                                "filter x / y < 1.1", "derive log_price = log(price)"])
    rows = pd.DataFrame({"carat": [1.0, 3.0, np.nan, 1.0, 1.0, 3.0], "depth": [60, 60, 60, 0.2, 60, 0.1],
                         "cut": ["Ideal", "Ideal", "Ideal", "Ideal", "Fair", "Ideal"],
                         "x": [5, 5, 5, 5, 5, 9], "y": [5, 5, 5, 5, 5, 5], "price": [1000.0] * 6})
    prepared, reasons = recipe.score_rows(rows)
    assert len(prepared) == len(rows) and prepared["log_price"].notna().all()  # every row prepared
    assert list(reasons) == [
        None, "carat above 2.5: the model was trained on carat ≤ 2.5",
        "carat is missing: the model was trained on carat ≤ 2.5",
        "depth of 0.3 or less: the model was trained on depth > 0.3",
        "cut is Fair: the model was trained on cut ≠ Fair",
        "carat above 2.5: the model was trained on carat ≤ 2.5"]  # the first rule a row breaks
    rows.loc[0, "x"] = 6
    assert recipe.score_rows(rows)[1][0] == "outside the model's scope: the model was trained on rows where x / y < 1.1"
    assert list(recipe.score_rows(rows, scope=False)[1]) == [None] * 6


def test_scoring_rows_skips_what_only_describes_the_data():
    recipe = Recipe.from_words(["order cut: Fair < Good", "drop duplicates", "drop depth"])
    rows = pd.DataFrame({"cut": ["Premium", "Premium"], "depth": [1, 1]})
    prepared, reasons = recipe.score_rows(rows)  # an unknown level is the model's to handle
    assert list(prepared.columns) == ["cut"] and len(prepared) == 2 and list(reasons) == [None, None]


def test_a_model_keeps_the_steps_its_inputs_and_scope_depend_on():
    recipe = Recipe.from_words(["replace x == 0 with missing", "replace depth == 0 with missing",
                                "derive ratio = x / y", "derive log_price = log(price)",
                                "recode cut: Goood -> Good", "order cut: Fair < Good < Ideal",
                                "filter ratio < 1.1", "drop table", "drop duplicates"])
    kept = recipe.for_model(["carat", "cut", "x"])
    assert kept.describe() == ["replace x == 0 with missing", "derive ratio = x / y",
                               "recode cut: Goood -> Good", "filter ratio < 1.1"]
    assert recipe.raw_inputs(["carat", "cut", "x"]) == ["x", "y", "cut", "carat"]
    assert recipe.raw_inputs(["log_price"]) == ["x", "y", "price"]


def test_orders_follow_recodes_and_end_with_a_new_column():
    recipe = Recipe.from_words(["order cut: Fair < Good < Very Good < Ideal",
                                "recode cut: Fair -> Low, Good -> Low", "order color: J < I < H",
                                "derive color = lower(color)"])
    assert recipe.orders() == {"cut": ["Low", "Very Good", "Ideal"]}


def test_expression_kinds_must_match():
    frame = pd.DataFrame({"price": [1.0], "cut": ["Ideal"], "sold": pd.to_datetime(["2013-01-01"])})
    for text, word in (("price > 'a'", "Cannot compare number with text"), ("cut + 1", "needs numbers"),
                       ("price and cut", "needs conditions"), ("log(cut)", "log\\(\\) needs numbers"),
                       ("year(price)", "needs a date"), ("price if cut == 'a' else cut", "one kind"),
                       ("round(price, 99)", "0 to 15"), ("sold > 'yesterday'", "not a date"),
                       ("nothing > 1", "no column 'nothing'")):
        with pytest.raises(expressions.ExpressionError, match=word):
            expressions.evaluate(text, frame)
    with pytest.raises(expressions.ExpressionError, match="is not a condition"):
        expressions.condition("price + 1", frame)


def test_editors_write_columns_and_categories_as_steps_read_them():
    """column_words and value_words (what the Prepare panel and the suggestions write
    into a step) give words that read back as the same column and values, for names a
    step would otherwise misread: spaces, a keyword, quotes, an arrow, missing."""
    from mlops_model_support.recipe import column_words, value_words

    for column in ("cut", "unit price", "where", "missing", "a'b", "10% off"):
        levels = ["Fair", "very good", "a -> b", "it's", "missing"]
        step = parse_step(f"order {column_words(column)}: " + " < ".join(value_words(v) for v in levels))
        assert step == Order(column, tuple(levels)), column
        pairs = ((None, "unknown"), ("missing", None), ("a -> b", "it's"))
        step = parse_step(f"recode {column_words(column)}: "
                          + ", ".join(f"{value_words(old)} -> {value_words(new)}" for old, new in pairs))
        assert step == Recode(column, pairs), column
