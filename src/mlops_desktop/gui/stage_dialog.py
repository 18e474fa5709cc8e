"""Asking for what a stage change needs (a comment; an override reason where the rules
want one), the same way on every page that offers it."""

from __future__ import annotations

from typing import Optional

from PySide6.QtWidgets import QInputDialog, QWidget

PROMPTS = {"validated": "Optional comment for moving it to validated:",
           "approved": "What did you check, and why may this model run? (recorded with your name)",
           "retired": "Why is it retired?"}


def ask_stage_change(parent: QWidget, ref: str, stage: str, *, needs_override: bool,
                     evidence: str = "") -> Optional[tuple[str, Optional[str]]]:
    """(comment, override reason or None), or None when the analyst cancels. ``evidence``
    (a challenge's verdict, say) is shown above the question."""
    prompt = f"{evidence}\n\n{PROMPTS[stage]}" if evidence else PROMPTS[stage]
    comment, ok = QInputDialog.getMultiLineText(parent, f"{ref}: {stage}", prompt)
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
