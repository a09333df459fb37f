-- Accounts: users, browser sessions and API tokens. Session ids and tokens are stored only as
-- SHA-256 digests (`*_hash`): the database never holds a usable credential. Rows are revoked,
-- not deleted (except sessions long expired), so the audit log's subjects stay resolvable.
CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    role          TEXT NOT NULL CHECK (role IN ('viewer', 'street', 'reviewer', 'admin')),
    -- JSON array of 9-digit town codes: non-empty for `street`, `[]` for other roles.
    towns         TEXT NOT NULL DEFAULT '[]',
    -- argon2id PHC string; NULL: no password (the user signs in with API tokens only).
    password_hash TEXT,
    disabled      INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    created_at    TEXT NOT NULL
);

CREATE TABLE sessions (
    id_hash    TEXT PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id),
    csrf_token TEXT NOT NULL,
    created_at TEXT NOT NULL,
    -- RFC 3339 UTC, compared as text (same format throughout).
    expires_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE INDEX sessions_by_user ON sessions (user_id);

CREATE TABLE tokens (
    id         INTEGER PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    label      TEXT NOT NULL,
    user_id    INTEGER NOT NULL REFERENCES users (id),
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE INDEX tokens_by_user ON tokens (user_id);
