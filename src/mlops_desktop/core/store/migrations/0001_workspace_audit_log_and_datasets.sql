-- workspace, audit log and datasets
CREATE TABLE workspace_info (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE audit_log (
    seq INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    entity_type TEXT NOT NULL,
    entity_id TEXT,
    summary TEXT NOT NULL,
    details TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE
);
CREATE INDEX audit_log_entity ON audit_log (entity_type, entity_id);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TABLE datasets (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    source_path TEXT NOT NULL,
    source_format TEXT NOT NULL,
    options TEXT NOT NULL,
    n_rows INTEGER NOT NULL,
    n_columns INTEGER NOT NULL,
    fingerprint TEXT NOT NULL,
    snapshot TEXT NOT NULL,
    snapshot_sha256 TEXT NOT NULL,
    snapshot_bytes INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX datasets_fingerprint ON datasets (fingerprint);
CREATE TABLE dataset_columns (
    dataset_id INTEGER NOT NULL REFERENCES datasets (id),
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    physical_type TEXT NOT NULL,
    inferred_kind TEXT NOT NULL,
    kind TEXT NOT NULL,
    role TEXT NOT NULL,
    n_missing INTEGER NOT NULL,
    n_distinct INTEGER NOT NULL,
    PRIMARY KEY (dataset_id, position),
    UNIQUE (dataset_id, name)
);
