-- pgbench script (bench/peers): one point of the shared 10,000 against the grids layer only
-- (the single-layer figure issue 19 quoted). Run with -M prepared.
\set i random(1, 10000)
SELECT g.code, g.name FROM pts p JOIN grids g ON ST_Contains(g.geom, p.geom) WHERE p.i = :i LIMIT 1;
