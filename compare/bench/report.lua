-- wrk's script for `python -m compare bench`: the request from the environment, an error count
-- for every status other than the expected one, and the results as one JSON line.
wrk.method = os.getenv("BENCH_METHOD") or "GET"
local body_file = os.getenv("BENCH_BODY_FILE")
if body_file and body_file ~= "" then
  local file = assert(io.open(body_file, "rb"))
  wrk.body = file:read("*a")
  file:close()
end
for line in (os.getenv("BENCH_HEADERS") or ""):gmatch("[^\n]+") do
  local name, value = line:match("^([^:]+):%s*(.*)$")
  if name then wrk.headers[name] = value end
end
local expected = tonumber(os.getenv("BENCH_EXPECT_STATUS") or "200")
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  unexpected = 0
end

function response(status, headers, body)
  if status ~= expected then unexpected = unexpected + 1 end
end

function done(summary, latency, requests)
  local bad = 0
  for _, thread in ipairs(threads) do bad = bad + thread:get("unexpected") end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "connect": %d, "read": %d, "write": %d,'
    .. ' "timeout": %d, "unexpected_status": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d,'
    .. ' "max_us": %d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.timeout, bad,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
