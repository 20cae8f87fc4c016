-- wrk script of scenario (c) complete sales: calculate, then confirm the same receipt
-- (unique id, no bonus payment, so the confirm accrues bonuses).
--
--   wrk ... -s bench/sale.lua http://host:port/ \
--       -- <token> <customers> <receipt-id prefix> <lines JSON>
--
-- wrk cannot tell which connection a response belongs to, so the pairing goes through
-- the response body: a quote names its receipt id, which goes on a queue, and the next
-- request() (wrk calls it right after response() on the same connection) confirms the
-- oldest quoted receipt. A sale counts when its confirm answers "confirmed".

local threads = {}

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

local customers, prefix, lines_json
local counter = 0
local quoted = {}       -- receipt ids whose quote arrived, oldest first
local head, tail = 1, 0
local phone_of = {}     -- receipt id -> phone, to confirm for the same customer
bad = 0
sample = ""
sales = 0

function init(args)
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. args[1]
  customers = tonumber(args[2])
  prefix = args[3] .. "-" .. id
  lines_json = args[4]
  math.randomseed(os.time() + id)
end

local function receipt(rid, phone)
  return '{"receipt":{"id":"' .. rid .. '","customer":{"phone":"' .. phone ..
    '"},"lines":' .. lines_json .. "}"
end

function request()
  if head <= tail then
    local rid = quoted[head]
    quoted[head] = nil
    head = head + 1
    local phone = phone_of[rid]
    phone_of[rid] = nil
    return wrk.format("POST", "/api/v1/checkout/confirm", nil,
      receipt(rid, phone) .. ',"redeemed":0}')
  end
  counter = counter + 1
  local rid = prefix .. "-" .. counter
  local phone = string.format("+7900%07d", math.random(1, customers))
  phone_of[rid] = phone
  return wrk.format("POST", "/api/v1/checkout/calculate", nil, receipt(rid, phone) .. "}")
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    bad = bad + 1
    if sample == "" then sample = status .. " " .. body end
    return
  end
  -- orjson writes compact JSON, so these literal patterns are stable.
  if string.find(body, '"status":"confirmed"', 1, true) then
    sales = sales + 1
    return
  end
  local rid = string.match(body, '"receipt_id":"([^"]+)"')
  if rid then
    tail = tail + 1
    quoted[tail] = rid
  end
end

function done(summary, latency, requests)
  local non2xx, total_sales, first = 0, 0, ""
  for _, thread in ipairs(threads) do
    non2xx = non2xx + thread:get("bad")
    total_sales = total_sales + thread:get("sales")
    if first == "" then first = thread:get("sample") end
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, ' ..
    '"non2xx": %d, "socket_errors": %d, "sales": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    non2xx, e.connect + e.read + e.write + e.timeout, total_sales))
  if first ~= "" then io.write("BENCH_SAMPLE " .. first .. "\n") end
end
