-- wrk script for bench/check_throughput.py: POST /api/v1/checks/ over many bodies.
--
-- The request list is a Lua file written by the benchmark, named by the
-- environment variable CMP_BENCH_REQUESTS; it returns a table of
-- { token = "<bearer token>", body = "<JSON>" }. Every wrk thread formats all
-- requests once in init() and then sends them round-robin, each thread starting
-- at its own offset, so request() does no work beyond a table lookup.

local entries = dofile(assert(os.getenv("CMP_BENCH_REQUESTS"), "CMP_BENCH_REQUESTS"))
local requests = {}
local counter = 1
local threads = 0

function setup(thread)
  thread:set("offset", threads)
  threads = threads + 1
end

function init(args)
  for i, entry in ipairs(entries) do
    requests[i] = wrk.format("POST", "/api/v1/checks/", {
      ["Authorization"] = "Bearer " .. entry.token,
      ["Content-Type"] = "application/json",
    }, entry.body)
  end
  counter = ((offset or 0) * 997) % #requests + 1
end

function request()
  local r = requests[counter]
  counter = counter % #requests + 1
  return r
end
