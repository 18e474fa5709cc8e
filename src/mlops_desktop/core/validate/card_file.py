"""Writing a model card to a file: HTML or Markdown, chosen by the file's suffix."""

from __future__ import annotations

from pathlib import Path

from ..errors import InvalidChoiceError
from ..storage import write_text_file
from .card import ModelCard
from .card_html import model_card_html
from .card_markdown import model_card_markdown

RENDERERS = {".html": model_card_html, ".htm": model_card_html, ".md": model_card_markdown,
             ".markdown": model_card_markdown}


def write_model_card(card: ModelCard, path: Path | str) -> Path:
    """Render ``card`` as HTML (``.html``) or Markdown (``.md``) and write it atomically."""
    path = Path(path).expanduser()
    render = RENDERERS.get(path.suffix.lower())
    if render is None:
        raise InvalidChoiceError(f"Cannot write a model card as {path.name!r}: name the file "
                                 ".html for a web page or .md for Markdown.")
    return write_text_file(path, render(card), what="the model card")
