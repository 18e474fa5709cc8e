"""``mlops-desktop --smoke-test``: run as a user (or CI, on the bundle) would, and shown
to fail when a step breaks."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest


def test_smoke_test_builds_the_sample_and_visits_every_page(_isolated_user_dirs: Path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    proc = subprocess.run([sys.executable, "-m", "mlops_desktop", "--smoke-test"], capture_output=True,
                          text=True, env=env, timeout=600)
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr
    lines = out.splitlines()
    assert all(re.match(r"(ok   |FAIL ) |smoke test ", line) for line in lines), out
    pages = int(re.search(r"main window: (\d+) pages", out).group(1))
    visited = re.findall(r"^ok    page (\d+)\. (\w+)", out, flags=re.M)
    assert [int(n) for n, _ in visited] == list(range(1, pages + 1))
    assert {"Workspace", "Data", "Explore", "Check", "Train", "Validate", "Monitor"} <= {t for _, t in visited}
    assert re.search(r"^ok    sample project: dataset penguins, model penguins-species:1 validated, "
                     r"drift report \d+ \(drift\)", out, flags=re.M)
    assert "icon set" in out and lines[-1].startswith("smoke test passed")
    # the user's own settings and default workspace were not touched
    config = _isolated_user_dirs / "xdg_config_home"
    data = _isolated_user_dirs / "xdg_data_home"
    assert not list(config.rglob("*.conf")) and not list(config.rglob("*.ini"))
    assert not (data / "mlops-desktop" / "workspace").exists()
    assert not (data / "mlops-desktop" / "sample-project").exists()


@pytest.mark.qt_no_exception_capture
def test_smoke_test_fails_when_a_page_breaks(qapp, monkeypatch, capsys):
    from mlops_desktop.gui.app import smoke_test
    from mlops_desktop.gui.pages.check_page import CheckPage

    def broken(self, event):
        raise ValueError("the Check page cannot be drawn")

    monkeypatch.setattr(CheckPage, "showEvent", broken)
    assert smoke_test(qapp) == 1
    out = capsys.readouterr().out
    assert re.search(r"^FAIL  page \d+\. Check: .*ValueError.*the Check page cannot be drawn", out, flags=re.M)
    assert re.search(r"^ok    page \d+\. Explore", out, flags=re.M)  # the others are still visited
    assert "smoke test FAILED: 1 of" in out


@pytest.mark.qt_no_exception_capture
def test_smoke_test_fails_when_the_sample_project_cannot_be_built(qapp, monkeypatch, capsys):
    from mlops_desktop.core import sample_project
    from mlops_desktop.core.errors import WorkspaceError
    from mlops_desktop.gui.app import smoke_test

    def refuse(*args, **kwargs):
        raise WorkspaceError("The disk is full.")

    monkeypatch.setattr(sample_project, "build_sample_project", refuse)
    assert smoke_test(qapp) == 1
    out = capsys.readouterr().out
    assert re.search(r"^FAIL  sample project: .*The disk is full\.", out, flags=re.M)
    assert "ok    page" not in out  # nothing to visit without the project
