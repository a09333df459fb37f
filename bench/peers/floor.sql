-- pgbench script (bench/peers): PostgreSQL's own floor for these runs: fetch one of the shared
-- points by its key, no geometry. Run with -M prepared.
\set i random(1, 10000)
SELECT lon, lat FROM pts WHERE i = :i;
