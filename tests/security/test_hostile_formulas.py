"""A formula never runs code (issue 13, A). formulaic evaluates the Python in a formula
and pastes the text of its stateful calls into code it generates; a formula arrives
typed by the analyst and also inside files a colleague sends (a model file in a
workspace or a backup, a run's spec, an exported package). Every way in is tried here
with formulas that would create a marker file if any of their Python ran: the marker
never appears, and each is refused with a message naming what was refused. The
formulas the issue asks for still work."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import run_cli
from .forged_files import swap_model_file
from wage_data import TRUE_FORMULA, wage_frame

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

COLUMNS = ["wage", "education", "experience", "ethnicity", "smsa", "parttime", "hours worked"]


def _touch(marker: Path) -> str:
    return f"__import__('os').system('touch {marker}')"


def _chars(text: str) -> str:
    return "+".join(f"chr({ord(c)})" for c in text)


#: (name, formula made from the marker's path, a piece of the message that names what is refused)
ATTACKS = [
    ("python in braces", lambda m: "wage ~ education + {" + _touch(m) + "}", "calls \"__import__('os').system\""),
    ("python as the target", lambda m: "{" + _touch(m) + "} ~ education", "calls \"__import__('os').system\""),
    ("inside a known function", lambda m: f"wage ~ log({_touch(m)})", "calls \"__import__('os').system\""),
    ("a bare call", lambda m: f"wage ~ education + {_touch(m)}", "calls '__import__'"),
    ("an attribute chain", lambda m: "wage ~ I(education.__class__.__base__.__subclasses__())",
     "calls 'education.__class__.__base__.__subclasses__'"),
    ("numpy's loader", lambda m: f"wage ~ np.load('{m}')", "calls 'np.load'"),
    ("a builtin", lambda m: "wage ~ eval(chr(49))", "calls 'eval'"),
    ("a keyword argument", lambda m: f"wage ~ poly(experience, degree={_touch(m)})",
     "where a whole number from 0 to 100 goes"),
    ("an unknown keyword", lambda m: f"wage ~ poly(experience, _state={_touch(m)})",
     "the argument '_state', which it does not take"),
    ("** arguments", lambda m: "wage ~ poly(experience, **{'degree': 2})", "the argument '**'"),
    ("a lambda", lambda m: f"wage ~ I(lambda: {_touch(m)})", "(Lambda)"),
    ("a called lambda", lambda m: f"wage ~ I((lambda: {_touch(m)})())", 'calls "lambda: '),
    ("a comprehension", lambda m: "wage ~ I([e for e in education])", "ListComp"),
    ("a subscript", lambda m: "wage ~ I(education[0])", "Subscript"),
    ("a dunder name", lambda m: "wage ~ I(__builtins__)", "no leading '__'"),
    # text inside a stateful call is pasted into the code formulaic generates
    ("text in a stateful call", lambda m: "wage ~ center(experience, '\"] if __import__(chr(111)+chr(115))"
     f".system({_chars(f'touch {m}')}) else 0 #')", "gives center(…) 2 argument(s)"),
    ("text in a spline's argument", lambda m: "wage ~ bs(experience, df='\"]; x #')", "where a whole number"),
    ("a quote in a reference level", lambda m: "wage ~ C(ethnicity, contr.treatment('x\" + y'))",
     "names the level"),
    ("a contrast that is a call", lambda m: f"wage ~ C(ethnicity, {_touch(m)})",
     "its reference level is written contr.treatment('level')"),
    ("a backticked name holding python", lambda m: f"wage ~ education + `{_touch(m)}`",
     "cannot be a column in a formula"),
    ("a column the data lacks", lambda m: "wage ~ education + open", "'open', which is not a column"),
    ("formulaic's multi-part |", lambda m: "wage ~ education | {" + _touch(m) + "}", "uses '|'"),
    ("formulaic's nested [ ~ ]", lambda m: "wage ~ education + [experience ~ education]", "uses '['"),
    ("formulaic's all columns", lambda m: "wage ~ .", "the value '.'"),
    ("a number raised to powers", lambda m: "wage ~ I(((9 ** 10) ** 10) ** 10)", "raises a number"),
    ("a huge power", lambda m: "wage ~ I(education ** 1000)", "raises to '1000'"),
    ("deep nesting", lambda m: "wage ~ I(" + "(" * 30 + "education" + ")" * 30 + ")", "more than 12 deep"),
    ("a very long formula", lambda m: "wage ~ " + " + ".join(["education"] * 300), "at most 2,000"),
    ("a control character", lambda m: "wage ~ education\x00", "control characters"),
]


@pytest.mark.parametrize("name, make, named", ATTACKS, ids=[a[0] for a in ATTACKS])
def test_a_hostile_formula_is_refused_before_anything_evaluates_it(name, make, named, tmp_path):
    from mlops_model_support.formula_guard import UnsafeFormulaError
    from mlops_model_support.terms import design, parse

    marker = tmp_path / "ran"
    formula = make(marker)
    df = wage_frame(50)
    with pytest.raises(UnsafeFormulaError) as caught:
        parsed = parse(formula, columns=COLUMNS)
        design(parsed.rhs, df)  # only reached if the check let it through: it must not run
    assert named in str(caught.value)
    assert not marker.exists()


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """A workspace with the wage data and an approved formula model (wages:1), its export
    package, and a CSV of new rows to score."""
    from mlops_desktop.core.export import export_version
    from mlops_desktop.core.train import TrainSpec, train
    from mlops_desktop.core.workspace import Workspace
    from export_helpers import approve

    base = tmp_path_factory.mktemp("hostile-formulas")
    df = wage_frame(600)
    df["hours worked"] = np.round(np.random.default_rng(3).uniform(10, 60, len(df)))
    df.to_csv(base / "wage.csv", index=False)
    df.drop(columns=["wage"]).head(50).to_csv(base / "new.csv", index=False)
    with Workspace.create(base / "ws", actor="ann") as ws:
        ws.import_file(base / "wage.csv", name="wage", actor="ann")
        result = train(ws, TrainSpec(dataset="wage", target="wage", formula=TRUE_FORMULA + " + `hours worked`",
                                     models=["ols"], cv_folds=2, model_name="wages"), actor="ann")
        approve(ws, "wages:1")
        package = export_version(ws, "wages:1", base / "pkg", actor="carl")
    return {"base": base, "root": base / "ws", "run_id": result.run_id, "package": package.path,
            "new": base / "new.csv"}


def _copy(workspace, tmp_path) -> Path:
    root = tmp_path / "ws"
    shutil.copytree(workspace["root"], root)
    return root


def _refused(result, *pieces: str) -> None:
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    for piece in pieces:
        assert piece in result.stderr, result.stderr


# -- typed by the analyst: the CLI, the Check page and the Train wizard -----------------------------

@pytest.mark.parametrize("command", ["check", "train"])
def test_the_cli_refuses_a_hostile_formula(workspace, command, tmp_path):
    marker = tmp_path / "ran"
    result = run_cli(command, "wage", "--formula", "wage ~ education + {" + _touch(marker) + "}",
                     "--workspace", str(workspace["root"]), "--as", "ann")
    _refused(result, "calls \"__import__('os').system\", which a formula cannot use")
    assert result.returncode == 2
    assert not marker.exists()


def test_the_check_page_and_the_train_wizard_refuse_a_hostile_formula(workspace, tmp_path):
    """What the Check page's Run and the Train wizard's Train call with the formula field's text."""
    from mlops_desktop.core.checks.for_dataset import check_dataset
    from mlops_desktop.core.errors import InvalidChoiceError
    from mlops_desktop.core.train import TrainSpec, train
    from mlops_desktop.core.workspace import Workspace

    marker = tmp_path / "ran"
    formula = "log(wage) ~ education + center(experience, '\"] if __import__(chr(111)+chr(115))" \
        f".system({_chars(f'touch {marker}')}) else 0 #')"
    root = _copy(workspace, tmp_path)
    with Workspace.open(root) as ws:
        with pytest.raises(InvalidChoiceError, match=r"gives center\(…\) 2 argument\(s\)"):
            check_dataset(ws, "wage", formula=formula, store=True, actor="ann")
        with pytest.raises(InvalidChoiceError, match=r"gives center\(…\) 2 argument\(s\)"):
            train(ws, TrainSpec(dataset="wage", target="wage", formula=formula, models=["ols"]), actor="ann")
    assert not marker.exists()


