-- The towns a proposal touches: its parents' towns and every town its parts lie in. A proposal
-- may touch several (only an official holding all of them may draft it) and is listed under
-- each. `proposals.town_code` stays the town of its first parent.
CREATE TABLE proposal_towns (
    proposal_id INTEGER NOT NULL REFERENCES proposals (id),
    town_code   TEXT NOT NULL,
    PRIMARY KEY (proposal_id, town_code)
) WITHOUT ROWID;
CREATE INDEX proposal_towns_by_town ON proposal_towns (town_code, proposal_id);
INSERT INTO proposal_towns (proposal_id, town_code) SELECT id, town_code FROM proposals;

-- The document a vote was cast on (SHA-256 of the stored proposal text): a vote holds only for
-- that document. Votes recorded before this column existed hold for none.
ALTER TABLE proposal_events ADD COLUMN document TEXT;
