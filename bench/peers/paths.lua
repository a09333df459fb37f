-- wrk script (bench/peers): GET the paths listed in PATHS (one a line) in turn, over and over.
-- run.sh gives it the 10,000 lookup URLs of the shared points (inputs.py's lookups.txt) or the
-- tiles of the cold pass (cold_tiles.py's list, so every tile is already in the cache).
local paths = {}
for line in io.lines(os.getenv("PATHS") or "paths.txt") do
  paths[#paths + 1] = line
end

local k = 0
request = function()
  k = k % #paths + 1
  return wrk.format("GET", paths[k])
end
