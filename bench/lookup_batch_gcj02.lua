-- wrk script: POST /api/v1/lookup with one fixed batch of 10,000 random GCJ-02 points
-- (crs "gcj02": every point goes through the iterated GCJ-02 inverse before the lookup).
math.randomseed(7)
local points = {}
for i = 1, 10000 do
  -- The WGS84 box of lookup_batch.lua, shifted by GCJ-02's offset in Zhongshan (~+0.0055°, -0.0027°).
  points[i] = string.format("[%.6f,%.6f]", 113.1555 + math.random() * 0.50, 22.1973 + math.random() * 0.58)
end
wrk.method = "POST"
wrk.path = "/api/v1/lookup"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"crs":"gcj02","points":[' .. table.concat(points, ",") .. ']}'
