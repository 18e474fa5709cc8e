"""A recipe is data, never code (issue 21): hostile expressions are refused with a
clear message and nothing they ask for happens, whether typed, read from a recipe file,
or restored from someone else's backup.

Each attempt would, if it were run, create a marker file; the tests check the marker
never appears."""

from __future__ import annotations

import ast
import json
import sqlite3
import time
from pathlib import Path

import pandas as pd
import pytest

from mlops_model_support import expressions
from mlops_model_support.expressions import ExpressionError, check_expression, evaluate
from mlops_model_support.recipe import Recipe, RecipeError


def _hostile(marker: Path) -> list[tuple[str, str]]:
    """(expression, a word the refusal must contain)."""
    m = str(marker)
    return [
        (f"__import__('os').system('touch {m}')", "attribute access"),
        ("__import__('os')", "__"),
        ("().__class__.__bases__[0].__subclasses__()", "attribute access"),
        (f"open('{m}', 'w')", "open() is not a function"),
        ("open('/etc/passwd')", "open() is not a function"),
        ("price.real", "attribute access"),
        ("price.__class__", "attribute access"),
        ("lambda: 1", "lambda"),
        ("(lambda: 1)()", "called by their name"),
        ("[c for c in price]", "comprehension"),
        ("price[0]", "indexing"),
        ("getattr(price, 'real')", "getattr() is not a function"),
        (f"eval('open(\"{m}\", \"w\")')", "eval() is not a function"),
        ("exec('x = 1')", "exec() is not a function"),
        ("compile('1', 'x', 'eval')", "compile() is not a function"),
        ("__builtins__", "__"),
        ("log(*price)", "*arguments"),
        ("log(x=price)", "without names"),
        ("10**10**10", "exponent"),
        ("2 ** 1000000", "exponent"),
        ("price ** price", "exponent"),
        ("{'a': 1}", "dictionary"),
        ("f'{price}'", "f-string"),
        ("(x := 1)", "assignment"),
        ("price if price else open('/etc/passwd')", "open() is not a function"),
        ("-" * 200 + "price", "nested"),
        ("(" * 10_000 + "1" + ")" * 10_000, "characters long"),
        ("price + " * 150_000 + "1", "characters long"),
    ]


def test_hostile_expressions_are_refused_and_nothing_runs(tmp_path: Path):
    marker = tmp_path / "MARKER"
    frame = pd.DataFrame({"price": [1.0, 2.0]})
    for text, word in _hostile(marker):
        with pytest.raises(ExpressionError) as err:
            evaluate(text, frame)
        assert word in str(err.value), (text[:60], str(err.value))
        assert len(str(err.value)) < 600  # a sentence, not a dump of the input
    assert not marker.exists()


def test_a_one_megabyte_expression_is_refused_before_it_is_read(monkeypatch):
    def no_parsing(*args, **kwargs):
        raise AssertionError("a 1 MB text was handed to the parser")

    monkeypatch.setattr(ast, "parse", no_parsing)
    text = "price + " * 131_072  # 1 MiB
    assert len(text) == 1 << 20
    started = time.perf_counter()
    with pytest.raises(ExpressionError, match="1,048,576 characters long"):
        expressions.parse(text)
    assert time.perf_counter() - started < 0.5


def test_nesting_within_the_length_limit_is_refused_by_depth():
    text = "abs(" * 40 + "price" + ")" * 40
    assert len(text) < expressions.MAX_LENGTH
    with pytest.raises(ExpressionError, match="nested more than 32 levels"):
        expressions.parse(text)

    def balanced(leaves: int) -> str:  # a wide, shallow sum
        if leaves == 1:
            return "1"
        return f"({balanced(leaves // 2)}+{balanced(leaves - leaves // 2)})"

    wide = balanced(210)
    assert len(wide) < expressions.MAX_LENGTH
    with pytest.raises(ExpressionError, match="more than 400 parts"):
        expressions.parse(wide)


def test_a_computation_bomb_does_not_compute():
    """10**10**10 is refused by the check; allowed powers compute on floats, so even the
    largest allowed one is a moment's work."""
    started = time.perf_counter()
    for text in ("10**10**10", "9**9**9**9", "2 ** 10 ** 6"):
        with pytest.raises(ExpressionError, match="exponent"):
            expressions.parse(text)
    assert evaluate("(10 ** 10) ** 10", pd.DataFrame({"price": [1.0]})).iloc[0] == pytest.approx(1e100)
    values = evaluate("price ** 100 * 10 ** 100", pd.DataFrame({"price": [10.0, 1e300]}))
    assert values.iloc[0] == pytest.approx(1e200) and pd.isna(values.iloc[1])  # too large: missing
    assert time.perf_counter() - started < 1.0


