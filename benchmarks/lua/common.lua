-- What every scenario script shares: the data file the suite wrote, the slice
-- of it that each connection works through, answers counted by status class,
-- and one summary line that the suite reads from wrk's output.
--
-- The suite runs wrk with as many threads as connections, so each thread owns
-- exactly one connection and sends its next request only after the answer to
-- the last one: a thread's requests are a connection's, in order.
--
-- A script's request() only builds the request for where the thread stands;
-- the thread moves on when the answer comes (the script's advance()). wrk
-- calls request() once more than it sends, on the first thread, to check the
-- request, and that call must not skip a step (an unassignment before its
-- assignment would answer 404).

local common = {}

-- Kept in wrk's main Lua state, which runs setup() and done().
local threads = {}
local started = 0

-- wrk calls this in the main state once per thread, before the run starts.
function common.setup(thread)
  thread:set("thread_number", started)
  started = started + 1
  table.insert(threads, thread)
end

-- wrk calls this in each thread's state; arguments follow `--` on its command
-- line: the data file, then the number of threads.
function common.init(args)
  data = dofile(args[1])
  thread_count = tonumber(args[2])
  answers_2xx, answers_404, answers_409, answers_4xx, answers_5xx = 0, 0, 0, 0, 0
  read_headers = { ["Authorization"] = "Bearer " .. data.key }
  json_headers = {
    ["Authorization"] = "Bearer " .. data.key,
    ["Content-Type"] = "application/json",
  }
end

-- This thread's share of `items`: no two connections touch the same item.
function common.slice(items)
  local size = math.floor(#items / thread_count)
  local first = thread_number * size
  local mine = {}
  for index = first + 1, first + size do
    table.insert(mine, items[index])
  end
  return mine
end

function common.response(status, headers, body)
  if advance then advance() end
  if status >= 200 and status < 300 then
    answers_2xx = answers_2xx + 1
  elseif status == 404 then
    answers_404 = answers_404 + 1
  elseif status == 409 then
    answers_409 = answers_409 + 1
  elseif status >= 500 then
    answers_5xx = answers_5xx + 1
  else
    answers_4xx = answers_4xx + 1
  end
end

-- wrk calls this in the main state after the run: one JSON line for the suite.
function common.done(summary, latency, requests)
  local counts = { answers_2xx = 0, answers_404 = 0, answers_409 = 0,
                   answers_4xx = 0, answers_5xx = 0 }
  for _, thread in ipairs(threads) do
    for name, total in pairs(counts) do
      counts[name] = total + (thread:get(name) or 0)
    end
  end
  local errors = summary.errors
  io.write(string.format(
    "BENCH_RESULT {\"requests\": %d, \"duration_us\": %d, " ..
    "\"p50_us\": %d, \"p99_us\": %d, \"mean_us\": %.1f, \"max_us\": %d, " ..
    "\"answers_2xx\": %d, \"answers_404\": %d, \"answers_409\": %d, " ..
    "\"answers_4xx\": %d, \"answers_5xx\": %d, \"socket_errors\": %d, " ..
    "\"timeouts\": %d}\n",
    summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), latency.mean, latency.max,
    counts.answers_2xx, counts.answers_404, counts.answers_409,
    counts.answers_4xx, counts.answers_5xx,
    errors.connect + errors.read + errors.write, errors.timeout))
end

-- Makes a scenario script's hooks wrk's globals, with the shared ones beside them.
function common.install(hooks)
  setup = common.setup
  response = common.response
  done = common.done
  init = function(args)
    common.init(args)
    if hooks.init then hooks.init() end
  end
  request = hooks.request
  advance = hooks.advance
end

return common
