-- team registry: stored files, roles, what each may write, and the rules the server keeps whoever runs the SQL
-- Snapshots and model files, content-addressed: each written once, in chunks, checked against
-- its SHA-256 when fetched into a member's workspace folder (core/registry/stored_files.py).
CREATE TABLE stored_files (
    sha256 TEXT PRIMARY KEY CHECK (length(sha256) = 64),
    size_bytes BIGINT NOT NULL,
    chunks BIGINT NOT NULL,
    stored_by TEXT NOT NULL,
    stored_at TEXT NOT NULL
);
CREATE TABLE stored_file_chunks (
    sha256 TEXT NOT NULL REFERENCES stored_files (sha256),
    n BIGINT NOT NULL CHECK (n >= 0),
    data BYTEA NOT NULL,
    PRIMARY KEY (sha256, n)
);
-- Three group roles (no login of their own); an administrator grants them to logins:
--   GRANT mlops_analyst TO alice;  GRANT mlops_approver TO carol;  GRANT mlops_admin TO dan;
-- Roles belong to the whole server: made once, kept if they exist.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'mlops_analyst') THEN
        CREATE ROLE mlops_analyst NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'mlops_approver') THEN
        CREATE ROLE mlops_approver NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'mlops_admin') THEN
        CREATE ROLE mlops_admin NOLOGIN;
    END IF;
END $$;
GRANT mlops_analyst TO mlops_approver;
GRANT mlops_approver TO mlops_admin;
DO $$
BEGIN
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO mlops_analyst', current_schema());
    EXECUTE format('REVOKE ALL ON ALL TABLES IN SCHEMA %I FROM PUBLIC', current_schema());
    EXECUTE format('GRANT SELECT ON ALL TABLES IN SCHEMA %I TO mlops_analyst', current_schema());
END $$;
-- analysts: import, train, validate, monitor, export (new rows), and the few values that change in place
GRANT INSERT ON datasets, dataset_columns, dataset_recipes, accepted_warnings,
    accepted_warning_withdrawals, artifacts, runs, registered_models, model_versions, validations,
    drift_reports, drift_thresholds, check_runs, exports, realized_performance, challenges,
    model_tags, version_tags, audit_log, stored_files, stored_file_chunks TO mlops_analyst;
GRANT UPDATE ON runs, challenges, drift_thresholds, model_tags, version_tags TO mlops_analyst;
GRANT UPDATE (kind, role) ON dataset_columns TO mlops_analyst;
GRANT UPDATE (description) ON registered_models TO mlops_analyst;
GRANT UPDATE (artifact_sha256, description, purpose) ON model_versions TO mlops_analyst;
GRANT DELETE ON artifacts, drift_thresholds, model_tags, version_tags TO mlops_analyst;
-- approvers: stages and aliases
GRANT INSERT ON stage_changes, alias_moves TO mlops_approver;
GRANT UPDATE (stage) ON model_versions TO mlops_approver;
GRANT INSERT, UPDATE, DELETE ON model_aliases TO mlops_approver;
-- administrators: the registry's own settings
GRANT INSERT, UPDATE ON workspace_settings, workspace_info TO mlops_admin;
-- No role may change or remove an audit entry (the triggers of migration 1 refuse it for the
-- tables' owner too); the head is kept by its trigger, which runs with the owner's rights.
REVOKE UPDATE, DELETE, TRUNCATE ON audit_log, audit_head FROM mlops_analyst, mlops_approver, mlops_admin;
ALTER FUNCTION audit_head_follow() SECURITY DEFINER;
DO $$
BEGIN
    EXECUTE format('ALTER FUNCTION audit_head_follow() SET search_path = %I', current_schema());
END $$;
-- Who wrote a row is the login that wrote it: a row naming anyone else is refused, so the
-- four-eyes rule below cannot be passed by naming another trainer or approver.
CREATE FUNCTION written_by_login() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF to_jsonb(NEW) ->> TG_ARGV[0] IS DISTINCT FROM current_user::text THEN
        RAISE EXCEPTION 'a row of % must name the login that writes it (%), not %',
            TG_TABLE_NAME, current_user, to_jsonb(NEW) ->> TG_ARGV[0]
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER audit_log_by_login BEFORE INSERT ON audit_log
FOR EACH ROW EXECUTE FUNCTION written_by_login('actor');
CREATE TRIGGER runs_by_login BEFORE INSERT ON runs
FOR EACH ROW EXECUTE FUNCTION written_by_login('created_by');
CREATE TRIGGER model_versions_by_login BEFORE INSERT ON model_versions
FOR EACH ROW EXECUTE FUNCTION written_by_login('created_by');
CREATE TRIGGER stage_changes_by_login BEFORE INSERT ON stage_changes
FOR EACH ROW EXECUTE FUNCTION written_by_login('changed_by');
CREATE TRIGGER alias_moves_by_login BEFORE INSERT ON alias_moves
FOR EACH ROW EXECUTE FUNCTION written_by_login('moved_by');
-- Four eyes: the login that trained a version (its creator, and the creator of its run) never
-- approves it, through the app or by hand: neither a stage change nor the stage itself.
CREATE FUNCTION four_eyes() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    version_id BIGINT;
    trainers TEXT[];
BEGIN
    IF TG_TABLE_NAME = 'stage_changes' THEN
        IF NEW.to_stage <> 'approved' THEN RETURN NEW; END IF;
        version_id := NEW.version_id;
    ELSE
        IF NEW.stage <> 'approved' OR OLD.stage = 'approved' THEN RETURN NEW; END IF;
        version_id := NEW.id;
    END IF;
    SELECT ARRAY[v.created_by, r.created_by] INTO trainers
    FROM model_versions v JOIN runs r ON r.id = v.run_id WHERE v.id = version_id;
    IF current_user::text = ANY (trainers) THEN
        RAISE EXCEPTION 'four eyes: % trained model version id %, so another login must approve it',
            current_user, version_id USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER stage_changes_four_eyes BEFORE INSERT ON stage_changes
FOR EACH ROW EXECUTE FUNCTION four_eyes();
CREATE TRIGGER model_versions_four_eyes BEFORE UPDATE OF stage ON model_versions
FOR EACH ROW EXECUTE FUNCTION four_eyes();
-- a version's trainer is a fact: nobody rewrites it
CREATE FUNCTION creator_kept() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.created_by IS DISTINCT FROM OLD.created_by THEN
        RAISE EXCEPTION 'who created a row of % is never changed', TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER model_versions_creator_kept BEFORE UPDATE ON model_versions
FOR EACH ROW EXECUTE FUNCTION creator_kept();
CREATE TRIGGER runs_creator_kept BEFORE UPDATE ON runs
FOR EACH ROW EXECUTE FUNCTION creator_kept();
