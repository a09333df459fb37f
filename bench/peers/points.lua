-- wrk script (bench/peers): GET /api/v1/lookup at the fixed points of POINTS (a file of
-- "lon lat" lines written by inputs.py), each thread walking the list from its own offset, so
-- every point is asked about in turn; PostGIS's pgbench run draws from the same 10,000 points.
local file = os.getenv("POINTS") or "points.txt"
local paths = {}
for line in io.lines(file) do
  local lon, lat = line:match("(%S+) (%S+)")
  paths[#paths + 1] = "/api/v1/lookup?lon=" .. lon .. "&lat=" .. lat
end

local threads = 0
function setup(thread)
  thread:set("offset", math.floor(#paths / 2) * (threads % 2))
  threads = threads + 1
end

local k = 0
request = function()
  k = k + 1
  return wrk.format("GET", paths[(k + (offset or 0)) % #paths + 1])
end
