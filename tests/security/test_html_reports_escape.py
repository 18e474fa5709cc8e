"""Every HTML file the app writes (the data report of Explore and Check, the model card,
the drift report, and the drift report of an exported package's score.py) shows what people typed or imported as text: a column name, a category
level, a dataset and a model name, a tag, a description and a comment that hold markup
appear escaped, never as a tag or an attribute. The hostile names come in the way a user's
would: a CSV file's header and values through `datasets import`, the rest through the CLI.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import run_cli

SCRIPT = "<script>alert(1)</script>"
ATTRIBUTE = '"><img src=x onerror=alert(1)>'
HOSTILE = (SCRIPT, ATTRIBUTE)
#: a column name may not hold a quote (formulas refuse it), so the names carry the markup
#: without one; the category levels, the model name, tags and comments carry both
NUMBER_COLUMN, LEVEL_COLUMN = f"size {SCRIPT}", "kind <img src=x onerror=alert(1)>"
#: a batch file's name in the package's drift report: markup, an ampersand and both quotes
BATCH_FILE = """batch <i> & 'a' "b".csv"""


def _hostile_csv(path: Path, rows: int = 240, seed: int = 3) -> Path:
    """A numeric and a categorical column with markup in their names, category levels
    that are markup, and a target that depends on both."""
    rng = np.random.default_rng(seed)
    size = rng.normal(10, 2, rows)
    kind = rng.choice([SCRIPT, ATTRIBUTE, "plain"], rows)
    effect = pd.Series(kind).map({SCRIPT: 3.0, ATTRIBUTE: -2.0, "plain": 0.0}).to_numpy()
    y = 2 * size + effect + rng.normal(0, 1, rows)
    pd.DataFrame({NUMBER_COLUMN: size, LEVEL_COLUMN: kind, "y": y}).to_csv(path, index=False)
    return path


def _ok(*args: str) -> str:
    done = run_cli(*args)
    assert done.returncode in (0, 4), done.stderr  # 4: the drift report found drift
    return done.stdout


def assert_inert(text: str) -> None:
    """No hostile text appears unescaped: no script element, no img element, no
    attribute broken out of by a quote; the escaped form is there instead."""
    for hostile in HOSTILE:
        assert hostile not in text
    assert not re.search(r"<\s*script", text, re.I) and not re.search(r"<\s*img", text, re.I)
    assert "onerror=alert(1)>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("hostile")
    ws = str(folder / "ws")
    common = ("--workspace", ws)
    name = f"data {SCRIPT}"
    model = f"model {ATTRIBUTE}"
    _ok("init", *common)
    _ok("import", str(_hostile_csv(folder / "hostile.csv")), "--name", name, *common)
    _ok("profile", name, "--target", "y", "--report", str(folder / "profile.html"), *common)
    _ok("check", name, "--target", "y", "--report", str(folder / "check.html"), *common)
    _ok("train", name, "--target", "y", "--model", "ols", "--name", model, *common, "--as", "ann")
    _ok("models", "tag", f"{model}:1", "owner", SCRIPT, *common, "--as", "ann")
    _ok("models", "tag", f"{model}:1", "team", ATTRIBUTE, *common, "--as", "ann")
    _ok("models", "describe", f"{model}:1", f"{SCRIPT} {ATTRIBUTE}", *common, "--as", "ann")
    _ok("models", "purpose", f"{model}:1", f"Sizes {ATTRIBUTE}", *common, "--as", "ann")
    _ok("validate", f"{model}:1", "--subgroup", LEVEL_COLUMN, "--bootstrap", "50", *common, "--as", "ann")
    _ok("models", "stage", f"{model}:1", "validated", "--comment", SCRIPT, *common, "--as", "ann")
    _ok("models", "stage", f"{model}:1", "approved", "--comment", f"{SCRIPT} {ATTRIBUTE}", *common, "--as", "bob")
    _ok("validate", f"{model}:1", "--subgroup", LEVEL_COLUMN, "--bootstrap", "50",
        "--report", str(folder / "card.html"), *common, "--as", "ann")
    _ok("drift", "--reference", f"{model}:1", "--current",
        str(_hostile_csv(folder / "batch.csv", rows=200, seed=9)), "--report", str(folder / "drift.html"),
        *common, "--as", "eve")
    # the package IT runs writes its own drift report, of a batch file named with markup
    _ok("export", f"{model}:1", "--out", str(folder / "package"), *common, "--as", "carl")
    batch = folder / BATCH_FILE
    (folder / "batch.csv").rename(batch)
    done = subprocess.run([sys.executable, str(folder / "package" / "score.py"), "--drift", str(batch),
                           "--report", str(folder / "package_drift.html")], capture_output=True, text=True,
                          cwd=folder, timeout=300)
    assert done.returncode in (0, 4), done.stderr
    return {p.stem: p.read_text(encoding="utf-8") for p in folder.glob("*.html")}


@pytest.mark.parametrize("report", ["profile", "check", "card", "drift", "package_drift"])
def test_hostile_names_and_values_are_escaped_in_every_html_file(reports, report):
    assert_inert(reports[report])


@pytest.mark.parametrize("report", ["profile", "check", "card", "drift"])
def test_the_reports_own_markup_is_not_escaped_twice(reports, report):
    """Escaping by default must not reach the builder's own tags: its headings, tables,
    charts and badges stay markup."""
    text = reports[report]
    for own in ("h2", "table", "td", "svg", "div", "span", "p"):
        assert f"&lt;{own}" not in text and f"&amp;lt;{own}" not in text, own
    assert "<svg" in text and "<table>" in text


def test_the_hostile_text_reached_each_file(reports):
    """The test above means something only if the names are in the files at all, as text:
    the column names in each file, the levels in the profile, and in the card the model's
    name, its description, its purpose and the approver's comment."""
    from html import unescape

    shown = {report: unescape(text) for report, text in reports.items()}
    for report, text in shown.items():
        assert NUMBER_COLUMN in text, report
    assert SCRIPT in shown["profile"] and ATTRIBUTE in shown["profile"]
    for typed in (f"model {ATTRIBUTE}", f"{SCRIPT} {ATTRIBUTE}", f"Sizes {ATTRIBUTE}"):
        assert typed in shown["card"], typed
    assert f"model {ATTRIBUTE}" in shown["drift"]


def test_the_packages_drift_report_escapes_the_batch_file_name_and_keeps_its_own_markup(reports):
    """score.py's report (mlops_model_support.scoring.drift_html) shows the file name with its
    markup, ampersand and quotes as text, once escaped; its table stays a table."""
    from html import unescape

    text = reports["package_drift"]
    assert "<i>" not in text and "batch &lt;i&gt; &amp; &#39;a&#39; &#34;b&#34;.csv" in text
    assert "&amp;amp;" not in text and "&amp;lt;" not in text  # escaped once, not twice
    assert BATCH_FILE in unescape(text) and NUMBER_COLUMN in unescape(text)
    assert "<table><tr><th>Feature</th>" in text and text.count("<tr class=") == 3  # two columns, the prediction
