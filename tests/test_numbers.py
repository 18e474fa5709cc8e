"""The one formatter of figures (core/numbers.py): the cases issue 20 named."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from mlops_desktop.core import numbers as n


@pytest.mark.parametrize("x, text", [
    (0, "0"), (-0.0, "0"), (7, "7"), (53_940, "53,940"), (2013.0, "2,013"), (18_823.4, "18,823"),
    (1_234_567.8, "1,234,568"), (0.08423, "0.0842"), (0.5, "0.5"), (12.345, "12.3"),
    (99.96, "100"), (-3.14159, "-3.14"), (1.434e-07, "1.43e-7"), (-1e-05, "-1e-5"),
    (2.5e20, "2.5e20"), (None, "—"), (math.nan, "—"), (math.inf, "—"), (True, "yes"),
])
def test_a_value_reads_with_three_significant_digits_and_separators(x, text):
    assert n.value(x) == text


@pytest.mark.parametrize("p, text", [
    (0.0, "< 1e-16"), (1e-300, "< 1e-16"), (3.2e-9, "3.2e-9"), (0.0004, "0.0004"), (0.0423, "0.042"),
    (0.5, "0.500"), (1.0, "1.000"), (None, "—"),
])
def test_a_p_value_is_never_zero(p, text):
    assert n.p_value(p) == text


def test_fixed_decimals_for_a_matrix():
    assert [n.fixed(v) for v in (-0.8, 0.05, 1, -0.001, None)] == ["-0.80", "0.05", "1.00", "0.00", "—"]


def test_a_p_value_in_a_sentence():
    assert n.p_phrase(0) == "p < 1e-16"
    assert n.p_phrase(0.2) == "p = 0.200"
    assert n.p_phrase(None) == "p n/a"


def test_a_perfect_models_interval_reads_at_one_resolution():
    # a perfect model's bootstrap interval of log loss: the lower end is zero to the
    # resolution of the upper one
    assert n.interval(7.151e-45, 1.434e-07) == "0 to 1.43e-7"
    assert n.interval(0.8507, 0.9242) == "0.851 to 0.924"
    assert n.interval(0.351, 0.424, sign=True) == "+0.351 to +0.424"
    assert n.interval(-0.0201, 0.0312, sign=True) == "-0.0201 to +0.0312"
    assert n.interval(None, 0.3) == "—"
    assert n.with_interval(0.889, 0.8507, 0.9242) == "0.889 (0.851 to 0.924)"
    assert n.with_interval(0.389, 0.351, 0.424, sign=True) == "+0.389 (+0.351 to +0.424)"


@pytest.mark.parametrize("x, text", [
    (0, "0%"), (1, "100%"), (0.5, "50.0%"), (0.1234, "12.3%"), (0.0004, "< 0.1%"), (0.99996, "> 99.9%"),
    (None, "—"),
])
def test_a_share_is_a_percentage_never_rounded_to_nothing_or_everything(x, text):
    assert n.share(x) == text


def test_counts_sizes_and_durations():
    assert n.count(53940) == "53,940"
    assert n.count(1.0) == "1"
    assert n.file_size(812) == "812 bytes"
    assert n.file_size(1_234_567) == "1.18 MB"
    assert n.file_size(5 * 1024 ** 3) == "5 GB"
    assert n.seconds(0.04) == "0.04 s"
    assert n.seconds(125) == "2 min 5 s"


def test_metric_names_in_words():
    assert n.metric_name("balanced_accuracy") == "balanced accuracy"
    assert n.metric_name("roc_auc") == "ROC AUC"
    assert n.metric_name("psi") == "PSI"
    assert n.metric_name("some_new_measure") == "some new measure"


def test_timestamps_to_the_minute_without_microseconds():
    assert n.timestamp("2026-12-06T18:32:17.242721Z") == "2026-12-06 18:32 UTC"
    assert n.timestamp("2026-12-06T18:32:17.242721+00:00", seconds=True) == "2026-12-06 18:32:17 UTC"
    assert n.timestamp(dt.datetime(2013, 1, 1, 11, 0)) == "2013-01-01 11:00"
    assert n.timestamp("not a time") == "not a time"
    assert n.date_or_time("2013-07-01 00:00:00+00:00") == "2013-07-01"
    assert n.date_or_time("2013-07-01 01:00:00+00:00") == "2013-07-01 01:00 UTC"

