"""Prepared datasets (issue 21): a recipe applied to a dataset makes a new dataset with
its own snapshot and fingerprint (the same recipe on the same parent, the same
fingerprint), its lineage names the parent and the recipe, the analyst's column types
and roles carry over, a failure or a cancel records nothing, ``verify`` covers the
recipe, and the CLI prepares and shows it."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import run_cli
from diamonds import RECIPE, diamonds, write
from mlops_desktop.core.data.fingerprint import fingerprint
from mlops_desktop.core.errors import JobCancelled
from mlops_desktop.core.workspace.integrity import verify_workspace
from mlops_desktop.core.jobs import CancelToken
from mlops_desktop.core.registry.lineage import dataset_lineage
from mlops_desktop.core.prepare import (PrepareError, column_orders, derivation, prepare_dataset, recipe_from_words,
                                        recipe_of)
from mlops_desktop.core.prepare.apply import frame_to_table
from mlops_desktop.core.workspace import Workspace


@pytest.fixture
def raw(tmp_path: Path) -> Path:
    return write(tmp_path / "diamonds.csv", n=1500)


@pytest.fixture
def ws_raw(workspace, raw):
    ds = workspace.import_file(raw, name="diamonds", actor="ann").dataset
    workspace.update_column(ds.id, "price", role="target", actor="ann")
    workspace.update_column(ds.id, "table", kind="categorical", actor="ann")
    return workspace, ds


def _state(ws: Workspace) -> tuple:
    return (len(ws.datasets()), len(ws.audit_entries()), sorted(p.name for p in ws.snapshots_dir.iterdir()))


def test_a_recipe_makes_a_new_dataset_with_its_lineage(ws_raw, raw):
    ws, parent = ws_raw
    result = prepare_dataset(ws, "diamonds", recipe_from_words(RECIPE), name="prepared", actor="ann")
    ds = result.dataset
    # the data is what the same steps written by hand in pandas give (read as the import reads the file)
    ref = ws.load_table(parent).to_pandas()
    ref["cut"] = ref["cut"].replace({"Goood": "Good", "Premum": "Premium"})
    for c in "xyz":
        ref[c] = ref[c].mask(ref[c] == 0)
    ref["log_price"] = np.log(ref["price"])
    ref = ref[ref["carat"] <= 2.5].reset_index(drop=True)
    assert ds.fingerprint == fingerprint(frame_to_table(ref)) and ds.n_rows == len(ref)
    assert ws.load_table(ds).num_rows == len(ref)  # its own snapshot, hash-checked at use
    kinds = {c.name: (c.kind, c.role) for c in ds.columns}
    assert kinds["price"] == ("numeric", "target") and kinds["table"][0] == "categorical"  # carried over
    assert kinds["log_price"] == ("numeric", "feature") and kinds["cut"] == ("categorical", "feature")
    assert ds.source_format == "recipe" and ds.options["parent_dataset"] == parent.id
    found = recipe_of(ws, ds)
    assert found.parent.id == parent.id and found.recipe.describe() == RECIPE
    entry = ws.audit_entries(entity_type="dataset", entity_id=ds.id)[0]
    assert entry.action == "dataset.prepared" and entry.details["recipe_sha256"] == found.sha256
    assert entry.details["parent_id"] == parent.id and "from 'diamonds'" in entry.summary
    assert column_orders(ws, ds) == {"cut": ["Fair", "Good", "Very Good", "Premium", "Ideal"],
                                     "color": list("JIHGFED"),
                                     "clarity": ["I1", "SI2", "SI1", "VS2", "VS1", "VVS2", "VVS1", "IF"]}
    lineage = dataset_lineage(ws, ds.id)
    assert lineage["prepared_from"]["parent"]["id"] == parent.id and lineage["prepared_from"]["steps"] == RECIPE
    assert {"from": f"dataset:{parent.id}", "to": f"dataset:{ds.id}",
            "label": f"prepared ({len(RECIPE)} steps)"} in lineage["graph"]["edges"]
    assert dataset_lineage(ws, parent.id)["prepared_into"] == [{"id": ds.id, "name": "prepared", "rows": len(ref)}]
    assert [e.rows_after for e in result.effects][-1] == len(ref)
    assert verify_workspace(ws).ok


def test_the_same_recipe_on_the_same_parent_gives_the_same_fingerprint(ws_raw):
    ws, parent = ws_raw
    first = prepare_dataset(ws, parent.id, recipe_from_words(RECIPE), actor="ann")
    again = prepare_dataset(ws, parent.id, recipe_from_words(RECIPE), actor="bob")
    assert again.dataset.fingerprint == first.dataset.fingerprint and again.same_data_as == [first.dataset.id]
    assert again.dataset.snapshot == first.dataset.snapshot and again.dataset.name == "diamonds (prepared) (2)"
    other = prepare_dataset(ws, parent.id, recipe_from_words(RECIPE[:-1] + ["filter carat <= 2"]), actor="ann")
    assert other.dataset.fingerprint != first.dataset.fingerprint


def test_a_recipe_that_changes_no_value_shares_the_parents_snapshot(ws_raw):
    """Only an order: the same data as the parent (another Arrow type for the text), so the
    snapshot of the parent is kept, and the new dataset reads it."""
    ws, parent = ws_raw
    ds = prepare_dataset(ws, parent.id, recipe_from_words([RECIPE[4].replace("cut:", "color:").replace(
        "Fair < Good < Very Good < Premium < Ideal", "J < I < H < G < F < E < D")]), actor="ann").dataset
    assert ds.fingerprint == parent.fingerprint and ds.snapshot_sha256 == parent.snapshot_sha256
    assert ws.load_table(ds).num_rows == parent.n_rows and verify_workspace(ws).ok


def test_a_dataset_prepared_from_a_prepared_dataset(ws_raw):
    ws, parent = ws_raw
    first = prepare_dataset(ws, parent.id, recipe_from_words(RECIPE[:4]), name="fixed", actor="ann").dataset
    second = prepare_dataset(ws, first.id, recipe_from_words(RECIPE[4:]), name="ready", actor="ann").dataset
    way = derivation(ws, second)
    assert way.root.id == parent.id and [d.id for d in way.between] == [first.id]
    assert way.recipe.describe() == RECIPE
    assert second.fingerprint == prepare_dataset(ws, parent.id, recipe_from_words(RECIPE), actor="ann").dataset.fingerprint


def test_a_step_that_cannot_be_applied_records_nothing(ws_raw):
    ws, parent = ws_raw
    before = _state(ws)
    for steps, word in ((["derive lp = log(price)", "order cut: Fair < Good"], "Step 2 \\(order cut: Fair < Good\\): "
                                                                                "cut has values the order does not place"),
                        (["filter carat > 100"], "keeps no row"), (["derive q = log(cut)"], "needs numbers"),
                        (["drop nothing_like_it"], "no column 'nothing_like_it'"), ([], "no steps")):
        with pytest.raises(PrepareError, match=word):
            prepare_dataset(ws, parent.id, recipe_from_words(steps), actor="ann")
    assert _state(ws) == before


def test_a_cancel_records_nothing(ws_raw):
    ws, parent = ws_raw
    before = _state(ws)
    token = CancelToken()

    def progress(fraction, message):
        if "fingerprint" in message:
            token.cancel()

    with pytest.raises(JobCancelled):
        prepare_dataset(ws, parent.id, recipe_from_words(RECIPE), actor="ann", progress=progress, cancel=token)
    assert _state(ws) == before


@pytest.mark.parametrize("edit, word", [
    ("DELETE FROM dataset_recipes", "its recipe is gone"),
    ("UPDATE dataset_recipes SET parent_id = 2", "its parent dataset is 2, not 1"),
    ("UPDATE dataset_recipes SET created_by = 'mallory'", "its author is 'mallory', not 'ann'"),
    ("UPDATE dataset_recipes SET recipe = replace(recipe, '2.5', '3')", "no longer matches its SHA-256")])
def test_verify_covers_the_recipe(ws_raw, edit, word):
    ws, parent = ws_raw
    prepare_dataset(ws, parent.id, recipe_from_words(RECIPE), actor="ann")
    assert verify_workspace(ws).ok
    db = sqlite3.connect(ws.root / "registry.sqlite")
    db.execute(edit)
    db.commit()
    db.close()
    report = verify_workspace(ws)
    assert not report.ok and any(word in f.message for f in report.findings), report.text()


def test_the_cli_prepares_and_shows_the_recipe_and_parent(tmp_path: Path, raw):
    ws = tmp_path / "ws"
    assert run_cli("--workspace", str(ws), "import", str(raw), "--name", "diamonds").returncode == 0
    recipe = tmp_path / "recipe.json"
    recipe.write_text(json.dumps([{"step": "replace", "column": "x", "condition": "x == 0"}]))
    done = run_cli("--workspace", str(ws), "prepare", "diamonds", "--recipe", str(recipe),
                   "--step", "derive log_price = log(price)", "--step", "filter carat <= 2.5",
                   "--name", "ready", "--json", "--as", "ann")
    assert done.returncode == 0, done.stderr
    made = json.loads(done.stdout)
    assert made["name"] == "ready" and made["parent"]["name"] == "diamonds"
    assert made["steps"] == ["replace x == 0 with missing", "derive log_price = log(price)", "filter carat <= 2.5"]
    assert made["rows"] == int((diamonds(1500).carat <= 2.5).sum())
    shown = run_cli("--workspace", str(ws), "datasets", "show", "ready")
    assert shown.returncode == 0
    assert "Prepared from dataset 1 (diamonds) with a recipe of 3 steps" in shown.stdout
    assert "  3. filter carat <= 2.5" in shown.stdout
    data = json.loads(run_cli("--workspace", str(ws), "datasets", "show", "ready", "--json").stdout)
    assert data["prepared_from"]["parent"]["id"] == 1 and data["prepared_from"]["recipe_sha256"] == made["recipe_sha256"]
    lineage = run_cli("--workspace", str(ws), "datasets", "lineage", "diamonds").stdout
    assert f"Prepared into dataset {made['id']} (ready, {made['rows']:,} rows)" in lineage
    again = run_cli("--workspace", str(ws), "prepare", "diamonds", "--recipe", str(recipe),
                    "--step", "derive log_price = log(price)", "--step", "filter carat <= 2.5", "--json")
    assert json.loads(again.stdout)["fingerprint"] == made["fingerprint"]
    preview = run_cli("--workspace", str(ws), "prepare", "diamonds", "--step", "filter carat <= 2.5", "--preview")
    assert preview.returncode == 0 and "keeps" in preview.stdout
    assert len(json.loads(run_cli("--workspace", str(ws), "datasets", "list", "--json").stdout)) == 3


@pytest.mark.parametrize("args, word", [
    ((), "Give the recipe"), (("--step", "sort by price"), "starts with filter"),
    (("--step", "filter __import__('os')"), "__"), (("--recipe", "missing.json"), "no recipe file"),
    (("--step", "derive q = log(cut)"), "needs numbers")])
def test_the_cli_refuses_a_bad_recipe_with_a_sentence(tmp_path: Path, raw, args, word):
    ws = tmp_path / "ws"
    run_cli("--workspace", str(ws), "import", str(raw), "--name", "diamonds")
    done = run_cli("--workspace", str(ws), "prepare", "diamonds", *args, cwd=tmp_path)
    assert done.returncode == 2 and word in done.stderr and "Traceback" not in done.stderr, done.stderr


def test_the_preview_stops_at_the_step_that_fails_and_lists_changed_rows():
    from mlops_desktop.core.prepare import preview_recipe

    frame = diamonds(500)
    shown = preview_recipe(frame, recipe_from_words(["replace x == 0 with missing", "derive lp = log(cut)",
                                                     "filter carat < 1"]), selected=0)
    assert shown.failed_step == 1 and "needs numbers" in shown.error and len(shown.steps) == 1
    assert shown.changed_total == int((frame.x == 0).sum()) and list(shown.changed.columns) == ["x (before)", "x (after)"]
    kept = preview_recipe(frame, recipe_from_words(["filter carat < 1"]), selected=0)
    assert kept.changed_total == int((frame.carat >= 1).sum()) and (kept.changed["carat"] >= 1).all()
    assert kept.steps[0].share_kept == pytest.approx((frame.carat < 1).mean())
    assert list(pd.DataFrame(kept.changed).columns) == ["carat"]
