-- Stored proposals and everything that happened to them (the procedure's record).
CREATE TABLE proposals (
    id         INTEGER PRIMARY KEY,
    town_code  TEXT NOT NULL,
    title      TEXT NOT NULL,
    kind       TEXT NOT NULL,
    status     TEXT NOT NULL,
    -- The proposal FeatureCollection as last saved.
    body       TEXT NOT NULL,
    author     TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    -- Overall verdict of the last stored validation (pass, warn, fail).
    verdict    TEXT NOT NULL,
    -- The registry version its approval created.
    version    INTEGER REFERENCES versions (id)
);
CREATE INDEX proposals_by_town ON proposals (town_code, status);

CREATE TABLE proposal_events (
    id          INTEGER PRIMARY KEY,
    proposal_id INTEGER NOT NULL REFERENCES proposals (id),
    at          TEXT NOT NULL,
    actor       TEXT NOT NULL,
    -- created, edited, moved, comment, vote
    kind        TEXT NOT NULL,
    from_status TEXT,
    to_status   TEXT,
    -- Comment text, or the reason given for a decision.
    text        TEXT,
    -- Who made a comment on the residents' side (free text), when recorded for them.
    source      TEXT,
    -- A vote tally (JSON).
    tally       TEXT,
    -- The validation report at this step (JSON), stored at creation, edits and moves.
    report      TEXT
);
CREATE INDEX proposal_events_by_proposal ON proposal_events (proposal_id, id);
