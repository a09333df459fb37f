-- pgbench script (bench/peers): lookup3.sql over the layers' ST_Subdivide'd copies (at most 64
-- vertices a piece, GiST-indexed): the same answers, smaller geometries to test. -M prepared.
\set i random(1, 10000)
SELECT t.code, t.name, c.code, c.name, c.kind, g.code, g.name
FROM pts p
LEFT JOIN LATERAL (SELECT code, name FROM towns_sub towns WHERE ST_Contains(towns.geom, p.geom) LIMIT 1) t ON true
LEFT JOIN LATERAL (SELECT code, name, kind FROM communities_sub communities WHERE ST_Contains(communities.geom, p.geom) LIMIT 1) c ON true
LEFT JOIN LATERAL (SELECT code, name FROM grids_sub grids WHERE ST_Contains(grids.geom, p.geom) LIMIT 1) g ON true
WHERE p.i = :i;
