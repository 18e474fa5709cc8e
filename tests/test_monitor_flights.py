"""Drift on real data (a 6,000-row extract of the 2013 New York flights): random halves
show no drift, January–June against July–December flags ``month`` and no schedule
column, a half-standard-deviation shift flags that feature only; timelines by period;
the HTML report."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pytest

from conftest import DATA
from mlops_desktop.core.data.importer import build_columns
from mlops_desktop.core.data.readers import read_table
from mlops_desktop.core.data.types import normalise_table
from mlops_desktop.core.monitor import (Batch, DriftTimeline, Reference, compare_batch, render_drift_report,
                                        split_batch)

FLIGHTS = DATA / "flights_6000.csv"
SCHEDULE = ["dep_time", "sched_dep_time", "arr_time", "sched_arr_time", "hour", "minute"]


@pytest.fixture(scope="module")
def flights():
    table = normalise_table(read_table(FLIGHTS).table)
    columns = build_columns(table)
    kinds = {c.name: c.kind for c in columns}
    features = [c.name for c in columns if c.role == "feature"]
    return table, kinds, features


def _halves(table: pa.Table, seed: int) -> tuple[pa.Table, pa.Table]:
    order = np.random.default_rng(seed).permutation(table.num_rows)
    half = table.num_rows // 2
    return table.take(pa.array(order[:half])), table.take(pa.array(order[half:]))


def _by_month(table: pa.Table) -> tuple[pa.Table, pa.Table]:
    month = table.column("month").to_numpy()
    return table.filter(pa.array(month <= 6)), table.filter(pa.array(month > 6))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_halves_flag_no_feature(flights, seed):
    table, kinds, features = flights
    first, second = _halves(table, seed)
    report = compare_batch(Reference.from_table(first, kinds, name="half", features=features),
                           Batch("other half", second))
    assert [f.name for f in report.features if f.drifted] == []
    assert report.verdict == "no drift" and not report.drifted
    assert len(report.features) == 17 and "time_hour" in report.notes[0]
    assert report.summary.startswith("No drift: none of the 17 compared features drifted")


def test_first_half_of_the_year_against_the_second_flags_month(flights):
    table, kinds, features = flights
    first, second = _by_month(table)
    report = compare_batch(Reference.from_table(first, kinds, name="January–June", features=features),
                           Batch("July–December", second))
    month = report.feature("month")
    assert month.verdict == "major" and month.decided_rule == "psi"
    assert month.decided_by.startswith("PSI") and "major-drift threshold 0.25" in month.decided_by
    for name in SCHEDULE:
        assert not report.feature(name).drifted, report.feature(name).decided_by
    assert report.drifted and report.dataset.drifted_features[0] == "month"
    assert "month (major)" in report.summary
    json.dumps(report.to_dict(), allow_nan=False)


@pytest.mark.parametrize("column", ["dep_time", "distance", "arr_delay", "air_time"])
def test_a_half_sd_shift_flags_that_feature_only(flights, column):
    table, kinds, features = flights
    first, second = _halves(table, 0)
    shifted = second.to_pandas()
    shifted[column] = shifted[column] + 0.5 * first.column(column).to_pandas().std()
    report = compare_batch(Reference.from_table(first, kinds, name="half", features=features),
                           Batch("shifted", pa.Table.from_pandas(shifted, preserve_index=False)))
    assert [f.name for f in report.features if f.drifted] == [column]
    feature = report.feature(column)
    assert feature.metrics["wasserstein_normalised"] == pytest.approx(0.5, abs=0.05)
    assert feature.metrics["mean_change_sd"] == pytest.approx(0.5, abs=0.05)
    assert f"1 of 17 features drifted: {column}" in report.summary
    assert "standard deviations" in report.summary


def test_a_timeline_by_month(flights):
    table, kinds, features = flights
    first, second = _by_month(table)
    reference = Reference.from_table(first, kinds, name="January–June", features=features)
    batches = split_batch(Batch("second half", second), "time_hour", "M")
    assert [b.label for b in batches] == ["2013-07", "2013-08", "2013-09", "2013-10", "2013-11", "2013-12",
                                          "2014-01"]  # the last evening flights of 2013 leave on 1 January UTC
    assert sum(b.rows for b in batches) == second.num_rows
    reports = [compare_batch(reference, b) for b in batches]
    timeline = DriftTimeline.from_reports(reports)
    assert timeline.labels == [b.label for b in batches]
    assert timeline.series("month", "verdict")[:6] == ["major"] * 6
    assert timeline.verdicts[-1] == "not comparable"  # one row: nothing can be compared
    assert "only 1 value" in reports[-1].summary
    assert all(v in ("no drift", "not comparable") for v in timeline.series("sched_dep_time", "verdict"))
    assert timeline.series("month")[0] == reports[0].feature("month").metrics["psi"]
    assert len(timeline.drifted_share) == 7 and timeline.to_dict()["features"]["month"]["kind"] == "numeric"

    html = render_drift_report(reports)
    assert len(html.encode("utf-8")) < 2_000_000
    assert html.count("<svg") >= 15 and "Timeline: 6 of 7 batches drifted" in html
    assert "<script" not in html and "http://" not in html.replace("http://www.w3.org/2000/svg", "")
    assert "2013-09" in html and "decided by" in html


def test_weekly_and_daily_periods(flights):
    table, _, _ = flights
    january = table.filter(pa.array(table.column("month").to_numpy() == 1))
    weeks = split_batch(Batch("jan", january), "time_hour", "W", prefix=True)
    assert weeks[0].label == "jan 2013-W01" and weeks[1].label == "jan 2013-W02"
    assert weeks[0].source["period"] == "2013-W01" and weeks[0].source["freq"] == "W"
    days = split_batch(Batch("jan", january), "time_hour", "d")
    assert days[0].label == "2013-01-01" and days[-1].label == "2013-02-01"  # time_hour is in UTC
    assert sum(d.rows for d in days) == january.num_rows
