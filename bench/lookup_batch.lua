-- wrk script: POST /api/v1/lookup with one fixed batch of 10,000 random points.
math.randomseed(7)
local points = {}
for i = 1, 10000 do
  points[i] = string.format("[%.6f,%.6f]", 113.15 + math.random() * 0.50, 22.20 + math.random() * 0.58)
end
wrk.method = "POST"
wrk.path = "/api/v1/lookup"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"points":[' .. table.concat(points, ",") .. ']}'