def test_text_cannot_be_multiplied_into_a_memory_bomb():
    with pytest.raises(ExpressionError, match="needs numbers, not text"):
        evaluate("cut * 100000000", pd.DataFrame({"cut": ["a", "b"]}))


def test_the_check_is_public_for_other_readers_of_expressions():
    """Formula terms ask the same question about a term: a text or a tree, with their own
    list of functions."""
    tree = ast.parse("np.log(x)", mode="eval")
    with pytest.raises(ExpressionError, match="attribute access"):
        check_expression(tree, {"log"})
    checked = check_expression("center(x) + I(x ** 2)", {"center", "I"})
    assert isinstance(checked, ast.Expression)
    with pytest.raises(ExpressionError, match="scale\\(\\) is not a function"):
        check_expression("scale(x)", {"center"})
    with pytest.raises(ExpressionError, match="__"):
        check_expression(ast.parse("__import__", mode="eval").body, {"log"})
    # nothing is evaluated by the check: a name of a builtin is just a name
    assert check_expression("open", set())


def test_a_recipe_file_with_a_hostile_step_is_refused_whole(tmp_path: Path):
    from mlops_desktop.core.prepare import PrepareError, read_recipe

    marker = tmp_path / "MARKER"
    path = tmp_path / "recipe.json"
    path.write_text(json.dumps({"type": "mlops-desktop recipe", "format": 1, "steps": [
        {"step": "filter", "condition": "price > 0"},
        {"step": "derive", "column": "y", "expression": f"__import__('os').system('touch {marker}')"}]}))
    with pytest.raises(PrepareError, match="Step 2 of the recipe: The expression of y: Only functions called"):
        read_recipe(path)
    path.write_text(json.dumps({"steps": [{"step": "python", "code": "print(1)"}]}))
    with pytest.raises(PrepareError, match="Unknown step 'python'"):
        read_recipe(path)
    path.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(PrepareError, match="not valid JSON"):
        read_recipe(path)
    path.write_bytes(b" " * 2_000_000)
    with pytest.raises(PrepareError, match="at most 1,000,000"):
        read_recipe(path)
    assert not marker.exists()


def test_every_field_of_a_stored_step_is_checked():
    for bad, word in (({"step": "derive", "column": 3, "expression": "1"}, "non-empty text"),
                      ({"step": "derive", "column": "a", "expression": ["log"]}, "must be a text"),
                      ({"step": "filter", "condition": "x > 0", "run": "rm -rf /"}, "unknown field"),
                      ({"step": "recode", "column": "c", "values": [["a", 1]]}, "must be texts"),
                      ({"step": "replace", "column": "x", "condition": "x == 0", "with": "0"}, "missing only"),
                      ({"step": "cast", "column": "x", "to": "object"}, "Cast to one of"),
                      ({"step": "drop", "columns": "x"}, "list of names"),
                      ({"step": "order", "column": "c", "levels": ["a", "a"]}, "twice")):
        with pytest.raises(RecipeError, match=word):
            Recipe.from_dict([bad])


