-- wrk script of bench/frontol.py: POSTs prepared requests in turn, each line of the file
-- being "<Authorization value>\t<body>", so the native calculate and the Frontol one
-- (whose FrontolAuth signature depends on the body: wrk's Lua has no md5) are sent the
-- same way and the ratio compares the handlers only.
--
--   wrk ... -s bench/signed.lua http://host:port/path -- <requests file>
--
-- done() prints one "BENCH_JSON {...}" line, as bench/calculate.lua does.

local threads = {}

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

local auths, bodies = {}, {}
local counter = 0
bad = 0
sample = ""

function init(args)
  for line in io.lines(args[1]) do
    local tab = string.find(line, "\t", 1, true)
    table.insert(auths, string.sub(line, 1, tab - 1))
    table.insert(bodies, string.sub(line, tab + 1))
  end
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  counter = counter % #bodies + 1
  wrk.headers["Authorization"] = auths[counter]
  return wrk.format(nil, nil, nil, bodies[counter])
end

function response(status, headers, body)
  -- Frontol answers refusals with HTTP 200 and code -1: count those as failures too.
  if status < 200 or status > 299 or string.find(body, '"code":-1', 1, true) then
    bad = bad + 1
    if sample == "" then sample = status .. " " .. body end
  end
end

function done(summary, latency, requests)
  local non2xx, first = 0, ""
  for _, thread in ipairs(threads) do
    non2xx = non2xx + thread:get("bad")
    if first == "" then first = thread:get("sample") end
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, ' ..
    '"non2xx": %d, "socket_errors": %d, "sales": 0}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    non2xx, e.connect + e.read + e.write + e.timeout))
  if first ~= "" then io.write("BENCH_SAMPLE " .. first .. "\n") end
end
