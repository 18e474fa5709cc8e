-- the history of every model version's stage, with who, why and any override
CREATE TABLE stage_changes (
    id INTEGER PRIMARY KEY,
    version_id INTEGER NOT NULL REFERENCES model_versions (id),
    from_stage TEXT NOT NULL,
    to_stage TEXT NOT NULL,
    comment TEXT NOT NULL DEFAULT '',
    baseline_override TEXT,
    self_approved INTEGER NOT NULL DEFAULT 0 CHECK (self_approved IN (0, 1)),
    validation_id INTEGER REFERENCES validations (id),
    changed_by TEXT NOT NULL,
    changed_at TEXT NOT NULL
);
CREATE INDEX stage_changes_version ON stage_changes (version_id);
