"""Do the registry's records agree with the audit log, and does every reference point
somewhere? The SQL half of ``verify`` (files are checked in ``core.integrity``).

Every record the app creates (a dataset, a prepared dataset's recipe, a run, a model
version, a stage change, a
validation, an accepted warning, a drift report, an alias move, an export, realized
performance from labels, a challenge's declaration and its result) is written together
with its audit entry. So a record without an entry was added (or its entry deleted)
outside the app, an entry without its record means the record was deleted, and a
record that says something else than its entry (another model file, another stage)
was edited: every governed field is compared (who made it, a version's metrics, a
validation's report, a stage change's comment, override and self-approval, an export's
path, ...). Values changed over time (settings, thresholds, tags, descriptions, column
types and roles) are compared with their last recorded change in :mod:`.values_check`.
Only entries whose own hash is intact are trusted for these comparisons.
"""

from __future__ import annotations

import hashlib
from typing import Any, Callable, Collection, Optional

from . import values_check
from .audit import ChainCheck, CollectedEntry, Problem, check_chain
from .db import Registry
from .models import text_digest
from .problem import shown
from .provenance import expected_artifact

#: the audit action that records each kind of record, and where the record's id is
_CREATED = {
    "dataset.imported": "entity",
    "dataset.prepared": "entity",
    "run.started": "entity",
    "run.finished": "entity",
    "model.registered": "entity",
    "model.version_created": "entity",
    "model.file_converted": "entity",
    "model.stage_changed": "change_id",
    "model.validated": "validation_id",
    "check.warning_accepted": "accepted_warning_id",
    "check.warning_withdrawn": "withdrawal_id",
    "check.run_recorded": "check_run_id",
    "drift.report_created": "drift_report_id",
    "model.alias_moved": "move_id",
    "model.alias_removed": "move_id",
    "model.exported": "export_id",
    "monitor.labels_recorded": "realized_id",
    "challenge.declared": "challenge_id",
    "challenge.decided": "challenge_id",
    "challenge.ended": "challenge_id",
    "workspace.pushed": "push_id",
}


#: the actions whose intact entries the checks keep: the records' and the values'
_COLLECTED = frozenset(_CREATED) | values_check.ACTIONS

#: an entry that does not record a field (written by an older app): nothing to compare
_ABSENT = object()


def check_audit(reg: Registry, *, collect: Collection[str] = ()) -> ChainCheck:
    """The chain check (:func:`audit.check_chain`) plus the record and value checks, in
    one pass over the log; the intact entries of these actions and of ``collect`` are
    left in ``collected`` for further checks."""
    check = check_chain(reg, collect=_COLLECTED | set(collect))
    check.problems.extend(_RecordCheck(reg, check).run())
    check.problems.extend(values_check.check(reg, check.collected))
    return check


def _short(sha: Optional[str]) -> str:
    return f"{sha[:12]}…" if sha else "none"


