-- wrk script of `make loadtest`: every connection rotates through the paths listed, one a
-- line, in the file named after `--`; each thread starts at its own place in the list,
-- so that the threads' connections do not ask for the same page at the same moment.
-- When the run ends, prints one JSON line that bench/loadtest.py reads.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("number", #threads)
end

local paths = {}
local next_path = 0

function init(args)
  for line in io.lines(args[1]) do
    if line ~= "" then
      table.insert(paths, line)
    end
  end
  next_path = (number or 1) * 7
end

function request()
  next_path = next_path + 1
  return wrk.format("GET", paths[next_path % #paths + 1])
end

done = function(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    '{"requests": %d, "seconds": %.3f, "bytes": %d, "connect_errors": %d, ' ..
    '"read_errors": %d, "write_errors": %d, "timeouts": %d, "http_errors": %d, ' ..
    '"p50_ms": %.3f, "p90_ms": %.3f, "p99_ms": %.3f, "max_ms": %.3f, "mean_ms": %.3f}\n',
    summary.requests, summary.duration / 1e6, summary.bytes, errors.connect, errors.read,
    errors.write, errors.timeout, errors.status, latency:percentile(50) / 1000,
    latency:percentile(90) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    latency.mean / 1000))
end
