"""The selected version in a few lines of rich text: what it is, who trained it on which
data, its descriptions and tags, its approvals, where it came from and its newest
challenge. Everything a person typed is escaped."""

from __future__ import annotations

import html
from typing import Any

from ...core import numbers
from ...core.lineage import VersionLineage
from ..pages.challenge_view import origin_and_challenge


def tags_text(tags: Any) -> str:
    """Tags as "key=value, key" (a tag without a value shows its key)."""
    return ", ".join(f"{k}={v}" if v else k for k, v in (tags or {}).items())


def version_summary(lin: VersionLineage) -> str:
    """The lines of the summary, joined for a rich-text label."""
    v = lin.version
    e = html.escape
    parts = [f"{e(str(v.family))} for <b>{e(v.target)}</b> ({e(v.task)}), trained by "
             f"{e(v.created_by)} on {numbers.timestamp(v.created_at)} from "
             f"<b>{e(lin.dataset.name)}</b>."]
    if v.description:
        parts.append(f"<i>{e(v.description)}</i>")
    if lin.model.description:
        parts.append(f"Model: <i>{e(lin.model.description)}</i>")
    tags = {**(lin.model.tags or {}), **(v.tags or {})}
    if tags:
        parts.append("Tags: " + e(tags_text(tags)))
    for a in lin.approvals:
        who = f"{a.by} (self-approved)" if a.self_approved else a.by
        parts.append(f"Approved by {e(who)} on {numbers.timestamp(a.at)}: “{e(str(a.comment))}”")
    if not lin.validations:
        parts.append("Not validated yet: validate it on the Validate page before it can move on.")
    parts += origin_and_challenge(lin)
    return "<br>".join(parts)
