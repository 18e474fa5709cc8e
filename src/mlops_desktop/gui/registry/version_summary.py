"""The selected version in a few lines of rich text: what it is, who trained it on which
data, its descriptions and tags, its approvals, where it came from and its newest
challenge. Everything a person typed is escaped."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from ...core import numbers
from ...core.registry.lineage import VersionLineage
from ..pages.challenge_view import origin_and_challenge


def tags_text(tags: Any) -> str:
    """Tags as "key=value, key" (a tag without a value shows its key)."""
    return ", ".join(f"{k}={v}" if v else k for k, v in (tags or {}).items())


def version_summary(lin: VersionLineage) -> Markup:
    """The lines of the summary, joined for a rich-text label."""
    v = lin.version
    parts = [Markup("{} for <b>{}</b> ({}), trained by {} on {} from <b>{}</b>.").format(
        v.family, v.target, v.task, v.created_by, numbers.timestamp(v.created_at), lin.dataset.name)]
    if v.description:
        parts.append(Markup("<i>{}</i>").format(v.description))
    if lin.model.description:
        parts.append(Markup("Model: <i>{}</i>").format(lin.model.description))
    tags = {**(lin.model.tags or {}), **(v.tags or {})}
    if tags:
        parts.append(Markup("Tags: {}").format(tags_text(tags)))
    for a in lin.approvals:
        who = f"{a.by} (self-approved)" if a.self_approved else a.by
        parts.append(Markup("Approved by {} on {}: “{}”").format(who, numbers.timestamp(a.at), a.comment))
    if not lin.validations:
        parts.append(Markup("Not validated yet: validate it on the Validate page before it can move on."))
    parts += origin_and_challenge(lin)
    return Markup("<br>").join(parts)
