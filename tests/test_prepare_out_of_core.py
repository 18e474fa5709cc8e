"""Recipes and data larger than memory together (the merge of issue 21 with big-data):
a dataset profiled out of core gets what a recipe adds to a profile (ordered columns'
charts in their order, a step for each alert) as the in-memory profile does, counted by
the engine; a column with too many categories to count is named in a note; a raw batch
larger than memory for a model trained on prepared data goes through its recipe a part
at a time (tests/test_raw_batches_out_of_core.py), while the batch prepared by the same
recipe is compared on disk as it is."""

from __future__ import annotations

import numpy as np
import pytest

from diamonds import CUTS, RECIPE, diamonds, write
from mlops_desktop.core.data import on_disk
from mlops_desktop.core.explore import profile as profile_module
from mlops_desktop.core.explore.profile import profile_dataset
from mlops_desktop.core.prepare import prepare_dataset, recipe_from_words
from mlops_desktop.core.workspace import Workspace


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    base = tmp_path_factory.mktemp("prepare_on_disk")
    frame = diamonds(1500)
    rng = np.random.default_rng(3)
    frame["shop"] = [f"s{i}" for i in rng.integers(0, 60, len(frame))]  # many levels, a few rare
    frame.loc[:5, "shop"] = ["r1", "r2", "r3", "r4", "r5", "r6"]
    frame.to_csv(base / "d.csv", index=False)
    with Workspace.create(base / "ws", actor="ann") as w:
        w.import_file(base / "d.csv", name="d", actor="ann")
        prepare_dataset(w, "d", recipe_from_words(RECIPE), name="ready", actor="ann")
        yield w


def _recipe_parts(profile):
    charts = {c.name: (c.chart, c.stats.get("order")) for c in profile.columns if c.stats.get("order")}
    steps = {(a.kind, tuple(a.columns)): a.suggested_step for a in profile.alerts}
    return charts, steps


@pytest.mark.parametrize("name", ["d", "ready"])
def test_a_profile_on_disk_gets_the_recipes_orders_and_steps(ws, name, monkeypatch):
    in_memory = profile_dataset(ws, name)
    monkeypatch.setattr(on_disk, "OUT_OF_CORE_BYTES", 0)
    out_of_core = profile_dataset(ws, name)
    charts, steps = _recipe_parts(out_of_core)
    assert (charts, steps) == _recipe_parts(in_memory)
    if name == "ready":
        chart, order = charts["cut"]
        assert order == CUTS and chart["labels"] == CUTS and chart["ordered"]
        assert sum(chart["counts"]) + chart["other"] == ws.dataset("ready").n_rows - _missing(out_of_core, "cut")
    else:
        assert steps[("high_cardinality", ("shop",))].startswith("recode shop: r1 -> Other")


def _missing(profile, name):
    return next(c for c in profile.columns if c.name == name).missing


def test_a_column_with_too_many_categories_to_count_on_disk_is_named(ws, monkeypatch):
    monkeypatch.setattr(on_disk, "OUT_OF_CORE_BYTES", 0)
    monkeypatch.setattr(profile_module, "COUNTED_CATEGORIES_ON_DISK", 10)
    profile = profile_dataset(ws, "d")
    shop = next(a for a in profile.alerts if a.kind == "high_cardinality" and a.columns == ["shop"])
    assert shop.suggested_step is None
    assert any(n.startswith("No merge of rare categories is suggested for shop:") for n in profile.notes)


def test_a_raw_batch_on_disk_for_a_prepared_model_is_prepared_the_prepared_one_compared(tmp_path_factory,
                                                                                          monkeypatch):
    from mlops_desktop.core.monitor import batch_from_dataset, compare_batch
    from mlops_desktop.core.monitor.for_version import reference_for_version
    from mlops_desktop.core.train import TrainSpec, train

    base = tmp_path_factory.mktemp("prepared_drift")
    raw = write(base / "diamonds.csv", n=1500)
    with Workspace.create(base / "ws", actor="ann") as w:
        w.import_file(raw, name="diamonds", actor="ann")
        prepare_dataset(w, "diamonds", recipe_from_words(RECIPE), name="ready", actor="ann")
        done = train(w, TrainSpec(dataset="ready", target="log_price", features=["carat", "cut", "color"],
                                  models=["ols"], model_name="price"), actor="ann")
        reference = reference_for_version(w, f"price:{done.version}")
        in_memory = compare_batch(reference, batch_from_dataset(w, "ready"))
        raw_in_memory = compare_batch(reference, batch_from_dataset(w, "diamonds"))
        monkeypatch.setattr(on_disk, "OUT_OF_CORE_BYTES", 0)
        raw = compare_batch(reference, batch_from_dataset(w, "diamonds"))
        assert raw.batch["rows"] == raw_in_memory.batch["rows"] == in_memory.batch["rows"]
        assert raw.notes == raw_in_memory.notes
        batch = batch_from_dataset(w, "ready")
        assert batch.table is None and batch.source["recipe_sha256"]
        report = compare_batch(reference, batch)
        assert report.batch["rows"] == in_memory.batch["rows"]
        assert [round(r.metrics.get("psi") or 0, 9) for r in report.comparison.features] == \
            [round(r.metrics.get("psi") or 0, 9) for r in in_memory.comparison.features]


