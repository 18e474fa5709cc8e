-- check runs: the assumption checks of a dataset for a target, kept to reopen without recomputing
CREATE TABLE check_runs (
    id INTEGER PRIMARY KEY,
    dataset_id INTEGER NOT NULL REFERENCES datasets (id),
    target TEXT NOT NULL,
    task TEXT NOT NULL,
    features TEXT NOT NULL,
    time_column TEXT,
    n_ok INTEGER NOT NULL,
    n_warning INTEGER NOT NULL,
    n_problem INTEGER NOT NULL,
    report TEXT NOT NULL,
    report_sha256 TEXT NOT NULL CHECK (length(report_sha256) = 64),
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX check_runs_dataset_target ON check_runs (dataset_id, target);
