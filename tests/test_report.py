"""The HTML report of a profile and of the checks: one self-contained file (no script,
nothing fetched), well-formed, naming every column and check, small for a large table,
written atomically."""

from __future__ import annotations

import re
from markupsafe import escape
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from conftest import SAMPLES
from mlops_desktop.core.checks import run_checks
from mlops_desktop.core.data.types import infer_column
from mlops_desktop.core.errors import MlopsError
from mlops_desktop.core.explore import profile_table
from mlops_desktop.core.report import render_report, write_report

SVG_NS = "http://www.w3.org/2000/svg"
VOID = {"meta", "br", "hr", "img", "input", "link", "wbr", "col", "area", "base", "source"}


class _TagBalance(HTMLParser):
    """Fails on a closing tag that does not close the innermost open element."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.seen: set[str] = set()

    def handle_starttag(self, tag, attrs):
        self.seen.add(tag)
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()


def assert_self_contained_html(html: str) -> _TagBalance:
    assert html.startswith("<!DOCTYPE html>")
    lower = html.lower()
    for bad in ("<script", "src=", "href=", "url(", "@import", "<iframe", "<object", "<link"):
        assert bad not in lower, bad
    assert set(re.findall(r"https?://[^\s\"'<>]*", html)) <= {SVG_NS}
    assert lower.count("http") == html.count(SVG_NS)  # the SVG namespace, nothing else
    parser = _TagBalance()
    parser.feed(html)
    parser.close()
    assert parser.errors == [] and parser.stack == []
    assert {"html", "head", "body", "title", "style"} <= parser.seen
    return parser


def _kinds(table: pa.Table) -> dict[str, str]:
    return {c: infer_column(table.column(c), table.num_rows).kind for c in table.column_names}


@pytest.fixture(scope="module")
def penguins() -> pd.DataFrame:
    return pd.read_csv(SAMPLES / "penguins.csv")


@pytest.fixture(scope="module")
def penguins_profile(penguins):
    table = pa.Table.from_pandas(penguins, preserve_index=False)
    return profile_table(table, kinds=_kinds(table), target="species",
                         dataset={"id": 1, "name": "penguins", "fingerprint": "ab" * 32})


@pytest.fixture(scope="module")
def check_report(penguins):
    return run_checks(penguins, "body_mass_g")


def test_profile_report(penguins, penguins_profile):
    html = render_report(profile=penguins_profile)
    parser = assert_self_contained_html(html)
    assert "svg" in parser.seen
    for name in penguins.columns:
        assert f"id='col-{name}'" in html
    assert "Data report: penguins" in html and "344 rows × 8 columns" in html
    assert "Pearson" in html and "Spearman" in html and "Cramér" in html
    assert "Target: species (classification)" in html


def test_check_report(check_report):
    html = render_report(checks=check_report, title="Assumption checks: body_mass_g")
    assert_self_contained_html(html)
    assert len(check_report.checks) >= 5
    for check in check_report.checks:
        assert escape(check.name) in html
    counts = check_report.verdict_counts
    assert f"{counts['ok']} ok, {counts['warning']} warnings, {counts['problem']} problems" in html
    assert "<svg" in html  # the checks' charts are drawn inline


def test_combined_report_with_accepted_warnings(penguins_profile, check_report):
    accepted = [{"check_id": "vif", "reason": "species & island <go> together", "accepted_by": "alice",
                 "accepted_at": "2024-05-01T10:00:00Z"}]
    html = render_report(profile=penguins_profile, checks=check_report, accepted=accepted)
    assert_self_contained_html(html)
    assert "Accepted warnings" in html and "alice" in html
    assert "species &amp; island &lt;go&gt; together" in html


def test_names_are_escaped():
    hostile = "<script>alert(1)</script>"
    df = pd.DataFrame({hostile: np.arange(30.0), "a&b": ["x", "y", "z"] * 10, "y": np.arange(30) % 2})
    table = pa.Table.from_pandas(df, preserve_index=False)
    profile = profile_table(table, kinds={hostile: "numeric", "a&b": "categorical", "y": "numeric"},
                            target="y", dataset={"name": "<b>bold</b>"})
    html = render_report(profile=profile)
    assert_self_contained_html(html)
    assert escape(hostile) in html and "a&amp;b" in html and "&lt;b&gt;bold" in html


def test_report_of_a_large_table_stays_small():
    rng = np.random.default_rng(0)
    n = 200_000
    x = rng.normal(size=n)
    df = pd.DataFrame({
        "x": x, "y": 3 * x + rng.normal(size=n), "z": rng.lognormal(size=n),
        "k": rng.integers(0, 100, n).astype(float),
        "city": rng.choice([f"city-{i}" for i in range(500)], n),
        "group": rng.choice(["a", "b", "c"], n),
        "when": pd.Timestamp("2015-01-01") + pd.to_timedelta(rng.integers(0, 3000, n), unit="D"),
        "label": rng.choice(["yes", "no"], n),
    })
    table = pa.Table.from_pandas(df, preserve_index=False)
    profile = profile_table(table, kinds=_kinds(table), target="y")
    html = render_report(profile=profile)
    assert len(html.encode("utf-8")) < 2_000_000
    assert_self_contained_html(html)
    for name in df.columns:
        assert f"id='col-{name}'" in html
    assert "200,000 rows × 8 columns" in html


def test_write_report_writes_the_rendered_file(tmp_path: Path, penguins_profile):
    dest = tmp_path / "out" / "report.html"
    dest.parent.mkdir()
    assert write_report(dest, profile=penguins_profile) == dest
    text = dest.read_text(encoding="utf-8")
    assert_self_contained_html(text)
    assert "id='col-species'" in text
    assert [p.name for p in dest.parent.iterdir()] == ["report.html"]  # no temporary left


def test_write_report_refuses_a_missing_folder(tmp_path: Path, penguins_profile):
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    with pytest.raises(MlopsError, match="does not exist"):
        write_report(tmp_path / "missing" / "report.html", profile=penguins_profile)
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


def test_write_report_over_a_folder_fails_cleanly(tmp_path: Path, penguins_profile):
    (tmp_path / "taken.html").mkdir()
    with pytest.raises(MlopsError, match="Cannot write the report"):
        write_report(tmp_path / "taken.html", profile=penguins_profile)
    assert [p.name for p in tmp_path.iterdir()] == ["taken.html"]
    assert list((tmp_path / "taken.html").iterdir()) == []