def _int(value: Any) -> Optional[int]:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class _RecordCheck:
    def __init__(self, reg: Registry, check: ChainCheck) -> None:
        self.reg = reg
        self.problems: list[Problem] = []
        self.tables = set(reg.table_names())
        self.by_id: dict[str, dict[int, CollectedEntry]] = {}
        self.last_finish: dict[int, CollectedEntry] = {}
        for action, key in _CREATED.items():
            found: dict[int, CollectedEntry] = {}
            for e in check.collected.get(action, []):
                raw = e.entity_id if key == "entity" else e.details.get(key)
                rid = _int(raw)
                if rid is None:
                    continue
                if action == "run.finished":
                    self.last_finish[rid] = e
                found.setdefault(rid, e)
            self.by_id[action] = found
        #: each version's file conversions (earlier versions' pickles to skops), in order
        self.conversions: dict[int, list[dict[str, Any]]] = {}
        for e in check.collected.get("model.file_converted", []):
            if _int(e.entity_id) is not None:
                self.conversions.setdefault(_int(e.entity_id), []).append(e.details)

    def add(self, kind: str, message: str, *, seq: Optional[int] = None,
            entity: tuple[str, Any] = (None, None)) -> None:
        etype, eid = entity
        self.problems.append(Problem(kind, message, seq=seq, entity_type=etype,
                                     entity_id=None if eid is None else str(eid)))

    def entry(self, action: str, rid: int) -> Optional[CollectedEntry]:
        return self.by_id.get(action, {}).get(rid)

    def orphans(self, action: str, ids: set[int], what: Callable[[int], str], verb: str) -> None:
        """Entries whose record is gone."""
        for rid, e in self.by_id.get(action, {}).items():
            if rid not in ids:
                self.add("record_deleted",
                         f"audit entry {e.seq} records {what(rid)} being {verb}, but the registry "
                         "has no such record: it was deleted outside the app (or the entry was "
                         "forged).", seq=e.seq, entity=(None, None))

    def unrecorded(self, action: str, rid: int, label: str, entity: tuple[str, Any],
                   verb: str) -> Optional[CollectedEntry]:
        e = self.entry(action, rid)
        if e is None:
            self.add("missing_audit_entry",
                     f"{label} has no audit entry recording it being {verb} ({action}): it was "
                     "added outside the app, or its entry was deleted.", entity=entity)
        return e

    def differs(self, label: str, e: CollectedEntry, what: str, entity: tuple[str, Any]) -> None:
        self.add("record_altered", f"{label} was changed outside the app: {what} (audit entry "
                 f"{e.seq} recorded it otherwise).", seq=e.seq, entity=entity)

    def fields(self, label: str, e: CollectedEntry, entity: tuple[str, Any],
               pairs: list[tuple[str, Any, Any]]) -> None:
        """Compare (what, the record's value, the entry's value) for each field the entry
        records (``_ABSENT`` when it does not); one problem naming every difference."""
        changed = [f"its {what} is {shown(mine)}, not {shown(recorded)}"
                   for what, mine, recorded in pairs if recorded is not _ABSENT and mine != recorded]
        if changed:
            self.differs(label, e, "; ".join(changed), entity)

    # -- the records ------------------------------------------------------------------

    def run(self) -> list[Problem]:
        labels = self.datasets()
        self.runs()
        models = self.models()
        versions = self.versions(models)
        self.stage_changes(versions)
        self.validations(versions)
        self.accepted_warnings(labels)
        self.withdrawals()
        self.check_runs()
        self.drift_reports()
        self.aliases(models)
        self.exports(versions)
        self.realized(versions)
        self.challenges()
        self.pushes()
        return self.problems

    def pushes(self) -> None:
        """A team registry's history push (migration 17 on PostgreSQL) against its entry."""
        if "history_pushes" not in self.tables:
            return
        rows = self.reg.query("SELECT id, workspace_id, local_head_hash, pushed_by FROM history_pushes")
        for r in rows:
            label, entity = f"history push {r['id']}", ("history_push", r["id"])
            e = self.unrecorded("workspace.pushed", r["id"], label, entity, "made")
            if e is not None:
                self.fields(label, e, entity, [
                    ("pusher", r["pushed_by"], e.actor),
                    ("workspace", r["workspace_id"], e.details.get("workspace_id", _ABSENT)),
                    ("workspace's last entry", r["local_head_hash"],
                     (e.details.get("local_head") or {}).get("hash", _ABSENT))])
        self.orphans("workspace.pushed", {r["id"] for r in rows}, lambda i: f"history push {i}", "made")

    def datasets(self) -> dict[int, str]:
        rows = self.reg.query("SELECT id, name, fingerprint, snapshot_sha256, n_rows, source_path,"
                              " source_format, created_by FROM datasets")
        labels = {r["id"]: f"dataset {r['id']} ({r['name']})" for r in rows}
        for r in rows:
            label, entity = labels[r["id"]], ("dataset", r["id"])
            e = self.entry("dataset.prepared", r["id"]) or self.unrecorded(
                "dataset.imported", r["id"], label, entity, "imported")
            if e is None:
                continue
            d = e.details
            changed = [name for name, col, key in (("its fingerprint", "fingerprint", "fingerprint"),
                                                   ("its snapshot's hash", "snapshot_sha256",
                                                    "snapshot_sha256"),
                                                   ("its row count", "n_rows", "rows"))
                       if key in d and d[key] != r[col]]
            if changed:
                self.differs(label, e, " and ".join(changed) + " no longer match its import", entity)
            self.fields(label, e, entity, [("importer", r["created_by"], e.actor),
                                           ("source", r["source_path"], d.get("source_path", _ABSENT)),
                                           ("format", r["source_format"], d.get("format", _ABSENT))])
        self.orphans("dataset.imported", set(labels), lambda i: f"dataset {i}", "imported")
        self.orphans("dataset.prepared", set(labels), lambda i: f"dataset {i}", "prepared")
        self.recipes(labels)
        return labels

    def recipes(self, datasets: dict[int, str]) -> None:
        """Each prepared dataset's recipe against its entry (``dataset.prepared``), its own
        SHA-256, and the rules every stored recipe must pass before it is used."""
        from mlops_model_support.recipe import Recipe, RecipeError

        from .recipes import all_records

        records = {r.dataset_id: r for r in all_records(self.reg)}
        for dataset_id, r in records.items():
            label = datasets.get(dataset_id, f"dataset {dataset_id}")
            entity = ("dataset", dataset_id)
            if hashlib.sha256(r.recipe_json.encode("utf-8")).hexdigest() != r.recipe_sha256:
                self.add("record_altered", f"the recipe of {label} was changed outside the app: it no longer "
                         "matches its SHA-256.", entity=entity)
            else:
                try:
                    Recipe.from_json(r.recipe_json)
                except RecipeError as exc:
                    self.add("record_altered", f"the recipe of {label} is refused ({exc}); it is never run.",
                             entity=entity)
            e = self.entry("dataset.prepared", dataset_id)
            if e is None:
                self.add("missing_audit_entry", f"the recipe of {label} has no audit entry recording the "
                         "dataset being prepared (dataset.prepared): it was added outside the app.", entity=entity)
                continue
            self.fields(f"the recipe of {label}", e, entity, [
                ("SHA-256", r.recipe_sha256, e.details.get("recipe_sha256", _ABSENT)),
                ("parent dataset", r.parent_id, _int(e.details["parent_id"]) if "parent_id" in e.details else _ABSENT),
                ("author", r.created_by, e.actor)])
        for dataset_id, e in self.by_id.get("dataset.prepared", {}).items():
            if dataset_id in datasets and dataset_id not in records:
                self.add("record_deleted", f"audit entry {e.seq} records {datasets[dataset_id]} being prepared "
                         "with a recipe, but its recipe is gone: it was deleted outside the app.", seq=e.seq,
                         entity=("dataset", dataset_id))

    def runs(self) -> None:
        rows = self.reg.query("SELECT id, kind, status, created_by FROM runs")
        with_version = {r["run_id"] for r in self.reg.query("SELECT run_id FROM model_versions")}
        for r in rows:
            label, entity = f"run {r['id']}", ("run", r["id"])
            start = self.unrecorded("run.started", r["id"], label, entity, "started")
            if start is not None:
                self.fields(label, start, entity, [("trainer", r["created_by"], start.actor)])
            end = self.last_finish.get(r["id"])
            if r["status"] == "running":
                if end is not None:
                    self.differs(label, end, f"it is marked running, but it ended "
                                 f"({end.details.get('status')})", entity)
            elif end is None:
                self.add("missing_audit_entry",
                         f"{label} ended as {r['status']}, but no audit entry records how it ended: it "
                         "was changed outside the app, or its entry was deleted.", entity=entity)
            elif end.details.get("status") != r["status"]:
                self.differs(label, end, f"its status is {r['status']}, not "
                             f"{end.details.get('status')}", entity)
            if r["kind"] == "train" and r["status"] == "succeeded" and r["id"] not in with_version:
                self.add("record_deleted", f"{label} succeeded, but no model version points to it: "
                         "its version was deleted outside the app.", entity=entity)
        ids = {r["id"] for r in rows}
        self.orphans("run.started", ids, lambda i: f"run {i}", "started")

    def models(self) -> dict[int, str]:
        rows = self.reg.query("SELECT id, name, created_by FROM registered_models")
        names = {r["id"]: r["name"] for r in rows}
        for r in rows:
            label, entity = f"registered model {r['name']}", ("model", r["id"])
            e = self.unrecorded("model.registered", r["id"], label, entity, "registered")
            if e is not None:
                self.fields(label, e, entity, [("name", r["name"], e.details.get("name", _ABSENT)),
                                               ("creator", r["created_by"], e.actor)])
        self.orphans("model.registered", set(names), lambda i: f"registered model {i}", "registered")
        return names

    def versions(self, models: dict[int, str]) -> dict[int, str]:
        rows = self.reg.query("SELECT id, model_id, version, run_id, artifact_sha256, stage, created_by,"
                              " metrics FROM model_versions")
        last_stage: dict[int, str] = {}
        for c in self.reg.query("SELECT version_id, to_stage FROM stage_changes ORDER BY id"):
            last_stage[c["version_id"]] = c["to_stage"]
        labels = {}
        for r in rows:
            name = models.get(r["model_id"])
            label = (f"model version {name}:{r['version']}" if name is not None
                     else f"model version id {r['id']}")
            labels[r["id"]] = label
            entity = ("model_version", r["id"])
            e = self.unrecorded("model.version_created", r["id"], label, entity, "created")
            if e is not None:
                d = e.details
                recorded_file = expected_artifact(d, self.conversions.get(r["id"], []))
                if "artifact_sha256" in d and recorded_file != r["artifact_sha256"]:
                    self.differs(label, e, f"it points to the model file "
                                 f"{_short(r['artifact_sha256'])}, not {_short(recorded_file)}:"
                                 " its model was swapped", entity)
                if "run_id" in d and _int(d["run_id"]) != r["run_id"]:
                    self.differs(label, e, f"it names run {r['run_id']}, not run {d['run_id']}",
                                 entity)
                self.fields(label, e, entity, [
                    ("trainer", r["created_by"], e.actor),
                    ("metrics' SHA-256", text_digest(r["metrics"]), d.get("metrics_sha256", _ABSENT))])
            recorded = last_stage.get(r["id"], "draft")
            if r["stage"] != recorded:
                self.add("record_altered",
                         f"{label} is {r['stage']} in the registry, but its recorded stage history "
                         f"ends at {recorded}: its stage was changed outside the app.",
                         entity=entity)
        self.orphans("model.version_created", set(labels), lambda i: f"model version id {i}",
                     "created")
        return labels

    def stage_changes(self, versions: dict[int, str]) -> None:
        rows = self.reg.query("SELECT id, version_id, from_stage, to_stage, changed_by, comment,"
                              " baseline_override, self_approved, validation_id FROM stage_changes")
        for r in rows:
            of = versions.get(r["version_id"], f"model version id {r['version_id']}")
            label = f"stage change {r['id']} of {of.removeprefix('model version ')}"
            entity = ("stage_change", r["id"])
            e = self.unrecorded("model.stage_changed", r["id"], label, entity, "made")
            if e is None:
                continue
            d = e.details
            if (d.get("from"), d.get("to")) != (r["from_stage"], r["to_stage"]):
                self.differs(label, e, f"it reads {r['from_stage']} → {r['to_stage']}, not "
                             f"{d.get('from')} → {d.get('to')}", entity)
            if _int(e.entity_id) != r["version_id"]:
                self.differs(label, e, "it was moved to another model version", entity)
            if e.actor != r["changed_by"]:
                self.differs(label, e, f"it names {r['changed_by']!r} as who made it, not "
                             f"{e.actor!r}", entity)
            self.fields(label, e, entity, [
                ("comment", r["comment"], d.get("comment", _ABSENT)),
                ("override", r["baseline_override"], d.get("baseline_override", _ABSENT)),
                ("self-approval mark", bool(r["self_approved"]),
                 bool(d["self_approved"]) if "self_approved" in d else _ABSENT),
                ("validation", r["validation_id"], d.get("validation_id", _ABSENT))])
        self.orphans("model.stage_changed", {r["id"] for r in rows}, lambda i: f"stage change {i}",
                     "made")

    def validations(self, versions: dict[int, str]) -> None:
        rows = self.reg.query("SELECT id, version_id, beats_baseline, data, primary_metric, report,"
                              " created_by FROM validations")
        for r in rows:
            of = versions.get(r["version_id"], f"model version id {r['version_id']}")
            label = f"validation {r['id']} of {of.removeprefix('model version ')}"
            entity = ("validation", r["id"])
            e = self.unrecorded("model.validated", r["id"], label, entity, "recorded")
            if e is None:
                continue
            d = e.details
            if "beats_baseline" in d and bool(d["beats_baseline"]) != bool(r["beats_baseline"]):
                said = "beats" if r["beats_baseline"] else "does not beat"
                self.differs(label, e, f"it now says the model {said} the baseline", entity)
            if _int(e.entity_id) != r["version_id"]:
                self.differs(label, e, "it was moved to another model version", entity)
            self.fields(label, e, entity, [
                ("validator", r["created_by"], e.actor), ("data", r["data"], d.get("data", _ABSENT)),
                ("primary metric", r["primary_metric"], d.get("primary_metric", _ABSENT)),
                ("report's SHA-256", text_digest(r["report"]), d.get("report_sha256", _ABSENT))])
        self.orphans("model.validated", {r["id"] for r in rows}, lambda i: f"validation {i}",
                     "recorded")

    def accepted_warnings(self, datasets: dict[int, str]) -> None:
        rows = self.reg.query("SELECT id, dataset_id, check_id, reason, accepted_by FROM accepted_warnings")
        for r in rows:
            label = f"accepted warning {r['id']} ({r['check_id']})"
            entity = ("accepted_warning", r["id"])
            e = self.unrecorded("check.warning_accepted", r["id"], label, entity, "accepted")
            if e is None:
                continue
            d = e.details
            if (d.get("check_id"), d.get("reason")) != (r["check_id"], r["reason"]) or \
                    _int(e.entity_id) != r["dataset_id"]:
                self.differs(label, e, "its check, reason or dataset differs", entity)
            self.fields(label, e, entity, [("accepter", r["accepted_by"], e.actor)])
        self.orphans("check.warning_accepted", {r["id"] for r in rows},
                     lambda i: f"accepted warning {i}", "accepted")

    def withdrawals(self) -> None:
        """Withdrawn acceptances (migration 12): a withdrawal added outside the app would
        hide an accepted warning from the model card."""
        if "accepted_warning_withdrawals" not in self.tables:
            return
        rows = self.reg.query("SELECT id, accepted_warning_id FROM accepted_warning_withdrawals")
        for r in rows:
            label, entity = f"withdrawal {r['id']} of accepted warning {r['accepted_warning_id']}", \
                ("accepted_warning", r["accepted_warning_id"])
            e = self.unrecorded("check.warning_withdrawn", r["id"], label, entity, "made")
            if e is not None and _int(e.details.get("accepted_warning_id")) != r["accepted_warning_id"]:
                self.differs(label, e, "it withdraws another acceptance", entity)
        self.orphans("check.warning_withdrawn", {r["id"] for r in rows},
                     lambda i: f"withdrawal {i} of an accepted warning", "made")

    def check_runs(self) -> None:
        if "check_runs" not in self.tables:
            return
        rows = self.reg.query("SELECT id, dataset_id, report, report_sha256 FROM check_runs")
        for r in rows:
            label, entity = f"check run {r['id']}", ("check_run", r["id"])
            if hashlib.sha256(r["report"].encode("utf-8")).hexdigest() != r["report_sha256"]:
                self.add("record_altered", f"{label} was changed outside the app: its report no "
                         "longer matches its SHA-256.", entity=entity)
            e = self.unrecorded("check.run_recorded", r["id"], label, entity, "recorded")
            if e is not None and (e.details.get("report_sha256") != r["report_sha256"]
                                  or _int(e.entity_id) != r["dataset_id"]):
                self.differs(label, e, "its report or its dataset differs", entity)
        self.orphans("check.run_recorded", {r["id"] for r in rows}, lambda i: f"check run {i}", "recorded")

    def drift_reports(self) -> None:
        rows = self.reg.query("SELECT id, verdict, results, results_sha256, model_name, model_version,"
                              " created_by FROM drift_reports")
        known = {(r["name"], r["version"]) for r in self.reg.query(
            "SELECT m.name, v.version FROM model_versions v JOIN registered_models m"
            " ON m.id = v.model_id")}
        for r in rows:
            label, entity = f"drift report {r['id']}", ("drift_report", r["id"])
            if hashlib.sha256(r["results"].encode("utf-8")).hexdigest() != r["results_sha256"]:
                self.add("record_altered", f"{label} was changed outside the app: its results no "
                         "longer match their SHA-256.", entity=entity)
            e = self.unrecorded("drift.report_created", r["id"], label, entity, "created")
            if e is not None:
                d = e.details
                if (d.get("results_sha256"), d.get("verdict")) != (r["results_sha256"], r["verdict"]):
                    self.differs(label, e, "its verdict or results differ", entity)
                self.fields(label, e, entity, [("author", r["created_by"], e.actor)])
            if r["model_name"] and r["model_version"] is not None and \
                    (r["model_name"], r["model_version"]) not in known:
                self.add("dangling_reference", f"{label} is about model version "
                         f"{r['model_name']}:{r['model_version']}, which does not exist.",
                         entity=entity)
        self.orphans("drift.report_created", {r["id"] for r in rows}, lambda i: f"drift report {i}",
                     "created")

    def aliases(self, models: dict[int, str]) -> None:
        if "alias_moves" not in self.tables:
            return
        moves = self.reg.query("SELECT id, model_id, alias, from_version, to_version, reason, comment,"
                               " moved_by FROM alias_moves ORDER BY id")
        last: dict[tuple[int, str], Optional[int]] = {}
        for r in moves:
            model = models.get(r["model_id"], f"model {r['model_id']}")
            label = f"alias move {r['id']} ({model} {r['alias']})"
            entity = ("alias_move", r["id"])
            last[(r["model_id"], r["alias"])] = r["to_version"]
            e = self.entry("model.alias_moved", r["id"]) or self.entry("model.alias_removed", r["id"])
            if e is None:
                self.add("missing_audit_entry", f"{label} has no audit entry: it was added outside "
                         "the app, or its entry was deleted.", entity=entity)
                continue
            d = e.details
            if (d.get("alias"), (d.get("after") or {}).get("version")) != (r["alias"], r["to_version"]):
                self.differs(label, e, f"it now moves {r['alias']} to version {r['to_version']}",
                             entity)
            self.fields(label, e, entity, [
                ("model", r["model_id"], _int(e.entity_id)), ("mover", r["moved_by"], e.actor),
                ("version before", r["from_version"], (d.get("before") or {}).get("version", _ABSENT)),
                ("reason", r["reason"], d.get("reason", _ABSENT)),
                ("comment", r["comment"], d.get("comment", _ABSENT))])
        ids = {r["id"] for r in moves}
        self.orphans("model.alias_moved", ids, lambda i: f"alias move {i}", "made")
        self.orphans("model.alias_removed", ids, lambda i: f"alias move {i}", "made")
        current = self.reg.query(
            "SELECT a.model_id, a.alias, v.version, v.model_id AS version_model FROM model_aliases a"
            " LEFT JOIN model_versions v ON v.id = a.version_id")
        for r in current:
            model = models.get(r["model_id"], f"model {r['model_id']}")
            entity = ("model", r["model_id"])
            if r["version_model"] is not None and r["version_model"] != r["model_id"]:
                self.add("dangling_reference", f"alias {r['alias']} of {model} points to a version "
                         "of another model.", entity=entity)
            elif r["version"] is not None and last.get((r["model_id"], r["alias"])) != r["version"]:
                self.add("record_altered",
                         f"alias {r['alias']} of {model} points to version {r['version']}, but its "
                         f"recorded moves end at version {last.get((r['model_id'], r['alias']))}: it "
                         "was moved outside the app.", entity=entity)

    def exports(self, versions: dict[int, str]) -> None:
        if "exports" not in self.tables:
            return
        rows = self.reg.query("SELECT id, version_id, manifest_sha256, out_path, zip, files, size_bytes,"
                              " exporter_version, created_by FROM exports")
        for r in rows:
            of = versions.get(r["version_id"], f"model version id {r['version_id']}")
            label = f"export {r['id']} of {of.removeprefix('model version ')}"
            entity = ("export", r["id"])
            e = self.unrecorded("model.exported", r["id"], label, entity, "made")
            if e is None:
                continue
            if e.details.get("manifest_sha256") != r["manifest_sha256"] or \
                    _int(e.entity_id) != r["version_id"]:
                self.differs(label, e, "its package's manifest hash or its version differs", entity)
            d = e.details
            self.fields(label, e, entity, [
                ("path", r["out_path"], d.get("out_path", _ABSENT)),
                ("zip mark", bool(r["zip"]), bool(d["zip"]) if "zip" in d else _ABSENT),
                ("file count", r["files"], d.get("files", _ABSENT)),
                ("size", r["size_bytes"], d.get("size_bytes", _ABSENT)),
                ("app version", r["exporter_version"], d.get("exporter_version", _ABSENT)),
                ("exporter", r["created_by"], e.actor)])
        self.orphans("model.exported", {r["id"] for r in rows}, lambda i: f"export {i}", "made")

    def realized(self, versions: dict[int, str]) -> None:
        if "realized_performance" not in self.tables:
            return
        rows = self.reg.query("SELECT id, drift_report_id, version_id, labels_sha256, result, result_sha256,"
                              " created_by FROM realized_performance")
        for r in rows:
            of = versions.get(r["version_id"], f"model version id {r['version_id']}")
            label = f"realized performance {r['id']} of {of.removeprefix('model version ')}"
            entity = ("realized_performance", r["id"])
            if hashlib.sha256(r["result"].encode("utf-8")).hexdigest() != r["result_sha256"]:
                self.add("record_altered", f"{label} was changed outside the app: its result no longer "
                         "matches its SHA-256.", entity=entity)
            e = self.unrecorded("monitor.labels_recorded", r["id"], label, entity, "recorded")
            if e is None:
                continue
            d = e.details
            if d.get("result_sha256") != r["result_sha256"] or _int(e.entity_id) != r["version_id"]:
                self.differs(label, e, "its result or its version differs", entity)
            self.fields(label, e, entity, [
                ("drift report", r["drift_report_id"], _int(d["drift_report_id"]) if "drift_report_id" in d
                 else _ABSENT),
                ("labels file's SHA-256", r["labels_sha256"], d.get("labels_sha256", _ABSENT)),
                ("recorder", r["created_by"], e.actor)])
        self.orphans("monitor.labels_recorded", {r["id"] for r in rows},
                     lambda i: f"realized performance {i}", "recorded")


    def challenges(self) -> None:
        """A challenge's declaration and result against their entries; the result's entry
        must come after the declaration's (the rule was fixed before the result)."""
        if "challenges" not in self.tables:
            return
        rows = self.reg.query("SELECT id, challenger_id, champion_id, dataset_id, declaration, declaration_sha256,"
                              " status, verdict, wins, report, report_sha256, created_by FROM challenges")
        for r in rows:
            label, entity = f"challenge {r['id']}", ("challenge", r["id"])
            texts = [("declaration", r["declaration"], r["declaration_sha256"]),
                     ("report", r["report"], r["report_sha256"])]
            for what, text, sha in texts:
                if text is not None and text_digest(text) != sha:
                    self.add("record_altered", f"{label} was changed outside the app: its {what} no longer "
                             "matches its SHA-256.", entity=entity)
            declared = self.unrecorded("challenge.declared", r["id"], label, entity, "declared")
            if declared is not None:
                d = declared.details
                self.fields(label, declared, entity, [
                    ("declaration's SHA-256", r["declaration_sha256"], d.get("declaration_sha256", _ABSENT)),
                    ("challenger", r["challenger_id"], _int(d["challenger_id"]) if "challenger_id" in d else _ABSENT),
                    ("champion", r["champion_id"], _int(d["champion_id"]) if "champion_id" in d else _ABSENT),
                    ("dataset", r["dataset_id"], _int(d["dataset_id"]) if "dataset_id" in d else _ABSENT),
                    ("author", r["created_by"], declared.actor)])
            decided = self.entry("challenge.decided", r["id"])
            if r["status"] == "decided":
                decided = self.unrecorded("challenge.decided", r["id"], label, entity, "decided")
                if decided is not None:
                    d = decided.details
                    self.fields(label, decided, entity, [
                        ("report's SHA-256", r["report_sha256"], d.get("report_sha256", _ABSENT)),
                        ("verdict", r["verdict"], d.get("verdict", _ABSENT)),
                        ("win mark", bool(r["wins"]), bool(d["wins"]) if "wins" in d else _ABSENT)])
                    if declared is not None and decided.seq < declared.seq:
                        self.differs(label, decided, "its result is recorded before its declaration", entity)
            elif decided is not None:
                self.differs(label, decided, f"it is {r['status']}, without the result it was given", entity)
            ended = self.entry("challenge.ended", r["id"])
            if r["status"] in ("failed", "cancelled"):
                ended = self.unrecorded("challenge.ended", r["id"], label, entity, r["status"])
                if ended is not None:
                    self.fields(label, ended, entity, [("status", r["status"], ended.details.get("status", _ABSENT))])
            elif ended is not None:
                self.differs(label, ended, f"it is {r['status']}, not {ended.details.get('status')}", entity)
        ids = {r["id"] for r in rows}
        for action, verb in (("challenge.declared", "declared"), ("challenge.decided", "decided"),
                             ("challenge.ended", "ended")):
            self.orphans(action, ids, lambda i: f"challenge {i}", verb)


