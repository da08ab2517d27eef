-- The DeathStarBench social-network mix: 60% home-feed reads, 30% user-feed reads, 10% new
-- posts, each by a random user of the seeded graph. BENCH_USERS names the file of
-- `username token` lines that `rookery-bench seed-mixed` wrote.
dofile("bench/wrk/report.lua")

local names, tokens = {}, {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
end

function init(args)
  for line in io.lines(os.getenv("BENCH_USERS")) do
    local name, token = line:match("^(%S+) (%S+)$")
    if name then
      names[#names + 1] = name
      tokens[#tokens + 1] = "Bearer " .. token
    end
  end
  math.randomseed(1000 + (id or 0))
end

local posted = 0

function request()
  local pick = math.random()
  local user = math.random(#names)
  if pick < 0.6 then
    return wrk.format("GET", "/feed", { authorization = tokens[user] })
  elseif pick < 0.9 then
    return wrk.format("GET", "/users/" .. names[user] .. "/posts")
  end
  posted = posted + 1
  return wrk.format("POST", "/posts",
    { authorization = tokens[user], ["content-type"] = "application/json" },
    string.format('{"content":"mixed workload post %d of thread %d"}', posted, id or 0))
end
