-- accepted check warnings
CREATE TABLE accepted_warnings (
    id INTEGER PRIMARY KEY,
    dataset_id INTEGER NOT NULL REFERENCES datasets (id),
    target TEXT NOT NULL,
    features TEXT NOT NULL,
    check_id TEXT NOT NULL,
    reason TEXT NOT NULL CHECK (length(trim(reason)) > 0),
    accepted_by TEXT NOT NULL,
    accepted_at TEXT NOT NULL,
    details TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX accepted_warnings_dataset ON accepted_warnings (dataset_id, target, check_id);