# -- references ----------------------------------------------------------------------------

_PARENT_NOUN = {"datasets": "dataset", "runs": "run", "registered_models": "registered model",
                "model_versions": "model version id", "artifacts": "artifact",
                "validations": "validation"}


def _describe(reg: Registry, table: str, rowid: int) -> tuple[str, tuple[str, Any]]:
    """A record in words, for a sentence: ("model version churn:3", entity)."""
    q = reg.query_one
    if table == "model_versions":
        r = q("SELECT v.id, v.version, v.model_id, m.name FROM model_versions v LEFT JOIN"
              " registered_models m ON m.id = v.model_id WHERE v.rowid = ?", (rowid,))
        if r:
            label = (f"model version {r['name']}:{r['version']}" if r["name"] is not None
                     else f"model version id {r['id']} (version {r['version']} of model {r['model_id']})")
            return label, ("model_version", r["id"])
    simple = {"runs": "run", "datasets": "dataset", "validations": "validation",
              "dataset_recipes": "recipe of dataset",
              "stage_changes": "stage change", "accepted_warnings": "accepted warning",
              "check_runs": "check run",
              "drift_reports": "drift report", "alias_moves": "alias move",
              "registered_models": "registered model", "exports": "export",
              "realized_performance": "realized performance record", "challenges": "challenge"}
    if table in simple:
        return f"{simple[table]} {rowid}", (table.rstrip("s"), rowid)
    if table == "dataset_columns":
        r = q("SELECT dataset_id, name FROM dataset_columns WHERE rowid = ?", (rowid,))
        if r:
            return f"column {r['name']} of dataset {r['dataset_id']}", ("dataset", r["dataset_id"])
    if table in ("model_aliases", "model_tags"):
        r = q(f"SELECT * FROM {table} WHERE rowid = ?", (rowid,))
        if r:
            what = f"alias {r['alias']}" if table == "model_aliases" else f"tag {r['key']}"
            return f"{what} of registered model {r['model_id']}", ("model", r["model_id"])
    if table == "version_tags":
        r = q("SELECT version_id, key FROM version_tags WHERE rowid = ?", (rowid,))
        if r:
            return (f"tag {r['key']} of model version id {r['version_id']}",
                    ("model_version", r["version_id"]))
    return f"{table} row {rowid}", (table, rowid)


