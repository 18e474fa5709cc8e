"""The core never needs Qt: every core module imports, and a CLI import runs, in a
process where PySide6, shiboken6 and pyqtgraph cannot be imported; and the
import-linter contract in pyproject.toml holds."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

from conftest import ROOT

CORE = ROOT / "src" / "mlops_desktop" / "core"
BLOCKED = ("PySide6", "shiboken6", "pyqtgraph")

# Put first on sys.meta_path: any attempt to import a blocked package fails.
BLOCKER = textwrap.dedent(f"""
    import sys

    class _NoQt:
        blocked = {BLOCKED!r}

        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in self.blocked:
                raise ImportError(f"{{name}} is blocked: the core must not need it")
            return None

    sys.meta_path.insert(0, _NoQt())
""")


def _run(code: str, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", BLOCKER + textwrap.dedent(code), *args],
                          capture_output=True, text=True, timeout=300, cwd=cwd)


def _core_modules() -> list[str]:
    names = []
    for path in sorted(CORE.rglob("*.py")):
        parts = list(path.relative_to(CORE.parent.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names.append(".".join(parts))
    return names


def test_the_blocker_blocks():
    result = _run("""
        for name in ("PySide6", "PySide6.QtCore", "shiboken6", "pyqtgraph"):
            try:
                __import__(name)
            except ImportError:
                continue
            raise SystemExit(f"{name} was importable")
        print("blocked")
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "blocked"


def test_every_core_module_imports_without_qt():
    modules = _core_modules()
    assert "mlops_desktop.core.data.importer" in modules and len(modules) >= 15
    result = _run("""
        import importlib, sys
        for name in sys.argv[1:]:
            importlib.import_module(name)
        loaded = [m for m in sys.modules if m.split(".")[0] in ("PySide6", "shiboken6", "pyqtgraph",
                                                                 "mlops_desktop")]
        assert not any(m.startswith("mlops_desktop.gui") for m in loaded), loaded
        assert not any(m.split(".")[0] in ("PySide6", "shiboken6", "pyqtgraph") for m in loaded)
        print(len(sys.argv) - 1)
    """, *modules, "mlops_desktop.cli", "mlops_desktop.__main__")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(len(modules) + 2)


def test_a_headless_import_runs_without_qt(tmp_path, penguins_csv):
    """Beyond module imports: the commands' own lazy imports, through the real entry
    point (``python -m mlops_desktop``), must not need Qt either: a server has none."""
    ws = tmp_path / "ws"
    result = _run("""
        import sys
        from mlops_desktop.__main__ import main
        code = main(["import", sys.argv[1], "--workspace", sys.argv[2], "--json"])
        code = code or main(["datasets", "column", "1", "species", "--role", "target",
                             "--workspace", sys.argv[2]])
        code = code or main(["--workspace", sys.argv[2], "verify"])
        assert not any(m.split(".")[0] in ("PySide6", "shiboken6", "pyqtgraph")
                       for m in sys.modules)
        sys.exit(code)
    """, str(penguins_csv), str(ws))
    assert result.returncode == 0, result.stderr
    assert '"rows": 344' in result.stdout and "everything is intact" in result.stdout


def _lint_imports() -> Path:
    exe = Path(sys.executable).parent / ("lint-imports.exe" if sys.platform == "win32"
                                         else "lint-imports")
    assert exe.is_file(), f"import-linter is not installed next to {sys.executable}"
    return exe


def test_import_linter_contract_is_kept():
    result = subprocess.run([str(_lint_imports())], cwd=ROOT, capture_output=True, text=True,
                            timeout=300)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    assert "core never imports Qt, pyqtgraph or the GUI KEPT" in out
    assert "core's steps are layered in the flow's order KEPT" in out
    assert "0 broken" in out


def _lint_a_copy_with(tmp_path: Path, module: str, line: str) -> str:
    """import-linter's output on a copy of the package where ``module`` (a path under
    ``mlops_desktop``) gets one more import ``line``; the run must fail."""
    src = tmp_path / "src"
    shutil.copytree(ROOT / "src" / "mlops_desktop", src / "mlops_desktop",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    target = src / "mlops_desktop" / module
    target.write_text(target.read_text(encoding="utf-8") + f"\n{line}\n", encoding="utf-8")

    env = dict(os.environ, PYTHONPATH=str(src))
    result = subprocess.run([str(_lint_imports()), "--no-cache"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=300)
    out = result.stdout + result.stderr
    assert result.returncode != 0, out
    return out


def test_import_linter_contract_catches_a_qt_import(tmp_path):
    """The same contract on a copy of the package where a core module imports Qt."""
    out = _lint_a_copy_with(tmp_path, "core/jobs.py", "from PySide6 import QtCore")
    assert "BROKEN" in out and "mlops_desktop.core.jobs" in out


def test_the_layers_contract_catches_an_earlier_step_importing_a_later_one(tmp_path):
    """Data (an early step) importing Train (a later one) breaks the layers contract."""
    out = _lint_a_copy_with(tmp_path, "core/data/sniff.py", "from ..train import families")
    assert "core's steps are layered in the flow's order BROKEN" in out
    assert "mlops_desktop.core.data is not allowed to import mlops_desktop.core.train" in out


def test_every_package_is_listed_for_the_wheel():
    """pyproject lists packages explicitly (for the resources mapping): a new package
    left out would be missing from a built wheel and a packaged app."""
    import tomllib

    root = Path(__file__).resolve().parents[1]
    listed = set(tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    src = root / "src"
    found = {".".join(p.parent.relative_to(src).parts) for p in src.rglob("__init__.py")}
    assert found - listed == set()


def test_the_app_uses_only_public_names_of_the_export_package():
    """mlops_model_support ships in every export: the app calls its public functions, so
    a private helper there can change without breaking a screen."""
    import ast

    private = []
    for path in sorted((ROOT / "src" / "mlops_desktop").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("mlops_model_support"):
                private += [f"{path.name}: {node.module}.{a.name}" for a in node.names if a.name.startswith("_")]
    assert private == []
