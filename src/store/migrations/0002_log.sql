-- The audit log: one row per write, each hashed together with the previous row's hash, so
-- editing or deleting a row breaks the chain. `log_head` holds the last row's hash and number,
-- written in the same transaction, so deleting rows from the end is detected too.
CREATE TABLE log (
    seq       INTEGER PRIMARY KEY,
    at        TEXT NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    subject   TEXT NOT NULL,
    detail    TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);

CREATE TABLE log_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL,
    hash TEXT NOT NULL
);
