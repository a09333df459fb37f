-- pgbench script (bench/peers): one point of the shared 10,000 against the three layers, the
-- question shequ's GET /api/v1/lookup answers (town, community with kind, grid: code and name;
-- each at most one row, none where nothing covers the point). Run with -M prepared.
\set i random(1, 10000)
SELECT t.code, t.name, c.code, c.name, c.kind, g.code, g.name
FROM pts p
LEFT JOIN LATERAL (SELECT code, name FROM towns WHERE ST_Contains(towns.geom, p.geom) LIMIT 1) t ON true
LEFT JOIN LATERAL (SELECT code, name, kind FROM communities WHERE ST_Contains(communities.geom, p.geom) LIMIT 1) c ON true
LEFT JOIN LATERAL (SELECT code, name FROM grids WHERE ST_Contains(grids.geom, p.geom) LIMIT 1) g ON true
WHERE p.i = :i;
