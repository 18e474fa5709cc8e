-- audit head anchor, the process behind a running run
-- The newest audit entry (number and hash) and how many entries were ever written, kept
-- by a trigger. Deleting the last entries of the log leaves a shorter chain that is still
-- intact; the head then points past its end, and verify names the cut.
CREATE TABLE audit_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL,
    entries INTEGER NOT NULL
);
INSERT INTO audit_head (id, seq, hash, entries)
SELECT 1, COALESCE(MAX(seq), 0),
       COALESCE((SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1),
                '0000000000000000000000000000000000000000000000000000000000000000'),
       COUNT(*)
FROM audit_log;
-- On the right of SET every column is its old value: the head only moves forward.
CREATE TRIGGER audit_head_follows AFTER INSERT ON audit_log
BEGIN
    UPDATE audit_head SET entries = entries + 1,
                          seq = MAX(seq, NEW.seq),
                          hash = CASE WHEN NEW.seq > seq THEN NEW.hash ELSE hash END
    WHERE id = 1;
END;
CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head
BEGIN SELECT RAISE(ABORT, 'the audit head is kept by the audit log'); END;
CREATE TRIGGER audit_head_forward_only BEFORE UPDATE ON audit_head
WHEN NEW.seq < OLD.seq OR NEW.entries < OLD.entries
BEGIN SELECT RAISE(ABORT, 'the audit head only moves forward'); END;
-- Which process on which computer runs a training run: a run whose process is gone is
-- marked failed when the workspace is next opened on that computer.
ALTER TABLE runs ADD COLUMN pid INTEGER;
ALTER TABLE runs ADD COLUMN host TEXT;
CREATE INDEX runs_running ON runs (status) WHERE status = 'running';