def dangling_references(reg: Registry) -> list[Problem]:
    """Every reference that points nowhere (SQLite's ``foreign_key_check``, which sees
    rows written while foreign keys were switched off), each in a sentence:
    "model version churn:3 points to run 17, which does not exist"."""
    if reg.dialect == "postgresql":
        return []  # its foreign keys are constraints the server always enforces, never switched off
    conn = reg.db.conn
    problems: list[Problem] = []
    keys: dict[str, dict[int, tuple[str, str]]] = {}
    lost_columns: dict[Any, list[int]] = {}  # a deleted dataset leaves all its columns: one sentence
    for table, rowid, parent, fkid in conn.execute("PRAGMA foreign_key_check").fetchall():
        if table not in keys:
            keys[table] = {row[0]: (row[3], row[2])  # id -> (from column, parent table)
                           for row in conn.execute(f"PRAGMA foreign_key_list({table})")}
        column, _ = keys[table].get(fkid, (None, parent))
        value = None
        if column is not None and rowid is not None:
            found = conn.execute(f'SELECT "{column}" FROM "{table}" WHERE rowid = ?',
                                 (rowid,)).fetchone()
            value = found[0] if found else None
        if table == "dataset_columns":
            lost_columns.setdefault(value, []).append(rowid)
            continue
        label, entity = _describe(reg, table, rowid)
        noun = _PARENT_NOUN.get(parent, parent)
        shown = _short(value) if parent == "artifacts" and isinstance(value, str) else value
        tail = "which is not recorded" if parent == "artifacts" else "which does not exist"
        problems.append(Problem("dangling_reference", f"{label} points to {noun} {shown}, {tail}.",
                                entity_type=entity[0], entity_id=str(entity[1])))
    for dataset_id, rowids in lost_columns.items():
        names = [r[0] for r in conn.execute(
            f"SELECT name FROM dataset_columns WHERE rowid IN ({','.join('?' * len(rowids))})"
            " ORDER BY position", rowids)]
        shown = ", ".join(names[:5]) + (", …" if len(names) > 5 else "")
        problems.append(Problem("dangling_reference",
                                f"{len(names)} column{'s' if len(names) != 1 else ''} ({shown}) "
                                f"point{'' if len(names) != 1 else 's'} to dataset {dataset_id}, "
                                "which does not exist.", entity_type="dataset",
                                entity_id=str(dataset_id)))
    return problems


def artifact_users(reg: Registry) -> dict[str, list[str]]:
    """For each recorded artifact, the model versions that use it ("churn:3")."""
    users: dict[str, list[str]] = {}
    for r in reg.query("SELECT v.artifact_sha256 AS sha, m.name, v.version FROM model_versions v"
                       " LEFT JOIN registered_models m ON m.id = v.model_id ORDER BY v.id"):
        users.setdefault(r["sha"], []).append(f"{r['name']}:{r['version']}")
    return users