def test_a_hostile_recipe_in_a_restored_backup_is_refused_and_never_run(tmp_path: Path):
    """Someone edits a workspace's stored recipe (with a matching SHA-256) and hands over a
    backup: restoring it says so, and every use of the dataset refuses the recipe."""
    from diamonds import write

    from mlops_desktop.core.workspace.backup import backup, restore
    from mlops_desktop.core.errors import MlopsError
    from mlops_desktop.core.workspace.integrity import verify_workspace
    from mlops_desktop.core.prepare import derivation, prepare_dataset, recipe_from_words
    from mlops_desktop.core.train import TrainSpec, train
    from mlops_desktop.core.workspace import Workspace

    marker = tmp_path / "MARKER"
    source = tmp_path / "source"
    with Workspace.create(source, actor="eve") as ws:
        ds = ws.import_file(write(tmp_path / "diamonds.csv", n=300), actor="eve").dataset
        prepared = prepare_dataset(ws, ds.id, recipe_from_words(["derive log_price = log(price)"]),
                                   name="prepared", actor="eve").dataset
    hostile = json.dumps({"type": "mlops-desktop recipe", "format": 1, "steps": [
        {"step": "derive", "column": "log_price", "expression": f"__import__('os').system('touch {marker}')"},
        {"step": "filter", "condition": f"open('{marker}', 'w')"}]}, sort_keys=True, separators=(",", ":"))
    import hashlib

    db = sqlite3.connect(source / "registry.sqlite")
    db.execute("UPDATE dataset_recipes SET recipe = ?, recipe_sha256 = ? WHERE dataset_id = ?",
               (hostile, hashlib.sha256(hostile.encode()).hexdigest(), prepared.id))
    db.commit()
    db.close()
    with Workspace.open(source) as ws:
        zipped = backup(ws, tmp_path / "handed-over.zip", actor="eve").path
    restored = restore(zipped, tmp_path / "mine", actor="me")
    assert any("recipe of dataset" in p["message"] and "refused" in p["message"] for p in restored.problems)
    with Workspace.open(tmp_path / "mine") as ws:
        report = verify_workspace(ws)
        assert not report.ok and any("is refused" in f.message for f in report.findings)
        for use in (lambda: derivation(ws, ws.dataset("prepared")),
                    lambda: prepare_dataset(ws, "prepared", recipe_from_words(["drop depth"]), actor="me"),
                    lambda: train(ws, TrainSpec(dataset="prepared", target="price", models=["tree"]), actor="me")):
            with pytest.raises(MlopsError, match="recipe of dataset 'prepared' is refused"):
                use()
    assert not marker.exists()


def test_a_hostile_recipe_in_an_exported_package_is_refused_and_never_run(tmp_path: Path):
    """IT receives a package whose recipe.json someone replaced (and schema.json's and the
    manifest's SHA-256 with it): score.py, the drift check and the self-test refuse to load the model with
    the reason; nothing the recipe asks for happens."""
    import hashlib
    import subprocess
    import sys

    from diamonds import write
    from export_helpers import approve

    from mlops_desktop.core.export import export_version
    from mlops_desktop.core.prepare import prepare_dataset, recipe_from_words
    from mlops_desktop.core.train import TrainSpec, train
    from mlops_desktop.core.workspace import Workspace

    marker = tmp_path / "MARKER"
    raw = write(tmp_path / "diamonds.csv", n=400)
    with Workspace.create(tmp_path / "ws", actor="ann") as ws:
        ws.import_file(raw, name="diamonds", actor="ann")
        prepare_dataset(ws, "diamonds", recipe_from_words(["replace x == 0 with missing", "filter carat <= 2.5"]),
                        name="ready", actor="ann")
        done = train(ws, TrainSpec(dataset="ready", target="price", features=["carat", "x", "depth"],
                                   models=["tree"], model_name="price"), actor="ann")
        approve(ws, f"price:{done.version}")
        package = export_version(ws, f"price:{done.version}", tmp_path / "pkg", actor="carl").path
    hostile = json.dumps({"type": "mlops-desktop recipe", "format": 1, "steps": [
        {"step": "replace", "column": "x", "condition": f"__import__('os').system('touch {marker}')"},
        {"step": "filter", "condition": f"open('{marker}', 'w')"}]}, sort_keys=True, separators=(",", ":"))
    schema = json.loads((package / "schema.json").read_text(encoding="utf-8"))
    schema["recipe"]["sha256"] = hashlib.sha256(hostile.encode()).hexdigest()
    manifest = json.loads((package / "manifest.json").read_text(encoding="utf-8"))
    for name, data in (("recipe.json", hostile.encode()), ("schema.json", json.dumps(schema).encode())):
        (package / name).write_bytes(data)  # with the manifest's sums to match: the checks pass
        manifest["files"][name] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    (package / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    for args in ([str(raw), "-o", str(tmp_path / "out.csv")], ["--drift", str(raw)], ["--self-test"]):
        run = subprocess.run([sys.executable, str(package / "score.py"), *args], capture_output=True, text=True,
                             cwd=tmp_path, timeout=300)
        assert run.returncode == 3, (args, run.stderr)  # tampered: nothing scored
        assert "recipe (recipe.json) cannot be used" in run.stderr and "attribute access" in run.stderr, run.stderr
        assert "Traceback" not in run.stderr
    assert not marker.exists() and not (tmp_path / "out.csv").exists()
