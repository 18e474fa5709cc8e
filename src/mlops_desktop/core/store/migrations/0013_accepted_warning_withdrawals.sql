-- accepted warnings withdrawn: the acceptance row stays, the withdrawal is a record of its own
CREATE TABLE accepted_warning_withdrawals (
    id INTEGER PRIMARY KEY,
    accepted_warning_id INTEGER NOT NULL UNIQUE REFERENCES accepted_warnings (id),
    reason TEXT NOT NULL DEFAULT '',
    withdrawn_by TEXT NOT NULL,
    withdrawn_at TEXT NOT NULL
);
