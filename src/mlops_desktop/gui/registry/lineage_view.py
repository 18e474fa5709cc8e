"""The Lineage tab: where the selected version came from and what became of it, as an
indented tree that wraps with the panel (the words come from core/lineage_tree.py, which
``models show`` prints too)."""

from __future__ import annotations

import html
from typing import Optional

from PySide6.QtWidgets import QTextBrowser, QWidget

from ...core.lineage import VersionLineage
from ...core.lineage_tree import Node, lineage_tree


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


def tree_html(nodes: list[Node]) -> str:
    """Nested lists: bold labels, details after them, wrapping with the panel."""
    def items(level: list[Node]) -> str:
        out = []
        for n in level:
            detail = f" — {html.escape(n.detail)}" if n.detail else ""
            inner = f"<ul style='margin-left:-14px'>{items(n.children)}</ul>" if n.children else ""
            out.append(f"<li style='margin-bottom:3px'><b>{html.escape(n.label)}</b>{detail}{inner}</li>")
        return "".join(out)
    return f"<ul style='margin-left:-22px'>{items(nodes)}</ul>"
