-- validation results of model versions
CREATE TABLE validations (
    id INTEGER PRIMARY KEY,
    version_id INTEGER NOT NULL REFERENCES model_versions (id),
    data TEXT NOT NULL,
    beats_baseline INTEGER NOT NULL CHECK (beats_baseline IN (0, 1)),
    primary_metric TEXT NOT NULL,
    report TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX validations_version ON validations (version_id);