def test_explaining_raw_rows_of_a_prepared_model_goes_through_its_recipe(tmp_path_factory):
    """The rows of the raw file are explained as the prepared rows they become (numbered
    by their line in the file); a row outside the model's scope is refused by number."""
    from mlops_desktop.core.train import TrainSpec, train
    from mlops_desktop.core.validate.errors import ValidationError
    from mlops_desktop.core.validate.explanations import explain_row, explain_rows

    base = tmp_path_factory.mktemp("prepared_explain")
    raw = write(base / "diamonds.csv", n=800)
    with Workspace.create(base / "ws", actor="ann") as w:
        w.import_file(raw, name="diamonds", actor="ann")
        prepare_dataset(w, "diamonds", recipe_from_words(RECIPE), name="ready", actor="ann")
        done = train(w, TrainSpec(dataset="ready", target="log_price", features=["carat", "cut", "x"],
                                   models=["ols"], model_name="price"), actor="ann")
        ref = f"price:{done.version}"
        from_raw = explain_rows(w, ref, str(raw), rows="all")
        from_ready = explain_rows(w, ref, "ready", rows="all")
        in_scope = np.flatnonzero(diamonds(800).carat.to_numpy() <= 2.5)
        assert [r.row for r in from_raw.rows] == list(in_scope + 1) and len(from_raw.rows) < 800
        assert [r.contributions for r in from_raw.rows] == [r.contributions for r in from_ready.rows]
        # a raw value the recipe changes: a typo of cut recoded, a 0 of x made missing
        assert {r.values["cut"] for r in from_raw.rows} <= set(CUTS)
        outside = int(np.setdiff1d(np.arange(800), in_scope)[0]) + 1
        with pytest.raises(ValidationError, match=f"Row {outside} of diamonds.csv lies outside the model's scope"):
            explain_rows(w, ref, str(raw), rows=str(outside))
        one = explain_row(w, ref, 1, data="diamonds")  # numbered as validation on the raw dataset numbers them
        assert one.contributions == from_ready.rows[0].contributions


def test_preparing_a_dataset_larger_than_memory_is_refused_its_preview_is_sampled_from_disk(ws, monkeypatch):
    """Issue 18: a recipe is applied to rows in memory, so preparing a dataset larger than
    memory is refused with the way out, and nothing is registered; the recipe's preview
    reads the very rows it reads in memory (seeded), from the snapshot on disk."""
    import pandas as pd

    from mlops_desktop.core.data.on_disk import TooLargeForMemory
    from mlops_desktop.core.prepare import apply, dataset_preview_sample, preview_sample

    monkeypatch.setattr(apply, "PREVIEW_ROWS", 300)
    d = ws.dataset("d")
    in_memory = preview_sample(ws.load_table(d).to_pandas(), 300)
    datasets = [x.name for x in ws.datasets()]
    monkeypatch.setattr(on_disk, "OUT_OF_CORE_BYTES", 0)
    pd.testing.assert_frame_equal(dataset_preview_sample(ws, d, 300), in_memory)
    with pytest.raises(TooLargeForMemory, match=r"Dataset 'd' is larger than memory \(1,500 rows, .*\), and "
                                                r"preparing reads every row into memory.*Import the part"):
        prepare_dataset(ws, "d", recipe_from_words(RECIPE), name="again", actor="ann")
    assert [x.name for x in ws.datasets()] == datasets


def test_exporting_a_model_whose_import_is_larger_than_memory_reads_it_a_batch_at_a_time(tmp_path_factory,
                                                                                          monkeypatch):
    """The package describes the raw columns from the training rows as imported: with the
    import larger than memory they are found a batch at a time (the recipe applied to
    each), never by reading the import whole, and the description is the one made in
    memory. A recipe that drops duplicates compares rows across the whole table: refused,
    naming the step."""
    import json

    from mlops_desktop.core.errors import MlopsError
    from mlops_desktop.core.export import export_version
    from mlops_desktop.core.train import TrainSpec, train
    from mlops_desktop.core.workspace import Workspace as Ws
    from export_helpers import approve

    base = tmp_path_factory.mktemp("prepared_export")
    raw = write(base / "diamonds.csv", n=1500)
    with Workspace.create(base / "ws", actor="ann") as w:
        w.import_file(raw, name="diamonds", actor="ann")
        prepare_dataset(w, "diamonds", recipe_from_words(RECIPE), name="ready", actor="ann")
        prepare_dataset(w, "diamonds", recipe_from_words([*RECIPE, "drop duplicates"]), name="unique",
                        actor="ann")
        refs = {}
        for name in ("ready", "unique"):
            done = train(w, TrainSpec(dataset=name, target="log_price", features=["carat", "cut", "x"],
                                      models=["ols"], model_name=f"price-{name}"), actor="ann")
            refs[name] = f"price-{name}:{done.version}"
            approve(w, refs[name])
        in_memory = json.loads((export_version(w, refs["ready"], base / "in-memory", actor="carl").path
                                / "schema.json").read_text())
        root = w.dataset("diamonds").id
        load_table = Ws.load_table

        def only_parts_of_the_import(self, dataset, columns=None):
            assert dataset.id != root, "the import was read whole"
            return load_table(self, dataset, columns)

        monkeypatch.setattr(on_disk, "OUT_OF_CORE_BYTES", 0)
        monkeypatch.setattr(on_disk, "READ_ROWS", 200)  # 1,500 rows in 8 batches
        monkeypatch.setattr(Ws, "load_table", only_parts_of_the_import)
        on_disk_schema = json.loads((export_version(w, refs["ready"], base / "on-disk", actor="carl").path
                                     / "schema.json").read_text())
        assert on_disk_schema["raw_inputs"] == in_memory["raw_inputs"]
        assert on_disk_schema["recipe"] == in_memory["recipe"]
        assert {c["name"] for c in in_memory["raw_inputs"]} == {"carat", "cut", "x"}
        with pytest.raises(MlopsError, match=r"step 10 of the recipe that prepared 'unique' \(drop duplicates\)"):
            export_version(w, refs["unique"], base / "refused", actor="carl")
        assert not (base / "refused").exists()
