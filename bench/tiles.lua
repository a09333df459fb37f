-- wrk script: GET every real tile of the sample city at z10–z14 (all four layers in one
-- composite tile), in turn. TILE_BOUNDS="west,south,east,north" (from /tiles/towns.json).
local bounds = os.getenv("TILE_BOUNDS") or "113.1,22.2,113.7,22.8"
local w, s, e, n = bounds:match("([^,]+),([^,]+),([^,]+),([^,]+)")
w, s, e, n = tonumber(w), tonumber(s), tonumber(e), tonumber(n)

local function tile(lon, lat, z)
  local scale = 2 ^ z
  local phi = math.rad(lat)
  local x = math.floor((lon + 180) / 360 * scale)
  local y = math.floor((1 - math.log(math.tan(phi) + 1 / math.cos(phi)) / math.pi) / 2 * scale)
  return x, y
end

paths = {}
for z = 10, 14 do
  local x0, y0 = tile(w, n, z)
  local x1, y1 = tile(e, s, z)
  for x = x0, x1 do
    for y = y0, y1 do
      paths[#paths + 1] = string.format("/tiles/towns,communities,grids,labels/%d/%d/%d.mvt", z, x, y)
    end
  end
end

local i = 0
function setup(thread)
  thread:set("offset", math.floor(#paths / 2) * (i % 2))
  i = i + 1
end

local k = 0
request = function()
  k = k + 1
  return wrk.format("GET", paths[(k + (offset or 0)) % #paths + 1])
end
