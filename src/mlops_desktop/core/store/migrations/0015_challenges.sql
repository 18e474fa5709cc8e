-- challenges: a challenger version judged against a champion on the same recent rows; the rule declared before scoring
-- One row per challenge. The declaration (metric, rule, margin, rows) is written with its
-- audit entry before anything is scored; the result is written once, with its own entry.
CREATE TABLE challenges (
    id INTEGER PRIMARY KEY,
    model_id INTEGER NOT NULL REFERENCES registered_models (id),
    challenger_id INTEGER NOT NULL REFERENCES model_versions (id),
    champion_id INTEGER NOT NULL REFERENCES model_versions (id),
    dataset_id INTEGER NOT NULL REFERENCES datasets (id),
    declaration TEXT NOT NULL,
    declaration_sha256 TEXT NOT NULL CHECK (length(declaration_sha256) = 64),
    status TEXT NOT NULL DEFAULT 'declared' CHECK (status IN ('declared', 'decided', 'failed', 'cancelled')),
    verdict TEXT CHECK (verdict IN ('better', 'not worse', 'inconclusive', 'worse')),
    wins INTEGER CHECK (wins IN (0, 1)),
    report TEXT,
    report_sha256 TEXT CHECK (report_sha256 IS NULL OR length(report_sha256) = 64),
    error TEXT,
    created_by TEXT NOT NULL,
    declared_at TEXT NOT NULL,
    decided_at TEXT
);
CREATE INDEX challenges_challenger ON challenges (challenger_id);
CREATE INDEX challenges_model ON challenges (model_id);
