-- Loaded by wrk (-s). At the end of a run, writes one line "BENCH {json}" with the request
-- count, wall time, error counters and latency percentiles in microseconds, so the harness
-- parses numbers instead of wrk's human-readable summary.
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests":%d,"durationUs":%d,"errors":%d,"p50Us":%d,"p99Us":%d,"maxUs":%d}\n',
    summary.requests, summary.duration,
    e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
