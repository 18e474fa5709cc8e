"""The whole flow on the bundled sample, as an analyst and a reviewer would do it through
the pages: import, explore, check, train, validate, approve as a second person, set
production, export, and check a new batch for drift. A screenshot of every page.

CI also runs this file once under Xvfb with the real xcb platform (``make walk-xvfb``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from PySide6.QtCore import Qt

from .conftest import message_boxes, screenshot, wait_jobs


def test_the_whole_flow_on_the_sample(window, qtbot, tmp_path):
    from mlops_desktop.core.train import find_version

    from PySide6.QtGui import QGuiApplication

    prefix = f"walk_{QGuiApplication.platformName()}_"
    wanted = os.environ.get("QT_QPA_PLATFORM")
    if wanted:  # `make walk-xvfb` asks for xcb: the walk must really run there
        assert QGuiApplication.platformName() == wanted

    # 1. Data: the sample, and its target chosen in the column editor
    window.go_to("Data")
    data = window.page("Data")
    data.open_sample()
    wait_jobs(qtbot, window)
    ws = window.state.workspace
    assert [d.name for d in ws.datasets()] == ["penguins"]
    data.change_column("species", role="target")
    assert ws.dataset("penguins").target == "species"
    window.state.datasets_changed.emit(-1)
    screenshot(window, prefix + "1_data")

    # 2. Explore
    window.go_to("Explore")
    explore = window.page("Explore")
    qtbot.waitUntil(lambda: explore.profile is not None, timeout=60_000)
    screenshot(window, prefix + "2_explore")

    # 3. Check
    window.go_to("Check")
    check = window.page("Check")
    check.run_button.click()
    wait_jobs(qtbot, window, timeout_s=120)
    qtbot.waitUntil(lambda: check.report is not None, timeout=60_000)
    screenshot(window, prefix + "3_check")

    # 4. Train with the wizard: logistic regression and a tree
    window.go_to("Train")
    train = window.page("Train")
    train.open_wizard()
    wizard = train.last_wizard
    assert wizard.target_combo.currentText() == "species"
    wait_jobs(qtbot, window)
    for i in range(wizard.models.count()):
        item = wizard.models.item(i)
        wanted = item.data(Qt.ItemDataRole.UserRole) in ("logistic", "tree")
        item.setCheckState(Qt.CheckState.Checked if wanted else Qt.CheckState.Unchecked)
    while wizard.currentId() != wizard.pageIds()[-1]:
        wizard.next()
    wizard.accept()
    wait_jobs(qtbot, window, timeout_s=180)
    result = train.last_result
    assert result is not None and result.status == "succeeded", getattr(result, "error", None)
    ref = f"{result.model}:{result.version}"
    screenshot(window, prefix + "4_train")

    # 5. Validate, then mark validated (the trainer may do that)
    train._go_validate()
    validate = window.page("Validate")
    validate.run_validation()
    wait_jobs(qtbot, window, timeout_s=180)
    assert validate.result is not None
    screenshot(window, prefix + "5_validate")
    trainer = window.state.actor
    validate.set_stage("validated", override=None if validate.result.report.beats_baseline else "sample data")
    assert find_version(ws, ref).stage == "validated"

    # 6. Registry: the trainer cannot approve; a second person can, then sets production
    window.go_to("Registry")
    registry = window.page("Registry")
    registry.select_ref(ref)
    wait_jobs(qtbot, window)
    assert not registry.set_stage("approved", comment="my own")
    assert any("cannot approve it too" in b.text() for b in message_boxes())
    for box in message_boxes():
        box.close()
    window.state.prefs.display_name = "reviewer"
    assert window.state.actor != trainer
    assert registry.set_stage("approved", comment="Metrics beat the baseline; card read.")
    assert registry.set_alias("production")
    assert find_version(ws, ref).stage == "approved"
    screenshot(window, prefix + "6_registry")

    # 7. Export the production version
    window.go_to("Export")
    export = window.page("Export")
    assert export.version.currentData() == ref
    out = tmp_path / "package"
    export.destination.setText(str(out))
    export.export()
    wait_jobs(qtbot, window, timeout_s=240)
    assert export.last_result is not None, export.result.text()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["version"] == result.version
    screenshot(window, prefix + "7_export")
    verify = subprocess.run([sys.executable, str(out / "score.py"), "--verify"], capture_output=True, text=True,
                            timeout=120)
    assert verify.returncode == 0, verify.stderr

    # 8. Monitor: a batch where the heavy penguins are missing drifts on body mass
    frame = ws.load_table(ws.dataset("penguins")).to_pandas()
    batch = tmp_path / "new_batch.csv"
    frame[frame["body_mass_g"] < frame["body_mass_g"].median()].to_csv(batch, index=False)
    window.go_to("Monitor")
    monitor = window.page("Monitor")
    index = next(i for i in range(monitor.reference.count())
                 if tuple(monitor.reference.itemData(i)) == ("model", ref))
    monitor.reference.setCurrentIndex(index)
    monitor.accept_dropped_file(str(batch))
    monitor.compare()
    wait_jobs(qtbot, window, timeout_s=180)
    assert monitor.run is not None
    report = monitor.run.reports[0]
    assert "body_mass_g" in {f.name for f in report.features if f.drifted}
    screenshot(window, prefix + "8_monitor")

    # the lineage now reaches from the dataset to the approval, the export and the drift report
    window.go_to("Registry")
    registry.select_ref(ref)
    wait_jobs(qtbot, window)
    text = registry.tree.toPlainText()
    for expected in ("Dataset penguins", "validated → approved", "Exported", "Drift report"):
        assert expected in text
    screenshot(window, prefix + "9_lineage")
    assert ws.verify_audit() == []
