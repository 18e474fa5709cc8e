"""A large, realistic registry for timing: 10,000 model versions across 200 models and
100,000 audit entries, generated in a few seconds.

Everything is written the way the app writes it, only in bulk (one transaction,
``executemany``): a dataset row and a real Parquet snapshot per dataset, a run and a
content-addressed model file per version, validations and stage changes for the
versions past draft (about half draft, a quarter validated, 15% approved, 10%
retired), a ``production`` alias on each model's newest approved version, a tag on
every version, and the audit entries of all of it, correctly chained, padded with
column changes up to the number asked for. The result passes ``verify``.

    from registry_fixture import generate
    counts = generate(Path("/tmp/big-ws"))
"""

from __future__ import annotations

import hashlib
import json
import random
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Optional

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

FAMILIES = ("ols", "ridge", "logistic", "random_forest", "hgb", "tree")
TEAMS = ("credit", "quality", "planning", "risk", "ops")


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class _Chain:
    """Audit entries with their hashes, computed as ``audit.append`` does."""

    def __init__(self, last_seq: int, last_hash: str, start: datetime) -> None:
        self.seq, self.prev, self.now = last_seq, last_hash, start
        self.rows: list[tuple] = []

    def tick(self, seconds: float = 7.0) -> str:
        self.now += timedelta(seconds=seconds)
        return self.now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    def add(self, actor: str, action: str, entity_type: str, entity_id: Optional[object],
            summary: str, details: dict[str, Any], at: Optional[str] = None) -> None:
        from mlops_desktop.core.store.audit import canonical_json, entry_hash

        self.seq += 1
        at = at or self.tick()
        eid = None if entity_id is None else str(entity_id)
        details_json = canonical_json(details)
        digest = entry_hash(self.seq, at, actor, action, entity_type, eid, summary, details_json, self.prev)
        self.rows.append((self.seq, at, actor, action, entity_type, eid, summary, details_json,
                          self.prev, digest))
        self.prev = digest


