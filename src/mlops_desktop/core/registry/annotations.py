"""Tags, descriptions and purposes on registered models and model versions, each change
audited.

What is annotated is named the way the CLI takes it: ``MODEL`` is the registered model
itself, ``MODEL:VERSION`` one of its versions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import InvalidChoiceError

if TYPE_CHECKING:
    from ..workspace import Workspace

#: tag keys: letters, digits and . _ - : /, starting with a letter or digit (no '=', which
#: separates a key from its value in filters)
TAG_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:/-]{0,63}")
MAX_TAG_VALUE = 500
MAX_DESCRIPTION = 10_000


@dataclass(frozen=True)
class Annotated:
    """What a ref names: the model (``version`` None) or one version."""

    on: str  # "model" or "version"
    owner_id: int
    model: str
    version: int | None

    @property
    def label(self) -> str:
        """How messages and the audit name it: ``MODEL`` or ``MODEL:VERSION``."""
        return self.model if self.version is None else f"{self.model}:{self.version}"


def resolve(ws: "Workspace", ref: str) -> Annotated:
    """``MODEL`` -> the model, ``MODEL:VERSION`` -> that version (NotFoundError naming
    what exists otherwise)."""
    from ..store import models as model_rows
    from ..train.registered import parse_ref

    name, number = parse_ref(ref)
    if number is None:
        m = model_rows.get_model(ws.registry, name)
        return Annotated("model", m.id, m.name, None)
    mv = model_rows.get_version(ws.registry, name, number)
    return Annotated("version", mv.id, mv.model, mv.version)


def _key(key: str) -> str:
    text = str(key or "").strip()
    if not TAG_KEY.fullmatch(text):
        raise InvalidChoiceError(f"{text!r} is not a valid tag key: use letters, digits and . _ - : / "
                                 "(at most 64 characters, no spaces or '='), e.g. team or data.period.")
    return text


def set_tag(ws: "Workspace", ref: str, key: str, value: str, *, actor: str) -> dict[str, Any]:
    """Set tag ``key`` to ``value`` on a model or version. Returns {ref, on, key, before,
    after, changed}; setting the value it already has records nothing."""
    from ..store import tags

    key = _key(key)
    value = str(value if value is not None else "").strip()
    if not value:
        raise InvalidChoiceError(f"Give tag {key!r} a value (to take a tag away, remove it).")
    if len(value) > MAX_TAG_VALUE:
        raise InvalidChoiceError(f"A tag value holds at most {MAX_TAG_VALUE} characters; this one has "
                                 f"{len(value)}. Use the description for longer text.")
    with ws.registry.transaction():
        target = resolve(ws, ref)
        before = tags.of(ws.registry, target.on, target.owner_id).get(key)
        if before != value:
            tags.set_tag(ws.registry, target.on, target.owner_id, label=target.label, key=key, value=value,
                         actor=actor)
    return {"ref": target.label, "on": target.on, "key": key, "before": before, "after": value,
            "changed": before != value}


def remove_tag(ws: "Workspace", ref: str, key: str, *, actor: str) -> dict[str, Any]:
    """Remove tag ``key`` from a model or version (NotFoundError when it has none)."""
    from ..store import tags

    key = _key(key)
    with ws.registry.transaction():
        target = resolve(ws, ref)
        done = tags.remove_tag(ws.registry, target.on, target.owner_id, label=target.label, key=key,
                               actor=actor)
    return {"ref": target.label, "on": target.on, **done, "changed": True}


def tags_of(ws: "Workspace", ref: str) -> dict[str, str]:
    """The tags of a model or version, by key."""
    from ..store import tags

    target = resolve(ws, ref)
    return tags.of(ws.registry, target.on, target.owner_id)


def set_description(ws: "Workspace", ref: str, text: str, *, actor: str) -> dict[str, Any]:
    """Replace the description of a model or version (empty text clears it). Returns
    {ref, on, before, after, changed}; the same text again records nothing."""
    from ..store import models as model_rows

    text = str(text or "").strip()
    if len(text) > MAX_DESCRIPTION:
        raise InvalidChoiceError(f"A description holds at most {MAX_DESCRIPTION:,} characters; this one "
                                 f"has {len(text):,}.")
    with ws.registry.transaction():
        target = resolve(ws, ref)
        before = description_of(ws, ref)
        if before != text:
            setter = (model_rows.set_model_description if target.on == "model"
                      else model_rows.set_version_description)
            setter(ws.registry, target.owner_id, label=target.label, text=text, actor=actor)
    return {"ref": target.label, "on": target.on, "before": before, "after": text, "changed": before != text}


def description_of(ws: "Workspace", ref: str) -> str:
    """The description of a model or version."""
    from ..store import models as model_rows
    from ..train.registered import parse_ref

    name, number = parse_ref(ref)
    if number is None:
        return model_rows.get_model(ws.registry, name).description
    return model_rows.get_version(ws.registry, name, number).description


def set_purpose(ws: "Workspace", ref: str, text: str, *, actor: str) -> dict[str, Any]:
    """Replace what a version is for (``MODEL:VERSION``, or ``MODEL`` for its latest
    version; empty text clears it): the model card's Purpose. Kept apart from the
    description, which says what the version is (what changed, how it was made). Returns
    {ref, before, after, changed}; the same text again records nothing."""
    from ..store import models as model_rows
    from ..train import find_version

    text = str(text or "").strip()
    if len(text) > MAX_DESCRIPTION:
        raise InvalidChoiceError(f"A purpose holds at most {MAX_DESCRIPTION:,} characters; this one "
                                 f"has {len(text):,}.")
    with ws.registry.transaction():
        mv = find_version(ws, ref)
        if mv.purpose != text:
            model_rows.set_version_purpose(ws.registry, mv.id, label=mv.ref, text=text, actor=actor)
    return {"ref": mv.ref, "before": mv.purpose, "after": text, "changed": mv.purpose != text}
