-- dataset recipes: the recipe (canonical JSON) that prepared a dataset from its parent
CREATE TABLE dataset_recipes (
    dataset_id INTEGER PRIMARY KEY REFERENCES datasets (id),
    parent_id INTEGER NOT NULL REFERENCES datasets (id),
    recipe TEXT NOT NULL,
    recipe_sha256 TEXT NOT NULL CHECK (length(recipe_sha256) = 64),
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX dataset_recipes_parent ON dataset_recipes (parent_id);
