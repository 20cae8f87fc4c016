-- wrk script of scenarios (a) bare and (b) calculate: one POST per request, the same
-- 10-line receipt for a random registered customer, so the bare server and the service
-- receive byte-for-byte the same kind of request and the ratio compares handlers only.
--
--   wrk ... -s bench/calculate.lua http://host:port/api/v1/checkout/calculate \
--       -- <token> <customers> <receipt-id prefix> <lines JSON>
--
-- done() prints one "BENCH_JSON {...}" line that bench/checkout.py parses.

local threads = {}

function setup(thread)
  -- Each thread gets its own id so receipt ids stay unique with -t > 1.
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

local customers, prefix, lines_json
local counter = 0
bad = 0          -- non-2xx responses, read by done() through thread:get()
sample = ""      -- the first non-2xx body, to show what went wrong

function init(args)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. args[1]
  customers = tonumber(args[2])
  prefix = args[3] .. "-" .. id
  lines_json = args[4]
  math.randomseed(os.time() + id)
end

function request()
  counter = counter + 1
  -- Phones follow the pattern the seeder registered: +7900 and a 7-digit number.
  local phone = string.format("+7900%07d", math.random(1, customers))
  local body = '{"receipt":{"id":"' .. prefix .. "-" .. counter ..
    '","customer":{"phone":"' .. phone .. '"},"lines":' .. lines_json .. "}}"
  return wrk.format(nil, nil, nil, body)
end

function response(status, headers, body)
  if status < 200 or status > 299 then
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
