-- governance: aliases and their history, tags, version descriptions, workspace settings, list indexes
-- One current version per (model, alias); which version an alias points to is a row here,
-- and every move (set, moved, removed, removed by retiring) is a row of alias_moves.
CREATE TABLE model_aliases (
    model_id INTEGER NOT NULL REFERENCES registered_models (id),
    alias TEXT NOT NULL CHECK (length(alias) BETWEEN 1 AND 64),
    version_id INTEGER NOT NULL REFERENCES model_versions (id),
    set_by TEXT NOT NULL,
    set_at TEXT NOT NULL,
    PRIMARY KEY (model_id, alias)
);
CREATE INDEX model_aliases_version ON model_aliases (version_id);
-- Versions are stored by number (unique and never reused within a model); NULL from_version
-- means the alias was new, NULL to_version that it was removed.
CREATE TABLE alias_moves (
    id INTEGER PRIMARY KEY,
    model_id INTEGER NOT NULL REFERENCES registered_models (id),
    alias TEXT NOT NULL,
    from_version INTEGER,
    to_version INTEGER,
    reason TEXT NOT NULL DEFAULT 'moved' CHECK (reason IN ('moved', 'removed', 'retired')),
    comment TEXT NOT NULL DEFAULT '',
    moved_by TEXT NOT NULL,
    moved_at TEXT NOT NULL,
    CHECK (from_version IS NOT NULL OR to_version IS NOT NULL)
);
CREATE INDEX alias_moves_model_alias ON alias_moves (model_id, alias, moved_at);
CREATE TABLE model_tags (
    model_id INTEGER NOT NULL REFERENCES registered_models (id),
    key TEXT NOT NULL CHECK (length(key) BETWEEN 1 AND 64),
    value TEXT NOT NULL,
    set_by TEXT NOT NULL,
    set_at TEXT NOT NULL,
    PRIMARY KEY (model_id, key)
);
CREATE INDEX model_tags_key_value ON model_tags (key, value);
CREATE TABLE version_tags (
    version_id INTEGER NOT NULL REFERENCES model_versions (id),
    key TEXT NOT NULL CHECK (length(key) BETWEEN 1 AND 64),
    value TEXT NOT NULL,
    set_by TEXT NOT NULL,
    set_at TEXT NOT NULL,
    PRIMARY KEY (version_id, key)
);
CREATE INDEX version_tags_key_value ON version_tags (key, value);
ALTER TABLE model_versions ADD COLUMN description TEXT NOT NULL DEFAULT '';
CREATE TABLE workspace_settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
-- The registry list filters by stage and date and pages newest first (a dataset filter goes
-- through runs_dataset); lineage looks up the reproductions of a run.
CREATE INDEX model_versions_stage_created ON model_versions (stage, created_at);
CREATE INDEX model_versions_created ON model_versions (created_at);
CREATE INDEX model_versions_model_created ON model_versions (model_id, created_at);
CREATE INDEX runs_reproduces ON runs (reproduces_run_id);
