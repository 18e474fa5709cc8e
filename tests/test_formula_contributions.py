"""Contributions of a model with terms (issues 13 and 15): a formula's design columns are
summed back to the columns the formula reads (both terms of ``poly(experience, 2)`` make
one ``experience`` contribution, each level of ``ethnicity`` one ``ethnicity``); an
interaction ``education:parttime`` is split in equal parts between its two columns; a
``log(wage)`` model is explained on the log scale. Base value + contributions = the raw
output on every row, for least squares (equal to the closed form computed here from the
fitted coefficients and the design) and for gradient boosting; the exported package's
``score.py --reasons`` gives the app's reasons for the same rows."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest

from export_helpers import approve
from wage_data import wage_frame

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")
TOLERANCE = 1e-6
FORMULA = "log(wage) ~ education + poly(experience, 2) + ethnicity + education:parttime"
READ = ["education", "experience", "ethnicity", "parttime"]


@pytest.fixture(scope="module")
def versions(tmp_path_factory):
    """Least squares and gradient boosting trained with the formula, approved and exported;
    a batch of new workers."""
    from mlops_desktop.core.export import export_version
    from mlops_desktop.core.train import TrainSpec, find_version, load_model, load_split, train
    from mlops_desktop.core.workspace import Workspace

    base = tmp_path_factory.mktemp("formula-reasons")
    wage_frame(1500, seed=3).to_csv(base / "wage.csv", index=False)
    batch = wage_frame(300, seed=4).drop(columns=["wage"])
    batch.to_csv(base / "batch.csv", index=False)
    models, trains = {}, {}
    with Workspace.create(base / "ws", actor="ann") as ws:
        ws.import_file(base / "wage.csv", name="wage", actor="ann")
        for family in ("ols", "hgb"):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                result = train(ws, TrainSpec(dataset="wage", target="wage", formula=FORMULA, models=[family],
                                             cv_folds=2, model_name=family), actor="ann")
            ref = f"{family}:{result.version}"
            approve(ws, ref)
            export_version(ws, ref, base / f"pkg-{family}", actor="carl")
            models[family] = load_model(ws, ref)
            trains[family] = load_split(ws, find_version(ws, ref).run_id)[0]
    return base, batch, models, trains


def _explain(model, train, rows):
    from mlops_model_support.contributions import Explainer, background

    return Explainer(model, background(model, train[READ]), target="wage").explain(rows[READ])


def test_the_formulas_design_columns_come_from_the_columns_it_reads_found_by_name():
    from mlops_desktop.core.train.estimators import FormulaTerms, InputColumns
    from mlops_model_support.contributions import design_sources
    from sklearn.linear_model import LinearRegression
    from sklearn.pipeline import Pipeline

    df = wage_frame(400, seed=1)
    # the input step lists numbers first; the formula reads parttime first: found by name
    pipeline = Pipeline([("columns", InputColumns(numeric=["education", "experience"],
                                                  categorical=["ethnicity", "parttime"])),
                         ("preprocess", FormulaTerms("parttime:education + bs(experience, df=4) "
                                                     "+ C(ethnicity, contr.treatment('cauc')) + center(education)")),
                         ("model", LinearRegression())]).fit(df, np.log(df["wage"]))
    names = list(pipeline.named_steps["preprocess"].get_feature_names_out())
    sources = dict(zip(names, design_sources(pipeline)))
    assert sources == {"center(education)": ("education",),
                       **{f"bs(experience, df=4)[{k}]": ("experience",) for k in range(1, 5)},
                       "C(ethnicity, contr.treatment('cauc'))[T.afam]": ("ethnicity",),
                       "C(ethnicity, contr.treatment('cauc'))[T.other]": ("ethnicity",),
                       "parttime[no]:education": ("education", "parttime"),
                       "parttime[yes]:education": ("education", "parttime")}


def test_least_squares_with_a_formula_equals_the_closed_form_on_the_log_scale(versions):
    base, batch, models, trains = versions
    model, train = models["ols"], trains["ols"]
    explained = _explain(model, train, batch)
    assert explained.columns == READ
    assert explained.gap() <= TOLERANCE
    assert explained.outputs == ["predicted log of wage"] and explained.scale == "prediction"

    # the closed form, from the fitted coefficients and the formula's design
    terms, fitted = model.named_steps["preprocess"], model.named_steps["model"]
    names = list(terms.get_feature_names_out())
    design = terms.transform(batch)
    means = terms.transform(train[READ]).mean(axis=0)
    coef = np.asarray(fitted.regressor_.coef_, dtype=float).ravel()
    per_term = coef * (design - means)
    share = {c: np.zeros(len(names)) for c in READ}
    for j, name in enumerate(names):
        if name.startswith("poly(experience, 2)["):
            share["experience"][j] = 1.0
        elif name.startswith("ethnicity["):
            share["ethnicity"][j] = 1.0
        elif name == "education":
            share["education"][j] = 1.0
        elif name == "education:parttime[T.yes]":   # the interaction: half to each column
            share["education"][j] = share["parttime"][j] = 0.5
    assert all(sum(s[j] for s in share.values()) == 1.0 for j in range(len(names)))  # every term placed
    expected = np.column_stack([per_term @ share[c] for c in READ])
    assert np.abs(explained.values[:, :, 0] - expected).max() <= 1e-9
    # parttime is read by the interaction alone: its contribution is half of that term's
    interaction = names.index("education:parttime[T.yes]")
    assert np.allclose(explained.values[:, READ.index("parttime"), 0], 0.5 * per_term[:, interaction], atol=1e-12)
    assert np.abs(explained.values[:, READ.index("parttime"), 0]).max() > 1e-3   # it does matter
    # the raw output is the prediction of log(wage): back-transformed, the model's dollars
    assert np.allclose(np.exp(explained.raw[:, 0]) * fitted.factor_, model.predict(batch[READ]), rtol=1e-10)


def test_gradient_boosting_with_a_formula_adds_up_to_its_log_scale_prediction(versions):
    from mlops_model_support.contributions import design_sources

    base, batch, models, trains = versions
    model = models["hgb"]
    explained = _explain(model, trains["hgb"], batch)
    assert explained.columns == READ and explained.gap() <= TOLERANCE
    fitted = model.named_steps["model"]
    design = model.named_steps["preprocess"].transform(batch)
    assert np.allclose(explained.raw[:, 0], fitted.regressor_.predict(design), atol=1e-9)
    assert explained.outputs == ["predicted log of wage"]
    # the booster splits on both polynomial terms; both are experience's
    names = list(model.named_steps["preprocess"].get_feature_names_out())
    sources = dict(zip(names, design_sources(model)))
    assert sources["poly(experience, 2)[1]"] == sources["poly(experience, 2)[2]"] == ("experience",)
    assert np.abs(explained.values[:, READ.index("experience"), 0]).mean() > 0.01


def _scored(path):
    return pd.read_csv(path, keep_default_na=False, na_values=[""])


@pytest.mark.parametrize("family", ["ols", "hgb"])
def test_the_packages_reasons_for_a_formula_model_equal_the_apps(versions, family, tmp_path):
    from mlops_desktop.core.validate.explanations import explain_rows
    from mlops_desktop.core.workspace import Workspace

    base, batch, models, _ = versions
    pkg = base / f"pkg-{family}"
    info = json.loads((pkg / "reasons.json").read_text())
    assert info["explains"] == "predicted log of wage"
    readme = (pkg / "README.md").read_text()
    assert "split in equal parts" in readme and "the score is on that scale" in readme
    out = tmp_path / "scored.csv"
    done = subprocess.run([sys.executable, str(pkg / "score.py"), str(base / "batch.csv"), "-o", str(out),
                           "--reasons", "3"], capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert done.returncode == 0, done.stderr
    scored = _scored(out)
    listed = sum(scored[f"reason_{k}_contribution"].fillna(0.0) for k in range(1, 4))
    assert np.abs(scored["reason_base"] + listed + scored["reason_others"] - scored["reason_score"]).max() <= TOLERANCE
    with Workspace.open(base / "ws") as ws:
        app = explain_rows(ws, f"{family}:1", str(base / "batch.csv"), rows="all", top=3)
    assert len(app.rows) == len(scored) == len(batch)
    for i, row in enumerate(app.rows):
        package = [(scored[f"reason_{k}"][i], scored[f"reason_{k}_contribution"][i])
                   for k in range(1, 4) if isinstance(scored[f"reason_{k}"][i], str)]
        assert [r.column for r in row.reasons] == [c for c, _ in package]
        assert np.allclose([r.contribution for r in row.reasons], [x for _, x in package], atol=1e-9)
        assert abs(row.base - scored["reason_base"][i]) <= 1e-9 and abs(row.score - scored["reason_score"][i]) <= 1e-9
    assert all(s.startswith(f"{row.reasons[0].column} = ") and " the predicted log of wage by " in s
               for row in app.rows[:5] for s in row.sentences()[:1])


@pytest.fixture(scope="module")
def classified_and_segmented(tmp_path_factory):
    """A logistic regression of whether a wage is above the median, with a formula, and
    least squares of log(wage) with a formula fitted per smsa segment; the batch of new
    workers as a file."""
    from mlops_desktop.core.train import TrainSpec, load_model, train
    from mlops_desktop.core.workspace import Workspace

    base = tmp_path_factory.mktemp("formula-kinds")
    workers = wage_frame(1700, seed=5)
    workers["high"] = np.where(workers["wage"] > workers["wage"].median(), "high", "low")
    workers.iloc[:1500].to_csv(base / "wage.csv", index=False)
    batch = workers.iloc[1500:].reset_index(drop=True)
    batch.to_csv(base / "batch.csv", index=False)
    specs = {"logistic": TrainSpec(dataset="wage", target="high", models=["logistic"], cv_folds=2,
                                   formula="high ~ education + poly(experience, 2) + ethnicity + education:parttime",
                                   model_name="logistic"),
             "segmented": TrainSpec(dataset="wage", target="wage", models=["ols"], cv_folds=2, formula=FORMULA,
                                    segment_by="smsa", min_segment_rows=100, model_name="segmented")}
    with Workspace.create(base / "ws", actor="ann") as ws:
        ws.import_file(base / "wage.csv", name="wage", actor="ann")
        models = {}
        for name, spec in specs.items():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                result = train(ws, spec, actor="ann")
            models[name] = load_model(ws, f"{name}:{result.version}")
    return base, batch, models


def _explained(base, ref):
    from mlops_desktop.core.validate.explanations import explain_rows
    from mlops_desktop.core.workspace import Workspace

    with Workspace.open(base / "ws") as ws:
        return explain_rows(ws, ref, str(base / "batch.csv"), rows="all", top=3)


def test_a_classifier_with_a_formula_adds_up_to_its_log_odds_by_the_columns_it_reads(classified_and_segmented):
    base, batch, models = classified_and_segmented
    explanation = _explained(base, "logistic:1")
    rows = explanation.rows
    assert len(rows) == len(batch)
    for row in rows:
        assert list(row.contributions) == READ
        assert abs(row.base + sum(row.contributions.values()) - row.score) <= TOLERANCE
    # two classes: every row's score is the log-odds of one class (scikit-learn's second,
    # with no validated positive class), equal to the log-odds of its probability here
    model = models["logistic"]
    explained_class = model.classes_[1]
    assert {r.output for r in rows} == {f"log-odds of {explained_class!r}"}
    assert {r.decision for r in rows} == {"high", "low"}
    p = model.predict_proba(batch[READ])[:, 1]
    assert np.abs(np.array([r.score for r in rows]) - np.log(p / (1 - p))).max() <= 1e-6
    # more education than the training mean lowers the log-odds of a low wage
    above = batch["education"].to_numpy() > pd.read_csv(base / "wage.csv")["education"].mean() + 1
    assert np.mean([r.contributions["education"] < 0 for r, a in zip(rows, above) if a]) > 0.9


def test_a_segmented_model_with_a_formula_explains_each_row_by_its_segments_model(classified_and_segmented):
    base, batch, models = classified_and_segmented
    rows = _explained(base, "segmented:1").rows
    router = models["segmented"]
    for row in rows:
        assert set(READ) <= set(row.contributions) and row.output == "predicted log of wage"
        assert abs(row.base + sum(row.contributions.values()) - row.score) <= TOLERANCE
    # each row's score is the log-scale output of its own segment's model, fitted on that segment
    for segment, pipeline in router.segment_pipelines_.items():
        mine = (batch["smsa"] == segment).to_numpy()
        terms, fitted = pipeline.named_steps["preprocess"], pipeline.named_steps["model"]
        log_scale = fitted.regressor_.predict(terms.transform(batch.loc[mine, READ]))
        assert np.abs(np.array([r.score for r, m in zip(rows, mine) if m]) - log_scale).max() <= 1e-9
    assert len({round(r.base, 9) for r in rows}) == 2   # two segments, two base values
