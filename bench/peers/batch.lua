-- wrk script (bench/peers): POST /api/v1/lookup with the 10,000-point body of BATCH (written
-- by inputs.py: the same points PostGIS's batch query joins).
local file = assert(io.open(os.getenv("BATCH") or "batch.json", "rb"))
wrk.method = "POST"
wrk.path = "/api/v1/lookup"
wrk.headers["Content-Type"] = "application/json"
wrk.body = file:read("*a")
file:close()
