"""What people type (comments, descriptions, tags, names, column names) is shown as the
text it is: escaped in the app's rich-text labels (Export summary, Registry detail,
Monitor summary and feature detail) and unable to start a tag, an entity or a link in
the Markdown model card; the HTML card escapes it too."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from gui.conftest import screenshot, wait_jobs, window  # noqa: F401  (the main-window fixture)

HOSTILE = "<img src=x onerror=alert(1)><b>x</b>"
LINK = "[click](javascript:alert(1)) ![pixel](http://tracker.example/p.png)"


def _shown(label) -> str:
    """What a rich-text label shows a person, as plain text."""
    from PySide6.QtGui import QTextDocument

    doc = QTextDocument()
    doc.setHtml(label.text())
    return doc.toPlainText()


@pytest.fixture
def approved(window, penguins_csv):  # noqa: F811
    from mlops_desktop.core.registry.annotations import set_description, set_tag
    from mlops_desktop.core.registry.lifecycle import change_stage
    from mlops_desktop.core.train import TrainSpec, train
    from mlops_desktop.core.validate.for_version import validate_version

    ws = window.state.workspace
    ws.import_file(penguins_csv, actor="ann")
    train(ws, TrainSpec(dataset="penguins", target="body_mass_g", models=["ols"], model_name="mass"), actor="ann")
    validate_version(ws, "mass:1", actor="ann", n_bootstrap=50)
    set_description(ws, "mass:1", f"{HOSTILE} {LINK}", actor="ann")
    set_tag(ws, "mass:1", "owner", HOSTILE, actor="ann")
    change_stage(ws, "mass:1", "validated", actor="ann")
    change_stage(ws, "mass:1", "approved", actor="bob", comment=HOSTILE)
    window.state.models_changed.emit("")
    return window


def test_an_approvers_comment_shows_as_text_on_the_export_page(approved):
    window = approved  # noqa: F811 (the approved main window)
    window.go_to("Export")
    page = window.page("Export")
    assert "<img" not in page.summary.text() and "&lt;img src=x" in page.summary.text()
    assert f"“{HOSTILE}”" in _shown(page.summary)
    screenshot(window, "security_export_comment")


def test_descriptions_tags_and_comments_show_as_text_on_the_registry_page(approved, qtbot):
    window = approved  # noqa: F811 (the approved main window)
    window.go_to("Registry")
    page = window.page("Registry")
    page.select_ref("mass:1", force=True)
    wait_jobs(qtbot, window)
    text = page.detail_text.text()
    assert "<img" not in text and "<b>x</b>" not in text
    shown = _shown(page.detail_text)
    assert f"{HOSTILE} {LINK}" in shown and f"owner={HOSTILE}" in shown and f"“{HOSTILE}”" in shown
    screenshot(window, "security_registry_detail")


def test_column_and_batch_names_show_as_text_on_the_monitor_page(window, qtbot):  # noqa: F811
    import numpy as np

    from mlops_desktop.core.monitor import Reference, batch_from_frame, run_drift

    rng = np.random.default_rng(3)
    reference = pd.DataFrame({HOSTILE: rng.normal(size=600), "steady": rng.normal(size=600)})
    batch = pd.DataFrame({HOSTILE: rng.normal(loc=3.0, size=600), "steady": rng.normal(size=600)})
    run = run_drift(None, Reference.from_frame(reference, {HOSTILE: "numeric", "steady": "numeric"},
                                               name=f"data {HOSTILE}"),
                    [batch_from_frame(batch, label=f"batch {HOSTILE}")], store=False)
    assert run.reports[0].features[0].drifted
    window.go_to("Monitor")
    page = window.page("Monitor")
    page.ensure_built()
    page.selection.select(("test", "a comparison made here"))  # shown as a stored one would be
    page.selection.show(("test", "a comparison made here"), run)
    qtbot.wait(50)
    assert "<img" not in page.summary.text()
    assert f"against data {HOSTILE}." in _shown(page.summary)
    row = next(r for r in range(page.features.rowCount()) if page.features.item(r, 0).text() == HOSTILE)
    page.show_feature(row)
    assert "<img" not in page.detail.text()
    assert _shown(page.detail).startswith(f"{HOSTILE} — major\n")
    screenshot(window, "security_monitor_names")


def test_the_model_cards_carry_no_tag_entity_or_link_from_user_text(approved):
    from mlops_desktop.core.validate.card_html import model_card_html
    from mlops_desktop.core.validate.card_markdown import inert, model_card_markdown
    from mlops_desktop.core.validate.for_version import model_card

    card = model_card(approved.state.workspace, "mass:1")
    markdown = model_card_markdown(card)
    assert HOSTILE not in markdown and "<img" not in markdown and "<b>" not in markdown
    assert "](javascript" not in markdown and "](http://tracker" not in markdown
    assert "&lt;img src=x onerror=alert(1)>&lt;b>x&lt;/b>" in markdown  # shown, as text
    # the card's own Markdown (intervals, "p < 0.001", tables) is left as it is
    plain = dataclasses.replace(card, purpose="Predicts body mass.",
                                approvals=[{**a, "comment": "Checked."} for a in card.approvals])
    own = model_card_markdown(plain)
    assert inert(own) == own and "| 95% interval |" in own and " to " in own
    html = model_card_html(card)
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;&lt;b&gt;x&lt;/b&gt;" in html


#: a name with markup, an ampersand and both quotes, and no slash (it names folders too)
NAME = """a & "b" <i>c</i> 'd'"""
FOLDER_NAME = """a & "b" <i> 'd'"""


def _plain_and_inert(label, expected: str) -> None:
    """The label shows ``expected`` as text and holds no tag of it."""
    assert "<i>" not in label.text() and "<img" not in label.text()
    assert expected in _shown(label)


def test_dialogs_and_the_welcome_page_show_names_and_paths_as_text(window, tmp_path):  # noqa: F811
    """The Retrain dialog (a version's name), the New workspace dialog (a folder's path and
    why it cannot be made), the Before and after dialog (a check's name and formulas), the
    Import dialog's problem line and the welcome page's default folder."""
    from types import SimpleNamespace

    from PySide6.QtWidgets import QLabel

    from mlops_desktop.gui.import_dialog import ImportDialog
    from mlops_desktop.gui.new_workspace_dialog import NewWorkspaceDialog
    from mlops_desktop.gui.pages.check_compare import BeforeAfterDialog
    from mlops_desktop.gui.retrain_dialog import RetrainDialog

    retrain = RetrainDialog(window.state.workspace, f"{NAME}:1", parent=window)
    intro = next(w for w in retrain.findChildren(QLabel) if "again exactly" in w.text())
    _plain_and_inert(intro, f"Train {NAME}:1 again")
    assert "<b>challenger</b>" in intro.text()  # its own markup stays markup

    folder = tmp_path / FOLDER_NAME
    folder.mkdir()
    new = NewWorkspaceDialog(window, folder=folder)
    _plain_and_inert(new.where, f"created in {folder}")
    new.name_edit.setText("x<y")
    assert _shown(new.where) == 'A folder name cannot contain / \\ : * ? " < > | or be . or ..'

    report = lambda formula: SimpleNamespace(formula=formula, checks=[], target="y", target_label=None)  # noqa: E731
    before_after = BeforeAfterDialog(report(f"y ~ {NAME}"), report("y ~ 1"), "vif", f"Merge {NAME}", parent=window)
    intro = next(w for w in before_after.findChildren(QLabel) if "Before:" in w.text())
    _plain_and_inert(intro, f"Merge {NAME}\nBefore: y ~ {NAME}\nAfter: y ~ 1")

    csv = tmp_path / "small.csv"
    csv.write_text("a,b\n1,2\n", encoding="utf-8")
    importing = ImportDialog(str(csv), window.runner, parent=window)
    importing._show_problem(f"Cannot read {NAME}")
    _plain_and_inert(importing.status, f"Cannot read {NAME}")

    window.state.prefs.default_workspace = folder / "ws"
    welcome = window.welcome
    welcome.refresh()
    _plain_and_inert(welcome.create_caption, FOLDER_NAME)
    assert '<a href="choose">' in welcome.create_caption.text()
    for dialog in (retrain, new, before_after, importing):
        dialog.close()


def test_the_validate_page_shows_a_hostile_version_data_and_person_as_text(window, qtbot, penguins_csv):  # noqa: F811
    """The verdict line (version, data, who validated) and the stage line (who trained)."""
    from mlops_desktop.core.train import TrainSpec, train
    from mlops_desktop.core.validate.for_version import validate_version

    ws = window.state.workspace
    ws.import_file(penguins_csv, name=f"data {NAME}", actor=NAME)
    train(ws, TrainSpec(dataset=f"data {NAME}", target="body_mass_g", models=["ols"], model_name="m"), actor=NAME)
    validate_version(ws, "m:1", actor=NAME, n_bootstrap=50)
    window.state.models_changed.emit("")
    window.go_to("Validate")
    page = window.page("Validate")
    wait_jobs(qtbot, window)
    assert page.result is not None
    _plain_and_inert(page.verdict, f"by {NAME} (validation")
    _plain_and_inert(page.stage_label, f"(trained by {NAME})")
    screenshot(window, "security_validate_names")
