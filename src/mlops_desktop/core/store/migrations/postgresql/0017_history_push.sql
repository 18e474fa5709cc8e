-- history push: a workspace's whole history moved into an empty team registry, once, by an administrator
-- A pushed history names the people who acted in the workspace (ana, carol), not the login
-- that pushes it, which the rules of migration 16 refuse. It is let in through one narrow
-- window: a row of history_pushes, which only an administrator (mlops_admin, or the
-- database's owner) can write, only into a registry that holds nothing yet (no audit entry,
-- no record, no stored file), at most once per registry, and which opens the window for
-- the transaction that wrote it alone (its id), until history_push_close() shuts it in that
-- same transaction. Everything after, the push's own audit entry first, names the login.
CREATE TABLE history_pushes (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    txid BIGINT NOT NULL,
    workspace_id TEXT NOT NULL,
    local_head_seq BIGINT NOT NULL,
    local_head_hash TEXT NOT NULL CHECK (length(local_head_hash) = 64),
    pushed_by TEXT NOT NULL,
    pushed_at TEXT NOT NULL,
    closed_at TEXT
);
GRANT SELECT ON history_pushes TO mlops_analyst;
GRANT INSERT ON history_pushes TO mlops_admin;
-- whether this transaction is a history push whose window is still open
CREATE FUNCTION history_push_open() RETURNS boolean LANGUAGE sql AS $$
    SELECT EXISTS (SELECT 1 FROM history_pushes WHERE txid = txid_current() AND closed_at IS NULL)
$$;
CREATE FUNCTION history_push_allowed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.pushed_by IS DISTINCT FROM current_user::text THEN
        RAISE EXCEPTION 'a history push must name the login that pushes it (%)', current_user
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NOT (pg_has_role(current_user, 'mlops_admin', 'MEMBER') OR pg_has_role(current_user,
            (SELECT datdba FROM pg_database WHERE datname = current_database()), 'MEMBER')) THEN
        RAISE EXCEPTION 'only an administrator (mlops_admin) may push a workspace''s history'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NEW.txid IS DISTINCT FROM txid_current() OR NEW.closed_at IS NOT NULL THEN
        RAISE EXCEPTION 'a history push opens for its own transaction only'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF EXISTS (SELECT 1 FROM audit_log) OR EXISTS (SELECT 1 FROM workspace_info)
            OR EXISTS (SELECT 1 FROM workspace_settings) OR EXISTS (SELECT 1 FROM datasets)
            OR EXISTS (SELECT 1 FROM artifacts) OR EXISTS (SELECT 1 FROM runs)
            OR EXISTS (SELECT 1 FROM registered_models) OR EXISTS (SELECT 1 FROM drift_reports)
            OR EXISTS (SELECT 1 FROM drift_thresholds) OR EXISTS (SELECT 1 FROM stored_files) THEN
        RAISE EXCEPTION 'a history is pushed only into an empty team registry, and this one holds records'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER history_pushes_allowed BEFORE INSERT ON history_pushes
FOR EACH ROW EXECUTE FUNCTION history_push_allowed();
-- a push is a fact: only its window's closing, in its own transaction, changes its row
CREATE FUNCTION history_push_kept() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF OLD.closed_at IS NULL AND NEW.closed_at IS NOT NULL AND OLD.txid = txid_current()
                AND (to_jsonb(NEW) - 'closed_at') = (to_jsonb(OLD) - 'closed_at') THEN
            RETURN NEW;
        END IF;
    END IF;
    RAISE EXCEPTION 'a history push is never changed or removed' USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER history_pushes_kept BEFORE UPDATE OR DELETE ON history_pushes
FOR EACH ROW EXECUTE FUNCTION history_push_kept();
CREATE TRIGGER history_pushes_no_truncate BEFORE TRUNCATE ON history_pushes
FOR EACH STATEMENT EXECUTE FUNCTION history_push_kept();
-- Shutting the window: ids kept from the workspace move each identity past them (the
-- sequences belong to the owner, hence SECURITY DEFINER), and the row records the close.
CREATE FUNCTION history_push_close(closed TEXT) RETURNS void LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    col RECORD;
    top BIGINT;
