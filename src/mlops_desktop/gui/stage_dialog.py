"""Asking for what a stage change needs (a comment; an override reason where the rules
want one) and making it, the same way on every page that offers it. When the rules
refuse a self-approval, the comment typed is kept and the analyst is offered the ways
out this window has: act as someone else (the status bar), or switch on single-user
mode for the workspace. On a team registry neither exists: another login approves."""

from __future__ import annotations

from typing import Callable, Optional

from PySide6.QtWidgets import QInputDialog, QMessageBox, QWidget

from ..core.errors import SelfApprovalRefused
from .errors import show_error
from .state import AppState

PROMPTS = {"validated": "Optional comment for moving it to validated:",
           "approved": "What did you check, and why may this model run? (recorded with your name)",
           "retired": "Why is it retired?"}


def ask_stage_change(parent: QWidget, ref: str, stage: str, *, needs_override: bool,
                     evidence: str = "", draft: str = "") -> Optional[tuple[str, Optional[str]]]:
    """(comment, override reason or None), or None when the analyst cancels. ``evidence``
    (a challenge's verdict, say) is shown above the question; ``draft``: a comment typed
    before, filled in."""
    prompt = f"{evidence}\n\n{PROMPTS[stage]}" if evidence else PROMPTS[stage]
    comment, ok = QInputDialog.getMultiLineText(parent, f"{ref}: {stage}", prompt, draft)
    if not ok:
        return None
    override = None
    if stage == "validated" and needs_override:
        override, ok = QInputDialog.getMultiLineText(
            parent, "Override the baseline verdict",
            f"{ref} did not beat its baseline. Why should it be validated anyway? (recorded)")
        if not ok:
            return None
    return comment, override


def ask_for_version(parent: QWidget, state: AppState, ref: str, stage: str) -> Optional[tuple[str, Optional[str]]]:
    """:func:`ask_stage_change` for a version of the open workspace: an override asked for
    where it did not beat its baseline, its evidence shown for an approval, and the
    comment typed before (not recorded yet) filled in."""
    from ..core.registry.lifecycle import needs_baseline_override
    from .pages.challenge_view import evidence

    ws = state.workspace
    return ask_stage_change(parent, ref, stage, needs_override=needs_baseline_override(ws, ref),
                            evidence=evidence(ws, ref) if stage == "approved" else "",
                            draft=draft_comment(state, ref, stage))


def draft_comment(state: AppState, ref: str, stage: str) -> str:
    """The comment typed for this change that was not recorded yet, or ''."""
    return state.comment_drafts.get((state.generation, ref, stage), "")


def change_stage_with_help(parent: QWidget, state: AppState, ref: str, stage: str, *, comment: str = "",
                           override: Optional[str] = None, on_done: Callable[[], None],
                           ask_again: Callable[[], None]) -> bool:
    """Move ``ref`` to ``stage`` as the acting person; ``on_done`` runs once it is made
    (now, or after a way out was taken). Returns whether it was made now. A refused
    self-approval keeps ``comment`` and offers the ways out (see :func:`offer_ways_out`);
    any other refusal is shown with the rule's message."""
    from ..core.registry.lifecycle import change_stage

    key = (state.generation, ref, stage)
    try:
        change_stage(state.workspace, ref, stage, actor=state.actor, comment=comment, override_reason=override)
    except SelfApprovalRefused as refusal:
        state.comment_drafts[key] = comment
        offer_ways_out(parent, state, refusal, comment=comment, override=override, on_done=on_done,
                       ask_again=ask_again)
        return False
    except Exception as exc:
        if comment.strip():
            state.comment_drafts[key] = comment
        show_error(parent, f"Cannot move {ref} to {stage}", exc)
        return False
    state.comment_drafts.pop(key, None)
    on_done()
    return True


def offer_ways_out(parent: QWidget, state: AppState, refusal: SelfApprovalRefused, *, comment: str,
                   override: Optional[str], on_done: Callable[[], None],
                   ask_again: Callable[[], None]) -> QMessageBox:
    """Say why the approval was refused, that the comment is kept, and offer: act as
    someone else (then ask again, the comment filled in), or switch on single-user mode
    and approve with the comment (recorded as self-approved). Returns the open box."""
    ref = refusal.ref
    box = QMessageBox(QMessageBox.Icon.Warning, "Approval needs a second person",
                      f"{refusal.actor} trained {ref} and cannot approve it too: approval takes a second "
                      "person (four eyes). Your comment is kept.", QMessageBox.StandardButton.NoButton, parent)
    if state.team is not None:  # the actor is the login and the server keeps the rule: no way out here
        box.setInformativeText(f"On the team registry a colleague with the approver role approves {ref} "
                               "from their own login.")
        box.addButton(QMessageBox.StandardButton.Ok)
        box.open()
        return box
    box.setInformativeText(
        "If a colleague is approving at this computer, let them act under their own name (the status "
        "bar's “Acting as”, or the button below); the comment is filled in again for them to check.\n\n"
        "If you work alone, switch on single-user mode for this workspace (also on the Registry page): "
        "the approval is then recorded as self-approved, and the model card and the export say so.")
    someone = box.addButton("Act as someone else…", QMessageBox.ButtonRole.ActionRole)
    alone = box.addButton("Switch on single-user mode and approve", QMessageBox.ButtonRole.AcceptRole)
    cancel = box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(someone)
    box.setEscapeButton(cancel)

    def clicked(button: object) -> None:
        if button is someone:
            from .actor import ask_actor

            ask_actor(parent, state, then=ask_again)
        elif button is alone:
            from ..core.registry.lifecycle import set_single_user

            try:
                set_single_user(state.workspace, True, actor=state.actor)
            except Exception as exc:
                show_error(parent, "Cannot switch on single-user mode", exc)
                return
            state.models_changed.emit("")  # the Registry page's switch shows the mode
            change_stage_with_help(parent, state, ref, "approved", comment=comment, override=override,
                                   on_done=on_done, ask_again=ask_again)

    box.buttonClicked.connect(clicked)
    box.open()
    return box
