"""A model with terms where IT runs it (issue 13, A): the package's requirements pin
formulaic; in a fresh virtual environment ``score.py`` on the raw columns gives the
app's predictions in dollars (the log target back-transformed with the same smearing
factor), an unseen category scores as the reference level, a missing value as the
training median; Spark's job scores the same."""

from __future__ import annotations

import os
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest

from export_helpers import approve, extras_python, venv_python
from wage_data import TRUE_FORMULA, wage_frame

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")
RAW = ["education", "experience", "ethnicity", "smsa", "parttime"]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    from mlops_desktop.core.export import export_version
    from mlops_desktop.core.train import TrainSpec, load_model, train
    from mlops_desktop.core.workspace import Workspace

    base = tmp_path_factory.mktemp("export-formula")
    df = wage_frame(1500)
    df.insert(0, "worker", [f"w{i}" for i in range(len(df))])
    df.to_csv(base / "wage.csv", index=False)
    with Workspace.create(base / "ws", actor="ann") as ws:
        ws.import_file(base / "wage.csv", name="wage", actor="ann")
        ws.update_column("wage", "worker", role="id", actor="ann")
        result = train(ws, TrainSpec(dataset="wage", target="wage", formula=TRUE_FORMULA, models=["ols"],
                                     cv_folds=2, model_name="wages"), actor="ann")
        ref = f"wages:{result.version}"
        approve(ws, ref)
        package = export_version(ws, ref, base / "pkg", actor="carl")
        app = load_model(ws, ref)
    return package.path, df, app


def _run(python, *args, cwd=None, timeout=600, env=None):
    return subprocess.run([str(python), *map(str, args)], capture_output=True, text=True, cwd=cwd,
                          timeout=timeout, env={**os.environ, **(env or {})})


def test_requirements_pin_formulaic_and_the_card_says_how_predictions_come_back(exported):
    from importlib.metadata import version

    pkg, _, _ = exported
    pins = (pkg / "requirements.txt").read_text().splitlines()
    assert f"formulaic=={version('formulaic')}" in pins
    card = (pkg / "MODEL_CARD.md").read_text()
    assert "poly(experience, 2)" in card and "Duan's smearing estimate" in card


def test_score_py_on_raw_columns_equals_the_apps_predictions(exported, tmp_path):
    pkg, df, app = exported
    python = venv_python(pkg / "requirements.txt")
    rows = df.head(400).copy()
    rows.loc[rows.index[0], "ethnicity"] = "unheard of"      # scores as the reference level
    rows.loc[rows.index[1], "experience"] = np.nan            # scores with the training median
    source = tmp_path / "tonight.csv"
    rows.drop(columns=["wage"]).to_csv(source, index=False)
    out = tmp_path / "scored.csv"
    result = _run(python, pkg / "score.py", source, "-o", out, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    scored = pd.read_csv(out)
    assert scored["reject_reason"].isna().all() if "reject_reason" in scored else True
    expected = app.predict(rows[RAW])
    assert scored["worker"].tolist() == rows["worker"].tolist()
    np.testing.assert_allclose(scored["prediction"].to_numpy(), expected, rtol=1e-12)
    assert 200 < np.median(expected) < 2000  # dollars a week, not log-dollars
    same = rows.iloc[[0]].assign(ethnicity="cauc")
    assert expected[0] == pytest.approx(app.predict(same[RAW])[0], rel=1e-12)


def test_spark_job_scores_the_formula_model(exported, tmp_path):
    if shutil.which("java") is None:
        message = "Java is not installed, and Spark needs it: run scripts/install-system-deps.sh --xvfb"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    pkg, df, app = exported
    python = extras_python(pkg / "requirements.txt")
    rows = df.head(1000)
    rows.to_csv(tmp_path / "table.csv", index=False)
    result = _run(python, pkg / "spark_score.py", tmp_path / "table.csv", tmp_path / "scored",
                  "--id-columns", "worker", "--master", "local[2]", cwd=tmp_path, timeout=900,
                  env={"PYSPARK_PYTHON": str(python), "SPARK_LOCAL_IP": "127.0.0.1"})
    assert result.returncode == 0, result.stderr[-4000:]
    out = pd.read_parquet(tmp_path / "scored").set_index("worker").loc[rows["worker"]]
    assert out["reject_reason"].isna().all()
    np.testing.assert_allclose(out["prediction"].to_numpy(), app.predict(rows[RAW]), rtol=1e-12)
