-- team registry: analysts mark their versions validated; approving and retiring stay with approvers
-- (triggers fire in the order of their names: the role is checked before four_eyes)
-- "analyst: import, train, validate": the validated stage is the validate step's own result
-- (a passing validation, or an override with its recorded reason), so an analyst may move a
-- version there; every other stage (approved, retired) needs an approver, and four_eyes()
-- still keeps the trainer from approving.
GRANT INSERT ON stage_changes TO mlops_analyst;
GRANT UPDATE (stage) ON model_versions TO mlops_analyst;
CREATE FUNCTION stage_by_role() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    target TEXT;
BEGIN
    IF TG_TABLE_NAME = 'stage_changes' THEN
        target := NEW.to_stage;
    ELSE
        IF NEW.stage IS NOT DISTINCT FROM OLD.stage THEN RETURN NEW; END IF;
        target := NEW.stage;
    END IF;
    IF target <> 'validated' AND NOT pg_has_role(current_user, 'mlops_approver', 'MEMBER') THEN
        RAISE EXCEPTION '% may not move a version to %: that needs the mlops_approver role', current_user, target
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER stage_changes_by_role BEFORE INSERT ON stage_changes
FOR EACH ROW EXECUTE FUNCTION stage_by_role();
CREATE TRIGGER model_versions_by_role BEFORE UPDATE OF stage ON model_versions
FOR EACH ROW EXECUTE FUNCTION stage_by_role();
-- as migration 17's functions: names resolve in the registry's own schema only
DO $$
BEGIN
    EXECUTE format('ALTER FUNCTION stage_by_role() SET search_path = %I, pg_temp', current_schema());
END $$;
