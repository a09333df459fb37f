-- Registry versions and the features valid in each. A feature row holds from version
-- `valid_from` up to, not including, version `valid_to` (NULL: still current). A change ends
-- rows and inserts new ones under a new version; rows are never updated otherwise.
CREATE TABLE versions (
    id          INTEGER PRIMARY KEY,
    -- YYYY-MM-DD from which this version holds; NULL for the seeded version, which was in force
    -- from before the city's boundaries were kept here.
    effective   TEXT,
    created_at  TEXT NOT NULL,
    description TEXT NOT NULL,
    -- The approved proposal that made this version (NULL when seeded).
    proposal_id INTEGER
);

CREATE TABLE features (
    id          INTEGER PRIMARY KEY,
    layer       TEXT NOT NULL CHECK (layer IN ('towns', 'communities', 'grids')),
    code        TEXT NOT NULL,
    -- The GeoJSON Feature exactly as in the boundary files (properties and geometry).
    feature     TEXT NOT NULL,
    valid_from  INTEGER NOT NULL REFERENCES versions (id),
    valid_to    INTEGER REFERENCES versions (id),
    -- Grids that moved to another community get a new code; this is the code they had.
    predecessor TEXT
);
CREATE INDEX features_by_version ON features (valid_from, valid_to);
CREATE UNIQUE INDEX features_current ON features (layer, code) WHERE valid_to IS NULL;

-- Unversioned inputs of a snapshot: guidelines.toml and addresses.csv as text.
CREATE TABLE documents (
    name    TEXT PRIMARY KEY,
    content TEXT NOT NULL
);
