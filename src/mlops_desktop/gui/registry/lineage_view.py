"""The Lineage tab: where the selected version came from and what became of it, as an
indented tree that wraps with the panel (the words come from core/registry/lineage_tree.py, which
``models show`` prints too)."""

from __future__ import annotations

from typing import Optional

from markupsafe import Markup
from PySide6.QtWidgets import QTextBrowser, QWidget

from ...core.registry.lineage import VersionLineage
from ...core.registry.lineage_tree import Node, lineage_tree


class LineageView(QTextBrowser):
    """The lineage of one version; ``nodes`` holds the tree it shows."""

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.setOpenLinks(False)
        self.nodes: list[Node] = []

    def show_lineage(self, lin: VersionLineage) -> None:
        """Dataset → run → version → what happened to it."""
        self.nodes = lineage_tree(lin)
        self.setHtml(tree_html(self.nodes))


def tree_html(nodes: list[Node]) -> Markup:
    """Nested lists: bold labels, details after them, wrapping with the panel."""
    def items(level: list[Node]) -> Markup:
        return Markup("").join(
            Markup("<li style='margin-bottom:3px'><b>{}</b>{}{}</li>").format(
                n.label, Markup(" — {}").format(n.detail) if n.detail else "",
                Markup("<ul style='margin-left:-14px'>{}</ul>").format(items(n.children)) if n.children else "")
            for n in level)
    return Markup("<ul style='margin-left:-22px'>{}</ul>").format(items(nodes))
