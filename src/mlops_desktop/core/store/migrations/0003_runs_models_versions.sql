-- training runs, registered models, model versions and their artifacts
CREATE TABLE artifacts (
    sha256 TEXT PRIMARY KEY CHECK (length(sha256) = 64),
    size_bytes INTEGER NOT NULL,
    kind TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL DEFAULT 'train' CHECK (kind IN ('train', 'reproduce')),
    reproduces_run_id INTEGER REFERENCES runs (id),
    dataset_id INTEGER NOT NULL REFERENCES datasets (id),
    dataset_fingerprint TEXT NOT NULL,
    target TEXT NOT NULL,
    task TEXT,
    spec TEXT NOT NULL,
    seed INTEGER NOT NULL,
    features TEXT NOT NULL DEFAULT '[]',
    family TEXT,
    hyperparameters TEXT NOT NULL DEFAULT '{}',
    metrics TEXT NOT NULL DEFAULT '{}',
    details TEXT NOT NULL DEFAULT '{}',
    prediction_sha256 TEXT,
    library_versions TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'cancelled')),
    error TEXT,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    duration_s REAL,
    created_by TEXT NOT NULL
);
CREATE INDEX runs_dataset ON runs (dataset_id);
CREATE TABLE registered_models (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE model_versions (
    id INTEGER PRIMARY KEY,
    model_id INTEGER NOT NULL REFERENCES registered_models (id),
    version INTEGER NOT NULL CHECK (version >= 1),
    run_id INTEGER NOT NULL UNIQUE REFERENCES runs (id),
    stage TEXT NOT NULL DEFAULT 'draft'
        CHECK (stage IN ('draft', 'validated', 'approved', 'retired')),
    artifact_sha256 TEXT NOT NULL REFERENCES artifacts (sha256),
    family TEXT NOT NULL,
    task TEXT NOT NULL,
    target TEXT NOT NULL,
    features TEXT NOT NULL,
    metrics TEXT NOT NULL,
    details TEXT NOT NULL DEFAULT '{}',
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (model_id, version)
);
CREATE INDEX model_versions_artifact ON model_versions (artifact_sha256);
