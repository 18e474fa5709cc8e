"""A one-line field for a model formula (``log(wage) ~ education + poly(experience, 2)``)
that completes column names and the formula's functions as they are typed."""

from __future__ import annotations

import re
from typing import Optional

from PySide6.QtCore import QStringListModel, Qt
from PySide6.QtWidgets import QCompleter, QLineEdit, QWidget

#: the word being typed: a name, or a backticked name not yet closed
_WORD = re.compile(r"(`[^`]*|[A-Za-z_][A-Za-z0-9_.]*)$")


def formula_help() -> str:
    """What a formula may say, for a tooltip."""
    from mlops_model_support.terms import FUNCTIONS

    return ("A model formula as in R and statsmodels: target ~ terms, e.g. log(wage) ~ education + "
            "poly(experience, 2) + C(ethnicity, contr.treatment('cauc')) + education:parttime.\n"
            "a:b is an interaction, a*b both terms and their interaction; names with spaces go in "
            "`backticks`. Functions:\n" + "\n".join(f"  {name}: {what}" for name, what in FUNCTIONS.items()))


class FormulaEdit(QLineEdit):
    """A line edit whose completer offers, for the word before the cursor, the columns
    (``set_columns``) and the functions a formula may call."""

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        from mlops_model_support.terms import FUNCTIONS

        super().__init__(parent)
        self._functions = [f"{name}(" for name in FUNCTIONS]
        self._names = QStringListModel(self._functions, self)
        self.completer_ = QCompleter(self._names, self)
        self.completer_.setWidget(self)
        self.completer_.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.completer_.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.completer_.activated.connect(self.insert_completion)
        self.textEdited.connect(self._complete)
        self.setToolTip(formula_help())
        self.setClearButtonEnabled(True)

    def set_columns(self, names: list[str]) -> None:
        """The columns to offer (written as a formula writes them)."""
        from mlops_model_support.terms import quoted

        self._names.setStringList([quoted(n) for n in names] + self._functions)

    def current_word(self) -> str:
        """The name being typed, just before the cursor."""
        found = _WORD.search(self.text()[: self.cursorPosition()])
        return found.group(1) if found else ""

    def _complete(self, _text: str) -> None:
        word = self.current_word()
        if not word:
            self.completer_.popup().hide()
            return
        self.completer_.setCompletionPrefix(word)
        if self.completer_.completionCount() == 0 or self.completer_.currentCompletion() == word:
            self.completer_.popup().hide()
            return
        self.completer_.complete()

    def insert_completion(self, completion: str) -> None:
        """Replace the word before the cursor with ``completion``."""
        position = self.cursorPosition()
        word = self.current_word()
        text = self.text()
        self.setText(text[: position - len(word)] + completion + text[position:])
        self.setCursorPosition(position - len(word) + len(completion))
