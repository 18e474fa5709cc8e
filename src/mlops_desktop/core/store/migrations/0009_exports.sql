-- exports of model versions: where each package went and the SHA-256 of its manifest
CREATE TABLE exports (
    id INTEGER PRIMARY KEY,
    version_id INTEGER NOT NULL REFERENCES model_versions (id),
    out_path TEXT NOT NULL,
    zip INTEGER NOT NULL DEFAULT 0 CHECK (zip IN (0, 1)),
    manifest_sha256 TEXT NOT NULL CHECK (length(manifest_sha256) = 64),
    files INTEGER NOT NULL,
    size_bytes INTEGER NOT NULL,
    exporter_version TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX exports_version ON exports (version_id);
