"""A version's lineage in words, as a tree: dataset → run → version → what happened to
it. One presenter for the Registry page (which draws it as nested lists) and for
``models show`` (which prints it indented), so both say the same thing the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .. import numbers
from .lineage import VersionLineage


@dataclass
class Node:
    """One line of the lineage tree: what it is, its details, what hangs below it."""

    label: str
    detail: str = ""
    children: list["Node"] = field(default_factory=list)

    def add(self, label: str, detail: str = "") -> "Node":
        """Hang a new line below this one and return it, to hang more below it."""
        child = Node(label, detail)
        self.children.append(child)
        return child


def lineage_tree(lin: VersionLineage) -> list[Node]:
    """The lineage of a version as a tree to show."""
    ds, run, v = lin.dataset, lin.run, lin.version
    d = Node(f"Dataset {ds.name}", f"{ds.rows or 0:,} rows × {ds.columns or 0} columns · "
             f"fingerprint {str(ds.fingerprint or '')[:16]}… · imported by {ds.created_by or ''} "
             f"on {numbers.timestamp(ds.created_at)}")
    d.add("Source file", f"{ds.source_path or '—'} ({ds.source_format or '?'})")
    options = {k: val for k, val in (ds.import_options or {}).items() if val not in (None, "", [], {})}
    if options:
        d.add("Import options", ", ".join(f"{k} = {val}" for k, val in options.items()))
    if not ds.fingerprint_matches_run:
        d.add("Warning", "the snapshot no longer matches the fingerprint the run recorded")
    for a in lin.accepted_warnings:
        d.add(f"Accepted warning: {a.check_id}", f"“{a.reason}” · {a.accepted_by}")
    r = d.add(f"Run {run.id}", f"{run.family or run.status} · seed {run.seed} · by "
              f"{run.created_by} · {numbers.timestamp(run.started_at)}")
    if run.library_versions:
        r.add("Library versions", ", ".join(f"{k} {val}" for k, val in run.library_versions.items()))
    for rep in lin.reproductions:
        same = {True: "same predictions", False: "different predictions", None: rep.status}
        r.add(f"Reproduced as run {rep.run_id}", f"{same[rep.same_predictions]} · by {rep.created_by}")
    ver = r.add(f"Version {v.ref}", f"{v.stage} · artifact SHA-256 {v.artifact_sha256[:16]}…")
    for node in lin.parents():
        ver.add("From", node.label)
    for node in lin.challenge_nodes():
        ver.add("Challenge", node.label)
    for val in lin.validations:
        ver.add(f"Validation {val.id}", f"{'beats' if val.beats_baseline else 'does not beat'} the "
                f"baseline · by {val.created_by} · {numbers.timestamp(val.created_at)}")
    for c in lin.stage_changes:
        text = f"by {c['changed_by']} · {numbers.timestamp(c['changed_at'])}"
        if c.get("self_approved"):
            text += " · self-approved"
        if c.get("comment"):
            text += f" · “{c['comment']}”"
        if c.get("baseline_override"):
            text += f" · baseline override: {c['baseline_override']}"
        ver.add(f"{c['from_stage']} → {c['to_stage']}", text)
    for m in lin.alias_moves:
        took = m.to_version == v.version
        ver.add(f"Alias {m.alias} {'set here' if took else 'moved away'}",
                f"by {m.moved_by} · {numbers.timestamp(m.moved_at)}" + (f" · {m.comment}" if m.comment else ""))
    for dr in lin.drift_reports:
        ver.add(f"Drift report {dr.id}", f"{dr.batch_label}: {dr.verdict} · {dr.n_drifted} of "
                f"{dr.n_features} features drifted · {numbers.timestamp(dr.created_at)}")
    for e in lin.exports:
        ver.add("Exported", f"{e.get('out_path') or ''} · by {e.get('created_by', '')} · "
                f"{numbers.timestamp(e.get('created_at'))}")
    return [d]


def tree_lines(nodes: list[Node], indent: str = "  ") -> list[str]:
    """The tree as indented lines of text: "label — detail", children one step in."""
    lines: list[str] = []

    def walk(level: list[Node], depth: int) -> None:
        for n in level:
            lines.append(f"{indent * depth}{n.label}" + (f" — {n.detail}" if n.detail else ""))
            walk(n.children, depth + 1)

    walk(nodes, 1)
    return lines