BEGIN
    IF NOT history_push_open() THEN
        RAISE EXCEPTION 'no history push is open in this transaction' USING ERRCODE = 'insufficient_privilege';
    END IF;
    FOR col IN SELECT table_name::text AS t, column_name::text AS c FROM information_schema.columns
               WHERE table_schema = current_schema() AND is_identity = 'YES' LOOP
        EXECUTE format('SELECT max(%I) FROM %I', col.c, col.t) INTO top;
        IF top IS NOT NULL THEN
            PERFORM setval(pg_get_serial_sequence(quote_ident(col.t), col.c), top);
        END IF;
    END LOOP;
    -- the head of a pushed log is set once, here (see audit_head_follow below)
    UPDATE audit_head SET seq = s.last_seq, hash = s.last_hash, entries = entries + s.n
    FROM (SELECT COALESCE(MAX(seq), 0) AS last_seq, COUNT(*) AS n,
                 COALESCE((SELECT a.hash FROM audit_log a ORDER BY a.seq DESC LIMIT 1), repeat('0', 64)) AS last_hash
          FROM audit_log) s
    WHERE id = 1;
    UPDATE history_pushes SET closed_at = closed WHERE txid = txid_current();
END $$;
REVOKE ALL ON FUNCTION history_push_close(TEXT) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION history_push_close(TEXT) TO mlops_admin;
-- The head follows each entry, except inside the window: one row updated once per entry of a
-- long log, in one transaction, costs time that grows with every update (each finds the newest
-- of its versions); history_push_close() sets it once instead, before the window shuts.
CREATE OR REPLACE FUNCTION audit_head_follow() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
    IF history_push_open() THEN
        RETURN NULL;
    END IF;
    UPDATE audit_head SET entries = entries + 1,
                          seq = GREATEST(seq, NEW.seq),
                          hash = CASE WHEN NEW.seq > seq THEN NEW.hash ELSE hash END
    WHERE id = 1;
    RETURN NULL;
END $$;
-- Inside the window a row names whoever the history names; outside it, the login (migration 16).
CREATE OR REPLACE FUNCTION written_by_login() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF history_push_open() THEN
        RETURN NEW;
    END IF;
    IF to_jsonb(NEW) ->> TG_ARGV[0] IS DISTINCT FROM current_user::text THEN
        RAISE EXCEPTION 'a row of % must name the login that writes it (%), not %',
            TG_TABLE_NAME, current_user, to_jsonb(NEW) ->> TG_ARGV[0]
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END $$;
-- Four eyes, in a pushed history too: there the approver is the one the stage change names,
-- and an approval by the trainer is let in only as what it was, a single-user self-approval
-- carrying its mark (self_approved = 1); unmarked, it is refused as before.
CREATE OR REPLACE FUNCTION four_eyes() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    version_id BIGINT;
    trainers TEXT[];
    approver TEXT := current_user::text;
    marked_self_approval BOOLEAN := false;
BEGIN
    IF TG_TABLE_NAME = 'stage_changes' THEN
        IF NEW.to_stage <> 'approved' THEN RETURN NEW; END IF;
        version_id := NEW.version_id;
        IF history_push_open() THEN
            approver := NEW.changed_by;
            marked_self_approval := NEW.self_approved = 1;
        END IF;
    ELSE
        IF NEW.stage <> 'approved' OR OLD.stage = 'approved' THEN RETURN NEW; END IF;
        version_id := NEW.id;
    END IF;
    SELECT ARRAY[v.created_by, r.created_by] INTO trainers
    FROM model_versions v JOIN runs r ON r.id = v.run_id WHERE v.id = version_id;
    IF approver = ANY (trainers) AND NOT marked_self_approval THEN
        RAISE EXCEPTION 'four eyes: % trained model version id %, so another login must approve it',
            approver, version_id USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END $$;
-- These functions find the registry's tables and each other in its own schema only, never in
-- one a login puts first in its search_path (a function of its own named history_push_open).
DO $$
DECLARE
    f TEXT;
BEGIN
    FOREACH f IN ARRAY ARRAY['history_push_open()', 'history_push_allowed()', 'history_push_kept()',
                             'history_push_close(TEXT)', 'written_by_login()', 'four_eyes()',
                             'audit_head_follow()'] LOOP
        EXECUTE format('ALTER FUNCTION %s SET search_path = %I, pg_temp', f, current_schema());
    END LOOP;
END $$;