# -- from files a colleague sends ----------------------------------------------------------------------

def edit_formula(data: bytes, formula: str) -> bytes:
    """A skops model file whose formula terms read ``formula``: what an attacker does
    with a text editor and a zip tool (the file is otherwise the app's)."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        files = {name: zf.read(name) for name in zf.namelist()}
    schema = json.loads(files["schema.json"])
    found = []

    def walk(node):
        if isinstance(node, dict):
            if node.get("__class__") == "FormulaTerms":
                node["content"]["content"]["formula"]["content"] = json.dumps(formula)  # skops's encoding
                found.append(node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    assert found, "the model file holds no formula terms"
    files["schema.json"] = json.dumps(schema).encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name, content in files.items():
            zf.writestr(name, content)
    return out.getvalue()


def test_a_model_file_whose_formula_was_edited_is_refused_when_loaded(workspace, tmp_path):
    """The model file of wages:1 with its formula edited, the registry and the audit log
    rewritten to its new hash: loading it (the CLI's validate, the app's load_model)
    refuses it and names the formula; nothing in it runs."""
    from mlops_desktop.core.workspace.artifacts import UntrustedModelError
    from mlops_desktop.core.train import find_version, load_model
    from mlops_desktop.core.workspace import Workspace

    marker = tmp_path / "ran"
    root = _copy(workspace, tmp_path)
    with Workspace.open(root) as ws:
        version = find_version(ws, "wages:1")
        original = (ws.artifacts_dir / version.artifact_sha256).read_bytes()
    hostile = "education + I(" + _touch(marker) + ")"
    swap_model_file(root / "registry.sqlite", version.id, edit_formula(original, hostile), root / "artifacts")

    with Workspace.open(root) as ws:
        with pytest.raises(UntrustedModelError, match="its formula is refused"):
            load_model(ws, "wages:1")
    _refused(run_cli("validate", "wages:1", "--workspace", str(root), "--as", "ann"),
             "its formula is refused", "calls \"__import__('os').system\"")
    assert not marker.exists()


def test_a_model_changed_in_memory_checks_its_formula_again_when_it_predicts(workspace, tmp_path):
    """Past loading (a formula that passes the syntax whitelist but names a column the
    scored rows lack, or one set on the object after loading): predict refuses it."""
    from mlops_model_support.formula_guard import UnsafeFormulaError

    from mlops_desktop.core.train import load_model
    from mlops_desktop.core.workspace import Workspace

    marker = tmp_path / "ran"
    with Workspace.open(workspace["root"], read_only=True) as ws:
        model = load_model(ws, "wages:1")
    rows = pd.read_csv(workspace["new"])
    terms = model.steps[1][1] if type(model.steps[1][1]).__name__ == "FormulaTerms" else model.steps[0][1]
    assert type(terms).__name__ == "FormulaTerms"
    terms.formula = "education + {" + _touch(marker) + "}"
    with pytest.raises(UnsafeFormulaError, match="cannot use"):
        model.predict(rows)
    terms.formula = "education + __import__"
    with pytest.raises(UnsafeFormulaError, match="cannot be a column"):
        model.predict(rows)
    assert not marker.exists()


def test_a_run_spec_whose_formula_was_edited_does_not_run_when_reproduced(workspace, tmp_path):
    """The recorded spec of the run that trained wages:1, its formula edited in the
    registry (triggers dropped and put back): reproducing the run refuses it."""
    marker = tmp_path / "ran"
    root = _copy(workspace, tmp_path)
    db = sqlite3.connect(root / "registry.sqlite")
    try:
        spec = json.loads(db.execute("SELECT spec FROM runs WHERE id = ?", (workspace["run_id"],)).fetchone()[0])
        spec["formula"] = "wage ~ education + {" + _touch(marker) + "}"
        triggers = db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'").fetchall()
        for name, _sql in triggers:
            db.execute(f"DROP TRIGGER {name}")
        db.execute("UPDATE runs SET spec = ? WHERE id = ?", (json.dumps(spec), workspace["run_id"]))
        for _name, sql in triggers:
            db.execute(sql)
        db.commit()
    finally:
        db.close()
    _refused(run_cli("reproduce", str(workspace["run_id"]), "--workspace", str(root), "--as", "ann"),
             "calls \"__import__('os').system\", which a formula cannot use")
    assert not marker.exists()


def test_an_exported_package_whose_formula_was_edited_refuses_to_score(workspace, tmp_path):
    """The package's model file with its formula edited and the manifest rehashed to
    match: score.py verifies the package, then refuses the model and scores nothing."""
    marker = tmp_path / "ran"
    pkg = tmp_path / "pkg"
    shutil.copytree(workspace["package"], pkg)
    model_file = pkg / "model" / "model.skops"
    model_file.write_bytes(edit_formula(model_file.read_bytes(), "education + {" + _touch(marker) + "}"))
    manifest = json.loads((pkg / "manifest.json").read_text())
    manifest["files"]["model/model.skops"]["sha256"] = hashlib.sha256(model_file.read_bytes()).hexdigest()
    (pkg / "manifest.json").write_text(json.dumps(manifest, indent=2))
    out = tmp_path / "scored.csv"
    result = subprocess.run([sys.executable, str(pkg / "score.py"), str(workspace["new"]), "-o", str(out)],
                            capture_output=True, text=True, cwd=tmp_path, timeout=300)
    _refused(result, "formula is refused", "calls \"__import__('os').system\"")
    assert not marker.exists() and not out.exists()


def test_the_honest_package_still_scores(workspace, tmp_path):
    """The control for the test above: the same package unedited scores every row."""
    out = tmp_path / "scored.csv"
    result = subprocess.run([sys.executable, str(workspace["package"] / "score.py"), str(workspace["new"]),
                             "-o", str(out)], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr
    assert len(pd.read_csv(out)) == 50


# -- what still works ---------------------------------------------------------------------------------

LEGITIMATE = [
    TRUE_FORMULA,
    "log(wage) ~ education + poly(experience, 2) + ethnicity + smsa + education:parttime",  # the issue's
    "log1p(wage) ~ education * parttime + I(experience ** 2) + I(experience / 10 - 1)",
    "sqrt(wage) ~ np.log(education) + log2(education) + log10(education) + exp(-education / 10)",
    "boxcox(wage) ~ boxcox(education) + yeojohnson(experience) + center(experience) + scale(education)",
    "yeojohnson(wage) ~ ns(experience, df=3) + bs(experience, df=4) + poly(education, 2, raw=True)",
    "wage ~ C(ethnicity, contr.treatment('other')) + C(smsa, Treatment('yes')) + parttime",
    "wage ~ C(ethnicity, levels=['cauc', 'afam', 'other']) + `hours worked` + Q('hours worked'):education",
    "wage ~ log(`hours worked`) + sqrt(experience + 1) + {experience ** 2} + (education + smsa) ** 2",
    "wage ~ education + experience - experience + 1 + scale(experience, center=True, scale=False)",
    "wage ~ bs(experience, df=4, degree=2, include_intercept=False) + bs(education, knots=[10, 12, 16])",
]


@pytest.mark.parametrize("formula", LEGITIMATE)
def test_every_formula_the_issue_asks_for_still_builds(formula):
    from mlops_model_support.formula_guard import check_formula
    from mlops_model_support.terms import design, parse

    df = wage_frame(400)
    df["hours worked"] = np.random.default_rng(1).uniform(10, 60, len(df))
    check_formula(formula, COLUMNS)
    parsed = parse(formula, columns=list(df.columns))
    built = design(parsed.rhs, df)
    again = design(parsed.rhs, df.head(50), built.state)
    assert built.matrix.shape[0] == len(df) and built.matrix.shape[1] >= len(parsed.terms)
    assert np.allclose(again.matrix, built.matrix[:50], equal_nan=True)


def test_the_function_list_is_the_whitelist():
    """The functions the formula field offers are exactly the ones the check allows."""
    from mlops_model_support.formula_guard import SIGNATURES
    from mlops_model_support.terms import FUNCTIONS

    assert set(FUNCTIONS) == set(SIGNATURES)
