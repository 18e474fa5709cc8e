-- realized performance: labels that arrived after a batch was scored, joined by id, next to the estimate
CREATE TABLE realized_performance (
    id INTEGER PRIMARY KEY,
    drift_report_id INTEGER NOT NULL REFERENCES drift_reports (id),
    version_id INTEGER NOT NULL REFERENCES model_versions (id),
    labels_source TEXT NOT NULL,
    labels_sha256 TEXT NOT NULL CHECK (length(labels_sha256) = 64),
    id_column TEXT NOT NULL,
    label_column TEXT NOT NULL,
    rows_matched INTEGER NOT NULL,
    result TEXT NOT NULL,
    result_sha256 TEXT NOT NULL CHECK (length(result_sha256) = 64),
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX realized_performance_report ON realized_performance (drift_report_id);
