-- version purpose: what a model version is for, in the analyst's words, shown on its model card
ALTER TABLE model_versions ADD COLUMN purpose TEXT NOT NULL DEFAULT '';
