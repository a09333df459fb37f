-- wrk script: GET /api/v1/lookup at random points over the sample city's bounding box.
math.randomseed(42)
request = function()
  local lon = 113.15 + math.random() * 0.50
  local lat = 22.20 + math.random() * 0.58
  return wrk.format("GET", string.format("/api/v1/lookup?lon=%.6f&lat=%.6f", lon, lat))
end
