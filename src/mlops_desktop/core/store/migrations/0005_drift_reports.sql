-- drift reports and drift thresholds
CREATE TABLE drift_reports (
    id INTEGER PRIMARY KEY,
    reference_type TEXT NOT NULL CHECK (reference_type IN ('dataset', 'model_version', 'data')),
    reference_label TEXT NOT NULL,
    reference_dataset_id INTEGER REFERENCES datasets (id),
    reference_fingerprint TEXT,
    model_name TEXT,
    model_version INTEGER,
    batch_label TEXT NOT NULL,
    batch_fingerprint TEXT NOT NULL,
    batch_rows INTEGER NOT NULL,
    batch_source TEXT NOT NULL,
    batch_dataset_id INTEGER REFERENCES datasets (id),
    series_id TEXT NOT NULL,
    batch_index INTEGER NOT NULL,
    thresholds TEXT NOT NULL,
    verdict TEXT NOT NULL CHECK (verdict IN ('drift', 'no drift', 'not comparable')),
    drifted_share REAL NOT NULL,
    n_features INTEGER NOT NULL,
    n_drifted INTEGER NOT NULL,
    summary TEXT NOT NULL,
    results TEXT NOT NULL,
    results_sha256 TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX drift_reports_dataset ON drift_reports (reference_dataset_id);
CREATE INDEX drift_reports_model ON drift_reports (model_name, model_version);
CREATE INDEX drift_reports_series ON drift_reports (series_id, batch_index);
CREATE TABLE drift_thresholds (
    model_name TEXT NOT NULL PRIMARY KEY,
    thresholds TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
