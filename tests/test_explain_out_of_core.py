"""Explaining rows of data larger than memory (issue 18): a dataset or a file on disk is
explained from the rows asked for, read row group by row group, with the same
contributions, reasons and row numbers as the same data in memory; raw rows on disk go
through the model's recipe; the Validate page's "Why this prediction?" finds a row of a
dataset on disk by reading it in parts; asking for more rows than fit is refused with the
way out."""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import run_cli
from diamonds import RECIPE, diamonds, write
from mlops_desktop.core.data import on_disk, streaming
from mlops_desktop.core.prepare import prepare_dataset, recipe_from_words
from mlops_desktop.core.validate import explanations
from mlops_desktop.core.validate.errors import ValidationError
from mlops_desktop.core.validate.explanations import explain_row, explain_rows
from mlops_desktop.core.workspace import Workspace


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from mlops_desktop.core.train import TrainSpec, train

    base = tmp_path_factory.mktemp("explain_on_disk")
    raw = write(base / "diamonds.csv", n=900)
    diamonds(900).to_parquet(base / "diamonds.parquet", index=False)
    with Workspace.create(base / "ws", actor="ann") as w:
        w.import_file(raw, name="diamonds", actor="ann")
        prepare_dataset(w, "diamonds", recipe_from_words(RECIPE), name="ready", actor="ann")
        plain = train(w, TrainSpec(dataset="diamonds", target="price", features=["carat", "cut", "color", "x"],
                                   models=["random_forest"], model_name="plain"), actor="ann")
        prepared = train(w, TrainSpec(dataset="ready", target="log_price", features=["carat", "cut", "x"],
                                      models=["ols"], model_name="price"), actor="ann")
    return base, f"plain:{plain.version}", f"price:{prepared.version}"


def _on_disk(monkeypatch):
    monkeypatch.setattr(on_disk, "OUT_OF_CORE_BYTES", 0)
    monkeypatch.setattr(streaming, "STREAM_ABOVE_BYTES", 0)


def _same(a, b):
    assert [r.row for r in a.rows] == [r.row for r in b.rows] and a.rows_in_data == b.rows_in_data
    for x, y in zip(a.rows, b.rows):
        assert x.decision == y.decision and x.values == y.values and x.reasons == y.reasons
        assert x.contributions == pytest.approx(y.contributions, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("data", ["diamonds", "diamonds.csv", "diamonds.parquet"])
def test_rows_of_data_on_disk_are_explained_as_in_memory(trained, data, monkeypatch):
    base, plain, _ = trained
    spec = data if data == "diamonds" else str(base / data)
    with Workspace.open(base / "ws") as w:
        in_memory = explain_rows(w, plain, spec, rows="3,1-2,850")
        _on_disk(monkeypatch)
        from mlops_desktop.core.monitor.batches import load_batch

        assert load_batch(spec, w).table is None  # the test reaches the batch on disk
        on_disk_rows = explain_rows(w, plain, spec, rows="3,1-2,850")
    assert [r.row for r in on_disk_rows.rows] == [3, 1, 2, 850]
    _same(on_disk_rows, in_memory)


def test_raw_rows_on_disk_go_through_the_models_recipe(trained, monkeypatch):
    base, _, prepared = trained
    carat = diamonds(900).carat.to_numpy()
    outside = int(np.flatnonzero(carat > 2.5)[0]) + 1
    with Workspace.open(base / "ws") as w:
        in_memory = explain_rows(w, prepared, "diamonds", rows="all")
        _on_disk(monkeypatch)
        on_disk_rows = explain_rows(w, prepared, "diamonds", rows="all")
        assert [r.row for r in on_disk_rows.rows] == list(np.flatnonzero(carat <= 2.5) + 1)
        _same(on_disk_rows, in_memory)
        with pytest.raises(ValidationError, match=f"Row {outside} of dataset diamonds lies outside the model's"):
            explain_rows(w, prepared, "diamonds", rows=str(outside))


@pytest.mark.parametrize("which", ["plain", "prepared"])
def test_why_this_prediction_finds_a_row_of_a_dataset_on_disk(trained, which, monkeypatch):
    base, plain, prepared = trained
    ref = plain if which == "plain" else prepared
    monkeypatch.setattr(on_disk, "READ_ROWS", 128)  # several parts, so a row is found across them
    with Workspace.open(base / "ws") as w:
        rows = w.dataset("diamonds").n_rows
        wanted = [1, 129, 300, 777] if which == "plain" else [1, 129, 300, 750]
        in_memory = [explain_row(w, ref, r, data="diamonds") for r in wanted]
        _on_disk(monkeypatch)
        read_on_disk = []   # each row is looked for in the snapshot's parts, not in memory
        find = explanations._dataset_row_on_disk
        monkeypatch.setattr(explanations, "_dataset_row_on_disk",
                            lambda *a, **k: read_on_disk.append(a[3]) or find(*a, **k))
        on_disk_rows = [explain_row(w, ref, r, data="diamonds") for r in wanted]
        assert len(read_on_disk) == len(wanted)
        for a, b in zip(on_disk_rows, in_memory):
            assert a.values == b.values and a.contributions == pytest.approx(b.contributions, rel=1e-12)
        last = len(np.flatnonzero(diamonds(900).carat.to_numpy() <= 2.5)) if which == "prepared" else rows
        with pytest.raises(ValidationError, match=f"has rows 1 to {last:,}; there is no row {last + 1:,}"):
            explain_row(w, ref, last + 1, data="diamonds")


def test_the_explain_command_on_a_file_on_disk_and_its_limit(trained, monkeypatch):
    base, plain, _ = trained
    _on_disk(monkeypatch)
    done = run_cli("explain", plain, "--data", str(base / "diamonds.parquet"), "--rows", "5-6",
                   "--workspace", str(base / "ws"), "--json")
    assert done.returncode == 0, done.stderr
    assert [r["row"] for r in json.loads(done.stdout)["rows"]] == [5, 6]
    monkeypatch.setattr(explanations, "MOST_ROWS_EXPLAINED", 100)
    refused = run_cli("explain", plain, "--data", str(base / "diamonds.parquet"), "--rows", "all",
                      "--workspace", str(base / "ws"))
    assert refused.returncode != 0
    assert "larger than memory (900 rows): explain at most 100 of its rows" in refused.stderr
    assert "score.py --reasons" in refused.stderr
