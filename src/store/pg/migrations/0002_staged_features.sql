-- The city of a re-survey (a proposal of kind `resurvey`), staged until it is approved or
-- rejected: every feature of the three layers as imported (WGS84 GeoJSON, shequ's fields).
-- Kept here rather than in the proposal's body, which holds only the diff and audit summary.
CREATE TABLE staged_features (
    proposal_id BIGINT NOT NULL REFERENCES proposals (id),
    layer       TEXT NOT NULL CHECK (layer IN ('towns', 'communities', 'grids')),
    code        TEXT NOT NULL,
    feature     TEXT NOT NULL,
    PRIMARY KEY (proposal_id, layer, code)
);
