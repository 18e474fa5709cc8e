"""A column name holding a line break (a quoted CSV header cell) goes all the way
(issue 12, item 13): import, train, approve in single-user mode, export, and the
package's score.py scores the same file."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd

from conftest import run_cli


def test_a_column_name_with_a_line_break_exports_and_scores(tmp_path):
    rng = np.random.default_rng(0)
    n = 300
    delay = rng.normal(size=n)
    frame = pd.DataFrame({"dep\ndelay": delay, "distance": rng.normal(size=n),
                          "late": np.where(delay + rng.normal(size=n) > 0, "late", "on time")})
    data = tmp_path / "flights.csv"
    frame.to_csv(data, index=False)
    assert data.read_text().startswith('"dep\ndelay",distance,late\n')
    ws = str(tmp_path / "ws")

    def ok(*args: str) -> str:
        done = run_cli(*args, "--workspace", ws, "--as", "ann")
        assert done.returncode == 0, (args, done.stderr)
        return done.stdout

    ok("import", str(data), "--name", "flights")
    ok("single-user", "on")
    ok("train", "flights", "--target", "late", "--model", "logistic", "--cv", "2", "--search", "0", "--name", "late")
    ok("validate", "late:1")
    ok("models", "stage", "late:1", "validated", "--override", "a test model")
    ok("models", "stage", "late:1", "approved", "--comment", "alone in the team")
    ok("export", "late:1", "--out", str(tmp_path / "package"))

    schema = json.loads((tmp_path / "package" / "schema.json").read_text())
    assert "dep\ndelay" in [c["name"] for c in schema["inputs"]]
    out = tmp_path / "scores.csv"
    scored = subprocess.run([sys.executable, str(tmp_path / "package" / "score.py"), str(data), "--out", str(out)],
                            capture_output=True, text=True, timeout=300)
    assert scored.returncode == 0, scored.stderr
    summary = json.loads(scored.stdout)
    assert summary["rows_scored"] == n and summary["rows_rejected"] == 0
    assert len(pd.read_csv(out)) == n
