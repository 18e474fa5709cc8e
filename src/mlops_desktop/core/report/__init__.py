"""Self-contained HTML reports (charts inline as SVG, no network)."""

from .html import render_report, write_report

__all__ = ["render_report", "write_report"]