def generate(root: Path, *, models: int = 200, versions: int = 10_000, audit_entries: int = 100_000,
             datasets: int = 20, seed: int = 0) -> dict[str, int]:
    """Create a workspace at ``root`` (a new or empty folder) holding that many models,
    versions and audit entries. Returns the counts written."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from mlops_desktop.core.workspace import Workspace

    try:  # what an import's entry records of its columns (since issue 12)
        from mlops_desktop.core.store.datasets import columns_digest
    except ImportError:
        columns_digest = None
    rng = random.Random(seed)
    ws = Workspace.create(root, actor="bench")
    reg = ws.registry
    conn = reg.db.conn
    conn.execute("PRAGMA cache_size = -262144")  # 256 MB: the hash index is inserted in random order
    has_tags = "version_tags" in reg.db.table_names()
    has_aliases = "model_aliases" in reg.db.table_names()
    last = ws.audit_entries(limit=1)[0]
    # the history goes on from the workspace's creation: a log never goes back in time
    chain = _Chain(last.seq, last.hash, datetime.fromisoformat(last.at.replace("Z", "+00:00")))
    people = ["ann", "bob", "carl", "dana", "eve"]
    out: dict[str, int] = {}

    with reg.transaction():
        # datasets, each with a real snapshot file
        ds_rows, col_rows, ds_info = [], [], []
        for d in range(1, datasets + 1):
            table = pa.table({"x": list(range(d, d + 50)), "y": [float(i % 7) for i in range(50)],
                              "segment": [f"s{i % 3}" for i in range(50)]})
            fp = hashlib.sha256(f"dataset {d} {seed}".encode()).hexdigest()
            snapshot = ws.snapshots_dir / f"{fp}.parquet"
            pq.write_table(table, snapshot)
            sha = hashlib.sha256(snapshot.read_bytes()).hexdigest()
            at = chain.tick()
            name = f"sales_{d:02d}"
            ds_rows.append((d, name, f"/data/{name}.csv", "csv", "{}", 50, 3, fp,
                            f"snapshots/{fp}.parquet", sha, snapshot.stat().st_size, "ann", at))
            for pos, (col, kind, role) in enumerate((("x", "numeric", "feature"),
                                                    ("y", "numeric", "target"),
                                                    ("segment", "categorical", "feature"))):
                col_rows.append((d, pos, col, "double", kind, kind, role, 0, 50))
            ds_info.append((d, name, fp))
            imported = {"source_path": f"/data/{name}.csv", "format": "csv", "rows": 50, "columns": 3,
                        "fingerprint": fp, "snapshot_sha256": sha, "same_data_as": []}
            if columns_digest is not None:
                imported["columns_sha256"] = columns_digest((name_, kind, role) for _, _, name_, _, _, kind, role,
                                                            _, _ in col_rows[-3:])
            chain.add("ann", "dataset.imported", "dataset", d, f"Imported {name}.csv as {name!r}", imported,
                      at=at)
        conn.executemany("INSERT INTO datasets (id, name, source_path, source_format, options, n_rows,"
                         " n_columns, fingerprint, snapshot, snapshot_sha256, snapshot_bytes, created_by,"
                         " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", ds_rows)
        conn.executemany("INSERT INTO dataset_columns (dataset_id, position, name, physical_type,"
                         " inferred_kind, kind, role, n_missing, n_distinct)"
                         " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", col_rows)

        # registered models
        model_rows, model_names = [], {}
        for m in range(1, models + 1):
            name = f"{rng.choice(['churn', 'demand', 'scrap', 'default', 'yield'])}-{m:03d}"
            model_names[m] = name
            at = chain.tick()
            description = f"regression of y on {name}"
            model_rows.append((m, name, description, "ann", at))
            chain.add("ann", "model.registered", "model", m, f"Model {name} registered",
                      {"name": name, "run_id": None, "description": description}, at=at)
        conn.executemany("INSERT INTO registered_models (id, name, description, created_by, created_at)"
                         " VALUES (?, ?, ?, ?, ?)", model_rows)

        # runs, model files, versions
        run_rows, art_rows, ver_rows = [], [], []
        per_model: dict[int, int] = {}
        stage_of: dict[int, str] = {}
        trainer_of: dict[int, str] = {}
        version_of: dict[int, tuple[int, int]] = {}
        for v in range(1, versions + 1):
            m = rng.randint(1, models)
            number = per_model[m] = per_model.get(m, 0) + 1
            d, ds_name, fp = ds_info[m % datasets]
            trainer = rng.choice(people)
            family = rng.choice(FAMILIES)
            started = chain.tick(600)
            chain.add(trainer, "run.started", "run", v, f"Run {v} started: training run on {ds_name}: y",
                      {"kind": "train", "dataset_id": d, "target": "y", "task": "regression",
                       "models": [family], "seed": 0, "reproduces_run_id": None}, at=started)
            finished = chain.tick(30)
            data = f"model {v} {seed}".encode()
            sha = hashlib.sha256(data).hexdigest()
            (ws.artifacts_dir / sha).write_bytes(data)
            art_rows.append((sha, len(data), "model", trainer, finished))
            metrics = {"cv": {"r2": {"mean": round(rng.uniform(0.2, 0.9), 4), "std": 0.02}}}
            run_rows.append((v, "train", d, fp, "y", "regression", _json({"dataset": d, "target": "y"}),
                             0, '["x","segment"]', family, "{}", _json(metrics), "{}",
                             hashlib.sha256(data[::-1]).hexdigest(), '{"scikit-learn":"1.5"}',
                             "succeeded", started, finished, 30.0, trainer))
            ver_rows.append((v, m, number, v, sha, family, "regression", "y", '["x","segment"]',
                             _json(metrics), _json({"dataset_id": d, "primary_metric": "r2"}), trainer,
                             finished))
            trainer_of[v] = trainer
            chain.add(trainer, "run.finished", "run", v, f"Run {v} succeeded: {family} chosen",
                      {"status": "succeeded", "family": family, "model": model_names[m],
                       "version": number}, at=finished)
            chain.add(trainer, "model.version_created", "model_version", v,
                      f"Model {model_names[m]} version {number} (draft) from run {v}",
                      {"model": model_names[m], "version": number, "run_id": v, "stage": "draft",
                       "artifact_sha256": sha, "family": family, "metrics_sha256": _sha(_json(metrics))},
                      at=finished)
            version_of[v] = (m, number)
            roll = rng.random()
            stage_of[v] = ("draft" if roll < 0.5 else "validated" if roll < 0.75
                           else "approved" if roll < 0.9 else "retired")
        conn.executemany("INSERT INTO runs (id, kind, dataset_id, dataset_fingerprint, target, task, spec,"
                         " seed, features, family, hyperparameters, metrics, details, prediction_sha256,"
                         " library_versions, status, started_at, finished_at, duration_s, created_by)"
                         " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", run_rows)
        conn.executemany("INSERT INTO artifacts (sha256, size_bytes, kind, created_by, created_at)"
                         " VALUES (?, ?, ?, ?, ?)", art_rows)
        conn.executemany("INSERT INTO model_versions (id, model_id, version, run_id, artifact_sha256,"
                         " family, task, target, features, metrics, details, created_by, created_at)"
                         " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", ver_rows)

        # validations and stage changes, in the order the rules allow
        val_rows, change_rows, final = [], [], []
        paths = {"draft": [], "validated": ["validated"], "approved": ["validated", "approved"],
                 "retired": ["validated", "approved", "retired"]}
        for v, stage in stage_of.items():
            if stage == "draft":
                continue
            m, number = version_of[v]
            ref = f"{model_names[m]}:{number}"
            at = chain.tick()
            val_id = len(val_rows) + 1
            report = '{"r2":0.7}'
            val_rows.append((val_id, v, "holdout", 1, "r2", report, "ann", at))
            chain.add("ann", "model.validated", "model_version", v, f"Validated {ref} on holdout: beats "
                      "the baseline", {"validation_id": val_id, "data": "holdout", "beats_baseline": True,
                                       "primary_metric": "r2", "report_sha256": _sha(report)}, at=at)
            before = "draft"
            for to in paths[stage]:
                # four eyes: the approver is never the version's trainer
                who = "ann" if to == "validated" else "bob" if trainer_of[v] != "bob" else "carl"
                comment = "looks right" if to == "approved" else ""
                at = chain.tick()
                change_id = len(change_rows) + 1
                change_rows.append((change_id, v, before, to, comment, val_id if to == "validated" else None,
                                    who, at))
                chain.add(who, "model.stage_changed", "model_version", v, f"{ref}: {before} → {to}",
                          {"from": before, "to": to, "comment": comment, "baseline_override": None,
                           "self_approved": False, "validation_id": val_id if to == "validated" else None,
                           "change_id": change_id}, at=at)
                before = to
            final.append((stage, v))
        conn.executemany("INSERT INTO validations (id, version_id, data, beats_baseline, primary_metric,"
                         " report, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", val_rows)
        conn.executemany("INSERT INTO stage_changes (id, version_id, from_stage, to_stage, comment,"
                         " validation_id, changed_by, changed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                         change_rows)
        conn.executemany("UPDATE model_versions SET stage = ? WHERE id = ?", final)

        # production aliases on each model's newest approved version
        alias_rows, move_rows = [], []
        if has_aliases:
            newest: dict[int, int] = {}
            for v, stage in stage_of.items():
                if stage == "approved":
                    newest[version_of[v][0]] = v
            for m, v in sorted(newest.items()):
                at = chain.tick()
                number = version_of[v][1]
                move_id = len(move_rows) + 1
                alias_rows.append((m, "production", v, "bob", at))
                move_rows.append((move_id, m, "production", None, number, "moved", "", "bob", at))
                chain.add("bob", "model.alias_moved", "model", m,
                          f"{model_names[m]}: alias production set to version {number}",
                          {"model": model_names[m], "alias": "production", "reason": "moved", "comment": "",
                           "move_id": move_id, "before": {"version": None}, "after": {"version": number}},
                          at=at)
            conn.executemany("INSERT INTO model_aliases (model_id, alias, version_id, set_by, set_at)"
                             " VALUES (?, ?, ?, ?, ?)", alias_rows)
            conn.executemany("INSERT INTO alias_moves (id, model_id, alias, from_version, to_version,"
                             " reason, comment, moved_by, moved_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                             move_rows)

        # a team tag on every version
        tag_rows = []
        if has_tags:
            for v, (m, number) in version_of.items():
                team = TEAMS[m % len(TEAMS)]
                at = chain.tick(1)
                tag_rows.append((v, "team", team, "ann", at))
                chain.add("ann", "tag.set", "model_version", v,
                          f"{model_names[m]}:{number}: tag team = {team!r}",
                          {"on": f"{model_names[m]}:{number}", "key": "team", "before": None,
                           "after": team}, at=at)
            conn.executemany("INSERT INTO version_tags (version_id, key, value, set_by, set_at)"
                             " VALUES (?, ?, ?, ?, ?)", tag_rows)

        # column changes fill the log up to the number of entries asked for
        roles = ("feature", "ignore")
        state = {d: 0 for d, _, _ in ds_info}
        while chain.seq < audit_entries:
            d, name, _fp = ds_info[rng.randrange(datasets)]
            before, after = roles[state[d]], roles[1 - state[d]]
            state[d] = 1 - state[d]
            chain.add(rng.choice(people), "dataset.column_changed", "dataset", d,
                      f"{name}: column segment: role {before} → {after}",
                      {"column": "segment", "before": {"kind": "categorical", "role": before},
                       "after": {"kind": "categorical", "role": after}})
        conn.executemany("UPDATE dataset_columns SET role = ? WHERE dataset_id = ? AND name = 'segment'",
                         [(roles[s], d) for d, s in state.items()])
        conn.executemany("INSERT INTO audit_log (seq, at, actor, action, entity_type, entity_id, summary,"
                         " details, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", chain.rows)
        out = {"datasets": datasets, "models": models, "versions": versions, "validations": len(val_rows),
               "stage_changes": len(change_rows), "aliases": len(alias_rows), "tags": len(tag_rows),
               "audit_entries": chain.seq}
    ws.close()
    return out


if __name__ == "__main__":
    import argparse
    import time

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="a new or empty folder for the workspace")
    parser.add_argument("--versions", type=int, default=10_000)
    parser.add_argument("--audit-entries", type=int, default=100_000)
    a = parser.parse_args()
    t = time.perf_counter()
    counts = generate(a.folder, versions=a.versions, audit_entries=a.audit_entries)
    print(f"{counts} in {time.perf_counter() - t:.1f} s")
