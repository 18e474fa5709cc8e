"""What the analyst can do to the version the Registry page shows: move its stage, point
an alias at it, tag and describe it (undoable), retrain and challenge it, roll production
back, export it. The rules live in core (core/registry/lifecycle.py): these ask for what a rule
needs (a comment, an override reason) and show the core's message when a rule says no.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Optional

from PySide6.QtWidgets import QInputDialog, QMessageBox

from ..errors import show_error
from ..undo import RecordedChange

if TYPE_CHECKING:
    from ...core.registry.lineage import VersionLineage


class VersionActions:
    """The lifecycle actions of the Registry page, mixed into it. The page provides
    ``state``, ``runner``, ``lineage`` (the version shown, or None), ``undo_stack``,
    ``challenge_view``, ``stack``, ``single_user`` and ``_pending_ref``."""

    lineage: Optional["VersionLineage"]

    def _act(self, title: str, fn: Callable[[], Any]) -> Any:
        """Run a registry change; on a rule's refusal show why (and return None). Refreshes
        on success and returns what the change returned."""
        ref = self.lineage.ref if self.lineage else None
        try:
            done = fn()
        except Exception as exc:
            show_error(self, title, exc)
            return None
        self._changed(ref or "")
        return done

    def ask_stage(self, stage: str) -> None:
        """Ask for the comment (and an override reason where the rules need one), then move."""
        from ..stage_dialog import ask_for_version

        if self.lineage is None:
            return
        answer = ask_for_version(self, self.state, self.lineage.ref, stage)
        if answer is not None:
            self.set_stage(stage, comment=answer[0], override=answer[1])

    def set_stage(self, stage: str, *, comment: str = "", override: Optional[str] = None) -> bool:
        from ..stage_dialog import change_stage_with_help

        ref = self.lineage.ref
        return change_stage_with_help(self, self.state, ref, stage, comment=comment, override=override,
                                      on_done=lambda: self._changed(ref), ask_again=lambda: self.ask_stage(stage))

    def ask_alias(self) -> None:
        if self.lineage is None:
            return
        alias, ok = QInputDialog.getText(self, "Set an alias",
                                         f"Point which alias at {self.lineage.ref}? (IT scores with the "
                                         "version that holds 'production')", text="production")
        if ok and alias.strip():
            self.set_alias(alias.strip())

    def set_alias(self, alias: str, comment: str = "") -> bool:
        from ...core.registry.lifecycle import set_alias

        v = self.lineage.version
        moved = self._act(f"Cannot set {alias}", lambda: set_alias(self.state.workspace, v.model, alias,
                                                                   v.version, actor=self.state.actor,
                                                                   comment=comment))
        return moved is not None

    def ask_retrain(self) -> None:
        """Retrain this version on newer data (a background job); the new version, the
        challenger, is selected when it is done."""
        from ..retrain_dialog import ask_retrain

        if self.lineage is not None:
            ask_retrain(self, self.state, self.runner, self.lineage.ref,
                        on_done=lambda result: self.select_ref(result.challenger, force=True))

    def open_challenge(self, ref: Optional[str] = None) -> None:
        """The Challenge view of ``ref`` (default: the selected version)."""
        ref = ref or (self.lineage.ref if self.lineage else None)
        if ref is None:
            return
        try:
            self.challenge_view.open_for(ref)
        except Exception as exc:
            show_error(self, f"Cannot challenge {ref}", exc)
            return
        self.stack.setCurrentWidget(self.challenge_view)

    def ask_rollback(self) -> None:
        """Move production back one recorded move, with a reason."""
        from ...core.challenge import roll_back, roll_back_target

        if self.lineage is None:
            return
        model = self.lineage.version.model
        target = roll_back_target(self.state.workspace, model)
        if target is None:
            return
        reason, ok = QInputDialog.getMultiLineText(
            self, "Roll back production", f"Move production of {model} back from version {target[0]} to version "
            f"{target[1]}, the one it held before? Why? (recorded with the move)")
        if ok:
            self._act("Cannot roll back", lambda: roll_back(self.state.workspace, model, reason=reason,
                                                             actor=self.state.actor))

    def go_export(self) -> None:
        """Open the Export page on this version."""
        if self.lineage is None:
            return
        self.go_to("Export")
        export = getattr(self.window(), "page", None)
        if export is not None:
            export("Export").select(self.lineage.ref)

    def ask_tag(self) -> None:
        if self.lineage is None:
            return
        text, ok = QInputDialog.getText(self, "Tag this version",
                                        "A tag as key=value (a key alone removes that tag):")
        if not ok or not text.strip():
            return
        key, sep, value = text.partition("=")
        self.tag_version(key.strip(), value.strip() if sep else None)

    def tag_version(self, key: str, value: Optional[str]) -> bool:
        """Set tag ``key`` to ``value`` on the version shown (None: remove it); Edit → Undo
        records the way back."""
        from ...core.registry.annotations import remove_tag, set_tag

        ref = self.lineage.ref

        def put(v: Optional[str]) -> dict[str, Any]:
            ws, actor = self.state.workspace, self.state.actor
            return set_tag(ws, ref, key, v, actor=actor) if v is not None else remove_tag(ws, ref, key, actor=actor)

        changed = self._act("Cannot tag" if value is not None else "Cannot remove the tag", lambda: put(value))
        if changed is None or not changed["changed"]:
            return changed is not None
        before = changed["before"]
        what = f"tag {key}={value}" if value is not None else f"remove tag {key}"
        self.undo_stack.push(RecordedChange(f"{ref}: {what}", self.state, self, forward=lambda: put(value),
                                            backward=lambda: put(before), after=lambda: self._changed(ref)))
        return True

    def ask_description(self) -> None:
        if self.lineage is None:
            return
        ref = self.lineage.ref
        text, ok = QInputDialog.getMultiLineText(self, f"Describe {ref}", "What is this version, in a sentence "
                                                 "or two?", self.lineage.version.description or "")
        if ok:
            self.describe_version(text)

    def describe_version(self, text: str) -> bool:
        """Replace the description of the version shown; Edit → Undo records the old one again."""
        from ...core.registry.annotations import set_description

        ref = self.lineage.ref

        def put(t: str) -> dict[str, Any]:
            return set_description(self.state.workspace, ref, t, actor=self.state.actor)

        changed = self._act("Cannot save the description", lambda: put(text))
        if changed is None or not changed["changed"]:
            return changed is not None
        before, after = changed["before"], changed["after"]
        self.undo_stack.push(RecordedChange(f"{ref}: description", self.state, self, forward=lambda: put(after),
                                            backward=lambda: put(before), after=lambda: self._changed(ref)))
        return True

    def _changed(self, ref: str) -> None:
        """The registry changed for ``ref``: the list and its detail read it again."""
        self._pending_ref = ref
        self.state.models_changed.emit(ref)

    def _toggle_single_user(self, on: bool) -> None:
        ws = self.state.workspace
        if ws is None:
            return
        if on:
            answer = QMessageBox.question(
                self, "Single-user mode",
                "In single-user mode the person who trained a version may also approve it. Every such "
                "approval is recorded as self-approved, and the model card and the export say so. "
                "Switch it on for this workspace?")
            if answer != QMessageBox.StandardButton.Yes:
                self.single_user.setChecked(False)
                return
        from ...core.registry.lifecycle import set_single_user

        if self._act("Cannot change the mode", lambda: set_single_user(ws, on, actor=self.state.actor)) is None:
            self.single_user.setChecked(not on)
