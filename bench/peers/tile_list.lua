-- wrk script (bench/peers): GET each tile path of TILE_LIST (one path a line, written by
-- run.sh for one server's URL scheme) in turn, each thread from its own offset. Run after the
-- cold pass, so every tile is already in the server's cache.
local paths = {}
for line in io.lines(os.getenv("TILE_LIST") or "tiles.list") do
  paths[#paths + 1] = line
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
